"""Reviewers' corrections flow back through the one pipeline, end to end on real processes (MLflow server, gunicorn).

v1 is deployed. Technicians enter descriptions v1 gets wrong (misspelled materials and conditions, a second year
beside the manufacture year: found by asking production, among a few hundred such texts); a reviewer corrects each one
through the portal's own feedback form (the POST the component page's form sends, signed in with a real session and
CSRF token: no browser). `run_pipeline` (what `python -m ci run` runs) exports the reviewed labels read-only from
production's database, retrains with them, gates (the corrections slice) and deploys: production now labels them
right, and the ledger and the gate evidence name the corrections data set.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import requests

from ci.config import PipelineConfig
from ci.processes import stop_pid_file
from ci.runner import run_pipeline
from common.processes import free_port
from ml.bundle import read_card
from ml.domain import label_for
from tests.ci.test_update_scenario import GATE, _copy_app, _logs, _set_app_version

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
def config(tmp_path):
    source = _copy_app(tmp_path / "app-source")
    _set_app_version(source, "1.0.0")
    config = PipelineConfig(
        var=tmp_path / "var",
        rows=10_000,
        epochs=2,
        batch_size=64,
        gate_config=GATE,
        mlflow_port=free_port(),
        staging_port=free_port(),
        production_port=free_port(),
        demo_password=PASSWORD,
        workers=1,
        actor="ci-test",
        app_source=source,
        corrections_weight=20,
    )
    yield config
    for env in config.environments():
        stop_pid_file(env.pid_file)
    stop_pid_file(config.var / "mlflow" / "server.pid")


def test_reviewers_corrections_are_learned_gated_and_deployed(config):
    from ml.registry import history

    started, lines = time.monotonic(), []
    first = run_pipeline(config, log=lines.append)
    assert first.ok, "\n".join(lines) + _logs(config)
    assert first.outputs["data"]["corrections_rows"] == 0 and any("no production portal database yet" in line for line in lines)
    url = config.environments()[1].url

    # Technicians enter texts the champion (v1) gets wrong; a reviewer corrects each through the component page's form.
    tech, reviewer = _signed_in(url, "tech"), _signed_in(url, "reviewer")
    candidates = _candidates(300)
    served = _labels(tech, url, [t for t, _ in candidates])
    wrong = [(t, y) for (t, y), got in zip(candidates, served, strict=True) if got != y][:8]
    assert len(wrong) >= 3, f"v1 got only {len(wrong)} of {len(candidates)} typo/distractor texts wrong"
    for text, label in wrong:
        created = tech.post(f"{url}/api/v1/components", json={"text": text}, headers=_headers(tech, url), timeout=10)
        assert created.status_code == 201 and created.json()["label"] == 1 - label, created.text[:300]
        pk = created.json()["id"]
        page = reviewer.get(f"{url}/components/{pk}/", timeout=10)
        answer = reviewer.post(
            f"{url}/components/{pk}/feedback",
            data={"correct_label": str(label), "comment": "corrected", "csrfmiddlewaretoken": reviewer.cookies["csrftoken"]},
            headers={"Referer": page.url},
            timeout=10,
        )
        assert answer.status_code == 200 and "label review is recorded" in answer.text, answer.text[-500:]

    # The pipeline exports them, retrains, gates on the corrections slice and deploys v2.
    second = run_pipeline(config, log=lines.append)
    assert second.ok, "\n".join(lines) + _logs(config)
    data, gate = second.outputs["data"], second.outputs["gate"]
    assert data["corrections_rows"] == len(wrong) and data["contradictions"] == []
    assert gate["verdict"] == "passed" and second.outputs["package"]["model_version"] == "2", gate["message"]
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
    run = client.get_run(second.outputs["train"]["run_id"])
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert name in inputs and {t.key: t.value for t in inputs[name].tags}["corrections.rows"] == str(len(wrong))
    sources = read_card(second.outputs["train"]["bundle"]).params["data_sources"]
    assert [s["kind"] for s in sources] == ["generated", "corrections"] and sources[1]["name"] == name
    assert sources[1]["trained_rows"] == len(wrong) * config.corrections_weight
    print(f"corrections loop: {len(wrong)} corrections, {time.monotonic() - started:.0f} s")
