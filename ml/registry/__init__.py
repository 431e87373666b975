"""MLflow Model Registry: register training runs, resolve aliases, fetch bundles, gate, promote and roll back.

Aliases, not stages: `champion` is served, `challenger` is the candidate under evaluation. Every champion
move goes through `promote()`, which writes the promotion ledger around the alias move, under a
registry-wide lock, so that concurrent promotions form one consistent chain.

The modules:
- errors: the registry's exceptions; an unreachable server told apart from a refusal;
- client: MLflow clients, the fluent API pointed at one server for a block, experiments;
- versions: register a run, read a version or an alias, list, tag, download a bundle;
- lock: the registry-wide promotion lock;
- ledger: the append-only promotion ledger (experiment `model-promotions`);
- promotion: promote, roll back, the history of champions;
- tables: rows and plain-text tables for `status` and `history`;
- the gate: gate_config, holdout, behaviour, evaluation, decision, evidence, gate (`run_gate`);
- cli: `python -m ml registry ...`.

This package re-exports the registry's API (the gate's modules use pandas, so they are imported by name:
`from ml.registry.gate import run_gate`). mlflow is imported inside functions: importing this is free.
"""

from common.names import CHALLENGER, CHAMPION, MODEL_NAME
from ml.registry.client import fluent_api_at, get_client
from ml.registry.errors import (
    PromotionFailed,
    RegistryError,
    ServerUnavailable,
    VersionNotFound,
    is_connection_error,
    request_never_sent,
    server_errors,
)
from ml.registry.lock import LOCK_SUFFIX, promotion_lock
from ml.registry.promotion import PromotionResult, champion_at, current_actor, download_promoted_bundle, history, promote, rollback
from ml.registry.tables import format_table, history_rows, status_rows
from ml.registry.versions import (
    BUNDLE_ARTIFACTS,
    ONNX_MODEL,
    PYTORCH_MODEL,
    TAG_BUNDLE_CHECKSUM,
    TAG_GATE_RUN,
    TAG_LEDGER_RUN,
    TAG_ONNX_MODEL,
    TAG_PYTORCH_MODEL,
    TAG_RUN,
    TAG_VERDICT,
    ModelRef,
    download_bundle,
    get_version,
    list_versions,
    register_run,
    resolve_alias,
    set_version_tags,
)

__all__ = [
    "BUNDLE_ARTIFACTS",
    "CHALLENGER",
    "CHAMPION",
    "LOCK_SUFFIX",
    "MODEL_NAME",
    "ONNX_MODEL",
    "PYTORCH_MODEL",
    "TAG_BUNDLE_CHECKSUM",
    "TAG_GATE_RUN",
    "TAG_LEDGER_RUN",
    "TAG_ONNX_MODEL",
    "TAG_PYTORCH_MODEL",
    "TAG_RUN",
    "TAG_VERDICT",
    "ModelRef",
    "PromotionFailed",
    "PromotionResult",
    "RegistryError",
    "ServerUnavailable",
    "VersionNotFound",
    "champion_at",
    "current_actor",
    "download_bundle",
    "download_promoted_bundle",
    "fluent_api_at",
    "format_table",
    "get_client",
    "get_version",
    "history",
    "history_rows",
    "is_connection_error",
    "list_versions",
    "promote",
    "promotion_lock",
    "register_run",
    "request_never_sent",
    "resolve_alias",
    "rollback",
    "server_errors",
    "set_version_tags",
    "status_rows",
]
