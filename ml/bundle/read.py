"""Reading a bundle's JSON files, each failure a BundleError that names the file."""

from __future__ import annotations

import json
from pathlib import Path

from ml.bundle.card import ModelCard
from ml.bundle.layout import BundleError, BundlePaths, check_bundle
from ml.text import TokenizerError, TokenizerSpec


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


def read_card_file(path: Path) -> ModelCard:
    """The card in `path` (a bundle's model_card.json); BundleError naming the file and the field."""
    data = read_json(path)
    try:
        return ModelCard.from_dict(data)
    except BundleError as exc:
        raise BundleError(f"model bundle {path.parent}: {path.name}: {exc}") from exc


def read_card(path: str | Path) -> ModelCard:
    """The card of the complete bundle in folder `path`."""
    return read_card_file(check_bundle(path).card)
