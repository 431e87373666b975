"""The PDF fast path (ml.documents.pdf_fast) reads what pypdf reads, and hands every page it cannot read to pypdf."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ml.data.spec_documents import held_out_documents
from ml.data.spec_files import write_pdf
from ml.documents import read_document
from ml.documents.blocks import PARAGRAPH, TABLE, Block
from ml.documents.limits import Limits
from ml.documents.pdf import read_pdf
from ml.documents.pdf_content import page_runs
from ml.documents.segment import segment_blocks
from tests.ml.spec_blocks import spec_blocks


def both_ways(data: bytes):
    return segment_blocks(read_pdf(data, Limits())[0]), segment_blocks(read_pdf(data, Limits(), fast=False)[0])


def test_the_fast_path_gives_the_same_segments_as_pypdf_on_generated_specs():
    documents = [write_pdf(spec_blocks())] + [d.file_bytes("pdf") for d, _ in held_out_documents(15, seed=8)]
    for data in documents:
        fast, slow = both_ways(data)
        assert fast == slow


def test_escaped_parentheses_backslashes_and_accents_survive():
    text = "The hub (front) of C:\\parts is made of steel, 2011, condition: très bon 100%."
    rows = (("Part", "Material"), ("hub (rear)", "steel"), ("bracket", "iron"))
    data = write_pdf([Block(PARAGRAPH, text), Block(TABLE, rows=rows)])
    from pypdf import PdfReader

    assert page_runs(PdfReader(io.BytesIO(data)).pages[0]) is not None  # core fonts: the fast path reads this page
    fast, slow = both_ways(data)
    assert fast == slow
    assert fast[1][0].text == text and fast[1][1].text == "Part: hub (rear); Material: steel"


def test_an_embedded_unicode_font_goes_to_pypdf():
    import matplotlib
    from fpdf import FPDF
    from pypdf import PdfReader

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))
    pdf.set_font("DejaVu", size=11)  # tried: a Type0 font with a ToUnicode map (what many word processors write)
    pdf.multi_cell(0, 6, "Die Bremsscheibe aus Gusseisen, gebaut 1990, Zustand schlecht — Prüfung nötig.")
    data = bytes(pdf.output())
    assert page_runs(PdfReader(io.BytesIO(data)).pages[0]) is None
    assert (
        read_document(data, "de.pdf").segments[0].text == "Die Bremsscheibe aus Gusseisen, gebaut 1990, Zustand schlecht — Prüfung nötig."
    )


@pytest.mark.parametrize("stream", [b"BT /F1 12 Tf 10 10 Td (open ( paren) Tj ET", b"BI /W 1 /H 1 ID \x00\xff EI"])
def test_content_the_tokenizer_cannot_follow_goes_to_pypdf(stream):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    content = DecodedStreamObject()
    content.set_data(stream)  # tried: a nested parenthesis, an inline image
    page[NameObject("/Contents")] = writer._add_object(content)
    assert page_runs(page) is None


def _page_with(stream: bytes):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(300, 300)
    font = DictionaryObject(
        {NameObject(k): NameObject(v) for k, v in (("/Type", "/Font"), ("/Subtype", "/Type1"), ("/BaseFont", "/Helvetica"))}
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = DecodedStreamObject()
    content.set_data(stream)
    page[NameObject("/Contents")] = writer._add_object(content)
    return page


@pytest.mark.parametrize(
    ("stream", "fast_path"),
    [
        (b"BT /F1 10 Tf ET\nBT 20 200 Td (Part) Tj ET\nBT 90 200 Td (Year) Tj ET", True),  # the one-token text objects
        (b"BT /F1 10 Tf ET BT 20 200 Td(Part)Tj\nET BT 90.5 200 Td (Ye\\(a\\)r) Tj ET/F1 10 Tf", True),  # no space; ET, a name
        (b"q 1 0 0 1 5 7 cm BT /F1 10 Tf ET BT 20 200 Td (Part) Tj ET Q BT +90 -2.5 Td (Year) Tj ET", True),  # cm applies
        (b"BT /F1 10 Tf 20 200 Td (Part) Tj ETX BT 90 200 Td (Year) Tj ET", False),  # "ETX" is not ET: pypdf reads it
    ],
)
def test_whole_simple_text_objects_read_as_pypdf_reads_them(stream, fast_path):
    from ml.documents.pdf import _page_runs

    page = _page_with(stream)
    fast = [(round(r.x, 3), round(r.y, 3), r.text) for r in _page_runs(page)]
    slow = [(round(r.x, 3), round(r.y, 3), r.text) for r in _page_runs(page, fast=False)]
    assert (page_runs(page) is not None) == fast_path
    assert fast == slow and [t for _, _, t in fast] == ["Part", "Ye(a)r" if b"Ye\\(" in stream else "Year"]


def _tokenized(stream: bytes):
    from ml.documents.pdf_fast import ITEM_RE, ContentState, follow
    from ml.documents.pdf_runs import one_line_runs

    state = ContentState()
    follow(state, ITEM_RE.findall(stream.decode("cp1252")))
    return one_line_runs(state.runs)


_CELLS = b"BT 20 200 Td (Part) Tj ET\n30 190 60 -12 re S BT 90 200 Td (Ye\\(a\\)r) Tj ET\n"


@pytest.mark.parametrize(
    ("stream", "split"),
    [
        (b"BT /F1 10 Tf ET\n" + _CELLS * 3, True),  # fpdf2's shape: one font change, then cells
        (b"BT /F1 14 Tf ET\n" + _CELLS + b"BT /F2 9 Tf ET\n" + _CELLS, True),  # a font change between cells: its size
        (b"q 2 0 0 2 5 7 cm\n" + _CELLS + b"Q\n" + _CELLS, True),  # cm scales the first cells only
        (b"BT /F1 10 Tf 1 0 0 1 5 5 Tm ET\n" + _CELLS + b"BT 20 180 Td (a\\\nb) Tj ET", True),  # a line continuation
        (b"BT /F1 10 Tf 20 220 Td <2048756221> Tj ET\n" + _CELLS + b"BT 9 9 Td ( ) Tj ET", True),  # hex between; blank
        (b"% BT 1 2 Td (in a comment) Tj ET\n" + _CELLS, False),  # a comment: tokenized whole
        (_CELLS + b"BT /F1 10 Tf 20 150 Td [(Ke) 120 (rn)] TJ ET\n" + _CELLS, False),  # a TJ text object between
        (b"BT /F1 10 Tf\n" + _CELLS, False),  # a text object left open before the cells
        (b"/NameBT 20 200 Td (Part) Tj ET " + _CELLS, False),  # BT glued to a name is not a text object
    ],
)
def test_the_split_on_simple_text_objects_reads_what_tokenizing_everything_reads(stream, split):
    from ml.documents.pdf_content import _split_runs, content_runs

    tried = _split_runs(stream.decode("cp1252"))  # tried: each stream above; None hands it to the tokenizer
    assert (tried is not None) == split
    try:
        whole = _tokenized(stream)
    except Exception:
        whole = None  # the tokenizer gives up too (content_runs: None, pypdf reads the page)
    assert content_runs(stream) == whole
    if split:
        assert tried == whole and len(tried) >= 2
