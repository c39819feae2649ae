"""The README shows what the code does: every configuration key with its default, commands that
work, Python that runs as written."""

import ast
import builtins
import re
import shlex
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from densekit.cli import SWITCHES, TRAIN_FLAGS, build_parser
from densekit.config import Config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


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
