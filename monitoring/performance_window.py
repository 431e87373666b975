"""The performance job's window of the prediction log, read once in chunks (monitoring.db.iter_predictions).

Every row adds to running totals: rows per model version, the sum and count of the model's confidence
max(p, 1 - p), latencies (kept as numbers, for exact percentiles), requests per hour and per source, and the
latest row. Only the rows reviewers may have judged are kept whole: those a feedback row names, and every
prediction of a component whose feedback names no prediction (monitoring.performance.link_feedback picks
among them). Feedback is read before the window, so the reviewed set is known while reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COLUMNS = ("id", "component_id", "probability", "label", "model_name", "model_version", "latency_ms", "source", "created_at")
JUDGED_COLUMNS = ["id", "component_id", "probability", "label", "model_version", "created_at"]


@dataclass
class VersionTotals:
    rows: int = 0
    confidence_sum: float = 0.0  # sum of max(p, 1 - p) over the rows that have a probability
    confidence_rows: int = 0
    latency_parts: list[np.ndarray] = field(default_factory=list)

    def add(self, probability: np.ndarray, latency: np.ndarray) -> None:
        self.rows += len(probability)
        p = probability[~np.isnan(probability)]
        self.confidence_sum += float(np.maximum(p, 1 - p).sum())
        self.confidence_rows += len(p)
        self.latency_parts.append(latency[~np.isnan(latency)])

    def latencies(self) -> np.ndarray:
        return np.concatenate(self.latency_parts) if self.latency_parts else np.empty(0)

    @classmethod
    def combined(cls, parts: list[VersionTotals]) -> VersionTotals:
        return cls(
            rows=sum(p.rows for p in parts),
            confidence_sum=sum(p.confidence_sum for p in parts),
            confidence_rows=sum(p.confidence_rows for p in parts),
            latency_parts=[x for p in parts for x in p.latency_parts],
        )


class PerformanceWindow:
    """Totals over every row added, and the rows the feedback may judge."""

    def __init__(self, feedback: pd.DataFrame):
        self.feedback = feedback
        named = feedback["prediction_id"].notna() if len(feedback) else pd.Series([], dtype=bool)
        self._named_ids = feedback.loc[named, "prediction_id"].astype("int64").unique() if len(feedback) else np.empty(0)
        loose = feedback.loc[~named, "component_id"].dropna() if len(feedback) else pd.Series([], dtype="int64")
        self._loose_components = loose.astype("int64").unique()
        self.rows = 0
        self.versions: dict[str, VersionTotals] = {}
        self.per_source: dict[str, int] | None = None
        self.first = self.last = None
        self.latest_version = self.latest_model_name = ""
        self._latest_key: tuple | None = None
        self._per_hour: pd.Series | None = None
        self._judged: list[pd.DataFrame] = []

    def add(self, chunk: pd.DataFrame) -> None:
        """One chunk of predictions (any order): the columns of COLUMNS, typed as monitoring.db types them."""
        if chunk.empty:
            return
        self.rows += len(chunk)
        probability = chunk["probability"].to_numpy(dtype=float)
        latency = chunk["latency_ms"].to_numpy(dtype=float)
        versions = chunk["model_version"].to_numpy()
        for version in pd.unique(versions):
            mine = versions == version
            self.versions.setdefault(str(version), VersionTotals()).add(probability[mine], latency[mine])
        if "source" in chunk:
            counts = chunk["source"].fillna("").value_counts()
            self.per_source = self.per_source or {}
            for source, n in counts.items():
                self.per_source[str(source)] = self.per_source.get(str(source), 0) + int(n)
        self._add_times(chunk)
        self._keep_judged(chunk)

    def _add_times(self, chunk: pd.DataFrame) -> None:
        created = chunk["created_at"]
        hourly = created.dt.floor("h").value_counts()
        self._per_hour = hourly if self._per_hour is None else self._per_hour.add(hourly, fill_value=0)
        low, high = created.min(), created.max()
        self.first = low if self.first is None else min(self.first, low)
        self.last = high if self.last is None else max(self.last, high)
        at_newest = chunk.loc[created == high]
        newest = at_newest.loc[at_newest["id"].idxmax()]
        key = (high, int(newest["id"]))
        if self._latest_key is None or key > self._latest_key:
            self._latest_key = key
            self.latest_version = str(newest["model_version"])
            self.latest_model_name = str(newest["model_name"]) if "model_name" in chunk else ""

    def _keep_judged(self, chunk: pd.DataFrame) -> None:
        judged = chunk["id"].isin(self._named_ids)
        if len(self._loose_components):
            judged |= chunk["component_id"].isin(self._loose_components)
        if judged.any():
            self._judged.append(chunk.loc[judged, JUDGED_COLUMNS])

    def judged_rows(self) -> pd.DataFrame:
        """The predictions feedback may judge, oldest first (as the whole window would list them)."""
        if not self._judged:
            return pd.DataFrame(columns=JUDGED_COLUMNS)
        return pd.concat(self._judged, ignore_index=True).sort_values(["created_at", "id"], ignore_index=True)

    def per_hour(self) -> pd.Series:
        """Requests per hour from the first row's hour to the last's, empty hours included."""
        if self._per_hour is None:
            return pd.Series([], dtype="int64")
        return self._per_hour.sort_index().resample("1h").sum().astype("int64")
