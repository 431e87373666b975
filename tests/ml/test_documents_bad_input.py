"""ml.documents refuses bad input with one plain sentence (DocumentError with a code); each test says what it tried."""

from __future__ import annotations

import io
import zipfile

import pytest

from ml.data.spec_files import write_docx, write_pdf, write_spec
from ml.documents import DocumentError, Limits, read_document, safe_filename
from ml.documents.blocks import PARAGRAPH, Block
from tests.ml.spec_blocks import spec_blocks


def refused(data: bytes, name: str, limits: Limits | None = None) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        read_document(data, name, limits=limits)
    return info.value


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(write_pdf(spec_blocks()))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_encrypted_pdf_is_refused_as_encrypted():
    error = refused(encrypted_pdf(), "locked.pdf")  # tried: RC4 user password "secret"
    assert error.code == "encrypted" and "encrypted" in str(error)


def test_a_scanned_pdf_without_a_text_layer_says_so_and_not_no_components():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 150, 200, style="F")  # tried: a page that is only a drawn picture, no text at all
    error = refused(bytes(pdf.output()), "scan.pdf")
    assert error.code == "no_text_layer"
    assert "no text layer" in str(error) and "OCR" in str(error)


def test_a_truncated_pdf_is_refused_as_damaged():
    data = write_pdf(spec_blocks())
    error = refused(data[: len(data) // 2], "cut.pdf")  # tried: the first half of a real PDF
    assert error.code == "corrupt" and "truncated" in str(error)


def test_a_corrupt_pdf_is_refused_as_damaged():
    error = refused(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n", "noise.pdf")  # tried: a PDF header, noise, an EOF marker
    assert error.code == "corrupt" and "damaged" in str(error)


def test_a_truncated_docx_is_refused_as_damaged():
    data = write_docx(spec_blocks())
    error = refused(data[: len(data) * 2 // 3], "cut.docx")  # tried: two thirds of a real DOCX
    assert error.code == "corrupt" and "DOCX" in str(error)


def test_a_docx_whose_parts_are_damaged_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # tried: a zip with word/document.xml holding no XML
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "not xml at all <<<")
    error = refused(out.getvalue(), "broken.docx")
    assert error.code == "corrupt"


def test_a_docx_zip_bomb_is_refused_before_it_is_inflated():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (101 * 1024 * 1024))  # tried: 101 MB of zeros, about 100 kB packed
    data = out.getvalue()
    assert len(data) < 1024 * 1024
    error = refused(data, "bomb.docx")
    assert error.code == "zip_limits" and "unpacks to 101 MB" in str(error)


def test_a_docx_with_too_many_zip_entries_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # tried: 1,200 empty entries beside the document part
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(1200):
            archive.writestr(f"word/media/{i}.bin", b"")
    error = refused(out.getvalue(), "many.docx")
    assert error.code == "zip_limits" and "1201 parts" in str(error)


def test_a_zip_that_is_not_a_word_document_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # tried: a zip of a CSV, named .docx
        archive.writestr("data.csv", "a,b\n")
    assert refused(out.getvalue(), "data.docx").code == "unsupported"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    data = b"The hood is steel. " * (21 * 1024 * 1024 // 19 + 1)  # tried: 21 MB of text against the 20 MB default
    error = refused(data, "big.txt")
    assert error.code == "too_large" and "over the 20 MB limit" in str(error)


def test_a_pdf_over_the_page_limit_is_refused():
    blocks = [Block(PARAGRAPH, f"Page {i}: the hood is made of steel in 2011.") for i in range(6)]
    data = write_pdf(blocks, page_break_every=1)  # tried: a 6-page PDF against a 5-page limit
    error = refused(data, "long.pdf", Limits(max_pages=5))
    assert error.code == "too_many_pages" and "6 pages" in str(error)


def test_a_pdf_that_is_really_html_is_refused():
    error = refused(b"<!DOCTYPE html><html><body><p>The hood is steel.</p></body></html>", "spec.pdf")  # tried: HTML named .pdf
    assert error.code == "type_mismatch" and "named .pdf but its content is HTML" in str(error)


def test_a_docx_that_is_really_a_pdf_is_refused():
    error = refused(write_pdf(spec_blocks()), "spec.docx")  # tried: a real PDF named .docx
    assert error.code == "type_mismatch"


@pytest.mark.parametrize("data", [b"", b"   \n\n \t "], ids=["zero-bytes", "whitespace-only"])
def test_an_empty_file_is_refused(data):
    error = refused(data, "empty.txt")  # tried: no bytes at all, and only whitespace
    assert error.code in ("empty", "no_text")


def test_non_utf8_text_is_refused_with_the_position():
    data = "The hood is made of steel. Café".encode("latin-1")  # tried: Latin-1 text
    error = refused(data, "latin.txt")
    assert error.code == "encoding" and "not UTF-8" in str(error) and "0xE9" in str(error)


def test_utf16_text_with_a_bom_is_read():
    result = read_document("The hood is made of steel in 2011.".encode("utf-16"), "wide.txt")
    assert [s.text for s in result.segments] == ["The hood is made of steel in 2011."]


def test_an_image_or_binary_file_is_refused():
    assert refused(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "photo.png").code == "unsupported"  # tried: a PNG header
    assert refused(b"\x01\x02\x00\x00binary", "blob").code == "unsupported"  # tried: bytes with NULs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\spec.docx", "spec.docx"),
        ("spec\x00\x1b[31m.md", "spec[31m.md"),
        ("..", "document"),
        ("", "document"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_filenames_lose_folders_and_control_characters(name, expected):
    assert safe_filename(name) == expected


def test_a_hostile_filename_is_stored_safe():
    result = read_document(write_spec(spec_blocks(), "md"), "../x/\x07spec.md")
    assert result.filename == "spec.md"


def test_script_in_the_text_stays_text():
    result = read_document(b"The hood <script>alert('x')</script> is steel, 2011.", "x.txt")
    assert "<script>alert('x')</script>" in result.segments[0].text  # the page escapes it; the reader keeps it as typed


def test_a_document_of_boilerplate_only_reads_without_error():
    result = read_document(b"# Specification\n\nApproved for release.\n\nRevision 2.\n", "boiler.md")
    assert [s.text for s in result.segments] == ["Specification", "Approved for release.", "Revision 2."]
