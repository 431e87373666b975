"""The drift job's knobs, and the thresholds they give for windows of a given size.

Thresholds widen for small windows (they never drop below Evidently's defaults), so sampling noise in a
window of a few hundred rows does not raise an alarm while a real shift still does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DriftOptions:
    min_rows: int = 200  # below this the verdict is "not enough data"
    text_sample: int = 20_000  # rows per side fed to the domain classifier (all other signals use every row)
    auc_threshold: float = 0.55  # Evidently's default for abs_text_content_drift
    auc_z: float = 4.0  # ... raised to 0.5 + z * standard error of a random classifier's AUC
    distance_threshold: float = 0.1  # Evidently's default for wasserstein (normed) and jensenshannon
    wasserstein_k: float = 2.5  # ... raised to k / sqrt(n_eff) for small windows
    jensenshannon_k: float = 1.6
    unseen_delta: float = 0.05  # drift when 5 more points of descriptions hold unseen words than in training
    missing_year_delta: float = 0.10
    seed: int = 42


def _n_eff(n_ref: int, n_cur: int) -> float:
    return n_ref * n_cur / max(1, n_ref + n_cur)


def auc_threshold(n_ref: int, n_cur: int, opts: DriftOptions) -> float:
    """Evidently trains on half the rows and scores the other half: SE of a random AUC on that half."""
    n1, n2 = max(1, n_ref // 2), max(1, n_cur // 2)
    se = math.sqrt((n1 + n2 + 1) / (12 * n1 * n2))
    return round(max(opts.auc_threshold, 0.5 + opts.auc_z * se), 4)


def distance_threshold(method: str, n_ref: int, n_cur: int, opts: DriftOptions) -> float:
    k = opts.wasserstein_k if method == "wasserstein" else opts.jensenshannon_k
    return round(max(opts.distance_threshold, k / math.sqrt(max(1.0, _n_eff(n_ref, n_cur)))), 4)
