"""Synthetic technician descriptions: labelled rows in many sentence shapes, and the held-out evaluation sets.

The label rule and the vocabulary live in ml.domain; the rule only generates and checks labels,
models learn it from text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, HOLDOUT_SHAPES, REFERENCE_SHAPES, TRAIN_SHAPES, YEAR_PHRASES
from ml.data.years import HOLDOUT_YEARS, OUT_OF_RANGE_YEARS, YearSpec, sample_years
from ml.domain import (
    COMPLIANT_CONDITIONS,
    COMPLIANT_MATERIALS,
    CONDITIONS,
    CUTOFF_YEAR,
    MATERIAL_FORMS,
    MATERIALS,
    NON_COMPLIANT_CONDITIONS,
    NON_COMPLIANT_MATERIALS,
)

STYLES = ("rich", "reference")
SHAPE_SETS = ("train", "holdout")


def _sample_attributes(rng: np.random.Generator, pool: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attributes conditioned on each row's label (vectorised rejection sampling for label 1)."""
    n = len(labels)
    years = np.zeros(n, dtype=int)
    conditions = np.empty(n, dtype=object)
    materials = np.empty(n, dtype=object)
    ok = labels == 0
    years[ok] = sample_years(rng, pool, int(ok.sum()), compliant=True)
    conditions[ok] = rng.choice(COMPLIANT_CONDITIONS, size=int(ok.sum()))
    materials[ok] = rng.choice(COMPLIANT_MATERIALS, size=int(ok.sum()))
    todo = np.flatnonzero(~ok)
    while len(todo):
        y = sample_years(rng, pool, len(todo), compliant=False)
        c = rng.choice(CONDITIONS, size=len(todo))
        m = rng.choice(MATERIALS, size=len(todo))
        hit = (y < CUTOFF_YEAR) | np.isin(c, list(NON_COMPLIANT_CONDITIONS)) | np.isin(m, list(NON_COMPLIANT_MATERIALS))
        rows = todo[hit]
        years[rows], conditions[rows], materials[rows] = y[hit], c[hit], m[hit]
        todo = todo[~hit]
    return years, conditions, materials


def _extra(rng: np.random.Generator) -> str:
    kind = rng.integers(6)
    if kind == 0:
        letters = "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXZ"), size=2))
        return f"PN {letters}-{rng.integers(100, 99999)}"
    if kind == 1:
        return f"S/N {rng.integers(10_000_000, 99_999_999)}"
    if kind == 2:
        return f"qty {rng.integers(1, 60)}"
    if kind == 3:
        return f"bay {rng.integers(1, 40)}"
    if kind == 4:
        return f"lot {rng.integers(100, 9999)}"
    return f"part #{rng.integers(1000, 9999)}"


def _style_case(text: str, r: float) -> str:
    if r < 0.55:
        return text[:1].upper() + text[1:]
    if r < 0.75:
        return text
    if r < 0.87:
        return text.title()
    return text.upper()


def _rich_texts(rng: np.random.Generator, shapes: list[str], years, conditions, materials) -> tuple[list[str], list[str]]:
    n = len(shapes)
    names = rng.integers(len(COMPONENTS), size=n)
    forms = rng.integers(4, size=n)
    year_phrases = rng.integers(len(YEAR_PHRASES), size=n)
    cond_keys = list(CONDITION_PHRASES)
    cond_weights = np.array(list(CONDITION_PHRASES.values()), dtype=float)
    cond_phrases = rng.choice(len(cond_keys), size=n, p=cond_weights / cond_weights.sum())
    extras, cases, dots, spaces = rng.random(n), rng.random(n), rng.random(n), rng.random(n)
    texts, component_names = [], []
    for i in range(n):
        name = COMPONENTS[names[i]]
        text = shapes[i].format(
            name=name,
            mat=MATERIAL_FORMS[materials[i]][forms[i]],
            yp=YEAR_PHRASES[year_phrases[i]].format(y=years[i]),
            cp=cond_keys[cond_phrases[i]].format(c=conditions[i]),
            c=conditions[i],
        )
        if extras[i] < 0.2:
            text = f"{_extra(rng)} {text}"
        elif extras[i] < 0.4:
            text = f"{text}, {_extra(rng)}"
        text = _style_case(text, cases[i])
        if dots[i] < 0.3:
            text += "."
        if spaces[i] < 0.05:
            text = text.replace(" ", "  ", 1)
        texts.append(text)
        component_names.append(name)
    return texts, component_names


def generate(
    rows: int,
    *,
    seed: int = 7,
    style: str = "rich",
    shapes: str = "train",
    years: YearSpec | None = None,
    positive_share: float = 0.5,
) -> pd.DataFrame:
    """Generate `rows` labelled descriptions with their attributes (columns: text, label, year, ...)."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    if shapes not in SHAPE_SETS:
        raise ValueError(f"shapes must be one of {SHAPE_SETS}, not {shapes!r}")
    rng = np.random.default_rng(seed)
    pool = (years or YearSpec()).pool()
    shape_list = REFERENCE_SHAPES if style == "reference" else (TRAIN_SHAPES if shapes == "train" else HOLDOUT_SHAPES)
    labels = (rng.random(rows) < positive_share).astype(int)
    if not (pool >= CUTOFF_YEAR).any():
        labels[:] = 1
    years_, conditions, materials = _sample_attributes(rng, pool, labels)
    shape_ids = rng.integers(len(shape_list), size=rows)
    chosen = [shape_list[i] for i in shape_ids]
    if style == "reference":
        texts = [s.format(material=m, year=y, condition=c) for s, m, y, c in zip(chosen, materials, years_, conditions, strict=True)]
        texts = [t[:1].upper() + t[1:] for t in texts]
        names = ["component"] * rows
    else:
        texts, names = _rich_texts(rng, chosen, years_, conditions, materials)
    return pd.DataFrame(
        {
            "text": texts,
            "label": labels,
            "year": years_,
            "material": materials.astype(str),
            "condition": conditions.astype(str),
            "component": names,
            "shape": [f"{style}-{shapes}-{i}" for i in shape_ids],
        }
    )


def held_out_sets(rows: int, *, seed: int = 1234) -> dict[str, pd.DataFrame]:
    """The evaluation sets no training data may touch: unseen shapes, unseen years, years outside the range."""
    return {
        "holdout_shapes": generate(rows, seed=seed, shapes="holdout"),
        "holdout_years": generate(rows, seed=seed + 1, years=YearSpec(only=HOLDOUT_YEARS)),
        "out_of_range_years": generate(rows, seed=seed + 2, years=YearSpec(ranges=OUT_OF_RANGE_YEARS, exclude=frozenset())),
    }
