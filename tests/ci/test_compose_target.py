"""The compose deploy target against a real gunicorn portal: the bundle lands in the shared MODEL_DIR, the
running replica picks it up without a restart, the smoke test passes, and a rollback puts the old one back."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import requests

from ci.config import PipelineConfig
from ci.processes import manage, start_portal, stop_pid_file
from ci.smoke import health_headers, smoke_test
from ci.targets.compose import deploy_compose, rollback_compose
from common.paths import PROJECT_ROOT
from common.processes import free_port
from ml.bundle import copy_bundle


def _versioned(trained_bundle, folder, version: str):
    copy_bundle(trained_bundle, folder)
    card = json.loads((folder / "model_card.json").read_text())
    card["model_version"] = version
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def running_portal(tmp_path, trained_bundle, monkeypatch):
    config = PipelineConfig(var=tmp_path / "var", production_port=free_port(), demo_password="compose-test-pw", workers=1)
    env = config.environments()[1]
    env.root.mkdir(parents=True)
    _versioned(trained_bundle, env.model_dir, "7")
    manage(config, env, PROJECT_ROOT, "migrate", "--noinput")
    manage(config, env, PROJECT_ROOT, "setup_roles", "--demo-users")
    start_portal(config, env, PROJECT_ROOT)
    # In compose the pipeline container and the portal share HEALTH_TOKEN through .env.
    monkeypatch.setenv("HEALTH_TOKEN", env.ensure_secret("health_token"))
    yield config, env
    stop_pid_file(env.pid_file)
    if env.log_file.exists():
        print(env.log_file.read_text(errors="replace")[-3000:])


def test_compose_deploy_needs_the_health_token(running_portal, monkeypatch):
    """Without HEALTH_TOKEN the pipeline cannot see the served version (public /healthz says the status only)."""
    from ci.processes import DeployError, wait_for_version

    _, env = running_portal
    assert requests.get(f"{env.url}/healthz", timeout=5).json() == {"status": "ok"}
    monkeypatch.delenv("HEALTH_TOKEN")
    with pytest.raises(DeployError, match="HEALTH_TOKEN"):
        wait_for_version(env.url, "7", timeout=5)


def test_compose_deploy_swaps_the_model_without_restart_and_rolls_back(running_portal, trained_bundle, tmp_path, monkeypatch):
    _, env = running_portal
    pid_before = env.pid_file.read_text()
    monkeypatch.setenv("DATABASE_URL", env.database_url)  # setup_roles runs against the portal's database
    monkeypatch.setenv("PORTAL_DEMO_PASSWORD", "compose-test-pw")
    monkeypatch.setenv("DEBUG", "1")
    new = _versioned(trained_bundle, tmp_path / "new-bundle", "8")
    deployed = deploy_compose(bundle=new, model_dir=env.model_dir, portal_url=env.url)
    assert deployed["model_version"] == "8" and env.pid_file.read_text() == pid_before
    assert smoke_test(env.url, username="tech", password="compose-test-pw", expected_version="8").labels == [1, 0, 1]
    assert rollback_compose(model_dir=env.model_dir, portal_url=env.url) == "7"
    assert requests.get(f"{env.url}/healthz", headers=health_headers(), timeout=5).json()["model_version"] == "7"
    shutil.rmtree(env.model_dir.with_name("model.previous"))
    assert rollback_compose(model_dir=env.model_dir, portal_url=env.url) is None


def test_compose_target_object_deploys_smoke_tests_and_rolls_back(running_portal, trained_bundle, tmp_path, monkeypatch):
    """The same through ci.targets: the runner's view of the compose target (deploy, smoke test, roll back)."""
    from ci.targets import target_for

    config, env = running_portal
    monkeypatch.setenv("DATABASE_URL", env.database_url)
    monkeypatch.setenv("PORTAL_DEMO_PASSWORD", "compose-test-pw")
    monkeypatch.setenv("DEBUG", "1")
    config = replace(config, target="compose", compose_model_dir=env.model_dir, compose_portal_url=env.url)
    target = target_for(config)
    lines: list[str] = []
    package = {"bundle": str(_versioned(trained_bundle, tmp_path / "new-bundle", "9")), "app_version": "1.0.0"}
    deployed = target.deploy(package, pipeline_id="p-compose", log=lines.append)
    assert deployed["model_version"] == "9" and deployed["production"]["url"] == env.url and deployed["app_version"] == "1.0.0"
    smoke = target.smoke_test(model_version="9")
    assert (smoke["environment"], smoke["model_version"], smoke["labels"]) == ("compose", "9", [1, 0, 1]) and smoke["app_version"]
    assert target.roll_back(log=lines.append) == {"compose": "7"}
    assert requests.get(f"{env.url}/healthz", headers=health_headers(), timeout=5).json()["model_version"] == "7"
    assert any("written to" in line for line in lines) and any("rollback compose: 7" in line for line in lines)
