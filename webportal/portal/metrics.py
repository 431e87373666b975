"""Per-process request counters and latency histogram, rendered in the Prometheus text format.

Request metrics are per worker process (label `pid`); prediction counts come from the database, so they
are the same whichever worker answers the scrape.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class RequestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, str(status))] += 1
            counts = self.buckets[route]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[route] += seconds

    def snapshot(self):
        with self._lock:
            return dict(self.requests), {k: list(v) for k, v in self.buckets.items()}, dict(self.sums)


REQUESTS = RequestMetrics()


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(*, predictions_by_label: dict, predictions_by_source: dict, model: dict, log=None) -> str:
    pid = os.getpid()
    requests, buckets, sums = REQUESTS.snapshot()
    lines = [
        "# HELP portal_http_requests_total HTTP requests answered by this worker.",
        "# TYPE portal_http_requests_total counter",
    ]
    for (route, method, status), n in sorted(requests.items()):
        lines.append(f'portal_http_requests_total{{pid="{pid}",route="{_esc(route)}",method="{_esc(method)}",status="{status}"}} {n}')
    lines += [
        "# HELP portal_http_request_duration_seconds Request latency in this worker.",
        "# TYPE portal_http_request_duration_seconds histogram",
    ]
    for route, counts in sorted(buckets.items()):
        cumulative = 0
        for bound, n in zip((*BUCKETS, "+Inf"), counts, strict=True):
            cumulative += n
            lines.append(f'portal_http_request_duration_seconds_bucket{{pid="{pid}",route="{_esc(route)}",le="{bound}"}} {cumulative}')
        lines.append(f'portal_http_request_duration_seconds_sum{{pid="{pid}",route="{_esc(route)}"}} {sums[route]:.6f}')
        lines.append(f'portal_http_request_duration_seconds_count{{pid="{pid}",route="{_esc(route)}"}} {cumulative}')
    lines += ["# HELP portal_predictions_total Logged classifications by label.", "# TYPE portal_predictions_total counter"]
    for label, n in sorted(predictions_by_label.items()):
        lines.append(f'portal_predictions_total{{label="{_esc(label)}"}} {n}')
    lines += [
        "# HELP portal_predictions_by_source_total Logged classifications by source.",
        "# TYPE portal_predictions_by_source_total counter",
    ]
    for source, n in sorted(predictions_by_source.items()):
        lines.append(f'portal_predictions_by_source_total{{source="{_esc(source)}"}} {n}')
    lines += [
        "# HELP portal_model_info The model this worker serves (1 = loaded).",
        "# TYPE portal_model_info gauge",
        f'portal_model_info{{pid="{pid}",name="{_esc(model.get("name") or "")}",version="{_esc(model.get("version") or "")}"}} '
        f"{1 if model.get('loaded') else 0}",
        "# HELP portal_model_load_failures_total Failed model loads in this worker.",
        "# TYPE portal_model_load_failures_total counter",
        f'portal_model_load_failures_total{{pid="{pid}"}} {model.get("failures", 0)}',
    ]
    if log is not None:  # webportal.portal.prediction_log.LogStatus
        lines += [
            "# HELP portal_prediction_log_pending Classifications answered but not yet written to the database.",
            "# TYPE portal_prediction_log_pending gauge",
            f'portal_prediction_log_pending{{pid="{pid}"}} {log.pending}',
            "# HELP portal_prediction_log_oldest_pending_seconds Age of the oldest unwritten classification.",
            "# TYPE portal_prediction_log_oldest_pending_seconds gauge",
            f'portal_prediction_log_oldest_pending_seconds{{pid="{pid}"}} {log.oldest_pending_s:.3f}',
            "# HELP portal_prediction_log_write_failures_total Failed writes of the prediction log (rows are kept and retried).",
            "# TYPE portal_prediction_log_write_failures_total counter",
            f'portal_prediction_log_write_failures_total{{pid="{pid}"}} {log.write_failures}',
        ]
    return "\n".join(lines) + "\n"
