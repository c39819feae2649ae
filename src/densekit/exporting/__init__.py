"""`densekit export`: a run's model as one ONNX file, with its encoders beside it as JSON.

The graph takes the rows `densekit predict` reads (after the table or text encoder, which
cannot live in an ONNX graph) and does the rest: standardisation or pixel scaling, the
network, the output activation and the label. Outputs: `label` and `probabilities` (one
label per row), `labels` and `probabilities` (multi-label, 0/1 per class), or `values`
(regression, in label units)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from densekit.errors import DensekitError
from densekit.extras import not_importable, require
from densekit.rundir.files import atomic_write
from densekit.rundir.outputs import check_output
from densekit.session.predict import Predictor
from densekit.version import __version__

FORMATS = ("onnx",)
ENCODER_FORMAT = "densekit-encoder"
EXPORTING = "Exporting a model to ONNX"  # what needs the export extra, in its message


@dataclass
class ExportResult:
    model: Path                  # the .onnx file
    encoder: Optional[Path]      # the encoder's JSON beside it, when the model has one
    outputs: list[str]           # the graph's output names


def export(run_dir: str | Path, output: str | Path | None = None, format: str = "onnx",
           overwrite: bool = False) -> ExportResult:
    """Write the run's model as ONNX (default RUN/model.onnx) and, for mixed or text tables,
    the encoder as JSON beside it (NAME.encoder.json). Refuses to replace a file unless
    `overwrite`; the run's own files are never replaced."""
    if format not in FORMATS:
        raise DensekitError(f"Unknown export format {format!r}; densekit exports: {', '.join(FORMATS)}.")
    path = Path(output) if output else Path(run_dir) / "model.onnx"
    predictor = Predictor.load(run_dir)
    refuse_unexportable(predictor)
    encoder_path = path.with_suffix(".encoder.json") if predictor.encoder is not None else None
    for target in filter(None, (path, encoder_path)):  # both refused before any work
        check_output(target, overwrite)
    model = onnx_model(predictor, encoder_path)
    atomic_write(path, model)
    if encoder_path is not None:
        atomic_write(encoder_path, json.dumps(encoder_json(predictor), indent=1).encode())
    return ExportResult(path, encoder_path, output_names(predictor))


def refuse_unexportable(predictor: Predictor) -> None:
    """Several outputs: not yet written as ONNX. A sampled or adaptive softmax's answer is its
    top classes, found class chunk by class chunk; an ONNX graph of full probabilities over
    so many classes would mislead (and a "values" output would be wrong). Such runs are
    refused, naming what works."""
    task = predictor.task
    if task.per_output():
        raise DensekitError(
            f"densekit export does not yet write ONNX for a run with several outputs "
            f"({', '.join(name for name, *_ in task.per_output())}). Use `densekit predict RUN "
            "FILE` (a column group per output) or `densekit serve RUN` (a field per output) "
            "instead, or train one label column per run to export it.")
    if task.scores_in_chunks:
        raise DensekitError(
            f"densekit export writes ONNX for model.output: softmax (and sigmoid and regression "
            f"outputs); this run's model.output is {task.loss} (task {task.name}, "
            f"{task.n_outputs:,} classes), whose answers are its top classes, found class chunk "
            "by class chunk, which the ONNX export does not compute. Use `densekit predict RUN "
            "FILE` (top1…top5 with prob1…prob5) or `densekit serve RUN` (the most probable "
            "classes with their probabilities, on PyTorch) instead.")


def onnx_model(predictor: Predictor, encoder_path: Optional[Path]) -> bytes:
    require(("onnx", "onnxscript"), "export", EXPORTING)  # PyTorch's exporter runs on both
    from densekit.exporting.graph import ExportGraph
    from densekit.exporting.onnxfile import add_label_output, finish, set_metadata, trace
    graph = ExportGraph(predictor.model, predictor.prep, predictor.task)
    try:
        proto = trace(graph, predictor.card.n_inputs)
    except ImportError as err:  # onnx and onnxscript import, but something the exporter needs does not
        raise not_importable({err.name or "onnxscript": err}, "export", EXPORTING) from None
    if "label_index" in graph.output_names:
        add_label_output(proto, predictor.task.classes)
    set_metadata(proto, metadata(predictor, encoder_path))
    return finish(proto, f"densekit {predictor.task.name} model; outputs: "
                         f"{', '.join(output_names(predictor))}")


def output_names(predictor: Predictor) -> list[str]:
    from densekit.exporting.graph import outputs_of
    return ["label" if n == "label_index" else n for n in outputs_of(predictor.task)]


def metadata(predictor: Predictor, encoder_path: Optional[Path]) -> dict:
    card, task = predictor.card, predictor.task
    values = {
        "densekit_version": __version__, "task": task.name, "input": "input",
        "input_kind": card.preprocessing["kind"],   # image: raw pixels 0..255; table: raw columns
        "feature_names": graph_inputs(predictor),
        "outputs": output_names(predictor),
        "weights_sha256": card.weights_sha256,
    }
    if task.is_classifier:
        values["classes"] = [c if isinstance(c, (int, float)) else str(c) for c in task.classes]
        values["class_names"] = [str(n) for n in task.class_names]
    if card.image_shape:
        values["image_shape"] = list(card.image_shape)
    if encoder_path is not None:
        values["encoder"] = encoder_path.name
        values["input_columns"] = encoder_columns(card.table_encoder)
    return values


def encoder_columns(encoder: dict) -> list[str]:
    return [encoder["column"]] if encoder.get("kind") == "text" else list(encoder["columns"])


def encoder_json(predictor: Predictor) -> dict:
    """The saved encoder, plus the graph's input columns it produces, in order."""
    saved = dict(predictor.card.table_encoder)
    return {"format": ENCODER_FORMAT, "kind": saved.pop("kind", "table"), **saved,
            "output_names": graph_inputs(predictor)}


def graph_inputs(predictor: Predictor) -> list[str]:
    """The names of the graph's input columns: the encoder's outputs where there is one (a
    text model's card names only its text column)."""
    names = predictor.encoder.output_names() if predictor.encoder else predictor.card.feature_names
    return [str(n) for n in names]
