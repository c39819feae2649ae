"""The CPU dropout draw: the right rate in every position, the right scale, reproducible."""

import pytest
import torch

from densekit.nn.dropout import Dropout, cpu_mask


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_keeps_each_element_with_probability_one_minus_p(p):
    torch.manual_seed(0)
    mask = cpu_mask(torch.empty(1000, 1000), p)
    assert mask.unique().tolist() == [0.0, pytest.approx(1 / (1 - p))]
    kept = (mask > 0).float().reshape(-1, 4)
    # One 64-bit draw serves four elements: each of the four must be unbiased (a draw with
    # its top bit always clear would keep every fourth element too often).
    for lane in range(4):
        assert kept[:, lane].mean().item() == pytest.approx(1 - p, abs=0.004), lane
    assert mask.mean().item() == pytest.approx(1.0, abs=0.01)  # inverted dropout: no shift


def test_same_seed_same_mask_and_fresh_draws_differ():
    torch.manual_seed(3)
    first, second = cpu_mask(torch.empty(7, 9), 0.3), cpu_mask(torch.empty(7, 9), 0.3)
    torch.manual_seed(3)
    assert torch.equal(cpu_mask(torch.empty(7, 9), 0.3), first)
    assert not torch.equal(first, second)


def test_module_drops_in_training_and_passes_through_in_evaluation():
    layer, x = Dropout(0.25), torch.ones(64, 33)   # 33 columns: a size not divisible by four
    out = layer.train()(x)
    assert out.shape == x.shape and out.unique().tolist() == [0.0, pytest.approx(4 / 3)]
    assert torch.equal(layer.eval()(x), x)
