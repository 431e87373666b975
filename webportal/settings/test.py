"""Fast settings for the test suite: cheap hashing, in-memory cache, no HTTPS redirects.

The database still comes from DATABASE_URL (SQLite by default; the suite also runs on PostgreSQL)."""

from webportal.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
MODEL_POLL_SECONDS = 0
PREDICTION_LOG_FLUSH_MS = 0  # rows are visible inside each test's transaction; the write-behind log has its own tests
MODEL_DIR = MODEL_URI = MLFLOW_TRACKING_URI = METRICS_TOKEN = HEALTH_TOKEN = ""  # each test chooses its model explicitly
WHITENOISE_AUTOREFRESH = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}  # the shared caches: test_deploy.py
LOGGING["loggers"]["webportal"]["level"] = "WARNING"  # noqa: F405
