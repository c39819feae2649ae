"""The hand-written backward pass agrees with autograd, and runs pick the right path."""

import json

import pytest
import torch

import densekit
from densekit.config import ModelConfig
from densekit.nn.fastpath import FastDenseStep
from densekit.nn.fastpath import supports as fastpath_supports
from densekit.nn.model import DenseNet
from densekit.tasks import Binary, Multiclass, Multilabel

TARGETS = {
    "multiclass": Multiclass("cross_entropy", 5, list(range(5)), list("abcde")),
    "binary": Binary("binary_cross_entropy", 1, [0, 1], ["0", "1"]),
    "multilabel": Multilabel("binary_cross_entropy", 3, [0, 1, 2], ["a", "b", "c"]),
}


def labels(task, n, generator):
    if task == "multiclass":
        return torch.randint(0, 5, (n,), generator=generator)
    if task == "binary":
        return torch.randint(0, 2, (n,), generator=generator).float()
    return torch.randint(0, 2, (n, 3), generator=generator).float()


@pytest.mark.parametrize("task", list(TARGETS))
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("dropout,bias", [(0.0, True), (0.3, True), (0.2, False)])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))])
def test_gradients_equal_autograds(task, activation, dropout, bias, device):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(16, 12, generator=g).to(device)
    y = labels(task, 16, g).to(device)
    cfg = ModelConfig(hidden=[10, 7], activation=activation, dropout=dropout, use_bias=bias)
    torch.manual_seed(0)
    reference = DenseNet(12, TARGETS[task].n_outputs, cfg).train().to(device)
    fast_model = DenseNet(12, TARGETS[task].n_outputs, cfg).train().to(device)
    fast_model.load_state_dict(reference.state_dict())

    torch.manual_seed(5)  # the same dropout draws for both
    out = reference(x)
    loss = TARGETS[task].make_loss()(out, y)
    loss.backward()
    torch.manual_seed(5)
    fast_loss, fast_out = FastDenseStep(fast_model, TARGETS[task].fast_output(0.0, None)).forward_backward(x, y)

    assert fast_loss.item() == pytest.approx(loss.item(), rel=1e-6, abs=1e-7)
    assert torch.allclose(fast_out, out.detach(), atol=1e-6)
    for (name, p), q in zip(reference.named_parameters(), fast_model.parameters()):
        assert torch.allclose(q.grad, p.grad, rtol=1e-5, atol=1e-7), name


def test_linear_model_without_hidden_layers():
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(8, 6, generator=g), torch.randint(0, 5, (8,), generator=g)
    reference = DenseNet(6, 5, ModelConfig(hidden=[]))
    fast_model = DenseNet(6, 5, ModelConfig(hidden=[]))
    fast_model.load_state_dict(reference.state_dict())
    TARGETS["multiclass"].make_loss()(reference(x), y).backward()
    FastDenseStep(fast_model, "softmax").forward_backward(x, y)
    assert torch.allclose(fast_model.head.weight.grad, reference.head.weight.grad, atol=1e-7)


def test_unsupported_settings_take_the_autograd_path():
    plain = DenseNet(4, 5, ModelConfig(hidden=[8]))
    multiclass = TARGETS["multiclass"]
    assert fastpath_supports(plain) and multiclass.fast_output(0.0, None) == "softmax"
    assert multiclass.fast_output(0.0, torch.ones(5)) is None                  # class weights
    assert multiclass.fast_output(0.1, None) is None                           # label smoothing
    assert not fastpath_supports(DenseNet(4, 5, ModelConfig(hidden=[8], batch_norm=True)))
    assert not fastpath_supports(DenseNet(4, 5, ModelConfig(hidden=[8], l2=0.01)))
    assert not fastpath_supports(DenseNet(4, 5, ModelConfig(hidden=[8], activation="elu")))
    assert Multiclass("mse", 5, list(range(5)), list("abcde")).fast_output(0.0, None) is None
    assert Multiclass("cross_entropy", 3, [0, 1, 2], list("abc"), soft_labels=True).fast_output(0.0, None) is None
    assert TARGETS["binary"].fast_output(0.0, None) == "sigmoid"


def test_whole_runs_agree_with_the_general_path(tmp_path):
    common = dict(data__source="digits", model__dropout=0.2, train__epochs=3, quiet=True)
    fast = densekit.train(out=tmp_path / "fast", **common)
    general = densekit.train(out=tmp_path / "general", train__fast_path=False, **common)
    for (name, a), b in zip(fast.model.state_dict().items(), general.model.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-4), name
    assert fast.metrics["test"]["accuracy"] == pytest.approx(general.metrics["test"]["accuracy"], abs=0.01)


def test_run_json_says_how_the_steps_ran(tmp_path):
    common = dict(data__source="digits", train__epochs=1, quiet=True)
    densekit.train(out=tmp_path / "plain", **common)
    densekit.train(out=tmp_path / "weighted", train__class_weight="balanced", **common)
    plain = json.loads((tmp_path / "plain" / "run.json").read_text())["step"]
    assert plain == ("cuda graph" if torch.cuda.is_available() else "fast path")
    assert json.loads((tmp_path / "weighted" / "run.json").read_text())["step"] == "autograd"
