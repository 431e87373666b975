"""Portal settings. Every value comes from `webportal.env.load()`; production behaviour is switched on by
DEBUG being off (secure cookies, HSTS, SSL redirect), not by a separate code path."""

from __future__ import annotations

import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from common.paths import PROJECT_ROOT
from webportal import env as _env

ENV = _env.load()
BASE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PROJECT_ROOT  # relative report paths are also looked up here

DEBUG = ENV.debug
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "webportal.accounts",
    "webportal.portal",
    "webportal.api",
]

MIDDLEWARE = [
    "webportal.portal.middleware.InternalHostMiddleware",
    "webportal.portal.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webportal.portal.outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "webportal.urls"
WSGI_APPLICATION = "webportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webportal.portal.context.served_model",
            ],
        },
    },
]

if ENV.database_url.startswith("sqlite:///") and ENV.database_url != "sqlite:///:memory:":
    Path(ENV.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"  # role-aware: technicians classify, operators see Operations, reviewers their queue
LOGOUT_REDIRECT_URL = "login"
LOGIN_MAX_FAILURES = ENV.login_max_failures
LOGIN_LOCKOUT_SECONDS = 900


def _caches(url: str, var_dir: Path) -> dict:
    """The cache the login throttle counts in; it must be shared by every worker, or each worker allows its own
    LOGIN_MAX_FAILURES. Default: files under PORTAL_VAR_DIR (the workers of one host); redis://host:port/db
    for several hosts or replicas; locmem:// for one process only."""
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(var_dir / "cache")}}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "portal"}}
    if url.startswith("locmem://"):
        name = url.removeprefix("locmem://") or "portal"
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}}
    raise ImproperlyConfigured(f"CACHE_URL must be empty, redis://..., rediss://..., unix://... or locmem://, not {url!r}")


CACHES = _caches(ENV.cache_url, ENV.var_dir)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = REPO_ROOT / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve app static files even before collectstatic (single-container setups)
warnings.filterwarnings("ignore", message="No directory at")  # STATIC_ROOT is optional

# Request size limits: the API answers 400 naming `body` past this (see webportal.api.parsers).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_048_576
FILE_UPLOAD_MAX_MEMORY_SIZE = 5_242_880

# Security: on whenever DEBUG is off; each switch can be overridden from the environment.
SECURE_SSL_REDIRECT = ENV.secure_ssl_redirect
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = ENV.secure_cookies
CSRF_COOKIE_SECURE = ENV.secure_cookies
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = ENV.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = ENV.hsts_seconds > 0
SECURE_HSTS_PRELOAD = ENV.hsts_seconds > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webportal.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["webportal.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "webportal.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Component-compliance portal API",
    "DESCRIPTION": "Classify component descriptions, manage the inventory and record reviewer feedback.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and any docs page built on it (Swagger UI, ReDoc) answer signed-in users only (token or session).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # /api/docs/ (Swagger UI) and /api/redoc/ load their scripts from the portal's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"LabelEnum": "webportal.portal.models.Label"},
}

# The model the portal serves (see webportal.portal.serving).
MODEL_DIR = ENV.model_dir
MODEL_URI = ENV.model_uri
MLFLOW_TRACKING_URI = ENV.mlflow_tracking_uri
MLFLOW_AUTH = ENV.mlflow_auth
MLFLOW_TOKEN = ENV.mlflow_token
MODEL_CACHE_DIR = ENV.model_cache_dir
MODEL_POLL_SECONDS = ENV.model_poll_seconds
MODEL_THREADS = ENV.model_threads
REPORTS_DIR = ENV.reports_dir
METRICS_TOKEN = ENV.metrics_token
HEALTH_TOKEN = ENV.health_token  # bearer token for /healthz's details (operators signed in always see them)
API_AUTH_CACHE_SECONDS = ENV.api_auth_cache_seconds
PREDICTION_LOG_FLUSH_MS = ENV.prediction_log_flush_ms  # 0: write each API prediction before answering
PREDICTION_LOG_MAX_PENDING = ENV.prediction_log_max_pending
PREDICTION_LOG_SPOOL_DIR = str(ENV.var_dir / "spool") if ENV.prediction_log_spool else ""  # survives a SIGKILL: spool.py
PORTAL_ENVIRONMENT = ENV.environment  # e.g. staging / production, shown in the footer and /healthz
DEMO_PASSWORD = ENV.demo_password
REVIEW_BAND = ENV.review_band  # P(non-compliant) in [low, high]: the classification "needs review" (reviews.py)
BENCH_NOOP = ENV.bench_noop  # exposes /bench/noop and /bench/echo, the benchmark's baseline views (never in production)

# Limits (documented in docs/portal.md).
MAX_TEXT_CHARS = 2000
MAX_BATCH = 256
IMPORT_MAX_BYTES = 50 * 1_048_576
IMPORT_MAX_ROWS = 200_000
IMPORT_CHUNK_ROWS = 5000
DOCUMENT_MAX_BYTES = ENV.document_max_mb * 1_048_576  # specification documents (docs/documents.md)
DOCUMENT_MAX_PAGES = ENV.document_max_pages
DOCUMENT_MAX_FILES = ENV.document_max_files  # files in one upload

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"webportal": {"handlers": ["console"], "level": ENV.log_level, "propagate": False}},
}
