"""What a new user meets without the optional parts, and what reaches their terminal.

1. Each optional dependency (pyproject's extras: export, serve, parquet), made absent for
   real in a child process (`sys.modules[name] = None` makes `import name` fail exactly as
   when it is not installed): the command line says what is missing and the pip command that
   installs it, in one paragraph, exit code 2, no traceback.
2. No third-party warning for what densekit computes itself: scikit-learn's "The y_prob
   values do not sum to one" came from float32 softmax rows (clipped away from 0 for the log
   loss) over many classes; a normal training prints no warning either.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import densekit
from densekit.errors import DensekitError
from densekit.extras import MissingExtra, require
from densekit.tasks.metrics import classification_metrics

# Run the command line as `python -m densekit.cli ARGS` does, with the named modules absent.
WITHOUT = """
import runpy, sys
for name in sys.argv.pop(1).split(","):
    sys.modules[name] = None
runpy.run_module("densekit.cli", run_name="__main__", alter_sys=True)
"""


def cli_without(modules: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT, modules, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def cli(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "densekit.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def parquet_table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "table.parquet"
    pd.DataFrame({"x": np.arange(40.0), "label": [0, 1] * 20}).to_parquet(path)
    return path


# (module made absent, command after the run or table, the extra that installs it)
ABSENT = [
    ("onnx", ["export", "{run}", "--output", "{tmp}/m.onnx"], "export"),
    ("onnxscript", ["export", "{run}", "--output", "{tmp}/m.onnx"], "export"),
    ("onnxruntime", ["serve", "{run}", "--backend", "onnx", "--port", "1"], "export"),
    ("starlette", ["serve", "{run}", "--port", "1"], "serve"),
    ("uvicorn", ["serve", "{run}", "--port", "1"], "serve"),
    ("prometheus_client", ["serve", "{run}", "--port", "1"], "serve"),
    ("pyarrow", ["train", "--data", "{table}", "--epochs", "1", "-q", "--out", "{tmp}/run"], "parquet"),
]


@pytest.mark.parametrize("module, command, extra", ABSENT, ids=[a[0] for a in ABSENT])
def test_a_missing_optional_dependency_names_its_extra_without_a_traceback(
        module, command, extra, iris_run, parquet_table, tmp_path):
    args = [a.format(run=iris_run.run, table=parquet_table, tmp=tmp_path) for a in command]
    proc = cli_without(module, *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert message.startswith("densekit: error: ") and "\n" not in message, message
    assert f"{module}, which is not installed" in message
    assert f"pip install 'densekit[{extra}]'" in message
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "run").exists()


def test_export_from_python_raises_densekit_error_naming_the_extra(iris_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(DensekitError, match=r"onnxscript, which is not installed.*"
                                            r"pip install 'densekit\[export\]'"):
        densekit.export(iris_run.run, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_serving_without_onnxruntime_falls_back_to_pytorch_and_says_why(iris_run, monkeypatch):
    pytest.importorskip("starlette")
    from densekit.serve.model import ServedModel
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    notes = []
    served = ServedModel.load(iris_run.run, backend="auto", log=notes.append)
    assert served.backend == "torch"
    assert any("onnxruntime missing" in n and "densekit[export]" in n for n in notes), notes


def test_require_returns_the_module_and_names_every_missing_one(monkeypatch):
    assert require("json", "serve", "Something") is sys.modules["json"]
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingExtra) as caught:
        require(("uvicorn", "json", "starlette"), "serve", "densekit serve")
    assert caught.value.modules == ("uvicorn", "starlette") and caught.value.extra == "serve"
    assert str(caught.value) == (
        "densekit serve needs uvicorn and starlette, which are not installed. Install densekit's "
        "optional 'serve' dependencies: pip install 'densekit[serve]'.")


def test_an_installed_package_missing_its_own_dependency_names_the_dependency(tmp_path, monkeypatch):
    """onnxscript installed without onnx: the message names onnx, which is what is missing;
    a package that imports but not the names it needs (a version mismatch) says so."""
    (tmp_path / "needs_absent.py").write_text("import densekit_absent_dependency\n")
    (tmp_path / "mismatched.py").write_text("from json import no_such_name\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtra, match="needs densekit_absent_dependency, which is not installed"):
        require("needs_absent", "export", "Exporting")
    with pytest.raises(MissingExtra, match=r"mismatched \(cannot import name 'no_such_name'.*\), "
                                           r"which cannot be imported"):
        require("mismatched", "export", "Exporting")


# ---------------------------------------------------------------- warnings


def peaked_probabilities(rows: int, classes: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """A trained network's softmax: most of each row's classes far below 1e-7."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(rows, classes, generator=generator) * 12
    truth = torch.randint(0, classes, (rows,), generator=generator).numpy()
    return truth, torch.softmax(logits, dim=1).numpy().astype(dtype)


@pytest.mark.parametrize("classes, dtype", [(4000, np.float32), (250, np.float64)])
def test_classification_metrics_warn_nothing_and_give_the_log_loss(classes, dtype):
    """float32: the clip to 1e-7 adds up to classes × 1e-7 to a row, beyond scikit-learn's
    float32 tolerance (3.5e-4) from about 3,500 classes; float64 (float32 rows upcast): their
    rounding alone (2e-7) is beyond its float64 tolerance (1.5e-8)."""
    truth, proba = peaked_probabilities(300, classes, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = classification_metrics(truth, proba.argmax(1), proba, list(range(classes)))
    p_true = proba[np.arange(len(truth)), truth].astype(np.float64)
    expected = -np.mean(np.log(np.clip(p_true, 1e-7, 1.0)))
    assert metrics["log_loss"] == pytest.approx(expected, abs=1e-3)
    assert metrics["log_loss"] > 5  # peaked on random classes: a high loss, not a clipped-away one


@pytest.fixture(scope="module")
def many_classes_table(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 250, 3000)
    frame = pd.DataFrame(rng.normal(size=(3000, 8)) + (y[:, None] % 7) * 0.2,
                         columns=[f"f{i}" for i in range(8)])
    frame["label"] = [f"class{v}" for v in y]
    path = tmp_path_factory.mktemp("many") / "many.csv"
    frame.to_csv(path, index=False)
    return path


RUNS = {
    "digits": ["--data", "digits"],
    "250-classes": ["--data", "{table}"],
    "sampled-softmax": ["--data", "{table}", "--set", "model.output=sampled_softmax",
                        "--set", "model.num_sampled=64"],
}


@pytest.mark.parametrize("name", list(RUNS))
def test_a_training_prints_no_third_party_warning(name, many_classes_table, tmp_path):
    args = [a.format(table=many_classes_table) for a in RUNS[name]]
    proc = cli("train", *args, "--epochs", "1", "-q", "--out", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    assert "Warning: " not in proc.stderr, proc.stderr  # as Python prints one: "…: UserWarning: …"
    assert (tmp_path / "run" / "metrics.json").exists()
