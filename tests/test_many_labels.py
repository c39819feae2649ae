"""Several true classes per row among many (tasks/many_labels.py): WordNet nouns labelled
with all their hypernyms, from a CSV of delimited label lists, from a 0/1 matrix in memory,
and from the named set; the chunked evaluation against the plain full softmax; precision@k."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import densekit
from densekit.data.dataset import Dataset, Part
from densekit.nn.class_chunks import linear_top_k
from densekit.tasks import ManyLabels, build_task

WORDNET = Path("/usr/share/wordnet/data.noun")
needs_wordnet = pytest.mark.skipif(not WORDNET.exists(),
                                   reason="WordNet absent: apt-get install wordnet-base (.ci/run does)")


def wordnet_rows(every: int = 4) -> tuple[list[str], list[list[str]]]:
    """Every `every`-th noun gloss, with the names of all its hypernyms (real data)."""
    from densekit.data.debian import words_of
    from densekit.data.wordnet import ancestors, read_synsets
    synsets = read_synsets("wordnet-hypernyms")
    lemma = {offset: f"{name}.{offset}" for offset, name, _, _ in synsets}
    above = ancestors({offset: found for offset, _, found, _ in synsets if found})
    rows = [s for s in synsets if s[2]][::every]
    # The gloss's words alone: its semicolons and quotes would confuse the CSV's sniffed separator.
    return [" ".join(words_of(gloss)) for _, _, _, gloss in rows], [[lemma[h] for h in above[o]] for o, _, _, _ in rows]


def frequency_baseline(labels: list[list[str]], k: int = 5) -> tuple[float, float]:
    """precision@k and log loss of always answering with the label frequencies (no input)."""
    counts = pd.Series([t for row in labels for t in row]).value_counts()
    top = set(counts.index[:k])
    p = counts / counts.sum()
    precision = np.mean([len(top & set(row)) / k for row in labels])
    log_loss = np.mean([-np.mean(np.log(p[row].to_numpy())) for row in labels])
    return float(precision), float(log_loss)


def labelled_csv(folder: Path, glosses, labels) -> Path:
    path = folder / "nouns.csv"
    pd.DataFrame({"gloss": glosses, "hypernyms": ["|".join(row) for row in labels]}).to_csv(path, index=False)
    return path


def config(source, **data):
    return {"data": {"source": str(source), **data},
            "model": {"hidden": [96], "dropout": 0.0, "output": "sampled_softmax", "num_sampled": 512},
            "train": {"batch_size": 128, "lr": 0.004, "epochs": 3, "tensorboard": False,
                      "checkpoint": {"every_epochs": 0}}}


# ---------------------------------------------------------------------- units

def test_the_chunked_softmax_gives_each_true_class_its_log_probability():
    torch.manual_seed(0)
    classes, width, rows = 2003, 12, 40
    W, b, hidden = torch.randn(classes, width), torch.randn(classes), torch.randn(rows, width)
    y = torch.randint(classes, (rows, 4))
    y[::3, 2:] = -1                                   # rows with two true classes
    top = linear_top_k(W, b, hidden, y, 5, cells=rows * 101)  # 20 chunks
    log_p = torch.log_softmax(hidden @ W.T + b, 1)
    present = y >= 0
    torch.testing.assert_close(top.true_log_p[present], log_p.gather(1, y.clamp(min=0))[present],
                               rtol=1e-5, atol=1e-5)


def test_the_adaptive_softmax_spreads_a_row_over_its_true_classes():
    from densekit.nn.heads import AdaptiveHead
    torch.manual_seed(0)
    head = AdaptiveHead(16, 500, [20, 100])
    hidden, y = torch.randn(30, 16), torch.randint(500, (30, 3))
    y[::2, 1:] = -1
    log_p = head.log_prob(hidden).gather(1, y.clamp(min=0))
    present = (y >= 0).float()
    expected = -((log_p * present).sum(1) / present.sum(1)).mean()
    torch.testing.assert_close(head.loss(hidden, y), expected, rtol=1e-5, atol=1e-6)


def test_lists_and_an_indicator_matrix_encode_alike_and_precision_at_k_is_counted():
    lists = np.empty(3, dtype=object)
    lists[:] = [("a", "b"), ("b",), ("c", "a", "d")]
    task, reason = build_task(lists, None, None, None, None, False, output="sampled_softmax")
    assert isinstance(task, ManyLabels) and task.classes[:2] == ["a", "b"] and "several" in reason
    ids = task.encode(lists, "training")
    assert ids.tolist() == [[0, 1, -1], [1, -1, -1], [2, 0, 3]]
    indicator = np.zeros((3, 4))
    indicator[[0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 3]] = 1
    from_matrix, _ = build_task(indicator, None, None, None, list("abcd"), False, output="sampled_softmax")
    assert from_matrix.class_names[:2] == ["a", "b"]  # by falling frequency, as the lists
    assert from_matrix.encode(indicator, "x").tolist() == [[0, 1, -1], [1, -1, -1], [0, 2, 3]]
    # top classes: row 0 [a, c, b, d], row 1 [c, b, …], row 2 [d, a, c, …] (k = 4 classes)
    top = np.array([[0, 2, 1, 3], [2, 1, 0, 3], [3, 0, 2, 1]])
    scores = np.hstack([top, np.full((3, 4), 0.25), [[0.5], [0.25], [0.125]]])
    m = task.full_metrics(ids, scores)
    assert m["precision_at_1"] == pytest.approx(2 / 3)
    assert m["precision_at_4"] == pytest.approx(np.mean([2 / 4, 1 / 4, 3 / 4]))
    assert m["recall_at_4"] == pytest.approx(1.0)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.25, 0.125])))
    saved = json.loads(json.dumps(task.to_json()))
    assert densekit.tasks.task_from_json(saved) == task


def test_a_row_without_labels_is_refused_with_the_fix(cli, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    frame["tags"] = [f"t{i % 40}|t{(i * 7) % 40}" for i in range(300)]
    frame.loc[5, "tags"] = ""
    path = tmp_path / "tags.csv"
    frame.to_csv(path, index=False)
    code, _, err = cli("train", "--data", path, "--label", "tags", "--set", "data.label_delimiter=|",
                       "--loss", "sampled-softmax", "--set", "model.num_sampled=8", "--out", tmp_path / "r")
    assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0, err
    assert "no label" in err and "at least one true class" in err


# ---------------------------------------------------------------------- real data

@needs_wordnet
def test_wordnet_nouns_with_all_their_hypernyms_from_a_delimited_csv(tmp_path, cli):
    glosses, labels = wordnet_rows(every=6)
    data = labelled_csv(tmp_path, glosses, labels)
    result = densekit.train(config(data, label="hypernyms", label_delimiter="|"),
                            out=tmp_path / "run", quiet=True)
    assert result.task == "many_labels" and result.card.n_outputs > 8_000
    test = result.metrics["test"]
    precision, log_loss = frequency_baseline(labels)
    assert test["precision_at_5"] > precision + 0.1, (test, precision)
    assert test["log_loss"] < log_loss - 0.5, (test, log_loss)
    assert test["precision_at_1"] > 0.9  # "entity" tops every list: learned first
    assert (result.run_dir / "metrics.json").stat().st_size < 20_000
    code, out, err = cli("predict", result.run_dir, data, "--output", tmp_path / "p.csv")
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert list(predicted.columns[:3]) == ["prediction", "top1", "prob1"] and "prob5" in predicted
    assert (predicted["prob1"] >= predicted["prob5"]).all() and predicted["prob1"].max() <= 1.0
    code, out, err = cli("evaluate", result.run_dir, data, "--json")
    assert code == 0, err
    assert json.loads(out)["precision_at_5"] > precision


@needs_wordnet
def test_an_indicator_matrix_in_memory_trains_the_same_task(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer
    glosses, labels = wordnet_rows(every=16)
    x = CountVectorizer(binary=True, max_features=1500).fit_transform(glosses).toarray().astype(np.float32)
    names = sorted({t for row in labels for t in row})
    position = {n: i for i, n in enumerate(names)}
    y = np.zeros((len(labels), len(names)), dtype=np.float32)
    for row, tags in enumerate(labels):
        y[row, [position[t] for t in tags]] = 1
    dataset = Dataset("wordnet-matrix", Part(x, y), label_names=names)
    cfg = config("in-memory")
    result = densekit.api.train_in_memory(cfg, dataset, train__epochs=4)
    assert result.card.targets["task"] == "many_labels" and result.card.n_outputs == len(names)
    precision, _ = frequency_baseline(labels)
    assert result.metrics["test"]["precision_at_5"] > precision + 0.05


@needs_wordnet
@pytest.mark.slow
def test_the_named_set_with_every_hypernym_learns_above_the_frequencies(tmp_path):
    result = densekit.train({**config("wordnet-hypernyms"),
                             "data": {"source": "wordnet-hypernyms",
                                      "options": {"hypernyms": "all", "inputs": 2000}}},
                            out=tmp_path / "run", quiet=True, train__epochs=1)
    assert result.card.n_outputs > 17_000
    test = result.metrics["test"]
    assert test["precision_at_5"] > 0.65 and test["labels_per_row"] > 8  # frequencies: 0.58
