"""DOCX through python-docx: paragraphs (headings by style, list items by numbering or style) and real tables.

A DOCX is a zip: its entries and their declared uncompressed sizes are capped before anything is inflated
(zipfile refuses to inflate an entry past its declared size, so the declared total is what reading costs).
"""

from __future__ import annotations

import io
import zipfile

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block
from ml.documents.limits import MB, DocumentError, Limits

_MAIN_PART = "word/document.xml"


def check_zip(data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise DocumentError(f"the DOCX file is damaged or truncated ({exc})", code="corrupt") from exc
    if len(entries) > limits.max_zip_entries:
        raise DocumentError(f"the DOCX file holds {len(entries)} parts, over the limit of {limits.max_zip_entries}", code="zip_limits")
    total = sum(e.file_size for e in entries)
    if total > limits.max_uncompressed:
        raise DocumentError(
            f"the DOCX file unpacks to {total / MB:.0f} MB, over the {limits.max_uncompressed / MB:.0f} MB limit (a zip bomb?)",
            code="zip_limits",
        )
    if _MAIN_PART not in archive.namelist():
        raise DocumentError("the file is a zip archive but not a Word document (no word/document.xml)", code="unsupported")


def _paragraph_block(paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style.startswith(("Heading", "Title", "Subtitle")):
        return Block(HEADING, text)
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if numbered or style.startswith("List"):
        return Block(LIST_ITEM, text)
    return Block(PARAGRAPH, text)


def _table_block(table) -> Block | None:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell repeats itself across the grid
                continue
            previous = cell._tc
            cells.append(cell.text.strip())
        if any(cells):
            rows.append(tuple(cells))
    return Block(TABLE, rows=tuple(rows)) if rows else None


def read_docx(data: bytes, limits: Limits) -> list[Block]:
    check_zip(data, limits)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for item in document.iter_inner_content():
            block = _table_block(item) if isinstance(item, Table) else _paragraph_block(item) if isinstance(item, Paragraph) else None
            if block is not None:
                blocks.append(block)
    except DocumentError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on a damaged part
        raise DocumentError(
            f"the DOCX file is damaged and cannot be read ({type(exc).__name__}: {str(exc)[:200]})", code="corrupt"
        ) from exc
    return blocks
