"""The portal's database, seen from monitoring: read the prediction log and feedback, write report rows.

Tables and columns are fixed by docs/contracts.md (owned and migrated by webportal/); the prediction log's
column list is the portal's own (webportal.portal.log_schema, plain Python, no Django). Monitoring only
ever INSERTs into portal_monitoring_report. Works on SQLite (Django's text datetimes) and PostgreSQL
(psycopg 3), from the same Django-style DATABASE_URL the portal uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from webportal.portal.log_schema import PREDICTION_COLUMNS, PREDICTION_TABLE

PREDICTION = sa.table(PREDICTION_TABLE, *(sa.column(c) for c in ("id", *PREDICTION_COLUMNS)))
# What the jobs read by default: every logged column but who asked (monitoring never needs the user).
READ_COLUMNS = tuple(c for c in ("id", *PREDICTION_COLUMNS) if c != "user_id")
FEEDBACK = sa.table(
    "portal_feedback",
    *(sa.column(c) for c in ("id", "component_id", "prediction_id", "correct_label", "reviewer_id", "created_at")),
)
REPORT = sa.table(
    "portal_monitoring_report",
    *(
        sa.column(c)
        for c in ("id", "kind", "status", "headline", "model_version", "window_start", "window_end", "rows", "summary", "html_report")
    ),
    sa.column("created_at"),
)
REQUIRED_TABLES = (PREDICTION_TABLE, "portal_feedback", "portal_monitoring_report")

_PG_SCHEMES = {"postgres", "postgresql", "pgsql", "postgresql+psycopg2", "postgresql+psycopg"}


class DatabaseError(RuntimeError):
    """The database cannot be used: bad URL, unreachable, or not migrated. The message says which."""


def normalize_url(url: str) -> str:
    """Django/dj-database-url style URL -> SQLAlchemy URL (postgres:// -> postgresql+psycopg://)."""
    url = (url or "").strip()
    if not url:
        raise DatabaseError("no database configured: set DATABASE_URL (e.g. sqlite:///db.sqlite3 or postgresql://user@host/db)")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseError(f"DATABASE_URL {url!r} is not a URL (expected sqlite:///path or postgresql://...)")
    if scheme.lower() in _PG_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    if scheme.lower() == "sqlite":
        return url
    raise DatabaseError(f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite or postgresql)")


def connect(url: str, *, timeout_s: float = 5.0) -> Engine:
    """An engine that has been checked: reachable, and migrated (the three tables exist)."""
    sa_url = make_url(normalize_url(url))
    connect_args: dict = {}
    if sa_url.get_backend_name() == "sqlite":
        db = sa_url.database
        if db and db != ":memory:" and not Path(db).is_file():
            hint = "set DATABASE_URL, or --env production for the deploy `make run` leaves"
            raise DatabaseError(f"cannot reach the database: SQLite file {db} does not exist ({hint})")
        connect_args["timeout"] = 30
    else:
        connect_args["connect_timeout"] = max(1, int(timeout_s))
    engine = sa.create_engine(sa_url, connect_args=connect_args, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot reach the database {sa_url.render_as_string(hide_password=True)}: {reason}") from exc
    missing = [t for t in REQUIRED_TABLES if t not in names]
    if missing:
        engine.dispose()
        raise DatabaseError(f"the database has no table {', '.join(missing)}: run the portal's migrations first (manage.py migrate)")
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def to_db_time(engine: Engine, moment: datetime | None):
    """UTC datetime -> what the portal's column holds: Django's text on SQLite, an aware datetime on PostgreSQL."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if is_sqlite(engine):
        # Exactly Django's adapt_datetimefield_value: str(naive UTC), no fraction when microsecond == 0,
        # so text comparisons against Django-written rows order correctly.
        return str(moment.replace(tzinfo=None))
    return moment


def _utc_series(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="mixed") if len(values) else pd.Series([], dtype="datetime64[ns, UTC]")


def read_predictions(
    engine: Engine, *, since: datetime | None = None, last: int | None = None, columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Rows of the prediction log: created at or after `since`, or the `last` N; oldest first."""
    cols = columns or READ_COLUMNS
    query = sa.select(*(PREDICTION.c[c] for c in cols))
    if since is not None:
        query = query.where(PREDICTION.c.created_at >= to_db_time(engine, since))
    if last is not None:
        query = query.order_by(PREDICTION.c.created_at.desc(), PREDICTION.c.id.desc()).limit(int(last))
    else:
        query = query.order_by(PREDICTION.c.created_at, PREDICTION.c.id)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=list(cols))
    if last is not None:
        frame = frame.iloc[::-1].reset_index(drop=True)
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Prediction-log columns as every reader hands them on: UTC times, float numbers, text versions."""
    if "created_at" in frame:
        frame["created_at"] = _utc_series(frame["created_at"])
    for col in ("probability", "latency_ms"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    if "model_version" in frame:
        frame["model_version"] = frame["model_version"].fillna("").astype(str)
    return frame


def read_feedback(engine: Engine, *, since: datetime | None = None) -> pd.DataFrame:
    """Reviewers' labels with the prediction they judge (linked by prediction_id; by component otherwise)."""
    cols = ["id", "component_id", "prediction_id", "correct_label", "created_at"]
    query = sa.select(*(FEEDBACK.c[c] for c in cols))
    if since is not None:
        query = query.where(FEEDBACK.c.created_at >= to_db_time(engine, since))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=cols)
    frame["created_at"] = _utc_series(frame["created_at"])
    return frame


def insert_report(
    engine: Engine,
    *,
    kind: str,
    status: str,
    headline: str,
    model_version: str,
    window_start: datetime | None,
    window_end: datetime | None,
    rows: int,
    summary: dict,
    html_report: str = "",
    created_at: datetime | None = None,
) -> int | None:
    """Insert one portal_monitoring_report row; returns its id."""
    values = {
        "kind": kind,
        "status": status,
        "headline": headline,
        "model_version": model_version or "",
        "window_start": to_db_time(engine, window_start),
        "window_end": to_db_time(engine, window_end),
        "rows": int(rows),
        "summary": json.dumps(summary, default=str, ensure_ascii=False),
        "html_report": html_report or "",
        "created_at": to_db_time(engine, created_at or datetime.now(UTC)),
    }
    with engine.begin() as conn:
        result = conn.execute(sa.insert(REPORT).values(**values).returning(REPORT.c.id))
        return result.scalar_one()


# ---------------------------------------------------------------- the log in chunks (windows of any size)

STAT_COLUMNS = ("id", "probability", "model_version", "length", "words", "digits")


def _digits(text):
    """Digits in a text, computed by the database (nested replace: the same SQL on SQLite and PostgreSQL)."""
    stripped = text
    for digit in "0123456789":
        stripped = sa.func.replace(stripped, digit, "")
    return sa.func.length(text) - sa.func.length(stripped)


def _window_filter(engine: Engine, query, *, since: datetime | None, last: int | None):
    if since is not None:
        query = query.where(PREDICTION.c.created_at >= to_db_time(engine, since))
    if last is not None:
        newest = sa.select(PREDICTION.c.id).order_by(PREDICTION.c.created_at.desc(), PREDICTION.c.id.desc()).limit(int(last))
        query = query.where(PREDICTION.c.id.in_(newest.scalar_subquery()))
    return query


def iter_prediction_stats(
    engine: Engine, *, since: datetime | None = None, last: int | None = None, chunk_rows: int = 100_000
) -> Iterator[pd.DataFrame]:
    """The window's rows as frames of at most chunk_rows: id, probability, model_version and the text's length,
    space-separated words and digits (counted by the database, so the text itself never travels).

    PostgreSQL streams through one server-side cursor; SQLite is read in keyset batches (id > last id seen).
    """
    text = PREDICTION.c.text
    words = sa.case(
        (sa.func.length(sa.func.trim(text)) == 0, 0), else_=sa.func.length(text) - sa.func.length(sa.func.replace(text, " ", "")) + 1
    )
    columns = (PREDICTION.c.id, PREDICTION.c.probability, PREDICTION.c.model_version, sa.func.length(text), words, _digits(text))
    query = _window_filter(engine, sa.select(*columns), since=since, last=last)
    for part in _row_batches(engine, query, chunk_rows):
        yield _stat_frame(part)


def iter_predictions(
    engine: Engine, *, columns: tuple[str, ...], since: datetime | None = None, last: int | None = None, chunk_rows: int = 100_000
) -> Iterator[pd.DataFrame]:
    """The window's rows as frames of at most chunk_rows, typed as read_predictions types them, in no set order.

    The performance job reads its window this way (monitoring.performance_window); `columns` start with "id".
    """
    if columns[0] != "id":
        raise ValueError(f"iter_predictions reads in batches keyed on id: columns must start with it, not {columns[0]!r}")
    query = _window_filter(engine, sa.select(*(PREDICTION.c[c] for c in columns)), since=since, last=last)
    for part in _row_batches(engine, query, chunk_rows):
        yield _typed(pd.DataFrame(part, columns=list(columns)))


def _row_batches(engine: Engine, query, chunk_rows: int) -> Iterator[list]:
    """A query's rows (its first column: the prediction id) in lists of at most chunk_rows: one server-side cursor
    on PostgreSQL, keyset batches (id > the last id seen) on SQLite."""
    if not is_sqlite(engine):
        yield from _postgres_batches(engine, query, chunk_rows)
        return
    query = query.order_by(PREDICTION.c.id)
    after = None
    with engine.connect() as conn:
        while True:
            batch = query if after is None else query.where(PREDICTION.c.id > after)
            part = conn.execute(batch.limit(chunk_rows)).fetchall()
            if not part:
                return
            yield part
            after = part[-1][0]


def _postgres_batches(engine: Engine, query, chunk_rows: int) -> Iterator[list]:
    """One psycopg server-side (named) cursor in binary mode: plain tuples, numbers never parsed from text. No
    ORDER BY: a sequential scan; what the jobs compute does not depend on the order rows come in."""
    compiled = query.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor(name="monitoring_window", binary=True) as cursor:
            cursor.itersize = chunk_rows
            cursor.execute(str(compiled), compiled.params)
            while part := cursor.fetchmany(chunk_rows):
                yield part


def _stat_frame(rows) -> pd.DataFrame:
    """Tuples -> columns in one transpose (a frame from records costs several times more per row)."""
    ids, probability, version, length, words, digits = zip(*rows, strict=True) if rows else ((),) * 6
    return pd.DataFrame(
        {
            "id": np.asarray(ids, dtype=np.int64),
            "probability": np.asarray(
                [np.nan if p is None else p for p in probability] if None in probability else probability, dtype=float
            ),
            "model_version": pd.Series(version, dtype=object).fillna("").astype(str).to_numpy(),
            "length": np.asarray(length, dtype=np.int64),
            "words": np.asarray(words, dtype=np.int64),
            "digits": np.asarray(digits, dtype=np.int64),
        }
    )


def window_bounds(engine: Engine, *, since: datetime | None = None, last: int | None = None) -> tuple[datetime | None, datetime | None]:
    """The first and last created_at in the window (one aggregate query)."""
    query = _window_filter(
        engine, sa.select(sa.func.min(PREDICTION.c.created_at), sa.func.max(PREDICTION.c.created_at)), since=since, last=last
    )
    with engine.connect() as conn:
        first, latest = conn.execute(query).one()
    times = _utc_series(pd.Series([first, latest]).dropna())
    return (times.iloc[0].to_pydatetime(), times.iloc[-1].to_pydatetime()) if len(times) else (None, None)


def read_predictions_by_id(engine: Engine, ids, *, columns: tuple[str, ...], batch: int = 5_000) -> pd.DataFrame:
    """The rows with these ids (the drift job's sample), in id order."""
    ids = sorted(int(i) for i in ids)
    parts = []
    with engine.connect() as conn:
        for start in range(0, len(ids), batch):
            query = sa.select(*(PREDICTION.c[c] for c in columns)).where(PREDICTION.c.id.in_(ids[start : start + batch]))
            parts.append(pd.DataFrame(conn.execute(query).fetchall(), columns=list(columns)))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    frame = frame.sort_values("id").reset_index(drop=True) if "id" in frame else frame
    return _typed(frame)
