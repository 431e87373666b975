"""Attributes read back out of free text, for monitoring only (the model never sees them).

The generator (ml/data/) writes year, material and condition in many phrasings: "mfg 1985",
"year of manufacture 1985", "cast iron", "carbon-fibre", "cond. fair", a bare "fair" between pipes...
This extractor recognises all of them, and sorts anything else into "other" (a material or condition
word we know but the regulation does not list, e.g. aluminium) or "unknown" (nothing recognisable).
Part numbers, lots and serials ("lot 1995", "part #1990", "S/N 19851234") are never taken for years.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ml.domain import CONDITIONS, MATERIAL_PATTERNS, OTHER_CONDITION_WORDS, OTHER_MATERIAL_WORDS

YEAR_RANGE = (1500, 2199)  # wide on purpose: years outside the training range are exactly what drift should see
OTHER = "other"
UNKNOWN = "unknown"

_YEAR_CUE = re.compile(
    r"\b(?:manufactured(?:\s+in)?|made\s+in|built\s+in|produced\s+in|fabricated\s+in|dating\s+from|"
    r"year\s+of\s+manufacture|production\s+year|mfg\.?|mfd\.?|manufacture|year|from|in|since)\s*[:\-]?\s*(\d{4})\b",
    re.IGNORECASE,
)
# A four-digit number that is an identifier, not a year: after lot/part #/PN AB-/S/N/qty/bay, or inside a longer number.
_NOT_YEAR_PREFIX = re.compile(r"(?:\blot|#|\bqty|\bbay|\bs/n|\bsn|\bpn\s+[a-z]{1,4}-|-)\s*$", re.IGNORECASE)
_FOUR_DIGITS = re.compile(r"(?<![\d.])(\d{4})(?![\d.])")

_MATERIALS = tuple((name, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)) for name, pattern in MATERIAL_PATTERNS)
_OTHER_MATERIALS = re.compile(rf"\b(?:{OTHER_MATERIAL_WORDS})\b", re.IGNORECASE)
_CONDITION_WORDS = CONDITIONS
_WORDS = "|".join(CONDITIONS)
_CONDITION_PHRASE = re.compile(
    rf"\b(?:condition|cond\.?|state|rated)\s*[:\-]?\s*({_WORDS}|{OTHER_CONDITION_WORDS})\b"
    rf"|\b({_WORDS}|{OTHER_CONDITION_WORDS})\s+(?:condition|cond\b|state)",
    re.IGNORECASE,
)
_CONDITION_BARE = re.compile(rf"\b({_WORDS})\b", re.IGNORECASE)
_OTHER_CONDITION_BARE = re.compile(rf"\b(?:{OTHER_CONDITION_WORDS})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Attributes:
    year: int | None
    material: str
    condition: str


def _in_range(year: int) -> bool:
    return YEAR_RANGE[0] <= year <= YEAR_RANGE[1]


def extract_year(text: str) -> int | None:
    """The manufacturing year: a 4-digit year after a year phrase, else the only plausible bare year."""
    for match in _YEAR_CUE.finditer(text):
        year = int(match.group(1))
        if _in_range(year):
            return year
    candidates = []
    for match in _FOUR_DIGITS.finditer(text):
        year = int(match.group(1))
        if _in_range(year) and not _NOT_YEAR_PREFIX.search(text[: match.start()]):
            candidates.append(year)
    return candidates[0] if len(set(candidates)) == 1 else None


def extract_material(text: str) -> str:
    for name, pattern in _MATERIALS:
        if pattern.search(text):
            return name
    return OTHER if _OTHER_MATERIALS.search(text) else UNKNOWN


def extract_condition(text: str) -> str:
    match = _CONDITION_PHRASE.search(text)
    if match:
        word = (match.group(1) or match.group(2)).lower()
        return word if word in _CONDITION_WORDS else OTHER
    match = _CONDITION_BARE.search(text)
    if match:
        return match.group(1).lower()
    return OTHER if _OTHER_CONDITION_BARE.search(text) else UNKNOWN


def extract(text: str) -> Attributes:
    return Attributes(year=extract_year(text), material=extract_material(text), condition=extract_condition(text))


def extract_frame(texts: Iterable[str]) -> pd.DataFrame:
    """Texts -> DataFrame with columns year (float, NaN when absent), material, condition."""
    rows = [extract(t if isinstance(t, str) else "") for t in texts]
    return pd.DataFrame(
        {
            "year": pd.array([r.year for r in rows], dtype="Float64").astype(float),
            "material": [r.material for r in rows],
            "condition": [r.condition for r in rows],
        }
    )


def is_attribute_word(word: str) -> bool:
    """A material or condition word (known to the regulation or not): ranks first among unseen words."""
    return bool(_OTHER_MATERIALS.fullmatch(word) or _OTHER_CONDITION_BARE.fullmatch(word) or any(p.fullmatch(word) for _, p in _MATERIALS))
