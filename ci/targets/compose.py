"""The compose target: the portal replicas already run (and the `migrate` service has run); deploying writes
the champion's bundle into the shared MODEL_DIR volume, which every replica polls, and PORTAL_URL is
smoke-tested. The bundle it replaces is kept beside it, so a failed smoke test puts it back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ci.config import PipelineConfig, ensure_demo_password
from ci.processes import DeployError, wait_for_version
from ci.targets.base import Log
from common.paths import PROJECT_ROOT
from ml.bundle import copy_bundle, read_card


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
        deployed = deploy_compose(bundle=Path(package["bundle"]), model_dir=self.model_dir, portal_url=self.portal_url)
        log(f"  compose: bundle v{deployed['model_version']} written to {self.model_dir}, served at {deployed['url']}")
        return {"production": deployed, "model_version": deployed["model_version"], "app_version": package["app_version"]}

    def smoke_test(self, *, model_version: str) -> dict:
        from ci.smoke import smoke_outputs

        return smoke_outputs("compose", self.portal_url, password=ensure_demo_password(self.config), model_version=model_version)

    def roll_back(self, *, log: Log) -> dict[str, str]:
        try:
            report = {"compose": rollback_compose(model_dir=self.model_dir, portal_url=self.portal_url) or "nothing to roll back to"}
        except Exception as exc:
            report = {"compose": f"rollback failed: {exc}"}
        log(f"  rollback compose: {report['compose']}")
        return report


def previous_dir(model_dir: Path) -> Path:
    return model_dir.with_name(f"{model_dir.name}.previous")


def deploy_compose(*, bundle: Path, model_dir: Path, portal_url: str) -> dict:
    version = str(read_card(bundle).model_version)
    if (model_dir / "model_card.json").exists():
        shutil.rmtree(previous_dir(model_dir), ignore_errors=True)
        copy_bundle(model_dir, previous_dir(model_dir))
    copy_bundle(bundle, model_dir)
    result = subprocess.run(
        [sys.executable, "manage.py", "setup_roles", "--demo-users"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise DeployError(f"manage.py setup_roles failed:\n{(result.stdout + result.stderr)[-2000:]}")
    wait_for_version(portal_url, version, timeout=90)
    return {"environment": "compose", "url": portal_url, "model_version": version, "restarted": False}


def rollback_compose(*, model_dir: Path, portal_url: str) -> str | None:
    previous = previous_dir(model_dir)
    if not (previous / "model_card.json").exists():
        return None
    copy_bundle(previous, model_dir)
    version = str(read_card(model_dir).model_version)
    wait_for_version(portal_url, version, timeout=90)
    return version
