"""The per-column checks the Evidently report runs, and the four signals built from their scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from monitoring.drift.features import NON_COMPLIANT, top_unseen
from monitoring.drift.options import DriftOptions, auc_threshold, distance_threshold

Check = tuple[str, str, float]  # (column, Evidently method, threshold)


def plan_checks(ref: pd.DataFrame, cur: pd.DataFrame, opts: DriftOptions) -> list[Check]:
    """Which columns to test, how, and at which threshold for these window sizes; the text check comes first."""
    n_ref, n_cur = len(ref), len(cur)
    checks: list[Check] = [("text", "abs_text_content_drift", auc_threshold(n_ref, n_cur, opts))]
    for col in ("length", "word_count", "digit_share"):
        checks.append((col, "wasserstein", distance_threshold("wasserstein", n_ref, n_cur, opts)))
    year_rows = int(cur["year"].notna().sum()), int(ref["year"].notna().sum())
    if min(year_rows) >= 30:
        checks.append(("year", "wasserstein", distance_threshold("wasserstein", year_rows[1], year_rows[0], opts)))
    for col in ("material", "condition"):
        checks.append((col, "jensenshannon", distance_threshold("jensenshannon", n_ref, n_cur, opts)))
    n_pred = int(cur["probability"].notna().sum())
    checks.append(("probability", "wasserstein", distance_threshold("wasserstein", n_ref, n_pred, opts)))
    checks.append(("predicted", "jensenshannon", distance_threshold("jensenshannon", n_ref, n_pred, opts)))
    return checks


def _round(value, digits: int = 4):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)


def _shares(values: pd.Series) -> dict[str, float]:
    counts = values.dropna().value_counts(normalize=True)
    return {str(k): round(float(v), 4) for k, v in counts.sort_index().items()}


def column_check(method: str, score: float | None, threshold: float, ref: pd.Series, cur: pd.Series) -> dict:
    out = {"method": method, "score": None if score is None else round(score, 4), "threshold": threshold}
    out["drift"] = bool(score is not None and score >= threshold)
    out["rows"] = {"reference": int(ref.notna().sum()), "current": int(cur.notna().sum())}
    if ref.dtype.kind in "fiu":
        out["reference_mean"], out["current_mean"] = _round(ref.mean()), _round(cur.mean())
        out["reference_median"], out["current_median"] = _round(ref.median()), _round(cur.median())
    else:
        out["reference_shares"], out["current_shares"] = _shares(ref), _shares(cur)
    return out


def text_signal(
    ref: pd.DataFrame, cur: pd.DataFrame, *, auc: float | None, threshold: float, unseen: tuple[list, list], opts: DriftOptions
) -> dict:
    """Evidently's domain classifier on the raw text, plus the share of descriptions with words never trained on."""
    from monitoring.drift.report import separating_words

    ref_unseen, cur_unseen = unseen
    ref_has = float(np.mean([bool(u) for u in ref_unseen])) if ref_unseen else 0.0
    cur_has = float(np.mean([bool(u) for u in cur_unseen]))
    text = {
        "method": "Evidently domain classifier (ROC AUC, abs_text_content_drift)",
        "roc_auc": _round(auc),
        "threshold": threshold,
        "classifier_drift": bool(auc is not None and auc > threshold),
        "rows": {"reference": len(ref), "current": len(cur)},
        "unseen_word_share": {"reference": round(ref_has, 4), "current": round(cur_has, 4), "threshold_delta": opts.unseen_delta},
        "top_unseen_words": top_unseen(cur_unseen),
    }
    text["unseen_drift"] = bool(cur_has - ref_has >= opts.unseen_delta)
    text["drift"] = text["classifier_drift"] or text["unseen_drift"]
    if text["classifier_drift"]:
        try:
            text["separating_words"] = separating_words(ref["text"], cur["text"], opts.seed)
        except Exception as exc:  # an explanation must never sink the report
            text["separating_words"] = {"error": str(exc)}
    return text


def descriptor_signal(results: dict, ref: pd.DataFrame, cur: pd.DataFrame, *, unseen_drift: bool) -> dict:
    descriptors = {
        "columns": {c: results[c] for c in ("length", "word_count", "digit_share")},
        "unknown_share": {
            "reference_mean": _round(ref["unknown_share"].mean()),
            "current_mean": _round(cur["unknown_share"].mean()),
            "drift": unseen_drift,
        },
    }
    descriptors["drift"] = any(v["drift"] for v in descriptors["columns"].values()) or descriptors["unknown_share"]["drift"]
    return descriptors


def attribute_signal(results: dict, ref: pd.DataFrame, cur: pd.DataFrame, opts: DriftOptions) -> dict:
    """Year, material and condition read back from the text; a year found less often is drift too."""
    missing_ref, missing_cur = float(ref["year"].isna().mean()), float(cur["year"].isna().mean())
    attributes = {"columns": {c: results[c] for c in ("year", "material", "condition") if c in results}}
    attributes["year_missing"] = {
        "reference": round(missing_ref, 4),
        "current": round(missing_cur, 4),
        "drift": bool(missing_cur - missing_ref >= opts.missing_year_delta),
    }
    if "year" in attributes["columns"]:
        lo, hi = ref["year"].min(), ref["year"].max()
        years = cur["year"].dropna()
        attributes["columns"]["year"]["reference_range"] = [_round(lo, 0), _round(hi, 0)]
        attributes["columns"]["year"]["current_outside_range"] = _round(float(((years < lo) | (years > hi)).mean()) if len(years) else 0.0)
    attributes["drift"] = any(v["drift"] for v in attributes["columns"].values()) or attributes["year_missing"]["drift"]
    return attributes


def prediction_signal(results: dict, ref: pd.DataFrame, cur: pd.DataFrame, *, scope: str) -> dict:
    share_ref = float((ref["predicted"] == NON_COMPLIANT).mean())
    share_cur = float((cur["predicted"].dropna() == NON_COMPLIANT).mean())
    prediction = {
        "columns": {c: results[c] for c in ("probability", "predicted")},
        "share_non_compliant": {"reference": round(share_ref, 4), "current": round(share_cur, 4)},
        "scope": scope,
    }
    prediction["drift"] = any(v["drift"] for v in prediction["columns"].values())
    return prediction
