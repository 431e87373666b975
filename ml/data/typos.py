"""One-edit typos of material, condition and component words, as technicians make them.

Each typo is checked to be recoverable: it is no real word of the generator and it is one edit from exactly the
word it came from among the snap candidates (ml.typo_snap), so the row's label still follows from its text.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from ml.typo_snap import EDIT_KINDS, MIN_LETTERS, NEVER_SNAP, candidate_targets, snap

LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD_RE = re.compile(r"[a-z]+")


@cache
def known_words() -> frozenset[str]:
    """Words the generator writes on purpose (a typo must not land on one of them)."""
    from ml.data import real_text_words as rw
    from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, TRAIN_SHAPES, YEAR_PHRASES

    phrases = [*COMPONENTS, *CONDITION_PHRASES, *TRAIN_SHAPES, *YEAR_PHRASES, *rw.DISTRACTORS["train"], *rw.TYPO_SHAPES]
    phrases += [*rw.YEAR_ABBREVIATIONS["train"], *rw.CONDITION_ABBREVIATIONS["train"]]
    words = {w for phrase in phrases for w in _WORD_RE.findall(phrase.lower())}
    return frozenset(words | set(candidate_targets()) | set(NEVER_SNAP))


def one_edit(word: str, kind: str, rng: np.random.Generator) -> str:
    """`word` with one edit of `kind` (see ml.typo_snap.EDIT_KINDS) at a random place."""
    if kind not in EDIT_KINDS:
        raise ValueError(f"kind must be one of {EDIT_KINDS}, not {kind!r}")
    i = int(rng.integers(len(word) - (kind == "transposition")))
    letter = LETTERS[int(rng.integers(len(LETTERS)))]
    if kind == "deletion":
        return word[:i] + word[i + 1 :]
    if kind == "substitution":
        return word[:i] + letter + word[i + 1 :]
    if kind == "transposition":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + letter + word[i:]


def typo(word: str, kinds: tuple[str, ...], rng: np.random.Generator, *, tries: int = 12) -> str:
    """A recoverable one-edit typo of `word` of one of `kinds`, or `word` itself when none is found."""
    targets = candidate_targets()
    if word not in targets:
        return word
    for _ in range(tries):
        kind = kinds[int(rng.integers(len(kinds)))]
        out = one_edit(word, kind, rng)
        if len(out) >= MIN_LETTERS and out not in known_words() and snap(out, targets) == word:
            return out
    return word


def typo_words(phrase: str, kinds: tuple[str, ...], rng: np.random.Generator, *, most: int = 2) -> str:
    """`phrase` (lower case) with one to `most` of its candidate words (ml.typo_snap.candidate_targets) misspelt."""
    targets = set(candidate_targets())
    spans = [m.span() for m in _WORD_RE.finditer(phrase) if m.group() in targets]
    if not spans:
        return phrase
    picked = sorted(rng.choice(len(spans), size=min(len(spans), int(rng.integers(1, most + 1))), replace=False))
    out, at = [], 0
    for i in picked:
        start, end = spans[i]
        out += [phrase[at:start], typo(phrase[start:end], kinds, rng)]
        at = end
    return "".join(out) + phrase[at:]
