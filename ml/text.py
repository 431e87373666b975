"""The one tokenizer shared by training and serving.

Pure Python + numpy: the portal imports this module, so it must never pull in torch or mlflow.
A `TokenizerSpec` (saved as JSON beside every model) fully determines the mapping text -> ids.

Numbers are not looked up as words: every digit becomes a place-value token (``1985`` ->
``#3:1 #2:9 #1:8 #0:5``), so a model sees the thousands, hundreds, tens and units of a year it
never met in training through tokens it has met.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SPEC_VERSION = 1
PAD, UNK, BIGNUM = "<pad>", "<unk>", "<bignum>"
RESERVED = (PAD, UNK, BIGNUM)
MAX_DIGITS = 6  # longer digit runs (serial numbers) collapse to one <bignum> token
DIGIT_TOKENS = tuple(f"#{place}:{d}" for place in range(MAX_DIGITS) for d in range(10))

# Words are runs of unicode letters; numbers are runs of ASCII digits (after NFKC).
_TOKEN_RE = re.compile(r"[^\W\d_]+|[0-9]+")


class TokenizerError(ValueError):
    """A tokenizer spec that cannot be used (wrong version, broken vocabulary)."""


@dataclass(frozen=True)
class TokenizerSpec:
    vocab: tuple[str, ...]
    max_length: int = 64
    lowercase: bool = True
    unicode_form: str = "NFKC"
    version: int = SPEC_VERSION
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version != SPEC_VERSION:
            raise TokenizerError(f"tokenizer spec version {self.version} is not supported (expected {SPEC_VERSION})")
        if tuple(self.vocab[: len(RESERVED)]) != RESERVED:
            raise TokenizerError(f"tokenizer vocabulary must start with {RESERVED}")
        if len(set(self.vocab)) != len(self.vocab):
            raise TokenizerError("tokenizer vocabulary has duplicate entries")
        if self.max_length < 1:
            raise TokenizerError("max_length must be positive")
        object.__setattr__(self, "vocab", tuple(self.vocab))
        object.__setattr__(self, "index", {tok: i for i, tok in enumerate(self.vocab)})

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("index")
        data["vocab"] = list(self.vocab)
        return data

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> TokenizerSpec:
        try:
            return cls(
                vocab=tuple(data["vocab"]),
                max_length=int(data["max_length"]),
                lowercase=bool(data["lowercase"]),
                unicode_form=str(data["unicode_form"]),
                version=int(data["version"]),
            )
        except (KeyError, TypeError) as exc:
            raise TokenizerError(f"tokenizer spec is missing or has a bad field: {exc}") from exc

    @classmethod
    def load(cls, path: str | Path) -> TokenizerSpec:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TokenizerError(f"cannot read tokenizer spec {path}: {exc}") from exc
        return cls.from_dict(data)


def normalize(text: str, *, unicode_form: str = "NFKC", lowercase: bool = True) -> str:
    text = unicodedata.normalize(unicode_form, text)
    return text.casefold() if lowercase else text


def _number_tokens(digits: str) -> list[str]:
    if len(digits) > MAX_DIGITS:
        return [BIGNUM]
    width = len(digits)
    return [f"#{width - 1 - i}:{d}" for i, d in enumerate(digits)]


def split_tokens(text: str, *, unicode_form: str = "NFKC", lowercase: bool = True) -> list[str]:
    """Text -> token strings (words, place-value digits). Punctuation and spacing carry no meaning."""
    out: list[str] = []
    for match in _TOKEN_RE.finditer(normalize(text, unicode_form=unicode_form, lowercase=lowercase)):
        piece = match.group()
        out.extend(_number_tokens(piece) if piece[0].isdigit() else [piece])
    return out


def build_spec(texts: Iterable[str], *, max_length: int = 64, min_count: int = 1, max_vocab: int = 10_000) -> TokenizerSpec:
    """Fit a vocabulary on training texts. Every digit token is always present."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(split_tokens(text))
    fixed = list(RESERVED) + list(DIGIT_TOKENS)
    taken = set(fixed)
    words = [tok for tok, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count and tok not in taken]
    return TokenizerSpec(vocab=tuple(fixed + words[: max(0, max_vocab - len(fixed))]), max_length=max_length)


def encode(text: str, spec: TokenizerSpec) -> list[int]:
    """One text -> ids, truncated to spec.max_length, unpadded."""
    tokens = split_tokens(text, unicode_form=spec.unicode_form, lowercase=spec.lowercase)[: spec.max_length]
    unk = spec.index[UNK]
    return [spec.index.get(tok, unk) for tok in tokens]


def encode_batch(texts: Sequence[str], spec: TokenizerSpec, *, to_longest: bool = False) -> np.ndarray:
    """Texts -> int64 array [batch, max_length], 0-padded on the right (the ONNX input contract). to_longest:
    only as wide as the longest text (at least 1): the same ids with the all-padding columns cut."""
    rows = [encode(text, spec) for text in texts]
    width = max(1, max(map(len, rows), default=0)) if to_longest else spec.max_length
    ids = np.zeros((len(rows), width), dtype=np.int64)
    for row, encoded in enumerate(rows):
        ids[row, : len(encoded)] = encoded
    return ids


NUMERIC_FEATURES = MAX_DIGITS * 10


def numeric_features(spec: TokenizerSpec) -> np.ndarray:
    """A fixed float32 table [vocab_size, MAX_DIGITS * 10] giving digit tokens an ordinal meaning.

    For token `#p:d`, block p holds one "is a digit at place p" flag and a thermometer code of d
    (bit k set when d >= k, k = 1..9), so "units >= 5" or "hundreds == 9" are linear functions:
    a model can then read years it never saw. Every other token maps to zeros.
    """
    table = np.zeros((spec.vocab_size, NUMERIC_FEATURES), dtype=np.float32)
    for idx, token in enumerate(spec.vocab):
        if token.startswith("#") and ":" in token:
            place, digit = (int(part) for part in token[1:].split(":"))
            block = place * 10
            table[idx, block] = 1.0
            table[idx, block + 1 : block + 1 + digit] = 1.0
    return table


def unknown_share(text: str, spec: TokenizerSpec) -> float:
    """Share of a text's tokens the vocabulary does not know (0.0 for a text with no tokens)."""
    tokens = split_tokens(text, unicode_form=spec.unicode_form, lowercase=spec.lowercase)
    if not tokens:
        return 0.0
    return sum(tok not in spec.index for tok in tokens) / len(tokens)
