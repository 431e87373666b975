"""The regulation's vocabulary: materials, conditions, the cut-off year, and the words that name them.

Standard library only, so the generator (ml.data), the gate's behaviour checks and monitoring's
attribute extractor (monitoring.extract) all read the same lists. The rule itself (`label_for`) is used
only to generate and check labels; models learn it from text.
"""

from __future__ import annotations

MATERIALS = ("plastic", "carbon fiber", "steel", "iron")
CONDITIONS = ("poor", "fair", "good", "new")
NON_COMPLIANT_MATERIALS = frozenset({"plastic", "iron"})
NON_COMPLIANT_CONDITIONS = frozenset({"poor", "fair"})
COMPLIANT_MATERIALS = ("steel", "carbon fiber")  # this order: the generator samples from it, seeds stay reproducible
COMPLIANT_CONDITIONS = ("good", "new")
CUTOFF_YEAR = 1995  # made before this year: non-compliant

# How the generator writes each material (the first form is the plain word).
MATERIAL_FORMS = {
    "plastic": ("plastic", "ABS plastic", "nylon plastic", "plastic polymer"),
    "carbon fiber": ("carbon fiber", "carbon fibre", "carbon-fiber", "carbon fiber composite"),
    "steel": ("steel", "stainless steel", "carbon steel", "galvanized steel"),
    "iron": ("iron", "cast iron", "wrought iron", "ductile iron"),
}
# Regular expressions (case-insensitive, word-bounded by the reader) that recognise each material in free
# text, in the order to try them: "carbon steel" is steel, "carbon fiber" is carbon fiber.
MATERIAL_PATTERNS = (
    ("carbon fiber", r"carbon[\s\-]*fib(?:er|re)s?|cfrp"),
    ("steel", r"steel"),
    ("iron", r"iron"),
    ("plastic", r"plastics?|nylon|abs|polymer|polypropylene|polyethylene|pvc"),
)
# Material and condition words the regulation does not list (monitoring counts them as "other").
OTHER_MATERIAL_WORDS = (
    "alumin(?:i)?um|titanium|brass|bronze|copper|zinc|magnesium|nickel|chrome|chromium|tungsten|rubber|ceramic|"
    "glass|wood(?:en)?|kevlar|fiberglass|fibreglass|composite|alloy|tin|lead"
)
OTHER_CONDITION_WORDS = "excellent|worn|damaged|used|broken|refurbished|corroded|mint|bad|average|like\\s+new"

# The three example rows of the job's description (docs/architecture.md): (text, label). The pipeline's smoke
# test classifies them on every deployed portal.
REFERENCE_EXAMPLES = (
    ("Manufactured in 1985 made of steel in fair condition", 1),
    ("Good condition carbon fiber component manufactured in 2010", 0),
    ("Steel component manufactured in 1995 in fair condition", 1),
)


def label_for(*, year: int, condition: str, material: str) -> int:
    """The regulation: 1 (non-compliant) when made before the cut-off, in fair/poor condition, or of plastic/iron."""
    return int(year < CUTOFF_YEAR or condition in NON_COMPLIANT_CONDITIONS or material in NON_COMPLIANT_MATERIALS)
