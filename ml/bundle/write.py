"""Writing bundles: a new one from training, a card into an existing one, an atomic copy."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ml.bundle.card import ModelCard
from ml.bundle.layout import CARD_FILE, DEFAULT_LABELS, LABELS_FILE, MODEL_FILE, REFERENCE_FILE, TOKENIZER_FILE, check_bundle
from ml.text import TokenizerSpec


def write_card(folder: str | Path, card: ModelCard) -> Path:
    path = Path(folder) / CARD_FILE
    path.write_text(card.to_json(), encoding="utf-8")
    return path


def write_bundle(out: str | Path, *, model_file: Path, spec: TokenizerSpec, card: ModelCard, reference) -> Path:
    """Build the bundle beside `out`, then swap it in, so a reader never sees half a bundle.

    `reference` is a DataFrame with columns text, label, probability (a sample of training inputs).
    """
    out = Path(out)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; servers running as another user must read it
    (staging / MODEL_FILE).write_bytes(model_file.read_bytes())
    spec.save(staging / TOKENIZER_FILE)
    (staging / LABELS_FILE).write_text(json.dumps(DEFAULT_LABELS, indent=1))
    write_card(staging, card)
    reference.to_csv(staging / REFERENCE_FILE, index=False)
    copy_bundle(staging, out)
    shutil.rmtree(staging, ignore_errors=True)
    return out


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
