"""The portal tables monitoring reads and writes, as SQLAlchemy Table definitions matching docs/contracts.md.

Monitoring's tests build these tables directly (fast, and without Django, which monitoring never imports);
test_portal_integration.py runs a job against the portal's real migrations, and tests/webportal/test_postgres.py
holds the migrated columns to the contract. Datetimes are stored like Django does: text
'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) on SQLite, timestamptz on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from common.names import MODEL_NAME
from monitoring.db import normalize_url

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(engine, moment: datetime):
    moment = moment.astimezone(UTC)
    # SQLAlchemy's SQLite DateTime writes 'YYYY-MM-DD HH:MM:SS.ffffff', as Django does.
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def schema() -> tuple[sa.MetaData, dict[str, sa.Table]]:
    md = sa.MetaData()
    ts = sa.DateTime(timezone=True)
    user = sa.Table("auth_user", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("username", sa.String(150), nullable=False))
    component = sa.Table(
        "portal_component",
        md,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.SmallInteger, nullable=True),
        sa.Column("probability", sa.Float, nullable=True),
        sa.Column("model_version", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("auth_user.id"), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )
    prediction = sa.Table(
        "portal_prediction",
        md,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("component_id", BigId, sa.ForeignKey("portal_component.id"), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("label", sa.SmallInteger, nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_user.id"), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("document_id", BigId, nullable=True),
    )
    feedback = sa.Table(
        "portal_feedback",
        md,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("component_id", BigId, sa.ForeignKey("portal_component.id"), nullable=False),
        sa.Column("prediction_id", BigId, sa.ForeignKey("portal_prediction.id"), nullable=True),
        sa.Column("correct_label", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("auth_user.id"), nullable=True),
        sa.Column("created_at", ts, nullable=False),
    )
    report = sa.Table(
        "portal_monitoring_report",
        md,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("headline", sa.Text, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("window_start", ts, nullable=True),
        sa.Column("window_end", ts, nullable=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("html_report", sa.String(500), nullable=False),
        sa.Column("created_at", ts, nullable=False),
    )
    return md, {"auth_user": user, "component": component, "prediction": prediction, "feedback": feedback, "report": report}


def create_portal_db(url: str) -> sa.Engine:
    engine = sa.create_engine(normalize_url(url))
    md, _ = schema()
    md.create_all(engine)
    return engine


def insert_predictions(
    engine: sa.Engine,
    frame: pd.DataFrame,
    *,
    end: datetime | None = None,
    span: timedelta = timedelta(hours=12),
    model_version: str = "1",
    model_name: str = MODEL_NAME,
    with_components: bool = False,
    threshold: float = 0.5,
    seed: int = 0,
) -> list[int]:
    """Log `frame` (text, probability) as predictions spread evenly over `span` ending at `end`."""
    _, t = schema()
    end = end or datetime.now(UTC) - timedelta(minutes=1)
    n = len(frame)
    rng = np.random.default_rng(seed)
    times = [end - span * (1 - i / max(1, n - 1)) for i in range(n)]
    latency = rng.gamma(2.0, 1.5, n)
    with engine.begin() as conn:
        component_ids: list[int | None] = [None] * n
        if with_components:
            rows = [
                {
                    "text": text,
                    "status": "classified",
                    "model_version": model_version,
                    "created_at": _when(engine, at),
                    "updated_at": _when(engine, at),
                }
                for text, at in zip(frame["text"], times, strict=True)
            ]
            component_ids = [conn.execute(sa.insert(t["component"]).values(**r).returning(t["component"].c.id)).scalar_one() for r in rows]
        rows = [
            {
                "component_id": component_ids[i],
                "text": text,
                "probability": float(p),
                "label": int(p >= threshold),
                "model_name": model_name,
                "model_version": model_version,
                "latency_ms": float(latency[i]),
                "source": ("form", "api", "import")[i % 3],
                "created_at": _when(engine, times[i]),
            }
            for i, (text, p) in enumerate(zip(frame["text"], frame["probability"], strict=True))
        ]
        if rows:
            conn.execute(sa.insert(t["prediction"]), rows)
        last = conn.execute(sa.select(t["prediction"].c.id).order_by(t["prediction"].c.id.desc()).limit(n)).scalars().all()
        ids = sorted(last)
    return ids


def insert_feedback(engine: sa.Engine, rows: list[dict]) -> None:
    """rows: component_id, prediction_id (or None), correct_label, created_at (datetime)."""
    _, t = schema()
    with engine.begin() as conn:
        for r in rows:
            conn.execute(sa.insert(t["feedback"]).values(**{**r, "created_at": _when(engine, r["created_at"]), "comment": ""}))


def reports(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT * FROM portal_monitoring_report ORDER BY id"), conn)
