"""A prediction-log window of any size, read once in chunks: whole-window statistics, accumulated chunk by chunk,
and a stratified sample for Evidently's text checks.

Whole window (every row): row counts per model version, the share predicted non-compliant, the probability
distribution (histogram), and the descriptors the database counts (characters, space-separated words, digit
share): mean, standard deviation, min, max, and a median read from a fine histogram.

Sample: stratified by (model version, predicted label), allocated in proportion to each stratum's rows, uniform
within a stratum. Each row's sampling key is a hash of its id, so the sample does not depend on chunk sizes or
on the order rows arrive in; per stratum only the `size` smallest keys are kept while reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PROBABILITY_BINS = 50
# Descriptor histograms: fixed bins (a median within half a bin), values beyond the last edge counted in it.
DESCRIPTOR_BINS = {"length": np.arange(0, 2001, 2), "word_count": np.arange(0, 401, 1), "digit_share": np.linspace(0, 1, 501)}
SAMPLING_METHOD = (
    "stratified by model version and predicted label, allocation proportional to each stratum's rows, "
    "uniform within a stratum (rows ranked by a hash of their id)"
)


def row_keys(ids: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of (id + seed) as uniform floats in [0, 1): the same key for a row in any chunk."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass
class Moments:
    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    histogram: np.ndarray | None = None

    def add(self, values: np.ndarray, edges: np.ndarray) -> None:
        values = values[~np.isnan(values)]
        if not len(values):
            return
        self.count += len(values)
        self.total += float(values.sum())
        self.squares += float(np.square(values).sum())
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        self.histogram = counts if self.histogram is None else self.histogram + counts

    def as_dict(self, edges: np.ndarray) -> dict:
        if not self.count:
            return {"rows": 0}
        mean = self.total / self.count
        std = float(np.sqrt(max(0.0, self.squares / self.count - mean * mean)))
        cumulative = np.cumsum(self.histogram)
        at = int(np.searchsorted(cumulative, self.count / 2))
        median = float((edges[at] + edges[at + 1]) / 2)
        return {"rows": self.count, "mean": round(mean, 4), "std": round(std, 4), "min": self.low, "max": self.high, "median": median}


@dataclass
class StratifiedSample:
    """Per stratum, the `size` rows with the smallest keys seen so far (a bottom-k sketch)."""

    size: int
    keys: dict[tuple, np.ndarray] = field(default_factory=dict)
    ids: dict[tuple, np.ndarray] = field(default_factory=dict)
    rows: dict[tuple, int] = field(default_factory=dict)

    def add(self, stratum: tuple, ids: np.ndarray, keys: np.ndarray) -> None:
        self.rows[stratum] = self.rows.get(stratum, 0) + len(ids)
        all_keys = np.concatenate([self.keys.get(stratum, np.empty(0)), keys])
        all_ids = np.concatenate([self.ids.get(stratum, np.empty(0, dtype=np.int64)), ids])
        if len(all_keys) > self.size:
            keep = np.argpartition(all_keys, self.size - 1)[: self.size]
            all_keys, all_ids = all_keys[keep], all_ids[keep]
        self.keys[stratum], self.ids[stratum] = all_keys, all_ids

    def allocation(self) -> dict[tuple, int]:
        """Rows per stratum: proportional to its rows (largest remainders), at least one from each stratum."""
        total = sum(self.rows.values())
        if total <= self.size:
            return dict(self.rows)
        exact = {s: self.size * n / total for s, n in self.rows.items()}
        share = {s: max(1, int(v)) for s, v in exact.items()}
        for s in sorted(exact, key=lambda s: exact[s] - int(exact[s]), reverse=True)[: max(0, self.size - sum(share.values()))]:
            share[s] += 1
        return share

    def chosen_ids(self) -> np.ndarray:
        picked = []
        for stratum, n in self.allocation().items():
            order = np.argsort(self.keys[stratum], kind="stable")[:n]
            picked.append(self.ids[stratum][order])
        return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


@dataclass
class WindowStats:
    threshold: float
    sample_size: int
    seed: int = 42
    rows: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    non_compliant: dict[str, int] = field(default_factory=dict)
    probability: np.ndarray = field(default_factory=lambda: np.zeros(PROBABILITY_BINS, dtype=np.int64))
    descriptors: dict[str, Moments] = field(default_factory=lambda: {name: Moments() for name in DESCRIPTOR_BINS})
    sample: StratifiedSample | None = None

    def __post_init__(self) -> None:
        self.sample = self.sample or StratifiedSample(self.sample_size)

    def add(self, chunk: pd.DataFrame) -> None:
        """One chunk of monitoring.db.iter_prediction_stats."""
        if chunk.empty:
            return
        self.rows += len(chunk)
        probability = chunk["probability"].to_numpy(dtype=float)
        predicted = np.where(probability >= self.threshold, 1, 0)
        versions = chunk["model_version"].to_numpy()
        ids = chunk["id"].to_numpy(dtype=np.int64)
        keys = row_keys(ids, self.seed)
        for version in pd.unique(versions):
            mine = versions == version
            self.versions[version] = self.versions.get(version, 0) + int(mine.sum())
            self.non_compliant[version] = self.non_compliant.get(version, 0) + int(predicted[mine].sum())
            for label in (0, 1):
                rows = mine & (predicted == label)
                if rows.any():
                    self.sample.add((version, label), ids[rows], keys[rows])
        counts, _ = np.histogram(probability[~np.isnan(probability)], bins=PROBABILITY_BINS, range=(0.0, 1.0))
        self.probability += counts
        length = chunk["length"].to_numpy(dtype=float)
        values = {"length": length, "word_count": chunk["words"].to_numpy(dtype=float)}
        values["digit_share"] = chunk["digits"].to_numpy(dtype=float) / np.maximum(length, 1.0)
        for name, moments in self.descriptors.items():
            moments.add(values[name], DESCRIPTOR_BINS[name])

    def summary(self, served_version: str | None = None) -> dict:
        flagged = sum(self.non_compliant.values())
        out = {
            "rows": self.rows,
            "model_versions": {str(k): int(v) for k, v in sorted(self.versions.items())},
            "share_non_compliant": round(flagged / self.rows, 4) if self.rows else None,
            "probability_histogram": {"bins": PROBABILITY_BINS, "range": [0.0, 1.0], "counts": [int(c) for c in self.probability]},
            "descriptors": {name: m.as_dict(DESCRIPTOR_BINS[name]) for name, m in self.descriptors.items()},
        }
        if served_version and served_version in self.versions:
            n = self.versions[served_version]
            out["share_non_compliant_served_version"] = round(self.non_compliant[served_version] / n, 4)
        return out

    def sample_summary(self, chosen: int) -> dict:
        allocation = self.sample.allocation()
        strata = [
            {
                "model_version": str(v),
                "predicted": "non-compliant" if label else "compliant",
                "rows": self.sample.rows[(v, label)],
                "sampled": n,
            }
            for (v, label), n in sorted(allocation.items())
        ]
        method = "the whole window (it is no larger than the sample size)" if chosen >= self.rows else SAMPLING_METHOD
        return {"size": chosen, "setting": self.sample_size, "of_rows": self.rows, "method": method, "seed": self.seed, "strata": strata}
