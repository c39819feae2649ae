"""What computes a batch's scores: ONNX Runtime on the exported graph, or PyTorch through
Predictor.scores. benchmarks/serving.py times both per batch size; ONNX Runtime was faster at
every size measured (1 to 1,024 rows), so it is the default when onnxruntime is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from densekit.errors import DensekitError
from densekit.extras import MissingExtra, require
from densekit.logs import Log
from densekit.session.predict import Predictor

BACKENDS = ("auto", "onnx", "torch")
ONNX_RUNTIME = "--backend onnx (ONNX Runtime)"  # what needs the export extra, in its message


class TorchScores:
    """Predictor.scores itself: the path `densekit predict` takes."""

    name = "torch"

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        torch.set_num_threads(1)  # one inference thread beside the event loop, on a small machine

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.predictor.scores(x)


class OnnxScores:
    """The exported graph in ONNX Runtime. Its probabilities for a binary model are two columns;
    the task's scores are the last n_outputs of them (the sigmoid itself), so both backends
    hand the task the same array."""

    name = "onnx"

    def __init__(self, predictor: Predictor, model: bytes):
        ort = require("onnxruntime", "export", ONNX_RUNTIME)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = "values" if "values" in outputs else "probabilities"
        self.width = predictor.card.n_outputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = self.session.run([self.output], {"input": x.astype(np.float32, copy=False)})[0]
        return out[:, out.shape[1] - self.width:]


def make_backend(predictor: Predictor, run_dir: Path, choice: str, onnx_file: Optional[Path],
                 log: Log) -> Callable[[np.ndarray], np.ndarray]:
    if choice not in BACKENDS:
        raise DensekitError(f"--backend {choice!r}: choose one of {', '.join(BACKENDS)}.")
    if choice == "torch":
        return TorchScores(predictor)
    if predictor.task.scores_in_chunks:  # no ONNX graph for these outputs (exporting/)
        if choice == "onnx":
            raise DensekitError(
                f"--backend onnx: this run's model.output is {predictor.task.loss}, whose top "
                "classes are found class chunk by class chunk, which densekit does not export "
                "to ONNX. Serve it with --backend torch (what --backend auto picks for it).")
        return TorchScores(predictor)
    try:
        require("onnxruntime", "export", ONNX_RUNTIME)  # before an export in memory, seconds of work
        return OnnxScores(predictor, onnx_bytes(predictor, run_dir, onnx_file, log))
    except MissingExtra as err:
        if choice == "onnx":
            raise
        log(f"note: serving with PyTorch ({' and '.join(err.modules)} missing; pip install "
            f"'densekit[{err.extra}]' for ONNX Runtime, faster at every batch size measured).")
        return TorchScores(predictor)


def onnx_bytes(predictor: Predictor, run_dir: Path, given: Optional[Path], log: Log) -> bytes:
    """The graph `densekit export` wrote for these weights (RUN/model.onnx or --onnx FILE), or
    one exported now, in memory (a few seconds: the exporter's first import is slow)."""
    for path in filter(None, (given, run_dir / "model.onnx")):
        if path.is_file():
            data = path.read_bytes()
            if same_weights(data, predictor.card.weights_sha256):
                return data
            if path == given:
                raise DensekitError(f"{path} was not exported from this run's weights (its "
                                    "weights_sha256 differs); export it again: densekit export RUN.")
            log(f"note: {path} is from other weights; exporting the model again, in memory.")
    from densekit.exporting import onnx_model
    return onnx_model(predictor, None)


def same_weights(model: bytes, sha256: str) -> bool:
    onnx = require("onnx", "export", ONNX_RUNTIME)
    props = {p.key: p.value for p in onnx.load_from_string(model).metadata_props}
    return bool(sha256) and props.get("weights_sha256") == sha256
