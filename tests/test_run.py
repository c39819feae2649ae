"""The run directory: files, save/load round trip, determinism, evaluate and predict."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import densekit
from densekit.config import ModelConfig
from densekit.nn.model import DenseNet


def test_run_directory_holds_every_file(iris_run):
    result, _, _ = iris_run
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.yaml", "history.jsonl", "metrics.json", "run.json", "model.safetensors",
            "model.json"} <= names
    history = [json.loads(line) for line in (result.run_dir / "history.jsonl").read_text().splitlines()]
    assert len(history) == 60
    assert {"step", "epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds"} <= set(history[0])
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert set(metrics) == {"validation", "test"}
    assert {"accuracy", "loss", "log_loss", "f1_macro", "per_class", "confusion_matrix"} <= set(metrics["test"])
    assert metrics["test"]["accuracy"] >= 0.9
    assert sum(map(sum, metrics["test"]["confusion_matrix"])) == 30


def test_the_saved_config_reproduces_the_run(iris_run, tmp_path):
    result, _, _ = iris_run
    again = densekit.train(str(result.run_dir / "config.yaml"), out=tmp_path / "again", quiet=True)
    assert again.metrics["test"] == result.metrics["test"]


def test_reloaded_model_predicts_exactly_as_before_saving(iris_run):
    result, _, frame = iris_run
    x = frame.drop(columns=["species"]).to_numpy()
    loaded = densekit.load(result.run_dir)
    before = torch.softmax(result.model.cpu().eval()(  # trained on a GPU, if there is one
        torch.from_numpy(loaded.prep.transform(x))), dim=1).detach().numpy()
    assert np.array_equal(loaded.scores(x), before)
    untrained = DenseNet(4, 3, ModelConfig(hidden=[32])).eval()
    loaded.model = untrained
    assert not np.allclose(loaded.scores(x), before, atol=1e-2)


def test_predictions_are_class_names(iris_run):
    result, _, frame = iris_run
    loaded = densekit.load(result.run_dir)
    predicted = loaded.predict(frame.drop(columns=["species"]).to_numpy())
    assert set(predicted) <= {"setosa", "versicolor", "virginica"}
    assert (predicted == frame["species"].to_numpy()).mean() >= 0.9


def test_cli_predict_writes_class_and_probabilities(iris_run, cli, tmp_path):
    result, csv, frame = iris_run
    out = tmp_path / "preds.csv"
    code, stdout, _ = cli("predict", result.run_dir, csv, "--output", out)
    assert code == 0 and "150 predictions" in stdout
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["prediction", "prob_setosa", "prob_versicolor", "prob_virginica"]
    assert np.allclose(preds.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-5)
    assert (preds["prediction"] == frame["species"]).mean() >= 0.9


def test_predict_accepts_features_without_the_label_column(iris_run, cli, tmp_path):
    result, _, frame = iris_run
    features = tmp_path / "features.csv"
    frame.drop(columns=["species"]).to_csv(features, index=False)
    code, _, _ = cli("predict", result.run_dir, features, "--output", tmp_path / "p.csv")
    assert code == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 150


def test_cli_evaluate_reports_the_metrics(iris_run, cli):
    result, csv, _ = iris_run
    code, stdout, _ = cli("evaluate", result.run_dir, "--data", csv, "--json")
    assert code == 0
    metrics = json.loads(stdout)
    assert metrics["accuracy"] >= 0.9 and len(metrics["confusion_matrix"]) == 3


def test_a_named_sets_model_evaluates_a_csv_whose_label_column_is_guessed(tmp_path):
    """A model trained on a named set has no label column name; a CSV of its features and a
    `label` column is evaluated as a training file's label would be found."""
    from sklearn.datasets import load_digits
    result = densekit.train(data__source="digits", model__hidden=[16], train__epochs=2,
                            out=tmp_path / "run", quiet=True, report=False)
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"pixel_{i}" for i in range(64)])
    frame["label"] = digits.target
    frame.iloc[-200:].to_csv(tmp_path / "test.csv", index=False)
    metrics = densekit.evaluate(result.run_dir, str(tmp_path / "test.csv"))
    model = densekit.load(result.run_dir)
    expected = (model.predict(digits.data[-200:]) == digits.target[-200:]).mean()
    assert metrics["accuracy"] == pytest.approx(expected)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    def weights(seed, name):
        r = densekit.train(data__source="digits", train__epochs=2, train__seed=seed,
                           out=tmp_path / name, quiet=True)
        return load_file(r.run_dir / "model.safetensors")
    a, b, c = weights(1, "a"), weights(1, "b"), weights(2, "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], c["head.weight"])


def test_a_tampered_model_file_is_refused(iris_run, tmp_path, cli):
    import shutil
    result, csv, _ = iris_run
    copy = tmp_path / "copy"
    shutil.copytree(result.run_dir, copy)
    blob = bytearray((copy / "model.safetensors").read_bytes())
    blob[-3] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(blob))
    code, _, err = cli("predict", copy, csv)
    assert code == 2 and "checksum" in err


def test_a_truncated_model_file_is_refused(iris_run, tmp_path, cli):
    import shutil
    result, csv, _ = iris_run
    copy = tmp_path / "copy"
    shutil.copytree(result.run_dir, copy)
    path = copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    code, _, err = cli("evaluate", copy, "--data", csv)
    assert code == 2 and "truncated or modified" in err


def test_loading_never_unpickles(iris_run, monkeypatch):
    import pickle
    result, _, frame = iris_run

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called while loading a run")
    class RefusingUnpickler(pickle.Unpickler):
        def __init__(self, *args, **kwargs):
            refuse()

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    monkeypatch.setattr(torch, "load", refuse)
    predictions = densekit.load(result.run_dir).predict(frame.drop(columns=["species"]).to_numpy())
    assert set(predictions) <= {"setosa", "versicolor", "virginica"}
