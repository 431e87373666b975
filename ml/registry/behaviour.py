"""Behavioural checks: cases derived from holdout rows, and how often a model gets each check right.

- year_flip: changing only the year across the cut-off flips the label (rows whose material and condition
  are compliant, so the year alone decides);
- name_invariance: changing the component name does not change the label;
- case_invariance: changing the casing does not change the label.

A case is a group of texts. Columns: check, group, text, expected (0/1, or -1 for "all the same label").
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ml.domain import COMPLIANT_CONDITIONS, COMPLIANT_MATERIALS, CUTOFF_YEAR
from ml.registry.gate_config import BEHAVIOUR_CHECKS

CONSISTENT = -1  # expected label of a consistency case: every text of the group gets the same label
GENERIC_NAME = "component"  # the generator's fallback name: swapping it says nothing about the name


def _year_pattern(year: int) -> re.Pattern:
    return re.compile(rf"(?<!\d){year}(?!\d)")


def _year_flip_cases(frame: pd.DataFrame, order: np.ndarray, cases: int) -> list[tuple[str, int, str, int]]:
    rows, group = [], 0
    for i in order:
        r = frame.iloc[i]
        if group >= cases:
            break
        if r["condition"] not in COMPLIANT_CONDITIONS or r["material"] not in COMPLIANT_MATERIALS:
            continue
        year = int(r["year"])
        pattern = _year_pattern(year)
        if len(pattern.findall(r["text"])) != 1:
            continue
        after = year if year >= CUTOFF_YEAR else CUTOFF_YEAR + (CUTOFF_YEAR - 1 - year) % 60
        before = year if year < CUTOFF_YEAR else CUTOFF_YEAR - 1 - (year - CUTOFF_YEAR) % 60
        rows.append(("year_flip", group, pattern.sub(str(after), r["text"]), 0))
        rows.append(("year_flip", group, pattern.sub(str(before), r["text"]), 1))
        group += 1
    return rows


def _name_invariance_cases(frame: pd.DataFrame, order: np.ndarray, cases: int, rng: np.random.Generator) -> list[tuple[str, int, str, int]]:
    from ml.data import COMPONENTS

    rows, group = [], 0
    for i in order:
        r = frame.iloc[i]
        if group >= cases:
            break
        name = str(r["component"])
        hits = list(re.finditer(re.escape(name), r["text"], flags=re.IGNORECASE))
        if len(hits) != 1 or name == GENERIC_NAME:
            continue
        rows.append(("name_invariance", group, r["text"], CONSISTENT))
        for other in rng.choice([c for c in COMPONENTS if c != name and c != GENERIC_NAME], size=2, replace=False):
            start, end = hits[0].span()
            rows.append(("name_invariance", group, r["text"][:start] + str(other) + r["text"][end:], CONSISTENT))
        group += 1
    return rows


def _case_invariance_cases(frame: pd.DataFrame, order: np.ndarray, cases: int) -> list[tuple[str, int, str, int]]:
    rows = []
    for group, i in enumerate(order[:cases]):
        text = str(frame.iloc[i]["text"])
        for variant in (text, text.upper(), text.lower(), text.title()):
            rows.append(("case_invariance", group, variant, CONSISTENT))
    return rows


def build_behaviour(frame: pd.DataFrame, *, cases: int, seed: int) -> pd.DataFrame:
    """Behavioural cases (groups of texts) derived from holdout rows, `cases` groups per check at most."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    rows = _year_flip_cases(frame, order, cases)
    rows += _name_invariance_cases(frame, order, cases, rng)
    rows += _case_invariance_cases(frame, order, cases)
    return pd.DataFrame(rows, columns=["check", "group", "text", "expected"])


def behaviour_rates(predictor, behaviour: pd.DataFrame) -> dict[str, float]:
    """Per check, the share of groups the predictor gets right (every label as expected, or all labels equal)."""
    labels = (predictor.predict_proba(list(behaviour["text"])) >= predictor.threshold).astype(int)
    frame = behaviour.assign(pred=labels)
    rates = {}
    for check in BEHAVIOUR_CHECKS:
        part = frame[frame["check"] == check]
        if part.empty:
            continue
        ok = []
        for _, grp in part.groupby("group"):
            if (grp["expected"] >= 0).all():
                ok.append(bool((grp["pred"] == grp["expected"]).all()))
            else:
                ok.append(grp["pred"].nunique() == 1)
        rates[check] = float(np.mean(ok))
    return rates
