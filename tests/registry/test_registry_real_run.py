"""The registry on a real `ml.training_run` run (the session fixture `trained_run`, a SQLite store, no server).

Marked slow: alone it pays for the training fixture (~80 s here); in the full suite that fixture is shared.
"""

from __future__ import annotations

import json

import pytest

from common.names import NOTE_TAG
from ml import registry
from ml.registry import ledger
from ml.registry.gate import run_gate
from ml.registry.gate_config import SETS, GateConfig

pytestmark = pytest.mark.slow


def test_register_gate_and_promote_a_real_training_run(trained_run, tmp_path):
    uri, name = trained_run.tracking_uri, "cc-real-run"
    ref = registry.register_run(trained_run.run_id, model_name=name, tracking_uri=uri)
    assert ref.tags["git_commit"] and ref.tags["metric.test_accuracy"]
    assert ref.tags[registry.TAG_PYTORCH_MODEL].startswith("models:/m-") and ref.tags["data_digest"]
    client = registry.get_client(uri)
    card_summary = client.get_run(trained_run.run_id).data.tags[NOTE_TAG]
    pending = client.get_model_version(name, ref.version).description
    assert pending.startswith("Gate verdict: **pending**") and card_summary in pending
    config = GateConfig(holdout_rows=300, behaviour_cases=50, min_accuracy=dict.fromkeys(SETS, 0.0), min_behaviour={}, latency_calls=50)
    result = run_gate(model_name=name, tracking_uri=uri, config=config, actor="ci")
    described = client.get_model_version(name, ref.version).description
    assert described.startswith("Gate verdict: **passed**") and card_summary in described  # no server: the runs:/ path
    assert f"`runs:/{result.gate_run_id}/gate_evidence.html`" in described and "](http" not in described
    checks = {c.name: c for c in result.checks}
    assert checks["parity_max_abs_diff"].passed, checks["parity_max_abs_diff"]  # ONNX and PyTorch flavors of one run agree
    assert checks["latency_median_ms"].passed
    assert result.passed and registry.resolve_alias("champion", model_name=name, tracking_uri=uri).version == ref.version
    assert [e.state for e in registry.history(model_name=name, tracking_uri=uri)] == [ledger.COMMITTED]
    bundle, _ = registry.download_bundle(tmp_path / "served", model_name=name, tracking_uri=uri)
    card = json.loads((bundle / "model_card.json").read_text())
    assert card["run_id"] == trained_run.run_id and card["model_version"] == ref.version
