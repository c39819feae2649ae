"""Named datasets downloaded from a publisher: tested against a real HTTP server on 127.0.0.1."""

import hashlib

import numpy as np
import pytest

from densekit.config import DataConfig
from densekit.data import load_source
from densekit.data.download import RemoteFile
from densekit.data.registry import REGISTRY
from densekit.errors import DensekitError
from tests.helpers.idx import idx_bytes
from tests.helpers.publisher import npz_bytes, publish, set_files


def small_mnist() -> bytes:
    rng = np.random.default_rng(0)
    return npz_bytes(x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8), y_train=np.arange(120) % 10,
                     x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), y_test=np.arange(30) % 10)


def test_download_verifies_places_in_the_cache_and_is_not_repeated(server, monkeypatch, tmp_path):
    publish(server, monkeypatch, "mnist", "mnist.npz", small_mnist())
    dataset = load_source(DataConfig(source="mnist"))
    assert dataset.train.x.shape == (120, 784) and len(dataset.test) == 30
    assert (tmp_path / ".cache" / "densekit" / "mnist" / "mnist.npz").exists()
    assert not list((tmp_path / ".cache" / "densekit" / "mnist").glob("*.part"))
    load_source(DataConfig(source="mnist"))
    assert len(server.requests) == 1


def test_a_checksum_mismatch_is_quarantined_and_not_used(server, monkeypatch, tmp_path):
    publish(server, monkeypatch, "mnist", "mnist.npz", small_mnist(), published=b"the real file")
    with pytest.raises(DensekitError, match="does not match its published checksum"):
        load_source(DataConfig(source="mnist"))
    folder = tmp_path / ".cache" / "densekit" / "mnist"
    assert (folder / "quarantine" / "mnist.npz").exists()
    assert not (folder / "mnist.npz").exists()


def test_an_interrupted_download_is_resumed(server, monkeypatch, tmp_path):
    body = small_mnist()
    publish(server, monkeypatch, "mnist", "mnist.npz", body)
    server.cut_after = 5000
    with pytest.raises(DensekitError, match="partial download is kept"):
        load_source(DataConfig(source="mnist"))
    partial = tmp_path / ".cache" / "densekit" / "mnist" / "mnist.npz.part"
    assert partial.stat().st_size == 5000
    dataset = load_source(DataConfig(source="mnist"))
    assert dataset.train.x.shape == (120, 784)
    assert server.requests[-1] == ("/mnist/mnist.npz", "bytes=5000-")


def test_an_unreachable_server_names_the_files_the_folder_and_the_checksums(monkeypatch, tmp_path, cli):
    monkeypatch.setenv("DENSEKIT_MIRROR", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DENSEKIT_DATA", raising=False)
    code, _, err = cli("train", "--data", "mnist")
    assert code == 2 and "Traceback" not in err
    assert "Could not download mnist.npz" in err and REGISTRY["mnist"].files[0].sha256 in err
    assert str(tmp_path / ".cache" / "densekit" / "mnist") in err


def test_boston_housing_keeps_kerass_split(server, monkeypatch):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(506, 13)), rng.normal(20, 5, 506)
    publish(server, monkeypatch, "boston-housing", "boston_housing.npz", npz_bytes(x=x, y=y))
    dataset = load_source(DataConfig(source="boston-housing"))
    assert len(dataset.train) == 404 and len(dataset.test) == 102
    order = np.arange(506)
    np.random.RandomState(113).shuffle(order)
    assert np.allclose(dataset.test.y, y[order][404:])
    assert dataset.feature_names[5] == "RM"


def test_files_already_in_DENSEKIT_DATA_are_used_without_a_download(server, monkeypatch, tmp_path):
    body = small_mnist()
    publish(server, monkeypatch, "mnist", "mnist.npz", body)
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "mnist" / "mnist.npz").write_bytes(body)
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path / "data"))
    assert load_source(DataConfig(source="mnist")).train.x.shape == (120, 784)
    assert server.requests == []


def test_datasets_command_lists_every_name_and_where_it_is(cli, monkeypatch, tmp_path):
    from densekit.data.named import LOADERS
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "mnist" / "mnist.npz").write_bytes(small_mnist())
    code, out, _ = cli("datasets")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(lines) == set(LOADERS)
    assert str(tmp_path / "data" / "mnist") in lines["mnist"]
    assert "missing: downloaded on first use" in lines["boston-housing"]
    assert "built in" in lines["digits"]


def test_kuzushiji_mnist_idx_files_are_downloaded_and_read(server, monkeypatch):
    import gzip
    rng = np.random.default_rng(2)
    shapes = {"train-images-idx3-ubyte.gz": (50, 28, 28), "train-labels-idx1-ubyte.gz": (50,),
              "t10k-images-idx3-ubyte.gz": (20, 28, 28), "t10k-labels-idx1-ubyte.gz": (20,)}
    files = []
    for filename, shape in shapes.items():
        array = rng.integers(0, 10 if len(shape) == 1 else 256, shape, dtype=np.uint8)
        body = gzip.compress(idx_bytes(array))
        server.files[f"/kmnist/{filename}"] = body
        files.append(RemoteFile(filename, "unused", hashlib.sha256(body).hexdigest()))
    set_files(monkeypatch, "kmnist", files)
    dataset = load_source(DataConfig(source="kmnist"))
    assert dataset.train.x.shape == (50, 784) and dataset.test.x.shape == (20, 784)
    assert dataset.class_names[0] == "o" and len(server.requests) == 4


def test_k49_is_checked_against_the_publishers_md5(server, monkeypatch, tmp_path):
    rng = np.random.default_rng(2)
    arrays = {"k49-train-imgs.npz": rng.integers(0, 256, (98, 28, 28), dtype=np.uint8),
              "k49-train-labels.npz": np.arange(98) % 49,
              "k49-test-imgs.npz": rng.integers(0, 256, (49, 28, 28), dtype=np.uint8),
              "k49-test-labels.npz": np.arange(49)}
    files = []
    for name, array in arrays.items():
        body = npz_bytes(arr_0=array)
        server.files[f"/k49/{name}"] = body
        files.append(RemoteFile(name, "unused", None, md5=hashlib.md5(body).hexdigest()))
    set_files(monkeypatch, "k49", files)
    dataset = load_source(DataConfig(source="k49"))
    assert dataset.train.x.shape == (98, 784) and len(dataset.test) == 49
    assert len(dataset.class_names) == 49 and dataset.class_names[48] == "iter"
    files[0] = RemoteFile(files[0].name, "unused", None, md5="0" * 32)
    set_files(monkeypatch, "k49", files)
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(DensekitError, match="MD5 .* expected 0000"):
        load_source(DataConfig(source="k49"))


def test_the_crash_course_csv_sample_records_its_checksum_and_keeps_the_exercises_split(server, monkeypatch, tmp_path, capsys):
    rng = np.random.default_rng(3)

    def csv(rows):
        table = np.hstack([np.arange(rows)[:, None] % 10, rng.integers(0, 256, (rows, 784))])
        return "\n".join(",".join(map(str, r)) for r in table).encode() + b"\n"
    sample, test = csv(10_050), csv(200)
    server.files["/mnist-csv/mnist_train_small.csv"] = sample
    server.files["/mnist-csv/mnist_test.csv"] = test
    dataset = load_source(DataConfig(source="mnist-csv"))
    assert (len(dataset.train), len(dataset.validation), len(dataset.test)) == (7500, 2500, 200)
    assert dataset.kind == "image" and dataset.train.x.dtype == np.uint8
    record = tmp_path / ".cache" / "densekit" / "mnist-csv" / "mnist_test.csv.sha256"
    assert record.read_text().split()[0] == hashlib.sha256(test).hexdigest()
    assert "publishes no checksum" in capsys.readouterr().err


def test_a_crash_course_csv_of_the_wrong_shape_is_refused(server, tmp_path):
    server.files["/mnist-csv/mnist_train_small.csv"] = b"1,2,3\n4,5,6\n"
    server.files["/mnist-csv/mnist_test.csv"] = b"1,2,3\n"
    with pytest.raises(DensekitError, match="should have 785 columns of integers 0..255"):
        load_source(DataConfig(source="mnist-csv"))
