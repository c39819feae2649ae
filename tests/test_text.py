"""Word sequences (Keras's IMDB and Reuters files), text tables and delimited label lists."""

import io
import os

import numpy as np
import pandas as pd
import pytest

import densekit
from densekit.config import DataConfig
from densekit.data import load_source
from densekit.data.sequences import multi_hot, read_object_npz
from densekit.errors import DensekitError
from tests.helpers.publisher import npz_bytes, publish
from tests.helpers.words import sequences


def imdb_bytes(rows=600) -> bytes:
    rng = np.random.default_rng(0)
    y_train, y_test = rng.integers(0, 2, rows), rng.integers(0, 2, rows // 3)
    return npz_bytes(x_train=sequences(y_train, rng), y_train=y_train,
                     x_test=sequences(y_test, rng), y_test=y_test)


def test_multi_hot_follows_kerass_index_conventions():
    hot = multi_hot(np.array([[1, 5, 5], [20]], dtype=object), num_words=10)
    # Indices shift by 3; index 1 marks the start; 20 + 3 is beyond the top 10 words: OOV (2).
    assert hot.dtype == np.uint8 and hot.shape == (2, 10)
    assert hot[0].nonzero()[0].tolist() == [1, 4, 8] and hot[1].nonzero()[0].tolist() == [1, 2]


def test_imdb_downloads_and_trains_as_the_chapters_multi_hot_network(server, monkeypatch, tmp_path):
    publish(server, monkeypatch, "imdb", "imdb.npz", imdb_bytes())
    dataset = load_source(DataConfig(source="imdb", options={"words": 500}))
    assert dataset.kind == "bag" and dataset.train.x.shape == (600, 500) and dataset.train.x.dtype == np.uint8
    result = densekit.train(data__source="imdb", data__options={"words": 500}, model__hidden=[16, 16],
                            model__dropout=0.0, train__optimizer="rmsprop", train__batch_size=64,
                            train__epochs=8, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.9


def test_reuters_keeps_kerass_split(server, monkeypatch):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 46, 1000)
    publish(server, monkeypatch, "reuters", "reuters.npz", npz_bytes(x=sequences(y % 2, rng), y=y))
    dataset = load_source(DataConfig(source="reuters"))
    assert len(dataset.train) == 800 and len(dataset.test) == 200 and dataset.train.x.shape[1] == 10_000
    order = np.arange(1000)
    np.random.RandomState(113).shuffle(order)
    assert np.array_equal(dataset.test.y, y[order][800:])


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.array([Exploit(), Exploit()], dtype=object), y_train=np.zeros(2))
    (tmp_path / "imdb.npz").write_bytes(buffer.getvalue())
    with pytest.raises(DensekitError, match="refuses to load"):
        read_object_npz(tmp_path / "imdb.npz")
    assert not (tmp_path / "pwned").exists()


def test_a_words_option_that_is_not_a_count_is_refused(cli):
    code, _, err = cli("train", "--data", "imdb", "--set", "data.options.words=lots")
    assert code == 2 and "takes one option, words" in err


def review_table(rows=400):
    rng = np.random.default_rng(0)
    good, bad = "great superb moving brilliant".split(), "awful boring dull terrible".split()
    filler = "the movie film plot actor scene story was it".split()
    texts, labels = [], []
    for i in range(rows):
        words = list(rng.choice(filler, 8)) + list(rng.choice(good if i % 2 else bad, 2))
        texts.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return pd.DataFrame({"review": texts, "sentiment": labels})


@pytest.mark.parametrize("mode", ["multi-hot", "count", "tfidf"])
def test_a_text_table_trains_and_predicts_with_the_training_vocabulary(tmp_path, mode):
    path = tmp_path / "reviews.csv"
    review_table().to_csv(path, index=False)
    result = densekit.train(data__source=str(path), data__label="sentiment", data__text={"mode": mode, "words": 50},
                            out=tmp_path / "run", quiet=True, train__epochs=15)
    assert result.metrics["test"]["accuracy"] >= 0.95
    predictor = densekit.load(result.run_dir)
    assert len(predictor.feature_names) == 17 and "brilliant" in predictor.feature_names
    labels = predictor.predict(["a brilliant superb film", "dull and terrible, never again"])
    assert list(labels) == ["pos", "neg"]


def test_free_text_beside_other_columns_is_one_more_column_of_the_table(tmp_path, cli):
    frame = review_table()
    frame["year"] = np.arange(len(frame)) % 7 + 2000
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", tmp_path / "reviews.csv", "--label", "sentiment",
                       "--out", run)
    assert code == 0, err
    predictor = densekit.load(run)
    assert "review:brilliant" in predictor.feature_names and "year" in predictor.feature_names
    assert (predictor.predict(frame.drop(columns=["sentiment"])) == frame["sentiment"]).mean() >= 0.95


def test_delimited_label_lists_train_a_multilabel_model_and_evaluate(tmp_path, cli):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    tags = ["|".join(t for t, on in (("a", x[i, 0] > 0), ("b", x[i, 1] > 0), ("c", x[i, 2] > 0)) if on)
            for i in range(600)]
    frame = pd.DataFrame(x, columns=["f0", "f1", "f2"]).assign(tags=tags)
    frame.to_csv(tmp_path / "tags.csv", index=False)
    code, _, _ = cli("train", "--data", tmp_path / "tags.csv", "--label", "tags", "--set",
                     "data.label_delimiter=|", "--epochs", "40", "--out", tmp_path / "run", "-q")
    assert code == 0
    assert densekit.load(tmp_path / "run").task.name == "multilabel"
    code, out, _ = cli("evaluate", tmp_path / "run", "--data", tmp_path / "tags.csv")
    assert code == 0 and float(out.split("f1_micro")[1].split()[0]) >= 0.9
    frame.loc[0, "tags"] = "a|zebra"
    frame.to_csv(tmp_path / "unknown.csv", index=False)
    code, _, err = cli("evaluate", tmp_path / "run", "--data", tmp_path / "unknown.csv")
    assert code == 2 and "'zebra'" in err


def test_sequences_that_are_not_word_indices_are_refused(tmp_path):
    with pytest.raises(DensekitError, match="other than lists of word indices"):
        multi_hot(np.array([[1, 2], ["a", "b"]], dtype=object), num_words=10)
    with pytest.raises(DensekitError, match="other than lists of word indices"):
        multi_hot(np.array([[1, -4]], dtype=object), num_words=10)
