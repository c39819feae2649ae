"""IDX files (the MNIST family's format) written as the real ones are: unsigned bytes."""

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """The magic (0, 0, 0x08 for unsigned bytes, the number of dimensions), each dimension as a
    big-endian uint32, then the values."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()
