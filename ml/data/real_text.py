"""Text as technicians really type it, in four families: typos and abbreviations, distractor years and numbers,
key-value spec-sheet rows with shuffled fields, and multi-clause descriptions.

Each family has a training side and a held-out side (ml.data.real_text_words): the held-out sets measure
typo kinds, abbreviations, distractor phrasings, keys and clauses that training never shows. Labels come from
ml.domain.label_for on the manufacture year, whatever other years the text holds.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from ml.data import real_text_words as rw
from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, YEAR_PHRASES
from ml.data.typos import LETTERS, known_words, typo_words
from ml.data.years import HOLDOUT_YEARS, YearSpec, sample_years
from ml.domain import COMPLIANT_CONDITIONS, COMPLIANT_MATERIALS, CONDITIONS, CUTOFF_YEAR, MATERIAL_FORMS, MATERIALS, label_for
from ml.typo_snap import candidate_targets, snap

FAMILIES = ("typos", "distractors", "key_value", "multi_clause")
SIDES = ("train", "holdout")
# Shares of the training mix (ml.data.specs.training_frame gives these rows REAL_TEXT_SHARE of its rows).
FAMILY_SHARES = {"typos": 0.3, "distractors": 0.3, "key_value": 0.2, "multi_clause": 0.2}


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _attributes(rng: np.random.Generator, n: int, years: YearSpec | None) -> list[dict]:
    """Attributes and labels: 45% compliant rows, 30% compliant in material and condition so that the year
    decides, 25% anything."""
    pool = (years or YearSpec()).pool()
    out = []
    for r in rng.random(n):
        year = int(sample_years(rng, pool, 1, compliant=bool(r < 0.45))[0])
        if r < 0.75:
            material, condition = _pick(rng, COMPLIANT_MATERIALS), _pick(rng, COMPLIANT_CONDITIONS)
        else:
            material, condition = _pick(rng, MATERIALS), _pick(rng, CONDITIONS)
        label = label_for(year=year, condition=condition, material=material)
        out.append({"year": year, "material": material, "condition": condition, "label": label})
    return out


@cache
def junk_words(count: int = 40) -> tuple[str, ...]:
    """Made-up words (technicians' names, codes): a fixed pool, so a sample of the training distribution holds no
    word its model never saw (monitoring's text drift stays quiet)."""
    rng = np.random.default_rng(2026)
    words: dict[str, None] = {}
    while len(words) < count:
        word = "".join(LETTERS[int(i)] for i in rng.integers(len(LETTERS), size=int(rng.integers(5, 9))))
        if word not in known_words() and snap(word, candidate_targets()) is None:
            words[word] = None
    return tuple(words)


def junk(rng: np.random.Generator) -> str:
    return _pick(rng, junk_words())


def _noisy(phrases: tuple[str, ...], noise: str, rng: np.random.Generator, side: str, share: float = 0.25) -> str:
    """A phrase; on the training side, with probability `share`, the noise phrase instead (junk filled in)."""
    if side == "train" and rng.random() < share:
        return noise.replace("{junk}", junk(rng))
    return _pick(rng, phrases)


def _case(text: str, rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.6:
        return text[:1].upper() + text[1:]
    if r < 0.8:
        return text
    return text.title() if r < 0.9 else text.upper()


def _parts(a: dict, rng: np.random.Generator, *, year_phrases, condition_phrases) -> dict:
    name = _pick(rng, COMPONENTS)
    return {
        "name": name,
        "Name": name[:1].upper() + name[1:],
        "mat": _pick(rng, MATERIAL_FORMS[a["material"]]),
        "yp": _pick(rng, year_phrases).format(y=a["year"]),
        "cp": _pick(rng, condition_phrases).format(c=a["condition"]),
        "c": a["condition"],
        "y": a["year"],
    }


def _typo_text(a: dict, rng: np.random.Generator, side: str) -> str:
    abbreviated = rng.random() < 0.5
    years = rw.YEAR_ABBREVIATIONS[side] if abbreviated else YEAR_PHRASES
    conditions = rw.CONDITION_ABBREVIATIONS[side] if rng.random() < 0.5 else tuple(CONDITION_PHRASES)
    years = (_noisy(years, rw.NOISE_YEAR_PHRASE, rng, side),)
    parts = _parts(a, rng, year_phrases=years, condition_phrases=conditions)
    text = _pick(rng, rw.TYPO_SHAPES).format(**parts).lower()
    return _case(typo_words(text, rw.TYPO_KINDS[side], rng), rng)


def _distractor_year(rng: np.random.Generator, year: int) -> int:
    """Mostly a year on the other side of the cut-off, so reading it instead of the manufacture year flips the label."""
    while True:
        if rng.random() < 0.75:
            d = int(rng.integers(1900, CUTOFF_YEAR)) if year >= CUTOFF_YEAR else int(rng.integers(CUTOFF_YEAR, 2031))
        else:
            d = int(rng.integers(1900, 2031))
        if d != year and d not in HOLDOUT_YEARS:
            return d


def _distractor(a: dict, rng: np.random.Generator, side: str) -> str:
    return _noisy(rw.DISTRACTORS[side], rw.NOISE_DISTRACTOR, rng, side).format(
        d=_distractor_year(rng, a["year"]), n2=rng.integers(10, 99), n3=rng.integers(100, 999)
    )


def _distractor_text(a: dict, rng: np.random.Generator, side: str) -> str:
    years = YEAR_PHRASES + (rw.YEAR_ABBREVIATIONS["train"] if side == "train" else ())
    parts = _parts(a, rng, year_phrases=years, condition_phrases=tuple(CONDITION_PHRASES))
    text = _pick(rng, rw.DISTRACTOR_SHAPES).format(**parts, dist=_distractor(a, rng, side), dist2=_distractor(a, rng, side))
    return _case(text, rng)


def _key_value_text(a: dict, rng: np.random.Generator, side: str) -> str:
    keys = rw.KEYS[side]
    material = _pick(rng, MATERIAL_FORMS[a["material"]])
    values = {
        "material": material.title() if rng.random() < 0.5 else material,
        "year": str(a["year"]),
        "condition": a["condition"].capitalize() if rng.random() < 0.5 else a["condition"],
        "component": _pick(rng, COMPONENTS),
    }
    roles = ["material", "year", "condition"] + (["component"] if rng.random() < 0.7 else [])
    sep = _pick(rng, rw.KEY_SEPARATORS[side])
    fields = [f"{_noisy(keys[role], '{junk}', rng, side, 0.15).capitalize()}{sep}{values[role]}" for role in roles]
    if rng.random() < 0.3:
        extra = _pick(rng, rw.EXTRA_FIELDS)
        fields.append(extra.format(n2=rng.integers(1, 60), n3=rng.integers(100, 999), n8=rng.integers(10**7, 10**8)))
    return _pick(rng, rw.FIELD_SEPARATORS[side]).join(fields[i] for i in rng.permutation(len(fields)))


def _multi_clause_text(a: dict, rng: np.random.Generator, side: str) -> str:
    clauses = rw.CLAUSES[side]
    parts = _parts(
        a, rng, year_phrases=(_noisy(YEAR_PHRASES, rw.NOISE_YEAR_PHRASE, rng, side, 0.2),), condition_phrases=tuple(CONDITION_PHRASES)
    )
    said = [_pick(rng, clauses[role]).format(**parts) for role in ("material", "year", "condition")]
    remarks = clauses["remark"]
    said += [remarks[i] for i in rng.choice(len(remarks), size=int(rng.integers(1, 3)), replace=False)]
    if side == "train" and rng.random() < 0.3:
        said.append(rw.NOISE_REMARK.format(junk=junk(rng)))
    said = [said[i] for i in rng.permutation(len(said))]
    connectors = rw.CONNECTORS[side]
    text = said[0]
    for clause in said[1:]:
        text += _pick(rng, connectors) + clause
    opening = f"The {parts['name']}: " if rng.random() < 0.5 else f"{parts['Name']} - "
    return _case(opening + text, rng)


_BUILDERS = {"typos": _typo_text, "distractors": _distractor_text, "key_value": _key_value_text, "multi_clause": _multi_clause_text}


def family_frame(family: str, rows: int, *, seed: int, side: str = "train", years: YearSpec | None = None) -> pd.DataFrame:
    """`rows` labelled texts of one family and side (columns as ml.data.generate's)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, not {family!r}")
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    rng = np.random.default_rng(seed)
    attrs = _attributes(rng, rows, years)
    texts = [_BUILDERS[family](a, rng, side) for a in attrs]
    return pd.DataFrame(
        {
            "text": texts,
            "label": [a["label"] for a in attrs],
            "year": [a["year"] for a in attrs],
            "material": [a["material"] for a in attrs],
            "condition": [a["condition"] for a in attrs],
            "component": ["real text"] * rows,
            "shape": [f"realtext-{side}-{family}"] * rows,
        }
    )


def real_text_frame(rows: int, *, seed: int, years: YearSpec | None = None) -> pd.DataFrame:
    """The training side of every family, in FAMILY_SHARES (the last family takes the rounding)."""
    counts = {f: round(rows * share) for f, share in FAMILY_SHARES.items()}
    counts[FAMILIES[-1]] = max(0, rows - sum(counts[f] for f in FAMILIES[:-1]))
    parts = [family_frame(f, counts[f], seed=seed + i, years=years) for i, f in enumerate(FAMILIES)]
    return pd.concat(parts, ignore_index=True)


def real_text_sets(rows: int, *, seed: int = 4321) -> dict[str, pd.DataFrame]:
    """One held-out set per family (`holdout_<family>`), built from the held-out side only."""
    return {f"holdout_{f}": family_frame(f, rows, seed=seed + i, side="holdout") for i, f in enumerate(FAMILIES)}
