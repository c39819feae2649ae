import numpy as np
import pytest

from densekit.errors import DensekitError
from densekit.tasks import build_task, infer_task


@pytest.mark.parametrize("labels,task", [
    (np.array([0, 1, 1, 0]), "binary"),
    (np.array(["cat", "dog", "cat"]), "binary"),
    (np.array([0, 1, 2, 3, 2]), "multiclass"),
    (np.array([1.0, 2.0, 3.0]), "multiclass"),
    (np.array([0.5, 1.7, 2.2]), "regression"),
    (np.arange(1000), "regression"),
    (np.eye(3)[[0, 1, 2, 1]], "multiclass"),
    (np.array([[1, 0, 1], [0, 0, 1]]), "multilabel"),
    (np.array([[0.3, 2.0], [1.5, -1.0]]), "regression"),
])
def test_task_is_inferred_from_labels(labels, task):
    assert infer_task(labels)[0] == task


def test_text_classes_are_sorted_and_encoded():
    task, _ = build_task(np.array(["b", "a", "c", "a"]), None, None, None, None, False)
    assert task.classes == ["a", "b", "c"]
    assert task.encode(np.array(["c", "a"]), "test").tolist() == [2, 0]


def test_a_label_never_seen_in_training_is_named():
    task, _ = build_task(np.array([0, 1, 2]), None, None, None, None, False)
    with pytest.raises(DensekitError, match="never seen in training: 7"):
        task.encode(np.array([0, 7]), "test")


def test_a_single_class_is_refused():
    with pytest.raises(DensekitError, match="single class"):
        build_task(np.array([3, 3, 3]), None, None, None, None, False)


def test_a_loss_that_does_not_fit_the_task_is_refused():
    with pytest.raises(DensekitError, match="does not fit a regression task"):
        build_task(np.array([0.5, 1.5]), "regression", "cross_entropy", None, None, False)


def test_regression_task_can_be_standardised_and_restored():
    y = np.array([10.5, 20.25, 30.0])
    task, _ = build_task(y, None, None, None, None, True)
    z = task.encode(y, "train")
    assert z.mean() == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(task.to_label_units(z).ravel(), y)
