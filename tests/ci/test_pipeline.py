"""The runner's parts: stage selection, the plan, approvals, releases' app version, the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ci.approval import ApprovalRejected, decide, request_approval, wait_for_approval
from ci.config import STAGES, PipelineConfig
from ci.deploy import APP_PATHS, app_checksum, app_version
from ci.runner import plan, select_stages
from tests.conftest import ROOT


def test_stage_selection():
    assert select_stages() == list(STAGES)
    assert select_stages(from_stage="package") == ["package", "deploy", "smoke"]
    assert select_stages(only="gate") == ["gate"]
    with pytest.raises(ValueError, match="unknown stage"):
        select_stages(from_stage="publish")


def test_dry_run_prints_every_stage_in_order_and_does_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ci", "--var", str(tmp_path), "run", "--dry-run", "--require-approval"],
        cwd=ROOT,
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
        [sys.executable, "-m", "ci", "--var", str(tmp_path), "approve", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "no pipeline nope is waiting" in result.stderr


def test_app_version_and_checksum_follow_the_source(tmp_path):
    import shutil

    for top in APP_PATHS:
        src = ROOT / top
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / top)
    before = app_checksum(tmp_path)
    assert app_version(tmp_path) == app_version(ROOT)
    (tmp_path / "webportal" / "version.py").write_text('APP_VERSION = "9.9.9"\n')
    assert app_version(tmp_path) == "9.9.9" and app_checksum(tmp_path) != before
