"""The real-text families: held-out parts never reach training rows, labels follow the manufacture year."""

from __future__ import annotations

import re

import pytest

from ml.data import YEAR_PHRASES, held_out_sets
from ml.data import real_text_words as rw
from ml.data.real_text import FAMILIES, family_frame, real_text_sets
from ml.data.specs import REAL_TEXT_SHARE, training_frame
from ml.data.typos import known_words
from ml.domain import CUTOFF_YEAR, label_for
from ml.typo_snap import candidate_targets, edit_kind, snap

ROWS = 6000
_WORD_RE = re.compile(r"[a-z]+")


@pytest.fixture(scope="module")
def training_texts() -> list[str]:
    return [t.lower() for t in training_frame(ROWS, seed=7)["text"]]


def _pattern(template: str) -> re.Pattern:
    """A held-out template as a regular expression over lower-cased text (years and numbers match digits, the
    other slots anything)."""
    slots = {"d": r"\d{4}", "y": r"\d{4}", "n2": r"\d+", "n3": r"\d+", "c": r"[a-z]+"}
    pieces = re.split(r"\{(\w+)\}", template.lower())
    regex = "".join(slots.get(p, ".+?") if i % 2 else re.escape(p) for i, p in enumerate(pieces))
    return re.compile(r"(?<![a-z])" + regex)


def _found(templates, texts: list[str]) -> list[str]:
    return [t for t in templates if any(_pattern(t).search(text) for text in texts)]


def test_training_frame_holds_the_training_side_of_every_family():
    frame = training_frame(1000, seed=7)
    shapes = frame["shape"][frame["shape"].str.startswith("realtext-")]
    assert len(shapes) == round(1000 * REAL_TEXT_SHARE)
    assert set(shapes) == {f"realtext-train-{f}" for f in FAMILIES}
    assert training_frame(1000, seed=7).equals(frame)  # seeds stay reproducible


def test_held_out_phrasings_never_appear_in_training_rows(training_texts):
    held_out = [
        *rw.YEAR_ABBREVIATIONS["holdout"],
        *rw.CONDITION_ABBREVIATIONS["holdout"],
        *rw.DISTRACTORS["holdout"],
        *(clause for clauses in rw.CLAUSES["holdout"].values() for clause in clauses),
        *rw.CONNECTORS["holdout"],
        *rw.KEY_SEPARATORS["holdout"],
        *rw.FIELD_SEPARATORS["holdout"],
    ]
    assert _found(held_out, training_texts) == []
    seen = (*rw.DISTRACTORS["train"][:3], *rw.YEAR_ABBREVIATIONS["train"][:2], rw.CLAUSES["train"]["material"][0])
    assert _found(seen, training_texts) == list(seen)  # the training side does appear: the check can fail


def test_held_out_key_spellings_never_appear_in_training_rows(training_texts):
    keys = [key.lower() for spellings in rw.KEYS["holdout"].values() for key in spellings]
    found = [k for k in keys if any(re.search(r"(?<![a-z])" + re.escape(k) + r"(?![a-z])", t) for t in training_texts)]
    assert found == []
    assert any(re.search(r"(?<![a-z])mat\.", t) for t in training_texts)


def test_training_typos_are_deletions_and_substitutions_only(training_texts):
    clean = known_words() | {w for t in training_frame(ROWS, seed=7, real_text_share=0.0)["text"] for w in _WORD_RE.findall(t.lower())}
    targets = candidate_targets()
    kinds = {}
    for text in training_texts:
        for word in set(_WORD_RE.findall(text)) - clean:
            target = snap(word, targets)
            if target:
                kinds[word] = edit_kind(target, word)
    assert len(kinds) > 50, "the training rows hold typos"
    assert set(kinds.values()) == {"deletion", "substitution"}, {w: k for w, k in kinds.items() if k not in ("deletion", "substitution")}


def test_held_out_typos_are_transpositions_and_insertions():
    texts = [t.lower() for t in real_text_sets(500)["holdout_typos"]["text"]]
    kinds = {
        edit_kind(snap(w, candidate_targets()), w)
        for t in texts
        for w in _WORD_RE.findall(t)
        if w not in known_words() and snap(w, candidate_targets())
    }
    assert kinds == {"transposition", "insertion"}


def _manufacture_year(text: str) -> int | None:
    phrases = (*YEAR_PHRASES, *rw.YEAR_ABBREVIATIONS["train"])
    for phrase in sorted(phrases, key=len, reverse=True):
        match = re.search(r"(?<![a-z/])" + re.escape(phrase.lower()).replace(r"\{y\}", r"(\d{4})"), text.lower())
        if match:
            return int(match.group(1))
    return None


@pytest.mark.parametrize("side", ["train", "holdout"])
def test_distractor_labels_follow_the_manufacture_year(side):
    frame = family_frame("distractors", 800, seed=3, side=side)
    flips = 0
    for row in frame.itertuples():
        year = _manufacture_year(row.text)
        assert year == row.year, row.text
        assert row.label == label_for(year=year, condition=row.condition, material=row.material)
        others = [int(n) for n in re.findall(r"(?<!\d)\d{4}(?!\d)", row.text) if int(n) != year]
        assert others, row.text  # every row holds another year-shaped number
        flips += any((o < CUTOFF_YEAR) != (year < CUTOFF_YEAR) for o in others)
    assert flips > len(frame) / 2  # most distractors would flip the label if read as the manufacture year


def test_held_out_sets_one_per_family_from_the_held_out_side():
    sets = real_text_sets(200, seed=5)
    assert sorted(sets) == sorted(f"holdout_{f}" for f in FAMILIES)
    for name, frame in sets.items():
        assert len(frame) == 200 and set(frame["shape"]) == {f"realtext-holdout-{name.removeprefix('holdout_')}"}
        assert 0.2 < frame["label"].mean() < 0.8
    assert real_text_sets(200, seed=5)["holdout_key_value"].equals(sets["holdout_key_value"])


def test_the_frozen_holdout_sets_are_unchanged_by_the_families():
    assert sorted(held_out_sets(10)) == ["holdout_shapes", "holdout_years", "out_of_range_years"]
