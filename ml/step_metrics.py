"""Batch metrics for a training run's curves: ml.training_loop calls `record` every N batches; the buffer goes to
MLflow in one request per epoch (and at the end), so a curve has many points and the loop waits on no server."""

from __future__ import annotations

import time

_BATCH_LIMIT = 1000  # metrics per log_batch request (the tracking API's limit)


class StepMetrics:
    def __init__(self, client, run_id: str):
        self._client, self._run_id, self._pending = client, run_id, []

    def record(self, step: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(key, float(value), now, step) for key, value in metrics.items()]

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), _BATCH_LIMIT):
            self._client.log_batch(self._run_id, metrics=pending[start : start + _BATCH_LIMIT])
