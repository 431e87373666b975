"""MLflow Model Registry: register training runs, resolve aliases, fetch bundles, promote and roll back.

Aliases, not stages: `champion` is served, `challenger` is the candidate under evaluation.
Every champion move goes through `promote()`, which writes the promotion ledger (ml.ledger) around
the alias move, under a registry-wide lock so that concurrent promotions form one consistent chain.

mlflow is imported inside functions: importing this module is free.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from common.names import CHALLENGER, CHAMPION, MODEL_NAME
from common.names import tracking_uri as _tracking_uri
from ml import ledger

DEFAULT_MODEL_NAME = MODEL_NAME
ONNX_MODEL, PYTORCH_MODEL, BUNDLE_ARTIFACTS = "onnx_model", "pytorch_model", "bundle"
CONTRACT_METRICS = (
    "test_accuracy",
    "test_f1",
    "test_roc_auc",
    "holdout_shapes_accuracy",
    "holdout_years_accuracy",
    "out_of_range_years_accuracy",
    "onnx_parity_max_abs_diff",
)
COPIED_RUN_TAGS = ("git_commit", "data_digest", "model_type")
# Version tags written by this module.
TAG_RUN = "training_run_id"
TAG_ONNX_MODEL = "onnx_model_uri"
TAG_PYTORCH_MODEL = "pytorch_model_uri"
TAG_BUNDLE_CHECKSUM = "bundle_checksum"
TAG_VERDICT = "gate_verdict"
TAG_GATE_RUN = "gate_run_id"
TAG_LEDGER_RUN = "champion_ledger_run"  # the ledger entry that last made this version champion
LOCK_SUFFIX = ".promotion-lock"
LOCK_WAIT_S = 120.0
LOCK_STALE_S = 300.0


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


# ---------------------------------------------------------------- client and errors


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    return _tracking_uri(tracking_uri)


def get_client(tracking_uri: str | None = None):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextlib.contextmanager
def tracking(tracking_uri: str | None) -> Iterator[str]:
    """Point mlflow's fluent API (load_model, download_artifacts) at one server for the duration."""
    from ml.mlflow_setup import use_tracking

    with use_tracking(resolve_tracking_uri(tracking_uri)) as uri:
        yield uri


def is_connection_error(exc: BaseException) -> bool:
    """True when exc (or what caused it) is the server being unreachable rather than a refusal."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = type(exc).__name__
        text = str(exc)
        if isinstance(exc, ConnectionError | TimeoutError) or name in ("ConnectionError", "MaxRetryError", "NewConnectionError", "Timeout"):
            return True
        if "API request to" in text and ("failed with exception" in text or "Max retries exceeded" in text or "timeout" in text):
            return True
        if "Connection refused" in text or "Max retries exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def request_never_sent(exc: BaseException) -> bool:
    """True when the failed request provably never reached the server (the connection was refused)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError) or type(exc).__name__ == "NewConnectionError":
            return True
        text = str(exc)
        if "Connection refused" in text or "NewConnectionError" in text or "Failed to establish a new connection" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", ""))


@contextlib.contextmanager
def server_errors(what: str, tracking_uri: str | None = None) -> Iterator[None]:
    """Turn connection failures into ServerUnavailable with one readable line."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        if is_connection_error(exc):
            raise ServerUnavailable(f"{what}: the tracking server {resolve_tracking_uri(tracking_uri)} is unreachable") from exc
        raise


def current_actor(actor: str | None = None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return os.environ.get("USER") or "unknown"


# ---------------------------------------------------------------- versions


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...] = ()
    tags: dict = field(default_factory=dict)
    created_ms: int = 0
    source: str = ""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def pytorch_uri(self) -> str:
        return self.tags.get(TAG_PYTORCH_MODEL, "")


def _ref(mv) -> ModelRef:
    return ModelRef(
        name=mv.name,
        version=str(mv.version),
        run_id=mv.run_id or "",
        aliases=tuple(getattr(mv, "aliases", None) or ()),
        tags=dict(mv.tags or {}),
        created_ms=int(mv.creation_timestamp or 0),
        source=mv.source or "",
    )


def get_version(version: str | int, *, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None, client=None) -> ModelRef:
    from mlflow.exceptions import MlflowException

    client = client or get_client(tracking_uri)
    with server_errors(f"reading {model_name} v{version}", tracking_uri):
        try:
            return _ref(client.get_model_version(model_name, str(version)))
        except MlflowException as exc:
            if _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and not is_connection_error(exc):
                raise VersionNotFound(f"registered model {model_name!r} has no version {version}") from exc
            raise


def resolve_alias(
    alias: str = CHAMPION, *, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None, client=None
) -> ModelRef | None:
    """The version holding `alias`, or None when no version holds it (or the model is not registered yet)."""
    from mlflow.exceptions import MlflowException

    client = client or get_client(tracking_uri)
    with server_errors(f"resolving {model_name}@{alias}", tracking_uri):
        try:
            return _ref(client.get_model_version_by_alias(model_name, alias))
        except MlflowException as exc:
            if _error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and not is_connection_error(exc):
                return None
            raise


def list_versions(*, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None, client=None) -> list[ModelRef]:
    client = client or get_client(tracking_uri)
    escaped = model_name.replace("'", "\\'")
    with server_errors(f"listing {model_name}", tracking_uri):
        versions = list(client.search_model_versions(f"name = '{escaped}'", max_results=10_000))
        aliases: dict[str, list[str]] = {}
        with contextlib.suppress(Exception):
            for alias, version in (client.get_registered_model(model_name).aliases or {}).items():
                aliases.setdefault(str(version), []).append(alias)
    refs = []
    for mv in versions:
        ref = _ref(mv)
        merged = tuple(sorted(set(ref.aliases) | set(aliases.get(ref.version, []))))
        refs.append(ModelRef(**{**ref.__dict__, "aliases": merged}))
    return sorted(refs, key=lambda r: int(r.version))


def _logged_models(client, run) -> dict[str, object]:
    """name -> LoggedModel for the models logged by this run (latest step wins per name)."""
    found: dict[str, object] = {}
    token = None
    while True:
        page = client.search_logged_models(experiment_ids=[run.info.experiment_id], page_token=token)
        for model in page:
            if model.source_run_id == run.info.run_id and (
                model.name not in found or model.creation_timestamp >= found[model.name].creation_timestamp
            ):
                found[model.name] = model
        token = page.token
        if not token:
            break
    return found


def register_run(
    run_id: str,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    set_challenger: bool = True,
) -> ModelRef:
    """Register the run's ONNX model as a new version (PyTorch flavor recorded beside it); alias it `challenger`.

    Re-registering a run already registered under model_name returns the existing version.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from ml.bundle import BundleError, bundle_checksum

    client = get_client(tracking_uri)
    with server_errors(f"registering run {run_id}", tracking_uri), tracking(tracking_uri) as uri:
        try:
            run = client.get_run(run_id)
        except MlflowException as exc:
            if is_connection_error(exc):
                raise
            raise RegistryError(f"training run {run_id} not found on {uri}") from exc
        models = _logged_models(client, run)
        missing = [n for n in (ONNX_MODEL, PYTORCH_MODEL) if n not in models]
        if missing:
            raise RegistryError(f"run {run_id} has no logged model named {', '.join(missing)} (expected {ONNX_MODEL} and {PYTORCH_MODEL})")
        escaped = model_name.replace("'", "\\'")
        for mv in client.search_model_versions(f"name = '{escaped}' and run_id = '{run_id}'"):
            if (mv.tags or {}).get(TAG_ONNX_MODEL) == f"models:/{models[ONNX_MODEL].model_id}":
                ref = _ref(mv)
                if set_challenger and ref.tags.get(TAG_VERDICT, "pending") == "pending":
                    client.set_registered_model_alias(model_name, CHALLENGER, ref.version)
                return get_version(ref.version, model_name=model_name, client=client)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=BUNDLE_ARTIFACTS, dst_path=tmp, tracking_uri=uri)
                checksum = bundle_checksum(local)
            except (BundleError, MlflowException, OSError) as exc:
                if is_connection_error(exc):
                    raise
                raise RegistryError(f"run {run_id} has no complete inference bundle under '{BUNDLE_ARTIFACTS}/': {exc}") from exc
        tags = {k: run.data.tags[k] for k in COPIED_RUN_TAGS if k in run.data.tags}
        tags.update({f"metric.{k}": f"{run.data.metrics[k]:.6g}" for k in CONTRACT_METRICS if k in run.data.metrics})
        tags.update(
            {
                TAG_RUN: run_id,
                TAG_ONNX_MODEL: f"models:/{models[ONNX_MODEL].model_id}",
                TAG_PYTORCH_MODEL: f"models:/{models[PYTORCH_MODEL].model_id}",
                TAG_BUNDLE_CHECKSUM: checksum,
                TAG_VERDICT: "pending",
            }
        )
        try:
            client.create_registered_model(
                model_name,
                description="Component-compliance classifier. Versions are ONNX models (serving); the PyTorch flavor of the same "
                "training run is in the version tag pytorch_model_uri. Aliases: champion (served), challenger (candidate).",
            )
        except MlflowException as exc:
            if _error_code(exc) != "RESOURCE_ALREADY_EXISTS":
                raise
        mv = client.create_model_version(
            model_name, source=f"models:/{models[ONNX_MODEL].model_id}", run_id=run_id, tags=tags, model_id=models[ONNX_MODEL].model_id
        )
        if set_challenger:
            client.set_registered_model_alias(model_name, CHALLENGER, str(mv.version))
        return get_version(mv.version, model_name=model_name, client=client)


def set_version_tags(ref: ModelRef, tags: dict[str, str], *, tracking_uri: str | None = None, client=None) -> None:
    client = client or get_client(tracking_uri)
    with server_errors(f"tagging {ref.name} v{ref.version}", tracking_uri):
        for key, value in tags.items():
            client.set_model_version_tag(ref.name, ref.version, key, str(value))


# ---------------------------------------------------------------- bundles


def download_bundle(
    dst: str | Path,
    *,
    alias: str = CHAMPION,
    version: str | int | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    verify: bool = True,
) -> tuple[Path, ModelRef]:
    """Fetch the inference bundle of `version` (or of the version holding `alias`) into dst, atomically.

    The checksum recorded at registration is verified; the copy's model_card.json then gets the
    registry name and version filled in (so the portal shows the served version).
    """
    import json

    import mlflow

    from ml.bundle import bundle_checksum, check_bundle, copy_bundle

    client = get_client(tracking_uri)
    if version is not None:
        ref = get_version(version, model_name=model_name, client=client, tracking_uri=tracking_uri)
    else:
        ref = resolve_alias(alias, model_name=model_name, client=client, tracking_uri=tracking_uri)
        if ref is None:
            raise RegistryError(f"no version of {model_name!r} has the alias {alias!r}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with (
        server_errors(f"downloading the bundle of {model_name} v{ref.version}", tracking_uri),
        tempfile.TemporaryDirectory(dir=dst.parent) as tmp,
    ):
        local = Path(
            mlflow.artifacts.download_artifacts(
                run_id=ref.run_id, artifact_path=BUNDLE_ARTIFACTS, dst_path=tmp, tracking_uri=resolve_tracking_uri(tracking_uri)
            )
        )
        check_bundle(local)
        expected = ref.tags.get(TAG_BUNDLE_CHECKSUM)
        if verify and expected and bundle_checksum(local) != expected:
            raise RegistryError(f"bundle of {model_name} v{ref.version} does not match its registered checksum")
        card_path = local / "model_card.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card.update({"model_name": ref.name, "model_version": ref.version})
        card_path.write_text(json.dumps(card, indent=2), encoding="utf-8")
        copy_bundle(local, dst)
    return dst, ref


# ---------------------------------------------------------------- the promotion lock


_HELD_LOCKS: set[str] = set()  # tokens of the locks this process holds right now


def _lock_name(model_name: str) -> str:
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


@contextlib.contextmanager
def promotion_lock(client, model_name: str, *, wait_s: float = LOCK_WAIT_S, stale_s: float = LOCK_STALE_S) -> Iterator[str]:
    """Hold a registry-wide mutex for model_name: a registered model named `<model>.promotion-lock`.

    Creating a registered model is atomic (unique name), so exactly one promoter holds it.
    A lock left by a dead process on this host is taken over at once; any other after stale_s.
    """
    from mlflow.exceptions import MlflowException

    name = _lock_name(model_name)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            client.create_registered_model(
                name,
                tags={
                    "lock.token": token,
                    "lock.host": socket.gethostname(),
                    "lock.pid": str(os.getpid()),
                    "lock.acquired_at": f"{time.time():.3f}",
                },
                description=f"Transient lock held while a promotion of {model_name} is in progress; removed when it ends.",
            )
            break
        except MlflowException as exc:
            if _error_code(exc) != "RESOURCE_ALREADY_EXISTS" or is_connection_error(exc):
                raise
        try:
            held = client.get_registered_model(name)
        except MlflowException as exc:
            if _error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
                continue
            raise
        tags = dict(held.tags or {})
        if _lock_is_stale(tags, stale_s):
            with contextlib.suppress(MlflowException):
                if dict(client.get_registered_model(name).tags or {}).get("lock.token") == tags.get("lock.token"):
                    client.delete_registered_model(name)
            continue
        if time.monotonic() > deadline:
            raise RegistryError(
                f"another promotion of {model_name} is in progress "
                f"(lock held by pid {tags.get('lock.pid')} on {tags.get('lock.host')}); try again"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    _HELD_LOCKS.add(token)
    try:
        yield token
    finally:
        _HELD_LOCKS.discard(token)
        with contextlib.suppress(Exception):
            if dict(client.get_registered_model(name).tags or {}).get("lock.token") == token:
                client.delete_registered_model(name)


# ---------------------------------------------------------------- promotion


@dataclass(frozen=True)
class PromotionResult:
    model_name: str
    from_version: str | None
    to_version: str
    changed: bool
    entry: ledger.LedgerEntry | None
    message: str


def _move_champion_alias(client, model_name: str, version: str) -> None:
    """The single write that changes what is served. Kept separate so tests can fail the server exactly here."""
    client.set_registered_model_alias(model_name, CHAMPION, version)


def _reconcile(client, model_name: str, entries: list[ledger.LedgerEntry]) -> list[ledger.LedgerEntry]:
    """Settle entries left `prepared` by an interrupted promotion: committed if their alias move happened, else aborted."""
    pending = [e for e in entries if e.state == ledger.PREPARED]
    if not pending:
        return entries
    champion = resolve_alias(CHAMPION, model_name=model_name, client=client)
    placed_by = champion.tags.get(TAG_LEDGER_RUN) if champion else None
    for entry in pending:
        if champion is not None and placed_by == entry.run_id and champion.version == entry.to_version:
            ledger.commit_entry(client, entry, note="reconciled: the alias had moved before the promotion was interrupted")
        else:
            ledger.abort_entry(client, entry, why="interrupted before the champion alias moved (settled by a later promotion)")
    return ledger.read_ledger(client, model_name)


def promote(
    version: str | int,
    *,
    reason: str,
    actor: str | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    kind: str = "manual",
    verdict: str = "",
    gate_run_id: str = "",
    evidence_dir: Path | None = None,
    rollback_of: str = "",
    expected_from: str | None = "any",
) -> PromotionResult:
    """Make `version` the champion, recorded in the ledger. Never half-promoted.

    Order: lock, settle interrupted entries, write a `prepared` ledger entry (with evidence),
    tag the version with that entry, move the alias (the last write that matters), commit the entry.
    If the server fails before the alias moves, the champion stays where it was and PromotionFailed
    says so; running the same command again is safe. `expected_from` (a version or None) makes the
    promotion refuse when the champion changed since the caller decided (a gate's comparison).
    """
    if not reason or not reason.strip():
        raise RegistryError("a promotion needs a reason")
    client = get_client(tracking_uri)
    uri = resolve_tracking_uri(tracking_uri)
    target = get_version(version, model_name=model_name, client=client, tracking_uri=uri)
    who = current_actor(actor)
    entry = None
    stage = "prepare"
    try:
        with server_errors(f"promoting {model_name} v{target.version}", uri), promotion_lock(client, model_name):
            entries = _reconcile(client, model_name, ledger.read_ledger(client, model_name))
            champion = resolve_alias(CHAMPION, model_name=model_name, client=client)
            current = champion.version if champion else None
            if expected_from != "any" and current != expected_from:
                raise RegistryError(
                    f"the champion of {model_name} changed to {('v' + current) if current else 'none'} while v{target.version} "
                    f"was being evaluated against {('v' + expected_from) if expected_from else 'none'}; run the gate again"
                )
            if current == target.version:
                last = next((e for e in reversed(entries) if e.state == ledger.COMMITTED and e.to_version == current), None)
                return PromotionResult(
                    model_name, current, current, False, last, f"v{current} is already the champion of {model_name}; nothing to do"
                )
            entry = ledger.prepare_entry(
                client,
                model_name=model_name,
                seq=max((e.seq for e in entries), default=0) + 1,
                kind=kind,
                from_version=current,
                to_version=target.version,
                actor=who,
                reason=reason,
                verdict=verdict,
                gate_run_id=gate_run_id,
                rollback_of=rollback_of,
                evidence_dir=evidence_dir,
                tracking_uri=uri,
            )
            client.set_model_version_tag(model_name, target.version, TAG_LEDGER_RUN, entry.run_id)
            stage = "alias"
            _move_champion_alias(client, model_name, target.version)
            stage = "commit"
            ledger.commit_entry(client, entry)
            challenger = resolve_alias(CHALLENGER, model_name=model_name, client=client)
            if challenger is not None and challenger.version == target.version:
                client.delete_registered_model_alias(model_name, CHALLENGER)
    except ServerUnavailable as exc:
        if entry is None:
            raise PromotionFailed(
                f"promotion of {model_name} v{target.version} not started: the tracking server {uri} is unreachable; "
                "the champion alias did not move",
                alias_moved=False,
            ) from exc
        if stage == "alias" and not request_never_sent(exc):
            raise PromotionFailed(
                f"promotion of {model_name} v{target.version} interrupted: the tracking server {uri} failed while the champion alias was "
                f"being moved, so it may or may not have moved (check `status`); ledger entry {entry.run_id} is settled by the next "
                "promotion; re-run the command",
                alias_moved=None,
                entry_run_id=entry.run_id,
            ) from exc
        if stage in ("prepare", "alias"):
            raise PromotionFailed(
                f"promotion of {model_name} v{target.version} interrupted: the tracking server {uri} failed before the champion "
                f"alias moved, so the champion is unchanged; ledger entry {entry.run_id} stays 'prepared' and is settled by the "
                "next promotion; re-run the command",
                alias_moved=False,
                entry_run_id=entry.run_id,
            ) from exc
        raise PromotionFailed(
            f"{model_name} v{target.version} is now champion, but the tracking server {uri} failed before ledger entry {entry.run_id} was "
            "marked committed; the next promotion settles it (re-running this command is safe)",
            alias_moved=True,
            entry_run_id=entry.run_id,
        ) from exc
    frm = f"v{entry.from_version}" if entry.from_version else "no champion"
    return PromotionResult(
        model_name,
        entry.from_version,
        target.version,
        True,
        entry,
        f"{model_name}: champion {frm} -> v{target.version} (ledger run {entry.run_id})",
    )


def rollback(
    *,
    reason: str = "rollback",
    actor: str | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
) -> PromotionResult:
    """Champion back to the previous champion in the ledger (promotions push, rollbacks pop)."""
    client = get_client(tracking_uri)
    with server_errors(f"rolling back {model_name}", tracking_uri):
        entries = ledger.read_ledger(client, model_name)
        stack = ledger.champion_stack(entries)
        champion = resolve_alias(CHAMPION, model_name=model_name, client=client)
    current = champion.version if champion else None
    if stack and current != stack[-1]:
        target = stack[-1]  # the alias was moved outside the ledger: back to the last champion the ledger knows
    elif len(stack) >= 2:
        target = stack[-2]
    else:
        raise RegistryError(f"{model_name} has no earlier champion in the promotion ledger to roll back to")
    undone = next((e.run_id for e in reversed(entries) if e.state == ledger.COMMITTED and e.to_version == current), "")
    return promote(
        target,
        reason=reason,
        actor=actor,
        model_name=model_name,
        tracking_uri=tracking_uri,
        kind="rollback",
        rollback_of=undone,
        expected_from=current,
    )


def history(*, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None) -> list[ledger.LedgerEntry]:
    client = get_client(tracking_uri)
    with server_errors(f"reading the promotion ledger of {model_name}", tracking_uri):
        return ledger.read_ledger(client, model_name)


def champion_at(when, *, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None) -> ledger.LedgerEntry | None:
    """Which ledger entry made the champion at time `when` (a datetime; naive means UTC)."""
    return ledger.champion_at(history(model_name=model_name, tracking_uri=tracking_uri), when)


STATUS_METRICS = ("test_accuracy", "holdout_shapes_accuracy", "holdout_years_accuracy", "out_of_range_years_accuracy")


def status_rows(*, model_name: str = DEFAULT_MODEL_NAME, tracking_uri: str | None = None) -> list[dict]:
    rows = []
    for ref in list_versions(model_name=model_name, tracking_uri=tracking_uri):
        row = {"version": ref.version, "aliases": ",".join(ref.aliases) or "-"}
        for name in STATUS_METRICS:
            row[name.replace("_accuracy", "")] = ref.tags.get(f"metric.{name}", "-")
        row["gate"] = ref.tags.get(TAG_VERDICT, "-")
        row["git"] = ref.tags.get("git_commit", "-")[:8]
        row["run"] = ref.run_id[:12]
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    cols = list(rows[0])
    widths = {c: max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    line = "  ".join(str(c).ljust(widths[c]) for c in cols)
    sep = "  ".join("-" * widths[c] for c in cols)
    body = ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join([line, sep, *body])
