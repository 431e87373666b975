"""The real file type, read from the bytes; the name only has to agree with it."""

from __future__ import annotations

import re
import unicodedata

from ml.documents.limits import DocumentError

PDF, DOCX, HTML, MARKDOWN, TEXT = "pdf", "docx", "html", "markdown", "text"
TYPES = (PDF, DOCX, HTML, MARKDOWN, TEXT)
EXTENSIONS = {"pdf": PDF, "docx": DOCX, "html": HTML, "htm": HTML, "md": MARKDOWN, "markdown": MARKDOWN, "txt": TEXT, "text": TEXT}
_FAMILY = {PDF: PDF, DOCX: DOCX, HTML: HTML, MARKDOWN: TEXT, TEXT: TEXT}
_BINARY = (
    (b"\xd0\xcf\x11\xe0", "an old Word/Office file (.doc); save it as .docx"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF file; save it as .docx"),
)
_HTML_RE = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|table|p|div|ul|ol|h[1-6])[\s>/]", re.IGNORECASE)
_MARKDOWN_RE = re.compile(r"^(?:#{1,6} |\s*\|?\s*:?-{3,}:?\s*\||\s*[-*+] \S)", re.MULTILINE)
_NAME_MAX = 200


def safe_filename(name: str | None) -> str:
    """The name to show and store: no folders, no control characters, at most 200 characters."""
    base = re.split(r"[/\\]", str(name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return base[-_NAME_MAX:] if base else "document"


def extension_type(name: str) -> str | None:
    _, dot, ext = name.rpartition(".")
    return EXTENSIONS.get(ext.lower()) if dot else None


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM allowed) or UTF-16 with a BOM; anything else is refused with where it went wrong."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"the text is not valid UTF-16 (at byte {exc.start})", code="encoding") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex().upper()
        raise DocumentError(
            f"the text is not UTF-8 (byte 0x{bad} at position {exc.start}); save it as UTF-8 and upload it again", code="encoding"
        ) from exc


def _content_type(data: bytes, name: str) -> str:
    head = data[:1024]
    if b"%PDF-" in head:
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return DOCX  # the DOCX reader checks the zip holds a Word document
    for magic, what in _BINARY:
        if data.startswith(magic):
            raise DocumentError(f"the file is {what}, not a PDF, DOCX, Markdown, HTML or text document", code="unsupported")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError("the file is binary, not a PDF, DOCX, Markdown, HTML or text document", code="unsupported")
    if _HTML_RE.search(data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]) and data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return HTML
    if extension_type(name) == MARKDOWN:
        return MARKDOWN
    sample = data[:8192].decode("utf-8", errors="ignore")
    return MARKDOWN if extension_type(name) != TEXT and _MARKDOWN_RE.search(sample) else TEXT


def sniff_type(data: bytes, name: str = "") -> str:
    """One of TYPES from the content; a DocumentError when the name says another kind of file than the bytes."""
    found = _content_type(data, name)
    claimed = extension_type(name)
    if claimed is not None and _FAMILY[claimed] != _FAMILY[found]:
        ext = name.rpartition(".")[2].lower()
        raise DocumentError(f"the file is named .{ext} but its content is {_describe(found)}", code="type_mismatch")
    return found


def _describe(kind: str) -> str:
    return {PDF: "a PDF", DOCX: "a zip archive (DOCX)", HTML: "HTML", MARKDOWN: "Markdown text", TEXT: "plain text"}[kind]
