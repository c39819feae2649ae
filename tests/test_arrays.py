"""Folders of arrays (NPY pairs, IDX files), Parquet tables and single NPY inputs."""

import gzip

import numpy as np
import pandas as pd
import pytest

import densekit
from densekit.config import DataConfig
from densekit.data import load_source
from densekit.data.idx import read_idx
from densekit.errors import DensekitError
from tests.conftest import needs_fashion, write_iris_csv
from tests.helpers.idx import idx_bytes


def digits_arrays():
    from sklearn.datasets import load_digits
    digits = load_digits()
    return (digits.images * 255 / 16).astype(np.uint8), digits.target.astype(np.uint8)


def test_a_raw_idx_file_is_memory_mapped(tmp_path):
    images, _ = digits_arrays()
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(images))
    array = read_idx(path)
    assert isinstance(array, np.memmap) and np.array_equal(array, images)


def test_an_idx_folder_trains_with_its_test_files(tmp_path):
    images, labels = digits_arrays()
    folder = tmp_path / "digits-idx"
    folder.mkdir()
    for prefix, rows in (("train", slice(0, 1400)), ("t10k", slice(1400, None))):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(images[rows]))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels[rows])))
    dataset = load_source(DataConfig(source=str(folder)))
    assert dataset.kind == "image" and dataset.image_shape == (8, 8) and len(dataset.test) == 397
    result = densekit.train(data__source=str(folder), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.85  # 397 held-out digits, 20 epochs: 0.90


def test_an_idx_folder_without_labels_is_refused(tmp_path):
    images, _ = digits_arrays()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    with pytest.raises(DensekitError, match="no matching \\*labels-idx1-ubyte"):
        load_source(DataConfig(source=str(tmp_path)))


@needs_fashion
def test_the_system_fashion_mnist_folder_loads_as_an_idx_folder():
    from densekit.data.named import data_folders
    folder = next(f for f in data_folders("fashion-mnist") if (f / "train-images-idx3-ubyte.gz").exists())
    dataset = load_source(DataConfig(source=str(folder)))
    assert dataset.train.x.shape == (60000, 784) and len(dataset.test) == 10000


def test_an_npy_folder_is_memory_mapped_and_trains(tmp_path):
    images, labels = digits_arrays()
    np.save(tmp_path / "x_train.npy", images)
    np.save(tmp_path / "y_train.npy", labels)
    dataset = load_source(DataConfig(source=str(tmp_path)))
    assert isinstance(dataset.train.x.base, np.memmap) or isinstance(dataset.train.x, np.memmap)
    result = densekit.train(data__source=str(tmp_path), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.9
    np.save(tmp_path / "rows.npy", images[:7])
    predictions = densekit.load(result.run_dir).read_features(tmp_path / "rows.npy", require_label=False)
    assert predictions.x.shape == (7, 64)


def test_an_npy_folder_needs_labels_and_readable_files(tmp_path, cli):
    np.save(tmp_path / "x_train.npy", np.zeros((10, 4), np.float32))
    with pytest.raises(DensekitError, match="no y_train.npy"):
        load_source(DataConfig(source=str(tmp_path)))
    np.save(tmp_path / "y_train.npy", np.zeros(10))
    (tmp_path / "x_train.npy").write_bytes((tmp_path / "x_train.npy").read_bytes()[:100])
    code, _, err = cli("train", "--data", tmp_path)
    assert code == 2 and "not a readable NPY array" in err and "Traceback" not in err


def test_a_single_npy_file_cannot_train(tmp_path, cli):
    np.save(tmp_path / "x.npy", np.zeros((10, 4), np.float32))
    code, _, err = cli("train", "--data", tmp_path / "x.npy")
    assert code == 2 and "features but no labels" in err


def test_a_parquet_table_trains_and_predicts(tmp_path, cli):
    frame = pd.read_csv(write_iris_csv(tmp_path))
    frame.to_parquet(tmp_path / "iris.parquet")
    result = densekit.train(data__source=str(tmp_path / "iris.parquet"), data__label="species",
                            out=tmp_path / "run", quiet=True, train__epochs=60, train__lr=0.01)
    assert result.metrics["test"]["accuracy"] >= 0.9
    code, out, _ = cli("predict", result.run_dir, tmp_path / "iris.parquet")
    assert code == 0 and "setosa" in out


def test_a_truncated_parquet_file_is_named(tmp_path, cli):
    frame = pd.read_csv(write_iris_csv(tmp_path))
    frame.to_parquet(tmp_path / "iris.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "iris.parquet").read_bytes()[:200])
    code, _, err = cli("train", "--data", tmp_path / "cut.parquet")
    assert code == 2 and "not a readable Parquet file" in err and "Traceback" not in err


def test_a_folder_of_kuzushiji_style_npz_pairs_trains(tmp_path):
    images, labels = digits_arrays()
    for role, rows in (("train", slice(0, 1400)), ("test", slice(1400, None))):
        np.savez(tmp_path / f"mine-{role}-imgs.npz", images[rows])
        np.savez(tmp_path / f"mine-{role}-labels.npz", labels[rows])
    dataset = load_source(DataConfig(source=str(tmp_path)))
    assert dataset.image_shape == (8, 8) and len(dataset.train) == 1400 and len(dataset.test) == 397
    (tmp_path / "mine-test-labels.npz").unlink()
    with pytest.raises(DensekitError, match="no mine-test-labels.npz"):
        load_source(DataConfig(source=str(tmp_path)))
