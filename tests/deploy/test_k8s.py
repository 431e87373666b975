"""deploy/k8s, validated offline: every overlay renders with `kubectl kustomize`, every object validates against the
Kubernetes schema (kubernetes-validate, strict), and the manifests agree with docker-compose.yml, the Dockerfiles
and webportal/env.py on ports, probes, environment names, images and commands."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ci import kustomize
from tests.deploy import commands as cmd
from tests.deploy import helpers as h

K8S = h.REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"  # the kubectl Debian ships here; kind's and k3d's current node images
RENDERED = ("overlays/staging", "overlays/production", "training")


def fill_secret_files(k8s_dir: Path, *, skip: tuple[str, ...] = ()) -> None:
    """The env files made the way docs/deploy.md says: each .example copied with every empty value filled in."""
    for example in [*k8s_dir.glob("overlays/*/*.env.example"), *k8s_dir.glob("training/*.env.example")]:
        if example.name.removesuffix(".example") in skip:
            continue
        values = kustomize.read_env_file(example)
        lines = [f"{key}={value or 'test-only-' + key.lower().replace('_', '-')}" for key, value in values.items()]
        example.with_name(example.name.removesuffix(".example")).write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, folder, ignore=shutil.ignore_patterns("*.env"))
    fill_secret_files(folder)
    return folder


@pytest.fixture(scope="module")
def rendered(k8s_copy) -> dict[str, list[dict]]:
    return {name: kustomize.render(k8s_copy / name) for name in RENDERED}


def objects(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def containers(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(docs: list[dict]) -> list[dict]:
    return [doc for doc in docs if doc["kind"] in ("Deployment", "Job", "CronJob")]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((h.REPO / "docker-compose.yml").read_text())


def test_kubectl_renders_every_overlay(rendered):
    for name in ("overlays/staging", "overlays/production"):
        kinds = {doc["kind"] for doc in rendered[name]}
        assert {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "CronJob"} <= kinds, name
        assert {"ConfigMap", "Secret", "PersistentVolumeClaim"} <= kinds, name
    assert objects(rendered["training"], "Job")["train"]


@pytest.mark.parametrize("name", RENDERED)
def test_every_rendered_object_validates_against_the_kubernetes_schema(rendered, name):
    problems = []
    for doc in rendered[name]:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {'/'.join(map(str, exc.path))}")
    assert not problems, "\n".join(problems)


def test_the_validator_rejects_a_broken_object(rendered):
    """The schema check above can fail: a Deployment with a misspelt field and a string port does not pass."""
    broken = yaml.safe_load(yaml.safe_dump(objects(rendered["overlays/staging"], "Deployment")["portal"]))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    broken["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", kustomize.OVERLAYS)
def test_a_missing_secret_env_file_is_named_with_the_fix(tmp_path, overlay):
    """Input tried: an overlay whose portal.env was never created (git ignores it), then one with SECRET_KEY empty."""
    folder = tmp_path / "k8s"
    shutil.copytree(K8S, folder, ignore=shutil.ignore_patterns("*.env"))
    fill_secret_files(folder, skip=("portal.env",))
    target = kustomize.overlay_dir(overlay, k8s_dir=folder)
    with pytest.raises(kustomize.KustomizeError) as missing:
        kustomize.render(target)
    message = str(missing.value)
    assert f"{target / 'portal.env'} is missing" in message and "portal.env.example" in message and "SECRET_KEY" in message
    assert "Traceback" not in message and "evalsymlink" not in message
    (target / "portal.env").write_text(
        "SECRET_KEY=\nDATABASE_URL=postgres://x@db/portal\nMETRICS_TOKEN=t\nHEALTH_TOKEN=t\nCACHE_URL=redis://r\n"
    )
    with pytest.raises(kustomize.KustomizeError, match=r"portal.env leaves SECRET_KEY empty"):
        kustomize.render(target)


def test_an_unknown_overlay_is_refused_with_the_known_ones():
    with pytest.raises(kustomize.KustomizeError, match=r"no overlay 'prod'.*known: production, staging"):
        kustomize.overlay_dir("prod")


def test_the_secret_env_files_are_git_ignored_and_only_examples_are_committed():
    for overlay in kustomize.OVERLAYS:
        for path in kustomize.secret_env_files(K8S / "overlays" / overlay):
            rel = path.relative_to(h.REPO).as_posix()
            assert subprocess.run(["git", "check-ignore", "-q", rel], cwd=h.REPO).returncode == 0, f"{rel} is not git-ignored"
            assert path.with_name(path.name + ".example").is_file(), f"{rel}.example is missing"
    tracked = subprocess.run(["git", "ls-files", "deploy/k8s"], cwd=h.REPO, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if f.endswith(".env")], "a secret env file is committed"


def test_overlays_carry_the_same_secret_names():
    keys = {
        overlay: {p.name: set(kustomize.read_env_file(p)) for p in (K8S / "overlays" / overlay).glob("*.env.example")}
        for overlay in kustomize.OVERLAYS
    }
    assert keys["staging"] == keys["production"]


@pytest.mark.parametrize("overlay", kustomize.OVERLAYS)
def test_the_portal_deployment_is_replicated_probed_and_bounded(rendered, overlay):
    docs = rendered[f"overlays/{overlay}"]
    portal = objects(docs, "Deployment")["portal"]
    assert portal["spec"]["replicas"] >= 2
    rolling = portal["spec"]["strategy"]["rollingUpdate"]
    assert portal["spec"]["strategy"]["type"] == "RollingUpdate" and rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1
    (container,) = pod_spec(portal)["containers"]
    port = container["ports"][0]
    probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "readiness", "liveness")}
    assert all(p["path"].split("?")[0] == "/healthz" and p["port"] in (port["name"], port["containerPort"]) for p in probes.values())
    assert probes["readiness"]["path"] == "/healthz?probe=ready", "readiness must fail while no model is loaded"
    assert probes["liveness"]["path"] == "/healthz?probe=live", "a database outage must not restart every pod"
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"] and resources["limits"]["memory"]
    annotations = portal["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == port["containerPort"]
    hpa = objects(docs, "HorizontalPodAutoscaler")["portal"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "portal"}
    assert 2 <= hpa["spec"]["minReplicas"] <= portal["spec"]["replicas"] < hpa["spec"]["maxReplicas"]
    pdb = objects(docs, "PodDisruptionBudget")["portal"]
    labels = portal["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"].get("maxUnavailable", 0) < portal["spec"]["replicas"]


def env_of(docs: list[dict], container: dict) -> dict[str, str]:
    """A container's environment as the cluster sets it: envFrom ConfigMaps and Secrets, then env."""
    config = {name: doc for name, doc in objects(docs, "ConfigMap").items()}
    secrets = objects(docs, "Secret")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config[source["configMapRef"]["name"]]["data"])
        else:
            env.update(dict.fromkeys(secrets[source["secretRef"]["name"]]["data"], "<secret>"))
    env.update({item["name"]: item.get("value", "<ref>") for item in container.get("env", [])})
    return env


def test_the_portal_resolves_the_champion_through_the_tracking_server_with_a_cache_volume(rendered):
    docs = rendered["overlays/production"]
    portal = objects(docs, "Deployment")["portal"]
    (container,) = pod_spec(portal)["containers"]
    env = env_of(docs, container)
    assert env["MODEL_URI"] == "models:/component-compliance@champion"
    assert env["MODEL_DIR"] == "", "the image's MODEL_DIR default must be cleared, or MODEL_URI is never used"
    mlflow_service = objects(docs, "Service")["mlflow"]
    assert env["MLFLOW_TRACKING_URI"] == f"http://mlflow:{mlflow_service['spec']['ports'][0]['port']}"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert env["MODEL_CACHE_DIR"] in mounts, "the model cache is not on a volume"
    assert env["PORTAL_VAR_DIR"] in mounts and "/tmp" in mounts  # the root filesystem is read-only
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(env) >= {"SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "METRICS_TOKEN", "HEALTH_TOKEN"}
    # the tracking server runs with basic auth: the portal signs in as the read-only user of the mlflow Secret
    refs = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"] if "valueFrom" in item}
    assert refs["MLFLOW_TRACKING_USERNAME"]["key"] == "MLFLOW_AUTH_READER_USERNAME"
    assert refs["MLFLOW_TRACKING_PASSWORD"]["name"] == next(n for n in objects(docs, "Secret") if n.startswith("mlflow-secrets"))
    server = env_of(docs, pod_spec(objects(docs, "Deployment")["mlflow"])["containers"][0])
    assert {"MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_AUTH_READER_PASSWORD"} <= set(server)


def webportal_env_names() -> set[str]:
    """Names the portal reads: webportal/env.py, and the shared rules it calls (common.paths, common.names)."""
    sources = [h.REPO / "webportal" / "env.py", h.REPO / "common" / "paths.py", h.REPO / "common" / "names.py"]
    return {name for path in sources for name in re.findall(r'"([A-Z][A-Z0-9_]{2,})"', path.read_text())} - {"INFO"}


def mlflow_server_env_names() -> set[str]:
    from mlruns_server.config import AUTH_ENV, READER_ENV

    text = (h.REPO / "mlruns_server" / "config.py").read_text()
    return (
        set(re.findall(r'^ENV_[A-Z_]+ = "([A-Z_]+)"', text, flags=re.M))
        | {*AUTH_ENV, *READER_ENV}
        | {
            "MLFLOW_S3_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        }
    )


@pytest.mark.parametrize("overlay", kustomize.OVERLAYS)
def test_every_environment_name_is_one_the_code_reads(rendered, overlay):
    """A misspelt name (MODEL_URL for MODEL_URI) would be silently ignored by the portal."""
    docs = rendered[f"overlays/{overlay}"]
    portal_names = webportal_env_names() | {"GUNICORN_CMD_ARGS", "ALERT_WEBHOOK_URL"}
    problems = []
    for obj in workloads(docs):
        for container in containers(obj):
            known = mlflow_server_env_names() if "mlflow" in container["image"] else portal_names
            unknown = sorted(set(env_of(docs, container)) - known)
            if unknown:
                problems.append(f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}: {unknown}")
    assert not problems, "\n".join(problems)


def test_ports_probes_images_and_commands_agree_with_compose(rendered, compose):
    docs = rendered["overlays/staging"]
    services = compose["services"]
    deployments = objects(docs, "Deployment")
    for name in ("portal", "mlflow"):
        (container,) = pod_spec(deployments[name])["containers"]
        image, _, _ = container["image"].partition(":")
        assert image == services[name]["image"].split(":")[0], name
        container_port = container["ports"][0]["containerPort"]
        exposed = services[name].get("ports") or services[name]["expose"]  # the portal is published through the proxy
        assert any(str(p).split(":")[-1] == str(container_port) for p in exposed), f"{name}: compose serves another port"
        assert objects(docs, "Service")[name]["spec"]["ports"][0]["port"] == container_port
        health = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{container_port}{container['livenessProbe']['httpGet']['path'].split('?')[0]}'" in health, name
    portal = pod_spec(deployments["portal"])["containers"][0]
    assert portal["command"] == services["portal"]["command"]
    assert portal["command"][-1].endswith(f":{portal['ports'][0]['containerPort']}")
    mlflow = pod_spec(deployments["mlflow"])["containers"][0]["command"]
    assert mlflow[:3] == services["mlflow"]["command"][:3] == ["python", "-m", "mlruns_server"]
    assert mlflow[mlflow.index("--port") + 1] == services["mlflow"]["command"][services["mlflow"]["command"].index("--port") + 1]
    migrate = objects(docs, "Job")["migrate"]
    assert pod_spec(migrate)["containers"][0]["command"] == services["migrate"]["command"]
    cronjobs = objects(docs, "CronJob")
    assert {c["command"][2] for cj in cronjobs.values() for c in pod_spec(cj)["containers"]} == {"monitoring"}
    assert {pod_spec(cj)["containers"][0]["command"][3] for cj in cronjobs.values()} == {"drift", "performance"}
    compose_images = {s["image"].split(":")[0] for s in services.values() if "build" in s}
    for doc in [*docs, *rendered["training"]]:
        if doc["kind"] in ("Deployment", "Job", "CronJob"):
            for container in containers(doc):
                assert container["image"].split(":")[0] in compose_images, f"{doc['metadata']['name']}: {container['image']}"


def test_the_commands_exist_and_are_copied_into_their_images(rendered, compose):
    dockerfiles = {s["image"].split(":")[0]: h.REPO / s["build"]["dockerfile"] for s in compose["services"].values() if "build" in s}
    problems = []
    for doc in [*rendered["overlays/production"], *rendered["training"]]:
        if doc["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        for container in containers(doc):
            command = [word for word in container["command"] if not word.startswith("--nproc")]
            if command[0] == "torchrun":
                command = ["python", *command[command.index("-m") :]]
            calls = cmd.calls_in([command])
            problems += [f"{doc['metadata']['name']}: {p}" for p in cmd.problems_in_calls(calls)]
            dockerfile = dockerfiles[container["image"].split(":")[0]]
            copied = {
                source.rstrip("/").split("/")[0]
                for ins in h.dockerfile_instructions(dockerfile)
                if ins.keyword in ("COPY", "ADD")
                for source in h.copy_sources(ins)[0]
            }
            problems += [
                f"{doc['metadata']['name']}: {m} is not copied into {dockerfile.name}"
                for m in calls.modules
                if m.split(".")[0] not in copied | {"mlflow"}
            ]
    assert not problems, "\n".join(problems)


def test_s3_credentials_reach_the_tracking_server_only(rendered):
    """Clients read and write artifacts through the server's proxy: no other pod mounts the mlflow Secret."""
    docs = rendered["overlays/production"]
    secret_name = next(name for name in objects(docs, "Secret") if name.startswith("mlflow-secrets"))
    for obj in workloads(docs):
        for container in containers(obj):
            refs = {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
            if secret_name in refs:
                assert container["image"].startswith("compliance-mlflow"), f"{obj['metadata']['name']}/{container['name']}"
    mlflow = pod_spec(objects(docs, "Deployment")["mlflow"])["containers"][0]
    env = env_of(docs, mlflow)
    assert env["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://") and {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env)
    assert env["MLFLOW_BACKEND_STORE_URI"] == "<secret>"
    for config in objects(docs, "ConfigMap").values():
        leaked = [k for k in config["data"] if re.search(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", k)]
        assert not leaked, f"{config['metadata']['name']} holds {leaked}"


def test_the_training_job_runs_torchrun_with_one_process_per_gpu(rendered):
    job = objects(rendered["training"], "Job")["train"]
    (container,) = pod_spec(job)["containers"]
    command = container["command"]
    assert command[0] == "torchrun" and command[command.index("-m") + 1 : command.index("-m") + 3] == ["ml", "train"]
    nproc = int(next(w.split("=", 1)[1] for w in command if w.startswith("--nproc-per-node=")))
    assert nproc == int(container["resources"]["limits"]["nvidia.com/gpu"])
    assert container["image"].endswith("-cuda")
    assert any(m["mountPath"] == "/dev/shm" for m in container["volumeMounts"])
    secret = objects(rendered["training"], "Secret")
    (account,) = [name for name in secret if name.startswith("train-mlflow-account")]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):  # rank 0 signs in to log the run
        assert refs[name] == {"name": account, "key": name}


def test_every_workload_runs_as_the_images_non_root_user(rendered):
    for obj in workloads(rendered["overlays/production"]) + workloads(rendered["training"]):
        context = pod_spec(obj)["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001, obj["metadata"]["name"]
