"""The model this process serves: loaded once, swapped atomically on reload, kept when a new one fails.

One `ModelHolder` per process (each gunicorn worker loads the bundle). Sources, in order:
`MODEL_DIR` (a bundle folder written by the deploy stage) or `MODEL_URI` resolved through the tracking
server (`webportal.portal.mlflow_rest`). Workers also poll the source every MODEL_POLL_SECONDS and pick
up a new bundle without a restart.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml.bundle import CARD_FILE, MODEL_FILE, REFERENCE_FILE, BundleError
from ml.predictor import Predictor, cut_padding
from webportal.portal.mlflow_rest import ResolveError, resolve_bundle

log = logging.getLogger("webportal.serving")


@dataclass(frozen=True)
class ServedModel:
    predictor: Predictor
    name: str
    version: str
    path: Path
    source: str
    fingerprint: str
    loaded_at: datetime

    @property
    def trim_padding(self) -> bool:
        """The model is served on ids cut after each batch's longest text (marked in its card, or checked at load)."""
        return self.predictor.variable_length

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 1024) -> np.ndarray:
        return self.predictor.predict_proba(texts, batch_size=batch_size)

    def explain(self, texts: Sequence[str]) -> list[list[dict]]:
        """Each text's decisive words (ml.evidence), as JSON-ready dicts, strongest first."""
        return [[e.to_dict() for e in words] for words in self.predictor.explain(texts)]

    def predict_explained(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[dict]]]:
        """predict_proba and explain from the same model calls (Predictor.predict_explained)."""
        probs, why = self.predictor.predict_explained(texts)
        return probs, [[e.to_dict() for e in words] for words in why]


def _trimming_is_exact(predictor: Predictor, path: Path) -> bool:
    """For bundles not marked variable-length: True when cutting each text's trailing padding leaves every
    probability unchanged on a check batch."""
    texts = ["", "steel", "Steel gear manufactured in 2001 in good condition", "x " * 400]
    try:
        with (path / REFERENCE_FILE).open(encoding="utf-8", newline="") as fh:
            texts += [row.get("text", "") for _, row in zip(range(64), csv.DictReader(fh), strict=False)]
        ids = predictor.encode(texts)
        full = predictor.predict_ids(ids)
        cut = [predictor.predict_ids(np.ascontiguousarray(cut_padding(row[None])))[0] for row in ids]
        return bool(np.allclose(full, cut, atol=1e-5))
    except Exception:  # a fixed-length model (e.g. Flatten) rejects other lengths: keep full padding
        return False


@dataclass
class HolderStatus:
    loaded: bool
    name: str | None
    version: str | None
    loaded_at: datetime | None
    source: str
    last_error: str | None
    last_error_at: datetime | None
    stale: bool  # serving an older model because the newest one failed to load
    loads: int = 0
    failures: int = 0
    extra: dict = field(default_factory=dict)


def _fingerprint(path: Path) -> str:
    """Cheap identity of a bundle folder: the model card's bytes plus the model file's size and mtime."""
    digest = hashlib.sha256()
    try:
        digest.update((path / CARD_FILE).read_bytes())
        stat = (path / MODEL_FILE).stat()
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}:{path.resolve()}".encode())
    except OSError:
        return "missing"
    return digest.hexdigest()


class ModelHolder:
    def __init__(
        self,
        *,
        model_dir: str = "",
        model_uri: str = "",
        tracking_uri: str = "",
        cache_dir: Path | None = None,
        poll_seconds: int = 0,
        threads: int = 1,
        mlflow_auth: tuple[str, str] | None = None,
        mlflow_token: str = "",
    ):
        self.model_dir = model_dir
        self.model_uri = model_uri
        self.tracking_uri = tracking_uri
        self.cache_dir = cache_dir or Path("var/model-cache")
        self.poll_seconds = poll_seconds
        self.threads = threads
        self.mlflow_auth = mlflow_auth
        self.mlflow_token = mlflow_token
        self.current: ServedModel | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.loads = 0
        self.failures = 0
        self._failed_fingerprint: str | None = None
        self._last_poll = time.monotonic()
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.model_dir or self.model_uri)

    @property
    def source(self) -> str:
        return self.model_dir or self.model_uri or "(none configured)"

    def _locate(self) -> tuple[Path, str | None, str | None]:
        """Return (bundle folder, registry name, registry version) for the configured source."""
        if self.model_dir:
            return Path(self.model_dir), None, None
        if self.model_uri:
            if not self.tracking_uri:
                raise ResolveError("MODEL_URI is set but there is no tracking server: set MLFLOW_TRACKING_URI or start the local one")
            resolved = resolve_bundle(
                uri=self.model_uri, tracking_uri=self.tracking_uri, cache_dir=self.cache_dir, auth=self.mlflow_auth, token=self.mlflow_token
            )
            return resolved.path, resolved.name, resolved.version
        raise BundleError("no model configured: set MODEL_DIR or MODEL_URI")

    def load(self, *, force: bool = True) -> bool:
        """Load the configured bundle. True when a new model was swapped in (then the on_model_loaded listeners
        run, whichever path loaded it: start-up, poll, /healthz, a reload); on failure the old one stays."""
        with self._lock:
            self._last_poll = time.monotonic()
            try:
                path, reg_name, reg_version = self._locate()
                fingerprint = _fingerprint(path)
                if not force and self.current is not None and fingerprint == self.current.fingerprint:
                    return False
                if not force and fingerprint == self._failed_fingerprint:
                    return False
                started = time.perf_counter()
                predictor = Predictor.from_bundle(path, threads=self.threads)
                predictor.predict_proba(["warm-up description made of steel in 2001"])
                if not predictor.variable_length:
                    predictor.variable_length = _trimming_is_exact(predictor, path)
            except Exception as exc:  # a bad bundle must never take the serving model down
                self.failures += 1
                self.last_error = str(exc)
                self.last_error_at = datetime.now(UTC)
                self._failed_fingerprint = _fingerprint(Path(self.model_dir)) if self.model_dir else None
                log.error("model load failed (%s); %s", exc, "keeping the last good model" if self.current else "no model served")
                return False
            self.current = ServedModel(
                predictor=predictor,
                name=reg_name or predictor.model_name,
                version=reg_version or predictor.version,
                path=path,
                source=self.source,
                fingerprint=fingerprint,
                loaded_at=datetime.now(UTC),
            )
            self.loads += 1
            self.last_error = None
            self.last_error_at = None
            self._failed_fingerprint = None
            log.info(
                "serving model %s version %s from %s (loaded in %.0f ms)",
                self.current.name,
                self.current.version,
                path,
                (time.perf_counter() - started) * 1000,
            )
        _loaded(self)
        return True

    def poll(self) -> bool:
        """Reload when the source changed (at most every poll_seconds). True when a new model was swapped in."""
        if not self.configured or self.poll_seconds <= 0:
            return False
        if time.monotonic() - self._last_poll < self.poll_seconds:
            return False
        return self.load(force=False)

    def status(self) -> HolderStatus:
        current = self.current
        return HolderStatus(
            loaded=current is not None,
            name=current.name if current else None,
            version=current.version if current else None,
            loaded_at=current.loaded_at if current else None,
            source=self.source,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            stale=current is not None and self.last_error is not None,
            loads=self.loads,
            failures=self.failures,
        )


_listeners: list[Callable[[ModelHolder], None]] = []


def on_model_loaded(listener: Callable[[ModelHolder], None]) -> None:
    """Run listener(holder) after every successful load by any holder (services labels pending entries)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _loaded(holder: ModelHolder) -> None:
    for listener in list(_listeners):
        try:
            listener(holder)
        except Exception as exc:  # the database may be down or not migrated yet: serving goes on
            log.warning("after loading model version %s: %s failed: %s", holder.current.version, listener.__name__, exc)


_holder: ModelHolder | None = None
_holder_lock = threading.Lock()


def get_holder() -> ModelHolder:
    """The process-wide holder, built from settings on first use."""
    global _holder
    if _holder is None:
        with _holder_lock:
            if _holder is None:
                from django.conf import settings

                _holder = ModelHolder(
                    model_dir=settings.MODEL_DIR,
                    model_uri=settings.MODEL_URI,
                    tracking_uri=settings.MLFLOW_TRACKING_URI,
                    cache_dir=Path(settings.MODEL_CACHE_DIR),
                    poll_seconds=settings.MODEL_POLL_SECONDS,
                    threads=settings.MODEL_THREADS,
                    mlflow_auth=settings.MLFLOW_AUTH,
                    mlflow_token=settings.MLFLOW_TOKEN,
                )
    return _holder


def set_holder(holder: ModelHolder | None) -> None:
    """Replace the process-wide holder (tests; or None to rebuild from settings on next use)."""
    global _holder
    with _holder_lock:
        _holder = holder
