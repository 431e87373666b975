"""The Kubernetes manifests (deploy/k8s): check an overlay's secret env files, render it with `kubectl kustomize`.

Plain functions over subprocess and PyYAML; the k8s deploy target and the tests call them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from common.paths import PROJECT_ROOT

K8S_DIR = PROJECT_ROOT / "deploy" / "k8s"
OVERLAYS = ("staging", "production")


class KustomizeError(RuntimeError):
    """An overlay cannot be rendered; the message says what to fix."""


def overlay_dir(name: str, *, k8s_dir: Path = K8S_DIR) -> Path:
    path = Path(k8s_dir) / "overlays" / name
    if not (path / "kustomization.yaml").is_file():
        known = sorted(p.name for p in (Path(k8s_dir) / "overlays").glob("*") if (p / "kustomization.yaml").is_file())
        raise KustomizeError(f"no overlay {name!r} under {Path(k8s_dir) / 'overlays'} (known: {', '.join(known) or 'none'})")
    return path


def secret_env_files(folder: Path) -> list[Path]:
    """The env files a kustomization's secretGenerator reads."""
    spec = yaml.safe_load((Path(folder) / "kustomization.yaml").read_text()) or {}
    files = []
    for generator in spec.get("secretGenerator") or []:
        files += [Path(folder) / name for name in generator.get("envs") or []]
    return files


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def check_secret_files(folder: Path) -> None:
    """Every secret env file exists and sets every variable its .example names, to a non-empty value."""
    problems = []
    for path in secret_env_files(folder):
        example = path.with_name(path.name + ".example")
        wanted = list(read_env_file(example)) if example.is_file() else []
        if not path.is_file():
            hint = f"cp {example} {path} and fill in {', '.join(wanted)}" if wanted else "create it"
            problems.append(f"{path} is missing (git ignores it; it holds the secrets): {hint}")
            continue
        values = read_env_file(path)
        empty = [key for key in wanted if not values.get(key)]
        if empty:
            problems.append(f"{path} leaves {', '.join(empty)} empty")
    if problems:
        raise KustomizeError("cannot render the overlay " + str(folder) + ":\n  " + "\n  ".join(problems))


def kubectl() -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        raise KustomizeError("kubectl is not installed (Debian package kubectl; `make system-deps` installs it)")
    return binary


def render(folder: Path) -> list[dict]:
    """The objects `kubectl kustomize FOLDER` produces, after the secret files are checked."""
    folder = Path(folder)
    check_secret_files(folder)
    result = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise KustomizeError(f"kubectl kustomize {folder} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
