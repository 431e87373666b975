"""ml.documents: real PDF (fpdf2) and DOCX (python-docx) files, Markdown, HTML and text read into segments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.data.spec_files import write_spec
from ml.documents import read_document
from ml.documents.segment import LIST_ITEM_KIND, SENTENCE, TABLE_ROW
from tests.ml.spec_blocks import ITEMS, SENTENCES, spec_blocks

EXPECTED_ROWS = [
    "Component: rear axle; Material: plastic; Year: 2019; Condition: good",
    "Component: front bumper; Material: stainless steel; Year: 2012; Condition: new",
    "Component: brake disc; Material: cast iron; Year: 1990; Condition: fair",
]


@pytest.mark.parametrize("fmt", ["pdf", "docx", "md", "html", "txt"])
def test_every_format_gives_the_same_sentences_items_and_table_rows(fmt):
    data = write_spec(spec_blocks(), fmt)
    result = read_document(data, f"spec.{fmt}")
    by_kind = {kind: [s.text for s in result.segments if s.kind == kind] for kind in (SENTENCE, LIST_ITEM_KIND, TABLE_ROW)}
    assert by_kind[TABLE_ROW] == EXPECTED_ROWS, fmt
    assert by_kind[LIST_ITEM_KIND] == list(ITEMS), fmt
    for sentence in SENTENCES:
        assert sentence in by_kind[SENTENCE], (fmt, by_kind[SENTENCE])
    assert "Approved for release." in by_kind[SENTENCE]
    for segment in result.segments:  # offsets point at the segment in the document text
        assert result.text[segment.start : segment.end] == segment.text


def test_pdf_segments_know_their_page_and_table():
    result = read_document(write_spec(spec_blocks(), "pdf"), "spec.pdf")
    assert result.type == "pdf" and result.pages == 1
    rows = [s for s in result.segments if s.kind == TABLE_ROW]
    assert [(s.page, s.table, s.row) for s in rows] == [(1, 1, 1), (1, 1, 2), (1, 1, 3)]
    sentences = [s for s in result.segments if s.kind == SENTENCE]
    assert all(s.page == 1 and s.paragraph for s in sentences)


def test_a_pdf_table_continued_on_the_next_page_keeps_its_header():
    from ml.data.spec_files import write_pdf
    from ml.documents.blocks import TABLE, Block

    header = ("Part", "Material", "Year", "Condition")
    rows = tuple((f"bracket {i}", "steel", "2010", "good") for i in range(70))  # about two A4 pages of rows
    result = read_document(write_pdf([Block(TABLE, rows=(header, *rows))]), "long.pdf")
    texts = [s.text for s in result.segments if s.kind == TABLE_ROW]
    assert result.pages >= 2
    assert len(texts) == 70
    assert all(t.startswith("Part: bracket ") and t.endswith("Condition: good") for t in texts)


def test_sentences_split_at_full_stops_but_not_at_abbreviations_or_decimals():
    data = b"The hub, e.g. No. 4 of 2.5 kg, is made of steel in 2001. The strut is iron, 1980. Approved."
    texts = [s.text for s in read_document(data, "notes.txt").segments]
    assert texts == ["The hub, e.g. No. 4 of 2.5 kg, is made of steel in 2001.", "The strut is iron, 1980.", "Approved."]


def test_markdown_headings_links_and_emphasis():
    data = b"# Spec\n\nThe **rear axle** is made of [steel](http://x) from 2010, in good condition.\n\n* item one of iron\n"
    result = read_document(data, "spec.md")
    assert [(s.kind, s.text) for s in result.segments] == [
        ("heading", "Spec"),
        ("sentence", "The rear axle is made of steel from 2010, in good condition."),
        ("list item", "item one of iron"),
    ]


def test_html_leaves_out_scripts_and_styles():
    data = b"<html><head><style>p{}</style></head><body><script>alert(1)</script><p>The hood is steel, 2011, good.</p></body></html>"
    result = read_document(data, "spec.html")
    assert [s.text for s in result.segments] == ["The hood is steel, 2011, good."]
    assert "alert" not in result.text


def test_a_table_with_an_empty_cell_leaves_that_pair_out():
    data = b"| Component | Material | Year |\n|---|---|---|\n| hood |  | 2011 |\n| door | steel | 2012 |\n"
    rows = [s.text for s in read_document(data, "t.md").segments if s.kind == TABLE_ROW]
    assert rows == ["Component: hood; Year: 2011", "Component: door; Material: steel; Year: 2012"]


def test_reading_needs_no_torch_mlflow_or_pandas(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "spec.docx"
    path.write_bytes(write_spec(spec_blocks(), "docx"))
    pdf = tmp_path / "spec.pdf"
    pdf.write_bytes(write_spec(spec_blocks(), "pdf"))
    code = (
        "import sys; from pathlib import Path; from ml.documents import read_document; "
        f"[read_document(Path(p).read_bytes(), p) for p in ({str(path)!r}, {str(pdf)!r})]; "
        "print(sorted(m for m in ('torch', 'mlflow', 'pandas', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _lines_as_first_written(runs):
    """Lines as the PDF reader first built them: one sort on (-y, x), each run to the line above when within
    max(1, 0.3 font sizes) of its baseline."""
    from ml.documents.pdf import _Line

    lines = []
    for run in sorted(runs, key=lambda r: (-r.y, r.x)):
        if lines and abs(lines[-1].y - run.y) <= max(1.0, 0.3 * run.size):
            lines[-1].runs.append(run)
            lines[-1].size = max(lines[-1].size, run.size)
        else:
            lines.append(_Line(run.y, run.size, [run]))
    for line in lines:
        line.runs.sort(key=lambda r: r.x)
    return [(line.y, line.size, line.runs) for line in lines]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.3, 50.0, 100.0, 100.2]),
            st.sampled_from([700.0, 700.5, 701.2, 698.9, 690.0, 689.6]),
            st.sampled_from([3.0, 9.0, 14.0]),
        ),
        max_size=25,
    )
)
def test_lines_are_the_same_as_the_first_written_grouping(points):
    from ml.documents.pdf import _lines
    from ml.documents.pdf_runs import Run

    # tried: runs at baselines a fraction of a point apart, equal x and y, fonts small and large, in any order
    runs = [Run(x, y, size, f"run {i}") for i, (x, y, size) in enumerate(points)]
    assert [(line.y, line.size, line.runs) for line in _lines(runs)] == _lines_as_first_written(runs)
