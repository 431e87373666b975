"""Registered model versions: register a training run, read a version or an alias, list, tag, fetch the bundle.

Aliases, not stages: `champion` is served, `challenger` is the candidate under evaluation. A version is the
run's ONNX model; the run's PyTorch flavor and inference bundle are recorded in the version's tags.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from common import names
from common.names import CHALLENGER, CHAMPION, MODEL_NAME
from ml.registry import descriptions
from ml.registry.client import fluent_api_at, get_client
from ml.registry.errors import RegistryError, VersionNotFound, error_code, is_connection_error, is_missing, server_errors

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
# Version tags written by the registry.
TAG_RUN = "training_run_id"
TAG_ONNX_MODEL = "onnx_model_uri"
TAG_PYTORCH_MODEL = "pytorch_model_uri"
TAG_BUNDLE_CHECKSUM = "bundle_checksum"
TAG_VERDICT = "gate_verdict"
TAG_GATE_RUN = "gate_run_id"
TAG_LEDGER_RUN = "champion_ledger_run"  # the ledger entry that last made this version champion
MODEL_DESCRIPTION = (
    "Component-compliance classifier. Versions are ONNX models (serving); the PyTorch flavor of the same "
    "training run is in the version tag pytorch_model_uri. Aliases: champion (served), challenger (candidate)."
)


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


def _quoted(value: str) -> str:
    return value.replace("'", "\\'")


def get_version(version: str | int, *, model_name: str = MODEL_NAME, tracking_uri: str | None = None, client=None) -> ModelRef:
    from mlflow.exceptions import MlflowException

    client = client or get_client(tracking_uri)
    with server_errors(f"reading {model_name} v{version}", tracking_uri):
        try:
            return _ref(client.get_model_version(model_name, str(version)))
        except MlflowException as exc:
            if is_missing(exc):
                raise VersionNotFound(f"registered model {model_name!r} has no version {version}") from exc
            raise


def resolve_alias(alias: str = CHAMPION, *, model_name: str = MODEL_NAME, tracking_uri: str | None = None, client=None) -> ModelRef | None:
    """The version holding `alias`, or None when no version holds it (or the model is not registered yet)."""
    from mlflow.exceptions import MlflowException

    client = client or get_client(tracking_uri)
    with server_errors(f"resolving {model_name}@{alias}", tracking_uri):
        try:
            return _ref(client.get_model_version_by_alias(model_name, alias))
        except MlflowException as exc:
            if is_missing(exc):
                return None
            raise


def list_versions(*, model_name: str = MODEL_NAME, tracking_uri: str | None = None, client=None) -> list[ModelRef]:
    client = client or get_client(tracking_uri)
    with server_errors(f"listing {model_name}", tracking_uri):
        versions = list(client.search_model_versions(f"name = '{_quoted(model_name)}'", max_results=10_000))
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


def set_version_tags(ref: ModelRef, tags: dict[str, str], *, tracking_uri: str | None = None, client=None) -> None:
    client = client or get_client(tracking_uri)
    with server_errors(f"tagging {ref.name} v{ref.version}", tracking_uri):
        for key, value in tags.items():
            client.set_model_version_tag(ref.name, ref.version, key, str(value))


# ---------------------------------------------------------------- registering a training run


def _training_run(client, run_id: str, uri: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if is_connection_error(exc):
            raise
        raise RegistryError(f"training run {run_id} not found on {uri}") from exc


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
    missing = [n for n in (ONNX_MODEL, PYTORCH_MODEL) if n not in found]
    if missing:
        raise RegistryError(
            f"run {run.info.run_id} has no logged model named {', '.join(missing)} (expected {ONNX_MODEL} and {PYTORCH_MODEL})"
        )
    return found


def _registered_from(client, model_name: str, run_id: str, onnx_uri: str) -> ModelRef | None:
    """The version already registered from this run's ONNX model, if any."""
    for mv in client.search_model_versions(f"name = '{_quoted(model_name)}' and run_id = '{run_id}'"):
        if (mv.tags or {}).get(TAG_ONNX_MODEL) == onnx_uri:
            return _ref(mv)
    return None


def _bundle_checksum(run_id: str, uri: str) -> str:
    import mlflow
    from mlflow.exceptions import MlflowException

    from ml.bundle import BundleError, bundle_checksum

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=BUNDLE_ARTIFACTS, dst_path=tmp, tracking_uri=uri)
            return bundle_checksum(local)
        except (BundleError, MlflowException, OSError) as exc:
            fault = _artifact_store_fault(run_id, uri)
            if fault:
                raise RegistryError(
                    f"run {run_id}: the tracking server could not read its artifact store ({fault}): nothing was registered; "
                    "its log names the cause (the S3 endpoint, the bucket, the credentials)"
                ) from exc
            if is_connection_error(exc):
                raise
            raise RegistryError(f"run {run_id} has no complete inference bundle under '{BUNDLE_ARTIFACTS}/': {exc}") from exc


def _artifact_store_fault(run_id: str, uri: str) -> str | None:
    """Why the server cannot list the run's bundle when the fault is its artifact store (S3 behind the proxy)
    rather than the run: a 5xx, or the store's own refusal (a bucket that does not exist). None otherwise."""
    import mlflow

    try:
        mlflow.MlflowClient(tracking_uri=uri).list_artifacts(run_id, BUNDLE_ARTIFACTS)
    except Exception as exc:
        text = str(exc)
        refused = re.search(r"Failed to list artifacts in (\S+?): ([^\"]+)", text)
        if refused:
            return f"{refused.group(1)}: {refused.group(2).strip()}"
        status = re.search(r"error code (5\d\d)|too many (5\d\d) error responses", text)
        if status:
            return f"it answered HTTP {status.group(1) or status.group(2)} for '{BUNDLE_ARTIFACTS}/'"
    return None


def _version_tags(run, models: dict, checksum: str) -> dict[str, str]:
    tags = {k: run.data.tags[k] for k in COPIED_RUN_TAGS if k in run.data.tags}
    tags.update({f"metric.{k}": f"{run.data.metrics[k]:.6g}" for k in CONTRACT_METRICS if k in run.data.metrics})
    tags.update(
        {
            TAG_RUN: run.info.run_id,
            TAG_ONNX_MODEL: f"models:/{models[ONNX_MODEL].model_id}",
            TAG_PYTORCH_MODEL: f"models:/{models[PYTORCH_MODEL].model_id}",
            TAG_BUNDLE_CHECKSUM: checksum,
            TAG_VERDICT: "pending",
        }
    )
    return tags


def _ensure_registered_model(client, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(model_name, description=MODEL_DESCRIPTION)
    except MlflowException as exc:
        if error_code(exc) != "RESOURCE_ALREADY_EXISTS":
            raise


def register_run(run_id: str, *, model_name: str = MODEL_NAME, tracking_uri: str | None = None, set_challenger: bool = True) -> ModelRef:
    """Register the run's ONNX model as a new version (PyTorch flavor recorded beside it); alias it `challenger`.

    Re-registering a run already registered under model_name returns the existing version.
    """
    client = get_client(tracking_uri)
    with server_errors(f"registering run {run_id}", tracking_uri), fluent_api_at(tracking_uri) as uri:
        run = _training_run(client, run_id, uri)
        models = _logged_models(client, run)
        model_id = models[ONNX_MODEL].model_id
        onnx_uri = f"models:/{model_id}"
        existing = _registered_from(client, model_name, run_id, onnx_uri)
        if existing is not None:
            if set_challenger and existing.tags.get(TAG_VERDICT, "pending") == "pending":
                client.set_registered_model_alias(model_name, CHALLENGER, existing.version)
            return get_version(existing.version, model_name=model_name, client=client)
        tags = _version_tags(run, models, _bundle_checksum(run_id, uri))
        _ensure_registered_model(client, model_name)
        description = descriptions.pending(run)  # the gate replaces it with its verdict (ml.registry.descriptions)
        mv = client.create_model_version(model_name, source=onnx_uri, run_id=run_id, tags=tags, model_id=model_id, description=description)
        if set_challenger:
            client.set_registered_model_alias(model_name, CHALLENGER, str(mv.version))
        return get_version(mv.version, model_name=model_name, client=client)


def _served_card(local: Path, ref: ModelRef) -> None:
    """Fill the registry name and version into the copy's model_card.json (so the portal shows the served version)."""
    card_path = local / "model_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.update({"model_name": ref.name, "model_version": ref.version})
    card_path.write_text(json.dumps(card, indent=2), encoding="utf-8")


def download_bundle(
    dst: str | Path,
    *,
    alias: str = CHAMPION,
    version: str | int | None = None,
    model_name: str = MODEL_NAME,
    tracking_uri: str | None = None,
    verify: bool = True,
    promoted: tuple[str, str] | None = None,
) -> tuple[Path, ModelRef]:
    """Fetch the bundle of `version` (or of the `alias` holder) into dst atomically, verifying the registered checksum
    (and `promoted`, the ledger's (checksum, run) at promotion); the copy's model card then names the registry version."""
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
                run_id=ref.run_id, artifact_path=BUNDLE_ARTIFACTS, dst_path=tmp, tracking_uri=names.tracking_uri(tracking_uri)
            )
        )
        check_bundle(local)
        expected = ref.tags.get(TAG_BUNDLE_CHECKSUM)
        actual = bundle_checksum(local) if verify else ""
        if verify and expected and actual != expected:
            raise RegistryError(f"bundle of {model_name} v{ref.version} does not match its registered checksum")
        if verify and promoted and promoted[0] and actual != promoted[0]:  # (checksum, ledger run) at promotion
            raise RegistryError(
                f"refusing to deploy {model_name} v{ref.version}: its bundle (sha256 {actual[:16]}...) is not the one the promotion "
                f"ledger recorded (run {promoted[1]}: {promoted[0][:16]}...); the registry was changed after the promotion"
            )
        _served_card(local, ref)
        copy_bundle(local, dst)
    return dst, ref
