"""Registry scenarios shared by the SQLite and PostgreSQL suites (each takes a RegistryEnv and a model name)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

from ml import registry
from ml.registry import ledger
from ml.registry.gate import run_gate
from ml.registry.gate_config import BEHAVIOUR_CHECKS, SETS, GateConfig


def gate_config(**overrides) -> GateConfig:
    """Small and lenient enough for tiny models; the comparisons with the champion are what is under test."""
    config = GateConfig(
        holdout_rows=150,
        behaviour_cases=30,
        min_accuracy=dict.fromkeys(SETS, 0.4),
        min_behaviour=dict.fromkeys(BEHAVIOUR_CHECKS, 0.0),
        tolerance=0.002,
        max_parity_diff=1e-4,
        latency_budget_ms=100.0,
        latency_calls=30,
        parity_rows=128,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def register(env, run: str, model_name: str) -> registry.ModelRef:
    return registry.register_run(env.runs[run], model_name=model_name, tracking_uri=env.uri)


def champion(env, model_name: str) -> str | None:
    ref = registry.resolve_alias(registry.CHAMPION, model_name=model_name, tracking_uri=env.uri)
    return ref.version if ref else None


def assert_chain_consistent(entries: list[ledger.LedgerEntry], final_champion: str | None) -> None:
    """Committed entries form one chain: each starts where the previous ended; the last ends at the alias."""
    done = ledger.committed(entries)
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert len({e.seq for e in entries}) == len(entries), "two ledger entries share a sequence number"
    previous = None
    for entry in done:
        assert entry.from_version == previous, f"entry {entry.seq} starts at {entry.from_version}, previous champion was {previous}"
        previous = entry.to_version
    assert previous == final_champion


def first_promotion(env, model_name: str, tmp_path: Path) -> None:
    ref = register(env, "good", model_name)
    assert ref.version == "1" and registry.CHALLENGER in ref.aliases
    assert ref.tags[registry.TAG_PYTORCH_MODEL].startswith("models:/m-")
    assert ref.tags["git_commit"] and ref.tags["data_digest"] and len(ref.tags[registry.TAG_BUNDLE_CHECKSUM]) == 64
    result = run_gate(model_name=model_name, tracking_uri=env.uri, config=gate_config(), actor="ci-bot")
    assert result.passed, result.message
    assert result.champion is None and not any(c.kind == "vs_champion" for c in result.checks)
    assert result.promotion is not None and result.promotion.changed
    assert champion(env, model_name) == "1"
    version = registry.get_version(1, model_name=model_name, tracking_uri=env.uri)
    assert version.tags[registry.TAG_VERDICT] == "passed" and registry.CHALLENGER not in version.aliases
    entries = registry.history(model_name=model_name, tracking_uri=env.uri)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.kind, entry.from_version, entry.to_version, entry.actor, entry.state) == ("gate", None, "1", "ci-bot", ledger.COMMITTED)
    assert entry.gate_run_id == result.gate_run_id
    client = registry.get_client(env.uri)
    listed = {f.path for f in client.list_artifacts(entry.run_id, "evidence")}
    assert {"evidence/gate_evidence.json", "evidence/gate_evidence.html"} <= listed
    bundle, ref = registry.download_bundle(tmp_path / "served", model_name=model_name, tracking_uri=env.uri)
    card = json.loads((bundle / "model_card.json").read_text())
    assert card["model_version"] == "1" and card["model_name"] == model_name
    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(bundle)
    assert predictor.version == "1"
    assert len(predictor.predict(["Steel bracket made in 2010, good condition"])) == 1


def better_challenger_promoted(env, model_name: str) -> None:
    register(env, "weak", model_name)
    first = run_gate(model_name=model_name, tracking_uri=env.uri, config=gate_config())
    assert first.passed, first.message
    register(env, "good", model_name)
    second = run_gate(model_name=model_name, tracking_uri=env.uri, config=gate_config())
    assert second.passed, second.message
    assert second.champion is not None and second.champion.version == "1"
    assert any(c.kind == "vs_champion" for c in second.checks)
    assert champion(env, model_name) == "2"
    entries = registry.history(model_name=model_name, tracking_uri=env.uri)
    assert [(e.from_version, e.to_version) for e in entries] == [(None, "1"), ("1", "2")]
    assert_chain_consistent(entries, "2")
    # Both gates read the same frozen holdout.
    assert first.evidence["holdout"]["digest"] == second.evidence["holdout"]["digest"]


def rollback_twice(env, model_name: str) -> None:
    for run in ("weak", "good", "good_again"):
        ref = register(env, run, model_name)
        registry.promote(ref.version, reason=f"manual {run}", actor="alice", model_name=model_name, tracking_uri=env.uri)
    assert champion(env, model_name) == "3"
    assert registry.rollback(reason="bad deploy", model_name=model_name, tracking_uri=env.uri).to_version == "2"
    assert registry.rollback(reason="still bad", model_name=model_name, tracking_uri=env.uri).to_version == "1"
    assert champion(env, model_name) == "1"
    try:
        registry.rollback(model_name=model_name, tracking_uri=env.uri)
    except registry.RegistryError as exc:
        assert "no earlier champion" in str(exc)
    else:
        raise AssertionError("a third rollback past the first champion must fail")
    entries = registry.history(model_name=model_name, tracking_uri=env.uri)
    assert [(e.kind, e.from_version, e.to_version) for e in entries] == [
        ("manual", None, "1"),
        ("manual", "1", "2"),
        ("manual", "2", "3"),
        ("rollback", "3", "2"),
        ("rollback", "2", "1"),
    ]
    assert_chain_consistent(entries, "1")
    assert entries[3].rollback_of == entries[2].run_id
    # "Which version was champion at time T": just after each entry, its target.
    for entry in entries:
        assert ledger.champion_at(entries, entry.when + timedelta(microseconds=1)).to_version == entry.to_version
    assert ledger.champion_at(entries, entries[0].when - timedelta(seconds=1)) is None


def concurrent_promotions(env, model_name: str) -> None:
    versions = [register(env, run, model_name).version for run in ("weak", "good", "good_again")]
    barrier = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def worker(version: str) -> None:
        try:
            barrier.wait()
            registry.promote(version, reason=f"race {version}", actor=f"user{version}", model_name=model_name, tracking_uri=env.uri)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    entries = registry.history(model_name=model_name, tracking_uri=env.uri)
    assert len(entries) == 3 and all(e.state == ledger.COMMITTED for e in entries)
    assert sorted(e.to_version for e in entries) == sorted(versions)
    assert_chain_consistent(entries, champion(env, model_name))
    lock = registry.get_client(env.uri).search_registered_models(f"name = '{model_name}{registry.LOCK_SUFFIX}'")
    assert not list(lock), "the promotion lock must be released"
