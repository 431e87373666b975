"""Synthetic technician descriptions and the loader for user CSVs.

The label rule and the vocabulary live in ml.domain; the rule only generates and checks labels,
models learn it from text.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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

TRAIN_YEARS = (1800, 2030)
# Years inside the training range never shown in training: the model must read digits, not memorise years.
HOLDOUT_YEARS = frozenset({1931, 1962, 1977, 1989, 1993, 1997, 2008, 2016})
# Years outside the training range, for the "unseen era" check.
OUT_OF_RANGE_YEARS = ((1700, 1799), (2031, 2099))

COMPONENTS = (
    "component",
    "brake rotor",
    "valve body",
    "bearing housing",
    "gear",
    "bracket",
    "flange",
    "pump impeller",
    "drive shaft",
    "hinge",
    "access panel",
    "fastener",
    "intake manifold",
    "pulley",
    "coil spring",
    "hose clamp",
    "shaft coupling",
    "sprocket",
    "bushing",
    "crankshaft",
    "piston",
    "cylinder head",
    "fan blade",
    "door handle",
    "enclosure",
    "cover plate",
    "engine mount",
    "control lever",
    "axle",
    "wheel hub",
    "frame rail",
    "pipe fitting",
    "connector",
    "anchor bolt",
    "lock nut",
    "rivet",
    "fuel tank",
    "air duct",
    "camshaft",
    "gearbox housing",
)
YEAR_PHRASES = (
    "manufactured in {y}",
    "made in {y}",
    "built in {y}",
    "produced in {y}",
    "year of manufacture {y}",
    "mfg {y}",
    "manufactured {y}",
    "fabricated in {y}",
    "dating from {y}",
    "production year {y}",
)
CONDITION_PHRASES = {"in {c} condition": 3, "condition: {c}": 1, "{c} condition": 2, "cond. {c}": 1, "condition {c}": 1}

# Sentence shapes. Slots: {name} {mat} {yp} (year phrase) {cp} (condition phrase) {c} (bare condition word).
TRAIN_SHAPES = (
    "{mat} {name} {yp} {cp}",
    "{c} condition {mat} {name} {yp}",
    "{yp} made of {mat} {cp}",
    "{name}, {mat}, {yp}, condition: {c}",
    "{name} ({mat}) - {c} condition - {yp}",
    "{mat} {name}. {yp}. condition {c}.",
    "condition {c}; {mat} {name} {yp}",
    "{yp} {mat} {name}, {cp}",
    "{name} made of {mat}, {yp}, currently {cp}",
    "inspected {name}: {mat}, {c} condition, {yp}",
    "{mat} {name} {cp}, {yp}",
    "{name} | {mat} | {yp} | {c}",
    "{name}; material: {mat}; {yp}; {cp}",
    "{c} {mat} {name}, {yp}",
    "{yp}, {name} in {mat}, {cp}",
)
HOLDOUT_SHAPES = (
    "technician note: the {name} is {mat}, it was {yp} and is {cp}",
    "{c} condition. {yp}. {mat} {name}",
    "{yp}: {name} of {mat} ({c} condition)",
    "{mat} {name} rated {c}, {yp}",
)
# The reference workshop's three templates, reproduced exactly for comparison.
REFERENCE_SHAPES = (
    "{material} component manufactured in {year} in {condition} condition",
    "{condition} condition {material} component manufactured in {year}",
    "manufactured in {year} made of {material} in {condition} condition",
)
STYLES = ("rich", "reference")
SHAPE_SETS = ("train", "holdout")


@dataclass(frozen=True)
class YearSpec:
    """Where years come from: inclusive ranges, minus excluded years (or only the listed years)."""

    ranges: tuple[tuple[int, int], ...] = (TRAIN_YEARS,)
    exclude: frozenset[int] = HOLDOUT_YEARS
    only: frozenset[int] | None = None

    def pool(self) -> np.ndarray:
        if self.only is not None:
            years = sorted(self.only)
        else:
            years = [y for lo, hi in self.ranges for y in range(lo, hi + 1) if y not in self.exclude]
        if not years:
            raise ValueError("the year specification leaves no year to sample")
        return np.array(years)


def _sample_years(rng: np.random.Generator, pool: np.ndarray, n: int, *, compliant: bool) -> np.ndarray:
    eligible = pool[pool >= CUTOFF_YEAR] if compliant else pool
    if n and len(eligible) == 0:
        raise ValueError("no year in range can make a compliant row")
    near = eligible[np.abs(eligible - CUTOFF_YEAR) <= 10]
    years = rng.choice(eligible, size=n) if n else np.zeros(0, dtype=int)
    if len(near):
        # A third of the rows sit near the cut-off so the boundary is learned precisely.
        pick_near = rng.random(n) < 0.33
        years[pick_near] = rng.choice(near, size=int(pick_near.sum()))
    return years


def _sample_attributes(rng: np.random.Generator, pool: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attributes conditioned on each row's label (vectorised rejection sampling for label 1)."""
    n = len(labels)
    years = np.zeros(n, dtype=int)
    conditions = np.empty(n, dtype=object)
    materials = np.empty(n, dtype=object)
    ok = labels == 0
    years[ok] = _sample_years(rng, pool, int(ok.sum()), compliant=True)
    conditions[ok] = rng.choice(COMPLIANT_CONDITIONS, size=int(ok.sum()))
    materials[ok] = rng.choice(COMPLIANT_MATERIALS, size=int(ok.sum()))
    todo = np.flatnonzero(~ok)
    while len(todo):
        y = _sample_years(rng, pool, len(todo), compliant=False)
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


# ---------------------------------------------------------------- loading user CSVs


class DataError(ValueError):
    """A training CSV that cannot be used as it is; the message says which rows and why."""


MAX_TEXT_CHARS = 2000


def _rows_list(rows: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _ragged_rows(content: str) -> list[int]:
    """File row numbers whose field count differs from the header's (blank lines are ignored)."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = next(reader, [])
        return [reader.line_num for row in reader if row and len(row) != len(header)]
    except csv.Error:
        return []  # left to the parser below, which names the problem


def load_csv(path: str | Path, *, require_label: bool = True) -> pd.DataFrame:
    """Load a CSV with `text` (and `label` 0/1). Rows are numbered as in the file (header = row 1).

    Any bad row fails the whole load with the row numbers: nothing is silently dropped.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DataError(f"{path} is empty")
    if b"\x00" in raw:
        raise DataError(f"{path} looks binary (it contains NUL bytes), not a CSV")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path} is not UTF-8: invalid byte at line {line}") from exc
    ragged = _ragged_rows(content)
    if ragged:
        raise DataError(f"{path} is not a well-formed CSV: wrong number of fields in row(s) {_rows_list(ragged)}")
    try:
        frame = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False, on_bad_lines="error", index_col=False)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path} is not a well-formed CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} has no header row") from exc
    required = ["text", "label"] if require_label else ["text"]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path} is missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns)) or 'none'}")
    if frame.empty:
        raise DataError(f"{path} has a header but no rows")
    file_rows = frame.index.to_numpy() + 2
    text = frame["text"]
    problems = []
    empty = file_rows[text.str.strip().eq("").to_numpy()].tolist()
    if empty:
        problems.append(f"empty text in row(s) {_rows_list(empty)}")
    long = file_rows[text.str.len().gt(MAX_TEXT_CHARS).to_numpy()].tolist()
    if long:
        problems.append(f"text longer than {MAX_TEXT_CHARS} characters in row(s) {_rows_list(long)}")
    if require_label:
        label = frame["label"].str.strip()
        bad = file_rows[~label.isin(["0", "1"]).to_numpy()].tolist()
        if bad:
            problems.append(f"label not 0 or 1 in row(s) {_rows_list(bad)}")
    if problems:
        raise DataError(f"{path}: " + "; ".join(problems))
    if require_label:
        frame["label"] = frame["label"].str.strip().astype(int)
    return frame


def data_digest(frame: pd.DataFrame) -> str:
    """A content digest of text + label, so a model records exactly which data made it."""
    digest = hashlib.sha256()
    cols = [c for c in ("text", "label") if c in frame.columns]
    for values in frame[cols].itertuples(index=False):
        digest.update("\x1f".join(map(str, values)).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def split(frame: pd.DataFrame, *, seed: int = 7, val: float = 0.05, test: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffle and split into train / validation / test (the reference used 90/5/5)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    n_test, n_val = round(len(frame) * test), round(len(frame) * val)
    test_idx, val_idx, train_idx = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return (
        frame.iloc[train_idx].reset_index(drop=True),
        frame.iloc[val_idx].reset_index(drop=True),
        frame.iloc[test_idx].reset_index(drop=True),
    )
