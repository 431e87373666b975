"""The prediction log's per-worker spool: what a SIGKILL cannot take.

Each answered API row is appended with os.write() to this worker's spool file before the answer goes out;
the kernel keeps written bytes through a process kill. When the writer thread takes a batch it starts a new
segment, and once the batch is in the database it deletes the segments that held it. A worker that starts
replays the segments that dead workers of this host left (claimed by an atomic rename, so two starting
workers never replay the same file): their rows join its own log and are written like any other.

Files: SPOOL_DIR/<owner pid>.<segment>.spool, one JSON array per line (the row, id first).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import orjson

from common.processes import pid_alive

log = logging.getLogger("webportal.prediction_log")
SUFFIX = ".spool"
_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME


class Spool:
    """This process's spool. append/rotate are called under the prediction log's lock."""

    def __init__(self, folder: Path, pid: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pid = pid or os.getpid()
        self._segment = 0
        self._bytes = 0
        self._fd = self._open(1)

    def _path(self, segment: int) -> Path:
        return self.folder / f"{self.pid}.{segment:08d}{SUFFIX}"

    def _open(self, segment: int) -> int:
        fd = os.open(self._path(segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._segment, self._bytes = segment, 0
        return fd

    def append(self, rows: list[tuple]) -> None:
        if self._fd is None:  # a rotation could not open its segment: try again
            self._fd = self._open(self._segment + 1)
        # orjson: a fifth of json.dumps's time on the hot path; datetimes through str() as before, so replay reads the same
        data = memoryview(b"".join(orjson.dumps(row, default=str, option=_OPTIONS) for row in rows))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
            self._bytes += written

    def rotate(self) -> int:
        """Start a new segment; return the last segment that holds rows taken so far (0: none)."""
        if self._bytes == 0 and self._fd is not None:
            return self._segment - 1
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = self._open(self._segment + 1)  # OSError (the folder is gone): the caller keeps its rows pending
        return self._segment - 1

    def release(self, upto: int) -> None:
        """The rows of segments <= upto are in the database: delete those files."""
        for segment in range(upto, 0, -1):
            try:
                self._path(segment).unlink()
            except FileNotFoundError:
                break  # older ones went with an earlier release

    def close(self, *, empty: bool) -> None:
        """Close the file; delete every segment when nothing is pending (else the next start replays them)."""
        if self._fd is not None:
            os.close(self._fd)
        if empty:
            self.release(self._segment)


def claim_dead(folder: Path, pid: int | None = None) -> list[Path]:
    """Rename the spool files of dead owners to this process (an atomic claim); return the claimed files."""
    pid = pid or os.getpid()
    claimed = []
    for path in sorted(Path(folder).glob(f"*{SUFFIX}")):
        owner = path.name.split(".", 1)[0]
        if not owner.isdigit() or int(owner) == pid or pid_alive(int(owner)):
            continue
        target = path.with_name(f"{pid}.from-{path.name}")
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue  # another starting worker claimed it first
        claimed.append(target)
    return claimed


def read_rows(path: Path) -> list[tuple]:
    """The rows of a spool file; a line cut short by the kill (never answered) is skipped."""
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            rows.append(tuple(json.loads(line)))
        except ValueError:
            log.warning("skipped a torn line in the prediction spool %s", path.name)
    return rows
