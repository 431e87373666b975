"""The inference bundle: a folder any serving process can load with numpy and onnxruntime alone.

Layout (DESIGN.md, "Inference bundle"):
    model.onnx        single-file ONNX model: token_ids int64 [batch, seq] -> probability float32 [batch]
    tokenizer.json    the TokenizerSpec used in training
    labels.json       label ids -> names, and the decision threshold
    model_card.json   metrics, data digest, git commit, training run id, model name/version
    reference.csv     a sample of training inputs (text, label, probability) for drift checks
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ml.text import TokenizerError, TokenizerSpec

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
CARD_FILE = "model_card.json"
REFERENCE_FILE = "reference.csv"
BUNDLE_FILES = (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, CARD_FILE, REFERENCE_FILE)

INPUT_NAME = "token_ids"
OUTPUT_NAME = "probability"
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


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"model bundle file {path.name} is corrupt: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"model bundle file {path.name} is corrupt: expected a JSON object")
    return data


def read_tokenizer(paths: BundlePaths) -> TokenizerSpec:
    """The bundle's tokenizer spec; BundleError when it is corrupt."""
    try:
        return TokenizerSpec.load(paths.tokenizer)
    except TokenizerError as exc:
        raise BundleError(f"model bundle {paths.root}: tokenizer.json is corrupt: {exc}") from exc


def card_version(card: dict) -> str:
    """The version a bundle is known by: the registry version when known, else the training run id."""
    return str(card.get("model_version") or card.get("run_id") or "unversioned")


def read_card(path: str | Path) -> dict:
    return read_json(check_bundle(path).card)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_checksum(path: str | Path) -> str:
    """One digest over every bundle file (name + content), stable across copies."""
    paths = check_bundle(path)
    digest = hashlib.sha256()
    for name in BUNDLE_FILES:
        digest.update(name.encode())
        digest.update(file_sha256(paths.root / name).encode())
    return digest.hexdigest()


def copy_bundle(src: str | Path, dst: str | Path) -> Path:
    """Copy a complete bundle to dst atomically (write beside, then rename over)."""
    check_bundle(src)
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    old = dst.with_name(f".{dst.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if dst.exists():
        dst.rename(old)
    tmp.rename(dst)
    if old.exists():
        shutil.rmtree(old)
    return dst
