"""The sample specifications `make run` scans: real files with headings, paragraphs, bullets and a table,
and the verdicts the trained model gives them."""

from __future__ import annotations

from ci.specs import scan_samples
from ml.data.sample_specs import SAMPLES, expected_verdicts, write_samples
from ml.documents import read_document


def test_each_sample_is_a_real_file_with_paragraphs_bullets_and_a_table(tmp_path):
    paths = write_samples(tmp_path)
    assert sorted(p.suffix for p in paths) == [".docx", ".html", ".md", ".pdf"]
    for path in paths:
        kinds = {s.kind for s in read_document(path.read_bytes(), path.name).segments}
        assert {"sentence", "list item", "table row"} <= kinds, path.name
    assert set(expected_verdicts().values()) == {"compliant", "non-compliant"}


def test_make_run_scan_gives_the_expected_verdicts(trained_bundle, tmp_path):
    lines = []
    documents = scan_samples(trained_bundle, folder=tmp_path / "specs", log=lines.append)
    assert {d["filename"]: d["verdict"] for d in documents} == expected_verdicts()
    assert (tmp_path / "specs" / "findings.json").is_file()
    assert any("brake-system-spec.pdf" in line and "non-compliant" in line for line in lines)
    assert all(d["counts"]["components"] >= 5 for d in documents) and len(documents) == len(SAMPLES)
