"""The gate's "corrections" slice: the reviewed rows (a corrections data set, ml.corrections) the champion got wrong.

The challenger must label more of them right than the champion did (the champion's accuracy there is 0 by
construction, so: at least one, and `corrections_min_accuracy` of them); the frozen holdout's checks still hold it
to not falling behind elsewhere. No corrections, or none the champion got wrong: the slice is reported as empty and
does not block. No champion: every reviewed row is the slice, reported and not blocking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml.registry.decision import Check
from ml.registry.versions import ModelRef, download_bundle

SHOWN = 20


@dataclass(frozen=True)
class CorrectionsSlice:
    reviewed_rows: int
    rows: int  # the rows the champion got wrong (every reviewed row without a champion)
    challenger_accuracy: float | None
    champion_accuracy: float | None
    rows_shown: list[dict] = field(default_factory=list)  # text, label, and both probabilities (first SHOWN)

    def as_dict(self) -> dict:
        return asdict(self)


def load_corrections_frame(path: str | Path | None) -> pd.DataFrame:
    """The corrections CSV's text and label (an empty frame for no path)."""
    if not path:
        return pd.DataFrame({"text": pd.Series(dtype=str), "label": pd.Series(dtype=int)})
    frame = pd.read_csv(path, keep_default_na=False, dtype={"text": str})
    return frame[["text", "label"]].astype({"label": int})


def _probabilities(ref: ModelRef, texts: list[str], workdir: Path, tracking_uri: str | None):
    from ml.predictor import Predictor

    bundle, _ = download_bundle(workdir / f"slice-v{ref.version}", version=ref.version, model_name=ref.name, tracking_uri=tracking_uri)
    predictor = Predictor.from_bundle(bundle, threads=1)
    return predictor.predict_proba(texts), predictor.threshold


def corrections_slice(
    corrections: pd.DataFrame, challenger: ModelRef, champion: ModelRef | None, *, workdir: Path, tracking_uri: str | None
) -> CorrectionsSlice:
    if corrections is None or not len(corrections):
        return CorrectionsSlice(0, 0, None, None)
    texts, labels = list(corrections["text"]), corrections["label"].to_numpy()
    chal_probs, chal_threshold = _probabilities(challenger, texts, workdir, tracking_uri)
    chal_right = (chal_probs >= chal_threshold).astype(int) == labels
    in_slice = np.ones(len(labels), dtype=bool)  # every row without a champion
    champ_probs = None
    if champion is not None:
        champ_probs, champ_threshold = _probabilities(champion, texts, workdir, tracking_uri)
        in_slice = (champ_probs >= champ_threshold).astype(int) != labels
    rows = int(in_slice.sum())
    shown = [
        {
            "text": texts[i],
            "label": int(labels[i]),
            "challenger_probability": round(float(chal_probs[i]), 4),
            "champion_probability": round(float(champ_probs[i]), 4) if champ_probs is not None else None,
        }
        for i in in_slice.nonzero()[0][:SHOWN]
    ]
    chal_accuracy = float(chal_right[in_slice].mean()) if rows else None
    champ_accuracy = (0.0 if rows else None) if champion is not None else None
    return CorrectionsSlice(len(corrections), rows, chal_accuracy, champ_accuracy, shown)


def corrections_check(slice_: CorrectionsSlice, *, min_accuracy: float) -> Check:
    """Passes when the slice is empty, there is no champion, or the challenger beats the champion there."""
    name = "accuracy.corrections vs champion"
    if not slice_.rows:
        why = "no corrections data set" if not slice_.reviewed_rows else f"the champion got all {slice_.reviewed_rows} reviewed rows right"
        return Check(name, "corrections", None, None, 0.0, True, f"slice empty ({why}): does not block")
    if slice_.champion_accuracy is None:
        detail = f"no champion: {slice_.rows} reviewed rows reported, not blocking"
        return Check(name, "corrections", slice_.challenger_accuracy, None, 0.0, True, detail)
    limit = max(min_accuracy, slice_.champion_accuracy)
    ours = slice_.challenger_accuracy or 0.0
    passed = ours > slice_.champion_accuracy and ours >= min_accuracy
    detail = f"> champion and >= {min_accuracy:g} on the {slice_.rows} reviewed rows the champion got wrong"
    return Check(name, "corrections", ours, slice_.champion_accuracy, limit, passed, detail)
