"""The dense network: hidden blocks (Dense → [BatchNorm] → activation → [Dropout]) and a head."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import nn

from densekit.config import ModelConfig
from densekit.nn.activations import ACTIVATION_TYPES, ACTIVATIONS
from densekit.nn.dropout import Dropout
from densekit.nn.embeddings import PeriodicEmbedding, embedded_width
from densekit.nn.embeddings import parameters_of as embedding_parameters
from densekit.nn.heads import head_parameters, output_layer
from densekit.nn.packed import MeanOfMembers, PackedLinear



class DenseNet(nn.Module):
    """Fully connected network from a list of widths; returns raw scores (logits)."""

    def __init__(self, n_inputs: int, n_outputs: int, cfg: ModelConfig,
                 embedded: Optional[Sequence[bool]] = None):
        super().__init__()
        self.cfg = cfg
        # embedded: the inputs given periodic embeddings (nn/embeddings.py), None for none.
        self.embed = PeriodicEmbedding(embedded) if embedded is not None else None
        self.body = nn.Sequential()
        width, members = n_inputs, cfg.members
        if embedded is not None:
            width = embedded_width(n_inputs, sum(map(bool, embedded)))
        for units, activation in zip(cfg.widths(), cfg.activations()):
            self.body.append(nn.Linear(width, units, bias=cfg.use_bias) if members == 1
                             else PackedLinear(members, width, units, bias=cfg.use_bias))
            if cfg.batch_norm:
                # Keras's defaults: momentum 0.99 (PyTorch counts 1 - that), epsilon 1e-3.
                self.body.append(nn.BatchNorm1d(units, momentum=0.01, eps=1e-3))
            self.body.append(ACTIVATIONS[activation].module())
            if cfg.dropout > 0:
                self.body.append(Dropout(cfg.dropout))
            width = units
        if members == 1:
            self.head = output_layer(width, n_outputs, cfg)   # a Linear but for many classes
        else:   # several packed networks (nn/packed.py): the mean of their scores
            self.head = MeanOfMembers(PackedLinear(members, width, n_outputs, bias=cfg.use_bias))
        self.activity_penalty: Optional[torch.Tensor] = None
        initialise(self, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (batch, inputs) -> (batch, outputs)
        if self.embed is not None:
            x = self.embed(x)                                # (batch, embedded width)
        if self.training and (self.cfg.activity_l1 or self.cfg.activity_l2):
            return self.forward_with_activity_penalty(x)
        return self.head(self.body(x))

    def train(self, mode: bool = True) -> "DenseNet":
        if not mode:
            self.activity_penalty = None  # none stale from the last training step in evaluation
        return super().train(mode)

    def hidden_features(self, x: torch.Tensor) -> torch.Tensor:  # (batch, inputs) -> (batch, width)
        """What the output layer reads: for heads that score classes in chunks."""
        return self.body(x if self.embed is None else self.embed(x))

    def forward_with_activity_penalty(self, x: torch.Tensor) -> torch.Tensor:
        # Keras applies activity regularisers to each Dense layer's activated output,
        # summed over units and averaged over the batch.
        penalty = x.new_zeros(())
        for layer in self.body:
            x = layer(x)
            if isinstance(layer, ACTIVATION_TYPES):
                penalty = penalty + (self.cfg.activity_l1 * x.abs().sum()
                                     + self.cfg.activity_l2 * x.square().sum()) / x.shape[-2]
        self.activity_penalty = penalty
        return self.head(x)

    def dense_layers(self) -> list[nn.Module]:
        """The Dense layers in order: nn.Linear, or PackedLinear for several members."""
        return [m for m in self.modules() if isinstance(m, (nn.Linear, PackedLinear))]

    def weight_penalty(self) -> torch.Tensor:
        """L1/L2 penalties on kernels and biases, as Keras adds them to the loss."""
        c = self.cfg
        total = next(self.parameters()).new_zeros(())
        for layer in self.dense_layers():
            total = total + c.l1 * layer.weight.abs().sum() + c.l2 * layer.weight.square().sum()
            if layer.bias is not None and (c.bias_l1 or c.bias_l2):
                total = total + c.bias_l1 * layer.bias.abs().sum() + c.bias_l2 * layer.bias.square().sum()
        return total

    def has_weight_penalty(self) -> bool:
        c = self.cfg
        return bool(c.l1 or c.l2 or c.bias_l1 or c.bias_l2)

    @torch.no_grad()
    def apply_max_norm(self) -> None:
        # Each unit's incoming weights (a row of the PyTorch weight) are capped at max_norm.
        for layer in self.dense_layers():
            rows = layer.weight.view(-1, layer.weight.shape[-1])  # every member's units
            rows.copy_(torch.renorm(rows, p=2, dim=0, maxnorm=self.cfg.max_norm))


def initialise(net: DenseNet, cfg: ModelConfig) -> None:
    for layer in net.dense_layers():
        if isinstance(layer, PackedLinear):   # each member as its own Dense layer
            for weight in layer.member_weights():
                init_tensor(weight, cfg.kernel_initializer)
            for bias in layer.member_biases():
                init_tensor(bias, cfg.bias_initializer)
            continue
        init_tensor(layer.weight, cfg.kernel_initializer)
        if layer.bias is not None:
            init_tensor(layer.bias, cfg.bias_initializer)


def init_tensor(t: torch.Tensor, name: str) -> None:
    """Keras's initialisers, so a network starts like its Keras twin."""
    if name == "torch_default":
        return   # keep nn.Linear's own initialisation
    if name in ("zeros", "ones"):
        nn.init.constant_(t, 0.0 if name == "zeros" else 1.0)
    elif name == "uniform":
        nn.init.uniform_(t, -0.05, 0.05)
    elif name == "normal":
        nn.init.normal_(t, 0.0, 0.05)
    else:
        family, distribution = name.split("_")
        scale, mode = {"glorot": (1.0, "avg"), "he": (2.0, "in"), "lecun": (1.0, "in")}[family]
        variance_scaling(t, scale, mode, distribution)


def variance_scaling(t: torch.Tensor, scale: float, mode: str, distribution: str) -> None:
    fan_out, fan_in = (t.shape[0], t.shape[1]) if t.dim() == 2 else (t.shape[0], t.shape[0])
    n = {"in": fan_in, "avg": (fan_in + fan_out) / 2}[mode]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        nn.init.uniform_(t, -limit, limit)
    else:
        # Keras draws from a normal truncated at 2 std, widened so the variance is scale/n.
        std = math.sqrt(scale / n) / 0.87962566103423978
        nn.init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std)


@dataclass
class LayerRow:
    name: str
    kind: str
    shape: tuple
    params: int
    trainable: int


def summarise(n_inputs: int, heads: Union[int, list[tuple[Optional[str], int]]], cfg: ModelConfig,
              image_shape: Optional[tuple] = None, embedded: int = 0) -> list[LayerRow]:
    """Layer rows with Keras's names, output shapes and parameter counts. `heads`: the output
    units, or (name, units) per output (Task.output_heads): several outputs are shown as one
    Dense each, named after its label column as Keras names a model's outputs (they are one
    layer's units side by side, so the counts add up the same)."""
    rows: list[LayerRow] = []
    counters: dict[str, int] = {}

    def add(kind: str, units: int, params: int, trainable: int, name: Optional[str] = None) -> None:
        key = {"BatchNormalization": "batch_normalization", "AdaptiveSoftmax": "adaptive_softmax",
               "PeriodicEmbedding": "periodic_embedding"}.get(kind, kind.lower())
        index = counters.get(key, 0)
        counters[key] = index + 1
        name = name or (key if index == 0 else f"{key}_{index}")
        rows.append(LayerRow(name, kind, (None, units), params, trainable))

    if image_shape is not None and len(image_shape) > 1:
        add("Flatten", n_inputs, 0, 0)
    width = n_inputs
    if embedded:
        width = embedded_width(n_inputs, embedded)
        add("PeriodicEmbedding", width, embedding_parameters(embedded), embedding_parameters(embedded))
    bias, k = (1 if cfg.use_bias else 0), cfg.members   # k packed networks: k times the weights
    for units in cfg.widths():
        add("Dense", units, k * (width * units + bias * units), k * (width * units + bias * units))
        if cfg.batch_norm:
            add("BatchNormalization", units, 4 * units, 2 * units)  # gamma, beta + 2 moving stats
        if cfg.dropout > 0:
            add("Dropout", units, 0, 0)
        width = units
    for name, units in ([(None, heads)] if isinstance(heads, int) else heads):
        head = k * head_parameters(width, units, cfg)
        add("AdaptiveSoftmax" if cfg.output == "adaptive_softmax" else "Dense", units, head, head, name)
    return rows


def format_summary(rows: list[LayerRow], title: str = "densekit model") -> str:
    # Columns as wide as their longest cell: "batch_normalization_1 (BatchNormalization)"
    # is 42 characters and must not run into the shape.
    layers = [f"{r.name} ({r.kind})" for r in rows]
    shapes = ["(" + ", ".join(str(s) for s in r.shape) + ")" for r in rows]
    counts = [f"{r.params:,}" for r in rows]
    name_w = max(len(x) for x in layers + ["Layer (type)"]) + 2
    shape_w = max(len(x) for x in shapes + ["Output Shape"]) + 2
    count_w = max(len(x) for x in counts + ["Param #"]) + 2
    rule = "─" * (name_w + shape_w + count_w)
    lines = [f'Model: "{title}"', rule,
             f"{'Layer (type)':<{name_w}}{'Output Shape':<{shape_w}}{'Param #':>{count_w}}", rule]
    lines += [f"{a:<{name_w}}{b:<{shape_w}}{c:>{count_w}}" for a, b, c in zip(layers, shapes, counts)]
    total = sum(r.params for r in rows)
    trainable = sum(r.trainable for r in rows)
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)
