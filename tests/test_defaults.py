"""Defaults that suit real files: the training budget densekit chooses, gaps filled, columns
read as their values say (numbers, categories, text, identifiers), robust scaling, regression
targets standardised, integer labels that are quantities."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import densekit
from densekit.config import TrainConfig
from densekit.data.preprocess import CLIP_AT, Preprocessor
from densekit.data.tables import TableEncoder, column_kinds
from densekit.tasks import infer_task
from densekit.training.budget import choose_budget


def accuracy_on_test(run):
    return json.loads((run / "metrics.json").read_text())["test"]["accuracy"]


# ------------------------------------------------------------------ the budget

def test_a_small_table_gets_small_batches_many_epochs_and_early_stopping():
    decided, line = choose_budget(TrainConfig(), rows=96, has_validation=True)
    assert decided.batch_size == 16 and decided.epochs == 200
    assert decided.early_stopping.patience == 20 and decided.schedule == "plateau"
    assert decided.plateau_patience == 10 and decided.gamma == 0.2
    assert line.startswith("budget: batch 16 for 96 training rows, up to 200 epochs (1,200 steps)")
    assert "--epochs" in line


def test_a_large_set_gets_large_batches_and_fewer_epochs():
    decided, _ = choose_budget(TrainConfig(), rows=200_000, has_validation=True)
    assert decided.batch_size == 256 and decided.epochs == 20 and decided.early_stopping.patience == 5


def test_epochs_given_keep_the_run_as_asked_no_early_stopping_constant_rate():
    given = TrainConfig(epochs=20, batch_size=32)
    decided, line = choose_budget(given, rows=96, has_validation=True)
    assert (decided.epochs, decided.batch_size, decided.schedule) == (20, 32, "constant")
    assert decided.early_stopping.patience is None and line is None


def test_without_validation_data_the_budget_runs_to_its_end():
    decided, line = choose_budget(TrainConfig(), rows=5_000, has_validation=False)
    assert decided.early_stopping.patience is None and decided.schedule == "constant"
    assert decided.batch_size == 64 and decided.epochs == 127  # 79 steps an epoch
    assert "stopping" not in line


def test_a_batch_never_exceeds_the_rows():
    decided, _ = choose_budget(TrainConfig(), rows=5, has_validation=True)
    assert decided.batch_size == 5


def test_the_chosen_budget_is_printed_and_recorded_so_a_resume_continues_it(tmp_path, cli):
    run = tmp_path / "run"
    code, out, err = cli("train", "--data", "iris", "--out", run, "--set", "train.tensorboard=false")
    assert code == 0, err
    assert "budget: batch 16 for 96 training rows" in out + err
    saved = yaml.safe_load((run / "config.yaml").read_text())["train"]
    assert saved["batch_size"] == 16 and saved["early_stopping"]["patience"] == 20
    assert saved["schedule"] == "plateau"
    assert accuracy_on_test(run) >= 0.9


# ------------------------------------------------------------------ columns

def penguins(folder):
    """Palmer penguins: real measurements with gaps, and categorical island and sex."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins()
    path = folder / "penguins.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_real_gaps_and_categories_train_with_no_flags(tmp_path, cli):
    path, frame = penguins(tmp_path)
    assert frame.isna().any(axis=None)
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", path, "--label", "species", "--out", run, "-q")
    assert code == 0, err
    assert accuracy_on_test(run) >= 0.95
    predictor = densekit.load(run)
    assert "island=Biscoe" in predictor.feature_names
    with_gaps = frame.drop(columns=["species"]).head(5).copy()
    with_gaps.loc[0, ["bill_length_mm", "sex"]] = np.nan
    filled = predictor.predict(with_gaps)  # the gaps filled as in training, not refused
    assert set(filled) <= set(frame["species"].dropna())
    assert list(filled[1:]) == list(predictor.predict(frame.drop(columns=["species"]).head(5))[1:])


def test_categories_of_several_words_are_categories_not_text():
    rng = np.random.default_rng(0)
    levels = ["Some college but no degree", "High school graduate", "Bachelors degree(BA AB BS)",
              "Less than 1st grade", "Masters degree(MA MS MEng MEd MSW MBA)"]
    frame = pd.DataFrame({"education": rng.choice(levels, 2_000), "age": rng.integers(18, 90, 2_000)})
    kinds, notes = column_kinds(frame, {})
    assert kinds == {"education": "categorical", "age": "numeric"} and notes == []


def test_an_identifier_column_is_dropped_with_a_note_unless_kept():
    frame = pd.DataFrame({"id": np.arange(1, 201), "name": [f"person-{i}" for i in range(200)],
                          "x": np.linspace(0, 1, 200)})
    encoder = TableEncoder.fit(frame, "median")
    assert encoder.dropped == ["id", "name"] and encoder.columns == ["x"]
    assert "column 'id' dropped" in encoder.notes[0] and "data.columns.id=categorical" in encoder.notes[0]
    kept = TableEncoder.fit(frame, "median", {"id": "numeric", "name": "drop"})
    assert kept.columns == ["id", "x"] and kept.notes == []


def test_the_dropped_column_note_is_shown_and_data_columns_overrides(tmp_path, cli):
    from sklearn.datasets import load_wine
    frame = load_wine(as_frame=True).frame
    frame.insert(0, "row", np.arange(len(frame)))
    frame.to_csv(tmp_path / "wine.csv", index=False)
    code, out, err = cli("train", "--data", tmp_path / "wine.csv", "--label", "target",
                         "--out", tmp_path / "a", "--set", "train.tensorboard=false")
    assert code == 0 and "note: column 'row' dropped" in out + err
    code, _, err = cli("train", "--data", tmp_path / "wine.csv", "--label", "target", "--out",
                       tmp_path / "b", "--set", "data.columns.alcohol=categorical", "--set", "data.columns.row=numeric",
                         "--epochs", "2")
    assert code == 0, err
    names = densekit.load(tmp_path / "b").feature_names
    assert "row" in names and any(n.startswith("alcohol=") for n in names)


def test_a_column_data_columns_does_not_know_is_named(tmp_path, cli):
    from sklearn.datasets import load_wine
    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    code, _, err = cli("train", "--data", tmp_path / "wine.csv", "--label", "target",
                       "--set", "data.columns.alcohl=numeric")
    assert code == 2 and "data.columns names 'alcohl'" in err and "Traceback" not in err


def test_a_column_whose_kind_cannot_be_decided_shows_the_override(tmp_path, cli):
    frame = pd.DataFrame({"size": ["1", "2", "3", "four"] * 30, "y": [0, 1] * 60})
    frame.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = cli("train", "--data", tmp_path / "t.csv", "--label", "y")
    assert code == 2 and "'four'" in err and "--set data.columns.size=categorical" in err
    code, _, err = cli("train", "--data", tmp_path / "t.csv", "--label", "y", "--epochs", "1",
                       "--set", "data.columns.size=categorical", "--out", tmp_path / "run")
    assert code == 0, err


def test_many_categories_keep_the_most_frequent_as_columns():
    values = [f"c{i}" for i in range(100) for _ in range(100 - i)]  # c0 the most frequent
    encoder = TableEncoder.fit(pd.DataFrame({"city": values}), "median")
    assert len(encoder.categories["city"]) == 64 and "c0" in encoder.categories["city"]
    assert "c99" not in encoder.categories["city"]
    x, unseen = encoder.transform(pd.DataFrame({"city": ["c99"]}), "input")
    assert x.sum() == 0 and unseen == 1


# ------------------------------------------------------------------ numbers and targets

def test_scaling_bounds_a_heavy_tail_and_keeps_one_hot_columns():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.lognormal(0, 2, 1_000), rng.integers(0, 2, 1_000)]).astype(np.float32)
    prep = Preprocessor.fit(x, "table")
    scaled = prep.transform(x)
    assert np.abs(scaled[:, 0]).max() < CLIP_AT and abs(np.mean(x[:, 0] - prep.mean[0])) < 1e-3
    assert np.array_equal(scaled[:, 1], x[:, 1])
    again = Preprocessor.from_json(prep.to_json()).transform(x)
    assert np.array_equal(again, scaled)


def test_a_table_model_saved_before_robust_scaling_still_standardises():
    old = Preprocessor.from_json({"kind": "table", "mean": [1.0], "std": [2.0]})
    assert old.transform(np.array([[5.0]], dtype=np.float32)).tolist() == [[2.0]]


def test_integer_labels_with_many_values_in_few_rows_are_a_quantity():
    from sklearn.datasets import load_diabetes
    y = load_diabetes().target  # 214 distinct whole numbers in 442 rows
    kind, reason = infer_task(y)
    assert kind == "regression" and "too many to be classes" in reason
    assert infer_task(np.repeat(np.arange(26), 600))[0] == "multiclass"
    assert infer_task(np.arange(8))[0] == "multiclass"  # few values are classes at any size


def test_a_regression_file_trains_in_its_own_units_with_no_flags(tmp_path):
    from sklearn.datasets import load_diabetes
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame.to_csv(tmp_path / "diabetes.csv", index=False)
    result = densekit.train(data__source=str(tmp_path / "diabetes.csv"), data__label="target",
                            out=tmp_path / "run", quiet=True, report=False)
    assert result.task == "regression"
    assert result.metrics["test"]["r2"] >= 0.3
    predicted = densekit.load(result.run_dir).predict(frame.drop(columns=["target"]).head(50))
    assert 50 < np.mean(predicted) < 300  # the target's units, not z-scores


def test_a_small_integer_csv_is_a_table_not_images(tmp_path):
    from sklearn.datasets import load_digits
    frame = load_digits(as_frame=True).frame
    frame.to_csv(tmp_path / "digits.csv", index=False)
    result = densekit.train(data__source=str(tmp_path / "digits.csv"), data__label="target",
                            out=tmp_path / "run", quiet=True, report=False)
    assert result.card.preprocessing["kind"] == "table"
    assert result.metrics["test"]["accuracy"] >= 0.95


def test_progress_writes_at_most_a_line_a_second_and_always_the_last():
    from densekit.training.progress import Progress
    lines = []
    progress = Progress(100, log=lines.append)
    for epoch in range(1, 51):
        progress.report({"epoch": epoch, "step": epoch * 2, "train_loss": 0.5, "lr": 0.001,
                         "seconds": 0.0})
    progress.flush()
    assert len(lines) == 2 and lines[0].startswith("epoch 1 ") and lines[1].startswith("epoch 50 ")


def wordnet_glosses(folder, per_part=1_500):
    """WordNet's noun and verb glosses (Debian's wordnet-base), with each synset's count of
    synonyms: real text beside a real number, and the part of speech as the label."""
    root = Path("/usr/share/wordnet")
    if not (root / "data.noun").exists():
        pytest.skip("WordNet is not installed (apt-get install wordnet-base)")
    rows = []
    for part in ("noun", "verb"):
        lines = [line for line in (root / f"data.{part}").read_text(errors="replace").splitlines()
                 if not line.startswith("  ")]
        for line in lines[::len(lines) // per_part][:per_part]:
            head, _, gloss = line.partition(" | ")
            rows.append({"gloss": gloss.split(";")[0], "synonyms": int(head.split()[3], 16),
                         "pos": part})
    path = folder / "glosses.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_real_text_beside_a_number_trains_with_no_flags(tmp_path, cli):
    path = wordnet_glosses(tmp_path)
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", path, "--label", "pos", "--out", run, "-q",
                       "--set", "train.tensorboard=false")
    assert code == 0, err
    names = densekit.load(run).feature_names
    assert "synonyms" in names and "gloss:of" in names
    assert accuracy_on_test(run) >= 0.85


def test_a_multilabel_threshold_is_chosen_on_validation_and_used_everywhere(tmp_path):
    """Rare labels rarely reach 0.5: the threshold with the best validation micro-F1 is kept
    in model.json and used by predict."""
    from sklearn.datasets import make_multilabel_classification
    x, y = make_multilabel_classification(n_samples=1_500, n_features=20, n_classes=8,
                                          n_labels=1, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    labels = [f"l{j}" for j in range(8)]
    frame[labels] = y
    frame.to_csv(tmp_path / "ml.csv", index=False)
    result = densekit.train(data__source=str(tmp_path / "ml.csv"), data__label=labels,
                            out=tmp_path / "run", quiet=True, report=False)
    threshold = result.card.targets["threshold"]
    assert 0.05 <= threshold <= 0.95
    predictor = densekit.load(result.run_dir)
    scores = predictor.scores(frame[frame.columns[:20]].head(200))
    assert np.array_equal(predictor.predict(frame[frame.columns[:20]].head(200)),
                          (scores >= threshold).astype(int))


def test_serving_reads_text_beside_numbers_and_lets_a_dropped_identifier_come_along(tmp_path):
    from densekit.serve.schema import Schema
    from tests.test_text import review_table
    frame = review_table(200)
    frame.insert(0, "id", np.arange(len(frame)))
    frame["year"] = np.arange(len(frame)) % 7 + 2000
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    run = densekit.train(data__source=str(tmp_path / "reviews.csv"), data__label="sentiment",
                         train__epochs=1, out=tmp_path / "run", quiet=True, report=False).run_dir
    schema = Schema.of(densekit.load(run))
    assert [(c.name, c.kind) for c in schema.columns] == [("review", "text"), ("year", "number")]
    rows = schema.by_name([{"id": 7, "review": "a brilliant film", "year": 2001}])
    assert rows == [["a brilliant film", 2001]]


def test_data_columns_given_for_data_without_table_columns_is_refused(cli):
    code, _, err = cli("train", "--data", "iris", "--set", "data.columns.x=drop")
    assert code == 2 and "data.columns says how to read the columns of a table" in err


def test_the_network_is_chosen_from_the_data_and_said(cli, tmp_path):
    """512 units for a table, 128 for images; periodic embeddings from 10,000 training rows
    (nn/auto.py); --hidden auto is the default spelled out; a per-layer activation list needs widths."""
    code, out, err = cli("train", "--data", "iris", "--hidden", "auto", "--epochs", "2",
                         "--out", tmp_path / "table")
    assert code == 0, err
    assert "network: one hidden layer of 512 units for a table" in out
    card = json.loads((tmp_path / "table" / "model.json").read_text())
    assert card["model"]["hidden"] == [512] and card["model"]["embedding"] == "none"
    code, out, _ = cli("train", "--data", "digits", "--epochs", "1", "--out", tmp_path / "image")
    assert json.loads((tmp_path / "image" / "model.json").read_text())["model"]["hidden"] == [128]
    code, _, err = cli("train", "--data", "iris", "--activation", "relu,tanh", "--out", tmp_path / "x")
    assert code == 2 and "give model.hidden" in err


def test_large_tables_get_periodic_embeddings_small_ones_do_not():
    from densekit.config import ModelConfig
    from densekit.nn.auto import EMBEDDING_ROWS, with_network
    auto = ModelConfig()
    assert with_network(auto, "table", EMBEDDING_ROWS).embedding == "periodic"
    assert with_network(auto, "table", EMBEDDING_ROWS - 1).embedding == "none"
    assert with_network(auto, "image", 10**6).embedding == "none"
    chosen = ModelConfig(hidden=[64], embedding="none")
    assert with_network(chosen, "table", 10**6) == chosen
