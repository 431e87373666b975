"""The data stage's corrections: every reviewed label in the production portal's database, exported read-only
(ml.data.portal_export) and written as a versioned data set (ml.corrections), then mixed into the training CSV.

Which database: PipelineConfig.corrections_database_url (PIPELINE_CORRECTIONS_DATABASE_URL), else the local
production portal's SQLite file. An explicit database that cannot be read, or that holds no reviewed label, fails
the stage (nothing is trained or deployed); the local default that does not exist yet, or has no reviews yet (a
new deployment), means no corrections.
"""

from __future__ import annotations

from pathlib import Path

from ci.config import PipelineConfig
from ci.targets.base import Log


def export_corrections(config: PipelineConfig, folder: Path, *, log: Log = print):
    """The corrections data set (ml.corrections.CorrectionsSet); rows 0 when there is nothing to learn from."""
    from ml.corrections import CorrectionsSet, write_corrections
    from ml.data import DataError
    from ml.data.portal_export import export_reviewed_labels, sqlite_path

    url = config.corrections_database_url
    if not url:
        url = config.environments()[1].database_url
        path = sqlite_path(url)
        if path is None or not path.is_file():
            log(f"  no production portal database yet ({path}): no corrections, training on generated data only")
            return CorrectionsSet(path="", digest="", rows=0, reviewed_rows=0, first_reviewed_at="", last_reviewed_at="")
    where = _shown(url)
    corrections = write_corrections(export_reviewed_labels(url), folder, source=where)
    if not corrections.rows and config.corrections_database_url:
        raise DataError(
            f"corrections: the database PIPELINE_CORRECTIONS_DATABASE_URL names ({where}) has no reviewed labels: a wrong "
            "database? Nothing was trained. Unset it to train on the local production portal's reviews (or none)"
        )
    if not corrections.rows:
        log(f"  no reviewed labels in {where}: training on generated data only")
        return corrections
    log(
        f"  {corrections.rows} corrections from {where} ({corrections.reviewed_rows} reviewed labels, "
        f"{corrections.first_reviewed_at} .. {corrections.last_reviewed_at}): {corrections.name}"
    )
    for c in corrections.contradictions:
        ids, text = c["feedback_ids"], c["text"][:70]
        log(f"  contradicting reviews of {text!r}: labels {c['labels']} (feedback {ids}), kept the latest: {c['kept']}")
    return corrections


def mixed_training_csv(data: Path, corrections, *, weight: int, folder: Path) -> tuple[Path, int]:
    """The training CSV with the corrections repeated `weight` times (data itself when there are none); its rows."""
    import pandas as pd

    from ml.corrections import mix_training_data
    from ml.data import load_csv

    frame = load_csv(data)
    if not corrections.rows:
        return data, len(frame)
    mixed = mix_training_data(frame, pd.read_csv(corrections.path, keep_default_na=False, dtype={"text": str}), weight=weight)
    out = folder / f"{Path(data).stem}+{Path(corrections.path).stem}x{weight}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    mixed.to_csv(out, index=False)
    return out, len(mixed)


def _shown(url: str) -> str:
    """The database without credentials: scheme://host/db or the SQLite file."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@')[-1]}"
