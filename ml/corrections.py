"""Reviewers' corrections as a versioned training data set: cleaned, written as CSV + digest, mixed into training.

    prepare_corrections  the exported reviewed labels (ml.data.portal_export) -> one row per text, and a report
    write_corrections    the versioned data set: corrections-<digest 12>.csv and its summary (digest, rows, time range)
    mix_training_data    generated rows + the corrections repeated `weight` times, one training CSV
    log_corrections_input  the data set as a dataset input of the training run (context "corrections")

One row per text: two reviewed labels whose texts are the same after the tokenizer's normalisation
(ml.text.split_tokens: Unicode NFKC, lower case, the same tokens) are one text. When they agree, the latest review is
kept; when they contradict each other, the latest review is kept too (a reviewer's newer word supersedes an older
one), and the contradiction is reported: in the pipeline's data stage output and the data set's MLflow tags. So no
text is trained on twice with two labels.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ml.data import data_digest
from ml.data.csv_files import DataError
from ml.mlflow_inputs import file_source, table_dataset
from ml.text import split_tokens

CONTEXT = "corrections"  # the dataset input's context in the training run
SOURCE_COLUMN = "source"  # in the mixed CSV: "generated" or "corrections"


@dataclass(frozen=True)
class CorrectionsSet:
    """A versioned corrections data set: its CSV, content digest, rows and the review time range it covers."""

    path: str
    digest: str
    rows: int
    reviewed_rows: int  # reviewed labels exported, before one-row-per-text
    first_reviewed_at: str
    last_reviewed_at: str
    contradictions: list[dict] = field(default_factory=list)  # texts with conflicting reviewed labels
    source: str = ""  # where it was exported from (host/db or file; never a password)

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "no corrections"

    def as_dict(self) -> dict:
        return asdict(self)

    def tags(self) -> dict[str, str]:
        """What MLflow shows beside the dataset input (and the training run's tags)."""
        shown = "; ".join(f"{c['text'][:60]!r}: {c['labels']} -> {c['kept']}" for c in self.contradictions[:5])
        return {
            "corrections.name": self.name,
            "corrections.digest": self.digest,
            "corrections.rows": str(self.rows),
            "corrections.reviewed_rows": str(self.reviewed_rows),
            "corrections.time_range": f"{self.first_reviewed_at} .. {self.last_reviewed_at}" if self.rows else "empty",
            "corrections.contradictions": str(len(self.contradictions)) + (f" ({shown})" if shown else ""),
            "corrections.source": self.source[:250],
        }


def check_labels(frame: pd.DataFrame) -> None:
    """DataError naming the reviewed labels (feedback ids) that are not 0 or 1."""
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = frame.loc[~labels.isin([0, 1]), ["feedback_id", "label"]]
    if len(bad):
        shown = ", ".join(f"feedback {r.feedback_id}: {r.label!r}" for r in bad.head(10).itertuples())
        raise DataError(f"corrections: {len(bad)} reviewed label(s) are not 0 or 1 ({shown}); nothing was trained")


def prepare_corrections(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """One row per normalised text (the latest review wins) and the contradictions found; DataError on bad labels."""
    check_labels(frame)
    frame = frame.assign(label=pd.to_numeric(frame["label"]).astype(int), text=frame["text"].astype(str))
    frame = frame[frame["text"].str.strip() != ""]
    frame = frame.assign(key=[" ".join(split_tokens(t)) for t in frame["text"]]).sort_values(["reviewed_at", "feedback_id"])
    contradictions = []
    for _key, group in frame.groupby("key", sort=False):
        if group["label"].nunique() > 1:
            latest = group.iloc[-1]
            contradictions.append(
                {
                    "text": str(latest["text"]),
                    "labels": [int(v) for v in group["label"]],
                    "feedback_ids": [int(v) for v in group["feedback_id"]],
                    "kept": int(latest["label"]),
                }
            )
    kept = frame.drop_duplicates("key", keep="last").drop(columns="key").reset_index(drop=True)
    return kept, contradictions


def write_corrections(exported: pd.DataFrame, folder: Path, *, source: str = "") -> CorrectionsSet:
    """Clean the export and write it as folder/corrections-<digest>.csv with a .json summary beside it."""
    kept, contradictions = prepare_corrections(exported)
    digest = data_digest(kept)
    reviewed = kept["reviewed_at"]
    result = CorrectionsSet(
        path="",
        digest=digest,
        rows=len(kept),
        reviewed_rows=len(exported),
        first_reviewed_at=str(reviewed.min()) if len(kept) else "",
        last_reviewed_at=str(reviewed.max()) if len(kept) else "",
        contradictions=contradictions,
        source=source,
    )
    if not len(kept):
        return result
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"corrections-{digest[:12]}.csv"
    kept[["text", "label", "reviewed_at", "feedback_id", "component_id"]].to_csv(path, index=False)
    result = CorrectionsSet(**{**result.as_dict(), "path": str(path)})
    path.with_suffix(".json").write_text(json.dumps(result.as_dict(), indent=1), encoding="utf-8")
    return result


def read_corrections(path: str | Path) -> CorrectionsSet:
    """The summary written beside a corrections CSV."""
    return CorrectionsSet(**json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8")))


def mix_training_data(generated: pd.DataFrame, corrections: pd.DataFrame, *, weight: int) -> pd.DataFrame:
    """The generated rows, then every correction `weight` times (its weight in the loss, as repeated rows)."""
    if weight < 1:
        raise DataError(f"the corrections' weight must be a whole number >= 1, not {weight!r}")
    parts = [generated[["text", "label"]].assign(**{SOURCE_COLUMN: "generated"})]
    if len(corrections):
        repeated = pd.concat([corrections[["text", "label"]]] * weight, ignore_index=True)
        parts.append(repeated.assign(**{SOURCE_COLUMN: CONTEXT}))
    return pd.concat(parts, ignore_index=True)


def log_corrections_input(mlflow, path: str | Path) -> dict:
    """Log the corrections CSV as the run's dataset input (context "corrections") with its digest, rows and time
    range as tags; returns the data set's summary for the model card."""
    summary = read_corrections(path)
    frame = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    dataset = table_dataset(frame[["text", "label"]], source=file_source(Path(path).resolve()), name=summary.name, targets="label")
    tags = summary.tags()
    mlflow.log_input(dataset, context=CONTEXT, tags=tags)
    mlflow.set_tags(tags)
    return {"name": summary.name, "digest": summary.digest, "rows": summary.rows, "time_range": tags["corrections.time_range"]}


def data_sources(frame: pd.DataFrame, data: str | Path, corrections: str | Path | None) -> list[dict]:
    """The model card's list of what the model learned from: the training CSV's generated (or user) rows, and the
    corrections data set (name, digest, rows, time range, weight as repeated rows) when one was mixed in."""
    counts = frame[SOURCE_COLUMN].value_counts().to_dict() if SOURCE_COLUMN in frame.columns else {}
    base = {"kind": "generated", "name": Path(data).name, "rows": int(counts.get("generated", len(frame)))}
    if not corrections:
        return [base, {"kind": CONTEXT, "name": "none", "rows": 0}]
    summary = read_corrections(corrections)
    time_range = summary.tags()["corrections.time_range"]
    repeated = int(counts.get(CONTEXT, 0))
    return [
        base,
        {
            "kind": CONTEXT,
            "name": summary.name,
            "digest": summary.digest,
            "rows": summary.rows,
            "time_range": time_range,
            "trained_rows": repeated,
        },
    ]
