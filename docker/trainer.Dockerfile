# The trainer / pipeline image: the whole project with torch. It runs `python -m ci run` (the one pipeline),
# `python -m ml ...` and, in docker-compose.yml, the monitoring scheduler (`python -m monitoring`; evidently
# needs pandas<3, pinned in requirements/trainer.txt).
#
# CPU (default): torch from the PyTorch CPU wheel index.
#   docker build -f docker/trainer.Dockerfile -t compliance-trainer .
# GPU, option 1 (same slim base; the CUDA wheels bring their own CUDA libraries, the host needs the NVIDIA
# driver and the NVIDIA Container Toolkit; pick the CUDA index that carries this torch version):
#   docker build -f docker/trainer.Dockerfile -t compliance-trainer:cuda \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .
# GPU, option 2 (a CUDA runtime base that already has torch; it must be Python 3.11 or 3.12, so check the tag):
#   docker build -f docker/trainer.Dockerfile -t compliance-trainer:cuda \
#     --build-arg BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime --build-arg TORCH_SPEC= .
# Run on a GPU with `docker run --gpus all ...` or docker-compose.gpu.yml.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Empty TORCH_SPEC = keep the torch the base image ships.
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG GIT_COMMIT=unknown
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    GIT_PYTHON_REFRESH=quiet \
    GIT_COMMIT=${GIT_COMMIT} \
    PYTHONPATH=/app \
    XDG_CACHE_HOME=/tmp/cache \
    MPLCONFIGDIR=/tmp/cache/matplotlib \
    MODEL_DIR=/models/current \
    REPORTS_DIR=/reports

WORKDIR /app
COPY requirements/trainer.txt requirements/trainer.txt
RUN if [ -n "$TORCH_SPEC" ]; then pip install --index-url "$TORCH_INDEX_URL" "$TORCH_SPEC"; fi \
    && pip install -r requirements/trainer.txt \
    && python -c "import torch; print('torch', torch.__version__, 'cuda build:', torch.version.cuda)"

# The pipeline writes where a checkout would (data/, artifacts/, var/, reports) and to the shared volumes'
# mount points, so the app user owns /app and the project files in it.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
    && mkdir -p /app/data /app/artifacts /app/var /models /reports \
    && chown app:app /app /app/data /app/artifacts /app/var /models /reports

# The project runs from its source tree (PYTHONPATH=/app): the same layout as a checkout.
COPY --chown=app:app pyproject.toml manage.py ./
COPY --chown=app:app common/ common/
COPY --chown=app:app ml/ ml/
COPY --chown=app:app ci/ ci/
COPY --chown=app:app mlruns_server/ mlruns_server/
COPY --chown=app:app monitoring/ monitoring/
COPY --chown=app:app webportal/ webportal/
USER app

CMD ["python", "-m", "ci", "run"]
