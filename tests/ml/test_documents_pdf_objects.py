"""The own PDF structure reader (ml.documents.pdf_objects) reads plain files as pypdf does, and hands every other
file to pypdf whole: each test says what input it tried."""

from __future__ import annotations

import io
import re
import zlib

import pytest

from ml.data.spec_documents import held_out_documents
from ml.data.spec_files import write_pdf
from ml.documents import pdf
from ml.documents.blocks import HEADING, PARAGRAPH, TABLE, Block
from ml.documents.limits import DocumentError, Limits
from ml.documents.pdf import read_pdf
from ml.documents.pdf_objects import Document, NotSimple, Ref
from ml.documents.segment import segment_blocks
from tests.ml.spec_blocks import spec_blocks


def outcome(data: bytes, *, fast: bool):
    """The segments and page count, or the error's code and sentence."""
    try:
        blocks, pages = read_pdf(data, Limits(), fast=fast)
    except DocumentError as error:
        return error.code, str(error)
    return segment_blocks(blocks), pages


def pypdf_texts(data: bytes) -> list[str]:
    blocks, _ = read_pdf(data, Limits(), fast=False)
    return [segment.text for segment in segment_blocks(blocks)[1]]


def own_reader_reads(data: bytes) -> bool:
    try:
        document = Document(data)
        for page, _ in document.pages():
            document.contents(page)
    except NotSimple:
        return False
    return True


def same_as_pypdf(data: bytes) -> None:
    assert outcome(data, fast=True) == outcome(data, fast=False)


def without_pypdf(monkeypatch) -> None:
    def refuse(data, limits):
        raise AssertionError("pypdf was opened")

    monkeypatch.setattr(pdf, "_open", refuse)


def many_pages(pages: int) -> bytes:
    rows = (("Part", "Material", "Year"), *((f"part {i}", "steel", str(1990 + i)) for i in range(10)))
    blocks = [b for p in range(pages) for b in (Block(HEADING, f"Section {p}"), Block(PARAGRAPH, "Text."), Block(TABLE, rows=rows))]
    return write_pdf(blocks, page_break_every=3)


def classic_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these object bodies (object 1 the catalog) with one classic xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), entries, data)


TABLE_TEXT = b"BT /F1 10 Tf ET BT 20 250 Td (Part) Tj ET BT 120 250 Td (Year) Tj ET BT 20 235 Td (hub) Tj ET BT 120 235 Td (1990) Tj ET"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def tree_pdf(content: bytes = stream(zlib.compress(TABLE_TEXT), b"/Filter /FlateDecode")) -> bytes:
    """Catalog, a /Pages node holding the resources and another /Pages node, one page with two content streams."""
    return classic_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 300 300] /Resources << /Font << /F1 4 0 R >> >> >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R] /Count 1 >>",
        FONT,
        b"<< /Type /Page /Parent 3 0 R /Contents [6 0 R 7 0 R] >>",
        content,
        stream(b"BT /F1 10 Tf 20 200 Td (The hub is made of steel.) Tj ET"),
    ])  # fmt: skip


def test_the_own_reader_gives_the_same_segments_as_pypdf_on_generated_specs(monkeypatch):
    documents = [write_pdf(spec_blocks()), many_pages(12)] + [d.file_bytes("pdf") for d, _ in held_out_documents(15, seed=8)]
    expected = [outcome(data, fast=False) for data in documents]
    without_pypdf(monkeypatch)  # tried: fpdf2 files (core fonts, one xref table): pypdf is never opened
    for data, pypdf_read in zip(documents, expected, strict=True):
        assert own_reader_reads(data)
        assert outcome(data, fast=True) == pypdf_read


def test_a_page_tree_with_inherited_resources_and_content_arrays_reads_as_pypdf_reads_it(monkeypatch):
    data = tree_pdf()  # tried: nested /Pages, /Resources inherited, /Contents an array of a Flate and a plain stream
    expected = outcome(data, fast=False)
    assert pypdf_texts(data) == ["Part: hub; Year: 1990", "The hub is made of steel."]
    without_pypdf(monkeypatch)
    assert own_reader_reads(data) and outcome(data, fast=True) == expected


def test_a_page_the_fast_path_cannot_read_goes_to_pypdf_and_the_others_do_not():
    import matplotlib
    from fpdf import FPDF

    document = FPDF()
    document.add_font("DejaVu", fname=f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf")
    for font, text in (("Helvetica", "The hub is made of steel, built in 1990."), ("DejaVu", "Die Bremsscheibe — Prüfung nötig.")):
        document.add_page()
        document.set_font(font, size=11)  # tried: a core-font page, then an embedded Unicode font's page
        document.multi_cell(0, 6, text)
    data = bytes(document.output())
    assert own_reader_reads(data)
    same_as_pypdf(data)


def test_an_xref_stream_an_incremental_update_by_pypdf_gives_up_and_reads_as_pypdf():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(io.BytesIO(write_pdf(spec_blocks())), incremental=True)
    writer.add_metadata({"/Title": "revised"})  # tried: pypdf's incremental write (an xref stream with /Prev)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert PdfReader(io.BytesIO(data)).metadata.title == "revised"
    assert not own_reader_reads(data)
    same_as_pypdf(data)


def test_object_streams_give_up_and_read_as_pypdf():
    original = tree_pdf()
    document = Document(original)
    bodies = [original[document.offsets[n][0] :].split(b" obj\n", 1)[1].split(b"\nendobj", 1)[0] for n in range(1, 8)]
    packed = b"4 0 " + FONT  # tried: the font in an object stream, found through a hand-written xref stream
    out = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for number, body in enumerate(bodies, start=1):
        if number != 4:
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[8] = len(out)
    out += b"8 0 obj\n" + stream(packed, b"/Type /ObjStm /N 1 /First 4") + b"\nendobj\n"
    entries = b"\x00\x00\x00\x00\x00\xff\xff" + b"".join(
        b"\x02\x00\x00\x00\x08\x00\x00" if n == 4 else b"\x01" + offsets[n].to_bytes(4, "big") + b"\x00\x00" for n in range(1, 10) if n != 9
    )
    offsets[9] = len(out)
    entries += b"\x01" + offsets[9].to_bytes(4, "big") + b"\x00\x00"
    out += b"9 0 obj\n" + stream(entries, b"/Type /XRef /Size 10 /W [1 4 2] /Root 1 0 R") + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[9]
    data = bytes(out)
    assert not own_reader_reads(data)
    assert pypdf_texts(data)[0] == "Part: hub; Year: 1990"
    same_as_pypdf(data)


def test_a_classic_incremental_update_gives_up_and_reads_the_new_revision_as_pypdf():
    original = tree_pdf()
    previous = int(re.search(rb"startxref\n(\d+)", original)[1])
    added = stream(b"BT /F1 10 Tf 20 200 Td (The hub is made of iron.) Tj ET")
    at = len(original)
    update = b"7 0 obj\n%s\nendobj\n" % added
    xref = at + len(update)
    update += b"xref\n7 1\n%010d 00000 n \ntrailer\n<< /Size 8 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (at, previous, xref)
    data = original + update  # tried: a second xref section with /Prev replacing object 7
    assert not own_reader_reads(data)
    assert pypdf_texts(data)[-1] == "The hub is made of iron."
    same_as_pypdf(data)


def test_a_wrong_length_gives_up_and_reads_as_pypdf():
    data = write_pdf(spec_blocks())
    length = re.search(rb"/Length (\d{3,})", data)
    wrong = str(int(length[1]) - 7).encode()  # tried: a content stream's /Length 7 bytes short, same width
    data = data[: length.start(1)] + wrong + data[length.end(1) :]
    assert not own_reader_reads(data)
    same_as_pypdf(data)


def test_a_filter_other_than_flate_gives_up_and_reads_as_pypdf():
    hexed = TABLE_TEXT.hex().encode() + b">"
    data = tree_pdf(stream(hexed, b"/Filter /ASCIIHexDecode"))  # tried: an ASCIIHex content stream
    assert not own_reader_reads(data)
    assert pypdf_texts(data)[0] == "Part: hub; Year: 1990"
    same_as_pypdf(data)


@pytest.mark.parametrize("user_password", ["secret", ""])
def test_an_encrypted_file_gives_up_with_the_same_result_as_pypdf(user_password):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(write_pdf(spec_blocks()))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)  # tried: RC4 with a user password (refused) and with an empty one (pypdf opens it)
    data = out.getvalue()
    assert not own_reader_reads(data)
    same_as_pypdf(data)
    if user_password:
        assert outcome(data, fast=True) == ("encrypted", "the PDF is encrypted with a password; upload an unprotected copy")


@pytest.mark.parametrize("where", ["startxref", "entry"])
def test_a_corrupt_xref_offset_reads_as_pypdf_reads_it(where):
    data = write_pdf(spec_blocks())
    if where == "startxref":
        found = re.search(rb"startxref\n(\d+)", data)  # tried: startxref 5 bytes early
    else:
        found = re.search(rb"xref\n0 \d+\n.{20}(\d{10})", data, re.DOTALL)  # tried: object 1's entry 3 bytes late
    shifted = b"%010d" % (int(found[1]) + (3 if where == "entry" else -5))
    data = data[: found.start(1)] + shifted[-len(found[1]) :] + data[found.end(1) :]
    assert not own_reader_reads(data)
    same_as_pypdf(data)


@pytest.mark.parametrize(
    "damage",
    [
        (b"/Type /Pages", b"/Type /Pagez"),  # tried: an untyped page tree node
        (b"/Kids [3 0 R", b"/Kids [9 0 R"),  # tried: a kid that is not in the file
        (b"/Count 1 /MediaBox", b"/Count 2 /MediaBox"),  # tried: a /Count that does not match the tree
    ],
)
def test_an_odd_page_tree_gives_up_and_reads_as_pypdf(damage):
    data = tree_pdf().replace(*damage)
    assert not own_reader_reads(data)
    same_as_pypdf(data)


def test_the_page_limit_and_a_missing_end_marker_say_what_they_said():
    data = many_pages(3)  # tried: three pages against a two-page limit; the file cut before %%EOF
    with pytest.raises(DocumentError, match="3 pages, over the 2-page limit"):
        read_pdf(data, Limits(max_pages=2))
    assert (
        outcome(data[:-200], fast=True)
        == outcome(data[:-200], fast=False)
        == ("corrupt", "the PDF is truncated (it has no end-of-file marker)")
    )


def test_objects_with_the_same_bytes_are_parsed_once_and_a_keyword_in_a_string_does_not_confuse_them():
    data = classic_pdf([
        b"<< /Type /Catalog >>",
        b"<< /Font << /F1 4 0 R >> /ProcSet [/PDF /Text] >>",
        b"<< /Font << /F1 4 0 R >> /ProcSet [/PDF /Text] >>",  # tried: the same resources twice (fpdf2 repeats them per page)
        b"<< /T (x endobj) /A 1 >>",
        b"<< /T (x endobj) /A 2 >>",  # tried: bodies alike up to an "endobj" inside a string
    ])  # fmt: skip
    document = Document(data)
    first, second = (document.get(Ref(n, 0)) for n in (2, 3))
    assert first == {"/Font": {"/F1": Ref(4, 0)}, "/ProcSet": ["/PDF", "/Text"]} and second is first
    assert [document.get(Ref(n, 0))["/A"] for n in (4, 5)] == [1, 2]


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (
            b" <</Type/Page /Parent 1 0 R /Rotate -90 /UserUnit 1.5 /Contents 4 0 R>>",
            {"/Type": "/Page", "/Parent": Ref(1, 0), "/Rotate": -90, "/UserUnit": 1.5, "/Contents": Ref(4, 0)},
        ),
        (b"<< /Filter /FlateDecode /Length 725 >>", {"/Filter": "/FlateDecode", "/Length": 725}),  # a stream's dictionary
        (b"<< /A 1 /A 2 >>", {"/A": 2}),  # tried: a key twice (the last wins, as in the nested reader)
        (b"<< /Font << /F1 4 0 R >> /Name (a b) >>", {"/Font": {"/F1": Ref(4, 0)}, "/Name": b"(a b)"}),  # not flat
        (b"<< /A 1 % a comment\n/B /C >>", {"/A": 1, "/B": "/C"}),
    ],
)
def test_flat_and_nested_dictionaries_parse_to_the_same_values(body, value):
    from ml.documents.pdf_objects import parse_value

    parsed, end = parse_value(body, 0)  # tried: each body above
    assert parsed == value and body[:end].rstrip().endswith(b">>")


def test_a_name_with_an_escape_is_not_simple_in_a_flat_dictionary_too():
    from ml.documents.pdf_objects import parse_value

    with pytest.raises(NotSimple):
        parse_value(b"<< /Type /P#61ge >>", 0)  # tried: a # escape in a name
