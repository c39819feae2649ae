import math

import pytest
import torch

from densekit.config import ModelConfig
from densekit.nn.model import DenseNet, format_summary, summarise


def count_trainable(net):
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def test_fashion_tutorial_network_has_kerass_parameter_counts():
    cfg = ModelConfig(hidden=[128], dropout=0.2)
    rows = summarise(784, 10, cfg, image_shape=(28, 28))
    assert [(r.name, r.params) for r in rows] == [
        ("flatten", 0), ("dense", 100_480), ("dropout", 0), ("dense_1", 1_290)]
    assert "Total params: 101,770" in format_summary(rows)
    assert count_trainable(DenseNet(784, 10, cfg)) == 101_770


def test_summary_counts_equal_the_real_network_for_varied_shapes():
    for cfg in [ModelConfig(hidden=[]), ModelConfig(hidden=[16, 16], use_bias=False),
                ModelConfig(hidden=[64, 64], batch_norm=True, dropout=0.0)]:
        rows = summarise(13, 3, cfg)
        assert sum(r.trainable for r in rows) == count_trainable(DenseNet(13, 3, cfg))


def test_batch_norm_counts_like_keras_moving_statistics_non_trainable():
    text = format_summary(summarise(10, 2, ModelConfig(hidden=[8], batch_norm=True)))
    assert "batch_normalization (BatchNormalization)" in text
    assert "Non-trainable params: 16" in text  # moving mean and variance of 8 units


def test_no_hidden_layer_is_a_linear_model():
    net = DenseNet(784, 10, ModelConfig(hidden=[]))
    assert [type(m).__name__ for m in net.modules()][1:] == ["Sequential", "Linear"]


@pytest.mark.parametrize("name,expected_std", [
    ("glorot_uniform", math.sqrt(2 / (400 + 200))), ("glorot_normal", math.sqrt(2 / (400 + 200))),
    ("he_normal", math.sqrt(2 / 400)), ("lecun_uniform", math.sqrt(1 / 400)),
])
def test_initialisers_have_kerass_variance(name, expected_std):
    torch.manual_seed(0)
    net = DenseNet(400, 200, ModelConfig(hidden=[], kernel_initializer=name))
    assert net.head.weight.std().item() == pytest.approx(expected_std, rel=0.03)
    assert torch.all(net.head.bias == 0)


def test_weight_penalty_equals_keras_formula():
    net = DenseNet(5, 2, ModelConfig(hidden=[3], l1=0.1, l2=0.01, bias_l2=0.5))
    weights = [net.body[0].weight, net.head.weight]
    biases = [net.body[0].bias, net.head.bias]
    with torch.no_grad():
        for b in biases:
            b.fill_(1.0)
    expected = sum(0.1 * w.abs().sum() + 0.01 * w.square().sum() for w in weights)
    expected = expected + sum(0.5 * b.square().sum() for b in biases)
    assert net.weight_penalty().item() == pytest.approx(expected.item(), rel=1e-6)


def test_activity_penalty_is_added_only_in_training():
    net = DenseNet(5, 2, ModelConfig(hidden=[3], activity_l2=0.1, dropout=0.0))
    x = torch.randn(4, 5)
    net.train()
    net(x)
    hidden = net.body(x)
    assert net.activity_penalty.item() == pytest.approx((0.1 * hidden.square().sum() / 4).item())
    net.eval()
    net(x)
    assert net.activity_penalty is None  # evaluation adds no penalty, and keeps none stale


def test_max_norm_caps_each_units_incoming_weights():
    net = DenseNet(20, 4, ModelConfig(hidden=[8], max_norm=0.5, kernel_initializer="ones"))
    net.apply_max_norm()
    norms = net.body[0].weight.norm(dim=1)
    assert torch.allclose(norms, torch.full_like(norms, 0.5), atol=1e-5)


def test_per_layer_activations_are_used():
    net = DenseNet(3, 1, ModelConfig(hidden=[4, 4], activation=["tanh", "elu"], dropout=0.0))
    kinds = [type(m).__name__ for m in net.body]
    assert kinds == ["Linear", "Tanh", "Linear", "ELU"]


def test_the_configuration_allows_exactly_the_activations_the_network_builds():
    from typing import get_args
    from densekit.config import Activation
    from densekit.nn.activations import ACTIVATIONS
    assert set(get_args(Activation)) == set(ACTIVATIONS)
    assert {name for name, a in ACTIVATIONS.items() if a.fast} == {"relu", "leaky_relu", "tanh", "sigmoid", "linear"}
