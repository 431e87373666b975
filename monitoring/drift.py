"""Drift analysis: a window of the prediction log against the served model's reference sample.

Four signals, each with its own verdict, all computed by one Evidently report:
  text        Evidently's domain classifier (TF-IDF + linear model, ROC AUC) on the raw text, plus the share
              of descriptions holding words the model's tokenizer never saw (ml.text.unknown_share).
  descriptors length, word count (Evidently descriptors), digit share, unknown-token share.
  attributes  year, material, condition read back from the text by monitoring.extract.
  prediction  the probability distribution and the share predicted non-compliant.

Thresholds widen for small windows (they never drop below Evidently's defaults), so sampling noise in a
window of a few hundred rows does not raise an alarm while a real shift still does.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.text import TokenizerSpec, split_tokens
from monitoring.extract import OTHER, UNKNOWN, extract_frame, is_attribute_word

SIGNALS = ("text", "descriptors", "attributes", "prediction")
DESCRIPTORS = ("length", "word_count", "digit_share", "unknown_share")
NON_COMPLIANT, COMPLIANT = "non-compliant", "compliant"


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


@dataclass
class DriftAnalysis:
    summary: dict
    snapshot: object | None = None  # evidently Snapshot (HTML report)
    reference: pd.DataFrame | None = None  # feature frames, for charts
    current: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)


# ---------------------------------------------------------------- features


def _tokens_frame(texts: pd.Series, spec: TokenizerSpec) -> tuple[np.ndarray, list[list[str]]]:
    shares = np.zeros(len(texts))
    unseen: list[list[str]] = []
    for i, text in enumerate(texts):
        tokens = split_tokens(text, unicode_form=spec.unicode_form, lowercase=spec.lowercase)
        missing = [t for t in tokens if t not in spec.index]
        shares[i] = len(missing) / len(tokens) if tokens else 0.0
        unseen.append(missing)
    return shares, unseen


def build_features(
    texts: pd.Series, probability: pd.Series, *, spec: TokenizerSpec, threshold: float
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Raw text + probability -> the columns every signal reads (descriptors computed by Evidently are added later)."""
    texts = texts.fillna("").astype(str).reset_index(drop=True)
    unknown, unseen = _tokens_frame(texts, spec)
    frame = extract_frame(texts)
    frame.insert(0, "text", texts)
    frame["digit_share"] = texts.str.count(r"\d") / texts.str.len().clip(lower=1)
    frame["unknown_share"] = unknown
    frame["probability"] = pd.to_numeric(probability, errors="coerce").astype(float).reset_index(drop=True)
    frame["predicted"] = np.where(frame["probability"] >= threshold, NON_COMPLIANT, COMPLIANT)
    return frame, unseen


# ---------------------------------------------------------------- thresholds


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


# ---------------------------------------------------------------- evidently


def _evidently_report(ref: pd.DataFrame, cur: pd.DataFrame, checks: list[tuple[str, str, float]]):
    """Run one Evidently report over both frames; returns (snapshot, {column: drift score}, descriptor frames)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.descriptors import TextLength, WordCount
    from evidently.metrics import MeanValue, ValueDrift

    numerical = ["year", "digit_share", "unknown_share", "probability"]
    categorical = ["material", "condition", "predicted"]
    definition = DataDefinition(text_columns=["text"], numerical_columns=numerical, categorical_columns=categorical)

    def dataset(df: pd.DataFrame):
        descriptors = [TextLength("text", alias="length"), WordCount("text", alias="word_count")]
        return Dataset.from_pandas(df[["text", *numerical, *categorical]], data_definition=definition, descriptors=descriptors)

    ref_ds, cur_ds = dataset(ref), dataset(cur)
    metrics = [ValueDrift(column=column, method=method, threshold=threshold) for column, method, threshold in checks]
    metrics.append(MeanValue(column="unknown_share"))
    snapshot = Report(metrics).run(cur_ds, ref_ds)
    scores: dict[str, float] = {}
    for item in snapshot.dict()["metrics"]:
        config = item.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            scores[config["column"]] = float(item["value"])
    cols = ["length", "word_count"]
    return snapshot, scores, ref_ds.as_dataframe()[cols].reset_index(drop=True), cur_ds.as_dataframe()[cols].reset_index(drop=True)


# ---------------------------------------------------------------- the analysis


def _shares(values: pd.Series) -> dict[str, float]:
    counts = values.dropna().value_counts(normalize=True)
    return {str(k): round(float(v), 4) for k, v in counts.sort_index().items()}


def _check(column: str, method: str, score: float | None, threshold: float, ref: pd.Series, cur: pd.Series) -> dict:
    out = {"method": method, "score": None if score is None else round(score, 4), "threshold": threshold}
    out["drift"] = bool(score is not None and score >= threshold)
    out["rows"] = {"reference": int(ref.notna().sum()), "current": int(cur.notna().sum())}
    if ref.dtype.kind in "fiu":
        out["reference_mean"], out["current_mean"] = _round(ref.mean()), _round(cur.mean())
        out["reference_median"], out["current_median"] = _round(ref.median()), _round(cur.median())
    else:
        out["reference_shares"], out["current_shares"] = _shares(ref), _shares(cur)
    return out


def _round(value, digits: int = 4):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)


def _top_unseen(unseen: list[list[str]], n: int = 5) -> list[tuple[str, int]]:
    """Unseen words by the number of descriptions holding them: material/condition words (what the regulation
    is about) first, English stop words ("the", "is") last."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    counts: Counter[str] = Counter()
    for words in unseen:
        counts.update(set(words))
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] in ENGLISH_STOP_WORDS, not is_attribute_word(kv[0]), -kv[1], kv[0]))
    return ranked[:n]


def _separating_words(ref_text: pd.Series, cur_text: pd.Series, seed: int, limit: int = 10_000) -> dict:
    """Evidently's own domain-classifier explanation: words and examples typical of each side."""
    from evidently.legacy.utils.data_drift_utils import get_text_data_for_plots

    ref_text = ref_text.sample(n=min(limit, len(ref_text)), random_state=seed)
    cur_text = cur_text.sample(n=min(limit, len(cur_text)), random_state=seed)
    examples_cur, _examples_ref, words_cur, words_ref = get_text_data_for_plots(ref_text, cur_text)
    return {"current": list(words_cur)[:10], "reference": list(words_ref)[:10], "examples_current": list(examples_cur)[:3]}


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
    rng = np.random.default_rng(opts.seed)
    if len(reference) > max_rows:
        reference = reference.iloc[np.sort(rng.choice(len(reference), max_rows, replace=False))].reset_index(drop=True)
    if n_cur > max_rows:
        current = current.iloc[np.sort(rng.choice(n_cur, max_rows, replace=False))].reset_index(drop=True)
    ref_f, ref_unseen = build_features(reference["text"], reference["probability"], spec=spec, threshold=threshold)
    cur_f, cur_unseen = build_features(current["text"], current["probability"], spec=spec, threshold=threshold)

    # Prediction drift compares the served model with its own reference: mask rows scored by other versions.
    prediction_scope = "all rows"
    if served_version and versions and set(versions) != {served_version}:
        mine = (current["model_version"].astype(str) == served_version).to_numpy()
        if mine.sum() >= opts.min_rows:
            cur_f.loc[~mine, "probability"] = np.nan
            cur_f.loc[~mine, "predicted"] = None
            prediction_scope = f"{int(mine.sum())} rows scored by version {served_version}"
        else:
            prediction_scope = f"all rows (only {int(mine.sum())} scored by served version {served_version})"

    ref_ev, cur_ev = ref_f, cur_f
    n_ref_ev, n_cur_ev = len(ref_ev), len(cur_ev)

    checks: list[tuple[str, str, float]] = [("text", "abs_text_content_drift", auc_threshold(n_ref_ev, n_cur_ev, opts))]
    for col in ("length", "word_count", "digit_share"):
        checks.append((col, "wasserstein", distance_threshold("wasserstein", n_ref_ev, n_cur_ev, opts)))
    year_rows = int(cur_ev["year"].notna().sum()), int(ref_ev["year"].notna().sum())
    if min(year_rows) >= 30:
        checks.append(("year", "wasserstein", distance_threshold("wasserstein", year_rows[1], year_rows[0], opts)))
    for col in ("material", "condition"):
        checks.append((col, "jensenshannon", distance_threshold("jensenshannon", n_ref_ev, n_cur_ev, opts)))
    n_pred = int(cur_ev["probability"].notna().sum())
    checks.append(("probability", "wasserstein", distance_threshold("wasserstein", n_ref_ev, n_pred, opts)))
    checks.append(("predicted", "jensenshannon", distance_threshold("jensenshannon", n_ref_ev, n_pred, opts)))

    snapshot, scores, ref_desc, cur_desc = _evidently_report(ref_ev, cur_ev, checks)
    for col in ("length", "word_count"):
        ref_ev = ref_ev.assign(**{col: ref_desc[col].to_numpy()})
        cur_ev = cur_ev.assign(**{col: cur_desc[col].to_numpy()})
    results = {col: _check(col, method, scores.get(col), thr, ref_ev[col], cur_ev[col]) for col, method, thr in checks if col != "text"}

    # text
    text_thr = checks[0][2]
    auc = scores.get("text")
    ref_has = float(np.mean([bool(u) for u in ref_unseen])) if ref_unseen else 0.0
    cur_has = float(np.mean([bool(u) for u in cur_unseen]))
    text = {
        "method": "Evidently domain classifier (ROC AUC, abs_text_content_drift)",
        "roc_auc": _round(auc),
        "threshold": text_thr,
        "classifier_drift": bool(auc is not None and auc > text_thr),
        "rows": {"reference": n_ref_ev, "current": n_cur_ev},
        "unseen_word_share": {"reference": round(ref_has, 4), "current": round(cur_has, 4), "threshold_delta": opts.unseen_delta},
        "top_unseen_words": _top_unseen(cur_unseen),
    }
    text["unseen_drift"] = bool(cur_has - ref_has >= opts.unseen_delta)
    text["drift"] = text["classifier_drift"] or text["unseen_drift"]
    if text["classifier_drift"]:
        try:
            text["separating_words"] = _separating_words(ref_ev["text"], cur_ev["text"], opts.seed)
        except Exception as exc:  # an explanation must never sink the report
            text["separating_words"] = {"error": str(exc)}

    descriptors = {
        "columns": {c: results[c] for c in ("length", "word_count", "digit_share")},
        "unknown_share": {
            "reference_mean": _round(ref_f["unknown_share"].mean()),
            "current_mean": _round(cur_f["unknown_share"].mean()),
            "drift": bool(cur_has - ref_has >= opts.unseen_delta),
        },
    }
    descriptors["drift"] = any(v["drift"] for v in descriptors["columns"].values()) or descriptors["unknown_share"]["drift"]

    missing_ref, missing_cur = float(ref_f["year"].isna().mean()), float(cur_f["year"].isna().mean())
    attributes = {"columns": {c: results[c] for c in ("year", "material", "condition") if c in results}}
    attributes["year_missing"] = {
        "reference": round(missing_ref, 4),
        "current": round(missing_cur, 4),
        "drift": bool(missing_cur - missing_ref >= opts.missing_year_delta),
    }
    if "year" in attributes["columns"]:
        lo, hi = ref_f["year"].min(), ref_f["year"].max()
        years = cur_f["year"].dropna()
        attributes["columns"]["year"]["reference_range"] = [_round(lo, 0), _round(hi, 0)]
        attributes["columns"]["year"]["current_outside_range"] = _round(float(((years < lo) | (years > hi)).mean()) if len(years) else 0.0)
    attributes["drift"] = any(v["drift"] for v in attributes["columns"].values()) or attributes["year_missing"]["drift"]

    share_ref = float((ref_f["predicted"] == NON_COMPLIANT).mean())
    share_cur = float((cur_f["predicted"].dropna() == NON_COMPLIANT).mean())
    prediction = {
        "columns": {c: results[c] for c in ("probability", "predicted")},
        "share_non_compliant": {"reference": round(share_ref, 4), "current": round(share_cur, 4)},
        "scope": prediction_scope,
    }
    prediction["drift"] = any(v["drift"] for v in prediction["columns"].values())

    signals = {"text": text, "descriptors": descriptors, "attributes": attributes, "prediction": prediction}
    for sig in signals.values():
        sig["status"] = "drift" if sig["drift"] else "ok"
    flagged = [name for name in SIGNALS if signals[name]["drift"]]
    summary = {
        "status": "drift" if flagged else "ok",
        "rows": n_cur,
        "reference_rows": len(ref_f),
        "analysed_rows": {"reference": n_ref_ev, "current": n_cur_ev},
        "model_versions": {str(k): int(v) for k, v in versions.items()},
        "flagged": flagged,
        "signals": signals,
    }
    summary["headline"] = headline(summary)
    return DriftAnalysis(summary=summary, snapshot=snapshot, reference=ref_f, current=cur_f)


# ---------------------------------------------------------------- words for operators


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share_changes(check: dict, n: int = 2) -> str:
    ref, cur = check.get("reference_shares", {}), check.get("current_shares", {})
    keys = sorted(set(ref) | set(cur), key=lambda k: -abs(cur.get(k, 0) - ref.get(k, 0)))[:n]
    return ", ".join(f"{k} {_pct(ref.get(k, 0))} -> {_pct(cur.get(k, 0))}" for k in keys)


def _text_phrase(text: dict) -> str:
    unseen = text["unseen_word_share"]
    words = ", ".join(f"'{w}'" for w, _ in text["top_unseen_words"][:3])
    if text["unseen_drift"]:
        return f"text drift: {_pct(unseen['current'])} of new descriptions use words the model never saw in training (top: {words})"
    separating = [w for w in text.get("separating_words", {}).get("current", [])[:3]]
    said = f"; telling words: {', '.join(repr(w) for w in separating)}" if separating else ""
    return f"text drift: new descriptions read differently from training ones (domain classifier ROC AUC {text['roc_auc']:.2f}{said})"


def headline(summary: dict) -> str:
    signals = summary["signals"]
    if summary["status"] == "ok":
        text = signals["text"]
        return (
            f"no drift: {summary['rows']} predictions look like the training sample on all 4 signals "
            f"(text ROC AUC {text['roc_auc']:.2f}, {_pct(text['unseen_word_share']['current'])} with unseen words)"
        )
    parts = []
    if signals["text"]["drift"]:
        parts.append(_text_phrase(signals["text"]))
    if signals["descriptors"]["drift"]:
        cols = signals["descriptors"]["columns"]
        moved = [f"{c.replace('_', ' ')} {v['reference_mean']:.3g} -> {v['current_mean']:.3g}" for c, v in cols.items() if v["drift"]]
        if signals["descriptors"]["unknown_share"]["drift"]:
            u = signals["descriptors"]["unknown_share"]
            moved.append(f"unknown-token share {_pct(u['reference_mean'])} -> {_pct(u['current_mean'])}")
        parts.append("descriptors: " + ", ".join(moved))
    if signals["attributes"]["drift"]:
        cols = signals["attributes"]["columns"]
        moved = []
        if "year" in cols and cols["year"]["drift"]:
            year = cols["year"]
            said = f"median year {year['reference_median']:.0f} -> {year['current_median']:.0f}"
            if (year.get("current_outside_range") or 0) >= 0.05:
                lo, hi = year["reference_range"]
                said += f", {_pct(year['current_outside_range'])} of years outside the training range {lo:.0f}-{hi:.0f}"
            moved.append(said)
        for c in ("material", "condition"):
            if c in cols and cols[c]["drift"]:
                moved.append(f"{c} {_share_changes(cols[c])}")
        if signals["attributes"]["year_missing"]["drift"]:
            moved.append(f"no year in {_pct(signals['attributes']['year_missing']['current'])} of descriptions")
        parts.append("attributes: " + "; ".join(moved))
    if signals["prediction"]["drift"]:
        share = signals["prediction"]["share_non_compliant"]
        parts.append(f"predictions: {_pct(share['current'])} non-compliant vs {_pct(share['reference'])} in training")
    return f"DRIFT in {len(summary['flagged'])} of 4 signals: " + " | ".join(parts)


__all__ = ["OTHER", "SIGNALS", "UNKNOWN", "DriftAnalysis", "DriftOptions", "analyse", "build_features", "headline", "insufficient"]
