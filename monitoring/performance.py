"""Live model performance from the prediction log and reviewers' feedback.

Measured: accuracy, precision and recall (positive class = non-compliant) per model version, from the
latest feedback on each prediction, with row counts and Wilson 95% intervals. Estimated: for rows nobody
reviewed, the calibration-based accuracy mean(max(p, 1 - p)), shown beside the measured one. Operations:
latency percentiles and request volume. Every number covers the whole window, read once in chunks
(monitoring.performance_window); `analyse_performance` takes a window already in memory as one chunk.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from monitoring.performance_window import PerformanceWindow, VersionTotals

Z95 = 1.959964


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (good at small n and near 0 or 1)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def _rate(successes: int, n: int) -> dict:
    return {"value": round(successes / n, 4) if n else None, "n": int(n), "ci": wilson(successes, n)}


def link_feedback(predictions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Latest feedback per prediction, as prediction rows with a `correct_label` column.

    Feedback names its prediction (prediction_id); feedback without one is matched to the latest
    prediction of the same component made before it.
    """
    cols = ["prediction_id", "correct_label", "feedback_at"]
    if feedback.empty or predictions.empty:
        return pd.DataFrame(columns=cols)
    fb = feedback.rename(columns={"created_at": "feedback_at"}).copy()
    linked = fb[fb["prediction_id"].notna()][["prediction_id", "correct_label", "feedback_at", "id"]]
    loose = fb[fb["prediction_id"].isna() & fb["component_id"].notna()]
    parts = [linked]
    if len(loose):
        preds = predictions[predictions["component_id"].notna()][["id", "component_id", "created_at"]].copy()
        if len(preds):
            preds["component_id"] = preds["component_id"].astype("int64")
            loose = loose.assign(component_id=loose["component_id"].astype("int64")).sort_values("feedback_at")
            matched = pd.merge_asof(
                loose.drop(columns=["prediction_id"]),
                preds.sort_values("created_at").rename(columns={"id": "prediction_id"}),
                left_on="feedback_at",
                right_on="created_at",
                by="component_id",
                direction="backward",
            ).dropna(subset=["prediction_id"])
            parts.append(matched[["prediction_id", "correct_label", "feedback_at", "id"]])
    allfb = pd.concat(parts, ignore_index=True)
    allfb["prediction_id"] = allfb["prediction_id"].astype("int64")
    allfb = allfb.sort_values(["feedback_at", "id"]).drop_duplicates("prediction_id", keep="last")
    return allfb[cols]


def _version_metrics(totals: VersionTotals, reviewed: pd.DataFrame) -> dict:
    """One version's (or all versions') numbers: `totals` over every row, `reviewed` the rows with a correct label."""
    y = reviewed["correct_label"].astype(int).to_numpy()
    yhat = reviewed["label"].astype(int).to_numpy()
    tp = int(((y == 1) & (yhat == 1)).sum())
    fp = int(((y == 0) & (yhat == 1)).sum())
    fn = int(((y == 1) & (yhat == 0)).sum())
    reviewed_p = reviewed["probability"].dropna().to_numpy(dtype=float)
    reviewed_confidence = np.maximum(reviewed_p, 1 - reviewed_p)
    unreviewed = totals.confidence_rows - len(reviewed_p)  # rows with a probability that nobody reviewed
    unreviewed_confidence = totals.confidence_sum - float(reviewed_confidence.sum())
    return {
        "predictions": totals.rows,
        "reviewed": len(reviewed),
        "corrected": int((y != yhat).sum()),
        "accuracy": _rate(int((y == yhat).sum()), len(reviewed)),
        "precision": _rate(tp, tp + fp),
        "recall": _rate(tp, tp + fn),
        "estimated_accuracy_unreviewed": round(unreviewed_confidence / unreviewed, 4) if unreviewed else None,
        "unreviewed": unreviewed,
        "mean_confidence_reviewed": round(float(reviewed_confidence.mean()), 4) if len(reviewed_p) else None,
        "latency_ms": _latency(totals.latencies()),
    }


def _latency(values: np.ndarray) -> dict:
    if not len(values):
        return {}
    q = np.percentile(values, [50, 90, 95, 99])
    return {
        "p50": round(float(q[0]), 3),
        "p90": round(float(q[1]), 3),
        "p95": round(float(q[2]), 3),
        "p99": round(float(q[3]), 3),
        "max": round(float(values.max()), 3),
        "mean": round(float(values.mean()), 3),
    }


def _volume(window: PerformanceWindow, window_hours: float | None) -> dict:
    if not window.rows:
        return {"requests": 0}
    per_hour = window.per_hour()
    per_day = per_hour.resample("1D").sum()
    hours = window_hours or max(1.0, (window.last - window.first).total_seconds() / 3600)
    sources = pd.Series(window.per_source or {}, dtype="int64").sort_values(ascending=False, kind="stable")
    return {
        "requests": window.rows,
        "per_source": {str(k): int(v) for k, v in sources.items()},
        "per_day": {str(k.date()): int(v) for k, v in per_day.items()},
        "mean_per_hour": round(window.rows / max(hours, 1e-9), 3),
        "peak_hour": {"at": str(per_hour.idxmax()), "requests": int(per_hour.max())},
    }


def analyse_performance(predictions: pd.DataFrame, feedback: pd.DataFrame, **options) -> dict:
    """The summary for a window held in memory: `predictions` as one chunk (options: summarise_performance's)."""
    window = PerformanceWindow(feedback)
    window.add(predictions)
    return summarise_performance(window, **options)


def summarise_performance(
    window: PerformanceWindow,
    *,
    served_version: str | None = None,
    min_reviewed: int = 30,
    min_accuracy: float = 0.95,
    window_hours: float | None = None,
) -> dict:
    """Summary dict: status, headline, per-version metrics, latency and volume, from a window read in chunks."""
    if not window.rows:
        return {"status": "insufficient_data", "headline": "not enough data (0 rows, need 1): no predictions in the window", "rows": 0}
    served = served_version or window.latest_version
    judged = window.judged_rows()
    labels = link_feedback(judged, window.feedback)
    rows = judged.merge(labels, how="left", left_on="id", right_on="prediction_id")
    reviewed = rows[rows["correct_label"].notna()]
    versions = {v: _version_metrics(window.versions[v], reviewed[reviewed["model_version"] == v]) for v in sorted(window.versions)}
    overall = _version_metrics(VersionTotals.combined(list(window.versions.values())), reviewed)
    mine = versions.get(served)
    status = "ok"
    if mine and mine["reviewed"] >= min_reviewed and mine["accuracy"]["ci"][1] < min_accuracy:
        status = "drift"  # measured accuracy is credibly below the floor: a degradation alert
    summary = {
        "status": status,
        "rows": window.rows,
        "served_version": served,
        "min_reviewed": min_reviewed,
        "min_accuracy": min_accuracy,
        "versions": versions,
        "overall": overall,
        "latency_ms": dict(overall["latency_ms"]),
        "volume": _volume(window, window_hours),
    }
    summary["headline"] = performance_headline(summary)
    return summary


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def performance_headline(summary: dict) -> str:
    served = summary["served_version"]
    m = summary["versions"].get(served)
    lat = summary["latency_ms"]
    tail = (
        f"; p95 latency {lat['p95']:.1f} ms; {summary['volume']['requests']} requests"
        if lat
        else f"; {summary['volume']['requests']} requests"
    )
    if not m:
        return f"model {served}: no predictions in the window" + tail
    est = f"estimated {_pct(m['estimated_accuracy_unreviewed'])} on {m['unreviewed']} unreviewed"
    acc = m["accuracy"]
    if acc["n"] == 0:
        measured = "no reviewed predictions yet"
    else:
        lo, hi = acc["ci"]
        measured = f"measured accuracy {_pct(acc['value'])} (95% CI {_pct(lo)}-{_pct(hi)}, {acc['n']} reviewed)"
        if acc["n"] < summary["min_reviewed"]:
            measured += f" [fewer than {summary['min_reviewed']} reviews: indicative only]"
    prefix = "ACCURACY BELOW FLOOR: " if summary["status"] == "drift" else ""
    return f"{prefix}model {served}: {measured} vs {est}" + tail
