"""Manual approval before production: the run waits for `python -m ci approve PIPELINE_ID` (or --reject)."""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime
from pathlib import Path


class ApprovalRejected(RuntimeError):
    """Production deploy was rejected, or nobody approved it in time."""


def approval_file(pipeline_dir: Path, pipeline_id: str) -> Path:
    return pipeline_dir / "approvals" / f"{pipeline_id}.json"


def request_approval(pipeline_dir: Path, pipeline_id: str, summary: dict) -> Path:
    path = approval_file(pipeline_dir, pipeline_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"state": "pending", "requested_at": datetime.now(UTC).isoformat(timespec="seconds"), "summary": summary}, indent=1)
    )
    return path


def decide(pipeline_dir: Path, pipeline_id: str, *, approve: bool, by: str | None = None, comment: str = "") -> dict:
    path = approval_file(pipeline_dir, pipeline_id)
    if not path.exists():
        raise FileNotFoundError(f"no pipeline {pipeline_id} is waiting for approval")
    record = json.loads(path.read_text())
    if record["state"] != "pending":
        raise ValueError(f"pipeline {pipeline_id} was already {record['state']} by {record.get('by')}")
    record.update(
        state="approved" if approve else "rejected",
        by=by or getpass.getuser(),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        comment=comment,
    )
    path.write_text(json.dumps(record, indent=1))
    return record


def auto_approve(pipeline_dir: Path, pipeline_id: str) -> dict:
    request_approval(pipeline_dir, pipeline_id, {})
    return decide(pipeline_dir, pipeline_id, approve=True, by="auto (local run)", comment="approval not required")


def wait_for_approval(pipeline_dir: Path, pipeline_id: str, *, timeout_s: float, poll_s: float = 1.0) -> dict:
    path = approval_file(pipeline_dir, pipeline_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = json.loads(path.read_text())
        if record["state"] == "approved":
            return record
        if record["state"] == "rejected":
            raise ApprovalRejected(f"production deploy rejected by {record['by']}: {record.get('comment') or 'no comment'}")
        time.sleep(poll_s)
    raise ApprovalRejected(f"no approval for pipeline {pipeline_id} within {timeout_s:.0f}s")
