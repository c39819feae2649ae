"""Ways in: data in memory, the registry of named sets, the pure split; and bad input refused
through the command line with one paragraph and exit code 2."""

import dataclasses
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.datasets import load_digits, load_iris

from densekit.config import DataConfig
from densekit.data import Dataset, Part, dataset_from_memory, load_source, split_dataset
from densekit.data.named import LOADERS
from densekit.data.registry import REGISTRY
from densekit.data.split import fold_rows, holdout_rows, take
from densekit.data.tables import TableEncoder
from densekit.errors import DensekitError
from tests.conftest import write_iris_csv


# ---------------------------------------------------------------- data in memory


def test_digits_arrays_become_a_float32_table_with_generated_names():
    digits = load_digits()
    dataset = dataset_from_memory(digits.data, digits.target)
    assert dataset.kind == "table" and dataset.name == "in-memory" and not dataset.is_mixed_table()
    assert dataset.train.x.dtype == np.float32 and np.array_equal(dataset.train.x, digits.data)
    assert np.array_equal(dataset.train.y, digits.target)
    assert dataset.feature_names == [f"x{i}" for i in range(64)]


def test_iris_frame_and_series_keep_the_column_names():
    iris = load_iris(as_frame=True)
    dataset = dataset_from_memory(iris.data, iris.target, name="iris-frame")
    assert dataset.feature_names == list(iris.data.columns) and dataset.name == "iris-frame"
    assert isinstance(dataset.train.x, np.ndarray) and dataset.train.x.shape == (150, 4)
    assert np.allclose(dataset.train.x, iris.data.to_numpy()) and dataset.train.y.tolist() == iris.target.tolist()


def test_a_frame_with_a_text_column_is_kept_as_a_csv_with_one_is(tmp_path):
    """The same Dataset as `--data iris.csv --label species` once a text column is added."""
    frame = pd.read_csv(write_iris_csv(tmp_path))
    frame["size"] = np.where(frame["petal_length"] > 4, "large", "small")
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    from_file = load_source(DataConfig(source=str(tmp_path / "mixed.csv"), label="species"))
    in_memory = dataset_from_memory(frame.drop(columns="species"), frame["species"])
    assert in_memory.is_mixed_table() and from_file.is_mixed_table()
    assert in_memory.kind == from_file.kind == "table"
    assert in_memory.feature_names == from_file.feature_names
    pd.testing.assert_frame_equal(in_memory.train.x, from_file.train.x, check_dtype=False)
    assert in_memory.train.y.tolist() == from_file.train.y.tolist()
    encoded, unseen = TableEncoder.fit(in_memory.train.x, "error").transform(in_memory.train.x, "train")
    assert encoded.shape == (150, 6) and unseen == 0  # 4 numbers + size=large, size=small


def test_a_multi_hot_csr_matrix_is_a_bag_of_bytes():
    digits = load_digits()
    hot = scipy.sparse.csr_matrix((digits.data > 8).astype(np.float64))
    dataset = dataset_from_memory(hot, digits.target)
    assert dataset.kind == "bag" and dataset.train.x.dtype == np.uint8
    assert np.array_equal(dataset.train.x, digits.data > 8)


def test_a_csr_matrix_of_counts_stays_float32_without_rounding():
    digits = load_digits()
    dataset = dataset_from_memory(scipy.sparse.csr_matrix(digits.data / 16), digits.target)
    assert dataset.kind == "bag" and dataset.train.x.dtype == np.float32
    assert np.allclose(dataset.train.x, digits.data / 16)


def test_python_lists_with_string_labels():
    dataset = dataset_from_memory([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], ["a", "b", "a"])
    assert dataset.train.x.shape == (3, 2) and dataset.train.y.tolist() == ["a", "b", "a"]


def test_lists_mixing_numbers_and_words_become_a_frame_with_numeric_columns():
    dataset = dataset_from_memory([[1.5, "red"], [2.5, "blue"]], [0, 1], feature_names=["w", "colour"])
    assert dataset.is_mixed_table() and dataset.feature_names == ["w", "colour"]
    assert dataset.train.x["w"].dtype.kind == "f"


def test_gaps_in_a_numeric_array_are_left_for_data_missing():
    x = load_iris().data.copy()
    x[3, 1] = np.nan
    dataset = dataset_from_memory(x, load_iris().target)
    assert dataset.is_mixed_table() and int(dataset.train.x.isna().sum().sum()) == 1


def test_one_free_text_column_is_a_text_table_and_text_beside_others_a_mixed_table():
    reviews = pd.DataFrame({"review": ["a truly great film to see", "a dull and slow film overall"] * 5})
    dataset = dataset_from_memory(reviews, [1, 0] * 5)
    assert dataset.kind == "bag" and dataset.is_mixed_table() and dataset.feature_names == ["review"]
    mixed = dataset_from_memory(reviews.assign(stars=range(10)), [1, 0] * 5)
    assert mixed.kind == "table" and mixed.is_mixed_table()


def test_a_2d_indicator_frame_is_multilabel_with_its_column_names_and_targets_stay_2d():
    x = load_iris().data
    labels = pd.DataFrame({"long": x[:, 0] > 5.8, "wide": x[:, 1] > 3.0}).astype(int)
    dataset = dataset_from_memory(x, labels)
    assert dataset.train.y.shape == (150, 2) and dataset.label_names == ["long", "wide"]
    targets = dataset_from_memory(x[:, :2], x[:, 2:])
    assert targets.train.y.shape == (150, 2) and targets.train.y.dtype.kind == "f"
    column = dataset_from_memory(x, load_iris().target.reshape(-1, 1))
    assert column.train.y.shape == (150,)


def test_validation_and_test_rows_are_read_like_the_training_rows():
    iris = load_iris(as_frame=True)
    x, y = iris.data, iris.target
    reordered = x.iloc[100:][list(reversed(x.columns))]  # by name, not position
    dataset = dataset_from_memory(x.iloc[:80], y.iloc[:80], x_validation=x.iloc[80:100].to_numpy(),
                                  y_validation=y.iloc[80:100], x_test=reordered, y_test=y.iloc[100:])
    assert len(dataset.validation) == 20 and np.allclose(dataset.validation.x, x.iloc[80:100])
    assert np.allclose(dataset.test.x, x.iloc[100:]) and dataset.test.x.dtype == np.float32


@pytest.mark.parametrize("x,y,message", [
    (np.arange(10.0), np.arange(10), "x must be 2-D .* x.reshape\\(-1, 1\\)"),
    (np.zeros((5, 2, 2)), np.arange(5), "x must be 2-D .* x.reshape\\(len\\(x\\), -1\\)"),
    (np.zeros((5, 2)), np.arange(4), "x has 5 rows but y has 4 labels"),
    (np.zeros((0, 3)), np.zeros(0), "x has no rows"),
    (np.zeros((5, 2)), np.zeros((5, 2, 2)), "y must hold one label per row .* shape \\(5, 2, 2\\)"),
])
def test_wrong_shapes_are_refused_naming_the_fix(x, y, message):
    with pytest.raises(DensekitError, match=message):
        dataset_from_memory(x, y)


def test_wrong_extra_parts_and_names_are_refused():
    x, y = load_iris().data, load_iris().target
    with pytest.raises(DensekitError, match="x_validation is given without y_validation"):
        dataset_from_memory(x, y, x_validation=x)
    with pytest.raises(DensekitError, match="x_test has 3 column\\(s\\) but x has 4"):
        dataset_from_memory(x, y, x_test=x[:, :3], y_test=y)
    with pytest.raises(DensekitError, match="feature_names has 2 name\\(s\\) but x has 4"):
        dataset_from_memory(x, y, feature_names=["a", "b"])


# ---------------------------------------------------------------- the registry


def test_every_named_set_is_listed_loadable_and_described_once():
    assert list(LOADERS) == list(REGISTRY)
    for name, entry in REGISTRY.items():
        assert entry.name == name and callable(entry.loader) and entry.rows and entry.licence
        assert len(set(entry.filenames)) == len(entry.files)
    bundled = [name for name, entry in REGISTRY.items() if not entry.files]
    # No files to download: bundled with scikit-learn, generated, or installed by Debian's packages.
    assert bundled == ["digits", "iris", "wine", "breast-cancer", "moons", "gcide-next-word",
                       "wordnet-hypernyms"]
    with pytest.raises(TypeError):
        LOADERS["mine"] = REGISTRY["iris"]  # a read-only view


def test_loading_by_name_goes_through_the_registry_entry(monkeypatch):
    calls = []

    def loader(entry, options):
        calls.append((entry.name, options))
        return Dataset(entry.name, Part(np.zeros((4, 1)), np.arange(4)))
    monkeypatch.setitem(REGISTRY, "iris", dataclasses.replace(REGISTRY["iris"], loader=loader))
    assert len(load_source(DataConfig(source="iris")).train) == 4 and calls == [("iris", {})]


# ---------------------------------------------------------------- the pure split


def reference_split(dataset, test_split, validation_split, folds, fold, last, stratify, seed):
    """pipeline.split_holdouts as it was before split_dataset, kept here as the reference."""
    source = dataset.train
    kept, held = np.arange(len(source)), {}
    if dataset.test is None and test_split > 0:
        kept, held["test"] = holdout_rows(kept, source.y, test_split, stratify, seed, last)
    if folds:
        kept, held["validation"] = fold_rows(kept, source.y, folds, fold, stratify, seed)
    elif dataset.validation is None and validation_split > 0:
        kept, held["validation"] = holdout_rows(kept, source.y, validation_split, stratify, seed, last)
    parts = {"train": dataset.train, "validation": dataset.validation, "test": dataset.test}
    if held:
        parts.update({role: take(source, rows) for role, rows in held.items()})
        parts["train"] = take(source, kept)
    return parts


def numbered(dataset: Dataset) -> Dataset:
    """Each row's features start with its row number, so equal parts mean equal rows."""
    x = np.column_stack([np.arange(len(dataset.train)), dataset.train.x])
    return dataclasses.replace(dataset, train=Part(x, dataset.train.y))


@pytest.mark.parametrize("settings", [
    dict(test_split=0.2, validation_split=0.2, folds=None, fold=0, last=False, stratify=True, seed=0),
    dict(test_split=0.2, validation_split=0.1, folds=None, fold=0, last=True, stratify=True, seed=0),
    dict(test_split=0.3, validation_split=0.2, folds=None, fold=0, last=False, stratify=False, seed=7),
    dict(test_split=0.2, validation_split=0.2, folds=4, fold=2, last=False, stratify=True, seed=3),
    dict(test_split=0.0, validation_split=0.0, folds=None, fold=0, last=False, stratify=True, seed=0),
])
def test_split_dataset_chooses_the_rows_of_the_pipeline_and_leaves_its_input_alone(settings):
    dataset = numbered(load_source(DataConfig(source="wine")))
    train_before = dataset.train
    x_before = dataset.train.x.copy()
    split = split_dataset(dataset, settings["test_split"], settings["validation_split"], settings["folds"],
                          settings["fold"], settings["last"], settings["stratify"], settings["seed"])
    expected = reference_split(dataset, *settings.values())
    for role, part in expected.items():
        got = getattr(split, role)
        assert (got is None) == (part is None), role
        if part is not None:
            assert np.array_equal(got.x[:, 0], part.x[:, 0]) and np.array_equal(got.y, part.y), role
    assert dataset.train is train_before and np.array_equal(dataset.train.x, x_before)
    assert dataset.validation is None and dataset.test is None and split is not dataset
    assert split.train is not dataset.train  # reassigning the new part's x leaves the input's


def test_split_dataset_keeps_a_given_test_part_and_refuses_folds_beside_a_validation_file():
    dataset = load_source(DataConfig(source="iris"))
    given = Part(dataset.train.x[:10], dataset.train.y[:10])
    with_test = dataclasses.replace(dataset, test=given)
    split = split_dataset(with_test, 0.2, 0.2, None, 0, False, True, 0)
    assert np.array_equal(split.test.x, given.x) and len(split.train) + len(split.validation) == 150
    with pytest.raises(DensekitError, match="remove data.validation"):
        split_dataset(dataclasses.replace(dataset, validation=given), 0.2, 0.2, 4, 0, False, True, 0)


def test_split_dataset_keeps_a_mixed_table_a_frame(tmp_path):
    frame = pd.read_csv(write_iris_csv(tmp_path))
    frame["size"] = np.where(frame["petal_length"] > 4, "large", "small")
    dataset = dataset_from_memory(frame.drop(columns="species"), frame["species"])
    split = split_dataset(dataset, 0.2, 0.2, None, 0, False, True, 0)
    assert split.is_mixed_table() and isinstance(split.test.x, pd.DataFrame)
    assert (len(split.train), len(split.validation), len(split.test)) == (96, 24, 30)


# ---------------------------------------------------------------- bad input, through the CLI


def expect_refusal(cli, *args, match):
    code, _, err = cli("train", *args)
    assert code == 2, err
    assert err.startswith("densekit: error: ") and "Traceback" not in err
    assert match in err, err
    return err


@pytest.mark.parametrize("option,message", [
    ("n_samples=0", "data.options.n_samples for moons is the number of points to draw"),
    ("noise=-1", "data.options.noise for moons is the standard deviation"),
])
def test_moons_options_out_of_range(cli, tmp_path, option, message):
    err = expect_refusal(cli, "--data", "moons", "--set", f"data.options.{option}",
                         "--out", tmp_path / "run", match=message)
    assert "received" in err and not (tmp_path / "run").exists()


def test_npz_labels_of_three_dimensions(cli, tmp_path):
    digits = load_digits()
    np.savez(tmp_path / "d.npz", x=digits.data[:100], y=np.zeros((100, 2, 2)))
    expect_refusal(cli, "--data", tmp_path / "d.npz", "--out", tmp_path / "run",
                   match="The labels of x/y in")
    err = expect_refusal(cli, "--data", tmp_path / "d.npz", "--out", tmp_path / "run", match="(100, 2, 2)")
    assert "y.reshape(100, -1)" in err


@pytest.mark.parametrize("keys", [("x", "y"), ("x_train", "y_train")])
def test_npz_arrays_without_rows(cli, tmp_path, keys):
    np.savez(tmp_path / "empty.npz", **{keys[0]: np.zeros((0, 4)), keys[1]: np.zeros(0)})
    expect_refusal(cli, "--data", tmp_path / "empty.npz", "--out", tmp_path / "run",
                   match=f"{keys[0]}/{keys[1]} in {tmp_path / 'empty.npz'} has no rows")


def test_idx_dimensions_whose_product_wraps_around_in_int64(cli, tmp_path):
    """65,536⁴ = 2⁶⁴ is 0 in int64: a header-only file seemed complete and asked for 16 EiB."""
    header = bytes([0, 0, 0x08, 4]) + np.array([65536] * 4, dtype=">u4").tobytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header)
    labels = bytes([0, 0, 0x08, 1]) + np.array([3], dtype=">u4").tobytes() + bytes(3)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
    err = expect_refusal(cli, "--data", tmp_path, "--out", tmp_path / "run",
                         match="header announces shape (65536, 65536, 65536, 65536)")
    assert "(18,446,744,073,709,551,636 bytes)" in err  # 2⁶⁴ + the 20-byte header


def image_folder(folder, classes=("a", "b"), per_class=6):
    from PIL import Image
    rng = np.random.default_rng(0)
    for name in classes:
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / name / f"{i}.png")
    return folder


@pytest.mark.parametrize("size", ["[0,0]", "[28]", "[-1,28]"])
def test_image_size_option_out_of_range(cli, tmp_path, size):
    folder = image_folder(tmp_path / "images")
    expect_refusal(cli, "--data", folder, "--set", f"data.options.size={size}", "--out", tmp_path / "run",
                   match="data.options.size for an image folder is [height, width]")


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG, all black, of a few dozen kilobytes however large it is."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_an_image_too_large_to_decode_safely_is_named(cli, tmp_path):
    folder = image_folder(tmp_path / "images")
    (folder / "b" / "huge.png").write_bytes(huge_png(20_000, 20_000))
    err = expect_refusal(cli, "--data", folder, "--out", tmp_path / "run", match="huge.png is too large")
    assert "400000000 pixels" in err


@pytest.mark.parametrize("rows", [1, 2])
def test_a_csv_of_too_few_rows_to_split(cli, tmp_path, rows):
    path = tmp_path / "tiny.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(rows)))
    err = expect_refusal(cli, "--data", path, "--out", tmp_path / "run", match="too few rows")
    part = "test" if rows == 1 else "validation"  # 2 rows: one for test, one left to train on
    assert f"hold out a {part} part" in err and f"--{part}-split 0" in err


def test_a_run_directory_named_like_the_dataset_does_not_hide_it(tmp_path, monkeypatch):
    import densekit
    monkeypatch.chdir(tmp_path)
    result = densekit.train(data__source="iris", out="iris", train__epochs=1, quiet=True, report=False)
    assert result.run_dir == Path("iris") and result.metrics["test"]["accuracy"] > 0


def test_values_beyond_float32_are_named_not_made_infinite(cli, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{'1e300' if i == 3 else i},{i % 2}\n" for i in range(40)))
    code, _, err = cli("train", "--data", path, "--out", tmp_path / "run")
    assert code == 2 and "Column(s) b hold values beyond" in err and "Traceback" not in err
