"""Reviewers' corrections flow back through the one pipeline, end to end on real processes (MLflow server, gunicorn,
headless Chromium, `python -m ci run` as a user types it).

`python -m ci run` deploys v1. Technicians enter descriptions v1 gets wrong (misspelled materials and conditions, a
second year beside the manufacture year: found by asking production, among a few hundred such texts); a reviewer signs
in with a browser and corrects each one on its component page. `python -m ci run` again exports the reviewed labels
read-only from production's database, retrains with them, gates (the corrections slice) and deploys: production now
labels them right, and the ledger and the gate evidence name the corrections data set.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ci.config import PipelineConfig
from ci.processes import stop_pid_file
from common.processes import free_port
from ml.bundle import read_card
from ml.domain import label_for
from tests.ci.test_update_scenario import GATE, _logs
from tests.e2e.test_readme import FOREIGN
from tests.webportal.conftest import chromium_path
from tests.webportal.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.slow
PASSWORD = "corrections-test-password"
TYPOS = {"steel": ("seel", "stel", "steal"), "iron": ("irn", "iorn"), "plastic": ("plastik", "platsic"), "carbon fiber": ("carbon fibre",)}
CONDITION_TYPOS = {"poor": ("poo", "pore"), "fair": ("fiar", "fare"), "good": ("gud", "goood"), "new": ("neu", "nwe")}


def _candidates(count: int, seed: int = 3) -> list[tuple[str, int]]:
    """Technician-style texts with their true label: typos and a second, unrelated year."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        material, condition = rng.choice(list(TYPOS)), rng.choice(list(CONDITION_TYPOS))
        year, other = rng.randint(1970, 2025), rng.randint(1970, 2025)
        m, c = rng.choice(TYPOS[material]), rng.choice(CONDITION_TYPOS[condition])
        shape = rng.choice(
            (
                f"bracket made of {m} manufactured in {year}, last serviced {other}, condition {c}",
                f"P/N {other}-44: {m} valve produced {year}, {c} condition",
                f"{c} condition {m} flange, built {year}, inspected {other}",
            )
        )
        out.append((shape, label_for(year=year, condition=condition, material=material)))
    return out


def _signed_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=10)
    login = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 302, f"login as {username} failed: {login.status_code}"
    return session


def _headers(session: requests.Session, url: str) -> dict:
    return {"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{url}/"}


def _labels(session: requests.Session, url: str, texts: list[str]) -> list[int]:
    labels = []
    for i in range(0, len(texts), 50):
        answer = session.post(f"{url}/api/v1/classify", json={"texts": texts[i : i + 50]}, headers=_headers(session, url), timeout=30)
        assert answer.status_code == 200, answer.text[:300]
        labels += [r["label"] for r in answer.json()["results"]]
    return labels


@pytest.fixture
def stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith(("PIPELINE_", "PYTEST_"))}
    env.update(
        {
            "PIPELINE_VAR_DIR": str(tmp_path / "var"),
            "PIPELINE_MLFLOW_PORT": str(free_port()),
            "PIPELINE_STAGING_PORT": str(free_port()),
            "PIPELINE_PRODUCTION_PORT": str(free_port()),
            "PORTAL_DEMO_PASSWORD": PASSWORD,
            "PIPELINE_CORRECTIONS_WEIGHT": "20",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    config = PipelineConfig.from_env(env)  # what every `python -m ci` in this environment reads: for the test's own checks
    yield config, env
    for environment in config.environments():
        stop_pid_file(environment.pid_file)
    stop_pid_file(config.var / "mlflow" / "server.pid")


def _ci_run(config: PipelineConfig, env: dict) -> tuple[dict, subprocess.CompletedProcess]:
    """`python -m ci run` as a DevOps engineer types it (small data for the test); its state and the process."""
    args = ["--rows", "10000", "--epochs", "2", "--batch-size", "64", "--gate-config", str(GATE), "--actor", "ci-test"]
    done = subprocess.run([sys.executable, "-m", "ci", "run", *args], env=env, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:] + _logs(config)
    return json.loads((config.pipeline_dir / "latest.json").read_text()), done


def _correct_in_browser(url: str, corrections: list[tuple[int, int]]) -> None:
    """A reviewer signs in with headless Chromium and records the right label on each component's page."""
    from playwright.sync_api import sync_playwright

    assert chromium_path(), "chromium is not installed (make system-deps)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.goto(f"{url}/accounts/login/")
            page.fill("#id_username", "reviewer")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for pk, label in corrections:
                page.goto(f"{url}/components/{pk}/")
                page.check(f"#review input[value='{label}']")
                page.fill("#id_comment", "corrected")
                page.click("#review button[type=submit]")
                page.wait_for_load_state()
                assert "label review is recorded" in page.content(), page.content()[-1500:]
        finally:
            browser.close()


def test_reviewers_corrections_are_learned_gated_and_deployed(stack):
    from ml.registry import history

    config, env = stack
    started = time.monotonic()
    first, done = _ci_run(config, env)
    assert first["outputs"]["data"]["corrections_rows"] == 0 and "no production portal database yet" in done.stdout + done.stderr
    url = config.environments()[1].url

    # Technicians enter texts the champion (v1) gets wrong; a reviewer corrects each on its page, in a browser.
    tech = _signed_in(url, "tech")
    candidates = _candidates(300)
    served = _labels(tech, url, [t for t, _ in candidates])
    wrong = [(t, y) for (t, y), got in zip(candidates, served, strict=True) if got != y][:8]
    assert len(wrong) >= 3, f"v1 got only {len(wrong)} of {len(candidates)} typo/distractor texts wrong"
    corrections = []
    for text, label in wrong:
        created = tech.post(f"{url}/api/v1/components", json={"text": text}, headers=_headers(tech, url), timeout=10)
        assert created.status_code == 201 and created.json()["label"] == 1 - label, created.text[:300]
        corrections.append((created.json()["id"], label))
    _correct_in_browser(url, corrections)

    # `python -m ci run` exports them, retrains, gates on the corrections slice and deploys v2.
    second, done = _ci_run(config, env)
    outputs = second["outputs"]
    data, gate = outputs["data"], outputs["gate"]
    assert data["corrections_rows"] == len(wrong) and data["contradictions"] == []
    assert gate["verdict"] == "passed" and outputs["package"]["model_version"] == "2", gate["message"]
    assert done.stdout.strip().splitlines()[-1] == "pipeline succeeded; production serves v2", done.stdout[-2000:]
    assert _labels(tech, url, [t for t, _ in wrong]) == [y for _, y in wrong], "production still gets reviewed texts wrong"

    # The ledger names the corrections data set; the gate evidence shows the slice; the training run logged it.
    entry = [e for e in history(tracking_uri=config.resolved_tracking_uri) if e.state == "committed"][-1]
    name = data["corrections"].rsplit("/", 1)[-1]
    assert entry.to_version == "2" and f"corrections data set {name} ({len(wrong)} rows)" in entry.reason
    import mlflow

    client = mlflow.MlflowClient(config.resolved_tracking_uri)
    evidence = json.loads(Path(client.download_artifacts(gate["gate_run_id"], "gate_evidence.json", str(config.var))).read_text())
    check = next(c for c in evidence["checks"] if c["name"] == "accuracy.corrections vs champion")
    assert evidence["corrections"]["rows"] == len(wrong) and check["champion"] == 0.0 and check["challenger"] == 1.0 and check["passed"]
    run = client.get_run(outputs["train"]["run_id"])
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert name in inputs and {t.key: t.value for t in inputs[name].tags}["corrections.rows"] == str(len(wrong))
    sources = read_card(outputs["train"]["bundle"]).params["data_sources"]
    assert [s["kind"] for s in sources] == ["generated", "corrections"] and sources[1]["name"] == name
    assert sources[1]["trained_rows"] == len(wrong) * 20  # PIPELINE_CORRECTIONS_WEIGHT
    print(f"corrections loop: {len(wrong)} corrections, {time.monotonic() - started:.0f} s")
