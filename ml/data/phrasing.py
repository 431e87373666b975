"""The words of the synthetic descriptions: component names, year and condition phrases, sentence shapes.

Material words and their surface forms are the regulation's vocabulary and live in ml.domain.
"""

from __future__ import annotations

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
