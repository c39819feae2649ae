"""Many classes: the sampled softmax against TensorFlow's formula, its sparse gradient against
autograd, the lazy Adam against Adam, the chunked full softmax against the plain one, the
task, bad input, bit-exact resume with sampling on, and real runs."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import densekit
from densekit.nn.class_chunks import linear_top_k, row_chunk_top_k
from densekit.nn.heads import AdaptiveHead
from densekit.nn.sampled_output import Candidates, sampled_softmax_loss
from densekit.nn.samplers import LogUniform, Uniform, Unigram
from densekit.tasks import ManyClasses, build_task
from densekit.training.sparse_adam import LazyAdam
from tests.helpers.refusals import refused
from tests.helpers.runs import assert_same_weights

FLOAT_MAX = np.finfo(np.float64).max
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def tf_loss_by_hand(W, b, h, labels, sampled, q_true, q_sampled, remove_hits, log_q):
    """tf.nn.sampled_softmax_loss written out row by row, as its documentation states it:
    logits [true | sampled], log Q subtracted, -FLOAT_MAX added to accidental hits, labels
    1/num_true on the true columns."""
    losses = []
    for i, row in enumerate(labels):
        true = [h[i] @ W[t] + b[t] - (math.log(q_true[i][j]) if log_q else 0.0)
                for j, t in enumerate(row)]
        negatives = []
        for j, s in enumerate(sampled):
            logit = h[i] @ W[s] + b[s]
            if remove_hits and s in row:
                logit += -FLOAT_MAX
            negatives.append(logit - (math.log(q_sampled[j]) if log_q else 0.0))
        everything = np.array(true + negatives)
        top = everything.max()
        log_total = top + math.log(np.exp(everything - top).sum())
        losses.append(-sum((t - log_total) / len(row) for t in true))
    return np.array(losses)


SMALL = dict(
    W=np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [0.0, 1.0], [2.0, -0.5], [0.1, 0.1]]),
    b=np.array([0.1, -0.2, 0.0, 0.3, -0.1, 0.05]),
    h=np.array([[1.0, 2.0], [-0.5, 1.5], [0.3, -0.7]]),
    sampled=[3, 1, 4, 0],
    q_sampled=[0.2, 0.5, 0.1, 0.7],
)


@pytest.mark.parametrize("labels,q_true", [
    ([[0], [3], [5]], [[0.7], [0.2], [0.05]]),                       # one hit: row 2 draws 3
    ([[0, 2], [3, 1], [5, 4]], [[0.7, 0.3], [0.2, 0.5], [0.05, 0.1]]),  # two true classes a row
])
@pytest.mark.parametrize("remove_hits", [True, False])
@pytest.mark.parametrize("log_q", [True, False])
def test_the_sampled_loss_is_tensorflows_formula(labels, q_true, remove_hits, log_q):
    s = SMALL
    expected = tf_loss_by_hand(s["W"], s["b"], s["h"], labels, s["sampled"], q_true,
                               s["q_sampled"], remove_hits, log_q)
    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in s.items() if k in ("W", "b", "h")}
    candidates = Candidates(torch.tensor(s["sampled"]), torch.tensor(q_true, dtype=torch.float64),
                            torch.tensor(s["q_sampled"], dtype=torch.float64))
    got = sampled_softmax_loss(t["W"], t["b"], torch.tensor(labels), t["h"], candidates,
                               remove_hits, log_q)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    if remove_hits is False and log_q and len(labels[0]) == 1:
        assert got[1] != pytest.approx(tf_loss_by_hand(s["W"], s["b"], s["h"], labels, s["sampled"],
                                                       q_true, s["q_sampled"], True, log_q)[1])


def test_the_sparse_gradient_matches_autograd_through_the_dense_gather():
    torch.manual_seed(0)
    classes, width, batch = 50, 8, 6
    W = torch.randn(classes, width, dtype=torch.float64)
    b = torch.randn(classes, dtype=torch.float64)
    h = torch.randn(batch, width, dtype=torch.float64)
    labels = torch.randint(classes, (batch, 1))
    sampled, tries = LogUniform(classes).sample_unique(12, torch.Generator().manual_seed(1))
    q = LogUniform(classes)
    candidates = Candidates(sampled, q.expected_count(labels, tries).double(),
                            q.expected_count(sampled, tries).double())
    grads = {}
    for sparse in (True, False):
        w, bias = W.clone().requires_grad_(), b.clone().requires_grad_()
        sampled_softmax_loss(w, bias, labels, h, candidates, sparse=sparse).mean().backward()
        assert w.grad.is_sparse == sparse
        grads[sparse] = (w.grad.to_dense(), bias.grad.to_dense())
    torch.testing.assert_close(grads[True], grads[False], rtol=1e-12, atol=1e-14)
    touched = torch.zeros(classes, dtype=torch.bool)
    touched[torch.cat([labels[:, 0], sampled])] = True
    assert (grads[True][0][~touched] == 0).all() and (grads[True][0][touched] != 0).any()
    # and autograd's numerical check of the dense path itself
    assert torch.autograd.gradcheck(
        lambda w, bias: sampled_softmax_loss(w, bias, labels, h, candidates).sum(),
        (W.clone().requires_grad_(), b.clone().requires_grad_()))


@pytest.mark.parametrize("sampler", [LogUniform(1000), Uniform(1000),
                                     Unigram(np.arange(1000)[::-1] + 1)])
def test_samplers_draw_distinct_classes_with_the_expected_counts(sampler):
    ids = torch.arange(1000)
    assert float(sampler.probability(ids).sum()) == pytest.approx(1.0, abs=1e-9)
    generator = torch.Generator().manual_seed(0)
    draws = [sampler.sample_unique(64, generator) for _ in range(2000)]
    for sampled, tries in draws[:5]:
        assert len(set(sampled.tolist())) == 64 and tries >= 64
    # how often each class is drawn, against the expected count the loss subtracts
    seen = torch.zeros(1000)
    expected = torch.zeros(1000, dtype=torch.float64)
    for sampled, tries in draws:
        seen[sampled] += 1
        expected += sampler.expected_count(ids, tries).double()
    assert float(seen.sum() / expected.sum()) == pytest.approx(1.0, abs=0.02)
    frequent = expected > 100  # a Poisson count of 100 is within 40% by 4 standard deviations
    assert frequent.sum() >= 5
    ratio = seen[frequent] / expected[frequent]
    assert ratio.min() > 0.6 and ratio.max() < 1.4


def test_a_log_uniform_draw_is_tensorflows_zipf_law():
    sampler = LogUniform(10)
    p = sampler.probability(torch.arange(10))
    assert float(p[0]) == pytest.approx(math.log(2) / math.log(11))
    assert float(sampler.expected_count(torch.tensor([0]), 5)) == pytest.approx(1 - (1 - float(p[0])) ** 5, rel=1e-6)


def test_the_chunked_full_softmax_equals_the_plain_one():
    torch.manual_seed(0)
    classes, width, rows, k = 3001, 16, 70, 5
    W, b = torch.randn(classes, width), torch.randn(classes)
    hidden, y = torch.randn(rows, width), torch.randint(classes, (rows,))
    log_p = torch.log_softmax(hidden @ W.T + b, 1)
    top = linear_top_k(W, b, hidden, y, k, cells=rows * 97)  # 31 chunks of 97 classes
    expected_top = log_p.topk(k, 1)
    assert torch.equal(top.ids, expected_top.indices)
    torch.testing.assert_close(top.log_p, expected_top.values, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(top.true_log_p, log_p.gather(1, y[:, None])[:, 0], rtol=1e-5, atol=1e-5)


def test_the_adaptive_heads_row_chunks_equal_its_full_log_probabilities():
    torch.manual_seed(0)
    head = AdaptiveHead(16, 500, [20, 100])
    hidden, y = torch.randn(40, 16), torch.randint(500, (40,))
    with torch.no_grad():
        full = head.log_prob(hidden)
        top = row_chunk_top_k(head.log_prob, 500, hidden, y, 5, cells=500 * 7)
    assert torch.equal(top.ids, full.topk(5, 1).indices)
    torch.testing.assert_close(top.true_log_p, full.gather(1, y[:, None])[:, 0])


def test_lazy_adam_on_dense_gradients_is_adam():
    torch.manual_seed(0)
    a, b = torch.randn(30, 4, requires_grad=True), None
    b = a.detach().clone().requires_grad_()
    lazy, adam = LazyAdam([a], lr=0.01, eps=1e-7), torch.optim.Adam([b], lr=0.01, eps=1e-7)
    for _ in range(5):
        g = torch.randn(30, 4)
        a.grad, b.grad = g.clone(), g.clone()
        lazy.step()
        adam.step()
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_lazy_adam_moves_only_the_rows_a_sparse_gradient_touches():
    torch.manual_seed(0)
    lazy_w = torch.randn(100, 4, requires_grad=True)
    start = lazy_w.detach().clone()
    rows_w = start[[3, 7]].clone().requires_grad_()  # Adam on the touched rows alone
    lazy, adam = LazyAdam([lazy_w], lr=0.01, eps=1e-7), torch.optim.Adam([rows_w], lr=0.01, eps=1e-7)
    for _ in range(4):
        g = torch.randn(3, 4)                     # row 7 twice: its gradients add up
        lazy_w.grad = torch.sparse_coo_tensor(torch.tensor([[3, 7, 7]]), g, (100, 4), check_invariants=True)
        rows_w.grad = torch.stack([g[0], g[1] + g[2]])
        lazy.step()
        adam.step()
    untouched = torch.ones(100, dtype=torch.bool)
    untouched[[3, 7]] = False
    assert torch.equal(lazy_w.detach()[untouched], start[untouched])
    torch.testing.assert_close(lazy_w.detach()[[3, 7]], rows_w.detach(), rtol=1e-6, atol=1e-7)


def test_many_distinct_integer_labels_stay_classes_under_a_sampled_softmax():
    y = np.random.default_rng(0).integers(0, 5000, 20000)
    task, reason = build_task(y, None, None, None, None, False, output="sampled_softmax")
    assert isinstance(task, ManyClasses) and task.n_outputs == int(y.max()) + 1
    assert "sampled_softmax" in reason
    regression, _ = build_task(y.astype(float) + 0.5, None, None, None, None, False)
    assert not regression.is_classifier  # the plain inference is unchanged
    saved = json.loads(json.dumps(task.to_json()))
    assert densekit.tasks.task_from_json(saved) == task


def test_text_labels_are_numbered_by_falling_frequency():
    y = np.array(["rare"] + ["common"] * 5 + ["middle"] * 3)
    task, _ = build_task(y, None, None, None, None, False, output="adaptive_softmax")
    assert task.classes == ["common", "middle", "rare"]


def test_compact_scores_give_top_k_metrics_and_small_predictions():
    task = ManyClasses("sampled_softmax", 1000, list(range(1000)), [f"c{i}" for i in range(1000)])
    ids = np.array([[5, 1, 2, 3, 4], [7, 8, 9, 6, 0], [1, 2, 3, 4, 5]])
    proba = np.full((3, 5), 0.1)
    scores = np.hstack([ids, proba, np.array([[0.5], [0.25], [0.125]])])
    y = np.array([5, 6, 999])
    m = task.full_metrics(y, scores)
    assert m["accuracy"] == pytest.approx(1 / 3) and m["top5_accuracy"] == pytest.approx(2 / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.25, 0.125])))
    assert "confusion_matrix" not in m and ["c6", "c7", 1] in m["most_confused"]
    frame = task.prediction_frame(scores)
    assert list(frame.columns[:3]) == ["prediction", "top1", "prob1"] and frame.shape[1] == 11


# ---------------------------------------------------------------------- runs on real files

def clustered_csv(folder, classes=300, rows=3000, features=16, seed=0):
    """Rows around one centre per class, classes Zipf-distributed (ids by falling frequency)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, features))
    y = np.minimum(rng.zipf(1.5, rows) - 1, classes - 1)
    y[:classes] = np.arange(classes)  # every class at least once
    frame = pd.DataFrame(centres[y] + 0.3 * rng.normal(size=(rows, features)),
                         columns=[f"f{i}" for i in range(features)])
    frame["label"] = y
    path = folder / "clustered.csv"
    frame.to_csv(path, index=False)
    return path


def sampled_config(data, **train):
    return {"data": {"source": str(data), "label": "label"},
            "model": {"hidden": [32], "dropout": 0.1, "output": "sampled_softmax",
                      "num_sampled": 64},
            "train": {"batch_size": 64, "lr": 0.005, "eval_every": 20, "tensorboard": False,
                      "checkpoint": {"every_epochs": 0}, **train}}


def test_resume_is_bit_exact_with_sampling_on(tmp_path):
    data = clustered_csv(tmp_path)
    whole = densekit.train(sampled_config(data, steps=60), out=tmp_path / "whole", quiet=True)
    first = densekit.train(sampled_config(data, steps=20), out=tmp_path / "part", quiet=True)
    saved = densekit.rundir.checkpoint.CheckpointFolder(first.run_dir).load_newest(warn=print)
    assert "rng.sampler" in saved.tensors
    densekit.api.resume(first.run_dir, force=True, quiet=True, train__steps=60)
    assert_same_weights(whole.run_dir, first.run_dir)


def test_a_sampled_run_writes_small_metrics_predicts_top_classes_and_reports(tmp_path, cli):
    data = clustered_csv(tmp_path)
    result = densekit.train(sampled_config(data, steps=150), out=tmp_path / "run", quiet=True)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.5 and metrics["test"]["top5_accuracy"] >= metrics["test"]["accuracy"]
    assert (result.run_dir / "metrics.json").stat().st_size < 20_000
    code, out, err = cli("predict", result.run_dir, data)
    assert code == 0, err
    header = out.splitlines()[0]
    assert "top1" in header and "prob5" in header and "prob_" not in header
    assert (result.run_dir / "report.html").exists()
    assert "most confused" in (result.run_dir / "report.html").read_text().lower()
    code, out, err = cli("evaluate", result.run_dir, data, "--json")
    assert code == 0, err
    assert json.loads(out)["top5_accuracy"] > 0.5


def test_bad_sampled_softmax_settings_are_refused_with_the_fix(cli, tmp_path):
    data = clustered_csv(tmp_path, classes=50, rows=400)
    refused(cli, "train", "--data", data, "--label", "label", "--loss", "sampled-softmax",
            "--set", "model.num_sampled=50", "--out", tmp_path / "a",
            says=["num_sampled is 50", "only 50 classes", "at most 49"])
    assert not (tmp_path / "a").exists()
    refused(cli, "train", "--data", data, "--label", "label", "--loss", "sampled-softmax",
            "--set", "model.sampler=zipf", "--out", tmp_path / "b",
            says=["model.sampler", "log_uniform"])
    refused(cli, "train", "--data", data, "--label", "label", "--loss", "sampled-softmax",
            "--task", "regression", "--out", tmp_path / "c", says=["one class per row", "multiclass"])


# ---------------------------------------------------------------------- real data (Debian)

def test_a_missing_debian_package_is_named_with_the_command_that_installs_it(tmp_path):
    from densekit.data.debian import package_file
    from densekit.errors import DensekitError
    with pytest.raises(DensekitError) as err:
        package_file("gcide-next-word", "gcide.dict.dz", str(tmp_path / "nowhere"), "dict-gcide")
    message = str(err.value)
    assert "apt-get install dict-gcide" in message and "\n" not in message


def test_the_named_sets_are_listed(cli):
    code, out, _ = cli("datasets")
    assert code == 0 and "gcide-next-word" in out and "wordnet-hypernyms" in out


needs_gcide = pytest.mark.skipif(not Path("/usr/share/dictd/gcide.dict.dz").exists(),
                                 reason="GCIDE absent: apt-get install dict-gcide (.ci/run does)")
needs_wordnet = pytest.mark.skipif(not Path("/usr/share/wordnet/data.noun").exists(),
                                   reason="WordNet absent: apt-get install wordnet-base (.ci/run does)")


@needs_gcide
def test_gcide_2000_classes_learns_the_next_word_with_a_sampled_softmax(tmp_path):
    result = densekit.train({
        "data": {"source": "gcide-next-word",
                 "options": {"words": 2000, "inputs": 1024, "context": 3, "rows": 40000}},
        "model": {"hidden": [128], "dropout": 0.0, "output": "sampled_softmax", "num_sampled": 256},
        "train": {"batch_size": 256, "lr": 0.003, "epochs": 2, "tensorboard": False}},
        out=tmp_path / "run", quiet=True)
    test = result.metrics["test"]
    y = np.load(result.run_dir / "predictions.npz")["y"]
    majority = np.bincount(y).max() / len(y)  # always the most frequent word
    assert test["accuracy"] > 1.5 * majority, (test, majority)
    assert test["top5_accuracy"] > 0.3 and test["loss"] < math.log(2000) - 1.5


@needs_wordnet
@pytest.mark.slow
def test_wordnet_hypernyms_learn_above_chance(tmp_path):
    result = densekit.train(str(EXAMPLES / "wordnet-hypernyms.yaml"), out=tmp_path / "run",
                            quiet=True, train__epochs=3)
    assert result.card.n_outputs > 16_000
    assert result.metrics["test"]["top5_accuracy"] > 0.25


@needs_gcide
@pytest.mark.slow
def test_the_gcide_example_trains_shortened(tmp_path):
    result = densekit.train(str(EXAMPLES / "gcide-next-word.yaml"), out=tmp_path / "run", quiet=True,
                            data__options={"words": 10000, "inputs": 2048, "context": 4, "rows": 60000},
                            train__epochs=1)
    assert result.card.n_outputs == 10_000
    assert result.metrics["test"]["top5_accuracy"] > 0.2


@pytest.mark.parametrize("output,cutoffs,classes", [
    ("adaptive_softmax", None, 20_000), ("adaptive_softmax", [100, 1000], 5_000),
    ("adaptive_softmax", None, 60), ("sampled_softmax", None, 20_000)])
def test_the_layer_summary_counts_the_parameters_the_model_has(output, cutoffs, classes):
    from densekit.config import ModelConfig
    from densekit.nn.model import DenseNet, format_summary, summarise
    cfg = ModelConfig(hidden=[64, 48], batch_norm=True, output=output, adaptive_cutoffs=cutoffs)
    model = DenseNet(300, classes, cfg)
    rows = summarise(300, classes, cfg)
    assert sum(r.trainable for r in rows) == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters()) \
        + sum(b.numel() for name, b in model.named_buffers() if "running" in name)
    table = format_summary(rows)
    assert f"Trainable params: {sum(p.numel() for p in model.parameters()):,}" in table
    assert ("adaptive_softmax (AdaptiveSoftmax)" in table) == (output == "adaptive_softmax")
