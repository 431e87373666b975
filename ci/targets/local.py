"""The local target: two gunicorn portals started here, staging then production, with an approval between.

Each environment gets a release (app code + bundle, ci.deploy) and is smoke-tested; production waits for
`python -m ci approve ID` when approval is required, and is approved automatically otherwise.
"""

from __future__ import annotations

from pathlib import Path

from ci.approval import auto_approve, request_approval, wait_for_approval
from ci.config import Environment, PipelineConfig, ensure_demo_password
from ci.targets.base import Log


class LocalTarget:
    name = "local"
    default_tracking_uri = None  # the pipeline starts (or reuses) its own MLflow server on mlflow_port

    def __init__(self, config: PipelineConfig):
        self.config = config
        self.staging, self.production = config.environments()

    def describe(self) -> dict[str, str]:
        approval = "wait for approval" if self.config.require_approval else "auto-approve"
        return {
            "deploy": f"staging {self.staging.url}, smoke test, {approval}, production {self.production.url}",
            "smoke": f"production {self.production.url}: login, classify the reference examples, served version",
            "served": f"portal (production): {self.production.url}   staging: {self.staging.url}",
        }

    def deploy(self, package: dict, *, pipeline_id: str, log: Log) -> dict:
        """Staging first, its smoke test, then approval (manual or automatic), then production."""
        staging = self._deploy(self.staging, package["bundle"], pipeline_id, log)
        staging_smoke = self._smoke(self.staging, package["model_version"])
        log(f"  staging smoke test passed: labels {staging_smoke['labels']}")
        approval = self._approve(package, pipeline_id, log)
        log(f"  production approved by {approval['by']} at {approval['at']}")
        production = self._deploy(self.production, package["bundle"], pipeline_id, log)
        return {
            "staging": staging,
            "production": production,
            "approved_by": approval["by"],
            "approved_at": approval["at"],
            "model_version": production["model_version"],
            "app_version": package["app_version"],
        }

    def smoke_test(self, *, model_version: str) -> dict:
        return self._smoke(self.production, model_version)

    def roll_back(self, *, log: Log) -> dict[str, str]:
        from ci.deploy import rollback

        report = {}
        for env in (self.staging, self.production):
            try:
                restored = rollback(self.config, env)
                report[env.name] = restored["release_id"] if restored else "nothing to roll back to"
                log(f"  rollback {env.name}: {report[env.name]}")
            except Exception as exc:
                report[env.name] = f"rollback failed: {exc}"
                log(f"  rollback {env.name} FAILED: {exc}")
        return report

    def _deploy(self, env: Environment, bundle: str, pipeline_id: str, log: Log) -> dict:
        from ci.deploy import deploy

        release = deploy(self.config, env, Path(bundle), release_id=pipeline_id)
        log(f"  {env.name} deployed at {env.url} (model v{release['model_version']}, restarted: {release['restarted']})")
        return {
            "environment": env.name,
            "url": env.url,
            "release": release["release_id"],
            "model_version": release["model_version"],
            "restarted": release["restarted"],
        }

    def _smoke(self, env: Environment, model_version: str) -> dict:
        from ci.smoke import smoke_outputs

        password, token = ensure_demo_password(self.config), env.ensure_secret("health_token")
        return smoke_outputs(env.name, env.url, password=password, model_version=model_version, health_token=token)

    def _approve(self, package: dict, pipeline_id: str, log: Log) -> dict:
        folder = self.config.pipeline_dir
        if not self.config.require_approval:
            return auto_approve(folder, pipeline_id)
        request_approval(folder, pipeline_id, {"model_version": package["model_version"], "app_version": package["app_version"]})
        log(f"  waiting for approval: python -m ci approve {pipeline_id}   (or --reject)")
        return wait_for_approval(folder, pipeline_id, timeout_s=self.config.approval_timeout_s)
