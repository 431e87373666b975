"""What can go wrong in the registry, and telling an unreachable server apart from a refusal.

Exception types are matched first (the OS's, requests' and urllib3's, found through `__cause__` and
`__context__`). The message is read too, because MLflow flattens some failures into text: its REST client
rewraps transport errors as `MlflowException("API request to ... failed with exception ...")`, and an
artifact download reports each file's failure from its thread pool as text, with no exception chain.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from common import names

MISSING_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryError(RuntimeError):
    """A registry operation that cannot be done; the message is one line, fit for a CLI."""


class VersionNotFound(RegistryError):
    pass


class ServerUnavailable(RegistryError):
    pass


class PromotionFailed(RegistryError):
    """A promotion stopped part-way. `alias_moved` says whether the champion alias changed (None: unknown)."""

    def __init__(self, message: str, *, alias_moved: bool | None, entry_run_id: str | None = None):
        super().__init__(message)
        self.alias_moved = alias_moved
        self.entry_run_id = entry_run_id


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """exc, then what caused it, and so on (each once)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _unreachable_types() -> tuple[type[BaseException], ...]:
    import requests
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    return (
        ConnectionError,
        TimeoutError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        MaxRetryError,
        NewConnectionError,
    )


def _says_unreachable(text: str) -> bool:
    if "API request to" in text and ("failed with exception" in text or "Max retries exceeded" in text or "timeout" in text):
        return True
    return "Connection refused" in text or "Max retries exceeded" in text


def _says_never_sent(text: str) -> bool:
    return "Connection refused" in text or "NewConnectionError" in text or "Failed to establish a new connection" in text


def is_connection_error(exc: BaseException) -> bool:
    """True when exc (or what caused it) is the server being unreachable rather than a refusal."""
    types = _unreachable_types()
    return any(isinstance(link, types) or _says_unreachable(str(link)) for link in _chain(exc))


def request_never_sent(exc: BaseException) -> bool:
    """True when the failed request provably never reached the server (the connection was refused)."""
    from urllib3.exceptions import NewConnectionError

    return any(isinstance(link, ConnectionRefusedError | NewConnectionError) or _says_never_sent(str(link)) for link in _chain(exc))


def error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", ""))


def is_missing(exc: BaseException) -> bool:
    """The server answered that the thing asked for does not exist (not: the server could not be reached)."""
    return error_code(exc) in MISSING_CODES and not is_connection_error(exc)


@contextlib.contextmanager
def server_errors(what: str, tracking_uri: str | None = None) -> Iterator[None]:
    """Turn connection failures into ServerUnavailable with one readable line."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        if is_connection_error(exc):
            raise ServerUnavailable(f"{what}: the tracking server {names.tracking_uri(tracking_uri)} is unreachable") from exc
        raise
