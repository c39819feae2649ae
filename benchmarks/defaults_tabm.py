"""TabM (Gorishniy et al., ICLR 2025) for benchmarks/defaults.py, as its README sets it up.

The `tabm` package's `TabM.make` defaults (k = 32 members sharing their weights, blocks of 512,
dropout 0.1; 2 blocks with numerical embeddings) with piecewise-linear embeddings of the
numeric columns (`rtdl_num_embeddings`, 48 quantile bins, 16 dimensions, version B), the
README's optimiser (AdamW, lr 2e-3, weight decay 3e-4), batch 256, and the training of the
package's example: the mean of the members' losses, one evaluation per epoch on 20 % of the
training rows held out, patience 16, the best epoch's weights restored; predictions are the
mean of the members' probabilities (regression: of their values). Numeric columns go through
scikit-learn's QuantileTransformer to a normal distribution first, as in the example;
categories are one-hot inside TabM. Runs in the peers' environment only.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

K, BATCH, LR, WEIGHT_DECAY, PATIENCE, MAX_EPOCHS = 32, 256, 2e-3, 3e-4, 16, 1000
N_BINS, D_EMBEDDING = 48, 16


class Features:
    """Numeric columns quantile-normalised (gaps: the training median), categories as codes
    (a gap or an unseen category is a level of its own)."""

    def __init__(self, meta: dict, x):
        from sklearn.preprocessing import QuantileTransformer
        self.meta = meta
        if isinstance(x, np.ndarray):   # images: pixels
            x = pd.DataFrame(x.astype(np.float32) / 255.0)
        self.text = meta["kind"] == "text"
        if self.text:
            from defaults_tools import dense_text
            self.vectorizer, dense = dense_text(meta, x)
            x = pd.DataFrame(dense)
        self.categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
        numeric = [c for c in x.columns if c not in self.categorical]
        self.medians = x[numeric].median()
        self.numeric = [c for c in numeric if x[c].nunique() > 1]  # a constant column says nothing
        self.levels = {c: sorted(x[c].dropna().astype(str).unique()) for c in self.categorical}
        self.quantiles = None
        if self.numeric:
            rows = len(x)
            self.quantiles = QuantileTransformer(
                n_quantiles=max(min(rows // 30, 1000), 10), output_distribution="normal",
                subsample=10**9, random_state=0).fit(self.numeric_values(x))

    def numeric_values(self, x) -> np.ndarray:
        return x[self.numeric].fillna(self.medians[self.numeric]).to_numpy(np.float32)

    def transform(self, x) -> tuple[np.ndarray | None, np.ndarray | None]:
        if isinstance(x, np.ndarray):
            x = pd.DataFrame(x.astype(np.float32) / 255.0)
        if self.text:
            from defaults_tools import dense_text
            x = pd.DataFrame(dense_text(self.meta, x, self.vectorizer)[1])
        num = self.quantiles.transform(self.numeric_values(x)).astype(np.float32) if self.numeric else None
        cat = None
        if self.categorical:
            codes = []
            for c in self.categorical:
                index = {v: i for i, v in enumerate(self.levels[c])}
                unseen = len(index)   # gaps and new values share one extra level
                codes.append(x[c].map(lambda v: index.get(str(v), unseen) if pd.notna(v) else unseen))
            cat = np.stack([np.asarray(col, np.int64) for col in codes], axis=1)
        return num, cat

    def cardinalities(self) -> list[int]:
        return [len(self.levels[c]) + 1 for c in self.categorical]


class TabMModel:
    def __init__(self, meta: dict, seed: int):
        self.meta, self.seed = meta, seed
        self.task = meta["task"]

    def fit(self, x, y):
        import torch
        from sklearn.model_selection import train_test_split
        torch.manual_seed(self.seed)
        torch.set_num_threads(1)
        self.features = Features(self.meta, x)
        targets = self.encode(y, fit=True)
        idx = np.arange(len(targets))
        stratify = targets if self.task in ("binary", "multiclass") else None
        fit_idx, val_idx = train_test_split(idx, test_size=0.2, random_state=self.seed, stratify=stratify)
        num, cat = self.features.transform(x)
        self.model = self.build(num, cat, fit_idx)
        data = [torch.as_tensor(a) if a is not None else None for a in (num, cat, targets)]
        self.train_loop(data, fit_idx, val_idx)
        return self

    def encode(self, y, fit: bool) -> np.ndarray:
        if self.task == "regression":
            y = np.asarray(y, np.float32)
            if fit:
                self.mean, self.std = y.mean(), y.std() or 1.0
            return (y - self.mean) / self.std
        if self.task == "multilabel":
            return np.asarray(y, np.float32)
        if fit:
            self.classes = np.unique(y.astype(str))
        return np.searchsorted(self.classes, y.astype(str)).astype(np.int64)

    def outputs(self) -> int:
        if self.task == "regression":
            return 1
        if self.task == "multilabel":
            return self.meta_labels
        return len(self.classes)

    def build(self, num, cat, fit_idx):
        import rtdl_num_embeddings
        import torch
        from tabm import TabM
        embeddings = None
        if num is not None:
            bins = rtdl_num_embeddings.compute_bins(torch.as_tensor(num[fit_idx]),
                                                    n_bins=min(N_BINS, len(fit_idx) - 1))
            embeddings = rtdl_num_embeddings.PiecewiseLinearEmbeddings(
                bins, D_EMBEDDING, activation=False, version="B")
        self.meta_labels = len(self.meta["label"]) if self.task == "multilabel" else 0
        return TabM.make(n_num_features=0 if num is None else num.shape[1],
                         cat_cardinalities=self.features.cardinalities(),
                         d_out=self.outputs(), num_embeddings=embeddings, k=K)

    def forward(self, num, cat, rows):
        """(rows, k, outputs): every member's raw output."""
        return self.model(None if num is None else num[rows], None if cat is None else cat[rows])

    def loss(self, out, target):
        import torch.nn.functional as F
        k = out.shape[1]
        if self.task == "regression":
            return F.mse_loss(out.squeeze(-1), target[:, None].expand(-1, k))
        if self.task == "multilabel":
            return F.binary_cross_entropy_with_logits(out, target[:, None, :].expand(-1, k, -1))
        return F.cross_entropy(out.flatten(0, 1), target.repeat_interleave(k))

    def train_loop(self, data, fit_idx, val_idx):
        import torch
        num, cat, target = data
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        generator = torch.Generator().manual_seed(self.seed)
        fit_rows, val_rows = torch.as_tensor(fit_idx), torch.as_tensor(val_idx)
        best, best_state, waited = float("inf"), None, 0
        for _ in range(MAX_EPOCHS):
            self.model.train()
            for batch in fit_rows[torch.randperm(len(fit_rows), generator=generator)].split(BATCH):
                optimizer.zero_grad()
                self.loss(self.forward(num, cat, batch), target[batch]).backward()
                optimizer.step()
            val_loss = self.validation_loss(num, cat, target, val_rows)
            if val_loss < best:
                best, best_state, waited = val_loss, copy.deepcopy(self.model.state_dict()), 0
            else:
                waited += 1
                if waited >= PATIENCE:
                    break
        self.model.load_state_dict(best_state)

    def validation_loss(self, num, cat, target, rows) -> float:
        """The ensemble's loss: of the mean probability (classes) or mean value (regression)."""
        import torch
        import torch.nn.functional as F
        mean = self.mean_prediction(num, cat, rows)
        if self.task == "regression":
            return float(F.mse_loss(mean, target[rows]))
        if self.task == "multilabel":
            return float(F.binary_cross_entropy(mean.clamp(1e-7, 1 - 1e-7), target[rows]))
        return float(F.nll_loss(torch.log(mean.clamp_min(1e-12)), target[rows]))

    def mean_prediction(self, num, cat, rows):
        import torch
        self.model.eval()
        parts = []
        with torch.no_grad():
            for chunk in rows.split(4096):
                out = self.forward(num, cat, chunk)
                if self.task == "regression":
                    parts.append(out.squeeze(-1).mean(1))
                elif self.task == "multilabel":
                    parts.append(torch.sigmoid(out).mean(1))
                else:
                    parts.append(torch.softmax(out, dim=-1).mean(1))
        return torch.cat(parts)

    def predict(self, x) -> np.ndarray:
        import torch
        num, cat = self.features.transform(x)
        num, cat = (torch.as_tensor(a) if a is not None else None for a in (num, cat))
        rows = torch.arange(len(x))
        mean = self.mean_prediction(num, cat, rows).numpy()
        if self.task == "regression":
            return mean * self.std + self.mean
        if self.task == "multilabel":
            return (mean > 0.5).astype(int)
        return self.classes[mean.argmax(1)]


def tabm(meta: dict, seed: int, x, y):
    return TabMModel(meta, seed).fit(x, y)
