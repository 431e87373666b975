"""Loading user CSVs (`text`, and `label` 0/1): any bad row fails the load with its row numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd


class DataError(ValueError):
    """A training CSV that cannot be used as it is; the message says which rows and why."""


MAX_TEXT_CHARS = 2000


def load_csv(path: str | Path, *, require_label: bool = True) -> pd.DataFrame:
    """Load a CSV with `text` (and `label` 0/1). Rows are numbered as in the file (header = row 1).

    Any bad row fails the whole load with the row numbers: nothing is silently dropped.
    """
    path = Path(path)
    frame = _parse(path, _read_text(path))
    required = ["text", "label"] if require_label else ["text"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path} is missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns)) or 'none'}")
    if frame.empty:
        raise DataError(f"{path} has a header but no rows")
    problems = _row_problems(frame, require_label=require_label)
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems))
    if require_label:
        frame["label"] = frame["label"].str.strip().astype(int)
    return frame


def _read_text(path: Path) -> str:
    """The file's text: DataError when it is unreadable, empty, binary or not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DataError(f"{path} is empty")
    if b"\x00" in raw:
        raise DataError(f"{path} looks binary (it contains NUL bytes), not a CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} is not UTF-8: invalid byte at line {line}") from exc


def _parse(path: Path, content: str) -> pd.DataFrame:
    """Every field as a string; DataError naming the rows whose field count differs from the header's."""
    ragged = _ragged_rows(content)
    if ragged:
        raise DataError(f"{path} is not a well-formed CSV: wrong number of fields in row(s) {_rows_list(ragged)}")
    try:
        return pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False, on_bad_lines="error", index_col=False)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path} is not a well-formed CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} has no header row") from exc


def _row_problems(frame: pd.DataFrame, *, require_label: bool) -> list[str]:
    """One line per kind of bad row (empty text, text too long, label not 0/1), with the file's row numbers."""
    file_rows = frame.index.to_numpy() + 2
    text = frame["text"]
    problems = []
    empty = file_rows[text.str.strip().eq("").to_numpy()].tolist()
    if empty:
        problems.append(f"empty text in row(s) {_rows_list(empty)}")
    long = file_rows[text.str.len().gt(MAX_TEXT_CHARS).to_numpy()].tolist()
    if long:
        problems.append(f"text longer than {MAX_TEXT_CHARS} characters in row(s) {_rows_list(long)}")
    if require_label:
        label = frame["label"].str.strip()
        bad = file_rows[~label.isin(["0", "1"]).to_numpy()].tolist()
        if bad:
            problems.append(f"label not 0 or 1 in row(s) {_rows_list(bad)}")
    return problems


def _rows_list(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _ragged_rows(content: str) -> list[int]:
    """File row numbers whose field count differs from the header's (blank lines are ignored)."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = next(reader, [])
        return [reader.line_num for row in reader if row and len(row) != len(header)]
    except csv.Error:
        return []  # left to the parser, which names the problem
