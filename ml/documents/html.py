"""HTML: headings, paragraphs, list items and <table> rows, with script and style left out (stdlib parser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block

_BLOCK_TAGS = {"p", "div", "section", "article", "header", "footer", "main", "blockquote", "address", "br", "hr", "pre", "caption"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6", "title"}
_SKIP = {"script", "style", "noscript", "template", "head"}
_SPACE_RE = re.compile(r"\s+")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.text: list[str] = []
        self.kind = PARAGRAPH
        self.skip = 0
        self.tables: list[list[list[str]]] = []  # open tables (nested ones too), each a list of rows
        self.cell: list[str] | None = None

    def _flush(self) -> None:
        text = _SPACE_RE.sub(" ", "".join(self.text)).strip()
        self.text = []
        if text:
            self.blocks.append(Block(self.kind, text))
        self.kind = PARAGRAPH

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "table":
            self._flush()
            self.tables.append([])
        elif self.tables and tag == "tr":
            self.tables[-1].append([])
        elif self.tables and tag in ("td", "th"):
            self.cell = []
        elif self.cell is None and (tag in _BLOCK_TAGS or tag in _HEADINGS or tag == "li"):
            self._flush()
            self.kind = HEADING if tag in _HEADINGS else LIST_ITEM if tag == "li" else PARAGRAPH

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th") and self.cell is not None and self.tables:
            if not self.tables[-1]:
                self.tables[-1].append([])
            self.tables[-1][-1].append(_SPACE_RE.sub(" ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "table" and self.tables:
            rows = tuple(tuple(r) for r in self.tables.pop() if any(r))
            if rows:
                self.blocks.append(Block(TABLE, rows=rows))
        elif self.cell is None and (tag in _BLOCK_TAGS or tag in _HEADINGS or tag == "li"):
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif not self.tables:
            self.text.append(data)


def read_html(text: str) -> list[Block]:
    reader = _Reader()
    reader.feed(text)
    reader.close()
    reader._flush()
    return reader.blocks
