"""The served model: load, reload without restart, keep the last good model, MLflow resolution over REST,
and proof that the web process never imports torch, mlflow or evidently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from common.processes import free_port
from ml.bundle import CARD_VERSION, copy_bundle, read_card, write_card
from tests.webportal.conftest import REPO, client_for
from webportal.portal import services, serving
from webportal.portal.mlflow_rest import ResolveError, parse_model_uri, resolve_bundle


def _holder(path, **kw) -> serving.ModelHolder:
    holder = serving.ModelHolder(model_dir=str(path), **kw)
    serving.set_holder(holder)
    return holder


def test_load_reports_version_and_card(portal_bundle):
    holder = _holder(portal_bundle)
    assert holder.load()
    status = holder.status()
    assert status.loaded and status.version == holder.current.predictor.version and not status.stale


@pytest.mark.parametrize(
    "damage", ["missing-dir", "missing-file", "corrupt-onnx", "corrupt-tokenizer", "future-card-version", "future-tokenizer-version"]
)
def test_bad_bundle_keeps_last_good_model(portal_bundle, second_bundle, tmp_path, damage):
    """A missing or corrupt new bundle, or one whose model card has a newer contract version than this portal
    reads: the old model keeps serving, the error is reported."""
    live = tmp_path / "model"
    copy_bundle(portal_bundle, live)
    holder = _holder(live)
    assert holder.load()
    good_version = holder.current.version
    if damage == "missing-dir":
        shutil.rmtree(live)
    elif damage == "missing-file":
        (live / "model.onnx").unlink()
    elif damage == "corrupt-onnx":
        (live / "model.onnx").write_bytes(b"not an onnx model")
    elif damage == "future-card-version":
        write_card(live, replace(read_card(live), contract_version=CARD_VERSION + 1))
    elif damage == "future-tokenizer-version":
        spec = json.loads((live / "tokenizer.json").read_text())
        (live / "tokenizer.json").write_text(json.dumps({**spec, "version": 3}))
    else:
        (live / "tokenizer.json").write_text("{broken")
    assert not holder.load()
    status = holder.status()
    assert status.loaded and status.version == good_version and status.stale and status.last_error
    if damage == "future-tokenizer-version":  # refused at load time, with the reason
        assert "tokenizer spec version 3 is not supported" in status.last_error
    assert holder.current.predictor.predict_proba(["steel gear 2001 good"]).shape == (1,)
    copy_bundle(second_bundle, live)
    assert holder.load()
    assert holder.current.version == "2" and not holder.status().stale


def test_poll_picks_up_new_bundle_without_restart(portal_bundle, second_bundle, tmp_path):
    live = tmp_path / "model"
    copy_bundle(portal_bundle, live)
    holder = _holder(live, poll_seconds=1)
    assert holder.load()
    first = holder.current.version
    assert not holder.poll()  # too soon / unchanged
    copy_bundle(second_bundle, live)
    holder._last_poll -= 2
    assert holder.poll()
    assert holder.current.version == "2" != first or first == "2"


@pytest.mark.django_db
def test_reload_action_and_healthz(portal_bundle, second_bundle, tmp_path, operator):
    live = tmp_path / "model"
    copy_bundle(portal_bundle, live)
    holder = _holder(live)
    holder.load()
    client = client_for(operator)
    copy_bundle(second_bundle, live)
    response = client.post("/operations/reload", follow=True)
    assert "now serving" in response.content.decode() and holder.current.version == "2"
    (live / "model.onnx").write_bytes(b"garbage")
    html = client.post("/operations/reload", follow=True).content.decode()
    assert "Reload failed: still serving version 2" in html
    health = client.get("/healthz").json()  # an operator sees the details
    assert health["model_loaded"] and health["model_stale"] and health["model_version"] == "2" and health["model_error"]


@pytest.mark.django_db
def test_no_model_configured_starts_and_pending(tech):
    holder = _holder("")
    holder.model_dir = ""
    assert not holder.load()
    component = services.component_create(text="steel gear 2001 good", user=tech)
    assert component.status == "pending"


def test_web_process_never_imports_torch_mlflow_evidently(portal_bundle, tmp_path):
    """Import the WSGI app (django.setup + model load + a classification) in a fresh process; inspect sys.modules."""
    code = (
        "import sys, json\n"
        "from webportal.wsgi import application\n"
        "from webportal.portal.serving import get_holder\n"
        "h = get_holder(); assert h.current is not None, h.last_error\n"
        "h.current.predictor.predict(['steel gear made in 2001, good condition'])\n"
        "import webportal.urls, webportal.api.views, webportal.portal.views, webportal.portal.mlflow_rest\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mlflow', 'evidently'))))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "DJANGO_SETTINGS_MODULE": "webportal.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MODEL_DIR": str(portal_bundle),
        "PORTAL_VAR_DIR": str(tmp_path),
    }
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_parse_model_uri():
    assert parse_model_uri("models:/component-compliance@champion") == ("component-compliance", "champion", None)
    assert parse_model_uri("models:/component-compliance/3") == ("component-compliance", None, "3")
    with pytest.raises(ResolveError):
        parse_model_uri("runs:/abc/model")


def test_unreachable_tracking_server_keeps_portal_up(tmp_path):
    holder = serving.ModelHolder(
        model_uri="models:/component-compliance@champion", tracking_uri=f"http://127.0.0.1:{free_port()}", cache_dir=tmp_path
    )
    assert not holder.load()
    assert "unreachable" in holder.status().last_error


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, request):
    """A real `mlflow server` (SQLite backend store, proxied artifact store) on a free loopback port.

    The session training run's already-migrated tracking database (tests/conftest.py) is copied so the
    server skips its schema migrations (tens of seconds on a busy 2-core machine)."""
    import requests

    root = tmp_path_factory.mktemp("mlflow")
    uri = request.getfixturevalue("trained_tracking_uri")
    if uri.startswith("sqlite:///") and Path(uri.removeprefix("sqlite:///")).is_file():
        shutil.copyfile(uri.removeprefix("sqlite:///"), root / "db.sqlite")
    port = free_port()
    log = (root / "server.log").open("w")
    mlflow_bin = str(REPO / ".venv" / "bin" / "mlflow") if (REPO / ".venv" / "bin" / "mlflow").exists() else "mlflow"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    proc = subprocess.Popen(
        [mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}", "--serve-artifacts", "--artifacts-destination", str(root / "art")],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-5000:]}")
            time.sleep(0.3)
        yield url, root
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        log.close()


@pytest.mark.slow
def test_resolve_champion_through_real_mlflow_server(mlflow_server, portal_bundle, second_bundle, tmp_path):
    """Register two versions with bundles under run artifacts `bundle/`, alias champion, resolve over REST."""
    import mlflow
    from mlflow import MlflowClient

    from ml.mlflow_setup import use_tracking

    url, _ = mlflow_server
    client = MlflowClient(url, registry_uri=url)
    name = "portal-test-model"  # not the trained run's registry entries, if the database came from there
    versions = []
    with use_tracking(url):  # leaves MLflow's global URIs as they were for later tests
        mlflow.set_experiment("portal-test")  # created by the server: artifacts go through its proxied store
        client.create_registered_model(name)
        for bundle in (portal_bundle, second_bundle):
            with mlflow.start_run() as run:
                mlflow.log_artifacts(str(bundle), artifact_path="bundle")
            versions.append(client.create_model_version(name, source=f"runs:/{run.info.run_id}/bundle", run_id=run.info.run_id))
    client.set_registered_model_alias(name, "champion", versions[0].version)

    cache = tmp_path / "cache"
    holder = serving.ModelHolder(model_uri=f"models:/{name}@champion", tracking_uri=url, cache_dir=cache, poll_seconds=1)
    assert holder.load(), holder.last_error
    assert holder.current.version == versions[0].version
    assert (holder.current.path / "model.onnx").read_bytes() == (portal_bundle / "model.onnx").read_bytes()
    # cached: a second resolution does not download again
    mtime = (holder.current.path / "model.onnx").stat().st_mtime_ns
    again = resolve_bundle(uri=f"models:/{name}@champion", tracking_uri=url, cache_dir=cache)
    assert again.path == holder.current.path and (again.path / "model.onnx").stat().st_mtime_ns == mtime
    # promote version 2: the poll picks it up without a restart
    client.set_registered_model_alias(name, "champion", versions[1].version)
    holder._last_poll -= 2
    assert holder.poll()
    assert holder.current.version == versions[1].version
    # an unknown alias fails cleanly and keeps the model
    bad = resolve_bundle
    with pytest.raises(ResolveError):
        bad(uri=f"models:/{name}@nope", tracking_uri=url, cache_dir=cache)


def test_a_worker_imports_its_views_before_its_first_request(portal_bundle, tmp_path):
    """gunicorn's post_worker_init loads the model and imports the URLconf and every view, so a fresh worker's
    first requests do not wait for Django's lazy import (tried: a process set up as a worker is, no request)."""
    from tests.webportal.conftest import manage, portal_env

    env = portal_env(tmp_path, MODEL_DIR=str(portal_bundle))
    manage(env, "migrate", "--noinput")
    script = (
        "import sys, logging, django; django.setup()\n"
        "before = 'webportal.api.views' in sys.modules\n"
        "from webportal import gunicorn_conf\n"
        "class Worker: alive = False; log = logging.getLogger('worker')\n"
        "gunicorn_conf.post_worker_init(Worker())\n"
        "from webportal.portal.serving import get_holder\n"
        "print(before, 'webportal.api.views' in sys.modules, get_holder().current is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "True", "True"], out.stdout + out.stderr
