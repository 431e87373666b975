"""Operations on a labelled frame: its content digest and its train / validation / test split."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def data_digest(frame: pd.DataFrame) -> str:
    """A content digest of text + label, so a model records exactly which data made it."""
    digest = hashlib.sha256()
    cols = [c for c in ("text", "label") if c in frame.columns]
    for values in frame[cols].itertuples(index=False):
        digest.update("\x1f".join(map(str, values)).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def split(frame: pd.DataFrame, *, seed: int = 7, val: float = 0.05, test: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffle and split into train / validation / test (the reference used 90/5/5)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    n_test, n_val = round(len(frame) * test), round(len(frame) * val)
    test_idx, val_idx, train_idx = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return (
        frame.iloc[train_idx].reset_index(drop=True),
        frame.iloc[val_idx].reset_index(drop=True),
        frame.iloc[test_idx].reset_index(drop=True),
    )
