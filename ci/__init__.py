"""The one pipeline: data -> train -> evaluate -> register -> gate & promote -> package -> deploy -> smoke test.

Stages are plain functions over explicit inputs and outputs (ci.stages); ci.runner orders them, records the
pipeline run in MLflow and rolls back when a deploy or smoke test fails. `python -m ci run` is the thin CLI,
called the same way locally, by the CI definitions and by docker compose.
"""
