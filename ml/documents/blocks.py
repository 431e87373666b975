"""A reader's output: the document's blocks in reading order, before segmenting."""

from __future__ import annotations

from dataclasses import dataclass, field

PARAGRAPH, HEADING, LIST_ITEM, TABLE = "paragraph", "heading", "list item", "table"


@dataclass(frozen=True)
class Block:
    kind: str  # PARAGRAPH, HEADING, LIST_ITEM or TABLE
    text: str = ""  # the text of a paragraph, heading or list item
    rows: tuple[tuple[str, ...], ...] = field(default=())  # a table's rows, the header first
    page: int | None = None  # 1-based, where the format has pages (PDF)
