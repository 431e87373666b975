"""Faults of the gunicorn processes themselves (issue 11, items 13 and 14): a graceful stop with --preload and
the prediction-log writer thread exits cleanly; a stopping worker writes its rows before it waits for open
connections; a SIGKILLed worker loses no answered prediction (the default worker and the sync worker)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import threading
import time

import pytest
import requests

from common.processes import child_pids
from tests.webportal.conftest import manage, portal_env

pytestmark = pytest.mark.slow


def _portal(tmp_path, portal_bundle, **extra):
    env = portal_env(tmp_path, MODEL_DIR=str(portal_bundle), PORTAL_DEMO_PASSWORD="Demo-pass-2024", **extra)
    manage(env, "setup_roles", "--demo-users")
    key = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech").stdout).group(1)
    return env, {"Authorization": f"Token {key}"}


def _api_rows(db_path) -> dict[int, str]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT id, text FROM portal_prediction WHERE source = 'api'").fetchall())


def _classify(http: requests.Session, server, headers: dict, texts: list[str]) -> dict[int, str]:
    """Each text through the classify API; the answered prediction ids with their texts."""
    answered = {}
    for text in texts:
        response = http.post(f"{server.url}/api/v1/classify", json={"text": text}, headers=headers, timeout=10)
        assert response.status_code == 200, server.logs()
        answered[response.json()["prediction_id"]] = text
    return answered


def test_graceful_stop_with_preload_and_the_writer_thread_exits_cleanly(tmp_path, fresh_db, portal_bundle, start_server):
    """Input tried: gunicorn --preload with two workers whose writer threads run (write-behind log), then
    SIGTERM to the master alone, as a deploy does. No worker aborts ("terminate called", SIGABRT), every exit
    code is 0, every answered row is written, and the master never loaded the model (each worker did)."""
    env, headers = _portal(tmp_path, portal_bundle, PREDICTION_LOG_FLUSH_MS="600000")
    server = start_server(env, workers=2, args=("--preload", "--graceful-timeout", "10"))
    with requests.Session() as http:
        answered = _classify(http, server, headers, [f"Steel gear manufactured in {1950 + i} in good condition" for i in range(30)])
    workers = child_pids(server.proc.pid)
    assert len(workers) == 2
    os.kill(server.proc.pid, signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    log = server.logs()
    for bad in ("terminate called", "SIGABRT", "exited with code", "was sent"):
        assert bad not in log, f"{bad!r} in the gunicorn log:\n{log}"
    loaders = {int(pid) for pid in re.findall(r"webportal\.serving (\d+): serving model", log)}
    assert loaders == set(workers), f"model loaded by {loaders}, workers {workers}, master {server.proc.pid}"
    assert _api_rows(fresh_db) == answered


def _hold_open(server, how: str, headers: dict) -> socket.socket | None:
    """A connection the worker must wait for at a graceful stop: a request body that never ends, or (stock
    gthread) an idle keep-alive connection (the session's, left open)."""
    if how == "keep-alive":
        return None
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    auth = headers["Authorization"]
    head = f"POST /api/v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n"
    sock.sendall(f"{head}Content-Length: 100\r\n\r\n".encode() + b'{"text": "Brass')
    time.sleep(0.5)  # a worker thread now blocks reading the rest of the body
    return sock


@pytest.mark.parametrize(
    ("worker", "how"), [((), "body"), (("--worker-class", "gthread"), "keep-alive")], ids=["default-body", "gthread-keepalive"]
)
def test_a_stopping_worker_writes_its_rows_before_waiting_for_open_connections(
    tmp_path, fresh_db, portal_bundle, start_server, worker, how
):
    """Input tried: one worker, no spool, a 10-minute flush interval; 20 answered rows; then a connection the
    worker must wait for (a half-sent body; on stock gthread an idle keep-alive) and SIGTERM to the master.
    The rows are in the database within 5 s while the worker still waits (the master SIGKILLs it when the
    graceful timeout ends, the same deadline its wait ends at: no time is left to write at exit then); once
    the connection goes, the stop completes with exit code 0."""
    env, headers = _portal(tmp_path, portal_bundle, PREDICTION_LOG_FLUSH_MS="600000", PREDICTION_LOG_SPOOL="0")
    server = start_server(env, workers=1, args=("--graceful-timeout", "20", *worker))
    with requests.Session() as http:
        answered = _classify(http, server, headers, [f"Bronze bushing made in {1960 + i}, worn" for i in range(20)])
        held = _hold_open(server, how, headers)
        os.kill(server.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _api_rows(fresh_db) != answered and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.proc.poll() is None, "the stop did not wait for the held connection: the test shows nothing"
        assert _api_rows(fresh_db) == answered, f"{len(answered) - len(_api_rows(fresh_db))} of {len(answered)} rows not written"
        if held is not None:
            held.close()
    assert server.proc.wait(timeout=30) == 0, server.logs()
    assert _api_rows(fresh_db) == answered


def _load(url: str, headers: dict, stop: threading.Event, answered: dict, lock: threading.Lock, tag: str) -> None:
    with requests.Session() as http:
        i = 0
        while not stop.is_set():
            i += 1
            text = f"Copper pipe {tag}-{i} manufactured in 1987 in fair condition"
            try:
                response = http.post(f"{url}/api/v1/classify", json={"text": text}, headers=headers, timeout=10)
            except requests.RequestException:
                continue  # the killed worker's connection: not answered, so not counted
            if response.status_code == 200:
                with lock:
                    answered[response.json()["prediction_id"]] = text


@pytest.mark.parametrize("worker", [(), ("--worker-class", "sync", "--threads", "1")], ids=["default", "sync"])
def test_a_sigkilled_worker_loses_no_answered_prediction(tmp_path, fresh_db, portal_bundle, start_server, worker):
    """Input tried (the default worker, and the sync worker: `--threads 1`, or gunicorn runs stock gthread):
    four clients classify as fast as they can against two workers with a 10-minute flush
    interval (so nothing reaches the database before the kill but through the spool); one worker is SIGKILLed
    mid-load, gunicorn starts a replacement, the load goes on, then a graceful stop. Every prediction_id that
    was answered is in the database with its text."""
    env, headers = _portal(tmp_path, portal_bundle, PREDICTION_LOG_FLUSH_MS="600000")
    server = start_server(env, workers=2, args=worker)
    assert ("Using worker: sync" in server.logs()) == ("sync" in worker), server.logs()
    answered: dict[int, str] = {}
    lock, stop = threading.Lock(), threading.Event()
    clients = [threading.Thread(target=_load, args=(server.url, headers, stop, answered, lock, str(n))) for n in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(3)
        victim = child_pids(server.proc.pid)[0]
        with lock:
            before = len(answered)
        os.kill(victim, signal.SIGKILL)
        time.sleep(4)  # gunicorn replaces the worker; its start replays the dead worker's spool
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert before > 50, f"only {before} answers before the kill: the load did not run"
    assert victim not in child_pids(server.proc.pid)
    server.stop()
    stored = _api_rows(fresh_db)
    missing = sorted(set(answered) - set(stored))
    assert not missing, f"{len(missing)} of {len(answered)} answered predictions are not in the database: {missing[:10]}"
    assert all(stored[pk] == text for pk, text in answered.items())
