"""The portal's visible version: shown in every page's footer and in /healthz. The pipeline's deploy stage
reads it (ci/deploy.py) to decide whether the app changed; bump it with every app change you release."""

APP_VERSION = "1.0.0"
