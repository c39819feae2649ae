"""The GPU path: steps replayed as CUDA graphs give the step-by-step numbers, no step waits
on the host, and a killed run resumes exactly. Skipped where PyTorch sees no CUDA device."""

import json
import signal
import warnings

import pytest
import torch

import densekit
from densekit.rundir.checkpoint import CheckpointFolder
from tests.helpers.runs import assert_same_weights, reference_run, start, wait_for_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# Digits leave a ragged last batch each epoch, which runs step by step between replays.
COMMON = dict(data__source="digits", model__hidden=[64, 32], model__dropout=0.2,
              train__device="cuda", train__batch_size=32, train__epochs=4, quiet=True)


def step_kind(run) -> str:
    return json.loads((run / "run.json").read_text())["step"]


@pytest.mark.parametrize("source,schedule", [("digits", "constant"), ("digits", "cosine"),
                                             ("breast-cancer", "cosine")])
def test_graph_replays_give_the_step_by_step_numbers(tmp_path, source, schedule):
    options = {**COMMON, "data__source": source, "train__schedule": schedule}
    graphed = densekit.train(out=tmp_path / "graphed", **options)
    stepwise = densekit.train(out=tmp_path / "stepwise", train__cuda_graphs=False, **options)
    assert step_kind(tmp_path / "graphed") == "cuda graph"
    assert step_kind(tmp_path / "stepwise") == "fast path"
    for (name, a), b in zip(graphed.model.state_dict().items(), stepwise.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["train_loss"] for r in graphed.history] == [r["train_loss"] for r in stepwise.history]


def synchronisations(tmp_path, steps: int, graphs: bool) -> int:
    """Host synchronisations in a run of `steps` steps with one evaluation and no checkpoints."""
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            densekit.train(out=tmp_path / f"{steps}-{graphs}", train__steps=steps, train__periods=1,
                           train__cuda_graphs=graphs, train__tensorboard=False,
                           train__checkpoint={"every_epochs": 0}, **COMMON)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return sum("synchronizing" in str(w.message) for w in caught)


@pytest.mark.parametrize("graphs", [True, False])
def test_no_step_waits_for_the_host(tmp_path, graphs):
    assert synchronisations(tmp_path, 400, graphs) == synchronisations(tmp_path, 100, graphs)


def test_sigkilled_gpu_run_resumes_bit_identical(tmp_path):
    case = {"data": {"source": "digits"}, "model": {"hidden": [64, 32], "dropout": 0.3},
            "train": {"epochs": 60, "batch_size": 8, "schedule": "cosine", "device": "cuda",
                      "checkpoint": {"every_epochs": 0, "every_steps": 25}}}
    (tmp_path / "reference").mkdir()
    ref_run, config = reference_run(tmp_path / "reference", case)
    assert step_kind(ref_run) == "cuda graph"
    total_steps = json.loads((ref_run / "run.json").read_text())["steps"]
    run = tmp_path / "run"
    proc = start("train", config, "--out", run, "-q")
    wait_for_checkpoint(run, after_step=2000)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert CheckpointFolder(run).load_newest(warn=print).meta["loop"]["step"] < total_steps
    densekit.resume(run, quiet=True)
    assert_same_weights(ref_run, run)
