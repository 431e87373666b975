"""The phrasing of the real-text families (ml.data.real_text): abbreviations, distractor years and numbers,
key-value keys and separators, clauses of multi-clause descriptions. Each list has a training side and a
held-out side; the held-out side never appears in training rows (tests/ml/test_real_text.py checks).

Slots: {y} the manufacture year, {d} a distractor year, {n2}/{n3} small numbers, {mat} {name} {c} {cp} {yp}.
"""

from __future__ import annotations

# Technician abbreviations of the year and condition phrases (mfd., yr., cond., approx.).
YEAR_ABBREVIATIONS = {
    "train": ("mfd. {y}", "mfd {y}", "yr. {y}", "mfd. yr. {y}", "approx. {y}", "mfd. approx. {y}", "yr. of mfd. {y}"),
    "holdout": ("yr. mfd. {y}", "approx. mfd. {y}", "mfd. ca. {y}"),
}
CONDITION_ABBREVIATIONS = {
    "train": ("cond. {c}", "{c} cond.", "cond.: {c}", "cond {c}"),
    "holdout": ("cond. rtd. {c}", "{c} cond. rtd."),
}
TYPO_SHAPES = (
    "{mat} {name} {yp} {cp}",
    "{name}, {mat}, {yp}, {cp}",
    "{yp} made of {mat} {cp}",
    "{cp}; {mat} {name}, {yp}",
    "{name} made of {mat}, {yp}, {cp}",
)
TYPO_KINDS = {"train": ("deletion", "substitution"), "holdout": ("transposition", "insertion")}

# Other years and numbers beside the manufacture year: service dates, part/lot/serial numbers shaped like years,
# model years. The label follows the manufacture year only.
DISTRACTORS = {
    "train": (
        *("last serviced {d}", "serviced in {d}", "installed {d}", "installed in {d}", "inspected {d}"),
        *("inspected in {d}", "replaced {d}", "replaced in {d}", "P/N {d}-{n2}", "part no. {d}-{n3}"),
        *("lot {d}", "serial {d}-{n3}", "model year {d}", "for model year {d}", "last overhaul {d}"),
    ),
    "holdout": ("last inspected in {d}", "re-installed {d}", "overhauled {d}", "P/N {n2}-{d}", "lot {d}/{n2}", "fits {d} models"),
}
# How a description and its distractors are put together ({dist}: one distractor, {dist2}: another).
DISTRACTOR_SHAPES = (
    "{mat} {name} {yp}, {dist}, {cp}",
    "{dist}: {mat} {name} {yp}, {cp}",
    "{yp}, {dist}, {name} of {mat}, {cp}",
    "{name} ({mat}) {yp} {cp}; {dist}; {dist2}",
    "{dist}, {mat} {name}, {cp}, {yp}",
    "{name}: {yp}, {dist2}, {mat}, {cp}, {dist}",
)

# Spec-sheet rows: "Mat.: Iron | Mfd.: 2004 | Cond.: Good", fields in any order.
KEYS = {
    "train": {
        "component": ("Part", "Item", "Comp.", "Component"),
        "material": ("Mat.", "Material", "Matl."),
        "year": ("Mfd.", "Yr.", "Year", "Mfg.", "Mfd. yr."),
        "condition": ("Cond.", "Condition", "State"),
    },
    "holdout": {
        "component": ("Pt.", "Pc."),
        "material": ("Mtrl.", "Matrl"),
        "year": ("Yr. built", "Date mfd."),
        "condition": ("Cnd.", "Condtn"),
    },
}
KEY_SEPARATORS = {"train": (": ", "=", " - ", " "), "holdout": (" :: ", " -> ")}
FIELD_SEPARATORS = {"train": (" | ", "; ", ", ", " / "), "holdout": (" ¦ ", " || ")}
EXTRA_FIELDS = ("Qty: {n2}", "Bay: {n2}", "S/N: {n8}", "Ref: R{n3}")
# Training only: made-up words (a name, a code), each seen about once, so the model learns that an unfamiliar word
# is no reason to ignore a year, unless a manufacture phrase names another one.
NOISE_YEAR_PHRASE = "{junk} {y}"
NOISE_DISTRACTOR = "{junk} {d}"
NOISE_REMARK = "checked by {junk}"

# Multi-clause descriptions: a material, a year, a condition clause and one or two remarks, joined.
CLAUSES = {
    "train": {
        "material": ("it is made of {mat}", "the body is {mat}", "material is {mat}", "{mat} construction"),
        "year": ("it was {yp}", "{yp}", "the unit was {yp}"),
        "condition": ("it is currently {cp}", "{cp}", "now {cp}"),
        "remark": (
            *("no visible cracks", "paint is faded", "stored indoors", "minor surface rust", "bolts re-torqued"),
            *("label is legible", "mounting holes intact", "cleaned before inspection"),
        ),
    },
    "holdout": {
        "material": ("it consists of {mat}", "the whole part is {mat}"),
        "year": ("it dates back to {y}", "records say it was {yp}"),
        "condition": ("overall it looks {c}", "its condition was judged {c}"),
        "remark": ("slight scoring on one face", "threads look clean", "minor pitting near the base"),
    },
}
CONNECTORS = {"train": (", and ", "; ", ". ", ", "), "holdout": (" while ", ", whereas ")}
