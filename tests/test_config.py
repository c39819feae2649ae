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
