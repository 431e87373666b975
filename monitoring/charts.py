"""PNG charts for operators who would rather look than read (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.performance_window import PerformanceWindow, VersionTotals

REF_COLOR, CUR_COLOR = "#4c72b0", "#dd8452"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _hist(ax, ref: pd.Series, cur: pd.Series, title: str, bins: int = 30) -> None:
    ref, cur = ref.dropna().to_numpy(dtype=float), cur.dropna().to_numpy(dtype=float)
    both = np.concatenate([ref, cur]) if len(ref) + len(cur) else np.zeros(1)
    edges = np.histogram_bin_edges(both, bins=bins)
    ax.hist(ref, bins=edges, density=True, alpha=0.55, color=REF_COLOR, label="training sample")
    ax.hist(cur, bins=edges, density=True, alpha=0.55, color=CUR_COLOR, label="this window")
    ax.set_title(title, fontsize=10)


def _bars(ax, ref: pd.Series, cur: pd.Series, title: str) -> None:
    r, c = ref.value_counts(normalize=True), cur.dropna().value_counts(normalize=True)
    keys = sorted(set(r.index) | set(c.index), key=str)
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [r.get(k, 0) for k in keys], 0.4, color=REF_COLOR, label="training sample")
    ax.bar(x + 0.2, [c.get(k, 0) for k in keys], 0.4, color=CUR_COLOR, label="this window")
    ax.set_xticks(x, [str(k) for k in keys], rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")


def _verdict(summary: dict, signal: str) -> str:
    return "DRIFT" if summary["signals"][signal]["drift"] else "ok"


def drift_charts(summary: dict, reference: pd.DataFrame, current: pd.DataFrame, path: Path) -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    _hist(axes[0, 0], reference["probability"], current["probability"], f"P(non-compliant) [prediction: {_verdict(summary, 'prediction')}]")
    _hist(axes[0, 1], reference["year"], current["year"], f"year in text [attributes: {_verdict(summary, 'attributes')}]")
    _bars(axes[0, 2], reference["material"], current["material"], "material in text")
    _bars(axes[1, 0], reference["condition"], current["condition"], "condition in text")
    length_ref = reference["text"].str.len()
    length_cur = current["text"].str.len()
    _hist(axes[1, 1], length_ref, length_cur, f"description length [descriptors: {_verdict(summary, 'descriptors')}]")
    ax = axes[1, 2]
    words = summary["signals"]["text"]["top_unseen_words"][:8]
    rows = max(1, len(current))
    if words:
        ax.barh([w for w, _ in words][::-1], [c / rows for _, c in words][::-1], color=CUR_COLOR)
        ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    else:
        ax.text(0.5, 0.5, "no unseen words", ha="center", va="center")
    ax.set_title(f"words the model never saw (share of rows) [text: {_verdict(summary, 'text')}]", fontsize=10)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(_wrap(summary.get("headline", "")), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def performance_charts(summary: dict, window: PerformanceWindow, path: Path) -> Path:
    """Accuracy per version (measured vs estimated), the latency histogram, requests per hour."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    versions = summary.get("versions", {})
    names = list(versions)
    ax = axes[0]
    for i, name in enumerate(names):
        acc = versions[name].get("accuracy") or {}
        if acc.get("value") is not None:
            lo, hi = acc["ci"]
            ax.errorbar([i], [acc["value"]], yerr=[[acc["value"] - lo], [hi - acc["value"]]], fmt="o", color=CUR_COLOR, capsize=4)
        est = versions[name].get("estimated_accuracy_unreviewed")
        if est is not None:
            ax.plot([i + 0.15], [est], "s", color=REF_COLOR)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_title("accuracy: measured (95% CI, o) vs estimated (s)", fontsize=10)
    lat = pd.Series(VersionTotals.combined(list(window.versions.values())).latencies(), dtype=float)
    if len(lat):
        axes[1].hist(lat.clip(upper=lat.quantile(0.995)), bins=40, color=REF_COLOR)
    axes[1].set_title("latency (ms)", fontsize=10)
    if window.rows:
        per_hour = window.per_hour()
        axes[2].plot(per_hour.index, per_hour.to_numpy(), color=CUR_COLOR)
        axes[2].tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[2].set_title("requests per hour", fontsize=10)
    fig.suptitle(_wrap(summary.get("headline", "")), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _wrap(text: str, width: int = 150) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])
