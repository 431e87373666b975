"""Rows for `status` (versions) and `history` (the ledger), and a plain-text table for a terminal."""

from __future__ import annotations

from common.names import MODEL_NAME
from ml.registry.ledger import LedgerEntry, iso
from ml.registry.versions import TAG_VERDICT, list_versions

STATUS_METRICS = ("test_accuracy", "holdout_shapes_accuracy", "holdout_years_accuracy", "out_of_range_years_accuracy")


def status_rows(*, model_name: str = MODEL_NAME, tracking_uri: str | None = None) -> list[dict]:
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


def history_rows(entries: list[LedgerEntry]) -> list[dict]:
    rows = []
    for e in entries:
        rows.append(
            {
                "seq": e.seq,
                "when (UTC)": iso(e.when).replace("+00:00", ""),
                "kind": e.kind,
                "from": f"v{e.from_version}" if e.from_version else "-",
                "to": f"v{e.to_version}",
                "who": e.actor,
                "state": e.state,
                "verdict": e.verdict or "-",
                "why": e.reason if len(e.reason) <= 60 else e.reason[:57] + "...",
                "ledger run": e.run_id,
            }
        )
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
