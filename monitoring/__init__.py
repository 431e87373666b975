"""Monitoring: drift and live-performance jobs over the portal's prediction log (Evidently, MLflow).

Entry points: ``python -m monitoring drift|performance|schedule`` and, in Python,
``monitoring.jobs.run_drift(JobConfig)`` / ``run_performance(JobConfig)``. Importing this package is free:
Evidently, matplotlib and mlflow load only when a job runs.
"""
