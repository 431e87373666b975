"""The promotion lock: a registry-wide mutex per model, held in MLflow itself.

The lock is a registered model named `<model>.promotion-lock`. Creating a registered model is atomic
(names are unique), so exactly one promoter holds it. A lock left by a dead process on this host is
taken over at once; any other after `stale_s`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator

from ml.registry.errors import RegistryError, error_code, is_connection_error

LOCK_SUFFIX = ".promotion-lock"
LOCK_WAIT_S = 120.0
LOCK_STALE_S = 300.0

_HELD_LOCKS: set[str] = set()  # tokens of the locks this process holds right now


def lock_name(model_name: str) -> str:
    return f"{model_name}{LOCK_SUFFIX}"


def _lock_is_stale(tags: dict, stale_s: float) -> bool:
    try:
        acquired = float(tags.get("lock.acquired_at", "nan"))
    except ValueError:
        return False
    if acquired != acquired:  # tags not visible yet: a fresh lock
        return False
    if tags.get("lock.host") == socket.gethostname():
        if tags.get("lock.pid") == str(os.getpid()) and tags.get("lock.token") not in _HELD_LOCKS:
            return True  # left behind by an earlier, interrupted promotion in this very process
        try:
            os.kill(int(tags.get("lock.pid", "0")), 0)
        except ProcessLookupError:
            return True  # its holder died on this machine
        except (PermissionError, ValueError):
            pass
    return time.time() - acquired > stale_s


def _try_acquire(client, model_name: str, token: str) -> bool:
    """Create the lock; False when someone else holds it."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            lock_name(model_name),
            tags={
                "lock.token": token,
                "lock.host": socket.gethostname(),
                "lock.pid": str(os.getpid()),
                "lock.acquired_at": f"{time.time():.3f}",
            },
            description=f"Transient lock held while a promotion of {model_name} is in progress; removed when it ends.",
        )
        return True
    except MlflowException as exc:
        # The store answers a taken name by reading the holder back; when the holder released the lock in
        # between, that read says RESOURCE_DOES_NOT_EXIST: contention all the same, so try again.
        if error_code(exc) not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST") or is_connection_error(exc):
            raise
        return False


def _delete_if_held_by(client, name: str, token: str | None) -> None:
    if dict(client.get_registered_model(name).tags or {}).get("lock.token") == token:
        client.delete_registered_model(name)


@contextlib.contextmanager
def promotion_lock(client, model_name: str, *, wait_s: float = LOCK_WAIT_S, stale_s: float = LOCK_STALE_S) -> Iterator[str]:
    """Hold the promotion lock of model_name for the block (waiting up to wait_s for it); yields the lock's token."""
    from mlflow.exceptions import MlflowException

    name = lock_name(model_name)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    delay = 0.05
    # Registered before the lock exists: another thread of this process that sees our lock between its creation
    # and the yield must find the token here, or it would take the lock for an interrupted one and delete it.
    _HELD_LOCKS.add(token)
    try:
        while not _try_acquire(client, model_name, token):
            try:
                held = client.get_registered_model(name)
            except MlflowException as exc:
                if error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
                    continue
                raise
            tags = dict(held.tags or {})
            if _lock_is_stale(tags, stale_s):
                with contextlib.suppress(MlflowException):
                    _delete_if_held_by(client, name, tags.get("lock.token"))
                continue
            if time.monotonic() > deadline:
                raise RegistryError(
                    f"another promotion of {model_name} is in progress "
                    f"(lock held by pid {tags.get('lock.pid')} on {tags.get('lock.host')}); try again"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
    except BaseException:
        _HELD_LOCKS.discard(token)
        raise
    try:
        yield token
    finally:
        _HELD_LOCKS.discard(token)
        with contextlib.suppress(Exception):
            _delete_if_held_by(client, name, token)
