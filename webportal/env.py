"""The one place that reads the environment (documented in .env.example).

Settings modules call `load()` and never touch `os.environ` themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from common.names import server_uri
from common.paths import portal_database_url, reports_dir, var_dir
from ml.documents.limits import MB, Limits

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(environ: dict, name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, not {raw!r}")


def _int(environ: dict, name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def _positive(environ: dict, name: str, default: int) -> int:
    value = _int(environ, name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}")
    return value


def _band(environ: dict, name: str, default: tuple[float, float]) -> tuple[float, float]:
    """A probability range written `low..high` (0 <= low <= high <= 1); empty: the default; `off`: no band."""
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() == "off":
        return (1.0, 0.0)  # an empty range: nothing needs review
    try:
        low, high = (float(part) for part in raw.split(".."))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be written low..high (e.g. 0.2..0.8) or off, not {raw!r}") from exc
    if not 0.0 <= low <= high <= 1.0:
        raise ImproperlyConfigured(f"{name} needs 0 <= low <= high <= 1, not {raw!r}")
    return (low, high)


def _list(environ: dict, name: str, default: list[str]) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Env:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    database_url: str
    model_dir: str
    model_uri: str
    mlflow_tracking_uri: str
    mlflow_auth: tuple[str, str] | None
    mlflow_token: str
    model_cache_dir: Path
    model_poll_seconds: int
    model_threads: int
    reports_dir: Path
    secure_ssl_redirect: bool
    secure_cookies: bool
    hsts_seconds: int
    metrics_token: str
    health_token: str
    login_max_failures: int
    log_level: str
    demo_password: str
    bench_noop: bool
    api_auth_cache_seconds: int
    prediction_log_flush_ms: int
    prediction_log_max_pending: int
    prediction_log_spool: bool
    cache_url: str
    var_dir: Path
    environment: str
    review_band: tuple[float, float]
    document_max_mb: int
    document_max_pages: int
    document_max_files: int


def load(environ: dict | None = None) -> Env:
    environ = dict(os.environ if environ is None else environ)
    debug = _bool(environ, "DEBUG", False)
    secret_key = environ.get("SECRET_KEY", "")
    if not secret_key:
        if not debug:
            raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example)")
        secret_key = "django-insecure-local-development-only-not-for-production"
    var = var_dir(environ)
    bench = _bool(environ, "PORTAL_BENCH_NOOP", False)
    if bench and environ.get("PORTAL_ENVIRONMENT", "").strip().lower() == "production":
        raise ImproperlyConfigured("PORTAL_BENCH_NOOP exposes the benchmark views (/bench/noop, /bench/echo): never in production")
    return Env(
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=_list(environ, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"]),
        csrf_trusted_origins=_list(environ, "CSRF_TRUSTED_ORIGINS", []),
        database_url=portal_database_url(environ),
        model_dir=environ.get("MODEL_DIR", "").strip(),
        model_uri=environ.get("MODEL_URI", "").strip(),
        # `models:/` needs a server: MLFLOW_TRACKING_URI, else the local one `make run` started (common.names).
        mlflow_tracking_uri=server_uri(environ=environ) or "",
        mlflow_auth=(environ["MLFLOW_TRACKING_USERNAME"], environ.get("MLFLOW_TRACKING_PASSWORD", ""))
        if environ.get("MLFLOW_TRACKING_USERNAME")
        else None,
        mlflow_token=environ.get("MLFLOW_TRACKING_TOKEN", ""),
        model_cache_dir=Path(environ.get("MODEL_CACHE_DIR") or var / "model-cache"),
        model_poll_seconds=_int(environ, "MODEL_POLL_SECONDS", 10),
        model_threads=_int(environ, "MODEL_THREADS", 1),
        reports_dir=reports_dir(environ),
        secure_ssl_redirect=_bool(environ, "SECURE_SSL_REDIRECT", not debug),
        secure_cookies=_bool(environ, "SECURE_COOKIES", not debug),
        hsts_seconds=_int(environ, "SECURE_HSTS_SECONDS", 0 if debug else 31_536_000),
        metrics_token=environ.get("METRICS_TOKEN", ""),
        health_token=environ.get("HEALTH_TOKEN", ""),
        login_max_failures=_int(environ, "LOGIN_MAX_FAILURES", 5),
        log_level=environ.get("LOG_LEVEL", "INFO").upper(),
        demo_password=environ.get("PORTAL_DEMO_PASSWORD", ""),
        bench_noop=bench,
        api_auth_cache_seconds=_int(environ, "API_AUTH_CACHE_SECONDS", 30),
        prediction_log_flush_ms=_int(environ, "PREDICTION_LOG_FLUSH_MS", 100),
        prediction_log_max_pending=_int(environ, "PREDICTION_LOG_MAX_PENDING", 50_000),
        prediction_log_spool=_bool(environ, "PREDICTION_LOG_SPOOL", True),
        cache_url=environ.get("CACHE_URL", "").strip(),
        var_dir=var,
        environment=environ.get("PORTAL_ENVIRONMENT", "").strip(),
        review_band=_band(environ, "PORTAL_REVIEW_BAND", (0.2, 0.8)),
        document_max_mb=_positive(environ, "DOCUMENT_MAX_MB", Limits.max_bytes // MB),  # the CLI's defaults
        document_max_pages=_positive(environ, "DOCUMENT_MAX_PAGES", Limits.max_pages),
        document_max_files=_positive(environ, "DOCUMENT_MAX_FILES", 20),
    )
