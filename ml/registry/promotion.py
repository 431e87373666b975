"""Moving the champion alias: promote, roll back, and read the history of champions.

Every champion move goes through `promote()`, which writes the promotion ledger (ml.registry.ledger)
around the alias move, under the promotion lock (ml.registry.lock) so that concurrent promotions form
one consistent chain.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common import names
from common.names import CHALLENGER, CHAMPION, MODEL_NAME
from ml.registry import ledger
from ml.registry.client import get_client, needs_server
from ml.registry.errors import PromotionFailed, RegistryError, ServerUnavailable, request_never_sent, server_errors
from ml.registry.lock import promotion_lock
from ml.registry.versions import TAG_BUNDLE_CHECKSUM, TAG_LEDGER_RUN, get_version, resolve_alias


@dataclass(frozen=True)
class PromotionResult:
    model_name: str
    from_version: str | None
    to_version: str
    changed: bool
    entry: ledger.LedgerEntry | None
    message: str


@dataclass
class _Attempt:
    """One promotion as asked for, and how far it got (`stage`: prepare, alias, commit)."""

    model_name: str
    version: str
    uri: str
    actor: str
    reason: str
    kind: str
    verdict: str
    gate_run_id: str
    rollback_of: str
    evidence_dir: Path | None
    expected_from: str | None
    bundle_checksum: str = ""
    entry: ledger.LedgerEntry | None = None
    stage: str = "prepare"


def current_actor(actor: str | None = None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return os.environ.get("USER") or "unknown"


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


def _promote_locked(client, attempt: _Attempt) -> PromotionResult:
    """The promotion itself, with the lock held: settle, prepare the entry, move the alias, commit."""
    name, version = attempt.model_name, attempt.version
    entries = _reconcile(client, name, ledger.read_ledger(client, name))
    champion = resolve_alias(CHAMPION, model_name=name, client=client)
    current = champion.version if champion else None
    if attempt.expected_from != "any" and current != attempt.expected_from:
        expected = attempt.expected_from
        raise RegistryError(
            f"the champion of {name} changed to {('v' + current) if current else 'none'} while v{version} "
            f"was being evaluated against {('v' + expected) if expected else 'none'}; run the gate again"
        )
    if current == version:
        last = next((e for e in reversed(entries) if e.state == ledger.COMMITTED and e.to_version == current), None)
        return PromotionResult(name, current, current, False, last, f"v{current} is already the champion of {name}; nothing to do")
    attempt.entry = entry = ledger.prepare_entry(
        client,
        model_name=name,
        seq=max((e.seq for e in entries), default=0) + 1,
        kind=attempt.kind,
        from_version=current,
        to_version=version,
        actor=attempt.actor,
        reason=attempt.reason,
        verdict=attempt.verdict,
        gate_run_id=attempt.gate_run_id,
        rollback_of=attempt.rollback_of,
        evidence_dir=attempt.evidence_dir,
        tracking_uri=attempt.uri,
        bundle_checksum=attempt.bundle_checksum,
    )
    client.set_model_version_tag(name, version, TAG_LEDGER_RUN, entry.run_id)
    attempt.stage = "alias"
    _move_champion_alias(client, name, version)
    attempt.stage = "commit"
    ledger.commit_entry(client, entry)
    challenger = resolve_alias(CHALLENGER, model_name=name, client=client)
    if challenger is not None and challenger.version == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    frm = f"v{entry.from_version}" if entry.from_version else "no champion"
    return PromotionResult(
        name, entry.from_version, version, True, entry, f"{name}: champion {frm} -> v{version} (ledger run {entry.run_id})"
    )


def _interrupted(attempt: _Attempt, exc: ServerUnavailable) -> PromotionFailed:
    """What a server failure part-way through a promotion left behind, in one line."""
    what, uri, entry = f"{attempt.model_name} v{attempt.version}", attempt.uri, attempt.entry
    if entry is None:
        return PromotionFailed(
            f"promotion of {what} not started: the tracking server {uri} is unreachable; the champion alias did not move",
            alias_moved=False,
        )
    if attempt.stage == "alias" and not request_never_sent(exc):
        return PromotionFailed(
            f"promotion of {what} interrupted: the tracking server {uri} failed while the champion alias was "
            f"being moved, so it may or may not have moved (check `status`); ledger entry {entry.run_id} is settled by the next "
            "promotion; re-run the command",
            alias_moved=None,
            entry_run_id=entry.run_id,
        )
    if attempt.stage in ("prepare", "alias"):
        return PromotionFailed(
            f"promotion of {what} interrupted: the tracking server {uri} failed before the champion "
            f"alias moved, so the champion is unchanged; ledger entry {entry.run_id} stays 'prepared' and is settled by the "
            "next promotion; re-run the command",
            alias_moved=False,
            entry_run_id=entry.run_id,
        )
    return PromotionFailed(
        f"{what} is now champion, but the tracking server {uri} failed before ledger entry {entry.run_id} was "
        "marked committed; the next promotion settles it (re-running this command is safe)",
        alias_moved=True,
        entry_run_id=entry.run_id,
    )


def promote(
    version: str | int,
    *,
    reason: str,
    actor: str | None = None,
    model_name: str = MODEL_NAME,
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
    uri = names.tracking_uri(tracking_uri)
    why = needs_server(client, uri, names.LEDGER_EXPERIMENT)
    if why:
        raise RegistryError(f"nothing changed: {why}")
    target = get_version(version, model_name=model_name, client=client, tracking_uri=uri)
    attempt = _Attempt(
        model_name,
        target.version,
        uri,
        current_actor(actor),
        reason,
        kind,
        verdict,
        gate_run_id,
        rollback_of,
        evidence_dir,
        expected_from,
        bundle_checksum=target.tags.get(TAG_BUNDLE_CHECKSUM, ""),
    )
    try:
        with server_errors(f"promoting {model_name} v{target.version}", uri), promotion_lock(client, model_name):
            return _promote_locked(client, attempt)
    except ServerUnavailable as exc:
        raise _interrupted(attempt, exc) from exc


def rollback(
    *, reason: str = "rollback", actor: str | None = None, model_name: str = MODEL_NAME, tracking_uri: str | None = None
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


def history(*, model_name: str = MODEL_NAME, tracking_uri: str | None = None) -> list[ledger.LedgerEntry]:
    client = get_client(tracking_uri)
    with server_errors(f"reading the promotion ledger of {model_name}", tracking_uri):
        return ledger.read_ledger(client, model_name)


def champion_at(when: datetime, *, model_name: str = MODEL_NAME, tracking_uri: str | None = None) -> ledger.LedgerEntry | None:
    """Which ledger entry made the champion at time `when` (a datetime; naive means UTC)."""
    return ledger.champion_at(history(model_name=model_name, tracking_uri=tracking_uri), when)


def download_promoted_bundle(dst: Path, *, model_name: str = MODEL_NAME, tracking_uri: str | None = None):
    """The champion's bundle for a deploy: (folder, ModelRef, ledger entry). Its checksum must equal the version's tag
    and the value the promotion ledger recorded when the version was promoted (a ledger param, which no later write
    changes): a tag rewritten together with the files is refused. Entries written before the ledger kept checksums
    are checked against the tag alone (entry.bundle_checksum is empty)."""
    from ml.registry.versions import download_bundle

    client = get_client(tracking_uri)
    with server_errors(f"reading the champion of {model_name}", tracking_uri):
        ref = resolve_alias(CHAMPION, model_name=model_name, client=client, tracking_uri=tracking_uri)
        if ref is None:
            raise RegistryError(f"no version of {model_name!r} has the alias {CHAMPION!r}")
        entry = ledger.promoted_checksum(ledger.read_ledger(client, model_name), ref.version)
    if entry is None:
        raise RegistryError(
            f"refusing to deploy {model_name} v{ref.version}: the promotion ledger never promoted it (was the alias moved by hand?)"
        )
    folder, ref = download_bundle(
        dst, version=ref.version, model_name=model_name, tracking_uri=tracking_uri, promoted=(entry.bundle_checksum, entry.run_id)
    )
    return folder, ref, entry
