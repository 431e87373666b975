"""Specification files written from blocks (ml.documents.Block): PDF (fpdf2), DOCX (python-docx), Markdown,
HTML and plain text. The sample specs, the document tests and the benches all write their files here."""

from __future__ import annotations

import html
import io

from ml.documents.blocks import HEADING, LIST_ITEM, TABLE, Block

FORMATS = ("pdf", "docx", "md", "html", "txt")


def _pdf_table(pdf, rows: tuple[tuple[str, ...], ...]) -> None:
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(rows[0])
    for r, row in enumerate(rows):
        pdf.set_font("Helvetica", "B" if r == 0 else "", 9)
        for cell in row:
            pdf.cell(width, 6, cell, border=1)
        pdf.ln(6)
    pdf.ln(3)


def write_pdf(blocks: list[Block], *, title: str = "Specification", page_break_every: int = 0) -> bytes:
    """A PDF with a real text layer; `page_break_every` > 0 starts a new page after that many blocks."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    for i, block in enumerate(blocks):
        if page_break_every and i and i % page_break_every == 0:
            pdf.add_page()
        if block.kind == TABLE:
            _pdf_table(pdf, block.rows)
        elif block.kind == HEADING:
            pdf.set_font("Helvetica", "B", 14)
            pdf.multi_cell(0, 8, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == LIST_ITEM:
            pdf.set_font("Helvetica", "", 10)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(0, 5, f"- {block.text}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


def write_docx(blocks: list[Block], *, title: str = "Specification") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for block in blocks:
        if block.kind == TABLE:
            table = document.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            for row in block.rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value
        elif block.kind == HEADING:
            document.add_heading(block.text, level=1)
        elif block.kind == LIST_ITEM:
            document.add_paragraph(block.text, style="List Bullet")
        else:
            document.add_paragraph(block.text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_markdown(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        if block.kind == TABLE:
            header, *rows = block.rows
            lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif block.kind == HEADING:
            out.append(f"## {block.text}")
        elif block.kind == LIST_ITEM:
            out.append(f"- {block.text}")
        else:
            out.append(block.text)
    return "\n\n".join(out) + "\n"


def write_html(blocks: list[Block], *, title: str = "Specification") -> str:
    e = html.escape
    body = []
    items: list[str] = []
    for block in blocks:
        if block.kind != LIST_ITEM and items:
            body.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if block.kind == TABLE:
            header, *rows = block.rows
            head = "<tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>"
            rest = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
            body.append(f"<table><thead>{head}</thead><tbody>{rest}</tbody></table>")
        elif block.kind == HEADING:
            body.append(f"<h2>{e(block.text)}</h2>")
        elif block.kind == LIST_ITEM:
            items.append(f"<li>{e(block.text)}</li>")
        else:
            body.append(f"<p>{e(block.text)}</p>")
    if items:
        body.append("<ul>" + "".join(items) + "</ul>")
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{e(title)}</title></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_text(blocks: list[Block]) -> str:
    out = []
    for block in blocks:
        if block.kind == TABLE:
            widths = [max(len(row[i]) for row in block.rows) + 3 for i in range(len(block.rows[0]))]
            out.append("\n".join("".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in block.rows))
        elif block.kind == LIST_ITEM:
            out.append(f"* {block.text}")
        else:
            out.append(block.text)
    return "\n\n".join(out) + "\n"


def write_spec(blocks: list[Block], fmt: str, *, title: str = "Specification") -> bytes:
    """The file's bytes in one of FORMATS."""
    if fmt == "pdf":
        return write_pdf(blocks, title=title)
    if fmt == "docx":
        return write_docx(blocks, title=title)
    if fmt == "md":
        return write_markdown(blocks).encode()
    if fmt == "html":
        return write_html(blocks, title=title).encode()
    if fmt == "txt":
        return write_text(blocks).encode()
    raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
