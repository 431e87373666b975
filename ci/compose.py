"""Deploy target for docker compose: the portal replicas already run (and the `migrate` service has run);
deploying writes the champion's bundle into the shared MODEL_DIR volume, which every replica polls.
The bundle it replaces is kept beside it, so a failed smoke test puts it back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ci.processes import DeployError, wait_for_version
from common.paths import PROJECT_ROOT
from ml.bundle import copy_bundle, read_card


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
