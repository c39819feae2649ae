"""From the exportable module to a finished ONNX model: PyTorch's exporter, the class values
as a `label` output, and what a user of the file needs to know in its metadata."""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from typing import Any, Iterator

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from densekit.exporting.graph import ExportGraph

# Opset 18 (ONNX 1.13, onnxruntime 1.14 and later): every operator a dense network needs, and
# readable by runtimes a few years old. Chosen here rather than left to the exporter's default,
# which has moved between PyTorch releases.
OPSET = 18
INPUT = "input"


def trace(graph: ExportGraph, n_inputs: int, opset: int = OPSET) -> onnx.ModelProto:
    """The dynamo-based exporter (torch.export, then onnxscript's translation), named outright:
    it is PyTorch's default since 2.9, while the TorchScript exporter is deprecated."""
    example = torch.zeros(2, n_inputs)  # 2, not 1: torch.export specialises sizes 0 and 1
    batch = torch.export.Dim("batch")
    with quiet_exporter():
        program = torch.onnx.export(
            graph, (example,), dynamo=True, input_names=[INPUT],
            output_names=graph.output_names, dynamic_shapes=({0: batch},),
            opset_version=opset, external_data=False, optimize=True, verbose=False)
    return program.model_proto


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporter logs a warning per torchvision operator it cannot register and its own
    deprecation notices; none of them concern a dense network."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=DeprecationWarning)
            warnings.simplefilter("ignore", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def add_label_output(proto: onnx.ModelProto, classes: list) -> None:
    """Replace the class-index output with `label`, the class values themselves (a Gather from
    a constant), so a runtime gives the same labels as `densekit predict`."""
    graph = proto.graph
    index = next(o for o in graph.output if o.name == "label_index")
    values = class_array(classes)
    graph.initializer.append(numpy_helper.from_array(values, name="class_values"))
    graph.node.append(helper.make_node("Gather", ["class_values", "label_index"], ["label"], axis=0))
    elem = helper.np_dtype_to_tensor_dtype(values.dtype) if values.dtype != object else onnx.TensorProto.STRING
    label = helper.make_tensor_value_info("label", elem, ["batch"])
    position = list(graph.output).index(index)
    graph.output.remove(index)
    graph.output.insert(position, label)


def class_array(classes: list) -> np.ndarray:
    """Integers as int64, other numbers as float64, anything else as text."""
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.float64)
    return np.asarray([str(c) for c in classes], dtype=object)


def set_metadata(proto: onnx.ModelProto, values: dict[str, Any]) -> None:
    """metadata_props hold strings: lists and mappings go in as JSON."""
    del proto.metadata_props[:]
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        proto.metadata_props.append(onnx.StringStringEntryProto(key=key, value=text))


def finish(proto: onnx.ModelProto, doc: str) -> bytes:
    proto.doc_string = doc
    proto.producer_name = "densekit"
    onnx.checker.check_model(proto, full_check=True)  # shape inference over the added nodes too
    return proto.SerializeToString()
