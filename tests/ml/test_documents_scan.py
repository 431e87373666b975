"""The segment score, the scan (one batched model call per document) and `python -m ml scan`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.paths import PROJECT_ROOT as ROOT
from ml.data.spec_files import write_spec
from ml.documents import read_document
from ml.documents.scan import NO_COMPONENTS, NON_COMPLIANT, as_json, scan
from ml.documents.scorer import DEFAULT_SCORER, SegmentScorer, load_scorer
from ml.predictor import Predictor
from ml.segment_training import scorer_accuracy, train_default, training_segments
from tests.ml.spec_blocks import ITEMS, SENTENCES, spec_blocks


def test_the_score_separates_held_out_boilerplate_from_held_out_components():
    checks = scorer_accuracy(load_scorer(), training_segments(3000, seed=99, style="holdout"))  # styles training never saw
    assert checks["components_found"] >= 0.995 and checks["boilerplate_skipped"] >= 0.99, checks


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab c1 9:;.,\u00e9\u00bd XY\n", max_size=40), st.sampled_from(["sentence", "table row", "list item"]))
def test_the_cached_feature_ids_are_the_ids_of_the_feature_names(text, kind):
    from ml.documents.scorer import _hash, _sorted_ids, feature_names

    # tried: words, numbers, punctuation, an accent and a fraction in any order, the same words again and again
    assert _sorted_ids(text, kind) == sorted({_hash(f) for f in feature_names(text, kind)})


def test_the_shipped_score_is_what_its_training_gives(tmp_path):
    _, checks = train_default(tmp_path / "s.npz")
    fresh, shipped = SegmentScorer.load(tmp_path / "s.npz"), SegmentScorer.load(DEFAULT_SCORER)
    assert np.allclose(fresh.weights, shipped.weights, atol=2e-3) and abs(fresh.bias - shipped.bias) < 1e-3
    assert checks["components_found"] >= 0.995


def scanned(bundle, data: bytes, name: str):
    predictor = Predictor.from_bundle(bundle)
    calls = []

    def predict(texts):
        calls.append(list(texts))
        return predictor.predict_proba(texts)

    result = scan(
        read_document(data, name),
        scorer=load_scorer(bundle),
        predict_proba=predict,
        threshold=predictor.threshold,
        model_name=predictor.model_name,
        model_version=predictor.version,
    )
    return result, calls, predictor


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_a_spec_is_scanned_in_one_batched_call_and_boilerplate_is_skipped(trained_bundle, fmt):
    result, calls, predictor = scanned(trained_bundle, write_spec(spec_blocks(), fmt), f"spec.{fmt}")
    assert len(calls) == 1, "one model call per document"
    texts = [f.segment.text for f in result.components]
    assert calls[0] == texts
    assert len(texts) == 7 and set(SENTENCES) | set(ITEMS) <= set(texts)
    skipped = {f.segment.text: f.reason for f in result.skipped}
    assert skipped["Vehicle specification VS-2041"] == "heading"
    for line in ("Approved for release.", "Revision 3, 12 March 2024.", "Contact: 14 Harbour Road, Bristol."):
        assert skipped[line].startswith("not a component")
    data = as_json(result)
    assert data["verdict"] == NON_COMPLIANT  # the plastic rear axle (and more) are non-compliant
    assert data["counts"]["components"] == 7 and data["counts"]["skipped"] == 5
    assert data["model"]["version"] == predictor.version
    first = data["components"][0]
    assert {"text", "label", "probability", "page", "kind"} <= set(first) and first["label"] in (0, 1)
    assert {c["model_version"] for c in data["components"]} == {predictor.version}  # each component: the served version


def test_with_predict_explained_labels_and_evidence_come_from_one_call(trained_bundle):
    predictor = Predictor.from_bundle(trained_bundle)
    calls = []

    def predict_explained(texts):
        calls.append(list(texts))
        return predictor.predict_explained(texts)

    def no_predict_proba(texts):
        raise AssertionError("predict_proba called although predict_explained was given")

    result = scan(
        read_document(write_spec(spec_blocks(), "docx"), "spec.docx"),
        scorer=load_scorer(trained_bundle),
        predict_proba=no_predict_proba,
        predict_explained=predict_explained,
        threshold=predictor.threshold,
        model_name=predictor.model_name,
        model_version=predictor.version,
    )
    texts = [f.segment.text for f in result.components]
    assert calls == [texts]
    assert np.array_equal([f.probability for f in result.components], predictor.predict_proba(texts).astype(float))
    assert [list(f.evidence) for f in result.components] == predictor.explain(texts)
    assert all(f.evidence == () for f in result.skipped)


def test_a_document_without_components_says_no_components(trained_bundle):
    result, calls, _ = scanned(trained_bundle, b"# Specification\n\nApproved for release.\n\nRevision 2, 3 May 2024.\n", "b.md")
    assert result.verdict == NO_COMPONENTS and calls == [] and result.counts()["components"] == 0


def run_scan(*args):
    return subprocess.run([sys.executable, "-m", "ml", "scan", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_writes_json_and_goes_on_after_an_unreadable_file(trained_bundle, tmp_path):
    good_pdf, good_md, bad = tmp_path / "spec.pdf", tmp_path / "spec.md", tmp_path / "broken.pdf"
    good_pdf.write_bytes(write_spec(spec_blocks(), "pdf"))
    good_md.write_bytes(write_spec(spec_blocks(), "md"))
    bad.write_bytes(b"<html><body>not a pdf</body></html>")  # tried: HTML named .pdf, between two good files
    out = tmp_path / "findings.json"
    result = run_scan(str(good_pdf), str(bad), str(good_md), "--bundle", str(trained_bundle), "--output", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {bad}: the file is named .pdf but its content is HTML"]
    report = json.loads(out.read_text())
    assert [d["filename"] for d in report["documents"]] == ["spec.pdf", "spec.md"]
    assert report["errors"] == [{"file": str(bad), "error": "the file is named .pdf but its content is HTML"}]
    assert all(d["counts"]["components"] == 7 for d in report["documents"])
    assert "spec.pdf: non-compliant (7 components" in result.stdout


def test_cli_writes_csv_with_one_row_per_segment(trained_bundle, tmp_path):
    source = tmp_path / "spec.docx"
    source.write_bytes(write_spec(spec_blocks(), "docx"))
    out = tmp_path / "findings.csv"
    result = run_scan(str(source), "--bundle", str(trained_bundle), "--output", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12
    components = [r for r in rows if r["label"] != ""]
    assert len(components) == 7 and all(r["reason"] == "" and r["probability"] for r in components)
    assert {r["kind"] for r in components} == {"sentence", "list item", "table row"}
    assert next(r["reason"] for r in rows if r["label"] == "") == "heading"


def test_cli_refuses_an_output_that_is_neither_json_nor_csv(trained_bundle, tmp_path):
    result = run_scan(str(tmp_path / "x.pdf"), "--bundle", str(trained_bundle), "--output", str(tmp_path / "out.xlsx"))
    assert result.returncode == 2 and "must end in .json or .csv" in result.stderr


def test_every_training_run_logs_the_document_metrics(trained_run, trained_bundle):
    import mlflow

    keys = ("documents_component_accuracy", "documents_components_found", "documents_boilerplate_classified", "documents_verdict_accuracy")
    run = mlflow.MlflowClient(trained_run.tracking_uri).get_run(trained_run.run_id)
    assert set(keys) <= set(run.data.metrics)
    assert 0.0 <= run.data.metrics["documents_component_accuracy"] <= 1.0
    assert run.data.params["spec_documents"] == "20"
    card = json.loads((trained_bundle / "model_card.json").read_text())
    assert all(card["metrics"][k] == pytest.approx(run.data.metrics[k], abs=1e-6) for k in keys)
    assert (trained_bundle / "segments.npz").is_file()


def test_generate_mixes_in_document_style_rows(tmp_path):
    import pandas as pd

    out = tmp_path / "data.csv"
    result = subprocess.run(
        [sys.executable, "-m", "ml", "generate", "--rows", "400", "--out", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    shapes = frame["shape"].str.startswith("document-")
    assert len(frame) == 400 and shapes.sum() == 100
    rows = frame.loc[frame["shape"] == "document-train-table-row", "text"]
    assert len(rows) and rows.str.contains(": ").all() and rows.str.contains("; ").all()
