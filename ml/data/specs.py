"""Document-style text: components as table rows ("header: value" pairs, with code columns), list items and
paragraph sentences, and whole specification documents (blocks plus the truth of every segment).

Training styles and held-out styles use different headers, code columns, column orders, sentence shapes and
boilerplate, so the held-out documents measure what training never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data import boilerplate as bp
from ml.data.phrasing import COMPONENTS, CONDITION_PHRASES, HOLDOUT_SHAPES, TRAIN_SHAPES, YEAR_PHRASES
from ml.data.synthetic import generate
from ml.data.years import YearSpec
from ml.documents.segment import LIST_ITEM_KIND, SENTENCE, TABLE_ROW, row_text
from ml.domain import MATERIAL_FORMS

ROLES = ("component", "material", "year", "condition")
# Names that specifications use beside the generator's (ml.data.phrasing.COMPONENTS); the held-out ones never train.
DOCUMENT_COMPONENTS = {
    "train": (
        *COMPONENTS[1:],
        *("rear axle", "front bumper", "steering rack", "exhaust manifold", "door hinge", "brake caliper", "radiator grille"),
        *("seat frame", "tow bar", "roof rail", "wheel rim", "battery tray", "mirror housing", "wiper arm", "oil pan"),
    ),
    "holdout": ("hood", "tailgate latch", "fender", "spoiler", "chassis crossmember", "fuel cap", "stabiliser link", "sunroof frame"),
}
HEADERS = {
    "train": {
        "component": ("Component", "Part", "Item", "Description", "Part name", "Component name"),
        "material": ("Material", "Made of", "Mat.", "Material grade", "Base material"),
        "year": ("Year", "Built", "Year of manufacture", "Mfg year", "Manufactured", "Made", "Date of make", "MY", "Since"),
        "condition": ("Condition", "State", "Cond.", "Condition rating", "Inspection result"),
    },
    "holdout": {
        "component": ("Assembly", "Unit", "Element"),
        "material": ("Composition", "Substance", "Construction"),
        "year": ("Production year", "Dated", "Build year"),
        "condition": ("Grade", "Status", "Wear state"),
    },
}
# Code columns: numbers and codes that are not years (the classifier must read the year from its column).
CODES = {
    "train": (
        ("Ref", "R{n3}"),
        ("Ref", "R{y4}"),
        ("Part no.", "PN-{y4}"),
        ("Part number", "{L}{L}-{n5}"),
        ("Qty", "{q}"),
        ("Lot", "L{y4}"),
        ("Serial", "S/N {n8}"),
        ("Drawing", "DWG-{n3}-{L}"),
        ("Weight (kg)", "{w}"),
        ("Location", "Bay {q}"),
        ("Item no.", "{q}"),
        ("Code", "{L}{L}{y4}"),
        ("ID", "{n4}"),
        ("Pos.", "{q}"),
        ("Supplier code", "SC-{y4}"),
        ("Job", "{y4}.{q}"),
        ("Ticket", "T-{y4}-{q}"),
        ("Work order", "{y4}/{n3}"),
        ("Kit", "{L}{y4}"),
        ("Cert.", "{y4}-{L}{q}"),
        ("Set", "{L}{q}-{y4}"),
        ("Tag", "TG-{n5}"),
        ("Length (mm)", "{n4}"),
        ("Torque (Nm)", "{n3}"),
        ("Weight", "{w} kg"),
        ("Side", "{side}"),
        ("Invoice", "{y4}/{q}"),
    ),
    "holdout": (("Asset tag", "AT-{n5}"), ("Batch", "B{q}-{n4}"), ("Position", "{side}"), ("Mass", "{w} kg"), ("Order", "{n4}/{q}")),
}
LIST_SHAPES = {
    "train": ("{Name}: {mat}, {yp}, {cp}", "{Name} - {mat}, {c} condition, {yp}", "{Name} ({mat}), {yp}, {cp}", "{mat} {name}, {yp}, {cp}"),
    "holdout": ("{Name} in {mat} | {yp} | rated {c}", "{yp}: {name} of {mat}, {c}"),
}
SENTENCE_SHAPES = {
    "train": (
        "The {name} is {mat}, {y}, {c}.",
        "{Name}: {mat}, {y}, {c}.",
        "The {name} is made of {mat}, {yp} and {cp}.",
        "The {name} was {yp}, is made of {mat} and is {cp}.",
        "A {mat} {name} {yp} was found {cp}.",
        "We inspected the {name}: {mat}, {c} condition, {yp}.",
    ),
    "holdout": ("Our survey found the {name} to be {mat}, {yp}, {cp}.", "Next comes a {name} of {mat}; it was {yp} and is {cp}."),
}
# Generator shapes usable as one document sentence (no inner full stop, no pipes).
_TRAIN_SENTENCES = tuple(s for s in TRAIN_SHAPES if ". " not in s and "|" not in s)
_HOLDOUT_SENTENCES = tuple(s for s in HOLDOUT_SHAPES if ". " not in s and "|" not in s)


@dataclass(frozen=True)
class Truth:
    """One expected segment: its text, kind, and label (None: boilerplate, never classified)."""

    text: str
    kind: str
    label: int | None


def _attributes(rng: np.random.Generator, n: int, *, years: YearSpec | None = None) -> list[dict]:
    frame = generate(n, seed=int(rng.integers(1 << 31)), years=years)
    return frame[["label", "year", "material", "condition"]].to_dict("records")


def _code(template: str, rng: np.random.Generator) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXZ"
    # Half the codes with a prefix or a suffix hold a number in the years' range ({y4}): the year is the bare
    # number of its own column, not any 4-digit number. Bare code numbers ({n4}) stay out of that range.
    y4 = rng.integers(1700, 2100) if rng.random() < 0.5 else rng.integers(1000, 9999)
    n4 = int(rng.choice([rng.integers(1000, 1700), rng.integers(2100, 9999)]))
    return template.format(
        n3=rng.integers(100, 999), n4=n4, y4=y4, n5=rng.integers(10000, 99999), n8=rng.integers(10**7, 10**8),
        L=letters[rng.integers(len(letters))], q=rng.integers(1, 60), w=f"{rng.uniform(0.2, 80):.1f}",
        side=("LH", "RH", "front", "rear")[rng.integers(4)],
    )  # fmt: skip


def _name(rng: np.random.Generator, style: str) -> str:
    names = DOCUMENT_COMPONENTS[style]
    return names[rng.integers(len(names))]


def _fill(shape: str, attrs: dict, rng: np.random.Generator, style: str) -> str:
    name = _name(rng, style)
    mat = MATERIAL_FORMS[attrs["material"]][rng.integers(4)]
    yp = YEAR_PHRASES[rng.integers(len(YEAR_PHRASES))].format(y=attrs["year"])
    cp = list(CONDITION_PHRASES)[rng.integers(len(CONDITION_PHRASES))].format(c=attrs["condition"])
    text = shape.format(name=name, Name=name[:1].upper() + name[1:], mat=mat, yp=yp, cp=cp, c=attrs["condition"], y=attrs["year"])
    return text[:1].upper() + text[1:]


class TableStyle:
    """One table's headers and column order: the four roles plus 0-3 code columns."""

    def __init__(self, rng: np.random.Generator, style: str):
        self.style = style
        headers = HEADERS[style]
        codes = CODES[style]
        picks = [codes[i] for i in rng.choice(len(codes), size=rng.integers(0, 4), replace=False)]
        columns = [(role, headers[role][rng.integers(len(headers[role]))]) for role in ROLES]
        if style == "train":  # the component first, the rest in any order
            rest = columns[1:] + [("code:" + t, h) for h, t in picks]
            columns = columns[:1] + [rest[i] for i in rng.permutation(len(rest))]
        else:  # held out: the component never first
            everything = columns + [("code:" + t, h) for h, t in picks]
            order = rng.permutation(len(everything))
            while everything[order[0]][0] == "component":
                order = rng.permutation(len(everything))
            columns = [everything[i] for i in order]
        self.columns = columns

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(h for _, h in self.columns)

    def row(self, attrs: dict, rng: np.random.Generator) -> tuple[str, ...]:
        values = {
            "component": _name(rng, self.style),
            "material": MATERIAL_FORMS[attrs["material"]][rng.integers(4)],
            "year": str(attrs["year"]),
            "condition": attrs["condition"] if rng.random() < 0.7 else attrs["condition"].capitalize(),
        }
        return tuple(values[role] if role in values else _code(role[5:], rng) for role, _ in self.columns)


def _made_up_words(count: int, *, seed: int = 0) -> tuple[str, ...]:
    """Pronounceable made-up words, none a word of a header list (stand-ins for a header the model never met)."""
    rng = np.random.default_rng(seed)
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    taken = {w.lower() for styles in HEADERS.values() for names in styles.values() for h in names for w in h.split()}
    words: list[str] = []
    while len(words) < count:
        syllables = [consonants[rng.integers(len(consonants))] + vowels[rng.integers(len(vowels))] for _ in range(rng.integers(2, 4))]
        word = "".join(syllables) + consonants[rng.integers(len(consonants))]
        if word not in taken and word not in words:
            words.append(word)
    return tuple(w.capitalize() for w in words)


# Training tables whose year column has a header that tells nothing: none (a table without a header row reads
# "Column 3: 1987") or a made-up word. The model must take the bare number of a column that is not a code column
# as the year, whatever its header, so an unseen header ("Dated" is held out) does not hide the year.
UNFAMILIAR_YEAR_SHARE = 0.3
UNFAMILIAR_YEAR_HEADERS = ("",) * 20 + _made_up_words(80)


def _unfamiliar_year_header(table: TableStyle, rng: np.random.Generator) -> TableStyle:
    header = UNFAMILIAR_YEAR_HEADERS[rng.integers(len(UNFAMILIAR_YEAR_HEADERS))]
    table.columns = [(role, header if role == "year" else h) for role, h in table.columns]
    return table


def _document_rows(
    rows: int, *, seed: int, style: str, years: YearSpec | None, unfamiliar_year_share: float = 0.0
) -> list[tuple[Truth, dict]]:
    rng = np.random.default_rng(seed)
    out = []
    sentence_shapes = SENTENCE_SHAPES[style] + (_TRAIN_SENTENCES if style == "train" else _HOLDOUT_SENTENCES)
    for i, attrs in enumerate(_attributes(rng, rows, years=years)):
        label = int(attrs["label"])
        if i % 3 == 0:
            table = TableStyle(rng, style)
            if unfamiliar_year_share and rng.random() < unfamiliar_year_share:
                table = _unfamiliar_year_header(table, rng)
            truth = Truth(row_text(table.header, table.row(attrs, rng)), TABLE_ROW, label)
        elif i % 3 == 1:
            shapes = LIST_SHAPES[style]
            truth = Truth(_fill(shapes[rng.integers(len(shapes))], attrs, rng, style), LIST_ITEM_KIND, label)
        else:
            text = _fill(sentence_shapes[rng.integers(len(sentence_shapes))], attrs, rng, style).rstrip(".") + "."
            truth = Truth(text, SENTENCE, label)
        out.append((truth, attrs))
    return out


def document_texts(rows: int, *, seed: int = 11, style: str = "train", years: YearSpec | None = None) -> list[Truth]:
    """`rows` labelled component texts in document styles: a third table rows, a third list items, a third sentences."""
    return [truth for truth, _ in _document_rows(rows, seed=seed, style=style, years=years)]


def document_frame(rows: int, *, seed: int = 11, style: str = "train", years: YearSpec | None = None) -> pd.DataFrame:
    """The same texts as rows of the training CSV (text, label, year, material, condition, component, shape); in the
    training style a share of the tables has a year column without a familiar header (UNFAMILIAR_YEAR_SHARE)."""
    share = UNFAMILIAR_YEAR_SHARE if style == "train" else 0.0
    pairs = _document_rows(rows, seed=seed, style=style, years=years, unfamiliar_year_share=share)
    return pd.DataFrame(
        {
            "text": [t.text for t, _ in pairs],
            "label": [t.label for t, _ in pairs],
            "year": [int(a["year"]) for _, a in pairs],
            "material": [a["material"] for _, a in pairs],
            "condition": [a["condition"] for _, a in pairs],
            "component": ["document"] * len(pairs),
            "shape": [f"document-{style}-{t.kind.replace(' ', '-')}" for t, _ in pairs],
        }
    )


DOCUMENT_SHARE = 0.25
REAL_TEXT_SHARE = 0.2


def training_frame(
    rows: int,
    *,
    seed: int = 7,
    document_share: float = DOCUMENT_SHARE,
    real_text_share: float = REAL_TEXT_SHARE,
    years: YearSpec | None = None,
) -> pd.DataFrame:
    """The default training data: generated descriptions plus a share of document-style texts and a share of real
    technician text (the training side of ml.data.real_text's families), shuffled."""
    from ml.data.real_text import real_text_frame

    documents, real_text = round(rows * document_share), round(rows * real_text_share)
    parts = [
        generate(max(0, rows - documents - real_text), seed=seed, years=years),
        document_frame(documents, seed=seed + 17, years=years),
        real_text_frame(real_text, seed=seed + 29, years=years),
    ]
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def boilerplate_texts(rows: int, *, seed: int = 12, style: str = "train") -> list[Truth]:
    """Segments that are not components: lines as sentences or list items, headings, revision-table rows."""
    rng = np.random.default_rng(seed)
    holdout = style != "train"
    out = []
    for i in range(rows):
        if i % 5 == 0:
            table = bp.revision_table(rng, 1)
            out.append(Truth(row_text(table[0], table[1]), TABLE_ROW, None))
        elif i % 5 == 1:
            out.append(Truth(bp.heading(rng, holdout=holdout), SENTENCE, None))
        elif i % 5 == 2:
            out.append(Truth(bp.boilerplate_line(rng, holdout=holdout), LIST_ITEM_KIND, None))
        else:
            out.append(Truth(bp.boilerplate_line(rng, holdout=holdout), SENTENCE, None))
    return out
