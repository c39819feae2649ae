"""Every config in examples/ runs, shortened where needed, and reaches a sensible result.

Sets that cannot be downloaded here (the crash course's MNIST CSV, Kuzushiji-49, IMDB, Reuters,
Boston housing) are replaced by stand-in files in the same formats, placed where densekit looks
first ($DENSEKIT_DATA/NAME). The crash-course and Kuzushiji stand-ins are real images: Fashion-MNIST.
"""

from pathlib import Path

import numpy as np
import pytest

import densekit
from densekit.config import load_config
from densekit.data import load_source
from densekit.rundir.checkpoint import CheckpointFolder
from densekit.session.pipeline import split_holdouts
from tests.conftest import needs_fashion
from tests.helpers.words import sequences

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COVERED = {"mlcc-mnist-linear", "mlcc-mnist-dnn", "fashion-mnist-keras", "fashion-mnist-mse-onehot",
           "fashion-mnist-32-units", "kuzushiji-49", "imdb", "imdb-overfitting", "reuters",
           "boston-housing-cv"} | {f"moons-noise-{n}{r}" for n in ("0.1", "0.2", "0.3") for r in ("", "-l2")}
COVERED |= {"gcide-next-word", "wordnet-hypernyms"}  # run in tests/test_many_classes.py


def example(name: str) -> str:
    assert name in COVERED, f"add {name} to COVERED"
    return str(EXAMPLES / f"{name}.yaml")


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DENSEKIT_MIRROR", "http://127.0.0.1:9")  # never the internet
    return tmp_path / "data"


def fashion(rows: int, part: str = "train"):
    from densekit.config import DataConfig
    from densekit.data import load_source
    dataset = load_source(DataConfig(source="fashion-mnist"))
    chosen = dataset.train if part == "train" else dataset.test
    return chosen.x[:rows], chosen.y[:rows]


def write_mnist_csv(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, (x, y) in (("mnist_train_small.csv", fashion(10_000)), ("mnist_test.csv", fashion(2_000, "test"))):
        np.savetxt(folder / name, np.hstack([y[:, None], x]).astype(int), fmt="%d", delimiter=",")


@needs_fashion
def test_crash_course_linear_baseline(stand_ins, tmp_path):
    write_mnist_csv(stand_ins / "mnist-csv")
    result = densekit.train(example("mlcc-mnist-linear"), out=tmp_path / "run", quiet=True)
    assert len(result.history) == 10  # ten periods
    assert result.metrics["validation"]["accuracy"] >= 0.75  # Fashion is harder than MNIST (0.91)


@needs_fashion
def test_crash_course_dnn_keeps_its_first_layer_at_10_100_1000_steps(stand_ins, tmp_path):
    write_mnist_csv(stand_ins / "mnist-csv")
    result = densekit.train(example("mlcc-mnist-dnn"), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.78
    shots = sorted(p.name for p in (result.run_dir / "snapshots").iterdir())
    assert shots == [f"first-layer-step-{s}.safetensors" for s in (10, 100, 1000)]


@needs_fashion
@pytest.mark.parametrize("name, floor", [("fashion-mnist-keras", 0.80), ("fashion-mnist-mse-onehot", 0.78),
                                         ("fashion-mnist-32-units", 0.80)])
def test_fashion_mnist_examples_in_one_epoch(tmp_path, name, floor):
    result = densekit.train(example(name), train__epochs=1, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= floor
    assert "val_accuracy" in result.history[-1]


@needs_fashion
def test_kuzushiji_49_reads_arr_0_files(stand_ins, tmp_path):
    folder = stand_ins / "k49"
    folder.mkdir(parents=True)
    (x, y), (xt, yt) = fashion(6000), fashion(1000, "test")
    for name, array in (("train-imgs", x.reshape(-1, 28, 28)), ("train-labels", y),
                        ("test-imgs", xt.reshape(-1, 28, 28)), ("test-labels", yt)):
        np.savez(folder / f"k49-{name}.npz", array)  # one unnamed array: arr_0
    result = densekit.train(example("kuzushiji-49"), train__epochs=2, out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.75


def bayes_accuracy(x: np.ndarray, y: np.ndarray, noise: float) -> float:
    """The best any classifier can score on these points: the class whose moon, blurred by
    the generator's Gaussian noise, makes each point more likely."""
    t = np.linspace(0, np.pi, 4000)
    moons = [np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)]
    likelihood = [np.exp(-((x[:, None, :] - m[None]) ** 2).sum(-1) / (2 * noise ** 2)).mean(1) for m in moons]
    return float(((likelihood[1] > likelihood[0]).astype(int) == y).mean())


@pytest.mark.slow
@pytest.mark.parametrize("noise", ["0.1", "0.2", "0.3"])
@pytest.mark.parametrize("l2", ["", "-l2"])
def test_moons_examples_reach_the_bayes_limit_and_checkpoint_every_50_epochs(tmp_path, noise, l2):
    config = example(f"moons-noise-{noise}{l2}")
    result = densekit.train(config, train__epochs=150, out=tmp_path / "run", quiet=True)
    cfg = load_config(config)
    dataset = load_source(cfg.data)
    dataset = split_holdouts(dataset, cfg, stratify=True)  # the same test rows as the run's
    limit = bayes_accuracy(dataset.test.x, dataset.test.y, float(noise))
    assert result.metrics["test"]["accuracy"] >= limit - 0.015
    last = CheckpointFolder(result.run_dir).load_newest(print)
    # every 50 epochs, and once more at the end so that a crash while results are written loses nothing
    assert last.meta["loop"]["epoch"] == 150
    assert CheckpointFolder(result.run_dir).prev.exists()


def write_word_sequences(folder: Path, name: str, labels_train, labels_test, split: bool) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    if split:
        np.savez(folder / f"{name}.npz", x_train=sequences(labels_train, rng), y_train=labels_train,
                 x_test=sequences(labels_test, rng), y_test=labels_test)
    else:
        labels = np.concatenate([labels_train, labels_test])
        np.savez(folder / f"{name}.npz", x=topic_sequences(labels, rng), y=labels)


def topic_sequences(topics, rng):
    """Each topic writes mostly its own five words, plus common ones."""
    out = np.empty(len(topics), dtype=object)
    for i, topic in enumerate(topics):
        own = rng.integers(100 + 5 * topic, 105 + 5 * topic, 10)
        out[i] = [int(w) for w in np.concatenate([own, rng.integers(1, 100, 20)])]
    return out


def test_imdb_multi_hot_network(stand_ins, tmp_path):
    rng = np.random.default_rng(1)
    write_word_sequences(stand_ins / "imdb", "imdb", rng.integers(0, 2, 5000), rng.integers(0, 2, 1000), split=True)
    result = densekit.train(example("imdb"), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.85
    result = densekit.train(example("imdb-overfitting"), train__epochs=3, out=tmp_path / "run2", quiet=True)
    assert result.history[-1]["val_accuracy"] >= 0.85


def test_reuters_46_topics(stand_ins, tmp_path):
    rng = np.random.default_rng(2)
    write_word_sequences(stand_ins / "reuters", "reuters", rng.integers(0, 46, 4000), rng.integers(0, 46, 1000), split=False)
    result = densekit.train(example("reuters"), out=tmp_path / "run", quiet=True)
    assert result.metrics["test"]["accuracy"] >= 0.6  # random: 1/46


@pytest.mark.slow
def test_boston_housing_cross_validation_then_retraining(stand_ins, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(506, 13)) * rng.uniform(0.1, 100, 13)  # features of different scales
    y = 22 + (x / x.std(axis=0)) @ rng.normal(size=13) + rng.normal(0, 1, 506)
    (stand_ins / "boston-housing").mkdir(parents=True)
    np.savez(stand_ins / "boston-housing" / "boston_housing.npz", x=x, y=y)
    result = densekit.cross_validate(example("boston-housing-cv"), folds=4, monitor="val_mae", retrain=True,
                                     train__epochs=80, out=tmp_path / "cv", quiet=True)
    assert len(result.folds) == 4 and 1 <= result.best_epoch <= 80
    guessing_the_mean = np.abs(y - y.mean()).mean()  # 2.16 here; the noise alone costs 0.8
    assert result.final["test"]["mae"] <= 0.7 * guessing_the_mean  # 1.34 measured


def test_every_example_has_a_test():
    assert {p.stem for p in EXAMPLES.glob("*.yaml")} == COVERED
