"""Readers: IDX, CSV/TSV with and without header, NPZ; named sets; the data folder look-up."""

import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest

import densekit
from densekit.config import DataConfig
from densekit.data import load_source
from densekit.data.idx import read_idx
from densekit.errors import DensekitError
from tests.conftest import needs_fashion
from tests.helpers.idx import idx_bytes


def write_idx(path, array, compress=True):
    raw = idx_bytes(array)
    path.write_bytes(gzip.compress(raw) if compress else raw)


def fake_fashion_folder(folder, n_train=300, n_test=100):
    """Small files in the real IDX layout, for the look-up order tests."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for stem, n in [("train", n_train), ("t10k", n_test)]:
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))


def test_idx_round_trip_raw_and_gzip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for compress in (True, False):
        path = tmp_path / f"a{compress}.idx"
        write_idx(path, array, compress)
        assert np.array_equal(read_idx(path), array)


def test_idx_with_a_wrong_magic_number(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(DensekitError, match="magic number is 12340801"):
        read_idx(path)


def test_idx_whose_length_disagrees_with_its_header(tmp_path):
    path = tmp_path / "short.idx"
    write_idx(path, np.zeros((10, 4, 4)), compress=False)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DensekitError, match="truncated or padded"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "c.gz"
    path.write_bytes(gzip.compress(np.random.default_rng(0).bytes(5000))[:100])
    with pytest.raises(DensekitError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_fashion_files_are_found_through_DENSEKIT_DATA(tmp_path, monkeypatch):
    fake_fashion_folder(tmp_path / "fashion-mnist")
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path))
    dataset = load_source(DataConfig(source="fashion-mnist"))
    assert dataset.train.x.shape == (300, 784) and dataset.test.x.shape == (100, 784)
    assert dataset.kind == "image" and dataset.class_names[9] == "Ankle boot"


def test_missing_fashion_files_offline_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DENSEKIT_MIRROR", "http://127.0.0.1:9")  # nothing listens: offline
    monkeypatch.setattr("densekit.data.folders.SYSTEM_FOLDERS", [])
    with pytest.raises(DensekitError, match="train-images-idx3-ubyte.gz") as info:
        load_source(DataConfig(source="fashion-mnist"))
    assert str(tmp_path / ".cache" / "densekit" / "fashion-mnist") in str(info.value)
    assert "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84" in str(info.value)


@needs_fashion
def test_real_fashion_mnist_loads_as_bytes():
    dataset = load_source(DataConfig(source="fashion-mnist"))
    assert dataset.train.x.shape == (60_000, 784) and dataset.train.x.dtype == np.uint8
    assert dataset.test.x.shape == (10_000, 784)
    assert np.bincount(dataset.train.y).tolist() == [6000] * 10


def test_headerless_csv_with_label_in_column_0_reads_as_images(tmp_path):
    """The crash-course MNIST CSV layout: label, then 784 pixel values, no header."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    pixels = np.kron(digits.data.reshape(-1, 8, 8), np.ones((1, 2, 2))).reshape(len(digits.data), -1)
    table = np.column_stack([digits.target, (pixels * 15).astype(int)])
    path = tmp_path / "mnist_like.csv"
    np.savetxt(path, table, fmt="%d", delimiter=",")
    result = densekit.train(data__source=str(path), data__label=0, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.9
    assert densekit.load(result.run_dir).card.image_shape == [16, 16]


def test_tsv_with_text_labels(tmp_path, iris_csv):
    path = tmp_path / "iris.tsv"
    pd.read_csv(iris_csv).to_csv(path, sep="\t", index=False)
    dataset = load_source(DataConfig(source=str(path), label="species"))
    assert dataset.train.x.shape == (150, 4) and set(dataset.train.y) == {"setosa", "versicolor", "virginica"}


def test_npz_with_train_and_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=rng.integers(0, 256, (50, 6, 6), dtype=np.uint8), y_train=np.arange(50) % 3,
             x_test=rng.integers(0, 256, (20, 6, 6), dtype=np.uint8), y_test=np.arange(20) % 3)
    dataset = load_source(DataConfig(source=str(path)))
    assert dataset.kind == "image" and dataset.image_shape == (6, 6)
    assert dataset.train.x.shape == (50, 36) and len(dataset.test) == 20


def test_npz_holding_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object), y=np.array([1]))
    with pytest.raises(DensekitError, match="pickled objects"):
        load_source(DataConfig(source=str(path)))


def test_npz_without_known_arrays(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, features=np.zeros((3, 2)))
    with pytest.raises(DensekitError, match="must hold arrays x and y"):
        load_source(DataConfig(source=str(path)))


def test_moons_options_and_unknown_option():
    dataset = load_source(DataConfig(source="moons", options={"n_samples": 300, "noise": 0.3}))
    assert len(dataset.train) == 300
    with pytest.raises(DensekitError, match="Unknown option"):
        load_source(DataConfig(source="moons", options={"noize": 0.3}))


@pytest.mark.parametrize("name,rows,features", [("iris", 150, 4), ("wine", 178, 13),
                                                ("breast-cancer", 569, 30), ("digits", 1797, 64)])
def test_bundled_sets(name, rows, features):
    dataset = load_source(DataConfig(source=name))
    assert dataset.train.x.shape == (rows, features)


def test_splits_are_stratified_and_seeded():
    from densekit.data.split import split_dataset
    iris = load_source(DataConfig(source="iris"))
    # The row number as the first feature: equal features mean the same rows were chosen.
    numbered = dataclasses.replace(iris, train=dataclasses.replace(
        iris.train, x=np.column_stack([np.arange(150), iris.train.x])))

    def rows(seed):
        split = split_dataset(numbered, 0.2, 0.2, None, 0, False, True, seed)
        assert np.bincount(split.test.y).tolist() == [10, 10, 10]          # stratified
        assert np.bincount(split.validation.y).tolist() == [8, 8, 8]
        return [part.x[:, 0].tolist() for part in (split.train, split.validation, split.test)]
    assert rows(0) == rows(0)
    other = rows(1)
    assert other != rows(0) and other[2] != rows(0)[2]
    assert sorted(sum(other, [])) == list(range(150))


def test_kfold_folds_cover_every_row_once_and_keep_class_balance():
    from densekit.data.split import fold_rows
    y = np.repeat([0, 1, 2], [40, 40, 20])
    rows = np.arange(100)
    folds = [fold_rows(rows, y, 4, k, stratify=True, seed=0) for k in range(4)]
    held = np.concatenate([validation for _, validation in folds])
    assert sorted(held.tolist()) == list(range(100))
    for train, validation in folds:
        assert len(validation) == 25 and np.bincount(y[validation]).tolist() == [10, 10, 5]
        assert not set(train) & set(validation)
    with pytest.raises(DensekitError, match="K-fold needs"):
        fold_rows(np.arange(3), None, 5, 0, stratify=False, seed=0)
    with pytest.raises(DensekitError, match="below data.folds"):
        fold_rows(rows, y, 4, 4, stratify=True, seed=0)


def test_holdout_last_keeps_the_file_order():
    from densekit.data.split import split_dataset
    dataset = load_source(DataConfig(source="iris"))
    x = dataset.train.x.copy()
    split = split_dataset(dataset, test_split=0.2, validation_split=0.1, folds=None, fold=0,
                          holdout_last=True, stratify=True, seed=0)
    assert np.array_equal(split.test.x, x[-30:])          # the last 20 % of 150 rows
    assert np.array_equal(split.validation.x, x[-42:-30])  # then 10 % of the 120 before them
    assert np.array_equal(split.train.x, x[:-42])


def test_standardised_pixels_have_zero_mean_and_unit_variance_and_reach_prediction(tmp_path):
    import torch
    import densekit
    from densekit.data.preprocess import Preprocessor
    x = np.random.default_rng(0).integers(0, 256, (300, 64), dtype=np.uint8)
    prep = Preprocessor.fit(x, "image", 255.0, "standardize")
    batch = prep.batch(torch.from_numpy(x))
    assert abs(float(batch.mean())) < 1e-4 and abs(float(batch.std()) - 1) < 1e-3
    result = densekit.train(data__source="digits", data__pixels="standardize", out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.93
    predictor = densekit.load(result.run_dir)
    assert predictor.prep.pixel_shift > 0
    from sklearn.datasets import load_digits
    digits = load_digits()
    assert (predictor.predict(digits.data[:200].astype(np.uint8)) == digits.target[:200]).mean() >= 0.9


def test_consecutive_rows_are_taken_as_views_others_as_copies():
    from densekit.data.dataset import Part
    from densekit.data.split import take
    part = Part(np.arange(40).reshape(20, 2), np.arange(20))
    consecutive, scattered = take(part, np.arange(5, 15)), take(part, np.array([1, 3, 4]))
    assert np.shares_memory(consecutive.x, part.x) and consecutive.x[0, 0] == 10
    assert not np.shares_memory(scattered.x, part.x) and scattered.y.tolist() == [1, 3, 4]
