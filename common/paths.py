"""Where the project lives on disk and where local state goes by default."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("staging", "production")  # the deployed portals `make run` leaves, under <pipeline var>/deploy/


def var_dir(environ: dict | None = None) -> Path:
    """Local state (databases, deploys, MLflow store); git-ignored. PORTAL_VAR_DIR moves it."""
    env = os.environ if environ is None else environ
    return Path(env.get("PORTAL_VAR_DIR") or PROJECT_ROOT / "var")


def pipeline_var_dir(environ: dict | None = None) -> Path:
    """The pipeline's state folder (`python -m ci --var`): deploys, MLflow store, reports. PIPELINE_VAR_DIR moves it."""
    env = os.environ if environ is None else environ
    return Path(env.get("PIPELINE_VAR_DIR") or PROJECT_ROOT / "var")


def mlflow_dir(environ: dict | None = None) -> Path:
    """The local MLflow server's folder (its SQLite store, artifacts, pid file, log)."""
    env = os.environ if environ is None else environ
    return Path(env.get("MLFLOW_SERVER_VAR_DIR") or env.get("MLFLOW_LOCAL_DIR") or pipeline_var_dir(env) / "mlflow")


def portal_database_url(environ: dict | None = None) -> str:
    """The portal's database: DATABASE_URL, else a SQLite file in `var_dir` (monitoring reads the same one)."""
    env = os.environ if environ is None else environ
    return env.get("DATABASE_URL") or f"sqlite:///{var_dir(env) / 'portal.sqlite3'}"


def reports_dir(environ: dict | None = None) -> Path:
    """Where monitoring writes its reports and the portal serves them from: REPORTS_DIR, else reports/."""
    env = os.environ if environ is None else environ
    return Path(env.get("REPORTS_DIR") or PROJECT_ROOT / "reports")


def environment_dir(name: str, var: Path | None = None, environ: dict | None = None) -> Path:
    """A deployed environment's folder: <var>/deploy/<name> (its database, model, releases, pid file)."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {name!r} (one of {', '.join(ENVIRONMENTS)})")
    return Path(var if var is not None else pipeline_var_dir(environ)) / "deploy" / name


def environment_settings(name: str, var: Path | None = None, environ: dict | None = None) -> dict[str, str]:
    """What a deployed environment's portal runs with, as environment variables: its database, model and the
    reports folder the portal serves. The pipeline starts the portals with these; monitoring reads them back."""
    var = Path(var if var is not None else pipeline_var_dir(environ))
    root = environment_dir(name, var)
    return {"DATABASE_URL": f"sqlite:///{root / 'portal.sqlite3'}", "MODEL_DIR": str(root / "model"), "REPORTS_DIR": str(var / "reports")}


def deployed_environment(environ: dict | None = None) -> str | None:
    """The environment a command after `make run` means by default: production when it is deployed, else staging
    when that is, else None (nothing deployed under the pipeline's var folder)."""
    for name in reversed(ENVIRONMENTS):
        if (environment_dir(name, environ=environ) / "portal.sqlite3").exists():
            return name
    return None


def deployed_portal_environ(name: str, environ: dict | None = None) -> dict[str, str]:
    """The variables a command needs to act on a deployed portal's data as its workers do (`manage.py --env NAME`):
    its database, model, reports, state folder, and the secret key the pipeline generated for it (ci.config)."""
    root = environment_dir(name, environ=environ)
    values = {**environment_settings(name, environ=environ), "PORTAL_VAR_DIR": str(root), "PORTAL_ENVIRONMENT": name}
    secret = root / ".secret_key"
    if secret.is_file():
        values["SECRET_KEY"] = secret.read_text().strip()
    return values
