"""A hand-written forward and backward pass for plain dense stacks.

Autograd records a graph for every step; for a small network on small batches that
bookkeeping costs more than the arithmetic. For the common case — Dense layers with a
pointwise activation and dropout, ending in softmax cross-entropy or a sigmoid — this module
computes the gradients directly into preallocated `.grad` buffers, and the usual optimizer,
schedule, clipping, max-norm and checkpoint code then runs unchanged.

Dropout masks are drawn exactly as the network's Dropout draws them (dropout.py on the
CPU, the fused native_dropout kernel on a GPU; the same generator, in the same order), so the
fast path follows the general one step for step; the results agree to float rounding (tests
check 1e-5). Anything else (batch norm, penalties, class weights, label smoothing, other
losses) takes the general autograd path.
"""

from __future__ import annotations

import torch
from torch import nn

from densekit.nn.activations import ACTIVATIONS
from densekit.nn.dropout import cpu_mask
from densekit.nn.model import DenseNet

MEAN, IGNORE_NONE = 1, -100  # ATen's reduction code for "mean"; the usual ignore_index


def supports(model: DenseNet) -> bool:
    """A plain stack: no batch norm, no penalties, activations the backward pass knows.
    (The loss is the task's to vouch for: Task.fast_output.)"""
    c = model.cfg
    return (c.members == 1 and model.embed is None and not c.batch_norm
            and not model.has_weight_penalty() and not (c.activity_l1 or c.activity_l2)
            and all(ACTIVATIONS[a].fast for a in c.activations()))


class FastDenseStep:
    """forward_backward(x, y) -> (loss, logits), leaving the gradients in each parameter's .grad.
    `output` is "softmax" (cross-entropy on class indices) or "sigmoid" (binary cross-entropy)."""

    def __init__(self, model: DenseNet, output: str):
        self.model = model
        self.layers = [m for m in model.body if isinstance(m, nn.Linear)] + [model.head]
        self.activations = [ACTIVATIONS[name] for name in model.cfg.activations()]  # once, not per step
        self.drop = model.cfg.dropout
        self.multiclass = output == "softmax"
        self.one = torch.ones((), device=next(model.parameters()).device)  # d loss / d loss
        for p in model.parameters():
            p.grad = torch.zeros_like(p)  # written in place every step: no allocation, no zeroing

    @torch.no_grad()
    def forward_backward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, activated, masks = [], [], []
        h = x                                                   # (batch, features)
        for layer, activation in zip(self.layers, self.activations):
            inputs.append(h)
            a = activation.forward(linear(h, layer))            # (batch, units), in place
            activated.append(a)
            if self.drop > 0.0:
                a, mask = dropout(a, self.drop)
                masks.append(mask)
            h = a
        inputs.append(h)
        out = linear(h, self.layers[-1])                         # (batch, outputs) logits
        loss, grad = self.loss_and_grad(out, y)
        self.backward(grad, inputs, activated, masks)
        return loss, out

    def loss_and_grad(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.multiclass:
            # The four kernels autograd runs for cross_entropy, called directly: same numbers,
            # a quarter of the small ops a hand-written softmax gradient takes.
            log_p = torch.log_softmax(out, dim=1)
            loss, total = torch.ops.aten.nll_loss_forward(log_p, y, None, MEAN, IGNORE_NONE)
            d_log_p = torch.ops.aten.nll_loss_backward(self.one, log_p, y, None, MEAN, IGNORE_NONE, total)
            return loss, torch.ops.aten._log_softmax_backward_data(d_log_p, log_p, 1, log_p.dtype)
        target = y.reshape(out.shape).to(out.dtype)
        loss = nn.functional.binary_cross_entropy_with_logits(out, target)
        return loss, torch.sigmoid(out).sub_(target).div_(out.numel())  # d loss / d logits

    def backward(self, grad: torch.Tensor, inputs: list, activated: list, masks: list) -> None:
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            torch.mm(grad.t(), inputs[i], out=layer.weight.grad)  # (units, inputs)
            if layer.bias is not None:
                torch.sum(grad, dim=0, out=layer.bias.grad)
            if i == 0:
                break
            grad = torch.mm(grad, layer.weight)                  # (batch, inputs of layer i)
            if masks:
                grad = dropout_grad(grad, masks[i - 1], self.drop)
            grad = self.activations[i - 1].backward(grad, activated[i - 1])  # from its output


def linear(h: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
    if layer.bias is None:
        return torch.mm(h, layer.weight.t())
    return torch.addmm(layer.bias, h, layer.weight.t())


def dropout(a: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's own Dropout draw (same kernel, generator and order, hence the same
    mask): the output and the mask its backward needs."""
    if a.is_cuda:
        return torch.native_dropout(a, p, True)  # nn.Dropout's fused kernel; a boolean mask
    mask = cpu_mask(a, p)                        # dropout.py's draw, scaled
    return a * mask, mask


def dropout_grad(grad: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    if mask.dtype == torch.bool:
        return torch.ops.aten.native_dropout_backward(grad, mask, 1.0 / (1.0 - p))
    return grad.mul_(mask)
