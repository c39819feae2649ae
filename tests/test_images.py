"""Image folders: one sub-folder per class."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import densekit
from densekit.config import DataConfig
from densekit.data import load_source
from densekit.errors import DensekitError


def digits_folder(root, per_class=None):
    """scikit-learn's real digits written as 8×8 PNG files, one folder per digit."""
    digits = load_digits()
    for i, (pixels, label) in enumerate(zip(digits.images, digits.target)):
        folder = root / f"digit_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((pixels * 255 / 16).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return root


def test_an_image_folder_trains_with_class_names_from_the_folders(tmp_path):
    root = digits_folder(tmp_path / "digits")
    result = densekit.train(data__source=str(root), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.93
    assert "digit_7" in result.metrics["test"]["per_class"]
    assert densekit.load(result.run_dir).card.image_shape == [8, 8]


def test_images_are_resized_and_kept_as_bytes(tmp_path):
    root = digits_folder(tmp_path / "digits")
    dataset = load_source(DataConfig(source=str(root), options={"size": [16, 16]}))
    assert dataset.train.x.shape == (1797, 256) and dataset.train.x.dtype == np.uint8
    assert dataset.image_shape == (16, 16)


def test_images_of_different_sizes_need_a_size(tmp_path):
    for name, side in [("a", 8), ("b", 10)]:
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros((side, side), np.uint8)).save(tmp_path / name / "x.png")
    with pytest.raises(DensekitError, match="different sizes"):
        load_source(DataConfig(source=str(tmp_path)))


def test_a_corrupt_image_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DensekitError, match="broken.png is not a readable image"):
        load_source(DataConfig(source=str(tmp_path)))


def test_predict_and_evaluate_read_an_image_folder(tmp_path, cli):
    root = digits_folder(tmp_path / "digits")
    result = densekit.train(data__source=str(root), out=tmp_path / "run", quiet=True)
    code, _, _ = cli("predict", result.run_dir, root, "--output", tmp_path / "p.csv")
    table = pd.read_csv(tmp_path / "p.csv")
    assert code == 0 and len(table) == 1797 and "prob_digit_0" in table.columns
    assert (table["file"].str.split("/").str[0] == table["prediction"]).mean() >= 0.95
    code, out, _ = cli("evaluate", result.run_dir, "--data", root)
    assert code == 0 and float(out.split("accuracy")[1].split()[0]) >= 0.93


def test_predict_on_a_flat_folder_resizes_to_the_training_size(tmp_path, cli):
    root = digits_folder(tmp_path / "digits")
    result = densekit.train(data__source=str(root), out=tmp_path / "run", quiet=True, train__epochs=2)
    loose = tmp_path / "loose"
    loose.mkdir()
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(loose / "big_colour.png")
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(loose / "small_grey.png")
    code, out, _ = cli("predict", result.run_dir, loose, "-o", tmp_path / "p.csv")
    assert code == 0
    # Resized to 8x8 and made grey, the big colour image is the small grey one: same scores.
    table = pd.read_csv(tmp_path / "p.csv").set_index("file")
    assert sorted(table.index) == ["big_colour.png", "small_grey.png"]
    np.testing.assert_allclose(table.loc["big_colour.png"].drop("prediction").astype(float),
                               table.loc["small_grey.png"].drop("prediction").astype(float), atol=1e-4)
    assert table.loc["big_colour.png", "prediction"] == table.loc["small_grey.png", "prediction"]


def test_an_image_folder_for_a_table_model_is_refused(tmp_path, cli):
    root = digits_folder(tmp_path / "digits")
    run = densekit.train(data__source="iris", out=tmp_path / "run", quiet=True, train__epochs=1).run_dir
    code, _, err = cli("predict", run, root)
    assert code == 2 and "not trained on images" in err
