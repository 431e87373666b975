"""Releases per environment: app code + model bundle copied side by side, activated, rolled back.

A release folder holds `app/` (manage.py, webportal/, ml/ as they were at deploy time) and `bundle/`.
`current.json` names the active release and the one before it, so a rollback restores both the
previous app and the previous model. A model-only change is picked up by the running portal (it
polls MODEL_DIR) without a restart or a dropped request; an app change is loaded by a new gunicorn master
that takes over the listening socket from the old one (SIGUSR2), also without a dropped request.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ci.config import Environment, PipelineConfig
from ci.processes import http_ok, manage, read_pid, reload_portal, start_portal, wait_for_version
from common.paths import PROJECT_ROOT
from ml.bundle import bundle_checksum, copy_bundle, read_card

APP_PATHS = ("manage.py", "common", "webportal", "ml")
KEEP_RELEASES = 5
_VERSION_RE = re.compile(r'^APP_VERSION\s*=\s*"([^"]+)"', re.MULTILINE)


def app_version(root: Path = PROJECT_ROOT) -> str:
    match = _VERSION_RE.search((root / "webportal" / "version.py").read_text(encoding="utf-8"))
    return match.group(1) if match else "unknown"


def app_checksum(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for top in APP_PATHS:
        path = root / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def read_state(env: Environment) -> dict:
    try:
        return json.loads(env.state_file.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _write_state(env: Environment, state: dict) -> None:
    tmp = env.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(env.state_file)


def prepare_release(env: Environment, bundle: Path, *, release_id: str, source: Path = PROJECT_ROOT) -> dict:
    folder = env.releases / release_id
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "app").mkdir(parents=True)
    for top in APP_PATHS:
        src = source / top
        if src.is_dir():
            shutil.copytree(src, folder / "app" / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, folder / "app" / top)
    copy_bundle(bundle, folder / "bundle")
    card = read_card(folder / "bundle")
    return {
        "release_id": release_id,
        "folder": str(folder),
        "model_version": str(card.model_version or card.run_id),
        "bundle_checksum": bundle_checksum(folder / "bundle"),
        "app_version": app_version(source),
        "app_checksum": app_checksum(source),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def activate(config: PipelineConfig, env: Environment, release: dict, *, force_restart: bool = False) -> dict:
    """Make `release` the served one: migrate, roles and demo users, model swap, (re)start when the app changed."""
    app_dir = Path(release["folder"]) / "app"
    previous = read_state(env).get("current")
    manage(config, env, app_dir, "migrate", "--noinput")
    manage(config, env, app_dir, "collectstatic", "--noinput")
    manage(config, env, app_dir, "setup_roles", "--demo-users")
    copy_bundle(Path(release["folder"]) / "bundle", env.model_dir)
    running = read_pid(env.pid_file) is not None and http_ok(f"{env.url}/healthz")
    app_changed = previous is None or previous.get("app_checksum") != release["app_checksum"]
    # Same app code: the running workers pick the new model up from MODEL_DIR, no request dropped.
    # New app code: a second gunicorn master takes over the listening socket, no request dropped either.
    restarted = force_restart or not running or app_changed
    if restarted:
        (reload_portal if running else start_portal)(config, env, app_dir)
    wait_for_version(env.url, release["model_version"], timeout=60, health_token=env.ensure_secret("health_token"))
    state = read_state(env)
    if state.get("current", {}).get("release_id") != release["release_id"]:
        state["previous"] = state.get("current")
    state["current"] = {**release, "activated_at": datetime.now(UTC).isoformat(timespec="seconds"), "restarted": restarted}
    _write_state(env, state)
    _prune(env, keep={release["release_id"], (state.get("previous") or {}).get("release_id")})
    return state["current"]


def deploy(config: PipelineConfig, env: Environment, bundle: Path, *, release_id: str) -> dict:
    env.root.mkdir(parents=True, exist_ok=True)
    release = prepare_release(env, bundle, release_id=release_id, source=config.app_source)
    return activate(config, env, release)


def rollback(config: PipelineConfig, env: Environment) -> dict | None:
    """Back to the release before the current one (app and model). None when there is none."""
    state = read_state(env)
    previous = state.get("previous")
    if not previous or not Path(previous["folder"]).exists():
        return None
    current = state.get("current")
    restored = activate(config, env, previous, force_restart=True)
    state = read_state(env)
    state["previous"] = None
    state["rolled_back"] = {
        "from": (current or {}).get("release_id"),
        "to": previous["release_id"],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_state(env, state)
    return restored


def _prune(env: Environment, *, keep: set) -> None:
    releases = sorted((p for p in env.releases.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in releases[KEEP_RELEASES:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
