"""A newcomer's first hour (issue 19): what a new user ran into, each checked where it can fail."""

import warnings

import pytest

import densekit


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
def test_no_scheduler_order_warning(tmp_path, optimizer):
    # The schedule wraps optimizer.step to record each call; a step bound before that wrapper
    # made PyTorch warn that the schedule stepped first (and claim it skipped a value).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        densekit.train(data__source="digits", train__optimizer=optimizer, train__schedule="step",
                       train__step_size=1, train__epochs=2, out=tmp_path / "run", quiet=True,
                       report=False)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "lr_scheduler.step()" in m], messages
