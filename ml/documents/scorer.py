"""The learned component-vs-boilerplate score: hashed word and word-pair features, a logistic model's weights.

Numpy only at serving time: the weights are a small .npz (`segments.npz` in a bundle, else the default shipped
beside this module, trained by `python -m ml segments`). Training lives in ml.segment_training (scikit-learn).
The features use the one tokenizer (ml.text.split_tokens); digits keep their place-value tokens.
"""

from __future__ import annotations

import itertools
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.text import split_tokens

SCORER_FILE = "segments.npz"
DEFAULT_SCORER = Path(__file__).with_name("default_segments.npz")
FEATURE_BITS = 18
_MASK = (1 << FEATURE_BITS) - 1
_CACHE_LIMIT = 500_000
_cache: dict[str, int] = {}
_word_ids: dict[str, int] = {}  # token -> id of "w=token"
_pair_ids: dict[tuple[str, str], int] = {}  # (a, b) -> id of "b=a_b"


def _hash(feature: str) -> int:
    value = _cache.get(feature)
    if value is None:
        value = zlib.crc32(feature.encode("utf-8")) & _MASK
        if len(_cache) < _CACHE_LIMIT:
            _cache[feature] = value
    return value


def _segment_features(text: str, kind: str, tokens: list[str]) -> list[str]:
    """The features of the segment as a whole: its kind, its length, its punctuation, its first and last word."""
    out = [f"k={kind}", f"n={min(len(tokens), 12) // 2}", f"end={text.rstrip()[-1:]}", f"colons={min(text.count(':'), 4)}"]
    return [*out, f"first={tokens[0]}", f"last={tokens[-1]}"] if tokens else out


def _word_feature(token: str) -> str:
    return f"w={token}"


def _pair_feature(pair: tuple[str, str]) -> str:
    return f"b={pair[0]}_{pair[1]}"


def feature_names(text: str, kind: str) -> list[str]:
    """The features of one segment: its kind, its length, its words and word pairs, and its punctuation."""
    tokens = split_tokens(text)
    return [*_segment_features(text, kind, tokens), *map(_word_feature, tokens), *map(_pair_feature, itertools.pairwise(tokens))]


def _cached_id(cache: dict, key, feature) -> int:
    """`_hash(feature(key))`, kept in `cache` by key (emptied when it passes _CACHE_LIMIT)."""
    value = cache[key] = _hash(feature(key))
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    return value


def _sorted_ids(text: str, kind: str) -> list[int]:
    """The ids of feature_names(text, kind), distinct and ascending; words and word pairs looked up by token, so
    no feature string is built for a word seen before (two thirds of scoring a document's segments)."""
    tokens = split_tokens(text)
    words, pairs = _word_ids, _pair_ids
    ids = {_hash(f) for f in _segment_features(text, kind, tokens)}
    ids.update([words[t] if t in words else _cached_id(words, t, _word_feature) for t in tokens])
    ids.update([pairs[p] if p in pairs else _cached_id(pairs, p, _pair_feature) for p in itertools.pairwise(tokens)])
    return sorted(ids)


def feature_ids(text: str, kind: str) -> np.ndarray:
    """The segment's distinct feature ids, ascending (what np.unique gives)."""
    return np.array(_sorted_ids(text, kind), dtype=np.int64)


@dataclass(frozen=True)
class SegmentScorer:
    weights: np.ndarray  # float32 [2**FEATURE_BITS]
    bias: float
    threshold: float = 0.5

    def score(self, texts: list[str], kinds: list[str]) -> np.ndarray:
        """Probability that each segment is a component (not boilerplate)."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        ids = [_sorted_ids(t, k) for t, k in zip(texts, kinds, strict=True)]  # lists: no numpy call per segment
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        logits = np.add.reduceat(self.weights[flat], starts) + self.bias
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez_compressed(path, weights=self.weights.astype(np.float16), bias=np.float32(self.bias), threshold=np.float32(self.threshold))
        return path

    @classmethod
    def load(cls, path: str | Path) -> SegmentScorer:
        with np.load(Path(path), allow_pickle=False) as data:
            weights = data["weights"].astype(np.float32)
            if weights.shape != (1 << FEATURE_BITS,):
                raise ValueError(f"{path}: segment scorer weights have shape {weights.shape}, expected ({1 << FEATURE_BITS},)")
            return cls(weights=weights, bias=float(data["bias"]), threshold=float(data["threshold"]))


def load_scorer(bundle: str | Path | None = None) -> SegmentScorer:
    """The bundle's scorer when it has one, else the default shipped with the code."""
    path = Path(bundle) / SCORER_FILE if bundle is not None else None
    if path is None or not path.is_file():
        return SegmentScorer.load(DEFAULT_SCORER)
    try:
        return SegmentScorer.load(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        from ml.bundle import BundleError

        raise BundleError(f"model bundle {path.parent}: {SCORER_FILE} is corrupt: {exc}") from exc
