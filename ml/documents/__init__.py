"""Specification documents: bytes in, candidate segments out (numpy/onnxruntime world: no torch, no mlflow).

    limits     Limits (size, pages, zip entries, uncompressed size) and DocumentError, the one error callers catch
    sniff      the real file type from the bytes, checked against the name; safe display names
    blocks     Block: a paragraph, heading, list item or table as a reader found it, with its page
    readers    one reader per type (pdf, docx, markdown, html, text) -> blocks
    pdf        the PDF reader (the text layer, lines rebuilt from positions, tables from column gaps)
    pdf_objects  a small PDF structure reader for plain files (one xref table, page tree, Flate streams); pypdf otherwise
    pdf_fast   a tokenizer for content streams of simple-font pages (text operators, positions, cm); pypdf otherwise
    pdf_content  a content stream's runs: split on fpdf2's one-line text objects first, the tokenizer otherwise
    pdf_runs   Run: a stripped, one-line piece of shown text at its position, what both PDF text paths end in
    docx       the DOCX reader (python-docx, after the zip checks)
    segment    blocks -> Segments (sentences, list items, table rows as "header: value; ..."), with offsets

The CLI (`python -m ml scan`), the portal and the API all call `read_document`.
"""

from ml.documents.blocks import Block
from ml.documents.limits import DocumentError, Limits
from ml.documents.readers import ReadResult, read_document
from ml.documents.segment import Segment, segment_blocks
from ml.documents.sniff import safe_filename, sniff_type

__all__ = ["Block", "DocumentError", "Limits", "ReadResult", "Segment", "read_document", "safe_filename", "segment_blocks", "sniff_type"]
