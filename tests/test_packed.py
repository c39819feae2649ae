"""Several networks packed into one (model.members): each member is exactly the plain network
it would be alone, the answer is their mean, and everything around a network (summary,
checkpoints and bit-exact resume, ONNX export, the estimators) works with it."""

import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

import densekit
from densekit.config import ModelConfig
from densekit.nn.model import DenseNet, format_summary, summarise
from densekit.nn.packed import PackedLinear, each_member
from densekit.rundir.checkpoint import CheckpointFolder
from tests.helpers.runs import assert_same_weights, reference_run, start, wait_for_checkpoint

PACKED_CASE = {
    "data": {"source": "digits"},
    "model": {"hidden": [32, 16], "dropout": 0.2, "members": 3},
    "train": {"epochs": 6, "batch_size": 16, "schedule": "cosine",
              "checkpoint": {"every_epochs": 0, "every_steps": 20}},
}


def member_alone(packed: DenseNet, i: int, n_inputs: int, n_outputs: int) -> DenseNet:
    """Member i of a packed network as a plain DenseNet with its weights."""
    cfg = packed.cfg.model_copy(update={"members": 1})
    alone = DenseNet(n_inputs, n_outputs, cfg)
    layers = alone.dense_layers()
    for plain, big in zip(layers, packed.dense_layers()):
        plain.weight.data.copy_(big.weight.data[i])
        plain.bias.data.copy_(big.bias.data[i])
    return alone


def test_each_member_is_the_plain_network_and_the_answer_their_mean():
    torch.manual_seed(0)
    cfg = ModelConfig(hidden=[8, 5], activation="tanh", dropout=0.0, members=4)
    packed = DenseNet(6, 3, cfg).double()
    alone = [member_alone(packed, i, 6, 3).double() for i in range(4)]
    x, y = torch.randn(10, 6, dtype=torch.float64), torch.randint(0, 3, (10,))
    packed.eval()
    mean = torch.stack([net(x) for net in alone]).mean(0)
    torch.testing.assert_close(packed(x), mean, rtol=0, atol=1e-12)

    # Training: the loss is the members' mean loss, and each member's gradient is its own.
    packed.train()
    loss = each_member(torch.nn.functional.cross_entropy, packed)(packed(x), y)
    loss.backward()
    losses = [torch.nn.functional.cross_entropy(net(x), y) for net in alone]
    (sum(losses) / 4).backward()
    for i, net in enumerate(alone):
        for plain, big in zip(net.dense_layers(), packed.dense_layers()):
            torch.testing.assert_close(big.weight.grad[i], plain.weight.grad, rtol=0, atol=1e-12)
            torch.testing.assert_close(big.bias.grad[i], plain.bias.grad, rtol=0, atol=1e-12)


def test_members_start_different_and_are_initialised_like_a_dense_layer():
    torch.manual_seed(0)
    layer = DenseNet(50, 2, ModelConfig(hidden=[400], members=3)).dense_layers()[0]
    assert isinstance(layer, PackedLinear)
    assert not torch.equal(layer.weight[0], layer.weight[1])
    limit = (6 / (50 + 400)) ** 0.5            # glorot_uniform, per member
    assert layer.weight.abs().max() <= limit and layer.weight.abs().max() > 0.95 * limit
    assert torch.count_nonzero(layer.bias) == 0


def test_summary_counts_every_members_weights():
    cfg = ModelConfig(hidden=[32, 16], members=5)
    rows = summarise(64, 10, cfg)
    assert sum(r.params for r in rows) == sum(p.numel() for p in DenseNet(64, 10, cfg).parameters())
    assert "Total params: 13,890" in format_summary(rows)   # 5 × (64·32+32 + 32·16+16 + 16·10+10)


def test_members_learn_digits_and_the_estimator_takes_them(tmp_path):
    run = densekit.train(data__source="digits", model__members=4, train__epochs=15, quiet=True,
                         report=False, out=str(tmp_path / "run"))
    assert run.metrics["test"]["accuracy"] > 0.93
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    model = densekit.DenseClassifier(epochs=10, random_state=0, settings={"model.members": 3}).fit(x, y)
    assert model.config_["model"]["members"] == 3 and model.score(x, y) > 0.93
    proba = model.predict_proba(x[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-9)


@pytest.mark.parametrize("setting, words", [
    ("model.batch_norm=true", "batch_norm"),
    ("model.output=sampled_softmax", "sampled_softmax"),
    ("model.members=0", "members"),
])
def test_members_that_cannot_be_are_refused_before_training(setting, words, cli, tmp_path):
    code, _, err = cli("train", "--data", "iris", "--set", "model.members=3", "--set", setting,
                       "--out", tmp_path / "run", "-q")
    assert code == 2 and words in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_onnx_export_of_members_agrees_with_predict(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from densekit.exporting import export
    from densekit.session.predict import Predictor
    run = densekit.train(data__source="breast-cancer", model__members=4, train__epochs=5,
                         quiet=True, report=False, out=str(tmp_path / "run")).run_dir
    result = export(run)
    from sklearn.datasets import load_breast_cancer
    x = load_breast_cancer().data.astype(np.float32)
    session = ort.InferenceSession(str(result.model))
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"input": x})))
    want = Predictor.load(run).scores(x)                  # (rows, 1): the positive class
    assert np.abs(got["probabilities"][:, 1:] - want).max() <= 1e-5


@pytest.mark.slow
def test_sigkill_then_resume_of_members_is_bit_identical(tmp_path):
    (tmp_path / "reference").mkdir()
    ref_run, config = reference_run(tmp_path / "reference", PACKED_CASE)
    run = tmp_path / "run"
    proc = start("train", config, "--out", run, "-q")
    wait_for_checkpoint(run, after_step=100)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert CheckpointFolder(run).load_newest(warn=print).meta["loop"]["step"] < 6 * 90
    result = subprocess.run([sys.executable, "-m", "densekit.cli", "resume", run, "-q"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert_same_weights(ref_run, run)
