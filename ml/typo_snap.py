"""Typo snapping: an unknown word one edit away from exactly one target word is read as that word.

Pure Python, used by ml.text (the one tokenizer) at training and serving alike. The rule: a word the vocabulary
does not know, of at least MIN_LETTERS letters and not on the never-snap list, that is exactly one edit
(insertion, deletion, substitution or adjacent transposition) from exactly one target maps to that target.
Ambiguous words (one edit from two targets) stay unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

MIN_LETTERS = 3
TARGET_MIN_LETTERS = 5  # year-phrase and component words; material and condition words count at any length
# Real words one edit from a target that mean something else ("pair" is not "fair", the "hood" is a part).
NEVER_SNAP = (
    *("pair", "hair", "wood", "hood", "food", "gold", "goods", "pour", "pool", "poop", "icon", "ion"),
    *("few", "now", "knew", "sell", "steer", "steep", "still", "cost", "case", "vast", "last", "past"),
)
EDIT_KINDS = ("deletion", "substitution", "transposition", "insertion")


def edit_kind(word: str, typo: str) -> str | None:
    """How `typo` is one edit from `word` ("deletion": a letter of `word` dropped, "insertion": a letter
    added, "substitution", "transposition": two adjacent letters swapped), or None when it is not."""
    if word == typo:
        return None
    if len(typo) == len(word):
        diffs = [i for i, (a, b) in enumerate(zip(word, typo, strict=True)) if a != b]
        if len(diffs) == 1:
            return "substitution"
        i = diffs[0]
        if len(diffs) == 2 and diffs[1] == i + 1 and word[i] == typo[i + 1] and word[i + 1] == typo[i]:
            return "transposition"
        return None
    shorter, longer = (typo, word) if len(typo) < len(word) else (word, typo)
    if len(longer) - len(shorter) != 1:
        return None
    i = next((k for k, (a, b) in enumerate(zip(shorter, longer[: len(shorter)], strict=True)) if a != b), len(shorter))
    if shorter[i:] != longer[i + 1 :]:
        return None
    return "deletion" if longer is word else "insertion"


def snap(word: str, targets: Iterable[str], never_snap: Iterable[str] = NEVER_SNAP) -> str | None:
    """The one target `word` is a single edit from, or None (too short, never-snap, none or several)."""
    if len(word) < MIN_LETTERS or not word.isalpha() or word in set(never_snap):
        return None
    hits = [t for t in targets if abs(len(t) - len(word)) <= 1 and edit_kind(t, word) is not None]
    return hits[0] if len(hits) == 1 else None


@cache
def candidate_targets() -> tuple[str, ...]:
    """Every word that may become a target: material and condition words at any length (ml.domain), the words of
    the condition phrases, year phrases and component names of at least TARGET_MIN_LETTERS letters (ml.data.phrasing).
    Training only (the lists come with the generator); a spec stores the targets it was built with."""
    from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, YEAR_PHRASES
    from ml.domain import CONDITIONS, MATERIAL_FORMS

    short = [w for forms in MATERIAL_FORMS.values() for form in forms for w in _letters(form)]
    short += [w for c in CONDITIONS for w in _letters(c)]
    long = [w for phrase in (*CONDITION_PHRASES, *YEAR_PHRASES, *COMPONENTS) for w in _letters(phrase)]
    words = [w for w in short if len(w) >= MIN_LETTERS] + [w for w in long if len(w) >= TARGET_MIN_LETTERS]
    return tuple(dict.fromkeys(w for w in words if w not in NEVER_SNAP))


def _letters(phrase: str) -> list[str]:
    return ["".join(ch for ch in part if ch.isalpha()) for part in phrase.lower().replace("-", " ").split()]
