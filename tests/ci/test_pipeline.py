"""The runner's parts: stage selection, the plan, approvals, releases' app version, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ci.approval import ApprovalRejected, decide, request_approval, wait_for_approval
from ci.config import PipelineConfig
from ci.deploy import APP_PATHS, app_checksum, app_version
from ci.runner import plan, select_stages
from ci.stages import STAGES
from common.paths import PROJECT_ROOT


def test_stage_selection():
    assert select_stages() == list(STAGES)
    assert select_stages(from_stage="package") == ["package", "deploy", "smoke"]
    assert select_stages(only="gate") == ["gate"]
    with pytest.raises(ValueError, match="unknown stage"):
        select_stages(from_stage="publish")


def test_dry_run_prints_every_stage_in_order_and_does_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ci", "--var", str(tmp_path), "run", "--dry-run", "--require-approval"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert lines == list(STAGES)
    assert "wait for approval" in result.stdout
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_plan_names_ports_and_sources():
    config = PipelineConfig(staging_port=9101, production_port=9100, rows=1234)
    text = "\n".join(plan(config, list(STAGES)))
    assert "1234 rows" in text and "127.0.0.1:9101" in text and "127.0.0.1:9100" in text


def test_approval_is_recorded_with_who_and_when(tmp_path):
    request_approval(tmp_path, "p1", {"model_version": "3"})
    record = decide(tmp_path, "p1", approve=True, by="alice", comment="looks good")
    assert record["state"] == "approved" and record["by"] == "alice" and record["at"]
    assert wait_for_approval(tmp_path, "p1", timeout_s=1)["by"] == "alice"
    with pytest.raises(ValueError, match="already approved"):
        decide(tmp_path, "p1", approve=False)


def test_rejection_and_timeout_stop_production(tmp_path):
    request_approval(tmp_path, "p2", {})
    decide(tmp_path, "p2", approve=False, by="bob", comment="not today")
    with pytest.raises(ApprovalRejected, match="rejected by bob: not today"):
        wait_for_approval(tmp_path, "p2", timeout_s=1)
    request_approval(tmp_path, "p3", {})
    with pytest.raises(ApprovalRejected, match="no approval"):
        wait_for_approval(tmp_path, "p3", timeout_s=0.3, poll_s=0.1)


def test_approving_an_unknown_pipeline_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ci", "--var", str(tmp_path), "approve", "nope"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no pipeline nope is waiting" in result.stderr


def test_app_version_and_checksum_follow_the_source(tmp_path):
    import shutil

    for top in APP_PATHS:
        src = PROJECT_ROOT / top
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / top)
    before = app_checksum(tmp_path)
    assert app_version(tmp_path) == app_version(PROJECT_ROOT)
    (tmp_path / "webportal" / "version.py").write_text('APP_VERSION = "9.9.9"\n')
    assert app_version(tmp_path) == "9.9.9" and app_checksum(tmp_path) != before


def test_config_reads_the_environment_once_and_writes_nothing(tmp_path, monkeypatch):
    """from_env reads the target, its settings, the password and the tracking URI once; later changes to the
    environment change nothing, None overrides are ignored, and building a config writes no file."""
    from ci.config import PipelineConfig

    environ = {
        "PIPELINE_DEPLOY_TARGET": "compose",
        "MODEL_DIR": "/srv/models/current",
        "PORTAL_URL": "http://portal.internal:8000",
        "PORTAL_DEMO_PASSWORD": "from-env",
        "MLFLOW_TRACKING_URI": "http://tracking.internal:5000",
    }
    config = PipelineConfig.from_env(environ, var=tmp_path, rows=None, seed=3)
    assert (config.target, config.compose_model_dir, config.compose_portal_url) == (
        "compose",
        Path("/srv/models/current"),
        "http://portal.internal:8000",
    )
    assert config.demo_password == "from-env" and config.seed == 3 and config.rows == 100_000
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://changed:5000")
    monkeypatch.setenv("PIPELINE_DEPLOY_TARGET", "local")
    assert config.resolved_tracking_uri == "http://tracking.internal:5000" and config.target == "compose"
    assert (
        PipelineConfig.from_env({**environ, "PIPELINE_TRACKING_URI": "http://pipeline:5000"}, var=tmp_path).tracking_uri
        == "http://pipeline:5000"
    )
    assert PipelineConfig.from_env(environ, var=tmp_path, tracking_uri="http://flag:5000").tracking_uri == "http://flag:5000"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="no setting colour"):
        PipelineConfig.from_env({}, colour="blue")


def test_tracking_defaults_follow_the_target_and_the_running_local_server(tmp_path):
    """No URI configured: compose talks to its mlflow service; local starts its own server on mlflow_port, or
    uses the one running from var/mlflow (pid file naming a live process, URL file beside it)."""
    import os

    from ci.config import PipelineConfig

    assert PipelineConfig.from_env({"PIPELINE_DEPLOY_TARGET": "compose"}, var=tmp_path).resolved_tracking_uri == "http://mlflow:5000"
    local = PipelineConfig.from_env({}, var=tmp_path, mlflow_port=5123)
    assert local.tracking_uri is None and local.resolved_tracking_uri == "http://127.0.0.1:5123" and local.starts_local_mlflow
    (tmp_path / "mlflow").mkdir()
    (tmp_path / "mlflow" / "server.pid").write_text(f"{os.getpid()}\n")  # a live process: this test
    (tmp_path / "mlflow" / "server.url").write_text("http://127.0.0.1:5999\n")
    running = PipelineConfig.from_env({}, var=tmp_path, mlflow_port=5123)
    assert running.resolved_tracking_uri == "http://127.0.0.1:5999" and not running.starts_local_mlflow
    with pytest.raises(ValueError, match="unknown deploy target 'nomad'"):
        PipelineConfig.from_env({"PIPELINE_DEPLOY_TARGET": "nomad"}, var=tmp_path)


def test_demo_password_file_is_made_only_when_ensured(tmp_path):
    from ci.config import PipelineConfig, ensure_demo_password

    assert ensure_demo_password(PipelineConfig(var=tmp_path, demo_password="given")) == "given"
    assert list(tmp_path.iterdir()) == []
    config = PipelineConfig(var=tmp_path)
    password = ensure_demo_password(config)
    path = tmp_path / "deploy" / ".demo_password"
    assert len(password) >= 16 and path.read_text() == password and path.stat().st_mode & 0o777 == 0o600
    assert ensure_demo_password(config) == password


def test_stage_table_inputs_come_from_earlier_stages_outputs():
    """Every input names an earlier stage (and one of its declared outputs); deploy and smoke roll back."""
    from ci.stages import STAGE_TABLE

    seen: dict[str, tuple] = {}
    for stage in STAGE_TABLE:
        for argument, source in stage.inputs.items():
            name, _, key = source.partition(".")
            assert name in seen, f"{stage.name}.{argument} reads {source}, not from an earlier stage"
            assert not key or key in seen[name], f"{stage.name}.{argument} reads {source}, which {name} does not declare"
        seen[stage.name] = stage.outputs
    assert [s.name for s in STAGE_TABLE if s.rolls_back] == ["deploy", "smoke"]


@pytest.mark.parametrize("target", ["local", "compose"])
def test_every_target_describes_its_deploy_smoke_and_portal(tmp_path, target):
    from ci.config import PipelineConfig
    from ci.targets import target_for

    config = PipelineConfig(var=tmp_path, target=target, production_port=9100, compose_portal_url="http://portal:8000")
    described = target_for(config).describe()
    assert set(described) == {"deploy", "smoke", "served"}
    assert ("127.0.0.1:9100" if target == "local" else "http://portal:8000") in described["smoke"]


def test_the_last_line_says_what_happened_to_production():
    from ci.runner import PipelineResult
    from ci.verdict import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, exit_status

    outputs = {"register": {"version": "3"}, "gate": {"verdict": "rejected", "previous_champion": "2"}, "package": {"model_version": "2"}}
    rejected = PipelineResult("p1", status="rejected", outputs=outputs)
    assert rejected.ok and rejected.verdict_line == "new model v3 rejected by the gate; production unchanged (v2)"
    assert exit_status("rejected", on_reject="fail") == EXIT_REJECTED
    promoted = PipelineResult("p2", status="succeeded", outputs={**outputs, "package": {"model_version": "3"}})
    assert promoted.verdict_line == "pipeline succeeded; production serves v3" and exit_status("succeeded", on_reject="fail") == EXIT_OK
    failed = PipelineResult("p3", status="rolled_back", error="SmokeTestFailed: boom")
    assert not failed.ok and "rolled back" in failed.verdict_line and exit_status("rolled_back", on_reject="warn") == EXIT_FAILED
