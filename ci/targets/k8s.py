"""The Kubernetes target: each overlay of deploy/k8s (staging, then production) is applied with the release's
portal image and the model version pinned in MODEL_URI, migrated, rolled out, and smoke-tested through its
Service. On failure, every overlay this run changed gets `kubectl rollout undo` (the previous image and
MODEL_URI), and the runner moves the champion alias back, as for the local target.

    python -m ci run --target k8s --context kind-compliance
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from ci import kustomize
from ci.config import PipelineConfig, ensure_demo_password
from ci.processes import DeployError  # a kubectl step failed: the message names the command and what kubectl said
from ci.targets.base import Log

PORTAL = "deployment/portal"
PORTAL_IMAGE = "compliance-portal"
SERVICE_PORT = 8000


@dataclass(frozen=True)
class Kubectl:
    """`kubectl --context NAME ...`, one call at a time; a failed call raises DeployError with its stderr."""

    context: str
    binary: str = "kubectl"
    timeout_s: float = 900.0

    def args(self, *words: str, namespace: str | None = None) -> list[str]:
        return [self.binary, "--context", self.context, *(["--namespace", namespace] if namespace else []), *words]

    def __call__(self, *words: str, namespace: str | None = None) -> str:
        command = self.args(*words, namespace=namespace)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout_s)
        except FileNotFoundError as exc:
            raise DeployError(f"{self.binary} is not installed (Debian package kubectl)") from exc
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"{' '.join(command[3:])}: no answer within {self.timeout_s:.0f} s") from exc
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise DeployError(f"kubectl {' '.join(command[3:])} failed (exit {done.returncode}): {said[-1] if said else 'no output'}")
        return done.stdout


def namespace_of(overlay: Path) -> str:
    spec = yaml.safe_load((overlay / "kustomization.yaml").read_text()) or {}
    if not spec.get("namespace"):
        raise DeployError(f"{overlay / 'kustomization.yaml'} sets no namespace")
    return spec["namespace"]


def pin_release(docs: list[dict], *, image: str, model_uri: str) -> list[dict]:
    """The rendered overlay with every compliance-portal container on `image` and the portal on `model_uri`."""
    for doc in docs:
        if doc.get("kind") not in ("Deployment", "Job", "CronJob"):
            continue
        spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
        pod = spec["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            if container["image"].split(":")[0].rsplit("/", 1)[-1] == PORTAL_IMAGE:
                container["image"] = image
                if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "portal":
                    env = [e for e in container.get("env", []) if e["name"] != "MODEL_URI"]
                    container["env"] = [*env, {"name": "MODEL_URI", "value": model_uri}]
    return docs


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def port_forward(kubectl: Kubectl, namespace: str, *, timeout_s: float = 30.0) -> Iterator[str]:
    """`kubectl port-forward service/portal` to a free local port; yields the portal's URL, stops it by pid."""
    from common.processes import free_port

    port = free_port()
    command = kubectl.args("port-forward", "service/portal", f"{port}:{SERVICE_PORT}", namespace=namespace)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _forwarded(process, log, port, namespace, timeout_s)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _forwarded(process: subprocess.Popen, log, port: int, namespace: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            said = log.read().decode(errors="replace").strip()
            raise DeployError(f"kubectl port-forward service/portal in {namespace} did not listen: {said or 'no output'}")
        time.sleep(0.2)
    return f"http://localhost:{port}"  # a host the portal's ALLOWED_HOSTS lists (deploy/k8s/base)


class K8sTarget:
    name = "k8s"
    default_tracking_uri = None  # the cluster's tracking server is reached by the pipeline's own --tracking-uri

    def __init__(self, config: PipelineConfig, *, smoke: Callable | None = None):
        if not config.k8s_context:
            raise ValueError("the k8s target needs a kubectl context: --context NAME (or PIPELINE_K8S_CONTEXT)")
        if not config.tracking_uri:
            raise ValueError(
                "the k8s target registers models on the cluster's tracking server, which the portal pods resolve MODEL_URI "
                "through: pass --tracking-uri (e.g. kubectl port-forward service/mlflow 5000, then http://127.0.0.1:5000)"
            )
        self.config = config
        self.kubectl = Kubectl(config.k8s_context, binary=config.k8s_kubectl)
        self.overlays = [kustomize.overlay_dir(name, k8s_dir=config.k8s_dir) for name in config.k8s_overlays]
        self.changed: list[Path] = []  # overlays this run applied: the ones a rollback undoes
        self._smoke = smoke

    def describe(self) -> dict[str, str]:
        names = ", then ".join(f"{o.name} ({namespace_of(o)})" for o in self.overlays)
        return {
            "deploy": f"kubectl --context {self.config.k8s_context}: apply {names} with {self.config.k8s_portal_image}, "
            "MODEL_URI pinned to the version, migrate, rollout status, smoke test through the Service",
            "smoke": "the last overlay's Service through kubectl port-forward: login, classify the reference examples, served version",
            "served": f"portal: kubectl --context {self.config.k8s_context} -n {namespace_of(self.overlays[-1])} "
            "port-forward service/portal 8000",
        }

    def deploy(self, package: dict, *, pipeline_id: str, log: Log) -> dict:
        model_uri = f"models:/{self.config.model_name}/{package['model_version']}"
        outputs = {}
        for overlay in self.overlays:
            outputs[overlay.name] = self._deploy(overlay, model_uri, package["model_version"], log)
        return {
            **outputs,
            "production": outputs[self.overlays[-1].name],
            "model_version": str(package["model_version"]),
            "app_version": package["app_version"],
        }

    def smoke_test(self, *, model_version: str) -> dict:
        return self._smoke_overlay(self.overlays[-1], model_version)

    def roll_back(self, *, log: Log) -> dict[str, str]:
        report = {}
        for overlay in self.overlays:
            if overlay not in self.changed:
                report[overlay.name] = "nothing to roll back to (not changed by this run)"
                continue
            namespace = namespace_of(overlay)
            try:
                self.kubectl("rollout", "undo", PORTAL, namespace=namespace)
                self.kubectl("rollout", "status", PORTAL, f"--timeout={self.config.k8s_timeout_s}s", namespace=namespace)
                report[overlay.name] = "rolled back to the previous revision"
            except DeployError as exc:
                report[overlay.name] = f"rollback failed: {exc}"
            log(f"  rollback {overlay.name}: {report[overlay.name]}")
        return report

    def _deploy(self, overlay: Path, model_uri: str, model_version: str, log: Log) -> dict:
        namespace, timeout = namespace_of(overlay), f"--timeout={self.config.k8s_timeout_s}s"
        docs = pin_release(kustomize.render(overlay), image=self.config.k8s_portal_image, model_uri=model_uri)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix=f"{overlay.name}-") as rendered:
            yaml.safe_dump_all(docs, rendered, sort_keys=False)
            rendered.flush()
            self.kubectl("delete", "job", "migrate", "--ignore-not-found", namespace=namespace)  # a Job's template is immutable
            self.changed.append(overlay)
            self.kubectl("apply", "-f", rendered.name)
        log(f"  {overlay.name}: applied {overlay} ({self.config.k8s_portal_image}, MODEL_URI {model_uri})")
        self.kubectl("wait", "--for=condition=complete", "job/migrate", timeout, namespace=namespace)
        self.kubectl("rollout", "status", PORTAL, timeout, namespace=namespace)
        smoke = self._smoke_overlay(overlay, model_version)
        log(f"  {overlay.name}: rolled out, smoke test passed through service/portal: labels {smoke['labels']}")
        return {"environment": overlay.name, "namespace": namespace, "model_uri": model_uri, "image": self.config.k8s_portal_image}

    def _smoke_overlay(self, overlay: Path, model_version: str) -> dict:
        from ci.smoke import smoke_outputs

        namespace = namespace_of(overlay)
        password = ensure_demo_password(self.config)
        setup = ["exec", PORTAL, "--", "env", f"PORTAL_DEMO_PASSWORD={password}", "python", "manage.py", "setup_roles", "--demo-users"]
        self.kubectl(*setup, namespace=namespace)
        with port_forward(self.kubectl, namespace) as url:
            return (self._smoke or smoke_outputs)(overlay.name, url, password=password, model_version=model_version)
