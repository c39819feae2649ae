"""Image folders: one sub-folder per class holding PNG/JPEG files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from densekit.data.dataset import Dataset, Part
from densekit.errors import DensekitError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
OPTIONS = {"grayscale": True, "size": None}  # size: [height, width] to resize every image to


def load_image_folder(folder: Path, options: dict[str, Any]) -> Dataset:
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise DensekitError(f"Unknown option(s) for an image folder: {', '.join(sorted(unknown))}. "
                            f"Allowed: {', '.join(OPTIONS)}.")
    settings = {**OPTIONS, **options}
    check_image_options(settings)
    files = [(p, d.name) for d in sorted(folder.iterdir()) if d.is_dir()
             for p in sorted(d.iterdir()) if p.suffix.lower() in SUFFIXES]
    if not files:
        raise DensekitError(
            f"{folder} holds no images. An image folder needs one sub-folder per class with "
            f"{', '.join(sorted(SUFFIXES))} files inside (e.g. {folder}/cat/001.png).")
    size = tuple(settings["size"]) if settings["size"] else None
    images = [read_image(path, settings["grayscale"], size) for path, _ in files]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise DensekitError(f"The images in {folder} have different sizes ({', '.join(map(str, sorted(shapes)))}). "
                            "Give data.options.size: [height, width] to resize them all.")
    x = np.stack(images)                                   # (n, h, w[, 3]) uint8
    labels = np.array([label for _, label in files])
    return Dataset(folder.name, Part(x.reshape(len(x), -1), labels), kind="image",
                   feature_names=[f"pixel_{i}" for i in range(x[0].size)], image_shape=x.shape[1:])


def check_image_options(settings: dict[str, Any]) -> None:
    size, grayscale = settings["size"], settings["grayscale"]
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2
                                 and all(is_positive_int(s) for s in size)):
        raise DensekitError(f"data.options.size for an image folder is [height, width] in pixels, "
                            f"two whole numbers of at least 1; received {size!r}. Example: "
                            "--set data.options.size=[28,28].")
    if not isinstance(grayscale, bool):
        raise DensekitError(f"data.options.grayscale for an image folder is true or false; "
                            f"received {grayscale!r}.")


def is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def read_image(path: Path, grayscale: bool, size: Optional[tuple]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image = image.convert("L" if grayscale else "RGB")
            if size:
                image = image.resize((int(size[1]), int(size[0])))
            return np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as err:
        # Pillow's guard against files that decompress to gigabytes; densekit keeps it.
        raise DensekitError(f"{path} is too large to read safely: {err} Shrink it (for example "
                            "to the size the network is trained at) or remove it.") from None
    except (UnidentifiedImageError, OSError) as err:
        raise DensekitError(f"{path} is not a readable image ({err}). Remove or replace it.") from None


def images_to_predict(folder: Path, image_shape: Optional[list[int]]) -> tuple[Part, list[str]]:
    """Every image under `folder` (flat, or one sub-folder per class: then they are labels),
    converted and resized to what the model was trained on; and the files' relative names."""
    if not image_shape:
        raise DensekitError(f"{folder} is a folder of images, but this model was not trained on "
                            "images. Give a file with the training columns.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        raise DensekitError(f"{folder} holds no images ({', '.join(sorted(SUFFIXES))}).")
    grayscale = len(image_shape) == 2
    x = np.stack([read_image(p, grayscale, tuple(image_shape[:2])) for p in files])
    in_class_folders = all(p.parent != folder for p in files)
    labels = np.array([p.parent.name for p in files]) if in_class_folders else None
    return Part(x.reshape(len(x), -1), labels), [str(p.relative_to(folder)) for p in files]
