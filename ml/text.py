"""The one tokenizer shared by training and serving.

Pure Python + numpy: the portal imports this module, so it must never pull in torch or mlflow.
A `TokenizerSpec` (saved as JSON beside every model) fully determines the mapping text -> ids.

Numbers are not looked up as words: every digit becomes a place-value token (``1985`` ->
``#3:1 #2:9 #1:8 #0:5``), so a model sees the thousands, hundreds, tens and units of a year it
never met in training through tokens it has met.

Version 2 specs also snap typos (ml.typo_snap): a word the vocabulary does not know that is one edit from exactly
one of the spec's `snap_targets` reads as that word ("seel" -> "steel"). Version 1 specs never snap, so an old
bundle encodes exactly as it did when it was trained.
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

from ml.typo_snap import NEVER_SNAP, candidate_targets, snap

SPEC_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
_SNAP_CACHE_LIMIT = 100_000
PAD, UNK, BIGNUM = "<pad>", "<unk>", "<bignum>"
RESERVED = (PAD, UNK, BIGNUM)
MAX_DIGITS = 6  # longer digit runs (serial numbers) collapse to one <bignum> token
DIGIT_TOKENS = tuple(f"#{place}:{d}" for place in range(MAX_DIGITS) for d in range(10))

# Words are runs of unicode letters; numbers are runs of ASCII digits (after NFKC).
_TOKEN_RE = re.compile(r"[^\W\d_]+|[0-9]+")
# An ASCII text's separators as spaces, so str.split finds its words and numbers (a quarter of the regex's time)
_ASCII_SEPARATORS = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
_NUMBER_CACHE_LIMIT = 100_000
_number_cache: dict[str, list[str]] = {}


class TokenizerError(ValueError):
    """A tokenizer spec that cannot be used (wrong version, broken vocabulary)."""


@dataclass(frozen=True)
class TokenizerSpec:
    vocab: tuple[str, ...]
    max_length: int = 64
    lowercase: bool = True
    unicode_form: str = "NFKC"
    version: int = SPEC_VERSION
    snap_targets: tuple[str, ...] = ()
    never_snap: tuple[str, ...] = NEVER_SNAP
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    _snapped: dict[str, int] = field(init=False, repr=False, compare=False)
    _words: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_version(self.version)
        if self.version == 1 and self.snap_targets:
            raise TokenizerError("a version 1 tokenizer spec cannot have snap_targets (typo snapping is version 2)")
        if tuple(self.vocab[: len(RESERVED)]) != RESERVED:
            raise TokenizerError(f"tokenizer vocabulary must start with {RESERVED}")
        if len(set(self.vocab)) != len(self.vocab):
            raise TokenizerError("tokenizer vocabulary has duplicate entries")
        if self.max_length < 1:
            raise TokenizerError("max_length must be positive")
        object.__setattr__(self, "vocab", tuple(self.vocab))
        object.__setattr__(self, "snap_targets", tuple(self.snap_targets))
        object.__setattr__(self, "never_snap", tuple(self.never_snap))
        object.__setattr__(self, "index", {tok: i for i, tok in enumerate(self.vocab)})
        object.__setattr__(self, "_snapped", {})
        object.__setattr__(self, "_words", {})
        missing = [t for t in self.snap_targets if t not in self.index]
        if missing:
            raise TokenizerError(f"tokenizer snap_targets not in the vocabulary: {missing[:5]}")

    def token_id(self, token: str) -> int:
        """The id of one token: its own, else (version 2) the id of the target it snaps to, else <unk>'s."""
        idx = self.index.get(token)
        if idx is not None:
            return idx
        if not self.snap_targets:
            return self.index[UNK]
        cached = self._snapped.get(token)
        if cached is None:
            target = snap(token, self.snap_targets, self.never_snap)
            cached = self.index[target] if target else self.index[UNK]
            if len(self._snapped) >= _SNAP_CACHE_LIMIT:
                self._snapped.clear()
            self._snapped[token] = cached
        return cached

    def word_ids(self, word: str) -> tuple[int, ...]:
        """The ids of one word as written (split_tokens, then token_id), cached: the evidence reads each word of
        every text it explains, and a domain's words repeat."""
        cached = self._words.get(word)
        if cached is None:
            cached = tuple(self.token_id(tok) for tok in split_tokens(word, unicode_form=self.unicode_form, lowercase=self.lowercase))
            if len(self._words) >= _SNAP_CACHE_LIMIT:
                self._words.clear()
            self._words[word] = cached
        return cached

    def knows(self, token: str) -> bool:
        """Whether the token reads as something other than <unk> (directly or snapped)."""
        return token in self.index or self.token_id(token) != self.index[UNK]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("index")
        data.pop("_snapped")
        data.pop("_words")
        data["vocab"] = list(self.vocab)
        if self.version == 1:  # the v1 file format, unchanged
            data.pop("snap_targets")
            data.pop("never_snap")
        else:
            data["snap_targets"], data["never_snap"] = list(self.snap_targets), list(self.never_snap)
        return data

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> TokenizerSpec:
        try:
            version = _check_version(int(data["version"]))
            snapping = {}
            if version >= 2:  # a v2 spec names its targets; a v1 spec has none and never snaps
                snapping = {"snap_targets": tuple(data["snap_targets"]), "never_snap": tuple(data["never_snap"])}
            return cls(
                vocab=tuple(data["vocab"]),
                max_length=int(data["max_length"]),
                lowercase=bool(data["lowercase"]),
                unicode_form=str(data["unicode_form"]),
                version=version,
                **snapping,
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


def _check_version(version: int) -> int:
    if version not in SUPPORTED_VERSIONS:
        raise TokenizerError(
            f"tokenizer spec version {version} is not supported (this code reads versions {SUPPORTED_VERSIONS}): "
            "update the serving code before deploying this bundle"
        )
    return version


def normalize(text: str, *, unicode_form: str = "NFKC", lowercase: bool = True) -> str:
    text = unicodedata.normalize(unicode_form, text)
    return text.casefold() if lowercase else text


def _number_tokens(digits: str) -> list[str]:
    if len(digits) > MAX_DIGITS:
        return [BIGNUM]
    width = len(digits)
    return [f"#{width - 1 - i}:{d}" for i, d in enumerate(digits)]


def _numbers(digits: str) -> list[str]:
    tokens = _number_cache.get(digits)
    if tokens is None:
        tokens = _number_tokens(digits)
        if len(_number_cache) < _NUMBER_CACHE_LIMIT:
            _number_cache[digits] = tokens
    return tokens


def split_tokens(text: str, *, unicode_form: str = "NFKC", lowercase: bool = True) -> list[str]:
    """Text -> token strings (words, place-value digits). Punctuation and spacing carry no meaning."""
    text = normalize(text, unicode_form=unicode_form, lowercase=lowercase)
    if not text.isascii():
        return [token for piece in _TOKEN_RE.findall(text) for token in (_number_tokens(piece) if piece[0].isdigit() else [piece])]
    out: list[str] = []  # most texts: the pieces _TOKEN_RE finds, by a byte translation and a split
    for piece in text.encode("ascii").translate(_ASCII_SEPARATORS).decode("ascii").split():
        if piece.isalpha():
            out.append(piece)
        elif piece.isdigit():
            out += _numbers(piece)
        else:  # letters and digits together ("m8"): the regex splits them
            out += [token for part in _TOKEN_RE.findall(piece) for token in (_numbers(part) if part.isdigit() else [part])]
    return out


# A word that snaps to a target and is this many times rarer is a typo: it stays out of the vocabulary so that it
# snaps ("stel" reads as "steel"). Rarer words that are real ("air" beside "fair") are far more common than that.
TYPO_RARITY = 20


def build_spec(texts: Iterable[str], *, max_length: int = 64, min_count: int = 1, max_vocab: int = 10_000) -> TokenizerSpec:
    """Fit a version 2 vocabulary on training texts. Every digit token is always present; the snap targets are the
    candidate words (ml.typo_snap.candidate_targets) the texts contain; rare typos of a target are left out."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(split_tokens(text))
    fixed = list(RESERVED) + list(DIGIT_TOKENS)
    taken = set(fixed)
    targets = [w for w in candidate_targets() if counts[w] >= min_count]

    def typo(tok: str, n: int) -> bool:
        target = None if tok in targets else snap(tok, targets, NEVER_SNAP)
        return target is not None and n * TYPO_RARITY < counts[target]

    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    words = [tok for tok, n in ranked if n >= min_count and tok not in taken and not typo(tok, n)]
    vocab = tuple(fixed + words[: max(0, max_vocab - len(fixed))])
    kept = set(vocab)
    return TokenizerSpec(vocab=vocab, max_length=max_length, snap_targets=tuple(t for t in targets if t in kept))


def encode(text: str, spec: TokenizerSpec) -> list[int]:
    """One text -> ids, truncated to spec.max_length, unpadded."""
    tokens = split_tokens(text, unicode_form=spec.unicode_form, lowercase=spec.lowercase)[: spec.max_length]
    return [spec.token_id(tok) for tok in tokens]


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
    return sum(not spec.knows(tok) for tok in tokens) / len(tokens)
