"""The compose target: the portal replicas already run; deploying writes the champion's bundle into the
shared MODEL_DIR volume (ci.compose), every replica picks it up, and PORTAL_URL is smoke-tested."""

from __future__ import annotations

from pathlib import Path

from ci.config import PipelineConfig, ensure_demo_password
from ci.targets.base import Log


class ComposeTarget:
    name = "compose"
    default_tracking_uri = "http://mlflow:5000"  # the compose stack's MLflow service

    def __init__(self, config: PipelineConfig):
        self.config = config
        self.model_dir = config.compose_model_dir
        self.portal_url = config.compose_portal_url

    def describe(self) -> dict[str, str]:
        return {
            "deploy": f"write the bundle to {self.model_dir} (the replicas poll it), wait until {self.portal_url} serves it",
            "smoke": f"portal {self.portal_url}: login, classify the reference examples, served version",
            "served": f"portal: {self.portal_url}",
        }

    def deploy(self, package: dict, *, pipeline_id: str, log: Log) -> dict:
        from ci.compose import deploy_compose

        deployed = deploy_compose(bundle=Path(package["bundle"]), model_dir=self.model_dir, portal_url=self.portal_url)
        log(f"  compose: bundle v{deployed['model_version']} written to {self.model_dir}, served at {deployed['url']}")
        return {"production": deployed, "model_version": deployed["model_version"], "app_version": package["app_version"]}

    def smoke_test(self, *, model_version: str) -> dict:
        from ci.smoke import smoke_outputs

        return smoke_outputs("compose", self.portal_url, password=ensure_demo_password(self.config), model_version=model_version)

    def roll_back(self, *, log: Log) -> dict[str, str]:
        from ci.compose import rollback_compose

        try:
            report = {"compose": rollback_compose(model_dir=self.model_dir, portal_url=self.portal_url) or "nothing to roll back to"}
        except Exception as exc:
            report = {"compose": f"rollback failed: {exc}"}
        log(f"  rollback compose: {report['compose']}")
        return report
