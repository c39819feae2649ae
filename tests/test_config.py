import pytest

from densekit.config import Config, load_config
from densekit.errors import DensekitError


def error_of(values):
    with pytest.raises(DensekitError) as info:
        Config.from_dict(values)
    return str(info.value)


def test_defaults_are_valid_and_round_trip_through_yaml(tmp_path):
    cfg = Config()
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path) == cfg


def test_unknown_key_names_the_key_and_suggests_the_nearest():
    message = error_of({"model": {"hiden": [10]}})
    assert "model.hiden" in message and "Did you mean 'hidden'" in message


def test_unknown_section_lists_the_allowed_keys():
    message = error_of({"trian": {}})
    assert "'trian'" in message and "data, model, train, out" in message


def test_wrong_type_names_key_value_and_expectation():
    message = error_of({"train": {"batch_size": "many"}})
    assert "train.batch_size" in message and "'many'" in message and "integer" in message


def test_out_of_range_value_is_refused():
    message = error_of({"model": {"dropout": 1.5}})
    assert "model.dropout" in message and "1.5" in message and "less than 1" in message


def test_unknown_activation_and_optimizer_suggest_the_nearest_name():
    assert "Did you mean 'relu'" in error_of({"model": {"activation": "rleu"}})
    assert "Did you mean 'adagrad'" in error_of({"train": {"optimizer": "adgrad"}})
    assert "Did you mean 'tanh'" in error_of({"model": {"hidden": [4, 4], "activation": ["relu", "tanhh"]}})


def test_per_layer_activations_must_match_the_layers():
    assert "one per hidden layer" in error_of({"model": {"hidden": [4, 4], "activation": ["relu"]}})


def test_flags_override_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.5\n  epochs: 3\n")
    cfg = load_config(path, {"train.lr": "0.01"})
    assert cfg.train.lr == 0.01 and cfg.train.epochs == 3


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(DensekitError, match="must hold a mapping"):
        load_config(path)


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {lr: [\n")
    with pytest.raises(DensekitError, match="not valid YAML"):
        load_config(path)


# ------------------------------------------------------------------ hostile and careless input

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi")) + "train: {lr: *i}\n"


def test_nested_aliases_are_refused_before_they_expand(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(BILLION_LAUGHS)  # 9**9 strings once expanded
    with pytest.raises(DensekitError, match="aliases") as info:
        load_config(path)
    assert len(str(info.value)) < 600


def test_a_few_aliases_are_still_fine(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("model: {hidden: &h [16, 8]}\ntrain: {weight_snapshots: *h}\n")
    assert load_config(path).train.weight_snapshots == [16, 8]


def test_a_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("data: {options: &o {self: *o}}\n")
    with pytest.raises(DensekitError, match="refers to itself"):
        load_config(path)


def test_a_huge_received_value_is_cut_short_in_the_message():
    message = error_of({"train": {"lr": "x" * 100_000, "seed": list(range(100_000))}})
    assert "train.lr" in message and "train.seed" in message and len(message) < 1000


def test_a_file_that_is_not_utf8_gets_a_message(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("train:\n  lr: 0.01  # r\xe9glage\n".encode("latin-1"))
    with pytest.raises(DensekitError, match="not UTF-8") as info:
        load_config(path)
    assert "line 2" in str(info.value) and "save it as UTF-8" in str(info.value)


@pytest.mark.parametrize("lr", ["inf", "-inf", "nan", float("inf")])
def test_the_learning_rate_must_be_finite(lr):
    message = error_of({"train": {"lr": lr}})
    assert "train.lr" in message and "finite" in message


@pytest.mark.parametrize("seed", [2**70, -1, 2**32])
def test_the_seed_must_fit_numpy(seed):
    message = error_of({"train": {"seed": seed}})
    assert "train.seed" in message and str(seed) in message and "0 to 4294967295" in message


def test_the_largest_seed_numpy_accepts_is_allowed():
    assert Config.from_dict({"train": {"seed": 2**32 - 1}}).train.seed == 2**32 - 1


def test_negative_class_weights_are_refused():
    message = error_of({"train": {"class_weight": {"0": 1, "1": -2}}})
    assert "train.class_weight" in message and "-2" in message and "greater than or equal to 0" in message


def test_a_class_weight_that_is_neither_balanced_nor_a_mapping():
    message = error_of({"train": {"class_weight": "abc"}})
    assert "'abc'" in message and "balanced" in message and "{0: 1, 1: 5}" in message


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "adagrad"])
def test_momentum_and_nesterov_are_refused_with_optimizers_that_have_none(optimizer):
    message = error_of({"train": {"optimizer": optimizer, "momentum": 0.9}})
    assert "train.momentum" in message and optimizer in message and "sgd" in message and "rmsprop" in message
    message = error_of({"train": {"optimizer": optimizer, "nesterov": True, "momentum": 0.9}})
    assert "train.nesterov" in message and "sgd" in message


def test_nesterov_needs_sgd_with_momentum():
    assert "train.nesterov" in error_of({"train": {"optimizer": "rmsprop", "nesterov": True, "momentum": 0.5}})
    assert "momentum" in error_of({"train": {"optimizer": "sgd", "nesterov": True}})
    cfg = Config.from_dict({"train": {"optimizer": "sgd", "momentum": 0.9, "nesterov": True}})
    assert cfg.train.nesterov


def test_a_saved_configuration_with_default_momentum_still_loads(tmp_path):
    """config.yaml of a run lists every key: momentum 0 with adam is the default, not a choice."""
    path = tmp_path / "c.yaml"
    path.write_text(Config().to_yaml())
    assert load_config(path).train.optimizer == "adam"


def test_many_bad_keys_still_make_one_short_paragraph():
    message = error_of({"train": {f"{'k' * 5000}{i}": i for i in range(1000)}})
    assert "unknown key 'train.kkk" in message and "992 more problems not shown" in message
    assert len(message) < 5000
