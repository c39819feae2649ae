"""The scikit-learn estimators: every check of check_estimator, the same weights as the
command line, no files and no signal handlers from fit, pickling, run directories, pipelines
and searches, continued training, and bad input refused with ValueErrors."""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # so scikit-learn's array API check runs, not skips

import json
import pickle
import signal
from unittest import SkipTest

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import densekit
from densekit.cli import main
from densekit.report import build_report

DenseClassifier, DenseRegressor = densekit.DenseClassifier, densekit.DenseRegressor


# No expected failures and no skips: every check scikit-learn has for these estimators runs
# on the default settings. A check that raises SkipTest would pass under pytest: it fails here.
@parametrize_with_checks([DenseClassifier(), DenseRegressor()])
def test_check_estimator(estimator, check):
    try:
        check(estimator)
    except SkipTest as skipped:
        pytest.fail(f"scikit-learn skipped this check: {skipped}")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def frame_with_a_boolean_column(rows=240, seed=0):
    """Numbers, a text category and a boolean column; the label depends on two of them."""
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({"size": rng.normal(size=rows),
                          "colour": rng.choice(["red", "green", "blue"], rows),
                          "flag": rng.rand(rows) > 0.5})
    y = np.where((frame["colour"] == "red") | (frame["size"] > 0.5), "yes", "no")
    return frame, y


def parameters_of(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def test_same_weights_and_history_as_the_command_line(iris, tmp_path):
    x, y = iris
    settings = dict(hidden=(16, 8), dropout=0.1, epochs=6, batch_size=16, validation_split=0.2)
    estimator = DenseClassifier(**settings, random_state=7).fit(x, y)
    run = densekit.train(data__source="iris", data__test_split=0.0, data__validation_split=0.2,
                         model__hidden=[16, 8], model__dropout=0.1, train__epochs=6,
                         train__batch_size=16, train__seed=7, quiet=True, report=False,
                         out=str(tmp_path / "cli"))
    cli_model = densekit.load(run.run_dir).model
    assert all(torch.equal(a, b) for a, b in zip(parameters_of(cli_model), parameters_of(estimator.model_)))
    drop_time = [{k: v for k, v in r.items() if k != "seconds"} for r in run.history]
    assert drop_time == [{k: v for k, v in r.items() if k != "seconds"} for r in estimator.history_]
    assert estimator.n_iter_ == 6
    assert estimator.metrics_["validation"]["accuracy"] == run.metrics["validation"]["accuracy"]


def test_no_arguments_give_the_command_lines_defaults_and_weights(iris, tmp_path):
    """DenseClassifier() is `densekit train` with no flags: the same budget, the same rows
    held out for early stopping, the same weights."""
    x, y = iris
    estimator = DenseClassifier(random_state=7).fit(x, y)
    run = densekit.train(data__source="iris", data__test_split=0.0, train__seed=7, quiet=True,
                         report=False, out=str(tmp_path / "cli"))
    cli_model = densekit.load(run.run_dir).model
    assert all(torch.equal(a, b) for a, b in zip(parameters_of(cli_model), parameters_of(estimator.model_)))
    import yaml
    cli = yaml.safe_load((run.run_dir / "config.yaml").read_text())["train"]
    mine = estimator.config_["train"]
    for key in ("batch_size", "epochs", "schedule", "plateau_patience", "gamma", "early_stopping"):
        assert mine[key] == cli[key], key
    assert mine["batch_size"] == 16 and mine["schedule"] == "plateau"
    assert mine["early_stopping"]["patience"] == 20


@pytest.mark.parametrize("kind", [DenseClassifier, DenseRegressor])
def test_constructor_defaults_are_the_configurations(kind):
    """Each parameter's default is the configuration key's default: one cannot change alone."""
    from densekit.config import Config
    defaults = Config.from_dict({}).to_dict()
    for param, key in kind._parameters.items():
        section, *rest = key.split(".")
        value = defaults[section]
        for part in rest:
            value = value[part]
        given = kind().get_params()[param]
        assert (list(given) if isinstance(given, tuple) else given) == value, param


def test_a_gap_in_a_mixed_frame_names_the_parameter_not_a_flag():
    frame, y = frame_with_a_boolean_column()
    frame.loc[3, "size"] = np.nan
    with pytest.raises(ValueError, match="missing='mean'") as caught:
        DenseClassifier(missing="error", epochs=1).fit(frame, y)
    assert "--set" not in str(caught.value)
    filled = DenseClassifier(epochs=2, random_state=0).fit(frame, y)  # the default fills gaps
    assert filled.predict(frame).shape == (len(frame),)


def test_fit_writes_no_file_prints_nothing_and_leaves_signal_handlers(iris, tmp_path, monkeypatch, capsys):
    x, y = iris
    monkeypatch.chdir(tmp_path)
    def mine(signum, frame):
        pass
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        DenseClassifier(epochs=2, random_state=0).fit(x, y)
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr() == ("", "")
    DenseClassifier(epochs=2, random_state=0, verbose=True).fit(x, y)
    printed = capsys.readouterr().out
    assert "epoch 2" in printed and "task: multiclass" in printed


def test_learns_digits_from_arrays():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    model = DenseClassifier(epochs=10, random_state=0).fit(x_train, y_train)
    assert model.score(x_test, y_test) > 0.93
    assert model.predict_proba(x_test).shape == (len(x_test), 10)
    assert model.n_features_in_ == 64 and list(model.classes_) == list(range(10))


def test_pickle_and_clone(iris):
    x, y = iris
    model = DenseClassifier(epochs=3, random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    other = DenseClassifier(epochs=3, random_state=1).fit(x, y)
    assert not np.allclose(other.predict_proba(x), model.predict_proba(x))
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "model_")
    with pytest.raises(NotFittedError):
        fresh.predict(x)


def test_save_writes_a_run_directory_that_load_predict_and_report_read(iris, tmp_path, capsys):
    x, y = iris
    frame = pd.DataFrame(x, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    model = DenseClassifier(epochs=4, validation_split=0.2, random_state=0).fit(frame, y)
    run = model.save(tmp_path / "run")
    loaded = densekit.load(run)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(frame))
    np.testing.assert_allclose(loaded.scores(x), model.predict_proba(frame), atol=1e-6)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(run), str(tmp_path / "rows.csv"), "-o", str(tmp_path / "p.csv"), "-q"]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(written["prediction"], model.predict(frame))
    html = build_report(run).read_text()
    # A complete run as the report reads it: nothing missing, its curves and its test figures.
    assert "This run is incomplete" not in html and "could not be read" not in html
    assert "keeps no held-out predictions" in html  # an estimator keeps none; said, not a warning
    assert "Learning curves" in html and "Most confused" in html
    assert f"{json.loads((run / 'metrics.json').read_text())['validation']['accuracy']:.4f}" in html
    with pytest.raises(densekit.DensekitError, match="never writes over a run"):
        model.save(run)


def test_mixed_dataframe_directly_and_in_a_pipeline_with_a_column_transformer(tmp_path):
    frame, y = frame_with_a_boolean_column()
    direct = DenseClassifier(epochs=30, random_state=0).fit(frame, y)
    assert direct.score(frame, y) > 0.95
    assert list(direct.feature_names_in_) == ["size", "colour", "flag"]
    assert "colour=red" in direct.card_.feature_names  # encoded as the command line encodes
    loaded = densekit.load(direct.save(tmp_path / "mixed"))
    np.testing.assert_array_equal(loaded.predict(frame), direct.predict(frame))
    columns = ColumnTransformer([("numbers", StandardScaler(), ["size"]),
                                 ("categories", OneHotEncoder(), ["colour", "flag"])])
    pipeline = make_pipeline(columns, DenseClassifier(epochs=30, random_state=0)).fit(frame, y)
    assert pipeline.score(frame, y) > 0.95


def test_grid_search_over_hidden_and_lr_and_cross_val_score(iris):
    x, y = iris
    search = GridSearchCV(DenseClassifier(epochs=15, random_state=0),
                          {"hidden": [(8,), (32,)], "lr": [0.001, 0.01]}, cv=3).fit(x, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["lr"] == 0.01 and search.best_score_ > 0.85
    folds = KFold(3, shuffle=True, random_state=0)  # iris is sorted by class
    scores = cross_val_score(DenseRegressor(epochs=40, random_state=0), x[:, :3], x[:, 3], cv=folds)
    assert len(scores) == 3 and scores.min() > 0.5


def test_multilabel_indicator_and_several_regression_targets():
    x, y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    labels = DenseClassifier(epochs=40, random_state=0).fit(x, y)
    predicted = labels.predict(x)
    assert predicted.shape == y.shape and set(np.unique(predicted)) <= {0, 1}
    assert (predicted == y).mean() > 0.85   # per-label accuracy on the training rows
    assert labels.predict_proba(x).shape == y.shape and list(labels.classes_) == [0, 1, 2, 3]
    x, y = make_regression(n_samples=300, n_targets=3, noise=1.0, random_state=0)
    values = DenseRegressor(epochs=60, standardize_target=True, random_state=0).fit(x, y)
    assert values.predict(x).shape == (300, 3) and values.score(x, y) > 0.9


def test_partial_fit_keeps_the_classes_and_scaling_of_the_first_call(iris):
    x, y = iris
    model = DenseClassifier(batch_size=32, random_state=0)
    model.partial_fit(x[y < 2], y[y < 2], classes=[0, 1, 2])  # the first batch lacks class 2
    assert list(model.classes_) == [0, 1, 2] and model.predict_proba(x).shape == (150, 3)
    scaling = model.card_.preprocessing
    for _ in range(30):
        model.partial_fit(x, y)
    assert model.card_.preprocessing == scaling  # not refitted on the later batches
    assert model.n_iter_ == 31 and len(model.history_) == 31
    assert model.history_[-1]["step"] == 4 + 30 * 5  # steps number on across calls
    assert model.score(x, y) > 0.85
    with pytest.raises(ValueError, match="differs from the classes"):
        model.partial_fit(x, y, classes=[0, 1])


def test_warm_start_continues_from_the_fitted_weights(iris):
    x, y = iris
    model = DenseClassifier(epochs=5, warm_start=True, random_state=0).fit(x, y)
    first_loss = model.history_[0]["train_loss"]
    model.fit(x, y)
    assert model.n_iter_ == 10 and [r["epoch"] for r in model.history_] == list(range(1, 11))
    assert model.history_[5]["train_loss"] < first_loss  # went on, did not start again
    model.set_params(hidden=(64,))
    with pytest.raises(ValueError, match="hidden changed"):
        model.fit(x, y)
    cold = clone(model).set_params(warm_start=False, hidden=(128,)).fit(x, y)
    assert cold.n_iter_ == 5


@pytest.mark.parametrize("bad, message", [
    (dict(x=np.array([[np.nan, 1.0], [1.0, 2.0]] * 10), params={"missing": "error"}),
     "NaN or infinite.*missing='mean'"),
    (dict(y=np.zeros(20, dtype=int)), "only one class"),
    (dict(y=np.array(["a", 1] * 10, dtype=object)), "mixes text and number labels"),
    (dict(y=np.linspace(0, 1, 20)), "Unknown label type"),
    (dict(params={"lr": -1.0}), "key 'lr' received -1"),
    (dict(params={"settings": {"data.test_split": 0.5}}), "hold out test rows yourself"),
    (dict(params={"settings": {"train.lr": 0.1}}), "the parameter lr"),
    (dict(params={"validation_split": 0.2, "patience": 2, "monitor": "val_los"}), "val_los"),
])
def test_bad_input_raises_value_errors_with_densekit_messages(bad, message):
    x = bad.get("x", np.random.RandomState(0).normal(size=(20, 2)))
    y = bad.get("y", np.arange(20) % 2)
    with pytest.raises(ValueError, match=message):
        DenseClassifier(epochs=1, **bad.get("params", {})).fit(x, y)


def test_too_few_rows_to_hold_out_validation_rows_names_the_parameters():
    with pytest.raises(ValueError, match="n_samples=1.*validation_data=.*validation_split=0"):
        DenseRegressor().fit(np.zeros((1, 2)), np.array([0.5]))
    assert DenseRegressor(validation_split=0, epochs=1).fit(np.zeros((1, 2)), np.array([0.5])).n_iter_ == 1


def test_predict_refuses_another_number_of_features(iris):
    x, y = iris
    model = DenseRegressor(epochs=1).fit(x[:, :3], x[:, 3])
    with pytest.raises(ValueError, match="X has 2 features, but DenseRegressor is expecting 3"):
        model.predict(x[:, :2])


def test_continued_training_keeps_the_network_auto_chose_for_the_first_fit():
    """10,000 rows give periodic embeddings; a later partial_fit on 100 rows continues that
    network instead of building one without them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, 3))
    y = x[:, 0] + np.sin(3 * x[:, 1])
    model = DenseRegressor(epochs=1, validation_split=0, random_state=0).fit(x, y)
    assert model.card_.model["embedding"] == "periodic" and model.card_.model["hidden"] == [512]
    model.partial_fit(x[:100], y[:100])
    assert model.n_iter_ == 2 and model.card_.model["embedding"] == "periodic"
