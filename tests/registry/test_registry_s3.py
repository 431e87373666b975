"""The tracking server with its artifacts in S3 (moto's S3 API server, started here), proxied to clients.

Registry, gate, rollback, bundle download and the portal's models:/ resolution run as on local artifacts, while
the clients (this test process) hold no S3 credentials and no S3 endpoint: every artifact goes through the
server's proxy. Faults: the S3 endpoint down while registering, a bucket that does not exist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml import registry
from mlruns_server import ServerHandle, start_server
from tests.moto_s3 import MotoS3, start_moto
from tests.registry import scenarios
from tests.registry.conftest import LazyRuns, RegistryEnv
from tests.registry.helpers import TcpProxy

BUCKET = "cc-artifacts"
PREFIX = "mlflow"
CLIENT_S3_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "MLFLOW_S3_ENDPOINT_URL")


@dataclass
class S3Env:
    registry: RegistryEnv
    moto: MotoS3
    proxy: TcpProxy  # between the tracking server and moto: proxy.down() is "the S3 endpoint is down"
    var_dir: Path

    @property
    def server(self) -> ServerHandle:
        return self.registry.server


@pytest.fixture(scope="module")
def s3_env(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("s3-registry")
    moto = start_moto(folder)
    try:
        moto.client().create_bucket(Bucket=BUCKET)
        proxy = TcpProxy(int(moto.endpoint.rsplit(":", 1)[1]))
        server = start_server(
            var_dir=folder / "mlflow",
            workers=1,
            extra_args=["--artifacts-destination", f"s3://{BUCKET}/{PREFIX}"],
            env=moto.server_env(proxy.uri),
            wait=False,
        )
        models = request.getfixturevalue("tiny_models")  # trains while the server boots
        env = S3Env(RegistryEnv(server=server.wait_ready(), runs=LazyRuns(server.uri, models)), moto, proxy, folder / "mlflow")
        yield env
        server.stop()
        proxy.down()
    finally:
        moto.stop()


@pytest.fixture(autouse=True)
def client_without_s3(monkeypatch, tmp_path):
    """This process is a client: no S3 credentials, endpoint or AWS config files, and no retries to wait out."""
    for name in CLIENT_S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def test_register_gate_download_with_artifacts_in_s3(s3_env, model_name, tmp_path):
    scenarios.first_promotion(s3_env.registry, model_name, tmp_path)
    run = registry.get_client(s3_env.server.uri).get_run(s3_env.registry.runs["good"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    keys = s3_env.moto.keys(BUCKET, f"{PREFIX}/")
    assert any(k.endswith(f"{run.info.run_id}/artifacts/bundle/model.onnx") for k in keys), keys[:20]
    assert any("evidence/gate_evidence.json" in k for k in keys), "the gate's evidence is in S3 too"
    local = s3_env.var_dir / "artifacts"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*")), "artifacts were written to the server's disk"


def test_rollback_with_artifacts_in_s3(s3_env, model_name):
    scenarios.rollback_twice(s3_env.registry, model_name)


def test_the_portal_resolves_the_champion_through_the_proxy(s3_env, model_name, tmp_path):
    from ml.bundle import check_bundle
    from webportal.portal.mlflow_rest import resolve_bundle

    ref = scenarios.register(s3_env.registry, "good", model_name)
    registry.promote(ref.version, reason="portal check", actor="test", model_name=model_name, tracking_uri=s3_env.server.uri)
    resolved = resolve_bundle(uri=f"models:/{model_name}@champion", tracking_uri=s3_env.server.uri, cache_dir=tmp_path / "cache")
    assert resolved.version == ref.version and resolved.run_id == s3_env.registry.runs["good"]
    check_bundle(resolved.path)


def test_s3_down_while_registering_is_a_clear_error_and_registers_nothing(s3_env, model_name):
    """Input tried: `register` while the tracking server's S3 endpoint refuses connections; then again once it is back."""
    run_id = s3_env.registry.runs["weak"]  # logged while S3 was up
    client = registry.get_client(s3_env.server.uri)
    s3_env.proxy.down()
    try:
        with pytest.raises(registry.RegistryError) as failed:
            registry.register_run(run_id, model_name=model_name, tracking_uri=s3_env.server.uri)
    finally:
        s3_env.proxy.up()
    message = str(failed.value)
    assert "artifact store" in message and "nothing was registered" in message, message
    assert "no complete inference bundle" not in message, "the bundle is there; the store was down"
    assert not list(client.search_model_versions(f"name = '{model_name}'")), "a version was half-registered"
    ref = registry.register_run(run_id, model_name=model_name, tracking_uri=s3_env.server.uri)
    assert ref.version == "1" and registry.CHALLENGER in ref.aliases


def test_a_bucket_that_vanished_is_a_clear_error_and_registers_nothing(s3_env, model_name, tmp_path):
    """Input tried: `register` on a server whose bucket was emptied and deleted after the run was logged."""
    moto_client = s3_env.moto.client()
    moto_client.create_bucket(Bucket="cc-short-lived")
    server = start_server(
        var_dir=tmp_path / "mlflow",
        workers=1,
        extra_args=["--artifacts-destination", "s3://cc-short-lived/mlflow"],
        env=s3_env.moto.server_env(),
    )
    try:
        run_id = LazyRuns(server.uri, s3_env.registry.runs.models)["good"]
        for key in s3_env.moto.keys("cc-short-lived"):
            moto_client.delete_object(Bucket="cc-short-lived", Key=key)
        moto_client.delete_bucket(Bucket="cc-short-lived")
        with pytest.raises(registry.RegistryError) as failed:
            registry.register_run(run_id, model_name=model_name, tracking_uri=server.uri)
        message = str(failed.value)
        assert "artifact store (s3://cc-short-lived/mlflow: The specified bucket does not exist)" in message, message
        assert "nothing was registered" in message
        assert not list(registry.get_client(server.uri).search_model_versions(f"name = '{model_name}'"))
    finally:
        server.stop()


def test_a_wrong_bucket_stops_the_server_before_it_starts(s3_env, tmp_path):
    from tests.mlruns_server.test_server import assert_one_line_error, run_cli

    env = {**os.environ, **s3_env.moto.server_env()}
    wrong = run_cli("--port", "0", "--var-dir", str(tmp_path), "--artifacts-destination", "s3://no-such-bucket/mlflow", "--check", env=env)
    assert_one_line_error(wrong, "s3://no-such-bucket/mlflow", "the bucket 'no-such-bucket' does not exist", s3_env.moto.endpoint)
    env["MLFLOW_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{_closed_port()}"
    down = run_cli("--port", "0", "--var-dir", str(tmp_path), "--artifacts-destination", f"s3://{BUCKET}/x", "--check", env=env)
    assert_one_line_error(down, "is unreachable", env["MLFLOW_S3_ENDPOINT_URL"])
    right = run_cli(
        "--port",
        "0",
        "--var-dir",
        str(tmp_path),
        "--artifacts-destination",
        f"s3://{BUCKET}/x",
        "--check",
        env={**os.environ, **s3_env.moto.server_env()},
    )
    assert right.returncode == 0, right.stderr


def _closed_port() -> int:
    from common.processes import free_port

    return free_port()
