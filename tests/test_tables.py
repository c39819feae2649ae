"""Mixed tables: one-hot categories, imputation by choice, unseen categories at prediction."""

import json

import numpy as np
import pandas as pd
import pytest

import densekit
from densekit.data.tables import TableEncoder
from densekit.errors import DensekitError


def mixed_iris(folder, gaps: bool = False):
    """Real iris measurements with two text columns derived from them, and text labels."""
    from sklearn.datasets import load_iris
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["petal_size"] = pd.cut(frame["petal_length"], [0, 2.5, 5.0, 10], labels=["small", "medium", "large"]).astype(str)
    frame["sepal_shape"] = np.where(frame["sepal_width"] > 3.0, "wide", "narrow")
    frame["species"] = bunch.target_names[bunch.target]
    frame = frame.drop(columns=["target", "petal_length"])
    if gaps:
        frame.loc[[3, 40, 77], "sepal_width"] = np.nan
        frame.loc[[5, 90], "petal_size"] = np.nan
    path = folder / "mixed.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_mixed_csv_trains_and_predicts_end_to_end(tmp_path, cli):
    path, frame = mixed_iris(tmp_path)
    result = densekit.train(data__source=str(path), data__label="species", train__epochs=60,
                            train__lr=0.01, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.9
    meta = json.loads((result.run_dir / "model.json").read_text())
    assert "petal_size=large" in meta["feature_names"] and meta["n_inputs"] == 3 + 3 + 2
    code, _, _ = cli("predict", result.run_dir, path, "--output", tmp_path / "p.csv")
    assert code == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert (preds["prediction"] == frame["species"]).mean() >= 0.9


def test_an_unseen_category_at_prediction_is_handled(tmp_path, cli):
    path, frame = mixed_iris(tmp_path)
    run = densekit.train(data__source=str(path), data__label="species", train__epochs=5,
                         out=tmp_path / "run", quiet=True).run_dir
    new = frame.drop(columns=["species"]).head(4).copy()
    new.loc[0, "petal_size"] = "enormous"
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = cli("predict", run, tmp_path / "new.csv", "-o", tmp_path / "p.csv")
    assert code == 0 and "1 value(s)" in err and "never seen in training" in err
    written = pd.read_csv(tmp_path / "p.csv")["prediction"]
    predictor = densekit.load(run)
    predicted = predictor.predict(new)  # a DataFrame goes through the same encoder
    assert list(predicted) == list(written) and set(predicted) <= set(frame["species"])
    # The unseen value touches only its own row: the others predict as they did before.
    assert list(predicted[1:]) == list(predictor.predict(frame.drop(columns=["species"]).head(4))[1:])


def test_missing_values_are_refused_when_asked_naming_the_columns(tmp_path, cli):
    path, _ = mixed_iris(tmp_path, gaps=True)
    code, _, err = cli("train", "--data", path, "--label", "species", "--missing", "error")
    assert code == 2
    assert "sepal_width (3 rows)" in err and "petal_size (2 rows)" in err and "data.missing=mean" in err


def test_missing_values_are_imputed_when_asked(tmp_path):
    path, _ = mixed_iris(tmp_path, gaps=True)
    result = densekit.train(data__source=str(path), data__label="species", data__missing="median",
                            train__epochs=40, train__lr=0.01, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.85


def test_the_encoder_learns_categories_from_training_rows_only():
    train = pd.DataFrame({"colour": ["red", "blue", "red"], "size": [1.0, 2.0, 3.0]})
    encoder = TableEncoder.fit(train, "error")
    assert encoder.categories == {"colour": ["blue", "red"]}
    x, unseen = encoder.transform(pd.DataFrame({"colour": ["green", "red"], "size": [5.0, 6.0]}), "test")
    assert unseen == 1
    assert x.tolist() == [[0.0, 0.0, 5.0], [0.0, 1.0, 6.0]]
    assert encoder.output_names() == ["colour=blue", "colour=red", "size"]


def test_a_missing_column_at_prediction_is_named():
    encoder = TableEncoder.fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), "error")
    with pytest.raises(DensekitError, match="lacks column"):
        encoder.transform(pd.DataFrame({"a": [1.0]}), "input")


def test_several_label_columns_make_a_multilabel_table(tmp_path, cli):
    from sklearn.datasets import load_digits
    digits = load_digits(as_frame=True)
    frame = digits.data.copy()
    frame["even"] = (digits.target % 2 == 0).astype(int)
    frame["big"] = (digits.target > 4).astype(int)
    path = tmp_path / "multi.csv"
    frame.to_csv(path, index=False)
    code, _, _ = cli("train", "--data", path, "--label", "even,big", "--epochs", "30",
                     "--out", tmp_path / "run", "-q")
    assert code == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["test"]["per_label"]) == {"even", "big"}
    assert metrics["test"]["f1_micro"] >= 0.9
    code, _, _ = cli("predict", tmp_path / "run", path, "--output", tmp_path / "p.csv")
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert code == 0 and list(predictions.columns[:2]) == ["even", "big"]
    assert (predictions["even"] == frame["even"]).mean() >= 0.9


def test_a_missing_label_column_among_several_is_named(tmp_path, cli):
    path, _ = mixed_iris(tmp_path)
    code, _, err = cli("train", "--data", path, "--label", "species,colour")
    assert code == 2 and "'colour'" in err
