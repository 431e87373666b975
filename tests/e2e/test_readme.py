"""The README's commands, as a user types them after `make run`, against a stack started the way `make run` does.

The stack: `python -m ci run` (what `make run` runs) on a small data set, in an isolated var folder
(PIPELINE_VAR_DIR) on free ports (PIPELINE_*_PORT), so the user's own stack on 5000/8000/8001 is never touched.
Each README block marked `<!-- readme-test: ROLE -->` then runs in bash from the repository root, with only the
ports and the interpreter substituted; it must exit 0 and print what its `# prints "..."` comments say.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT as ROOT
from common.processes import free_port

pytestmark = pytest.mark.slow
README = ROOT / "README.md"
GATE = ROOT / "tests" / "ci" / "small_gate.json"
ROLES = ("operator", "data-scientist", "api", "devops")  # in this order: devops redeploys and rolls back last
BLOCK = re.compile(r"<!-- readme-test: ([\w-]+) -->\s*```bash\n(.*?)```", re.DOTALL)
PRINTS = re.compile(r'prints ((?:"[^"]+"(?:,? (?:and )?)?)+)')
# Variables that would point the commands somewhere else than the stack under test.
FOREIGN = ("DATABASE_URL", "MODEL_DIR", "REPORTS_DIR", "MLFLOW_TRACKING_URI", "MLFLOW_SERVER_VAR_DIR", "MLFLOW_LOCAL_DIR",
           "PORTAL_VAR_DIR", "PIPELINE_TRACKING_URI", "PIPELINE_ON_REJECT", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")  # fmt: skip


def readme_blocks(text: str) -> dict[str, str]:
    return {role: body for role, body in BLOCK.findall(text)}


def documented_output(block: str) -> list[str]:
    """Every quoted string after `prints` in the block's comments."""
    found = []
    for match in PRINTS.finditer(block):
        found += re.findall(r'"([^"]+)"', match.group(1))
    return found


@dataclass
class Stack:
    var: Path
    env: dict
    ports: dict

    def as_typed(self, block: str) -> str:
        """The block with the stack's ports and this interpreter in place of the README's defaults."""
        for default, port in (("8000", self.ports["production"]), ("8001", self.ports["staging"]), ("5000", self.ports["mlflow"])):
            block = block.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
        return block.replace(".venv/bin/python", f'"{sys.executable}"')

    def run(self, script: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _stop(var: Path) -> None:
    from ci.processes import stop_pid_file

    for pid_file in [*(var / "deploy").glob("*/gunicorn.pid"), var / "mlflow" / "server.pid"]:
        stop_pid_file(pid_file)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    var = tmp_path_factory.mktemp("readme") / "var"
    ports = {"production": free_port(), "staging": free_port(), "mlflow": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith("PYTEST_")}
    env.update(
        {
            "PIPELINE_VAR_DIR": str(var),
            "PIPELINE_PRODUCTION_PORT": str(ports["production"]),
            "PIPELINE_STAGING_PORT": str(ports["staging"]),
            "PIPELINE_MLFLOW_PORT": str(ports["mlflow"]),
            "PORTAL_DEMO_PASSWORD": "readme-demo-password",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    started = Stack(var, env, ports)
    small = ["--rows", "8000", "--epochs", "2", "--batch-size", "64", "--gate-config", str(GATE), "--actor", "readme-test"]
    try:
        run = started.run(" ".join([f'"{sys.executable}"', "-m", "ci", "run", *small]), timeout=900)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-6000:]
        assert "next, per role:" in output and run.stdout.strip().splitlines()[-1] == "pipeline succeeded; production serves v1"
        scientist = next(line for line in run.stdout.splitlines() if line.strip().startswith("data scientist:"))
        assert f"127.0.0.1:{ports['mlflow']}/#/experiments?workflowType=machine_learning" in scientist, scientist  # classic ML view
        yield started
    finally:
        _stop(var)


def test_the_readme_marks_a_block_for_each_role():
    blocks = readme_blocks(README.read_text())
    assert set(ROLES) <= set(blocks), sorted(blocks)
    for role in ROLES:
        assert documented_output(blocks[role]), f"the {role} block documents no output"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_block_runs_as_typed(stack, role):
    block = readme_blocks(README.read_text())[role]
    run = stack.run(stack.as_typed(block))
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"the README's {role} block failed ({run.returncode}):\n{output[-6000:]}"
    missing = [text for text in documented_output(block) if text not in output]
    assert not missing, f"the README's {role} block did not print {missing}:\n{output[-6000:]}"


def test_the_commands_found_the_stack_not_a_default(stack):
    """What the blocks did landed in the stack's own deploy: the drift report row in production's database, the
    reports in the folder the portal serves, the rollback recorded in production's current.json."""
    import json
    import sqlite3

    production = stack.var / "deploy" / "production"
    with sqlite3.connect(production / "portal.sqlite3") as db:
        kinds = {row[0] for row in db.execute("SELECT kind FROM portal_monitoring_report")}
    assert {"drift", "performance"} <= kinds
    assert list((stack.var / "reports").glob("drift-*.json"))
    state = json.loads((production / "current.json").read_text())
    assert state.get("rolled_back", {}).get("to") == state["current"]["release_id"]
