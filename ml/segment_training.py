"""Training the component-vs-boilerplate score (ml.documents.scorer): a logistic model on hashed features of
generated component text (table rows, list items, sentences) and generated boilerplate. scikit-learn here;
the result is numpy weights that serving reads without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.data.specs import Truth, boilerplate_texts, document_texts
from ml.documents.scorer import FEATURE_BITS, SegmentScorer, feature_ids


def training_segments(rows: int = 12_000, *, seed: int = 21, style: str = "train") -> list[Truth]:
    """Half component texts, half boilerplate, in the given style (train or holdout)."""
    return document_texts(rows // 2, seed=seed, style=style) + boilerplate_texts(rows - rows // 2, seed=seed + 1, style=style)


def feature_matrix(texts: list[str], kinds: list[str]):
    from scipy import sparse

    ids = [feature_ids(t, k) for t, k in zip(texts, kinds, strict=True)]
    indptr = np.concatenate([[0], np.cumsum([len(i) for i in ids])])
    data = np.ones(int(indptr[-1]), dtype=np.float32)
    return sparse.csr_matrix((data, np.concatenate(ids), indptr), shape=(len(ids), 1 << FEATURE_BITS))


def train_scorer(segments: list[Truth], *, c: float = 4.0) -> SegmentScorer:
    """Fit the score on segments whose label is not None (a component) or None (boilerplate)."""
    from sklearn.linear_model import LogisticRegression

    y = np.array([s.label is not None for s in segments], dtype=int)
    matrix = feature_matrix([s.text for s in segments], [s.kind for s in segments])
    model = LogisticRegression(C=c, max_iter=2000, solver="liblinear", random_state=0)
    model.fit(matrix, y)
    return SegmentScorer(weights=model.coef_[0].astype(np.float32), bias=float(model.intercept_[0]))


def scorer_accuracy(scorer: SegmentScorer, segments: list[Truth]) -> dict[str, float]:
    """Share of components scored as components, and of boilerplate scored as boilerplate."""
    scores = scorer.score([s.text for s in segments], [s.kind for s in segments])
    is_component = np.array([s.label is not None for s in segments])
    chosen = scores >= scorer.threshold
    return {
        "components_found": float(chosen[is_component].mean()) if is_component.any() else 1.0,
        "boilerplate_skipped": float((~chosen[~is_component]).mean()) if (~is_component).any() else 1.0,
    }


def train_default(out: Path, *, rows: int = 12_000, seed: int = 21) -> tuple[SegmentScorer, dict]:
    """Train on the training styles, check on the held-out styles, write the weights."""
    scorer = train_scorer(training_segments(rows, seed=seed))
    checks = scorer_accuracy(scorer, training_segments(4000, seed=seed + 100, style="holdout"))
    scorer.save(out)
    return scorer, checks
