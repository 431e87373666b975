"""The registry, the gate and the ledger against a real MLflow server (SQLite in tmp_path), one server per module."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from common.processes import free_port
from ml import registry
from ml.registry import cli as registry_cli
from ml.registry import ledger, promotion
from ml.registry.decision import decide
from ml.registry.evaluation import Evaluation
from ml.registry.gate import run_gate
from ml.registry.gate_config import SETS
from tests.registry import helpers, scenarios
from tests.registry.scenarios import champion, gate_config, register


def test_first_promotion_is_decided_by_thresholds_alone(registry_server, model_name, tmp_path):
    scenarios.first_promotion(registry_server, model_name, tmp_path)


def test_bad_first_model_is_rejected_by_thresholds(registry_server, model_name):
    register(registry_server, "bad", model_name)
    result = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config())
    assert not result.passed and result.promotion is None
    assert {c.name for c in result.failed_checks} >= {"accuracy.in_distribution"}
    assert champion(registry_server, model_name) is None
    assert registry.history(model_name=model_name, tracking_uri=registry_server.uri) == []


def test_better_challenger_is_promoted(registry_server, model_name):
    scenarios.better_challenger_promoted(registry_server, model_name)


def test_worse_challenger_is_rejected_with_evidence(registry_server, model_name, capsys, tmp_path):
    good = register(registry_server, "good", model_name)
    registry.promote(good.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    weak = register(registry_server, "weak", model_name)
    config_path = tmp_path / "gate.json"
    config_path.write_text(json.dumps(gate_config().to_dict()))
    code = registry_cli.main(["gate", "--tracking-uri", registry_server.uri, "--model-name", model_name, "--config", str(config_path)])
    out = capsys.readouterr().out
    assert code == registry_cli.EXIT_REJECTED, out
    assert "gate rejected" in out and "vs champion" in out
    assert champion(registry_server, model_name) == good.version
    refreshed = registry.get_version(weak.version, model_name=model_name, tracking_uri=registry_server.uri)
    assert refreshed.tags[registry.TAG_VERDICT] == "rejected"
    assert registry.CHALLENGER in refreshed.aliases  # still the candidate; never served
    client = registry.get_client(registry_server.uri)
    gate_run = client.get_run(refreshed.tags[registry.TAG_GATE_RUN])
    assert gate_run.data.tags["verdict"] == "rejected"
    assert gate_run.inputs.dataset_inputs, "the frozen holdout must be logged as a dataset input"
    assert {f.path for f in client.list_artifacts(gate_run.info.run_id)} >= {"gate_evidence.html", "gate_evidence.json"}
    local = mlflow.artifacts.download_artifacts(
        run_id=gate_run.info.run_id, artifact_path="gate_evidence.json", dst_path=str(tmp_path), tracking_uri=registry_server.uri
    )
    evidence = json.loads(Path(local).read_text())
    assert evidence["champion"]["version"] == good.version and evidence["challenger"]["version"] == weak.version
    worse = [c for c in evidence["checks"] if c["kind"] == "vs_champion" and not c["passed"]]
    assert worse and all(c["challenger"] < c["champion"] for c in worse)
    assert len(registry.history(model_name=model_name, tracking_uri=registry_server.uri)) == 1


def test_tie_within_tolerance_is_promoted_and_tolerance_is_respected(registry_server, model_name):
    good = register(registry_server, "good", model_name)
    registry.promote(good.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    same = register(registry_server, "good_again", model_name)  # same weights, another run: identical scores
    tie = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config(tolerance=0.0))
    assert tie.passed, tie.message
    assert all(c.challenger == c.champion for c in tie.checks if c.kind == "vs_champion")
    assert champion(registry_server, model_name) == same.version
    register(registry_server, "weak", model_name)
    strict = run_gate(model_name=model_name, tracking_uri=registry_server.uri, config=gate_config(tolerance=0.0), promote=False)
    assert not strict.passed and strict.promotion is None
    assert champion(registry_server, model_name) == same.version
    # The same scores pass once the gap fits inside the tolerance.
    chal, champ = (Evaluation(**strict.evidence[side]) for side in ("challenger", "champion"))
    gap = max(champ.accuracy[s] - chal.accuracy[s] for s in SETS)
    assert gap > 0
    assert all(c.passed for c in decide(chal, champ, gate_config(tolerance=gap + 1e-9)))


def test_rollback_twice(registry_server, model_name):
    scenarios.rollback_twice(registry_server, model_name)


def test_promoting_a_missing_version_fails_cleanly(registry_server, model_name, capsys):
    register(registry_server, "good", model_name)
    with pytest.raises(registry.VersionNotFound):
        registry.promote(99, reason="typo", model_name=model_name, tracking_uri=registry_server.uri)
    code = registry_cli.main(
        ["promote", "--version", "99", "--reason", "typo", "--tracking-uri", registry_server.uri, "--model-name", model_name]
    )
    err = capsys.readouterr().err
    assert code == registry_cli.EXIT_ERROR and "has no version 99" in err and "Traceback" not in err
    assert champion(registry_server, model_name) is None
    assert registry.history(model_name=model_name, tracking_uri=registry_server.uri) == []


def test_server_down_before_the_alias_moves(registry_server, model_name, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    first = register(registry_server, "weak", model_name)
    registry.promote(first.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    second = register(registry_server, "good", model_name)
    proxy = helpers.TcpProxy(int(registry_server.uri.rsplit(":", 1)[1]))
    real_move = promotion._move_champion_alias

    def server_dies(client, name, version):
        proxy.down()
        real_move(client, name, version)

    monkeypatch.setattr(promotion, "_move_champion_alias", server_dies)
    args = ["promote", "--version", second.version, "--reason", "upgrade", "--tracking-uri", proxy.uri, "--model-name", model_name]
    code = registry_cli.main(args)
    err = capsys.readouterr().err
    assert code == registry_cli.EXIT_SERVER, err
    assert "before the champion alias moved" in err and "unchanged" in err
    assert champion(registry_server, model_name) == first.version  # read through the real server: nothing moved
    # The server comes back; the same command is safe to re-run and settles the interrupted entry.
    proxy.up()
    monkeypatch.setattr(promotion, "_move_champion_alias", real_move)
    assert registry_cli.main(args) == registry_cli.EXIT_OK
    assert champion(registry_server, model_name) == second.version
    entries = registry.history(model_name=model_name, tracking_uri=registry_server.uri)
    assert [(e.to_version, e.state) for e in entries] == [
        (first.version, "committed"),
        (second.version, "aborted"),
        (second.version, "committed"),
    ]
    scenarios.assert_chain_consistent(entries, second.version)
    proxy.down()


def test_server_down_after_the_alias_moved(registry_server, model_name, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    first = register(registry_server, "weak", model_name)
    proxy = helpers.TcpProxy(int(registry_server.uri.rsplit(":", 1)[1]))
    real_commit = ledger.commit_entry

    def server_dies(client, entry, **kwargs):
        proxy.down()
        real_commit(client, entry, **kwargs)

    monkeypatch.setattr(ledger, "commit_entry", server_dies)
    with pytest.raises(registry.PromotionFailed) as failure:
        registry.promote(first.version, reason="first", model_name=model_name, tracking_uri=proxy.uri)
    assert failure.value.alias_moved is True and "is now champion" in str(failure.value)
    monkeypatch.setattr(ledger, "commit_entry", real_commit)
    proxy.up()
    again = registry.promote(first.version, reason="first", model_name=model_name, tracking_uri=proxy.uri)
    assert not again.changed and "already the champion" in again.message
    entries = registry.history(model_name=model_name, tracking_uri=registry_server.uri)
    assert [(e.to_version, e.state) for e in entries] == [(first.version, "committed")]
    proxy.down()


def test_unreachable_server_is_one_line(model_name, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    dead = f"http://127.0.0.1:{free_port()}"
    code = registry_cli.main(["promote", "--version", "1", "--reason", "x", "--tracking-uri", dead, "--model-name", model_name])
    err = capsys.readouterr().err
    assert code == registry_cli.EXIT_SERVER and "unreachable" in err and len(err.strip().splitlines()) == 1
    # Without --tracking-uri every command uses MLFLOW_TRACKING_URI.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead)
    for command in (["status"], ["history"], ["rollback"], ["gate"]):
        assert registry_cli.main([*command, "--model-name", model_name]) == registry_cli.EXIT_SERVER
        err = capsys.readouterr().err
        assert dead in err and "Traceback" not in err, err


def test_two_promotions_at_once_keep_the_ledger_consistent(registry_server, model_name):
    scenarios.concurrent_promotions(registry_server, model_name)


def test_register_status_history_and_download_commands(registry_server, model_name, capsys, tmp_path):
    common = ["--tracking-uri", registry_server.uri, "--model-name", model_name]
    assert registry_cli.main(["register", "--run", registry_server.runs["good"], *common]) == 0
    assert "registered" in capsys.readouterr().out
    ref = register(registry_server, "good", model_name)  # registering the same run again is a no-op
    assert ref.version == "1" and len(registry.list_versions(model_name=model_name, tracking_uri=registry_server.uri)) == 1
    registry.promote(ref.version, reason="looks good", actor="bob", model_name=model_name, tracking_uri=registry_server.uri)
    assert registry_cli.main(["status", *common]) == 0
    out = capsys.readouterr().out
    assert "champion" in out and "version" in out
    assert registry_cli.main(["history", "--json", *common]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["actor"] == "bob" and rows[0]["reason"] == "looks good"
    assert registry_cli.main(["history", "--at", "2000-01-01T00:00:00", *common]) == 0
    assert "no champion" in capsys.readouterr().out
    assert registry_cli.main(["history", "--at", "2999-01-01T00:00:00", *common]) == 0
    assert f"v{ref.version}" in capsys.readouterr().out
    assert registry_cli.main(["download", "--dst", str(tmp_path / "current"), *common]) == 0
    assert json.loads((tmp_path / "current" / "model_card.json").read_text())["model_version"] == ref.version


def test_rollback_through_the_store_alone_changes_nothing(registry_server, model_name, capsys):
    """A rollback typed with no server to talk to (the rule falls back to the SQLite store the server writes):
    the ledger's artifacts live on the server, so it refuses before writing anything."""
    first = register(registry_server, "weak", model_name)
    registry.promote(first.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    second = register(registry_server, "good", model_name)
    registry.promote(second.version, reason="upgrade", model_name=model_name, tracking_uri=registry_server.uri)
    store = f"sqlite:///{registry_server.server.pid_file.parent / 'mlflow.db'}"
    code = registry_cli.main(["rollback", "--tracking-uri", store, "--model-name", model_name])
    err = capsys.readouterr().err
    assert code == registry_cli.EXIT_ERROR and "nothing changed" in err and "make mlflow" in err, err
    assert champion(registry_server, model_name) == second.version
    entries = registry.history(model_name=model_name, tracking_uri=registry_server.uri)
    assert [(e.to_version, e.state) for e in entries] == [(first.version, "committed"), (second.version, "committed")]


def test_a_promotion_refused_while_its_entry_is_written_leaves_no_entry(registry_server, model_name, monkeypatch):
    """The artifact store refuses the ledger entry's file (the server stays up): the champion does not move and the
    half-written entry is removed, so the ledger shows no `aborted` entry for it."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    first = register(registry_server, "weak", model_name)
    registry.promote(first.version, reason="baseline", model_name=model_name, tracking_uri=registry_server.uri)
    second = register(registry_server, "good", model_name)

    def refused(self, run_id, local_path, artifact_path=None):
        raise MlflowException("the artifact store refused the file")

    monkeypatch.setattr(MlflowClient, "log_artifact", refused)
    with pytest.raises(MlflowException, match="refused"):
        registry.promote(second.version, reason="upgrade", model_name=model_name, tracking_uri=registry_server.uri)
    monkeypatch.undo()
    assert champion(registry_server, model_name) == first.version
    entries = registry.history(model_name=model_name, tracking_uri=registry_server.uri)
    assert [(e.to_version, e.state) for e in entries] == [(first.version, "committed")]
    registry.promote(second.version, reason="upgrade", model_name=model_name, tracking_uri=registry_server.uri)
    entries = registry.history(model_name=model_name, tracking_uri=registry_server.uri)
    assert [(e.to_version, e.state) for e in entries] == [(first.version, "committed"), (second.version, "committed")]
