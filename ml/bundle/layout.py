"""The bundle's files: their names, the check that all are there, and one checksum over them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
CARD_FILE = "model_card.json"
REFERENCE_FILE = "reference.csv"
BUNDLE_FILES = (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, CARD_FILE, REFERENCE_FILE)
SEGMENTS_FILE = "segments.npz"  # the document segment score (ml.documents.scorer.SCORER_FILE); bundles before it lack it
OPTIONAL_FILES = (SEGMENTS_FILE,)  # in the checksum when present, so a changed or removed one no longer matches

INPUT_NAME = "token_ids"
OUTPUT_NAME = "probability"
LOGIT_NAME = "logit"  # optional second output (bundles since calibration): the calibrated logit
DEFAULT_LABELS = {"names": {"0": "compliant", "1": "non-compliant"}, "threshold": 0.5}


class BundleError(RuntimeError):
    """A bundle folder that is missing, incomplete or corrupt; the message names the piece."""


@dataclass(frozen=True)
class BundlePaths:
    root: Path

    @property
    def model(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def tokenizer(self) -> Path:
        return self.root / TOKENIZER_FILE

    @property
    def labels(self) -> Path:
        return self.root / LABELS_FILE

    @property
    def card(self) -> Path:
        return self.root / CARD_FILE

    @property
    def reference(self) -> Path:
        return self.root / REFERENCE_FILE


def check_bundle(path: str | Path) -> BundlePaths:
    """Raise BundleError naming every missing or empty file; return the paths when complete."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"model bundle folder {root} does not exist")
    missing = [name for name in BUNDLE_FILES if not (root / name).is_file()]
    if missing:
        raise BundleError(f"model bundle {root} is incomplete: missing {', '.join(missing)}")
    empty = [name for name in BUNDLE_FILES if (root / name).stat().st_size == 0]
    if empty:
        raise BundleError(f"model bundle {root} is corrupt: empty {', '.join(empty)}")
    return BundlePaths(root)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_checksum(path: str | Path) -> str:
    """One digest over every bundle file (name + content), the optional ones when present, stable across copies.
    A bundle without an optional file keeps the checksum it had before that file existed."""
    paths = check_bundle(path)
    digest = hashlib.sha256()
    names = (*BUNDLE_FILES, *(name for name in OPTIONAL_FILES if (paths.root / name).is_file()))
    for name in names:
        digest.update(name.encode())
        digest.update(file_sha256(paths.root / name).encode())
    return digest.hexdigest()
