"""A deploy checks the bundle against the checksum the promotion ledger recorded at promotion (issue 11): an
attacker who overwrites a bundle file and rewrites the version's bundle_checksum tag to match fools the tag check,
not the deploy; a champion alias moved by hand, outside the ledger, is refused too. The portal's own `models:/`
resolution (plain REST, webportal.portal.mlflow_rest) applies the same two rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import registry
from ml.bundle import bundle_checksum
from ml.documents.scorer import FEATURE_BITS, SCORER_FILE, SegmentScorer
from ml.registry.gate import run_gate
from tests.registry import helpers
from tests.registry.scenarios import gate_config, register
from webportal.portal.mlflow_rest import ResolveError, resolve_bundle


def test_a_rewritten_tag_and_bundle_file_are_refused_at_deploy(registry_server, tiny_models, model_name, tmp_path):
    env = registry_server
    run_id = helpers.log_training_run(env.uri, tiny_models.good)  # its own run: the shared ones stay untouched
    ref = registry.register_run(run_id, model_name=model_name, tracking_uri=env.uri)
    assert run_gate(model_name=model_name, tracking_uri=env.uri, config=gate_config()).passed
    _, served, entry = registry.download_promoted_bundle(tmp_path / "ok", model_name=model_name, tracking_uri=env.uri)
    assert served.version == ref.version and entry.bundle_checksum == ref.tags[registry.TAG_BUNDLE_CHECKSUM]
    uri = f"models:/{model_name}@champion"
    assert resolve_bundle(uri=uri, tracking_uri=env.uri, cache_dir=tmp_path / "portal-ok").version == ref.version

    # The attack: a threshold of 0.99 in bundle/labels.json (nearly everything "compliant"), then a tag to match.
    tampered = tmp_path / "tampered"
    client = registry.get_client(env.uri)
    local = client.download_artifacts(ref.run_id, registry.BUNDLE_ARTIFACTS, str(tampered))
    labels = tampered / "bundle" / "labels.json"
    labels.write_text(json.dumps({**json.loads(labels.read_text()), "threshold": 0.99}))
    client.log_artifact(ref.run_id, str(labels), artifact_path=registry.BUNDLE_ARTIFACTS)
    client.set_model_version_tag(model_name, ref.version, registry.TAG_BUNDLE_CHECKSUM, bundle_checksum(local))

    fooled, _ = registry.download_bundle(tmp_path / "tag-only", version=ref.version, model_name=model_name, tracking_uri=env.uri)
    assert json.loads((fooled / "labels.json").read_text())["threshold"] == 0.99  # the tag alone lets it through
    with pytest.raises(registry.RegistryError, match="promotion ledger recorded") as refused:
        registry.download_promoted_bundle(tmp_path / "deploy", model_name=model_name, tracking_uri=env.uri)
    assert entry.run_id in str(refused.value) and not (tmp_path / "deploy").exists()
    with pytest.raises(ResolveError, match="promotion ledger recorded"):
        resolve_bundle(uri=uri, tracking_uri=env.uri, cache_dir=tmp_path / "portal")
    assert not list((tmp_path / "portal").rglob("labels.json")), "nothing of the tampered bundle is left in the cache"
    # the tag alone is checked too: files changed again without a new tag are refused as well
    client.set_model_version_tag(model_name, ref.version, registry.TAG_BUNDLE_CHECKSUM, "0" * 64)
    with pytest.raises(ResolveError, match="bundle_checksum tag"):
        resolve_bundle(uri=f"models:/{model_name}/{ref.version}", tracking_uri=env.uri, cache_dir=tmp_path / "portal-tag")


def test_a_champion_moved_outside_the_ledger_is_refused(registry_server, model_name, tmp_path):
    env = registry_server
    register(env, "good", model_name)
    assert run_gate(model_name=model_name, tracking_uri=env.uri, config=gate_config()).passed
    second = register(env, "weak", model_name)
    registry.get_client(env.uri).set_registered_model_alias(model_name, registry.CHAMPION, second.version)
    with pytest.raises(registry.RegistryError, match="never promoted"):
        registry.download_promoted_bundle(tmp_path / "deploy", model_name=model_name, tracking_uri=env.uri)
    with pytest.raises(ResolveError, match="never promoted"):
        resolve_bundle(uri=f"models:/{model_name}@champion", tracking_uri=env.uri, cache_dir=tmp_path / "portal")


def test_a_segments_file_replaced_after_registration_is_refused_at_fetch(registry_server, tiny_models, model_name, tmp_path):
    """segments.npz (the document segment score) is in the registered checksum (issue 13)."""
    env = registry_server
    run_id = helpers.log_training_run(env.uri, tiny_models.good)  # its own run: the shared ones stay untouched
    ref = registry.register_run(run_id, model_name=model_name, tracking_uri=env.uri)
    fetched, _ = registry.download_bundle(tmp_path / "ok", version=ref.version, model_name=model_name, tracking_uri=env.uri)
    assert fetched.is_dir()

    # What was tried: a segment score that calls everything a component, uploaded over the run's segments.npz.
    forged = tmp_path / "forged" / SCORER_FILE
    forged.parent.mkdir()
    SegmentScorer(weights=np.zeros(1 << FEATURE_BITS, dtype=np.float32), bias=10.0).save(forged)
    registry.get_client(env.uri).log_artifact(ref.run_id, str(forged), artifact_path=registry.BUNDLE_ARTIFACTS)
    with pytest.raises(registry.RegistryError, match="does not match its registered checksum"):
        registry.download_bundle(tmp_path / "refused", version=ref.version, model_name=model_name, tracking_uri=env.uri)
    assert not (tmp_path / "refused").exists()
