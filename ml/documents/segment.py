"""Blocks -> candidate segments: sentences of a paragraph, list items, table rows as "header: value; ...".

Each segment keeps its place: page, paragraph or table (and row), and its character offsets in the
document text that `segment_blocks` builds (blocks separated by blank lines, table rows by newlines),
so a page can show the whole text with every segment highlighted.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block

SENTENCE, LIST_ITEM_KIND, TABLE_ROW, HEADING_KIND = "sentence", "list item", "table row", "heading"
KINDS = (SENTENCE, LIST_ITEM_KIND, TABLE_ROW, HEADING_KIND)
_BOUNDARY_RE = re.compile(r"[.!?]+[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "no", "nr", "approx", "ca", "fig", "rev", "ref", "vs", "etc", "dr", "mr", "mrs", "ms", "st", "inc", "ltd"}
    | {"co", "dept", "art", "sec", "para"}
)
_SPACE_RE = re.compile(r"\s+")


class Segment(NamedTuple):  # a tuple: a thousand made per 100 pages at a third of a frozen dataclass's cost
    index: int
    kind: str  # one of KINDS
    text: str
    start: int  # offsets into the document text
    end: int
    page: int | None = None
    paragraph: int | None = None  # the paragraph (or list item) number, 1-based, for sentences and list items
    table: int | None = None  # the table number, 1-based, for table rows
    row: int | None = None  # the row in its table, 1-based after the header

    def to_dict(self) -> dict:
        return self._asdict()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a paragraph; abbreviations, initials and decimals do not end one."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        word = before[-1].lower().rstrip(".") if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        end = match.start() + len(match.group().rstrip())
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def column_names(header: tuple[str, ...]) -> list[str]:
    """A table header's cells as row_text names them ("Column 3" for an empty one)."""
    return [" ".join(cell.split()) or f"Column {i + 1}" for i, cell in enumerate(header)]


def row_text(header: tuple[str, ...], row: tuple[str, ...], names: list[str] | None = None) -> str:
    """One table row as the model reads it: "Component: rear axle; Material: plastic; ..." (empty cells left out).
    `names`: column_names(header), when the caller has them already."""
    names = column_names(header) if names is None else names
    if len(row) > len(names):
        names = [*names, *(f"Column {i + 1}" for i in range(len(names), len(row)))]
    # " ".join(cell.split()): what _SPACE_RE.sub(" ", cell).strip() gives, in a third of the time
    return "; ".join([f"{name}: {value}" for name, cell in zip(names, row, strict=False) if (value := " ".join(cell.split()))])


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[Segment] = []

    def add_text(self, text: str) -> int:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        return start

    def add_segment(self, kind: str, text: str, start: int, end: int, **place) -> None:
        self.segments.append(Segment(len(self.segments), kind, text, start, end, **place))


def segment_blocks(blocks: list[Block]) -> tuple[str, list[Segment]]:
    """The document text and its segments, in reading order."""
    out = _Builder()
    paragraphs = tables = 0
    for block in blocks:
        if out.length:
            out.add_text("\n\n")
        if block.kind == TABLE:
            tables += 1
            _add_table(out, block, tables)
            continue
        text = _SPACE_RE.sub(" ", block.text).strip()
        if not text:
            continue
        base = out.add_text(text)
        if block.kind == HEADING:
            out.add_segment(HEADING_KIND, text, base, base + len(text), page=block.page)
            continue
        paragraphs += 1
        if block.kind == LIST_ITEM:
            out.add_segment(LIST_ITEM_KIND, text, base, base + len(text), page=block.page, paragraph=paragraphs)
            continue
        assert block.kind == PARAGRAPH, block.kind
        for s, e in split_sentences(text):
            out.add_segment(SENTENCE, text[s:e], base + s, base + e, page=block.page, paragraph=paragraphs)
    return "".join(out.parts), out.segments


def _add_table(out: _Builder, block: Block, number: int) -> None:
    header, *rows = block.rows
    out.add_text(" | ".join(header))
    names, header = column_names(header), tuple(header)
    parts, segments, page = out.parts, out.segments, block.page  # a thousand rows a document: no method calls
    for i, row in enumerate(rows, start=1):
        text = row_text(header, row, names)
        parts.append("\n")
        out.length += 1
        if not text or tuple(row) == header:  # a header repeated on a new page
            continue
        start = out.length
        parts.append(text)
        out.length += len(text)
        segments.append(Segment(len(segments), TABLE_ROW, text, start, out.length, page=page, table=number, row=i))
