"""Optimisers, schedules, evaluation periods, early stopping, class weights and numerical health."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import densekit
from densekit.errors import DensekitError


def train(tmp_path, name="run", **kw):
    kw.setdefault("data__source", "digits")
    return densekit.train(out=tmp_path / name, quiet=True, **kw)


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_every_optimizer_learns_digits(tmp_path, optimizer):
    lr = {"sgd": 0.05, "adagrad": 0.05}.get(optimizer, 0.001)
    result = train(tmp_path, train__optimizer=optimizer, train__lr=lr, train__momentum=0.9 if optimizer == "sgd" else 0.0,
                   train__nesterov=optimizer == "sgd", train__epochs=8)
    assert result.metrics["test"]["accuracy"] >= 0.9


def test_step_schedule_decays_per_epoch(tmp_path):
    result = train(tmp_path, train__schedule="step", train__step_size=2, train__gamma=0.5, train__epochs=5)
    assert [round(r["lr"], 6) for r in result.history] == [0.001, 0.001, 0.0005, 0.0005, 0.00025]


def test_cosine_and_one_cycle_schedules_end_near_zero(tmp_path):
    for schedule in ("cosine", "one_cycle"):
        result = train(tmp_path, name=schedule, train__schedule=schedule, train__epochs=4, train__lr=0.01)
        lrs = [r["lr"] for r in result.history]
        assert lrs[-1] < 1e-4
        assert result.metrics["test"]["accuracy"] >= 0.9


def test_plateau_schedule_lowers_the_rate_when_validation_stalls(tmp_path):
    result = train(tmp_path, train__schedule="plateau", train__plateau_patience=1, train__gamma=0.5,
                   train__lr=0.01, train__epochs=25)
    lrs = [r["lr"] for r in result.history]
    assert lrs[0] == 0.01 and min(lrs) < 0.01
    first_cut = next(i for i, lr in enumerate(lrs) if lr < 0.01)
    losses = [r["val_loss"] for r in result.history]
    # The cut follows two evaluations that did not beat the best validation loss before them.
    assert min(losses[first_cut - 2:first_cut]) >= min(losses[:first_cut - 2])


def test_periods_and_steps_like_the_crash_course(tmp_path):
    result = train(tmp_path, model__hidden=[], train__optimizer="adagrad", train__lr=0.02,
                   train__clip_norm=5.0, train__batch_size=10, train__steps=100, train__periods=10)
    assert [r["step"] for r in result.history] == list(range(10, 101, 10))
    assert result.history[-1]["epoch"] == pytest.approx(100 / math.ceil(1149 / 10), abs=1e-3)


def test_early_stopping_restores_the_best_weights(tmp_path):
    result = train(tmp_path, train__lr=0.05, train__epochs=40,
                   train__early_stopping={"patience": 3, "monitor": "val_loss"})
    history = result.history
    assert len(history) < 40
    best = min(history, key=lambda r: r["val_loss"])
    assert history[-1]["val_loss"] > best["val_loss"]
    assert result.metrics["validation"]["loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_class_weights_scale_each_rows_loss():
    from densekit.tasks import Binary
    logits = torch.tensor([[0.3], [-1.2], [2.0]])
    y = torch.tensor([1.0, 0.0, 1.0])
    weights = torch.tensor([1.0, 4.0])
    loss = Binary("binary_cross_entropy", 1, [0, 1], ["0", "1"]).make_loss(class_weight=weights)(logits, y)
    per_row = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y, reduction="none")
    assert loss.item() == pytest.approx((per_row * torch.tensor([4.0, 1.0, 4.0])).mean().item())


def test_balanced_class_weights_predict_a_rare_class_more_often(tmp_path):
    from sklearn.datasets import load_digits
    digits = load_digits()
    keep = (digits.target != 1) | (np.arange(len(digits.target)) % 5 == 0)  # ones are rare
    path = tmp_path / "rare.npz"
    np.savez(path, x=digits.data[keep].astype(np.uint8), y=(digits.target[keep] == 1).astype(int))
    plain = train(tmp_path, "plain", data__source=str(path), train__epochs=2)
    weighted = train(tmp_path, "weighted", data__source=str(path), train__epochs=2,
                     train__class_weight="balanced")
    predicted_ones = lambda r: np.array(r.metrics["test"]["confusion_matrix"])[:, 1].sum()
    assert predicted_ones(weighted) > predicted_ones(plain)


def test_explicit_class_weights_must_name_known_classes(tmp_path):
    with pytest.raises(DensekitError, match="unknown class"):
        train(tmp_path, train__class_weight={"11": 2.0})


def test_batch_norm_and_label_smoothing_train(tmp_path):
    result = train(tmp_path, model__batch_norm=True, model__label_smoothing=0.1, train__epochs=5)
    assert result.metrics["test"]["accuracy"] >= 0.9
    assert "body.1.running_mean" in result.model.state_dict()


def test_a_diverging_run_stops_with_advice(tmp_path):
    with pytest.raises(DensekitError, match="lower learning rate") as info:
        train(tmp_path, data__source="breast-cancer", data__task="regression", model__loss="mse",
              train__optimizer="sgd", train__lr=1e6, train__epochs=3)
    assert "step" in str(info.value)


def test_summary_command_prints_kerass_table(cli):
    code, out, _ = cli("summary", "--data", "digits", "--hidden", "128,64", "--dropout", "0")
    assert code == 0
    assert "dense_2 (Dense)" in out and "Total params: 17,226" in out  # 64*128+128 + 128*64+64 + 64*10+10


@pytest.mark.slow
def test_ctrl_c_exits_cleanly_with_code_130(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "densekit.cli", "train", "--data", "digits",
                             "--epochs", "100000", "--out", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / "run" / "history.jsonl").exists() and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert (tmp_path / "run" / "config.yaml").exists()


def test_ctrl_c_while_the_run_starts_stops_cleanly_and_resumes(tmp_path, monkeypatch):
    """A Ctrl-C between creating the run directory and the first step (imports, TensorBoard,
    the optimizer) is honoured at the first safe point, not in the middle of an import."""
    from densekit.session import train as session
    from densekit.training.interrupt import TrainingInterrupted
    real_build = session.build_trainer

    def build_then_ctrl_c(*args, **kwargs):
        trainer = real_build(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return trainer

    monkeypatch.setattr(session, "build_trainer", build_then_ctrl_c)
    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted, match="after step 0"):
        densekit.train(data__source="digits", train__epochs=2, out=run, quiet=True,
                       handle_signals=True)
    monkeypatch.setattr(session, "build_trainer", real_build)
    assert densekit.resume(run, quiet=True).history[-1]["epoch"] == 2


def test_threads_are_set_for_the_run_recorded_and_given_back(tmp_path):
    before = torch.get_num_threads()
    other = 2 if before != 2 else 1
    densekit.train(data__source="iris", train__epochs=1, train__threads=other,
                   out=tmp_path / "run", quiet=True, report=False)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["threads"] == other
    assert torch.get_num_threads() == before  # the host program's setting is left as it was
    densekit.train(data__source="iris", train__epochs=1, out=tmp_path / "default", quiet=True,
                   report=False)
    assert json.loads((tmp_path / "default" / "run.json").read_text())["threads"] == 1


def test_a_misspelt_early_stopping_monitor_is_refused_before_training(tmp_path, cli):
    code, _, err = cli("train", "--data", "iris", "--patience", "3", "--set",
                       "train.early_stopping.monitor=val_acuracy", "--out", tmp_path / "run")
    assert code == 2 and "val_acuracy" in err and "val_accuracy" in err
    assert not (tmp_path / "run").exists()
