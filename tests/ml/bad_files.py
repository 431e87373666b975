"""Bad documents for the API tests: (what was tried, file name, bytes, expected error code)."""

from __future__ import annotations

import io
import zipfile

from ml.data.spec_files import write_docx, write_pdf
from tests.ml.spec_blocks import spec_blocks


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(write_pdf(spec_blocks()))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 150, 200, style="F")
    return bytes(pdf.output())


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (101 * 1024 * 1024))
    return out.getvalue()


def bad_files() -> list[tuple[str, str, bytes, str]]:
    pdf, docx = write_pdf(spec_blocks()), write_docx(spec_blocks())
    return [
        ("an encrypted PDF (RC4, user password)", "locked.pdf", encrypted_pdf(), "encrypted"),
        ("a scanned PDF with no text layer", "scan.pdf", scanned_pdf(), "no_text_layer"),
        ("the first half of a real PDF", "cut.pdf", pdf[: len(pdf) // 2], "corrupt"),
        ("two thirds of a real DOCX", "cut.docx", docx[: len(docx) * 2 // 3], "corrupt"),
        ("a DOCX zip bomb (101 MB of zeros packed small)", "bomb.docx", zip_bomb(), "zip_limits"),
        ("HTML named .pdf", "spec.pdf", b"<!DOCTYPE html><html><body><p>The hood is steel.</p></body></html>", "type_mismatch"),
        ("an empty file", "empty.txt", b"", "empty"),
        ("Latin-1 text", "latin.txt", "The hood is made of steel. Café".encode("latin-1"), "encoding"),
    ]
