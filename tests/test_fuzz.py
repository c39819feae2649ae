"""Fuzz: generated malformed CSV, NPZ, YAML and flag inputs through the command line. Whatever
the input, densekit exits 0 or 2, prints no traceback, and changes no file outside the run
directory it was given. A seeded generator (no extra dependency): a failure names its case
number, and `case(n)` rebuilds that exact input."""

import io
import os
import random
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import densekit.api
from densekit.cli import main

FAST_CASES = 520      # the default run: well under a minute
SLOW_CASES = 1000  # about 80 s on 2 cores: CI runs these too (1,500 pushed CI past 15 min)

WORDS = ["a", "b", "label", "y", "x", "", " ", "é", "日本", "NaN", "nan", "inf", "-inf", "1e999",
         "-0", "0x1F", "True", "null", "~", "'", '"', ",", ";", "\t", "|", "a|b", "1,2", "\\",
         "%s", "{}", "[1, 2]", "0", "1", "2", "-1", "3.5", "1e308", "-1e308", "9" * 40]


def cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return repr(round(rng.gauss(0, 3), 3))
    if roll < 0.75:
        return str(rng.randint(-2, 3))
    return rng.choice(WORDS)


def csv_bytes(rng: random.Random) -> bytes:
    sep = rng.choice([",", ",", ",", "\t", ";"])
    columns = rng.randint(0, 5)
    header = [rng.choice(WORDS + ["f1", "f2", "f3", "label", "label"]) for _ in range(columns)]
    lines = [sep.join(header)] if rng.random() < 0.8 else []
    for _ in range(rng.choice([0, 1, 2, 3, 10, 40, 60])):
        width = columns if rng.random() < 0.9 else rng.randint(0, columns + 2)  # ragged rows
        lines.append(sep.join(cell(rng) for _ in range(width)))
    data = "\n".join(lines).encode()
    roll = rng.random()
    if roll < 0.08:
        data = data[:rng.randint(0, len(data))]                 # cut short
    elif roll < 0.14:
        data = b"\xef\xbb\xbf" + data                          # a byte-order mark
    elif roll < 0.2:
        spot = rng.randint(0, len(data))
        data = data[:spot] + bytes([rng.randint(128, 255)]) + data[spot:]  # not UTF-8
    elif roll < 0.24:
        data = data.replace(b"\n", b"\r\n")
    return data


def array(rng: random.Random, rows: int):
    shape = rng.choice([(rows,), (rows, rng.randint(0, 4)), (rows, 2, 2), (), (0,), (rows + 1, 3)])
    kind = rng.choice(["float", "float", "int", "bool", "nan", "inf", "str", "complex", "huge"])
    if kind == "str":
        return np.array([rng.choice(WORDS) for _ in range(int(np.prod(shape)))]).reshape(shape)
    values = np.random.default_rng(rng.randint(0, 2**32 - 1)).normal(size=shape)
    if kind == "int":
        return np.abs(values * 2).astype(np.int64) % 3
    if kind == "bool":
        return values > 0
    if kind == "complex":
        return values + 1j
    if kind == "huge":
        with np.errstate(over="ignore"):
            return values * 1e308  # some overflow to inf
    if kind in ("nan", "inf") and values.size:
        values.flat[rng.randrange(values.size)] = np.nan if kind == "nan" else np.inf
    return values


def npz_bytes(rng: random.Random) -> bytes:
    rows = rng.choice([0, 1, 2, 5, 30, 60])
    keys = rng.sample(["x", "y", "x_train", "y_train", "x_test", "y_test", "x_val", "y_val",
                       "other"], rng.randint(0, 4))
    buffer = io.BytesIO()
    if rng.random() < 0.1:  # an object array: a pickle inside the NPZ, never to be loaded
        np.savez(buffer, x=np.array([[1.0], [2.0]]), y=np.array([{"a": 1}, None], dtype=object))
    else:
        np.savez(buffer, **{k: array(rng, rows) for k in keys})
    data = buffer.getvalue()
    roll = rng.random()
    if roll < 0.1:
        data = data[:rng.randint(0, len(data))]
    elif roll < 0.15:
        data = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200)))
    elif roll < 0.2:
        data = zip_with(b"not an array", "x.npy")
    return data


def zip_with(content: bytes, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


SETTINGS = {
    "data.label": ["label", "y", "nope", 0, 7, -1, ["f1", "f2"], None, "", [], {"a": 1}],
    "data.task": ["binary", "multiclass", "multilabel", "regression", "nope", 3, None],
    "data.validation_split": [0.0, 0.5, 0.99, 1.0, -0.1, "x", None, 2],
    "data.test_split": [0.0, 0.3, 1.0, 5, "x"],
    "data.missing": ["error", "mean", "median", "most_frequent", "zero", "nope", 1],
    "data.holdout": ["random", "last", "first", None],
    "data.label_delimiter": ["|", ",", "", None, 5],
    "data.pixels": ["scale", "standardize", "nope"],
    "data.options": [{}, {"noise": -1}, {"size": [0, 0]}, "x", [1]],
    "data.text": [{"words": 0}, {"mode": "tfidf"}, {"mode": "nope"}, {"column": "zz"}, 3],
    "model.hidden": [[], [2], [0], [-1], ["x"], [2, 2], "2", None, [1.5], [True]],
    "model.activation": ["relu", "tanh", "nope", ["relu", "tanh", "elu"], 3, None],
    "model.dropout": [0.0, 0.5, 1.0, -0.5, 2, "x"],
    "model.batch_norm": [True, False, "yes", 2],
    "model.loss": ["mse", "mae", "huber", "cross_entropy", "binary_cross_entropy", "nope"],
    "model.l2": [0.0, 0.01, -1, float("inf"), "x"],
    "model.max_norm": [None, 1.0, 0, -1],
    "model.kernel_initializer": ["zeros", "he_normal", "nope", 1],
    "model.label_smoothing": [0.0, 0.1, 1.0, -1],
    "train.optimizer": ["sgd", "adam", "adamw", "rmsprop", "adagrad", "nope", 1],
    "train.lr": [0.01, 0.0, -1, float("inf"), float("nan"), "x", 1e30, None],
    "train.momentum": [0.0, 0.9, -1, 2],
    "train.batch_size": [1, 2, 0, -3, 1000, "x", 2.5],
    "train.epochs": [1, 2, 0, -1, "x", None],
    "train.steps": [None, 1, 3, 0, -2],
    "train.schedule": ["constant", "step", "cosine", "one_cycle", "plateau", "nope"],
    "train.clip_norm": [None, 1.0, 0, -1],
    "train.eval_every": [None, 1, 0, -1],
    "train.periods": [None, 1, 2, 0],
    "train.class_weight": [None, "balanced", {"0": 1, "1": 5}, {"0": -1}, "x", [1, 2]],
    "train.seed": [0, 1, -1, 2**70, "x"],
    "train.early_stopping": [{"patience": 1}, {"monitor": "nope", "patience": 1}, {"patience": -1}],
    "train.checkpoint": [{"every_steps": 1}, {"every_epochs": 0}, {"every_steps": -1}],
    "train.weight_snapshots": [[1], [0], [-1], "x"],
    "out": ["elsewhere"],
}


def yaml_text(rng: random.Random, data: str) -> bytes:
    """A configuration file: mostly well-formed YAML with bad values, some broken YAML."""
    roll = rng.random()
    if roll < 0.08:
        return rng.choice([b"[1, 2", b"a: b: c", b"\t- x", b"- 1\n- 2", b"42", b"", b"~",
                           b"a: &x [*x]", b"data: {source: \xff}", b"!!python/object:os.system {}"])
    if roll < 0.12:  # aliases that expand
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
        return "\n".join(lines).encode()
    values: dict = {"data": {"source": data}, "model": {"hidden": [2]}, "train": {"epochs": 1}}
    for key in rng.sample(sorted(SETTINGS), rng.randint(0, 4)):
        section, _, name = key.partition(".")
        if key == "out":
            continue  # the run directory is the test's to choose
        if rng.random() < 0.1:
            name = name + "x"  # an unknown key
        values[section][name] = rng.choice(SETTINGS[key])
    if rng.random() < 0.05:
        values[rng.choice(["data", "model", "train"])] = rng.choice([None, [1], "x", 3])
    return yaml.safe_dump(values).encode()


def flags(rng: random.Random) -> list[str]:
    found = []
    for key in rng.sample(sorted(SETTINGS), rng.randint(0, 2)):
        if key != "out":
            found += ["--set", f"{key}={rng.choice(SETTINGS[key])}"]
    if rng.random() < 0.2:
        found += [rng.choice(["--lr", "--hidden", "--label", "--batch-size", "--class-weight",
                              "--seed", "--task", "--activation"]), rng.choice(WORDS + ["1,2", "2,x"])]
    return found


def case(n: int, folder: Path, base: Path) -> list[str]:
    """The arguments of case n; its input file is written into `folder`."""
    rng = random.Random(n)
    kind = ("csv", "npz", "yaml", "flags")[n % 4]
    common = ["--out", folder / "run", "--hidden", "2", "--epochs", "1", "--batch-size", "4",
              "--set", "train.tensorboard=false", "-q"]
    if kind == "csv":
        path = folder / rng.choice(["in.csv", "in.csv", "in.tsv", "in.txt"])
        path.write_bytes(csv_bytes(rng))
        label = rng.choice([[], ["--label", "label"], ["--label", "0"], ["--label", "f1,f2"]])
        return ["train", "--data", path, *label, *common, *flags(rng)]
    if kind == "npz":
        path = folder / "in.npz"
        path.write_bytes(npz_bytes(rng))
        return ["train", "--data", path, *common, *flags(rng)]
    if kind == "yaml":
        path = folder / "config.yaml"
        path.write_bytes(yaml_text(rng, str(base)))
        command = rng.choice(["train", "train", "train", "config", "summary"])
        extra = common if command == "train" else []
        return [command, path, *extra, *flags(rng)]
    return ["train", "--data", base, "--label", "label", *common, *flags(rng), *flags(rng)]


def snapshot(root: Path, skip: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def base_table(root: Path) -> Path:
    """A small valid table the flag and YAML cases train on."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    path = root / "base.csv"
    rows = ["f1,f2,f3,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{int(a + b > 0)}" for a, b, c in x]
    path.write_text("\n".join(rows) + "\n")
    return path


def run_cases(cases: range, root: Path, monkeypatch, capsys) -> dict[int, int]:
    """Run the cases; how many ended with each exit code. main() runs in this process, so an
    exception escaping it (a traceback, for a user) fails the test with the case named."""
    monkeypatch.chdir(root)  # a file written to the working directory would show in the snapshot
    base = base_table(root)
    codes: dict[int, int] = {}
    for n in cases:
        folder = root / f"case-{n}"
        folder.mkdir()
        args = [str(a) for a in case(n, folder, base)]
        before = snapshot(root, folder / "run")
        try:
            code = main(args)
        except SystemExit as exit:  # argparse refusing a flag's value
            code = exit.code
        out, err = capsys.readouterr()
        where = f"case {n}: densekit {' '.join(args)}\n{err[-2000:]}"
        assert code in (0, 2), where
        if code == 2:  # a refusal says what is wrong, as densekit or argparse words it
            assert "error:" in err.splitlines()[-1] or "densekit: error:" in err, where
        assert snapshot(root, folder / "run") == before, f"a file outside the run changed; {where}"
        shutil.rmtree(folder)
        codes[code] = codes.get(code, 0) + 1
    return codes


class SampledReports:
    """Draws the report of one trained case in `every` (drawing all ~100 would triple the time),
    with no safety net: write_report turns a report's failure into a warning, which no test
    would see, so a failure is recorded here with its run and the test fails on it."""

    def __init__(self, every: int):
        self.every, self.calls, self.drawn, self.failures = every, 0, 0, []

    def __call__(self, run_dir, log, quiet=False):
        self.calls += 1
        if self.calls % self.every:
            return
        from densekit.report import build_report
        try:
            html = build_report(run_dir).read_text()
            assert "could not be read" not in html, "the report found its own run damaged"
            self.drawn += 1
        except Exception as err:  # any failure, for the test to show
            self.failures.append(f"{run_dir}: {type(err).__name__}: {err}")


@pytest.fixture
def reports(monkeypatch):
    sampled = SampledReports(every=6)
    monkeypatch.setattr(densekit.api, "write_report", sampled)
    return sampled


def test_malformed_inputs_exit_0_or_2_without_traceback(tmp_path, monkeypatch, capsys, reports):
    codes = run_cases(range(FAST_CASES), tmp_path, monkeypatch, capsys)
    # Both outcomes well represented: the inputs reach training, and are refused.
    assert codes.get(0, 0) >= FAST_CASES // 20 and codes.get(2, 0) >= FAST_CASES // 2
    assert reports.failures == [] and reports.drawn >= 5, (reports.drawn, reports.failures)


@pytest.mark.slow
def test_malformed_inputs_at_length(tmp_path, monkeypatch, capsys, reports):
    run_cases(range(FAST_CASES, FAST_CASES + SLOW_CASES), tmp_path, monkeypatch, capsys)
    assert reports.failures == [], reports.failures
