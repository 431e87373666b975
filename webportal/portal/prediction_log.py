"""The classify API's prediction log: one row per classification, written behind the response in batches.

Writing every row in its own transaction costs more than the classification itself, and two gunicorn
workers then queue on SQLite's single writer lock. So each process keeps a buffer that a background thread
writes every PREDICTION_LOG_FLUSH_MS in one transaction. Row ids are reserved in blocks from the table's own
id sequence, so the API still answers with the id the row will have.

Nothing is dropped: a failed write keeps its rows and retries; at PREDICTION_LOG_MAX_PENDING waiting rows
a request first writes them itself, and while the database stays down it is refused whole (the API answers
503, so the client knows it was not classified); the buffer is written when the
process exits (gunicorn's graceful stop, a deploy, a restart). A hard kill (SIGKILL, a crash) loses nothing
either: each row is in this worker's spool file before the answer goes out, and the next worker to start
replays what a dead one left (spool.py). PREDICTION_LOG_FLUSH_MS=0 writes every row before the response.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.db import DatabaseError, IntegrityError, close_old_connections, connections, transaction

from webportal.portal.bulk import can_reserve_ids, insert_many, reserve_ids
from webportal.portal.log_schema import PREDICTION_COLUMNS
from webportal.portal.models import Prediction
from webportal.portal.spool import Spool, claim_dead, read_rows

log = logging.getLogger("webportal.prediction_log")
ROW_COLUMNS = ["id", *PREDICTION_COLUMNS]


class LogUnavailable(RuntimeError):
    """The prediction log cannot take more rows (the database has been failing for a while)."""


@dataclass(frozen=True)
class LogStatus:
    mode: str  # "write-behind" or "synchronous"
    pending: int
    oldest_pending_s: float
    written: int
    write_failures: int
    rejected: int
    last_error: str | None
    last_error_at: datetime | None


class PredictionLog:
    def __init__(self, *, flush_seconds: float, max_pending: int, id_block: int = 1000, spool_dir: Path | None = None):
        self.flush_seconds = flush_seconds
        self.spool_dir = spool_dir
        self._spool: Spool | None = None
        self.max_pending = max_pending
        self.id_block = id_block
        self._ids: deque[int] = deque()
        self._pending: deque[tuple[float, tuple]] = deque()  # (monotonic time added, row with its id first)
        self._lock = threading.Lock()  # guards _ids and _pending
        self._flush_lock = threading.Lock()  # one writer at a time (thread, exit hook, backpressure)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid = os.getpid()
        self.written = self.write_failures = self.rejected = 0
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None

    @property
    def write_behind(self) -> bool:
        return self.flush_seconds > 0 and can_reserve_ids()

    def write(self, rows: list[tuple]) -> list[int]:
        """Log rows (values in PREDICTION_COLUMNS order); return their ids. LogUnavailable when they cannot be
        taken (nothing of them is kept then: the caller answers 503 and the client knows)."""
        try:
            if not self.write_behind:
                return insert_many(Prediction, PREDICTION_COLUMNS, rows, returning=True)
            if len(self._pending) >= self.max_pending:  # the database has been failing: write now, or refuse
                self.flush()
                backlog = len(self._pending)
                if backlog >= self.max_pending:
                    raise LogUnavailable(f"the prediction log cannot be written ({self.last_error}); {backlog} rows are waiting")
            with self._lock:
                if len(self._ids) < len(rows):
                    self._ids.extend(reserve_ids(Prediction, max(self.id_block, len(rows))))
                ids = [self._ids.popleft() for _ in rows]
                self._keep([(pk, *row) for pk, row in zip(ids, rows, strict=True)])
        except DatabaseError as exc:
            raise LogUnavailable(f"the prediction log cannot be written: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # the spool cannot be written (disk full): the row would not survive a kill
            raise LogUnavailable(f"the prediction spool cannot be written: {exc}") from exc
        self._ensure_thread()
        return ids

    def _keep(self, rows: list[tuple]) -> None:
        """Hold rows (id first) for the writer; in the spool first. Called under _lock."""
        if self.spool_dir is not None and self.write_behind:
            if self._spool is None:
                self._spool = Spool(self.spool_dir)
            self._spool.append(rows)
        now = time.monotonic()
        self._pending.extend((now, row) for row in rows)

    def adopt(self, rows: list[tuple]) -> None:
        """Take rows that already have their ids (a dead worker's spool) and write them like this worker's own."""
        with self._lock:
            self._keep(rows)
        self._ensure_thread()

    def flush(self) -> int:
        """Write everything pending now, in one transaction. Returns the rows written; failed rows stay pending
        (and in the spool); the spool segments of a batch are deleted once all of it is in the database."""
        with self._flush_lock:
            with self._lock:
                # The new segment first: when it cannot be opened (the spool folder is gone) the rows stay pending.
                segments = self._spool.rotate() if self._spool is not None and self._pending else 0
                batch = list(self._pending)
                self._pending.clear()
            if not batch:
                return 0
            rows = [row for _, row in batch]
            try:
                with transaction.atomic():
                    insert_many(Prediction, ROW_COLUMNS, rows)
            except IntegrityError:
                done, kept = self._write_one_by_one(rows)
                if not kept:
                    self._release(segments)
                return done
            except DatabaseError as exc:
                with self._lock:
                    self._pending.extendleft(reversed(batch))
                self._failed(exc)
                return 0
            self.written += len(rows)
            self._release(segments)
            return len(rows)

    def _release(self, segments: int) -> None:
        if self._spool is not None and segments:
            self._spool.release(segments)

    def _write_one_by_one(self, rows: list[tuple]) -> tuple[int, bool]:
        """A batch broke a constraint: its user was deleted meanwhile, or a replayed row is already written.
        Keep every row, without the user where needed (what SET_NULL would have done had the row been written
        first); log any row still refused. Returns (rows written, whether some were put back as pending)."""
        user_at = ROW_COLUMNS.index("user_id")
        done, kept = 0, False
        for row in rows:
            for candidate in (row, (*row[:user_at], None, *row[user_at + 1 :])):
                try:
                    with transaction.atomic():
                        insert_many(Prediction, ROW_COLUMNS, [candidate])
                    done += 1
                    break
                except IntegrityError as exc:
                    refused = exc
                except DatabaseError as exc:
                    with self._lock:
                        self._pending.appendleft((time.monotonic(), row))
                    self._failed(exc)
                    kept = True
                    break
            else:
                if Prediction.objects.filter(pk=row[0]).exists():
                    continue  # written before (a spool replayed after its rows had landed)
                self.rejected += 1
                self._failed(refused)
                content = json.dumps(dict(zip(ROW_COLUMNS, row, strict=True)), default=str)
                log.error("prediction row refused by the database (%s): %s", refused, content)
        self.written += done
        return done, kept

    def _failed(self, exc: Exception) -> None:
        self.write_failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.last_error_at = datetime.now(UTC)
        log.error("prediction log write failed: %s", self.last_error)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        delay = self.flush_seconds
        while not self._stop.wait(delay):
            failures = self.write_failures
            try:
                self.flush()
                close_old_connections()  # a broken or expired connection is reopened on the next write
            except Exception as exc:  # never let the writer thread die
                self._failed(exc)
            delay = min(5.0, delay * 2) if self.write_failures > failures else self.flush_seconds  # back off while failing
        connections.close_all()

    def close(self) -> int:
        """Stop the writer thread and write what is pending. Returns the rows written now. The spool is kept
        when rows could not be written (the next worker to start replays it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        written = self.flush()
        with self._lock:
            if self._spool is not None:
                self._spool.close(empty=not self._pending)
                self._spool = None
        return written

    def status(self) -> LogStatus:
        with self._lock:
            pending = len(self._pending)
            oldest = time.monotonic() - self._pending[0][0] if pending else 0.0
        return LogStatus(
            mode="write-behind" if self.write_behind else "synchronous",
            pending=pending,
            oldest_pending_s=oldest,
            written=self.written,
            write_failures=self.write_failures,
            rejected=self.rejected,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
        )


_log: PredictionLog | None = None
_log_lock = threading.Lock()


def get_log() -> PredictionLog:
    """This process's log, built from settings on first use (after gunicorn forked its workers)."""
    global _log
    if _log is None:
        with _log_lock:
            if _log is None:
                from django.conf import settings

                _log = PredictionLog(
                    flush_seconds=settings.PREDICTION_LOG_FLUSH_MS / 1000,
                    max_pending=settings.PREDICTION_LOG_MAX_PENDING,
                    spool_dir=Path(settings.PREDICTION_LOG_SPOOL_DIR) if settings.PREDICTION_LOG_SPOOL_DIR else None,
                )
    return _log


def set_log(value: PredictionLog | None) -> None:
    """Replace this process's log (tests), closing the old one; None rebuilds it from settings on next use."""
    global _log
    with _log_lock:
        old, _log = _log, value
    if old is not None:
        old.close()


def replay_dead_spools() -> int:
    """Adopt and write the rows that dead workers left in their spools (a worker's start). Returns the rows
    adopted; rows already in the database are skipped."""
    current = get_log()
    if current.spool_dir is None or not current.spool_dir.is_dir():
        return 0
    adopted = 0
    for path in claim_dead(current.spool_dir):
        rows = _not_written(read_rows(path))
        current.adopt(rows)  # in this worker's spool now: the claimed file can go
        path.unlink()
        adopted += len(rows)
    if adopted:
        log.warning("replayed %d prediction rows from the spools of dead workers", adopted)
        current.flush()
    return adopted


def _not_written(rows: list[tuple]) -> list[tuple]:
    try:
        written: set[int] = set()
        for start in range(0, len(rows), 500):
            chunk = [row[0] for row in rows[start : start + 500]]
            written.update(Prediction.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    except DatabaseError:
        return rows  # the writer sorts duplicates out one by one once the database answers
    return [row for row in rows if row[0] not in written]


def shutdown() -> None:
    """Stop and join this process's writer thread and write what is pending (gunicorn's worker_exit)."""
    if _log is not None and _log._pid == os.getpid():
        try:
            written = _log.close()
            if written:
                log.info("wrote %d pending prediction rows at exit", written)
        except Exception as exc:
            log.error("could not write %d pending prediction rows at exit: %s", _log.status().pending, exc)


def write_pending() -> None:
    """Write what is pending now, from any thread (a worker told to stop); rows that fail stay pending."""
    if _log is not None and _log._pid == os.getpid():
        try:
            if written := _log.flush():
                log.info("wrote %d pending prediction rows at the stop signal", written)
        finally:
            connections.close_all()  # this thread's own connection


def _forget_in_child() -> None:
    global _log, _log_lock
    _log, _log_lock = None, threading.Lock()  # a forked worker starts its own log (and thread)


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_in_child)
