"""PDF through its text layer: runs of text with their positions, then lines, tables and text blocks.

Where it can, the file is read without pypdf: ml.documents.pdf_objects parses the structure (one classic xref
table, the page tree, Flate content streams) and ml.documents.pdf_content the content streams of pages with simple
fonts. A page with other fonts, form XObjects or content the fast path cannot follow is read by pypdf's plain
extraction with a visitor (not layout mode: that costs ~20 ms a page), pypdf opened once for those pages; a
file the structure reader cannot read exactly (xref streams, object streams, incremental updates, encryption,
other filters, anything odd) is read by pypdf throughout, with today's checks (`_open`). `fast=False`: pypdf
for everything.

Runs on one baseline make a line; lines whose runs start at the columns of the line above make a table (the
first line its header); the rest become paragraphs (split at wider vertical gaps), list items (a bullet or
number first) and headings (a larger font).
"""

from __future__ import annotations

import io
import itertools
import operator
import re
from dataclasses import dataclass
from statistics import median

from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block
from ml.documents.limits import DocumentError, Limits, check_pages
from ml.documents.pdf_content import content_runs, page_runs
from ml.documents.pdf_fast import simple_fonts
from ml.documents.pdf_objects import Document, NotSimple
from ml.documents.pdf_runs import Run, one_line_runs

_BULLET_RE = re.compile(r"^\s*(?:[•●▪◦·‣∙*–-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+(?=\S)")
_SPACE_RE = re.compile(r"\s+")
_X, _Y = operator.itemgetter(0), operator.itemgetter(1)  # a Run's x and y


@dataclass(slots=True)
class _Line:
    y: float
    size: float
    runs: list[Run]

    @property
    def x(self) -> float:
        return self.runs[0].x

    @property
    def text(self) -> str:
        return _SPACE_RE.sub(" ", " ".join(r.text for r in self.runs)).strip()


def _open(data: bytes, limits: Limits):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    if b"%%EOF" not in data[-2048:]:
        raise DocumentError("the PDF is truncated (it has no end-of-file marker)", code="corrupt")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError, FileNotDecryptedError, PdfReadError):
                opened = 0
            if not opened:
                raise DocumentError("the PDF is encrypted with a password; upload an unprotected copy", code="encrypted")
        pages = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on a damaged file
        raise DocumentError(f"the PDF is damaged and cannot be read ({type(exc).__name__}: {str(exc)[:200]})", code="corrupt") from exc
    if pages == 0:
        raise DocumentError("the PDF has no pages", code="corrupt")
    check_pages(pages, limits)
    return reader


def _pypdf_runs(page) -> list[Run]:
    found: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text and text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x, y, abs(font_size * (tm[3] or 1) * (cm[3] or 1)) or 10.0, text))

    page.extract_text(visitor_text=visit)
    return one_line_runs(found)


def _page_runs(page, *, fast: bool = True) -> list[Run]:
    """A pypdf page's runs of text with their positions: the fast path when the page allows it, else pypdf's."""
    found = page_runs(page) if fast else None
    return _pypdf_runs(page) if found is None else found


def _own_runs(data: bytes, limits: Limits, document: Document, pages: list):
    """Each page's runs from the own structure reader; a page the fast path cannot read goes to pypdf (opened
    once, when first needed). NotSimple: the whole file goes to pypdf."""
    reader = None
    for index, (page, resources) in enumerate(pages):
        try:
            found = None
            if simple_fonts(resources, document.resolve):
                content = document.contents(page)
                found = [] if content is None else content_runs(content)
        except NotSimple:
            raise
        except Exception as exc:  # an object of the wrong type where a dictionary was expected
            raise NotSimple(f"{type(exc).__name__}: {exc}") from exc
        if found is not None:
            yield found
            continue
        reader = reader or _open(data, limits)
        if len(reader.pages) != len(pages):
            raise NotSimple("pypdf counts other pages")
        yield _pypdf_runs(reader.pages[index])


def _lines(runs: list[Run]) -> list[_Line]:
    lines: list[_Line] = []
    line = None
    ordered = sorted(runs, key=_X)
    ordered.sort(key=_Y, reverse=True)  # top to bottom, then left to right: two stable C-keyed sorts, not a lambda
    for run in ordered:
        if line is not None and abs(line.y - run.y) <= (t if (t := 0.3 * run.size) > 1.0 else 1.0):  # max(1.0, t) without the call
            line.runs.append(run)
            if run.size > line.size:
                line.size = run.size
        else:
            line = _Line(run.y, run.size, [run])
            lines.append(line)
    for line in lines:
        line.runs.sort(key=_X)
    return lines


def _cells(line: _Line, columns: list[float], tolerance: float, exact: dict[float, int], *, fit: bool = True) -> tuple[str, ...] | None:
    """The line's text per column (each run to its nearest column); with `fit`, None unless every run starts
    at one of the columns (the first within tolerance), each column used at most once. `exact`: the columns
    no other lies within tolerance of, by their x (a run there needs no search)."""
    if len(exact) == len(columns) and [run.x for run in line.runs] == columns:
        return tuple([run.text for run in line.runs])  # each run exactly at its own column: most table lines
    cells = [""] * len(columns)
    used = set()
    for run in line.runs:
        hit = nearest = exact.get(run.x)
        if hit is None:
            distances = [abs(run.x - x) for x in columns]
            hit = next((i for i, d in enumerate(distances) if d <= tolerance), None)
            least = min(distances)
            nearest = distances.index(least) if least <= tolerance else None
        if fit:
            if hit is None or hit in used:
                return None
            used.add(hit)
        if nearest is not None:
            cells[nearest] = f"{cell} {run.text}" if (cell := cells[nearest]) else run.text
    return tuple(cells)


def _exact(columns: list[float], tolerance: float) -> dict[float, int]:
    """x -> index of each column (ascending) farther than `tolerance` from its neighbours."""
    apart = [b - a > tolerance for a, b in itertools.pairwise(columns)]
    return {x: i for i, x in enumerate(columns) if (i == 0 or apart[i - 1]) and (i == len(columns) - 1 or apart[i])}


def _table_at(lines: list[_Line], start: int) -> tuple[Block | None, int]:
    header = lines[start]
    if len(header.runs) < 2:
        return None, start
    columns = [r.x for r in header.runs]
    tolerance = max(2.0, 0.4 * header.size)
    exact = _exact(columns, tolerance)
    rows = []
    end = start + 1
    while end < len(lines) and len(lines[end].runs) >= 2 and (row := _cells(lines[end], columns, tolerance, exact)) is not None:
        rows.append(row)
        end += 1
    if not rows:
        return None, start
    return Block(TABLE, rows=(_cells(header, columns, tolerance, exact, fit=False), *rows)), end


def _text_blocks(lines: list[_Line], page: int, body: float, gap: float) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    kind = PARAGRAPH
    previous: _Line | None = None

    def flush() -> None:
        nonlocal kind
        if current:
            blocks.append(Block(kind, " ".join(current), page=page))
            current.clear()
        kind = PARAGRAPH

    for line in lines:
        text = line.text
        heading = line.size > body * 1.15
        bullet = _BULLET_RE.match(text)
        apart = previous is not None and (previous.y - line.y) > gap * 1.35
        if heading or bullet or apart or previous is None or (kind == HEADING) or (previous.size > body * 1.15):
            flush()
            kind = HEADING if heading else LIST_ITEM if bullet else PARAGRAPH
            text = text[bullet.end() :] if bullet else text
        current.append(text)
        previous = line
    flush()
    return blocks


def _page_blocks(lines: list[_Line], page: int) -> list[Block]:
    if not lines:
        return []
    body = median(line.size for line in lines)
    gaps = [a.y - b.y for a, b in itertools.pairwise(lines) if 0 < a.y - b.y < 3 * body]
    gap = sorted(gaps)[len(gaps) // 4] if gaps else body * 1.2  # the usual line step, not a paragraph's
    blocks: list[Block] = []
    pending: list[_Line] = []
    i = 0
    while i < len(lines):
        table, end = _table_at(lines, i)
        if table is None:
            pending.append(lines[i])
            i += 1
            continue
        blocks.extend(_text_blocks(pending, page, body, gap))
        pending = []
        blocks.append(Block(TABLE, rows=table.rows, page=page))
        i = end
    blocks.extend(_text_blocks(pending, page, body, gap))
    return blocks


def _continued(last: Block, first: Block) -> Block:
    """A table that goes on from the previous page without its header gets that header back."""
    if last.kind != TABLE or first.kind != TABLE or len(last.rows[0]) != len(first.rows[0]) or first.rows[0] == last.rows[0]:
        return first
    return Block(TABLE, rows=(last.rows[0], *first.rows), page=first.page)


def _blocks(page_runs) -> list[Block]:
    blocks: list[Block] = []
    try:
        for number, runs in enumerate(page_runs, start=1):
            page_blocks = _page_blocks(_lines(runs), number)
            if page_blocks and blocks:
                page_blocks[0] = _continued(blocks[-1], page_blocks[0])
            blocks.extend(page_blocks)
    except (NotSimple, DocumentError):
        raise
    except Exception as exc:
        raise DocumentError(f"the PDF is damaged and cannot be read ({type(exc).__name__}: {str(exc)[:200]})", code="corrupt") from exc
    if not blocks:
        raise DocumentError(
            "the PDF has no text layer (a scanned image?): run it through OCR and upload the result; it was not checked",
            code="no_text_layer",
        )
    return blocks


def _read_simple(data: bytes, limits: Limits) -> tuple[list[Block], int] | None:
    """The file read by the own structure reader (pdf_objects), or None where it needs pypdf throughout."""
    try:
        document = Document(data)
        pages = document.pages()
    except NotSimple:
        return None
    check_pages(len(pages), limits)
    try:
        return _blocks(_own_runs(data, limits, document, pages)), len(pages)
    except NotSimple:
        return None


def read_pdf(data: bytes, limits: Limits, *, fast: bool = True) -> tuple[list[Block], int]:
    """The blocks and page count of a PDF. `fast`: the own structure reader and the fast content path where
    they can read the file; False: pypdf for everything."""
    if fast and (read := _read_simple(data, limits)) is not None:
        return read
    reader = _open(data, limits)
    return _blocks(_page_runs(page, fast=fast) for page in reader.pages), len(reader.pages)
