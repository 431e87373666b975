"""read_document: checks, then the reader for the real type, then the segments."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.documents.limits import DocumentError, Limits, check_size
from ml.documents.segment import Segment, segment_blocks
from ml.documents.sniff import DOCX, HTML, MARKDOWN, PDF, decode_text, safe_filename, sniff_type


@dataclass(frozen=True)
class ReadResult:
    filename: str
    type: str  # one of ml.documents.sniff.TYPES
    text: str  # the document text the segments' offsets point into
    segments: list[Segment]
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)


def read_blocks(data: bytes, kind: str, limits: Limits) -> tuple[list, int | None]:
    if kind == PDF:
        from ml.documents.pdf import read_pdf

        return read_pdf(data, limits)
    if kind == DOCX:
        from ml.documents.docx import read_docx

        return read_docx(data, limits), None
    text = decode_text(data)
    if kind == HTML:
        from ml.documents.html import read_html

        return read_html(text), None
    from ml.documents.lines import read_lines

    return read_lines(text, markdown=kind == MARKDOWN), None


def read_document(data: bytes, filename: str = "", *, limits: Limits | None = None) -> ReadResult:
    """Read and segment one document; DocumentError (one plain sentence) for anything that cannot be read."""
    limits = limits or Limits()
    name = safe_filename(filename)
    check_size(len(data), limits)
    kind = sniff_type(data, name)
    blocks, pages = read_blocks(data, kind, limits)
    text, segments = segment_blocks(blocks)
    if not text.strip():
        raise DocumentError("the document holds no text", code="no_text")
    if len(segments) > limits.max_segments:
        raise DocumentError(f"the document has {len(segments)} segments, over the limit of {limits.max_segments}", code="too_many_segments")
    return ReadResult(filename=name, type=kind, text=text, segments=segments, pages=pages)
