"""Whole specification documents with the truth of every segment: the held-out quality set (styles training
never saw) and the sample specs that `make run` scans (scripts: `python -m ml specs`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data import boilerplate as bp
from ml.data.spec_files import FORMATS, write_spec
from ml.data.specs import LIST_SHAPES, SENTENCE_SHAPES, TableStyle, Truth, _attributes, _fill
from ml.documents.blocks import HEADING, LIST_ITEM, PARAGRAPH, TABLE, Block
from ml.documents.segment import LIST_ITEM_KIND, SENTENCE, TABLE_ROW, row_text


@dataclass(frozen=True)
class SpecDocument:
    name: str
    blocks: list[Block]
    truth: list[Truth]  # every component (label 0/1), and the boilerplate (label None)

    @property
    def components(self) -> list[Truth]:
        return [t for t in self.truth if t.label is not None]

    @property
    def verdict(self) -> str:
        labels = [t.label for t in self.components]
        return "no components" if not labels else "non-compliant" if any(labels) else "compliant"

    def file_bytes(self, fmt: str) -> bytes:
        return write_spec(self.blocks, fmt, title=self.name)


class _Writer:
    def __init__(self, rng: np.random.Generator, style: str):
        self.rng, self.style, self.holdout = rng, style, style != "train"
        self.blocks: list[Block] = []
        self.truth: list[Truth] = []

    def heading(self) -> None:
        text = bp.heading(self.rng, holdout=self.holdout)
        self.blocks.append(Block(HEADING, text))
        self.truth.append(Truth(text, "heading", None))

    def boilerplate_paragraph(self, lines: int) -> None:
        texts = [bp.boilerplate_line(self.rng, holdout=self.holdout) for _ in range(lines)]
        texts = [t if t.endswith(".") else t + "." for t in texts]  # one paragraph: each line a sentence
        self.blocks.append(Block(PARAGRAPH, " ".join(texts)))
        self.truth += [Truth(t, SENTENCE, None) for t in texts]

    def component_paragraph(self, attrs: list[dict], *, with_boilerplate: bool) -> None:
        shapes = SENTENCE_SHAPES[self.style]
        texts = [_fill(shapes[self.rng.integers(len(shapes))], a, self.rng, self.style).rstrip(".") + "." for a in attrs]
        truth = [Truth(t, SENTENCE, int(a["label"])) for t, a in zip(texts, attrs, strict=True)]
        if with_boilerplate:
            line = bp.boilerplate_line(self.rng, holdout=self.holdout).rstrip(".") + "."
            at = int(self.rng.integers(len(texts) + 1))
            texts.insert(at, line)
            truth.insert(at, Truth(line, SENTENCE, None))
        self.blocks.append(Block(PARAGRAPH, " ".join(texts)))
        self.truth += truth

    def items(self, attrs: list[dict]) -> None:
        shapes = LIST_SHAPES[self.style]
        for a in attrs:
            text = _fill(shapes[self.rng.integers(len(shapes))], a, self.rng, self.style)
            self.blocks.append(Block(LIST_ITEM, text))
            self.truth.append(Truth(text, LIST_ITEM_KIND, int(a["label"])))

    def table(self, attrs: list[dict]) -> None:
        style = TableStyle(self.rng, self.style)
        rows = [style.row(a, self.rng) for a in attrs]
        self.blocks.append(Block(TABLE, rows=(style.header, *rows)))
        self.truth += [Truth(row_text(style.header, r), TABLE_ROW, int(a["label"])) for r, a in zip(rows, attrs, strict=True)]

    def revision_table(self) -> None:
        rows = bp.revision_table(self.rng, int(self.rng.integers(2, 4)))
        self.blocks.append(Block(TABLE, rows=rows))
        self.truth += [Truth(row_text(rows[0], r), TABLE_ROW, None) for r in rows[1:]]


def spec_document(rng: np.random.Generator, *, style: str = "holdout", name: str = "spec", compliant_only: bool = False) -> SpecDocument:
    """One specification: a title, an intro, component sentences, a bullet list, a component table,
    sometimes a revision table, and closing lines (approval, revision, address)."""
    out = _Writer(rng, style)
    n_sentences, n_items, n_rows = int(rng.integers(0, 4)), int(rng.integers(0, 5)), int(rng.integers(2, 11))
    attrs = _attributes(rng, n_sentences + n_items + n_rows)
    if compliant_only:
        attrs = [a for a in _attributes(rng, 4 * len(attrs)) if not a["label"]][: len(attrs)]
    out.heading()
    out.boilerplate_paragraph(int(rng.integers(1, 3)))
    if n_sentences:
        out.component_paragraph(attrs[:n_sentences], with_boilerplate=bool(rng.random() < 0.4))
    if n_items:
        out.heading()
        out.items(attrs[n_sentences : n_sentences + n_items])
    out.heading()
    out.table(attrs[n_sentences + n_items :])
    if rng.random() < 0.4:
        out.revision_table()
    out.boilerplate_paragraph(int(rng.integers(1, 4)))
    return SpecDocument(name, out.blocks, out.truth)


def held_out_documents(count: int = 200, *, seed: int = 4242) -> list[tuple[SpecDocument, str]]:
    """`count` documents in the held-out styles, each with the format it is written in (cycling FORMATS)."""
    rng = np.random.default_rng(seed)
    return [(spec_document(rng, name=f"holdout-{i:03d}"), FORMATS[i % len(FORMATS)]) for i in range(count)]
