# The MLflow tracking server and UI (python -m mlruns_server): PostgreSQL backend store (psycopg 3, so use a
# postgresql+psycopg:// URI) and artifacts proxied by the server to a volume (--artifacts-destination).
#   docker build -f docker/mlflow.Dockerfile -t compliance-mlflow .
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    MLFLOW_SERVER_VAR_DIR=/var/lib/mlflow

WORKDIR /app
COPY requirements/mlflow.txt requirements/mlflow.txt
RUN pip install -r requirements/mlflow.txt

COPY common/ common/
COPY mlruns_server/ mlruns_server/

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /var/lib/mlflow app \
    && mkdir -p /mlartifacts /var/lib/mlflow \
    && chown app:app /mlartifacts /var/lib/mlflow
USER app

EXPOSE 5000
VOLUME ["/mlartifacts"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4).status == 200 else 1)"]
# The backend store comes from MLFLOW_BACKEND_STORE_URI (it holds the database password: set it at run time, as
# docker-compose.yml does); without it the server falls back to SQLite under MLFLOW_SERVER_VAR_DIR.
# postgresql:// URIs are run with psycopg 3 by mlruns_server.
CMD ["python", "-m", "mlruns_server", "--host", "0.0.0.0", "--port", "5000", "--artifacts-destination", "/mlartifacts", "--allowed-hosts", "mlflow,mlflow:5000"]
