"""The promotion ledger: one MLflow run per champion move, in the `model-promotions` experiment.

MLflow keeps no alias history, so every move of the `champion` alias is written here first:
params (immutable in MLflow) hold who / from / to / why / kind / sequence number; the evidence
is attached as artifacts; the MLflow UI shows the whole history as a table of runs.

An entry is written in two steps around the alias move. It is created `prepared` (run RUNNING)
before the alias moves and becomes `committed` (run FINISHED) after; an entry whose alias never
moved becomes `aborted` (run FAILED). Those state tags are the only thing ever changed after an
entry is written; params are never rewritten (MLflow refuses to change a param).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.names import LEDGER_EXPERIMENT
from ml.registry.client import experiment_id as client_experiment_id

STATE_TAG = "ledger.state"
MODEL_TAG = "ledger.model_name"  # set when the run is created, so even an entry cut off before its params is found
PREPARED, COMMITTED, ABORTED = "prepared", "committed", "aborted"
KINDS = ("gate", "manual", "rollback")
NO_VERSION = "none"
MAX_PARAM_CHARS = 500


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds") if ts else ""


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class LedgerEntry:
    run_id: str
    model_name: str
    seq: int
    kind: str
    from_version: str | None
    to_version: str
    actor: str
    reason: str
    verdict: str
    gate_run_id: str
    rollback_of: str
    prepared_at: datetime
    committed_at: datetime | None
    state: str
    bundle_checksum: str = ""  # the promoted version's bundle checksum when it was promoted (a param: never rewritten)

    @property
    def when(self) -> datetime:
        """When the alias moved (commit time), or when the entry was prepared if the commit time is unknown."""
        return self.committed_at or self.prepared_at

    def as_dict(self) -> dict:
        data = asdict(self)
        data["prepared_at"] = iso(self.prepared_at)
        data["committed_at"] = iso(self.committed_at)
        return data


def experiment_id(client, *, create: bool = True, tracking_uri: str | None = None) -> str | None:
    return client_experiment_id(
        client,
        LEDGER_EXPERIMENT,
        note="Append-only promotion ledger: one run per move of a registered model's champion alias.",
        tracking_uri=tracking_uri,
        create=create,
        restore_deleted=True,
    )


def _entry_from_run(run) -> LedgerEntry:
    p, t = run.data.params, run.data.tags
    frm = p.get("from_version", NO_VERSION)
    return LedgerEntry(
        run_id=run.info.run_id,
        model_name=p.get("model_name") or t.get(MODEL_TAG, ""),
        seq=int(p.get("seq", 0) or 0),
        kind=p.get("kind", ""),
        from_version=None if frm == NO_VERSION else frm,
        to_version=p.get("to_version", ""),
        actor=p.get("actor", ""),
        reason=t.get("ledger.reason") or p.get("reason", ""),
        verdict=t.get("verdict", ""),
        gate_run_id=t.get("gate_run_id", ""),
        rollback_of=t.get("rollback_of", ""),
        prepared_at=_parse_iso(t.get("prepared_at")) or datetime.fromtimestamp(run.info.start_time / 1000, UTC),
        committed_at=_parse_iso(t.get("committed_at")),
        state=t.get(STATE_TAG, PREPARED),
        bundle_checksum=p.get("bundle_checksum", ""),
    )


def read_ledger(client, model_name: str) -> list[LedgerEntry]:
    """Every entry for one registered model, oldest first (by sequence number, then time)."""
    exp_id = experiment_id(client, create=False)
    if exp_id is None:
        return []
    escaped = model_name.replace("'", "\\'")
    runs, token = [], None
    while True:
        page = client.search_runs(
            [exp_id],
            filter_string=f"tags.`{MODEL_TAG}` = '{escaped}'",
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    entries = [_entry_from_run(r) for r in runs]
    return sorted(entries, key=lambda e: (e.seq, e.prepared_at, e.run_id))


def committed(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    return [e for e in entries if e.state == COMMITTED]


def champion_at(entries: Iterable[LedgerEntry], when: datetime) -> LedgerEntry | None:
    """The committed entry that made the champion of time `when` (None: no champion yet)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    found = None
    for entry in committed(entries):
        if entry.when <= when:
            found = entry
    return found


def champion_stack(entries: Iterable[LedgerEntry]) -> list[str]:
    """Champion versions as a stack: promotions push, rollbacks pop. The top is the current champion."""
    stack: list[str] = []
    for entry in committed(entries):
        if entry.kind == "rollback":
            while stack and stack[-1] != entry.to_version:
                stack.pop()
            if not stack:
                stack.append(entry.to_version)
        else:
            stack.append(entry.to_version)
    return stack


def _note(entry: dict) -> str:
    frm = f"v{entry['from_version']}" if entry["from_version"] else "no champion"
    return (
        f"**{entry['kind']}** of `{entry['model_name']}`: {frm} → **v{entry['to_version']}**  \n"
        f"by {entry['actor']} at {entry['prepared_at']}  \n"
        f"verdict: {entry['verdict'] or 'n/a'}  \n"
        f"why: {entry['reason']}"
    )


def _create_entry_run(client, record: dict, prepared_at: datetime, tracking_uri: str | None) -> str:
    frm = f"v{record['from_version']}" if record["from_version"] else "none"
    run = client.create_run(
        experiment_id(client, tracking_uri=tracking_uri),
        start_time=int(prepared_at.timestamp() * 1000),
        run_name=f"{record['model_name']}: {frm} -> v{record['to_version']} ({record['kind']})",
        tags={
            MODEL_TAG: record["model_name"],
            STATE_TAG: PREPARED,
            "prepared_at": record["prepared_at"],
            "verdict": record["verdict"],
            "gate_run_id": record["gate_run_id"],
            "rollback_of": record["rollback_of"],
            "ledger.reason": record["reason"][:5000],
            "mlflow.user": record["actor"],
            "mlflow.note.content": _note(record),
        },
    )
    return run.info.run_id


def prepare_entry(
    client,
    *,
    model_name: str,
    seq: int,
    kind: str,
    from_version: str | None,
    to_version: str,
    actor: str,
    reason: str,
    verdict: str = "",
    gate_run_id: str = "",
    rollback_of: str = "",
    evidence_dir: Path | None = None,
    tracking_uri: str | None = None,
    bundle_checksum: str = "",
) -> LedgerEntry:
    """Write a `prepared` entry (params, tags, evidence). Nothing about the alias changes here."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    prepared_at = now_utc()
    record = {
        "model_name": model_name,
        "seq": seq,
        "kind": kind,
        "from_version": from_version,
        "to_version": str(to_version),
        "actor": actor,
        "reason": reason,
        "verdict": verdict,
        "gate_run_id": gate_run_id,
        "rollback_of": rollback_of,
        "prepared_at": iso(prepared_at),
        "bundle_checksum": bundle_checksum,
    }
    run_id = _create_entry_run(client, record, prepared_at, tracking_uri)
    try:
        _write_entry(client, run_id, record, evidence_dir)
    except Exception:
        # Nothing moved yet: take the half-written entry out of the ledger rather than leave it to be settled
        # as `aborted` later. If the server is gone this fails too, and the entry stays `prepared` (settled later).
        with contextlib.suppress(Exception):
            client.delete_run(run_id)
        raise
    return _entry_from_run(client.get_run(run_id))


def _write_entry(client, run_id: str, record: dict, evidence_dir: Path | None) -> None:
    from mlflow.entities import Param, RunTag

    model_name, seq = record["model_name"], record["seq"]
    params = {
        "model_name": model_name,
        "seq": str(seq),
        "kind": record["kind"],
        "from_version": record["from_version"] or NO_VERSION,
        "to_version": record["to_version"],
        "actor": record["actor"][:MAX_PARAM_CHARS],
        "reason": record["reason"][:MAX_PARAM_CHARS],
    }
    if record.get("bundle_checksum"):
        params["bundle_checksum"] = record["bundle_checksum"]
    client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()], tags=[RunTag("ledger.seq", str(seq))])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "entry.json"
        path.write_text(json.dumps({**record, "run_id": run_id}, indent=2), encoding="utf-8")
        client.log_artifact(run_id, str(path))
    if evidence_dir is not None and Path(evidence_dir).is_dir() and any(Path(evidence_dir).iterdir()):
        client.log_artifacts(run_id, str(evidence_dir), artifact_path="evidence")


def commit_entry(client, entry: LedgerEntry, *, note: str = "") -> None:
    at = now_utc()
    client.set_tag(entry.run_id, "committed_at", iso(at))
    if note:
        client.set_tag(entry.run_id, "ledger.commit_note", note)
    client.set_tag(entry.run_id, STATE_TAG, COMMITTED)
    client.set_terminated(entry.run_id, status="FINISHED", end_time=int(at.timestamp() * 1000))


def abort_entry(client, entry: LedgerEntry, *, why: str) -> None:
    client.set_tag(entry.run_id, "ledger.abort_reason", why[:5000])
    client.set_tag(entry.run_id, STATE_TAG, ABORTED)
    client.set_terminated(entry.run_id, status="FAILED")


def promoted_checksum(entries: Iterable[LedgerEntry], version: str) -> LedgerEntry | None:
    """The last committed entry that made `version` the champion (its bundle_checksum is what deploys must match)."""
    found = None
    for entry in committed(entries):
        if entry.to_version == str(version):
            found = entry
    return found
