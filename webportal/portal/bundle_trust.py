"""Whether a bundle downloaded through `models:/` is the one the registry's promotion recorded.

A tag anyone with write access could rewrite is not enough (issue 11): the version's `bundle_checksum` tag must
match the files, and so must the checksum the promotion ledger recorded (a run param in `model-promotions`,
which MLflow never rewrites) when a ledger manages the model. The same rules as the pipeline's package stage
(`ml.registry.download_promoted_bundle`), read over plain REST: the web process never imports mlflow.
"""

from __future__ import annotations

from pathlib import Path

from common.names import CHAMPION, LEDGER_EXPERIMENT
from ml.bundle import bundle_checksum

TAG_BUNDLE_CHECKSUM = "bundle_checksum"  # ml.registry.versions.TAG_BUNDLE_CHECKSUM (mlflow-free here)
LEDGER_MODEL_TAG = "ledger.model_name"  # ml.registry.ledger.MODEL_TAG
LEDGER_STATE_TAG = "ledger.state"
COMMITTED = "committed"


class UntrustedBundle(RuntimeError):
    """The downloaded files are not the ones the registry recorded; the message names both checksums."""


def _pairs(items) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or []}


def ledger_checksum(rest, model_name: str, version: str) -> tuple[bool, str | None]:
    """(the ledger has entries for model_name, the checksum its last committed promotion of version recorded)."""
    experiment = rest.experiment_by_name(LEDGER_EXPERIMENT)
    if experiment is None:
        return False, None
    escaped = model_name.replace("'", "\\'")
    runs = rest.search_runs(experiment["experiment_id"], f"tags.`{LEDGER_MODEL_TAG}` = '{escaped}'")
    promotions = []
    for run in runs:
        params, tags = _pairs(run.get("data", {}).get("params")), _pairs(run.get("data", {}).get("tags"))
        if tags.get(LEDGER_STATE_TAG) == COMMITTED and params.get("to_version") == str(version):
            promotions.append((int(params.get("seq", 0) or 0), params.get("bundle_checksum", "")))
    if not promotions:
        return bool(runs), None
    return True, max(promotions)[1]


def verify_bundle(rest, folder: Path, *, model_name: str, model_version: dict, alias: str | None) -> str:
    """The bundle's checksum, once it matches the version's tag and (for @champion of a ledger-managed model)
    the ledger's record; UntrustedBundle otherwise."""
    actual = bundle_checksum(folder)
    version = str(model_version["version"])
    tagged = _pairs(model_version.get("tags")).get(TAG_BUNDLE_CHECKSUM)
    where = f"{model_name} v{version}"
    if tagged and tagged != actual:
        raise UntrustedBundle(f"refusing {where}: its bundle (sha256 {actual[:12]}) does not match its bundle_checksum tag ({tagged[:12]})")
    if alias != CHAMPION:
        return actual
    managed, recorded = ledger_checksum(rest, model_name, version)
    if managed and recorded is None:
        raise UntrustedBundle(f"refusing {where}: the promotion ledger never promoted it (was the champion alias moved by hand?)")
    if recorded and recorded != actual:
        raise UntrustedBundle(
            f"refusing {where}: its bundle (sha256 {actual[:12]}) is not the one the promotion ledger recorded ({recorded[:12]}); "
            "the registry was changed after the promotion"
        )
    return actual
