"""docker-compose.yml, validated offline: Debian's docker-compose v1 `config -q` (no engine needed), then the
resolved file read with PyYAML for healthchecks, start-up order, secrets and the commands each service runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import commands as cmd
from tests.deploy import helpers as h

COMPOSE = h.REPO / "docker-compose.yml"
GPU_OVERRIDE = h.REPO / "docker-compose.gpu.yml"
SERVICES = {"postgres", "mlflow", "migrate", "portal", "proxy", "monitor", "pipeline", "minio", "minio-bucket"}
LONG_RUNNING_WITH_PORTS = {"postgres", "mlflow", "portal", "proxy"}
ONE_SHOT = {"migrate", "pipeline", "minio-bucket"}
S3_SERVICES = {"minio", "minio-bucket"}  # profile s3: the optional S3 artifact store
THIRD_PARTY = {"postgres", "proxy", *S3_SERVICES}
S3_SETTINGS = {
    "S3_ACCESS_KEY_ID": "test-only-minio",
    "S3_SECRET_ACCESS_KEY": "test-only-minio-secret",
    "MLFLOW_ARTIFACT_STORE": "s3://compliance-mlflow/artifacts",
    "MLFLOW_S3_ENDPOINT": "http://minio:9000",
}
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "test-only-password",
    "SECRET_KEY": "test-only-secret-key",
    "MLFLOW_AUTH_ADMIN_PASSWORD": "test-only-admin",
    "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-only-flask",
    "MLFLOW_AUTH_READER_PASSWORD": "test-only-reader",
    "HEALTH_TOKEN": "test-only-health",
}


def compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose (v1) is missing: `make system-deps` installs it")
        pytest.skip("docker-compose (v1) is not installed; `make system-deps` installs it")
    return binary


def env_file_from_example(folder: Path, **overrides: str) -> Path:
    """.env made the way docs/deploy.md says: .env.example with the required secrets filled in."""
    lines = (h.REPO / ".env.example").read_text().splitlines()
    values = {**TEST_SECRETS, **overrides}
    out = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    out += [f"{key}={value}" for key, value in values.items() if value is not None]
    path = folder / ".env"
    path.write_text("\n".join(out) + "\n")
    return path


def run_compose(folder: Path, *args: str, files=(COMPOSE,)) -> subprocess.CompletedProcess:
    """Runs docker-compose on byte-identical copies of the compose files in `folder` (next to a test .env), with the
    repository's docker/ linked in so build contexts and mounted files resolve as they do in a checkout."""
    names = []
    for file in files:
        shutil.copyfile(file, folder / file.name)
        names += ["-f", file.name]
    if not (folder / "docker").exists():
        (folder / "docker").symlink_to(h.REPO / "docker")
    env = {k: v for k, v in os.environ.items() if k not in _interpolated_names() and not k.startswith("COMPOSE_")}
    return subprocess.run([compose_binary(), *names, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=60)


def _interpolated_names() -> set[str]:
    names: set[str] = set()
    for file in (COMPOSE, GPU_OVERRIDE):
        names |= set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", file.read_text()))
    return names


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("compose")
    env_file_from_example(folder)
    result = run_compose(folder, "--profile", "pipeline", "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_validates_with_docker_compose_v1(tmp_path):
    env_file_from_example(tmp_path)
    result = run_compose(tmp_path, "config", "-q")
    assert result.returncode == 0, result.stderr
    version = subprocess.run([compose_binary(), "version", "--short"], capture_output=True, text=True).stdout
    assert version.startswith("1."), f"validated with docker-compose {version}; the file must stay v1-compatible"


def test_gpu_override_validates_on_top_of_the_compose_file(tmp_path):
    env_file_from_example(tmp_path)
    result = run_compose(tmp_path, "--profile", "pipeline", "config", files=(COMPOSE, GPU_OVERRIDE))
    assert result.returncode == 0, result.stderr
    pipeline = yaml.safe_load(result.stdout)["services"]["pipeline"]
    assert pipeline["runtime"] == "nvidia"
    assert "cu" in pipeline["build"]["args"]["TORCH_INDEX_URL"]


@pytest.mark.parametrize(
    "missing",
    ["POSTGRES_PASSWORD", "SECRET_KEY", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_AUTH_READER_PASSWORD"],
)
def test_compose_refuses_to_start_without_the_required_secrets(tmp_path, missing):
    env_file_from_example(tmp_path, **{missing: None})
    result = run_compose(tmp_path, "config", "-q")
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_every_expected_service_is_defined(resolved):
    assert set(resolved["services"]) == SERVICES


def test_long_running_services_have_healthchecks(resolved):
    for name in LONG_RUNNING_WITH_PORTS:
        check = resolved["services"][name].get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
    assert "pg_isready" in " ".join(resolved["services"]["postgres"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(resolved["services"]["portal"]["healthcheck"]["test"])
    assert "/health" in " ".join(resolved["services"]["mlflow"]["healthcheck"]["test"])


def test_depends_on_uses_conditions_that_can_be_met(resolved):
    services = resolved["services"]
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert isinstance(spec, dict) and "condition" in spec, f"{name} -> {dep}: depends_on without a condition"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert services[dep].get("healthcheck"), f"{name} waits for {dep} to be healthy but it has no healthcheck"
            elif condition == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{name} waits for {dep} to complete but {dep} is long-running"
            else:
                pytest.fail(f"{name} -> {dep}: condition {condition}")
    assert services["portal"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["portal"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["pipeline"]["depends_on"]["portal"]["condition"] == "service_healthy"


def test_restart_policies(resolved):
    for name, service in resolved["services"].items():
        expected = "no" if name in ONE_SHOT else "unless-stopped"
        assert service.get("restart") == expected, name
    assert resolved["services"]["pipeline"].get("profiles") == ["pipeline"], "the pipeline runs on demand"


def test_services_run_on_postgresql_and_the_tracking_server(resolved):
    services = resolved["services"]
    mlflow_env = services["mlflow"]["environment"]
    assert mlflow_env["MLFLOW_BACKEND_STORE_URI"].startswith(("postgresql://", "postgresql+psycopg://"))
    assert "@postgres:5432/mlflow" in mlflow_env["MLFLOW_BACKEND_STORE_URI"]
    command = services["mlflow"]["command"]
    assert command[:3] == ["python", "-m", "mlruns_server"]
    assert command[command.index("--artifacts-destination") + 1] == "/mlartifacts"
    assert "mlflow" in command[command.index("--allowed-hosts") + 1].split(",")
    assert any(v.endswith(":/mlartifacts") or ":/mlartifacts:" in v for v in _volume_specs(services["mlflow"]))
    assert mlflow_env["MLFLOW_AUTH_ADMIN_PASSWORD"] == "test-only-admin" and mlflow_env["MLFLOW_AUTH_READER_PASSWORD"] == "test-only-reader"
    for name in ("migrate", "portal", "monitor", "pipeline"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/portal" in env["DATABASE_URL"], name
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000", name
        # every client signs in: the writers as the admin, the portal (reads only) as the read-only user
        expected = ("reader", "test-only-reader") if name == "portal" else ("admin", "test-only-admin")
        assert (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]) == expected, name
        assert env["MODEL_DIR"].startswith("/models/"), name
    assert services["portal"]["command"][:3] == ["gunicorn", "webportal.wsgi", "--no-control-socket"]
    assert services["monitor"]["command"][:5] == ["python", "-m", "monitoring", "schedule", "--every"]
    assert services["pipeline"]["command"] == ["python", "-m", "ci", "run"]


def _volume_specs(service: dict) -> list[str]:
    specs = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            specs.append(volume.removesuffix(":rw"))
        else:
            specs.append(f"{volume.get('source', '')}:{volume['target']}" + (":ro" if volume.get("read_only") else ""))
    return specs


def test_the_model_volume_is_written_by_the_pipeline_and_read_by_the_portal(resolved):
    services = resolved["services"]
    assert "models:/models:ro" in _volume_specs(services["portal"])
    assert "models:/models" in _volume_specs(services["pipeline"])
    assert "reports:/reports" in _volume_specs(services["monitor"])


def test_images_are_built_from_the_repository_dockerfiles(raw):
    for name, service in raw["services"].items():
        build = service.get("build")
        if build is None:
            assert name in THIRD_PARTY, f"{name}: neither built here nor a known third-party image"
            continue
        assert (h.REPO / build["context"] / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} missing"
    assert "portal.Dockerfile" in raw["services"]["portal"]["build"]["dockerfile"]
    assert "mlflow.Dockerfile" in raw["services"]["mlflow"]["build"]["dockerfile"]
    assert "trainer.Dockerfile" in raw["services"]["pipeline"]["build"]["dockerfile"]


def test_no_secrets_are_written_inline():
    problems = []
    for file in (COMPOSE, GPU_OVERRIDE):
        for lineno, line in enumerate(file.read_text().splitlines(), start=1):
            code = line.split(" #", 1)[0]
            if code.lstrip().startswith("#"):
                continue
            match = re.match(r"\s*-?\s*([A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY)[A-Z0-9_]*)\s*[:=]\s*(\S.*)?$", code)
            if match and match.group(2) and not match.group(2).strip("\"'").startswith("${"):
                problems.append(f"{file.name}:{lineno}: {match.group(1)} has a literal value")
            for credentials in re.findall(r"://([^/@\s]+)@", code):
                if ":" in credentials and not credentials.split(":", 1)[1].startswith("${"):
                    problems.append(f"{file.name}:{lineno}: a URL with a literal password")
    assert not problems, "\n".join(problems)


def test_app_services_read_secrets_from_the_env_file(raw):
    for name, service in raw["services"].items():
        if name in S3_SERVICES or name == "proxy":
            continue  # MinIO gets its two keys by interpolation, not the whole .env; nginx needs no setting
        env_file = service.get("env_file")
        assert env_file in (".env", [".env"]), f"{name}: env_file must be .env"


def test_env_example_documents_every_compose_variable():
    documented = {
        line.split("=", 1)[0].strip()
        for line in (h.REPO / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    missing = sorted(_interpolated_names() - documented)
    assert not missing, f".env.example does not document: {missing}"


def test_the_torch_pin_in_compose_matches_pyproject():
    torch = h.pyproject_pins()["torch"].line
    assert f"TORCH_SPEC-{torch}}}" in COMPOSE.read_text()
    assert f"TORCH_SPEC={torch}" in (h.REPO / ".env.example").read_text()


def test_mounted_repository_files_exist(raw):
    for name, service in raw["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith(("./", "/")):
                assert (h.REPO / source).exists(), f"{name}: mounts {source}, which is missing"


@pytest.mark.parametrize("service", ["migrate", "portal", "monitor", "pipeline", "mlflow"])
def test_commands_exist_in_the_repository_and_in_the_image(resolved, raw, service):
    command = resolved["services"][service]["command"]
    calls = cmd.calls_in([command])
    problems = cmd.problems_in_calls(calls)
    if command[:2] == ["python", "manage.py"]:
        assert (h.REPO / "manage.py").is_file(), "manage.py is missing"
    dockerfile = h.REPO / raw["services"][service]["build"]["dockerfile"]
    copied = {
        source.rstrip("/").split("/")[0]
        for ins in h.dockerfile_instructions(dockerfile)
        if ins.keyword in ("COPY", "ADD")
        for source in h.copy_sources(ins)[0]
    }
    for module in calls.modules:
        if module.split(".")[0] not in copied:
            problems.append(f"{service}: python -m {module} is not copied into {dockerfile.name}")
    assert not problems, "\n".join(problems)


def test_the_s3_profile_adds_minio_and_creates_the_bucket(tmp_path):
    env_file_from_example(tmp_path, **S3_SETTINGS)
    result = run_compose(tmp_path, "--profile", "s3", "config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) >= S3_SERVICES
    assert services["minio"]["healthcheck"]["test"] and services["minio"]["restart"] == "unless-stopped"
    bucket = services["minio-bucket"]
    assert bucket["depends_on"]["minio"]["condition"] == "service_healthy" and bucket["restart"] == "no"
    assert "mc mb --ignore-existing" in " ".join(bucket["command"]) and bucket["environment"]["S3_BUCKET"] == "compliance-mlflow"
    mlflow = services["mlflow"]
    command = mlflow["command"]
    assert command[command.index("--artifacts-destination") + 1] == "s3://compliance-mlflow/artifacts"
    assert mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert mlflow["environment"]["AWS_ACCESS_KEY_ID"] == services["minio"]["environment"]["MINIO_ROOT_USER"] == "test-only-minio"
    for client in ("portal", "monitor", "migrate"):
        assert "AWS_SECRET_ACCESS_KEY" not in services[client]["environment"], f"{client} needs no S3 credentials"


def test_without_the_profile_artifacts_stay_on_the_volume(resolved):
    for name in S3_SERVICES:
        assert resolved["services"][name]["profiles"] == ["s3"], f"{name} must not start with a plain `up`"
    mlflow = resolved["services"]["mlflow"]
    assert mlflow["command"][mlflow["command"].index("--artifacts-destination") + 1] == "/mlartifacts"


def test_the_portal_is_published_only_through_the_buffering_proxy(resolved):
    """Slow clients meet nginx, never gunicorn: the portal has no host port, the proxy has the portal's, mounts the
    repository's config, waits for a healthy portal, and that config buffers heads, bodies and answers."""
    services = resolved["services"]
    assert not services["portal"].get("ports"), "the portal must not be published past the proxy"
    proxy = services["proxy"]
    assert [str(p.get("target", p) if isinstance(p, dict) else p).split(":")[-1] for p in proxy["ports"]] == ["8000"]
    assert "/etc/nginx/conf.d/default.conf:ro" in " ".join(_volume_specs(proxy))
    assert proxy["depends_on"]["portal"]["condition"] == "service_healthy"
    conf = (h.REPO / "docker" / "nginx" / "portal.conf").read_text()
    for directive in ("server portal:8000", "client_header_timeout 10s", "proxy_request_buffering on", "proxy_buffering on",
                      "client_max_body_size 60m"):  # fmt: skip
        assert directive in conf, directive
