"""WSGI entry point: `gunicorn --config python:webportal.gunicorn_conf webportal.wsgi` (gunicorn 26 also needs
--no-control-socket).

Loads the model once per process at start-up, so the first request is served warm; under gunicorn with
webportal.gunicorn_conf each worker loads it after the fork instead (see there why never in the master)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webportal.settings.base")

application = get_wsgi_application()

from webportal.portal.services import portal_startup  # noqa: E402  (needs Django set up)

if "webportal.gunicorn_conf" not in sys.modules:  # its post_worker_init loads the model in each worker
    portal_startup()
