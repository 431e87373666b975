"""A content stream's runs of text (ml.documents.pdf_runs), for pages with simple fonts (ml.documents.pdf_fast).

A stream made mostly of "BT x y Td (string) Tj ET" and "BT /F1 9 Tf ET" (what fpdf2 writes for cells and font
changes) is split on those shapes, and only what lies between them is tokenized; any other stream goes through
pdf_fast's tokenizer whole. None: the page needs pypdf."""

from __future__ import annotations

import re

from ml.documents.pdf_fast import BT_AT_TOKEN, DELIMITED, ITEM_RE, NUMBER, TD_TJ, ContentState, GiveUp, follow, literal, simple_fonts
from ml.documents.pdf_runs import Run, one_line_runs

# "BT x y Td (string) Tj ET" or "BT /F1 9 Tf ET" (groups: x, y, string, size): what fpdf2 writes for most text
_SPLIT_RE = re.compile(rf"{BT_AT_TOKEN}(?:{TD_TJ}|/[^\s/\[\]()<>{{}}%]+\s+({NUMBER})\s+Tf)\s+ET{DELIMITED}", re.DOTALL | re.ASCII)
_new = tuple.__new__  # _new(Run, fields): a Run in 40% of Run(...)'s time (no Python-level __new__)


def _ends_outside_text(items: list[tuple[str, str, str, str]]) -> bool:
    ops = [item[3] for item in items]
    return "BT" not in ops or "ET" in ops[len(ops) - ops[::-1].index("BT") :]


def _shown(state: ContentState, xs: list[str], ys: list[str], strings: list[str]) -> list[Run]:
    """The runs of consecutive simple text objects, all under the state's cm and font size."""
    (a, b, c, d, e, f), size = state.cm, state.size
    size = abs(size * (d or 1)) or 10.0
    texts = [literal(s) if "\\" in s else s for s in strings]
    if "\n" in "".join(texts):
        points = [(float(x), float(y), t) for x, y, t in zip(xs, ys, texts, strict=True)]
        return one_line_runs((x * a + y * c + e, x * b + y * d + f, size, t) for x, y, t in points)
    value = {number: float(number) for number in {*xs, *ys}}  # a table's columns and lines repeat: parse each once
    if (a, b, c, d, e, f) == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0):
        return [_new(Run, (value[x], value[y], size, t)) for x, y, shown in zip(xs, ys, texts, strict=True) if (t := shown.strip())]
    points = [(value[x], value[y], t) for x, y, shown in zip(xs, ys, texts, strict=True) if (t := shown.strip())]
    return [_new(Run, (x * a + y * c + e, x * b + y * d + f, size, t)) for x, y, t in points]


def _split_runs(text: str) -> list[Run] | None:
    """The runs of a stream whose text objects are mostly "BT x y Td (string) Tj ET" and "BT /F1 9 Tf ET" (what
    fpdf2 writes), found by one split on those shapes: a literal-prefix scan, about a third of tokenizing
    everything. Only the stretches between them that change state (another text object, q, Q, cm) are tokenized,
    and the text objects between two changes are read in one comprehension. None where a stretch could hide or
    break one (a string, comment or inline image there): pdf_fast's tokenizer reads the stream."""
    parts = _SPLIT_RE.split(text)
    gaps = parts[::5]
    joined = "\0".join(gaps)
    if len(parts) < 6 or any(mark in joined for mark in ("(", ")", "%", "\\", "BI")):
        return None
    if "q" in joined or "Q" in joined or "cm" in joined:
        changes = [2 * k for k, gap in enumerate(gaps) if "BT" in gap or "q" in gap or "Q" in gap or "cm" in gap]
    else:
        changes = [2 * k for k, gap in enumerate(gaps) if "BT" in gap]
    fonts = [2 * j + 1 for j, size in enumerate(parts[4::5]) if size is not None]
    state = ContentState()
    start = 0  # the first text object not yet read
    for event in sorted({*changes, *fonts, 2 * len(gaps) - 2}):  # gap k: 2k, text object j: 2j + 1; the last gap
        end = event // 2
        state.runs += _shown(
            state, parts[5 * start + 1 : 5 * end : 5], parts[5 * start + 2 : 5 * end : 5], parts[5 * start + 3 : 5 * end : 5]
        )
        if event % 2:
            state.size, start = float(parts[5 * end + 4]), end + 1
            continue
        items = ITEM_RE.findall(gaps[end])
        if not _ends_outside_text(items):
            return None
        shown = len(state.runs)
        follow(state, items)
        state.runs[shown:] = one_line_runs(state.runs[shown:])  # a hex string shown between the simple ones
        start = end
    return state.runs


def content_runs(content: bytes) -> list[Run] | None:
    """The runs (ml.documents.pdf_runs) of every string a content stream shows, or None when it needs pypdf."""
    text = content.decode("cp1252", errors="replace")
    try:
        if (runs := _split_runs(text)) is not None:
            return runs
        state = ContentState()
        follow(state, ITEM_RE.findall(text))
    except (GiveUp, ValueError, IndexError):
        return None
    return one_line_runs(state.runs)


def page_runs(page) -> list[Run] | None:
    """The runs of every shown string of a pypdf page, or None when the page needs pypdf."""
    if not simple_fonts(page.get("/Resources")):
        return None
    contents = page.get_contents()
    return [] if contents is None else content_runs(contents.get_data())
