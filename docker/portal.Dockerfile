# The portal: Django under gunicorn, serving the champion model in-process with ONNX Runtime.
# No torch, mlflow or evidently in this image (requirements/portal.txt; tests/deploy checks it).
#   docker build -f docker/portal.Dockerfile -t compliance-portal --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ARG GIT_COMMIT=unknown
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GIT_COMMIT=${GIT_COMMIT} \
    PORTAL_VAR_DIR=/var/lib/portal \
    MODEL_DIR=/models/current \
    REPORTS_DIR=/reports \
    GUNICORN_CMD_ARGS="--workers 2 --preload --timeout 180 --graceful-timeout 20 --access-logfile -"

WORKDIR /app
COPY requirements/portal.txt requirements/portal.txt
RUN pip install -r requirements/portal.txt

# Only what the portal runs: the Django project and the light half of ml/ (bundle, tokenizer, predictor;
# the torch modules in ml/ are never imported by the portal).
COPY manage.py ./
COPY common/ common/
COPY ml/ ml/
COPY webportal/ webportal/

# Static files are collected at build time (whitenoise serves them); the key is a build-only placeholder.
RUN SECRET_KEY=build-only-not-a-secret DEBUG=0 python manage.py collectstatic --noinput

# The app user owns only what the portal writes: its var dir (model cache) and the mount points of the shared
# volumes; the code and the static files stay read-only to it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /var/lib/portal app \
    && mkdir -p /var/lib/portal /models /reports \
    && chown app:app /var/lib/portal /models /reports
USER app

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "webportal.wsgi", "--no-control-socket", "--config", "python:webportal.gunicorn_conf", "--bind", "0.0.0.0:8000"]
