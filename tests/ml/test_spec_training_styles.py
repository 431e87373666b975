"""The document-style training rows teach reading a year column whatever its header, without ever showing a
held-out header: some training tables have no year header ("Column 3") or a made-up one."""

from __future__ import annotations

import re

from ml.data.specs import HEADERS, UNFAMILIAR_YEAR_HEADERS, document_frame, document_texts

_PAIR_RE = re.compile(r"(?:^|; )([^:;]+): ([^;]+)")


def year_headers(texts: list[str], rows: list[dict]) -> list[str]:
    """The header of each table row's year column (the pair whose value is the row's year)."""
    out = []
    for text, row in zip(texts, rows, strict=True):
        headers = [h for h, v in _PAIR_RE.findall(text) if v == str(row["year"])]
        assert len(headers) == 1, text  # exactly one column holds the bare year
        out.append(headers[0])
    return out


def training_table_year_headers(rows: int = 3000, seed: int = 11) -> list[str]:
    frame = document_frame(rows, seed=seed)
    tables = frame[frame["shape"] == "document-train-table-row"]
    return year_headers(tables["text"].tolist(), tables.to_dict("records"))


def test_some_training_year_columns_have_no_header_or_one_outside_the_training_list():
    headers = training_table_year_headers()
    known = set(HEADERS["train"]["year"])
    unfamiliar = [h for h in headers if h not in known]
    assert 0.2 < len(unfamiliar) / len(headers) < 0.4
    assert any(re.fullmatch(r"Column \d", h) for h in unfamiliar)  # a table without a header row
    made_up = {h for h in unfamiliar if not h.startswith("Column ")}
    assert len(made_up) >= 30 and made_up <= set(UNFAMILIAR_YEAR_HEADERS)


def test_no_training_table_has_a_held_out_header_and_no_training_text_reads_dated():
    held_out = {h for names in HEADERS["holdout"].values() for h in names}
    assert not {w.lower() for h in held_out for w in h.split()} & {w.lower() for w in UNFAMILIAR_YEAR_HEADERS}
    frame = document_frame(3000, seed=12)
    for text, shape in zip(frame["text"], frame["shape"], strict=True):
        if shape == "document-train-table-row":
            assert not {h for h, _ in _PAIR_RE.findall(text)} & held_out, text
        assert "dated" not in re.findall(r"[^\W\d_]+", text.lower()), text  # the unseen header stays unseen
    assert (frame["shape"] == "document-train-table-row").sum() == 1000


def test_the_segment_score_trains_on_the_familiar_headers_only():
    texts = [t.text for t in document_texts(1500, seed=14) if t.kind == "table row"]
    assert not any(re.search(r"(?:^|; )Column \d:", t) for t in texts)  # the shipped score's data is unchanged


def test_the_made_up_headers_are_no_word_of_the_held_out_documents():
    from ml.data.spec_documents import held_out_documents

    made_up = {w.lower() for w in UNFAMILIAR_YEAR_HEADERS if w}
    words = {w for d, _ in held_out_documents(100, seed=4249) for t in d.truth for w in re.findall(r"[^\W\d_]+", t.text.lower())}
    assert len(made_up) == 80 and not made_up & words


def test_the_held_out_style_keeps_its_own_year_headers():
    frame = document_frame(1500, seed=13, style="holdout")
    tables = frame[frame["shape"] == "document-holdout-table-row"]
    headers = set(year_headers(tables["text"].tolist(), tables.to_dict("records")))
    assert headers == set(HEADERS["holdout"]["year"])
