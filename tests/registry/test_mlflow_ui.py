"""What the MLflow UI shows, read back from a real tracking server: version descriptions (the gate verdict with a
working link to its evidence), and every experiment the project writes in the classic ML view."""

from __future__ import annotations

import re

import requests

from common.names import (
    CLASSIC_ML_KIND,
    EXPERIMENT_KIND_TAG,
    GATE_EXPERIMENT,
    LEDGER_EXPERIMENT,
    ML_VIEW_QUERY,
    MONITORING_EXPERIMENT,
    NOTE_TAG,
)
from ml import registry
from ml.registry.gate import run_gate
from tests.registry.scenarios import gate_config, register


def _description(env, model_name: str, version: str) -> str:
    return registry.get_client(env.uri).get_model_version(model_name, version).description


def _evidence_link(description: str, env, gate_run_id: str, name: str) -> str:
    links = re.findall(r"\]\((http[^)]+)\)", description)
    (link,) = [link for link in links if link.endswith(f"/runs/{gate_run_id}/artifacts/{name}?{ML_VIEW_QUERY}")]
    assert link.startswith(f"{env.uri}/#/experiments/"), link
    return link


def test_a_version_is_described_as_pending_then_with_the_verdict_and_its_evidence(registry_server, model_name):
    ref = register(registry_server, "good", model_name)
    pending = _description(registry_server, model_name, ref.version)
    assert pending.startswith("Gate verdict: **pending**") and ref.run_id in pending
    result = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config())
    assert result.passed, result.message
    described = _description(registry_server, model_name, ref.version)
    assert described.startswith(f"Gate verdict: **passed** (v{ref.version} vs no champion): {result.evidence['summary']}"), described
    assert f"runs:/{result.gate_run_id}/gate_evidence.html" in described and f"runs:/{result.gate_run_id}/gate_evidence.json" in described
    _evidence_link(described, registry_server, result.gate_run_id, "gate_evidence.html")
    # the link's run and file exist on the server: the artifact it names downloads
    page = requests.get(
        f"{registry_server.uri}/get-artifact", params={"path": "gate_evidence.html", "run_uuid": result.gate_run_id}, timeout=10
    )
    assert page.status_code == 200 and "Verdict: <strong>passed</strong>" in page.text


def test_a_rejected_version_says_so_beside_its_evidence(registry_server, model_name):
    good = register(registry_server, "good", model_name)
    registry.promote(good.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    weak = register(registry_server, "weak", model_name)
    result = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config())
    assert not result.passed
    described = _description(registry_server, model_name, weak.version)
    assert described.startswith(f"Gate verdict: **rejected** (v{weak.version} vs champion v{good.version}): "), described
    assert "checks failed" in described
    link = _evidence_link(described, registry_server, result.gate_run_id, "gate_evidence.json")
    experiment_id = link.split("/#/experiments/")[1].split("/")[0]
    assert registry.get_client(registry_server.uri).get_experiment(experiment_id).name == GATE_EXPERIMENT


def test_the_gate_and_ledger_experiments_open_in_the_classic_ml_view(registry_server, model_name):
    register(registry_server, "good", model_name)
    assert run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config()).promotion is not None
    client = registry.get_client(registry_server.uri)
    for name in (GATE_EXPERIMENT, LEDGER_EXPERIMENT):
        tags = client.get_experiment_by_name(name).tags
        assert tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND and tags[NOTE_TAG], (name, tags)  # its own description is kept


def test_a_reused_registry_experiment_is_marked_but_a_read_writes_nothing(registry_server):
    """An experiment made before the kind existed (by hand, untagged): a write marks it; a read (create=False,
    as the ledger reads) leaves it alone, so a reader account never needs write access."""
    from ml.registry.client import experiment_id

    client = registry.get_client(registry_server.uri)
    made = client.create_experiment("made-by-hand-before-kinds")
    assert experiment_id(client, "made-by-hand-before-kinds", note="n", create=False) == made
    assert EXPERIMENT_KIND_TAG not in client.get_experiment(made).tags
    assert experiment_id(client, "made-by-hand-before-kinds", note="n") == made
    assert client.get_experiment(made).tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND


def test_monitoring_marks_a_reused_experiment_as_classic_ml(registry_server):
    """An experiment made before the kind existed (here: by hand, untagged) is marked when monitoring logs to it."""
    from monitoring.mlflow_log import log_run

    client = registry.get_client(registry_server.uri)
    if client.get_experiment_by_name(MONITORING_EXPERIMENT) is None:
        client.create_experiment(MONITORING_EXPERIMENT)
    logged = log_run(
        tracking_uri=registry_server.uri, experiment=MONITORING_EXPERIMENT, run_name="drift", tags={}, metrics={"x": 1.0}, artifacts=[]
    )
    assert client.get_experiment(logged["experiment_id"]).tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND


def test_the_printed_ui_link_opens_the_classic_ml_view_in_a_browser(registry_server):
    """A fresh browser (no remembered choice) following mlflow_ui_url lands on the experiment's Runs table, not on
    the GenAI overview with its empty token and cost panels."""
    import shutil

    import pytest

    from common.names import mlflow_ui_url
    from ml.mlflow_setup import ensure_experiment

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    client = registry.get_client(registry_server.uri)
    experiment = ensure_experiment("ui-view-check", registry_server.uri)
    run = client.create_run(experiment, run_name="cnn-abcdef-s1")
    client.set_terminated(run.info.run_id)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context().new_page()
            page.goto(mlflow_ui_url(registry_server.uri, f"/experiments/{experiment}"))
            page.get_by_text("cnn-abcdef-s1").first.wait_for(timeout=30_000)
            body = page.inner_text("body")
            assert f"/experiments/{experiment}/runs" in page.url and "Run Name" in body, (page.url, body[:500])
            assert "Token Usage" not in body
        finally:
            browser.close()
