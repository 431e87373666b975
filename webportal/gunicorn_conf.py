"""gunicorn hooks for the portal: `gunicorn --config python:webportal.gunicorn_conf webportal.wsgi ...`.

Every launcher passes it (make run's portals, compose, the image, Kubernetes, the tests and benches).

* Slow clients cannot pin the workers: each worker is gthread with a request head read by its event loop
  (webportal.gunicorn_worker); `--threads` / `--worker-class` on the command line still override these
  (`--worker-class sync` needs `--threads 1` too: with more threads gunicorn runs its stock gthread worker).
* The model is loaded in each worker after the fork (post_worker_init), never in the master, even with
  --preload: importing onnxruntime starts a C++ thread, and a forked worker that inherits its std::thread
  object joins a thread that does not exist in it at exit (glibc gives the worker's own threads the dead
  thread's slot), which aborts the worker with "terminate called after throwing std::system_error" on
  every graceful stop.
* Each worker imports its URLconf and views before it takes connections (Django does it on the first request,
  which then waited ~0.4 s, with the requests behind it: the p99 of a fresh worker's first seconds).
* At start each worker replays the prediction-log spools that dead (SIGKILLed) workers left.
* Once told to stop (SIGTERM, max_requests) each worker writes its pending prediction rows at once, before
  it waits for its open connections: the master SIGKILLs the workers graceful_timeout after it asked them to
  stop, the same deadline a worker's wait ends at, so a connection held open that long (an idle keep-alive
  on stock gthread, a request body that never ends) left no time for the exit write and the rows were lost
  (without the spool) or waited in the spool for the next start.
* At exit each worker stops and joins its prediction-log writer thread and writes what is pending
  (worker_exit), before the interpreter shuts down.
"""

from __future__ import annotations

import threading
import time

STOP_POLL_S = 0.1

worker_class = "webportal.gunicorn_worker.HeadBufferingWorker"
threads = 4


def post_worker_init(worker) -> None:
    from django.urls import get_resolver

    from webportal.portal.prediction_log import replay_dead_spools
    from webportal.portal.services import portal_startup

    portal_startup()
    get_resolver().url_patterns  # import every view now: else a worker's first requests wait ~0.4 s for it  # noqa: B018
    threading.Thread(target=_write_log_once_stopping, args=(worker,), name="prediction-log-stop", daemon=True).start()
    try:
        replay_dead_spools()
    except Exception as exc:  # serving must start; the files stay for the next start
        worker.log.error("could not replay the prediction spools of dead workers: %s", exc)


def worker_exit(server, worker) -> None:
    from webportal.portal import prediction_log

    prediction_log.shutdown()


def _write_log_once_stopping(worker) -> None:
    """Write the pending prediction rows as soon as the worker stops serving (a thread: the signal handler
    that marks it must not take the log's locks; polled, as gunicorn has no hook for it)."""
    from webportal.portal import prediction_log

    while worker.alive:
        time.sleep(STOP_POLL_S)
    prediction_log.write_pending()
