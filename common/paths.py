"""Where the project lives on disk and where local state goes by default."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def var_dir(environ: dict | None = None) -> Path:
    """Local state (databases, deploys, MLflow store); git-ignored. PORTAL_VAR_DIR moves it."""
    env = os.environ if environ is None else environ
    return Path(env.get("PORTAL_VAR_DIR") or PROJECT_ROOT / "var")


def mlflow_dir(environ: dict | None = None) -> Path:
    """The local MLflow server's folder (its SQLite store, artifacts, pid file, log)."""
    env = os.environ if environ is None else environ
    return Path(env.get("MLFLOW_SERVER_VAR_DIR") or env.get("MLFLOW_LOCAL_DIR") or PROJECT_ROOT / "var" / "mlflow")


def portal_database_url(environ: dict | None = None) -> str:
    """The portal's database: DATABASE_URL, else a SQLite file in `var_dir` (monitoring reads the same one)."""
    env = os.environ if environ is None else environ
    return env.get("DATABASE_URL") or f"sqlite:///{var_dir(env) / 'portal.sqlite3'}"


def reports_dir(environ: dict | None = None) -> Path:
    """Where monitoring writes its reports and the portal serves them from: REPORTS_DIR, else reports/."""
    env = os.environ if environ is None else environ
    return Path(env.get("REPORTS_DIR") or PROJECT_ROOT / "reports")
