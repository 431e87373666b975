"""A PDF page's text as runs: each a stripped, one-line piece of shown text at its position and font size.

Both PDF text paths (ml.documents.pdf_content and pypdf's visitor in ml.documents.pdf) end in these; the lines,
tables and paragraphs of a page are built from them."""

from __future__ import annotations

from typing import NamedTuple


class Run(NamedTuple):  # thousands per document: a tuple is made in half a slots dataclass's time
    x: float
    y: float
    size: float
    text: str


def one_line_runs(found) -> list[Run]:
    """(x, y, size, text as shown) -> runs: the text stripped, empty ones left out, one run per line of a text
    with newlines (each next line 1.2 font sizes lower)."""
    runs = []
    for x, y, size, text in found:
        if "\n" not in text:  # most runs: one line
            if stripped := text.strip():
                runs.append(Run(x, y, size, stripped))
            continue
        for k, piece in enumerate(text.split("\n")):
            if piece.strip():
                runs.append(Run(x, y - k * size * 1.2, size, piece.strip()))
    return runs
