"""The drift summary in words for operators: one headline naming what moved and how."""

from __future__ import annotations


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
    sample = summary.get("sample") or {}
    sampled = f"; Evidently on a stratified sample of {sample['size']}" if sample and sample["size"] < summary["rows"] else ""
    if summary["status"] == "ok":
        text = signals["text"]
        return (
            f"no drift: {summary['rows']} predictions look like the training sample on all 4 signals "
            f"(text ROC AUC {text['roc_auc']:.2f}, {_pct(text['unseen_word_share']['current'])} with unseen words{sampled})"
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
    return f"DRIFT in {len(summary['flagged'])} of 4 signals: " + " | ".join(parts) + sampled
