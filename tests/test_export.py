"""ONNX export: every task kind's file, run in ONNX Runtime, against `densekit predict` on the
same rows (1, 7 and 1,024 of them): the same labels, probabilities within 1e-5. Encoders are
applied with the README's own code, so the example there is what is tested."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from densekit.cli import main  # noqa: E402
from densekit.errors import DensekitError  # noqa: E402
from densekit.exporting import ExportResult, export  # noqa: E402
from tests.helpers.deploy import KINDS, feature_rows, predicted, train_run  # noqa: E402

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """kind -> (run directory, ExportResult), trained and exported once for the module."""
    folder = tmp_path_factory.mktemp("export")
    out = {}
    for kind in KINDS:
        run = train_run(folder, kind)
        if kind == "regression":  # one through the command line: `densekit export RUN`
            assert main(["export", str(run), "-q"]) == 0
            out[kind] = run, ExportResult(run / "model.onnx", None, ["values"])
        else:
            out[kind] = run, export(run)
    return out


def readme_block(marker: str) -> str:
    """The README's Python example that contains `marker`."""
    found = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if marker in b]
    assert len(found) == 1, marker
    return found[0]


def onnx_outputs(kind: str, run: Path, result, rows: pd.DataFrame, folder: Path) -> dict:
    """The file's outputs for these rows; text and mixed tables go through the README's code."""
    if result.encoder is None:
        session = ort.InferenceSession(str(result.model))
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, {"input": rows.to_numpy(np.float32)})))
    csv = folder / "rows.csv"
    rows.to_csv(csv, index=False)
    code = readme_block("runs/shop/" if kind == "mixed" else "runs/reviews/")
    for placeholder in ("runs/shop", "runs/reviews"):
        code = code.replace(f"{placeholder}/model", str(result.model.with_suffix("")))
    code = code.replace("new_customers.csv", str(csv)).replace("new_reviews.csv", str(csv))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    return {"label": scope["label"], "probabilities": scope["probabilities"]}



@pytest.mark.parametrize("kind", list(KINDS))
def test_onnx_runtime_gives_what_densekit_predict_gives(kind, exported, cli, tmp_path):
    run, result = exported[kind]
    for count in (1, 7, 1024):
        rows = feature_rows(kind, run, count, seed=count)
        got = onnx_outputs(kind, run, result, rows, tmp_path)
        want = predicted(cli, run, rows, tmp_path)
        if "values" in got:   # regression: the values themselves, in label units
            assert got["values"].shape == (count, 1)
            # float32 arithmetic on standardised targets, scaled back to units of ~100s:
            # agreement to float32's precision at the targets' scale, not to an absolute 1e-5.
            values = want["prediction"].to_numpy()
            scale = max(1.0, float(np.abs(values).max()))
            assert np.abs(got["values"][:, 0] - values).max() <= TOLERANCE * scale
            continue
        probability_columns = [c for c in want.columns if c.startswith("prob_")]
        assert got["probabilities"].shape == (count, len(probability_columns))
        difference = np.abs(got["probabilities"] - want[probability_columns].to_numpy()).max()
        assert difference <= TOLERANCE, (kind, count, difference)
        if "labels" in got:   # multi-label: one 0/1 column per class, named by class
            flags = want[[c for c in want.columns if c not in probability_columns]].to_numpy()
            assert np.array_equal(got["labels"], flags)
        else:
            assert [str(v) for v in got["label"]] == want["prediction"].astype(str).tolist()


def test_the_file_names_its_outputs_classes_and_features(exported):
    """A dynamic batch dimension, named outputs and what a user needs in metadata_props."""
    _, result = exported["mixed"]
    model = onnx.load(result.model)
    props = {p.key: p.value for p in model.metadata_props}
    assert [o.name for o in model.graph.output] == ["label", "probabilities"] == result.outputs
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.STRING
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value        # any number of rows
    assert json.loads(props["classes"]) == ["buy", "skip"]
    assert json.loads(props["feature_names"])[:3] == ["age", "income", "city=lyon"]
    assert json.loads(props["input_columns"]) == ["age", "income", "city", "member"]
    assert props["encoder"] == "model.encoder.json" and props["task"] == "binary"
    assert [(o.domain, o.version) for o in model.opset_import if o.domain == ""] == [("", 18)]
    assert "Dropout" not in {n.op_type for n in model.graph.node}   # the inference graph
    encoder = json.loads(result.encoder.read_text())
    assert encoder["format"] == "densekit-encoder" and encoder["categories"]["city"] == ["lyon", "nice", "paris"]


def test_output_names_follow_the_task(exported):
    outputs = {kind: exported[kind][1].outputs for kind in ("digits", "multilabel", "regression")}
    assert outputs == {"digits": ["label", "probabilities"], "multilabel": ["labels", "probabilities"],
                       "regression": ["values"]}
    model = onnx.load(exported["digits"][1].model)
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["image_shape"]) == [8, 8] and json.loads(props["classes"]) == list(range(10))
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_an_untrained_network_exports_other_probabilities(exported, tmp_path):
    """The file holds the trained weights, not just the architecture."""
    import torch
    from densekit.exporting import onnx_model
    from densekit.session.predict import Predictor
    run, result = exported["breast-cancer"]
    predictor = Predictor.load(run)
    x = feature_rows("breast-cancer", run, 50).to_numpy(np.float32)
    trained = ort.InferenceSession(str(result.model)).run(["probabilities"], {"input": x})[0]
    with torch.no_grad():
        for layer in predictor.model.dense_layers():
            layer.weight.normal_(0, 0.5)
    fresh = ort.InferenceSession(onnx_model(predictor, None)).run(["probabilities"], {"input": x})[0]
    assert np.abs(trained - fresh).max() > 0.05


def test_export_refuses_to_replace_a_file_or_a_run_file(exported, cli, tmp_path):
    run, _ = exported["regression"]   # exported by `densekit export RUN` already
    with pytest.raises(DensekitError, match="already exists"):
        export(run)
    code, _, err = cli("export", run)
    assert code == 2 and "--overwrite" in err
    code, _, err = cli("export", run, "--output", run / "model.json", "--overwrite")
    assert code == 2 and "never writes over" in err
    with pytest.raises(DensekitError, match="densekit exports: onnx"):
        export(run, tmp_path / "model.tflite", format="tflite")


def test_densekit_export_is_the_export_function():
    import densekit
    assert densekit.export is export


def test_a_many_classes_run_is_refused_naming_what_serves_it(cli, tmp_path):
    from tests.helpers.deploy import many_classes_run
    run = many_classes_run(tmp_path)
    code, _, err = cli("export", run)
    assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0, err
    for words in ("sampled_softmax", "many_classes", "densekit predict", "densekit serve"):
        assert words in err, err
    assert not (run / "model.onnx").exists()
