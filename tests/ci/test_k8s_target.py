"""The k8s deploy target against a recording stand-in for kubectl (tests/ci/kubectl_standin.py; no cluster runs
here): the commands it runs, in order, what it applies, and what it undoes when a step fails. Overlays render for
real (the stand-in hands `kustomize` to the real kubectl); the champion alias moves back on a real MLflow server."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ci.config import PipelineConfig
from ci.targets import target_for
from ci.targets.k8s import DeployError, K8sTarget
from tests.deploy.test_k8s import K8S, fill_secret_files

CONTEXT = "kind-compliance-test"
NAMESPACES = {"staging": "compliance-staging", "production": "compliance-production"}
IMAGE = "registry.example.org/compliance-portal:1.4.0"


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    """The stand-in, first on PATH; returns (set_rules, calls)."""
    real = shutil.which("kubectl")
    if real is None:
        pytest.fail("kubectl (Debian package) is needed to render the overlays: `make system-deps` installs it")
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "kubectl"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("kubectl_standin.py")}" "$@"\n')
    script.chmod(0o755)
    record = tmp_path / "kubectl-calls.jsonl"
    monkeypatch.setenv("PATH", f"{folder}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("KUBECTL_STANDIN_RECORD", str(record))
    monkeypatch.setenv("KUBECTL_STANDIN_REAL", real)

    def set_rules(*rules: dict) -> None:
        monkeypatch.setenv("KUBECTL_STANDIN_RULES", json.dumps(list(rules)))

    def calls() -> list[dict]:
        lines = record.read_text().splitlines() if record.exists() else []
        return [c for c in map(json.loads, lines) if c["argv"][:1] != ["kustomize"]]

    set_rules()
    return set_rules, calls


@pytest.fixture
def config(tmp_path) -> PipelineConfig:
    k8s_dir = tmp_path / "k8s"
    shutil.copytree(K8S, k8s_dir, ignore=shutil.ignore_patterns("*.env"))
    fill_secret_files(k8s_dir)
    return PipelineConfig(
        var=tmp_path / "var",
        target="k8s",
        k8s_context=CONTEXT,
        k8s_dir=k8s_dir,
        k8s_portal_image=IMAGE,
        tracking_uri="http://127.0.0.1:5999",
        demo_password="test-only-demo-password",
        k8s_timeout_s=30,
    )


class Smoke:
    """Stands in for ci.smoke.smoke_outputs, which needs a real portal: records the URL and checks that the
    port-forward is listening there; `fail_on` names an environment whose smoke test fails."""

    def __init__(self, fail_on: str | None = None):
        self.fail_on, self.seen = fail_on, []

    def __call__(self, environment: str, url: str, *, password: str, model_version: str) -> dict:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        self.seen.append((environment, url, model_version))
        if environment == self.fail_on:
            from ci.smoke import SmokeTestFailed

            raise SmokeTestFailed(f"{url}: the reference examples were labelled [0, 0, 0], expected [1, 0, 1]")
        return {"environment": environment, "model_version": model_version, "labels": [1, 0, 1]}


def verbs(calls: list[dict]) -> list[tuple[str, ...]]:
    """Each call as (namespace, first words): the order is the point."""
    out = []
    for call in calls:
        argv = call["argv"]
        assert argv[:2] == ["--context", CONTEXT], argv
        rest = argv[2:]
        namespace = rest[1] if rest[:1] == ["--namespace"] else "-"
        words = rest[2:] if namespace != "-" else rest
        out.append((namespace, *words[:2]))
    return out


def expected_deploy(namespace: str) -> list[tuple[str, ...]]:
    return [
        (namespace, "delete", "job"),
        ("-", "apply", "-f"),
        (namespace, "wait", "--for=condition=complete"),
        (namespace, "rollout", "status"),
        (namespace, "exec", "deployment/portal"),
        (namespace, "port-forward", "service/portal"),
    ]


def test_deploy_applies_each_overlay_pins_image_and_model_and_smoke_tests_the_service(kubectl, config):
    _, calls = kubectl
    smoke = Smoke()
    target = K8sTarget(config, smoke=smoke)
    lines: list[str] = []
    out = target.deploy({"model_version": "3", "app_version": "1.4.0", "bundle": "unused"}, pipeline_id="p-k8s", log=lines.append)
    assert verbs(calls()) == expected_deploy(NAMESPACES["staging"]) + expected_deploy(NAMESPACES["production"])
    assert out["production"]["namespace"] == NAMESPACES["production"] and out["model_version"] == "3"
    assert [(env, version) for env, _, version in smoke.seen] == [("staging", "3"), ("production", "3")]
    assert all(url.startswith("http://localhost:") for _, url, _ in smoke.seen)
    applied = [yaml.safe_load_all(c["applied"]) for c in calls() if "applied" in c]
    for docs, namespace in zip(applied, NAMESPACES.values(), strict=True):
        docs = list(docs)
        portal = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "portal")
        container = portal["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == IMAGE and {"name": "MODEL_URI", "value": "models:/component-compliance/3"} in container["env"]
        migrate = next(d for d in docs if d["kind"] == "Job")
        assert migrate["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
        mlflow = next(d for d in docs if d["metadata"]["name"] == "mlflow" and d["kind"] == "Deployment")
        assert mlflow["spec"]["template"]["spec"]["containers"][0]["image"].startswith("compliance-mlflow:")
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {namespace}
    setup = next(c["argv"] for c in calls() if "exec" in c["argv"])
    assert setup[-3:] == ["manage.py", "setup_roles", "--demo-users"]
    assert not [c for c in calls() if "undo" in c["argv"]]
    assert target.roll_back(log=lines.append)  # a later failure (the smoke stage) undoes both
    assert [v for v in verbs(calls()) if v[1] == "rollout"][-4:] == [
        (NAMESPACES["staging"], "rollout", "undo"),
        (NAMESPACES["staging"], "rollout", "status"),
        (NAMESPACES["production"], "rollout", "undo"),
        (NAMESPACES["production"], "rollout", "status"),
    ]


def test_a_failed_production_rollout_stops_there_and_rollback_undoes_what_changed(kubectl, config):
    set_rules, calls = kubectl
    set_rules(
        {
            "match": ["compliance-production", "rollout", "status"],
            "exit": 1,
            "stderr": 'error: deployment "portal" exceeded its progress deadline',
        }
    )
    target = K8sTarget(config, smoke=Smoke())
    with pytest.raises(DeployError, match=r"rollout status deployment/portal.*exceeded its progress deadline"):
        target.deploy({"model_version": "4", "app_version": "1.4.0", "bundle": "unused"}, pipeline_id="p", log=lambda _: None)
    done = verbs(calls())
    assert done[-1] == (NAMESPACES["production"], "rollout", "status") and ("-", "port-forward") not in done[-2:]
    set_rules()
    report = target.roll_back(log=lambda _: None)
    assert report == {"staging": "rolled back to the previous revision", "production": "rolled back to the previous revision"}


def test_nothing_applied_means_nothing_undone(kubectl, config):
    """Input tried: the staging migration Job cannot be deleted (RBAC): no overlay was applied, so no undo runs."""
    set_rules, calls = kubectl
    set_rules(
        {
            "match": ["compliance-staging", "delete", "job"],
            "exit": 1,
            "stderr": 'Error from server (Forbidden): jobs.batch "migrate" is forbidden',
        }
    )
    target = K8sTarget(config, smoke=Smoke())
    with pytest.raises(DeployError, match="Forbidden"):
        target.deploy({"model_version": "4", "app_version": "1", "bundle": "unused"}, pipeline_id="p", log=lambda _: None)
    set_rules()
    report = target.roll_back(log=lambda _: None)
    assert all(v.startswith("nothing to roll back") for v in report.values())
    assert not [c for c in calls() if "undo" in c["argv"]]


def test_a_failed_undo_is_reported_not_raised(kubectl, config):
    set_rules, _ = kubectl
    target = K8sTarget(config, smoke=Smoke(fail_on="staging"))
    with pytest.raises(Exception, match="labelled"):
        target.deploy({"model_version": "5", "app_version": "1", "bundle": "unused"}, pipeline_id="p", log=lambda _: None)
    set_rules({"match": ["rollout", "undo"], "exit": 1, "stderr": 'error: no rollout history found for deployment "portal"'})
    report = target.roll_back(log=lambda _: None)
    assert report["staging"].startswith("rollback failed:") and "no rollout history" in report["staging"]
    assert report["production"].startswith("nothing to roll back")


def test_a_missing_secret_file_stops_before_kubectl_touches_the_cluster(kubectl, config):
    _, calls = kubectl
    (config.k8s_dir / "overlays" / "staging" / "mlflow.env").unlink()
    target = K8sTarget(config, smoke=Smoke())
    with pytest.raises(Exception, match=r"mlflow.env is missing.*cp .*mlflow.env.example"):
        target.deploy({"model_version": "5", "app_version": "1", "bundle": "unused"}, pipeline_id="p", log=lambda _: None)
    assert calls() == []


def test_the_stand_in_says_what_it_is(kubectl, config, capfd):
    import subprocess

    done = subprocess.run(["kubectl", "--context", CONTEXT, "get", "pods"], capture_output=True, text=True)
    assert done.returncode == 0 and "kubectl stand-in" in done.stderr and "not kubectl" in done.stderr


def test_settings_come_from_the_cli_and_are_required(tmp_path, monkeypatch):
    from ci.__main__ import _config, build_parser

    monkeypatch.delenv("PIPELINE_K8S_CONTEXT", raising=False)
    args = build_parser().parse_args(
        ["--var", str(tmp_path), "run", "--target", "k8s", "--context", "kind-x", "--tracking-uri", "http://mlflow.test:5000"]
    )
    config = _config(args)
    assert (config.target, config.k8s_context, config.k8s_overlays) == ("k8s", "kind-x", ("staging", "production"))
    assert "kubectl --context kind-x" in target_for(config).describe()["deploy"]
    with pytest.raises(ValueError, match="needs a kubectl context"):
        K8sTarget(replace(config, k8s_context=None))
    with pytest.raises(ValueError, match="pass --tracking-uri"):
        K8sTarget(replace(config, tracking_uri=None))


def test_a_failed_deploy_moves_the_champion_back(kubectl, config, tmp_path):
    """The runner's rollback with this target: kubectl rollout undo, then the champion alias back to v1."""
    from ci.runner import _roll_back
    from ci.stages import StageContext
    from ml import registry
    from mlruns_server import start_server
    from tests.registry.helpers import log_training_run, train_tiny

    server = start_server(var_dir=tmp_path / "mlflow", workers=1, wait=False)
    weak, good = train_tiny(steps=20, snapshot_at=5)
    try:
        server.wait_ready()
        for tiny in (weak, good):
            ref = registry.register_run(log_training_run(server.uri, tiny), tracking_uri=server.uri)
            registry.promote(ref.version, reason="test", actor="ci-test", tracking_uri=server.uri)
        config = replace(config, tracking_uri=server.uri)
        target = K8sTarget(config, smoke=Smoke(fail_on="production"))
        with pytest.raises(Exception, match="labelled"):
            target.deploy({"model_version": "2", "app_version": "1", "bundle": "unused"}, pipeline_id="p", log=lambda _: None)
        ctx = StageContext(config, target, server.uri, "p-k8s", lambda _: None)
        report = _roll_back(ctx, {"gate": {"promoted": True}})
        assert report["champion"] == "1" and report["staging"] == report["production"] == "rolled back to the previous revision"
        assert registry.resolve_alias(registry.CHAMPION, tracking_uri=server.uri).version == "1"
        _, calls = kubectl
        assert [v[1:] for v in verbs(calls()) if v[1] == "rollout" and v[2] == "undo"] == [("rollout", "undo")] * 2
    finally:
        server.stop()
