"""Plain text and Markdown: blank-line paragraphs, bullet and numbered items, tables of aligned columns or pipes."""

from __future__ import annotations

import re

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block

_BULLET_RE = re.compile(r"^\s*(?:[-*+•●▪◦–]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+(?=\S)")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_GAP_RE = re.compile(r"\t+| {2,}")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")


def strip_inline(text: str) -> str:
    """Markdown inline markup off: links keep their words, emphasis and code marks go."""
    return _EMPHASIS_RE.sub(r"\2", _LINK_RE.sub(r"\1", text))


def _cells(line: str, *, markdown: bool) -> list[str] | None:
    stripped = line.strip()
    if (markdown or "|" in stripped) and (stripped.count("|") >= 2 or (stripped.count("|") == 1 and not stripped.startswith("|"))):
        inner = stripped.strip("|")
        return [c.strip() for c in inner.split("|")]
    if not markdown:
        parts = [p.strip() for p in _GAP_RE.split(stripped) if p.strip()]
        if len(parts) >= 2:
            return parts
    return None


def _table_run(lines: list[str], start: int, *, markdown: bool) -> tuple[list[list[str]], int]:
    """Consecutive table lines from `start` (same number of cells, rule lines dropped) and the index after them."""
    rows: list[list[str]] = []
    i = start
    while i < len(lines):
        if _RULE_RE.match(lines[i]) and "-" in lines[i]:
            i += 1
            continue
        cells = _cells(lines[i], markdown=markdown)
        if cells is None or (rows and len(cells) != len(rows[0])):
            break
        rows.append(cells)
        i += 1
    return rows, i


def _paragraph_blocks(lines: list[str], *, markdown: bool) -> list[Block]:
    """One blank-line-separated paragraph: its tables, list items and running text, in order."""
    blocks: list[Block] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            blocks.append(Block(PARAGRAPH, " ".join(text)))
            text.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING_RE.match(line) if markdown else None
        if heading:
            flush()
            blocks.append(Block(HEADING, strip_inline(heading.group(2))))
            i += 1
            continue
        rows, end = _table_run(lines, i, markdown=markdown)
        if len(rows) >= 2:
            flush()
            blocks.append(Block(TABLE, rows=tuple(tuple(strip_inline(c) for c in r) for r in rows)))
            i = end
            continue
        bullet = _BULLET_RE.match(line)
        if bullet:
            flush()
            item = [line[bullet.end() :].strip()]
            i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")) and not _BULLET_RE.match(lines[i]):
                item.append(lines[i].strip())
                i += 1
            blocks.append(Block(LIST_ITEM, strip_inline(" ".join(item)) if markdown else " ".join(item)))
            continue
        text.append(strip_inline(line.strip()) if markdown else line.strip())
        i += 1
    flush()
    return blocks


def read_lines(text: str, *, markdown: bool) -> list[Block]:
    """Blocks of a plain-text or Markdown document."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            paragraph.append(line.rstrip())
        elif paragraph:
            blocks.extend(_paragraph_blocks(paragraph, markdown=markdown))
            paragraph = []
    if paragraph:
        blocks.extend(_paragraph_blocks(paragraph, markdown=markdown))
    return blocks
