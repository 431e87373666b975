"""The served model's side of the comparison: the bundle's reference sample, tokenizer and version.

Reads only JSON/CSV files (no onnxruntime, no torch): drift needs the reference sample and the tokenizer,
not the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml.bundle import BundleError, check_bundle, read_card_file, read_json, read_tokenizer
from ml.text import TokenizerSpec


@dataclass(frozen=True)
class Reference:
    root: Path
    frame: pd.DataFrame  # text, label, probability
    spec: TokenizerSpec
    model_name: str
    model_version: str
    threshold: float


def load_reference(bundle_dir: str | Path | None) -> Reference:
    if bundle_dir is None or str(bundle_dir).strip() == "":
        raise BundleError("no model bundle given: pass --bundle DIR or set MODEL_DIR")
    paths = check_bundle(bundle_dir)
    spec = read_tokenizer(paths)
    card = read_card_file(paths.card)
    labels = read_json(paths.labels)
    try:
        frame = pd.read_csv(paths.reference, dtype={"text": str}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"model bundle {paths.root}: reference.csv cannot be read: {exc}") from exc
    missing = [c for c in ("text", "probability") if c not in frame.columns]
    if missing:
        raise BundleError(f"model bundle {paths.root}: reference.csv lacks column(s) {', '.join(missing)}")
    frame["probability"] = pd.to_numeric(frame["probability"], errors="coerce")
    frame = frame.dropna(subset=["probability"]).reset_index(drop=True)
    return Reference(
        root=paths.root,
        frame=frame,
        spec=spec,
        model_name=card.model_name,
        model_version=card.version,
        threshold=float(labels.get("threshold", 0.5)),
    )
