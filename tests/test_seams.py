"""The seams: task types, the typed run directory, library use without side effects, and files
written before the restructuring still read the same."""

import ast
import json
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_breast_cancer, load_digits

import densekit
from densekit.api import train_in_memory
from densekit.data import dataset_from_memory
from densekit.errors import DensekitError
from densekit.tasks import KINDS, Binary, Multiclass, Multilabel, Regression, build_task

FIXTURE = Path(__file__).parent / "fixtures" / "digits-v1"   # written by densekit before the seams
SOURCE = Path(densekit.__file__).parent
TASK_NAMES = set(KINDS)  # every kind, many_classes and many_labels included


# The fixture was written on another machine: matrix kernels may round the last bit of a
# float32 differently from one CPU to the next (3e-8 seen), so the old files are checked to
# float32 rounding here; bit-for-bit resume on one machine is test_resume.py's.
ACROSS_MACHINES = 1e-6


def test_a_model_written_before_the_restructuring_predicts_the_same():
    x = load_digits().data[:50].astype(np.uint8)
    expected = np.load(FIXTURE / "expected-scores.npy")
    got = densekit.load(FIXTURE).scores(x).astype(np.float32)
    np.testing.assert_allclose(got, expected, rtol=0, atol=ACROSS_MACHINES)


def test_a_checkpoint_written_before_the_restructuring_resumes_bit_for_bit(tmp_path, monkeypatch):
    # The fixture says device: auto and was written on a CPU; on a machine with a GPU, auto
    # would resume it on CUDA and compare CUDA weights with CPU ones. Its device is pinned to
    # the CPU here (the old checkpoint itself stays as written: changing its settings would be
    # a change since the checkpoint, which resume refuses).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    finished = load_file(FIXTURE / "model.safetensors")   # the old code's uninterrupted run
    result = densekit.resume(run, quiet=True)              # from its checkpoint at epoch 1 of 2
    assert result.history[-1]["epoch"] == 2
    for name, tensor in result.model.state_dict().items():
        torch.testing.assert_close(tensor, finished[name], rtol=0, atol=ACROSS_MACHINES, msg=name)


def test_keys_added_since_a_run_was_written_resume_as_they_were_then():
    """A run written before model.embedding existed had none: it resumes without, even where
    the default (auto) would now choose embeddings for its data."""
    from densekit.config import as_written_then
    old = {"model": {"hidden": [64]}, "train": {"epochs": 2}}
    assert as_written_then(old)["model"] == {"members": 1, "embedding": "none", "hidden": [64]}
    assert as_written_then({"model": {"embedding": "periodic"}})["model"]["embedding"] == "periodic"
    saved = (FIXTURE / "config.yaml").read_text()
    assert "embedding" not in saved and "members" not in saved   # the fixture is such a run


def edited_card(tmp_path, **changes) -> Path:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    card = json.loads((run / "model.json").read_text())
    card.update(changes)
    (run / "model.json").write_text(json.dumps(card))
    return run


def test_a_model_card_of_a_newer_format_is_refused(tmp_path):
    run = edited_card(tmp_path, format_version=99)
    with pytest.raises(DensekitError, match="version 99, newer than this densekit reads"):
        densekit.load(run)


def test_an_edited_model_card_is_detected(tmp_path):
    densekit.train(data__source="iris", model__hidden=[8], train__epochs=1,
                   out=tmp_path / "fresh", quiet=True, report=False)
    card = json.loads((tmp_path / "fresh" / "model.json").read_text())
    card["preprocessing"]["mean"][0] += 1.0   # predictions would silently change
    (tmp_path / "fresh" / "model.json").write_text(json.dumps(card))
    with pytest.raises(DensekitError, match="modified after training"):
        densekit.load(tmp_path / "fresh")


def test_evaluate_scores_the_loss_training_reported_with_class_weights(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "test.csv", index=False)
    result = densekit.train(data__source=str(tmp_path / "train.csv"), data__label="target",
                            data__test=str(tmp_path / "test.csv"), train__class_weight="balanced",
                            train__epochs=2, out=tmp_path / "run", quiet=True, report=False)
    card = json.loads((tmp_path / "run" / "model.json").read_text())
    assert card["class_weight"] is not None
    test_loss = result.metrics["test"]["loss"]
    assert densekit.evaluate(result.run_dir, str(tmp_path / "test.csv"))["loss"] == pytest.approx(test_loss, rel=1e-6)


def test_library_training_leaves_the_programs_signal_handlers_alone(tmp_path, monkeypatch):
    def mine(signum, frame):
        raise AssertionError("not called")

    monkeypatch.chdir(tmp_path)
    previous = {sig: signal.signal(sig, mine) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        seen = []
        x, y = load_digits(return_X_y=True)
        original = densekit.session.train.InterruptFlag.__enter__

        def spy(flag):
            seen.append({sig: signal.getsignal(sig) for sig in previous})
            return original(flag)

        monkeypatch.setattr(densekit.session.train.InterruptFlag, "__enter__", spy)
        train_in_memory(None, dataset_from_memory(x, y), train__epochs=1, model__hidden=[8])
        densekit.train(data__source="digits", train__epochs=1, model__hidden=[8], quiet=True)
        for handlers in seen + [{sig: signal.getsignal(sig) for sig in previous}]:
            assert all(handler is mine for handler in handlers.values())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_training_in_memory_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = load_digits(return_X_y=True)
    result = train_in_memory(None, dataset_from_memory(x, y), train__epochs=2)
    assert result.run_dir is None and list(tmp_path.iterdir()) == []
    assert result.metrics["test"]["accuracy"] > 0.8
    assert result.card.n_inputs == 64 and len(result.history) == 2


def test_in_memory_and_from_a_file_give_the_same_weights(tmp_path):
    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    settings = dict(model__hidden=[16], train__epochs=2)
    from_file = densekit.train(data__source=str(tmp_path / "cancer.csv"), data__label="target",
                               out=tmp_path / "run", quiet=True, report=False, **settings)
    x, y = frame.drop(columns="target"), frame["target"]
    in_memory = train_in_memory(None, dataset_from_memory(x, y), **settings)
    for name, tensor in from_file.model.state_dict().items():
        assert torch.equal(tensor, in_memory.model.state_dict()[name]), name


@pytest.mark.parametrize("labels,kind", [
    (np.array([0, 1, 1, 0]), Binary), (np.array([0, 1, 2, 1]), Multiclass),
    (np.array([[1, 0], [0, 1], [1, 1]]), Multilabel), (np.array([0.5, 1.5, 2.5]), Regression)])
def test_each_kind_of_problem_is_a_task_type_that_saves_and_reads_back(labels, kind):
    task, _ = build_task(labels, None, None, None, None, False)
    assert type(task) is kind and KINDS[task.name] is kind
    assert densekit.tasks.task_from_json(json.loads(json.dumps(task.to_json()))) == task
    # A network sure of the right answer: decoding gives back the labels, the metric is perfect.
    scores = task.probabilities(sure_logits(task, task.encode(labels, "t"))).numpy()
    np.testing.assert_allclose(np.asarray(task.decode(scores), dtype=float).reshape(labels.shape),
                               labels, rtol=1e-6)
    figures = task.full_metrics(task.to_label_units(task.encode(labels, "t")), scores)
    assert figures[task.main_metric] == pytest.approx(0.0 if task.main_metric == "mae" else 1.0,
                                                      abs=1e-6)


def sure_logits(task, encoded: np.ndarray) -> torch.Tensor:
    """The raw outputs of a network certain of the encoded targets."""
    z = torch.from_numpy(encoded)
    if isinstance(task, Regression):
        return z
    if isinstance(task, Multiclass):
        return 20.0 * torch.nn.functional.one_hot(z, task.n_outputs).float()
    return 20.0 * (2 * z.reshape(len(z), task.n_outputs) - 1)


def task_name_comparisons(path: Path, root: Path = SOURCE) -> list[str]:
    """Deciding by a task's name: `x == "binary"`, `x in ("binary", …)`, `case "binary":` and a
    dispatch table keyed by task names only (`{"binary": …, "regression": …}`; a mapping that
    merely has one such key among others, like the report's sections, is not one)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            named = any(is_task_name(c) for side in [node.left, *node.comparators]
                        for c in ast.walk(side))
        elif isinstance(node, ast.MatchValue):
            named = is_task_name(node.value)
        elif isinstance(node, ast.Dict):
            named = len(node.keys) >= 2 and all(is_task_name(key) for key in node.keys)
        else:
            continue
        if named:
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def is_task_name(node) -> bool:
    return isinstance(node, ast.Constant) and node.value in TASK_NAMES


def test_the_name_check_sees_each_way_of_deciding_by_a_name(tmp_path):
    lines = ['if task == "many_classes": pass', 'ok = name in ("many_labels", "x")',
             'match name:\n    case "regression": pass', 'pick = {"binary": 1, "many_labels": 2}[name]',
             'sections = {"hidden": 1, "regression": 2}']
    for number, line in enumerate(lines):
        (tmp_path / f"m{number}.py").write_text(line + "\n")
    found = [len(task_name_comparisons(tmp_path / f"m{n}.py", tmp_path)) for n in range(5)]
    assert found == [1, 1, 1, 1, 0]


def test_outside_tasks_no_code_decides_by_a_task_name():
    found = [hit for path in SOURCE.rglob("*.py") if "tasks" not in path.relative_to(SOURCE).parts
             for hit in task_name_comparisons(path)]
    assert found == []
