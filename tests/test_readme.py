"""The README shows what the code does: every configuration key with its default, commands that
work, Python that runs as written (the ONNX blocks run in tests/test_export.py)."""

import ast
import builtins
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import BaseModel

from densekit.cli.flags import SWITCHES, TRAIN_FLAGS
from densekit.cli.parser import build_parser
from densekit.config import Config
from tests.helpers.deploy import reviews

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def block_with(marker: str) -> str:
    found = [b for b in blocks("python") if marker in b]
    assert len(found) == 1, marker
    return found[0]


def run_block(code: str) -> tuple[dict, list]:
    """Run a README block statement by statement, as a notebook would: its names, and the value of
    each bare expression (`model.score(x_test, y_test)`) in order, for the claims beside them."""
    scope: dict = {}
    values = []
    for node in ast.parse(code).body:
        if isinstance(node, ast.Expr):
            values.append(eval(compile(ast.Expression(node.value), "README.md", "eval"), scope))  # noqa: S307
        else:
            exec(compile(ast.Module([node], []), "README.md", "exec"), scope)  # noqa: S102
    return scope, values


def claimed(code: str, pattern: str) -> str:
    """A figure the README's comment states, e.g. the step of the last history record."""
    return re.search(pattern, code).group(1)


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of the configuration models, dotted: data.text.words, train.early_stopping.patience."""
    keys = []
    for name, info in model.model_fields.items():
        nested = info.annotation if isinstance(info.annotation, type) else None
        if nested is not None and issubclass(nested, BaseModel):
            keys += config_keys(nested, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def listed(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(listed(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_the_yaml_listing_has_every_key_with_its_default():
    listing = listed(yaml.safe_load(blocks("yaml")[0]))
    keys = config_keys(Config)
    assert "train.weight_decay" in keys and "data.text.mode" in keys  # the walk reaches nested models
    assert sorted(set(keys) - set(listing)) == []   # keys the README leaves out
    assert sorted(set(listing) - set(keys)) == []   # keys the code no longer has
    defaults = listed(Config().to_dict())
    wrong = {k: (listing[k], defaults[k]) for k in keys if listing[k] != defaults[k]}
    assert wrong == {}  # README value, code default


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_each_python_example_uses_no_undefined_name(index):
    tree = ast.parse(blocks("python")[index])  # each block runs on its own
    defined = set(dir(builtins))
    for node in tree.body:  # in order: a name must be bound before the statement that reads it
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert used <= defined, (ast.unparse(node), used - defined)
        defined |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        defined |= {(a.asname or a.name).split(".")[0] for n in ast.walk(node)
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}


def test_the_moons_command_uses_the_l2_the_example_settled_on():
    command = next(line for block in blocks("bash") for line in block.splitlines() if "--data moons" in line)
    words = shlex.split(command, comments=True)
    example = yaml.safe_load((ROOT / "examples" / "moons-noise-0.1-l2.yaml").read_text())
    assert float(words[words.index("--l2") + 1]) == example["model"]["l2"]


def test_every_train_flag_is_a_key_or_named_as_one_that_is_not():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    keyed = set(TRAIN_FLAGS) | set(SWITCHES)
    for action in train._actions:
        long = [o for o in action.option_strings if o.startswith("--")]
        if not long or long[0] == "--help":
            continue
        if long[0] in keyed:
            assert TRAIN_FLAGS.get(long[0], SWITCHES.get(long[0]))[0] in config_keys(Config)
        else:
            assert f"`{long[0]}`" in README, f"{long[0]} is neither a key nor named in the README"


def test_the_estimator_block_runs_and_gives_what_its_comments_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = block_with("densekit.DenseClassifier(")
    scope, (score, probabilities, last, best, saved) = run_block(code)
    assert abs(score - float(claimed(code, r"accuracy, about ([0-9.]+)"))) <= 0.03
    assert probabilities.shape == (3, 10) and np.allclose(probabilities.sum(axis=1), 1)
    assert last["epoch"] == 10 and last["step"] == int(claimed(code, r"'step': (\d+)"))
    assert last["lr"] == 0.001 and {"train_loss", "val_loss"} <= set(last)
    assert best["hidden"] in [(32,), (128,)] and best["lr"] in [1e-3, 1e-2]
    assert (tmp_path / saved / "model.json").exists()


def digits_test_csv(path: Path) -> None:
    """Labelled digits rows with the columns a model trained on the named set reads."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=[f"pixel_{i}" for i in range(64)])
    frame["label"] = digits.target
    frame.iloc[-300:].to_csv(path, index=False)


def boston_stand_in(folder: Path) -> np.ndarray:
    """Boston housing is a download; a table of its shape where densekit looks first."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(506, 13)) * rng.uniform(0.1, 100, 13)
    y = 22 + (x / x.std(axis=0)) @ rng.normal(size=13) + rng.normal(0, 1, 506)
    (folder / "boston-housing").mkdir(parents=True)
    np.savez(folder / "boston-housing" / "boston_housing.npz", x=x, y=y)
    return y


@pytest.mark.slow
def test_the_python_block_runs_and_gives_what_its_comments_say(tmp_path, monkeypatch):
    import densekit
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DENSEKIT_MIRROR", "http://127.0.0.1:9")  # never the internet
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    y = boston_stand_in(tmp_path / "data")
    digits_test_csv(tmp_path / "test.csv")
    reviews().to_csv(tmp_path / "reviews.csv", index=False)
    densekit.train(data__source="reviews.csv", data__label="sentiment", train__epochs=20,
                   out="runs/reviews", quiet=True, report=False)
    scope, (labels, evaluated, resumed, cv, review) = run_block(block_with("densekit.resume("))
    from sklearn.datasets import load_digits
    assert (labels == load_digits().target[:5]).mean() >= 0.8
    assert evaluated["accuracy"] >= 0.8 and len(evaluated["confusion_matrix"]) == 10
    assert resumed.run_dir == scope["result"].run_dir
    best_epoch, mean, test = cv
    assert 1 <= best_epoch <= 300 and mean["mae"] > 0
    assert test["mae"] <= 0.7 * np.abs(y - y.mean()).mean()   # better than guessing the mean
    assert list(review) == ["pos"]


def test_the_in_memory_block_runs_and_writes_only_its_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope, _ = run_block(block_with("dataset_from_memory("))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["iris"]
    assert (tmp_path / "runs" / "iris" / "report.html").exists()
    result = scope["result"]
    assert result.run_dir is None and result.metrics["test"]["accuracy"] >= 0.8
