"""Periodic embeddings of a table's numeric columns (model.embedding: periodic): the code is
the formula, only numeric columns get one, and a model with them saves, loads, summarises and
exports like any other."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import densekit
from densekit.config import ModelConfig
from densekit.data.preprocess import Preprocessor
from densekit.nn.embeddings import FREQUENCIES, OUT, PeriodicEmbedding, embedded_columns
from densekit.nn.model import DenseNet, summarise
from densekit.session.predict import Predictor


def test_each_numeric_column_becomes_itself_and_its_periodic_code():
    torch.manual_seed(0)
    mask = [True, False, True]
    layer = PeriodicEmbedding(mask).double()
    x = torch.tensor([[0.5, 1.0, -2.0], [1.5, 0.0, 0.25]], dtype=torch.float64)
    got = layer(x)
    assert got.shape == (2, 2 * OUT + 1)
    f, b = layer.frequencies.detach().numpy(), layer.phases.detach().numpy()
    w, c = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    for row in range(2):
        expected = []
        for j, column in enumerate([0, 2]):       # the embedded columns, in order
            value = x[row, column].item()
            code = np.cos(2 * math.pi * f[j] * value + b[j]) @ w[j] + c[j]   # (OUT - 1,)
            expected += [value, *code]
        expected.append(x[row, 1].item())          # then the column left alone
        np.testing.assert_allclose(got[row].detach().numpy(), expected, rtol=0, atol=1e-12)


def test_only_numeric_columns_are_embedded_and_only_when_asked():
    x = np.column_stack([np.linspace(-3, 50, 40), np.tile([0.0, 1.0], 20), np.arange(40.0)])
    prep = Preprocessor.fit(x, "table")
    assert embedded_columns("periodic", prep) == [True, False, True]   # 0/1 left alone
    assert embedded_columns("none", prep) is None
    assert embedded_columns("periodic", Preprocessor.fit(np.zeros((4, 784), np.uint8), "image")) is None


def test_summary_counts_the_embedding_and_the_wider_first_layer():
    cfg = ModelConfig(hidden=[32], embedding="periodic")
    model = DenseNet(10, 3, cfg, embedded=[True] * 6 + [False] * 4)
    rows = summarise(10, 3, cfg, embedded=6)
    assert rows[0].kind == "PeriodicEmbedding" and rows[0].shape == (None, 6 * OUT + 4)
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    assert rows[0].params == 6 * (2 * FREQUENCIES + FREQUENCIES * (OUT - 1) + OUT - 1)


def mixed_frame(rows=300, seed=0):
    """A number whose effect is periodic, a second number, a category: the label needs the first."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"angle": rng.uniform(0, 6, rows), "noise": rng.normal(size=rows),
                          "kind": rng.choice(["a", "b"], rows)})
    frame["label"] = np.where(np.sin(frame["angle"]) > 0, "up", "down")
    return frame


def test_a_run_with_embeddings_saves_loads_exports_and_predicts_the_same(tmp_path, cli):
    path = tmp_path / "table.csv"
    mixed_frame().to_csv(path, index=False)
    run = densekit.train(data__source=str(path), data__label="label", model__embedding="periodic",
                         train__epochs=60, quiet=True, report=False, out=str(tmp_path / "run"))
    assert run.metrics["test"]["accuracy"] > 0.8
    predictor = densekit.load(run.run_dir)
    assert predictor.model.embed is not None
    rows = mixed_frame(40, seed=1).drop(columns="label")
    x = predictor.check(rows)                     # the encoded columns, as the ONNX file reads them
    loaded = predictor.scores(x)
    in_memory = Predictor.from_card(run.model.cpu(), run.card).scores(x)
    np.testing.assert_allclose(loaded, in_memory, rtol=0, atol=1e-6)
    untrained = DenseNet(predictor.card.n_inputs, predictor.card.n_outputs, predictor.model.cfg,
                         embedded_columns("periodic", predictor.prep))
    assert np.abs(Predictor(untrained, predictor.task, predictor.prep, predictor.card).scores(x)
                  - loaded).max() > 0.05

    ort = pytest.importorskip("onnxruntime")
    from densekit.exporting import export
    result = export(run.run_dir)
    session = ort.InferenceSession(str(result.model))
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"input": x.astype(np.float32)})))
    assert np.abs(got["probabilities"][:, 1:] - loaded).max() <= 1e-5


def test_the_estimator_takes_embeddings():
    frame = mixed_frame()
    y = frame.pop("label")
    model = densekit.DenseClassifier(epochs=60, random_state=0,
                                     settings={"model.embedding": "periodic"}).fit(frame, y)
    assert model.model_.embed is not None and model.score(frame, y) > 0.8
