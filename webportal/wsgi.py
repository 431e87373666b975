"""WSGI entry point: `gunicorn webportal.wsgi` (gunicorn 26 also needs --no-control-socket).

Loads the model once per worker at start-up, so the first request is served warm."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webportal.settings.base")

application = get_wsgi_application()

from webportal.portal.services import portal_startup  # noqa: E402  (needs Django set up)

portal_startup()
