"""The drift analysis: a window of the prediction log against the served model's reference sample."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.text import TokenizerSpec
from monitoring.drift.features import build_features
from monitoring.drift.headline import headline
from monitoring.drift.options import DriftOptions
from monitoring.drift.report import DESCRIPTORS, evidently_report
from monitoring.drift.signals import attribute_signal, column_check, descriptor_signal, plan_checks, prediction_signal, text_signal

SIGNALS = ("text", "descriptors", "attributes", "prediction")


@dataclass
class DriftAnalysis:
    summary: dict
    snapshot: object | None = None  # evidently Snapshot (HTML report)
    reference: pd.DataFrame | None = None  # feature frames, for charts
    current: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)


def insufficient(rows: int, min_rows: int) -> dict:
    return {
        "status": "insufficient_data",
        "headline": f"not enough data ({rows} rows, need {min_rows})",
        "rows": rows,
        "min_rows": min_rows,
    }


def analyse(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    spec: TokenizerSpec,
    threshold: float = 0.5,
    served_version: str | None = None,
    options: DriftOptions | None = None,
    max_rows: int = 100_000,
) -> DriftAnalysis:
    """Compare `current` (text, probability[, model_version]) with `reference` (text, probability).

    Returns the summary dict (status 'ok' | 'drift' | 'insufficient_data', headline, per-signal verdicts)
    and the Evidently snapshot for the HTML report. Sides larger than `max_rows` are analysed on a
    uniform random sample of `max_rows` rows (fixed seed), which bounds the job's time and memory.
    """
    opts = options or DriftOptions()
    n_cur = len(current)
    if n_cur < opts.min_rows:
        return DriftAnalysis(summary=insufficient(n_cur, opts.min_rows))
    versions = current["model_version"].astype(str).value_counts().to_dict() if "model_version" in current else {}
    reference, current = _bounded(reference, current, max_rows=max_rows, seed=opts.seed)
    ref_f, ref_unseen = build_features(reference["text"], reference["probability"], spec=spec, threshold=threshold)
    cur_f, cur_unseen = build_features(current["text"], current["probability"], spec=spec, threshold=threshold)
    scope = _keep_served_predictions(cur_f, current, versions=versions, served_version=served_version, min_rows=opts.min_rows)

    checks = plan_checks(ref_f, cur_f, opts)
    snapshot, scores, ref_desc, cur_desc = evidently_report(ref_f, cur_f, checks)
    ref_ev = ref_f.assign(**{col: ref_desc[col].to_numpy() for col in DESCRIPTORS})
    cur_ev = cur_f.assign(**{col: cur_desc[col].to_numpy() for col in DESCRIPTORS})
    results = {col: column_check(method, scores.get(col), thr, ref_ev[col], cur_ev[col]) for col, method, thr in checks if col != "text"}

    text = text_signal(ref_ev, cur_ev, auc=scores.get("text"), threshold=checks[0][2], unseen=(ref_unseen, cur_unseen), opts=opts)
    signals = {
        "text": text,
        "descriptors": descriptor_signal(results, ref_f, cur_f, unseen_drift=text["unseen_drift"]),
        "attributes": attribute_signal(results, ref_f, cur_f, opts),
        "prediction": prediction_signal(results, ref_f, cur_f, scope=scope),
    }
    summary = _summary(signals, rows=n_cur, analysed=(len(ref_f), len(cur_f)), versions=versions)
    return DriftAnalysis(summary=summary, snapshot=snapshot, reference=ref_f, current=cur_f)


def _bounded(reference: pd.DataFrame, current: pd.DataFrame, *, max_rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each side, or a uniform sample of max_rows of it (one seeded generator: reference first, then current)."""
    rng = np.random.default_rng(seed)
    if len(reference) > max_rows:
        reference = reference.iloc[np.sort(rng.choice(len(reference), max_rows, replace=False))].reset_index(drop=True)
    if len(current) > max_rows:
        current = current.iloc[np.sort(rng.choice(len(current), max_rows, replace=False))].reset_index(drop=True)
    return reference, current


def _keep_served_predictions(features: pd.DataFrame, current: pd.DataFrame, *, versions: dict, served_version, min_rows: int) -> str:
    """Prediction drift compares the served model with its own reference: blank out (in `features`) the
    predictions other versions made, when the served one made enough. Returns the scope, in words."""
    if not (served_version and versions and set(versions) != {served_version}):
        return "all rows"
    mine = (current["model_version"].astype(str) == served_version).to_numpy()
    if mine.sum() < min_rows:
        return f"all rows (only {int(mine.sum())} scored by served version {served_version})"
    features.loc[~mine, "probability"] = np.nan
    features.loc[~mine, "predicted"] = None
    return f"{int(mine.sum())} rows scored by version {served_version}"


def _summary(signals: dict, *, rows: int, analysed: tuple[int, int], versions: dict) -> dict:
    for sig in signals.values():
        sig["status"] = "drift" if sig["drift"] else "ok"
    flagged = [name for name in SIGNALS if signals[name]["drift"]]
    summary = {
        "status": "drift" if flagged else "ok",
        "rows": rows,
        "reference_rows": analysed[0],
        "analysed_rows": {"reference": analysed[0], "current": analysed[1]},
        "model_versions": {str(k): int(v) for k, v in versions.items()},
        "flagged": flagged,
        "signals": signals,
    }
    summary["headline"] = headline(summary)
    return summary


def with_window(summary: dict, stats, *, sampled: int, served_version: str | None) -> dict:
    """The summary of an analysis run on a sample, completed with the whole window's numbers (monitoring.window)."""
    summary = {**summary, "rows": stats.rows, "model_versions": stats.summary()["model_versions"]}
    summary["window_stats"] = stats.summary(served_version)
    summary["sample"] = stats.sample_summary(sampled)
    summary["headline"] = headline(summary)
    return summary
