"""Every reviewed label in a portal's database, read with plain SQL on a read-only connection (no Django).

The tables are the portal's contract (docs/contracts.md): `portal_feedback` (a reviewer's `correct_label` for a
component, against the prediction it was shown with) joined to `portal_component` and `portal_prediction`. The text a
reviewed label belongs to is the text of the prediction the reviewer judged, else the component's text.

SQLite is opened with a `mode=ro` URI; PostgreSQL in a read-only session (every transaction READ ONLY), so the
export can never write the production portal's tables.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.data.csv_files import DataError

COLUMNS = ("feedback_id", "component_id", "text", "label", "reviewed_at")
QUERY = """
SELECT f.id, f.component_id, COALESCE(p.text, c.text), f.correct_label, f.created_at
FROM portal_feedback f
JOIN portal_component c ON c.id = f.component_id
LEFT JOIN portal_prediction p ON p.id = f.prediction_id
ORDER BY f.created_at, f.id
"""
_PG_SCHEMES = ("postgres", "postgresql", "pgsql", "postgresql+psycopg", "postgresql+psycopg2")


class ExportError(DataError):
    """The reviewed labels cannot be exported: the database is unreachable, not a portal's, or the URL is wrong."""


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL, or None for any other scheme."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() != "sqlite":
        return None
    path = rest[1:] if rest.startswith("/") else rest  # sqlite:////abs/file, sqlite:///relative/file (as dj-database-url)
    return Path(path).expanduser() if path else None


def export_reviewed_labels(url: str, *, timeout_s: float = 5.0) -> pd.DataFrame:
    """The reviewed labels (COLUMNS) in the database at `url` (Django-style DATABASE_URL), oldest first."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ExportError(f"corrections database {url!r} is not a URL (expected sqlite:///path or postgresql://...)")
    if scheme.lower() == "sqlite":
        rows = _sqlite_rows(sqlite_path(url))
    elif scheme.lower() in _PG_SCHEMES:
        rows = _postgres_rows(f"postgresql://{rest}", timeout_s=timeout_s)
    else:
        raise ExportError(f"corrections database scheme {scheme!r} is not supported (use sqlite or postgresql)")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["reviewed_at"] = pd.to_datetime(frame["reviewed_at"], utc=True, format="mixed").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame


def _sqlite_rows(path: Path | None) -> list[tuple]:
    import sqlite3

    if path is None or not path.is_file():
        raise ExportError(f"cannot export the reviewed labels: SQLite database {path} does not exist")
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute(QUERY).fetchall()
    except sqlite3.Error as exc:
        raise ExportError(f"cannot export the reviewed labels from {path}: {_hint(str(exc))}") from exc


def _postgres_rows(conninfo: str, *, timeout_s: float) -> list[tuple]:
    import psycopg

    where = conninfo.split("@")[-1]  # host/db only: never the password
    try:
        with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout_s))) as conn:
            conn.read_only = True
            with conn.cursor() as cursor:
                cursor.execute(QUERY)
                return cursor.fetchall()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot export the reviewed labels from PostgreSQL at {where}: {_hint(reason)}") from exc


def _hint(reason: str) -> str:
    if "no such table" in reason or ("does not exist" in reason and "relation" in reason):
        return f"{reason} (is this a migrated portal database? run `python manage.py migrate`)"
    return reason
