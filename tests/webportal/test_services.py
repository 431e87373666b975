"""Services and selectors on the real database with a real ONNX bundle."""

from __future__ import annotations

import dataclasses
import json

import pytest

from webportal.portal import csv_import, selectors, services, serving
from webportal.portal.models import Component, ComponentRevision, Feedback, ImportBatch, MonitoringReport, Prediction

pytestmark = pytest.mark.django_db


def test_component_create_classifies_and_logs_prediction(model, tech):
    component = services.component_create(text="Steel bracket manufactured in 2012 in good condition", user=tech)
    assert component.status == "classified"
    assert component.label in (0, 1)
    assert 0.0 <= component.probability <= 1.0
    assert component.model_version == model.current.version
    (prediction,) = Prediction.objects.filter(component=component)
    assert prediction.text == component.text
    assert prediction.label == component.label
    assert prediction.probability == pytest.approx(component.probability)
    assert prediction.model_name == model.current.name
    assert prediction.user == tech
    assert prediction.source == "form"
    assert prediction.latency_ms > 0


def test_prediction_matches_predictor(model, tech):
    text = "cast iron valve body made in 1985, poor condition"
    component = services.component_create(text=text, user=tech)
    expected = model.current.predictor.predict([text])[0]
    assert component.label == expected.label
    assert component.probability == pytest.approx(expected.probability, abs=1e-5)


def test_texts_classify_batch_logs_one_row_per_text(model, tech):
    texts = [f"Steel gear manufactured in {1950 + i} in good condition" for i in range(5)]
    predictions = services.texts_classify(texts=texts, user=tech, source="api")
    assert [p.text for p in predictions] == texts
    assert Prediction.objects.filter(source="api", component__isnull=True).count() == 5


def test_no_model_stores_pending_then_labels_on_load(portal_bundle, tmp_path, tech):
    """Nothing entered without a model is lost: pending now, labelled once a model loads."""
    component = services.component_create(text="Plastic hinge made in 2001, new condition", user=tech)
    assert component.status == "pending" and component.label is None
    with pytest.raises(services.ModelUnavailable):
        services.texts_classify(texts=["x steel"], user=tech)
    holder = serving.ModelHolder(model_dir=str(portal_bundle))
    serving.set_holder(holder)
    assert services.model_reload()
    component.refresh_from_db()
    assert component.status == "classified"
    assert component.label in (0, 1)
    assert Prediction.objects.filter(component=component).count() == 1
    assert services.component_classify_pending() == 0  # idempotent


def test_edit_reclassifies_and_keeps_history(model, tech):
    component = services.component_create(text="Steel gear made in 2010, good condition", user=tech)
    services.component_update_text(component=component, text="Iron gear made in 1980, poor condition", user=tech)
    component.refresh_from_db()
    assert component.text == "Iron gear made in 1980, poor condition"
    (revision,) = ComponentRevision.objects.filter(component=component)
    assert revision.old_text == "Steel gear made in 2010, good condition"
    assert revision.edited_by == tech
    assert [p.text for p in component.predictions.order_by("id")] == [revision.old_text, component.text]


def test_feedback_links_latest_prediction_and_survives_model_change(model, tech, reviewer, second_bundle):
    component = services.component_create(text="Carbon fiber panel made in 2015, new condition", user=tech)
    first = component.predictions.get()
    feedback = services.feedback_create(component=component, correct_label=1, comment="it is plastic actually", reviewer=reviewer)
    assert feedback.prediction == first
    holder = serving.ModelHolder(model_dir=str(second_bundle))
    serving.set_holder(holder)
    services.model_reload()
    services.component_update_text(component=component, text="Plastic panel made in 2015, new condition", user=tech)
    assert Feedback.objects.get(pk=feedback.pk).prediction == first
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):  # a reviewed component cannot be deleted with its ground truth
        component.delete()


@pytest.mark.parametrize(
    ("text", "field"),
    [("", "text"), ("   \n\t", "text"), ("x" * 2001, "text"), ("nul\x00byte", "text"), ("lone \ud800 surrogate", "text"), (42, "text")],
    ids=["empty", "whitespace", "over-2000-chars", "nul", "surrogate", "int"],
)
def test_text_check_rejects(text, field):
    with pytest.raises(services.TextError) as exc:
        services.text_check(text)
    assert exc.value.field == field


def test_feedback_rejects_bad_label(model, tech, reviewer):
    component = services.component_create(text="Steel axle made in 2000, good condition", user=tech)
    with pytest.raises(services.TextError) as exc:
        services.feedback_create(component=component, correct_label=2, reviewer=reviewer)
    assert exc.value.field == "correct_label"


CSV_MIXED = (
    "id,text,label\n"
    "1,Steel gear made in 2001 in good condition,0\n"  # row 2 ok
    "2,   ,1\n"  # row 3 blank text
    "3,Iron bracket made in 1980,1,extra\n"  # row 4 too many fields
    '4,"<script>alert(1)</script> steel",0\n'  # row 5 ok (stored as text)
    "5," + "y" * 2001 + ",0\n"  # row 6 too long
    "6,Plastic hinge made in 1999; DROP TABLE portal_component;--,1\n"  # row 7 ok
)


def test_import_csv_good_rows_land_bad_rows_reported(model, tech):
    batch = csv_import.components_import_csv(data=CSV_MIXED.encode(), user=tech, filename="mixed.csv")
    assert batch.status == "done"
    assert (batch.total_rows, batch.imported_rows, batch.error_rows) == (6, 3, 3)
    assert [e["row"] for e in batch.error_list()] == [3, 4, 6]
    assert "empty" in batch.error_list()[0]["error"]
    assert "fields" in batch.error_list()[1]["error"]
    assert "2000" in batch.error_list()[2]["error"]
    assert Component.objects.filter(status="classified").count() == 3
    assert Prediction.objects.filter(source="import").count() == 3
    assert Component.objects.filter(text__startswith="<script>").exists()
    for component in Component.objects.all():  # each prediction belongs to the component with its text
        (prediction,) = component.predictions.all()
        assert (prediction.text, prediction.label, prediction.probability) == (component.text, component.label, component.probability)


def test_an_imported_component_gets_its_evidence_on_first_view_from_the_model_that_labelled_it(model, tech, monkeypatch):
    """A bulk import skips the occlusion (several model calls per text); the component page fills it in once, and
    only while the labelling model is served. Input tried: one CSV row, then the page with another version served."""
    from django.urls import reverse

    from tests.webportal.conftest import client_for

    csv_import.components_import_csv(data=b"text\nCast iron valve body made in 1985 in poor condition\n", user=tech)
    component = Component.objects.get()
    assert component.status == "classified" and component.evidence_list() == []
    with monkeypatch.context() as patched:
        patched.setattr(services, "model_current", lambda: dataclasses.replace(model.current, version="other"))
        assert client_for(tech).get(reverse("portal:component", args=[component.pk])).status_code == 200
    component.refresh_from_db()
    assert component.evidence_list() == [], "another model's words must not explain this label"
    page = client_for(tech).get(reverse("portal:component", args=[component.pk])).content.decode()
    component.refresh_from_db()
    words = [e["word"].lower() for e in component.evidence_list()]
    assert words and set(words) & {"iron", "1985", "poor"}, words
    assert f'<mark class="evidence">{component.evidence_list()[0]["word"]}</mark>' in page


def test_import_csv_non_utf8_row_reported_other_rows_land(model, tech):
    data = b"text\nSteel gear made in 2001 good\n\xff\xfe broken bytes\nIron axle 1970 poor\n"
    batch = csv_import.components_import_csv(data=data, user=tech)
    assert (batch.imported_rows, batch.error_rows) == (2, 1)
    assert batch.error_list() == [{"row": 3, "error": "text is not valid UTF-8"}]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"description\nfoo\n", "no 'text' column"), (b"text\n\x00\x01", "binary")],
    ids=["empty-file", "no-text-column", "binary"],
)
def test_import_csv_unusable_file_fails_whole(data, message, tech):
    batch = csv_import.components_import_csv(data=data, user=tech)
    assert batch.status == "failed" and message in batch.message
    assert Component.objects.count() == 0


def test_import_without_model_stores_pending(tech):
    batch = csv_import.components_import_csv(data=b"text\nsteel gear 2001 good\n", user=tech)
    assert batch.imported_rows == 1
    assert Component.objects.get().status == "pending"


def test_selectors_filter_and_operations(model, tech, reviewer):
    a = services.component_create(text="Steel gear made in 2001, good condition", user=tech)
    services.component_create(text="Iron hinge made in 1970, poor condition", user=tech)
    assert selectors.component_list(q="hinge").count() == 1
    assert selectors.component_list(created_by="tech").count() == 2
    assert selectors.component_list(created_by="nobody").count() == 0
    assert selectors.component_list(label=str(a.label)).filter(pk=a.pk).exists()
    services.feedback_create(component=a, correct_label=a.label, reviewer=reviewer)
    (row,) = selectors.feedback_accuracy_by_version()
    assert row["reviewed"] == 1 and row["accuracy"] == 1.0
    latency = selectors.prediction_latency()
    assert latency.count == 2 and latency.p99 >= latency.p50 > 0
    assert selectors.prediction_counts()["total"] == 2
    assert sum(r["total"] for r in selectors.label_mix_by_day()) == 2


def test_monitoring_trends_and_report_file(settings, tmp_path):
    settings.REPORTS_DIR = tmp_path
    (tmp_path / "drift.html").write_text("<html>report</html>")
    for i, share in enumerate([0.1, 0.4]):
        MonitoringReport.objects.create(
            kind="drift", status="ok" if i == 0 else "drift", headline=f"run {i}", rows=100,
            summary=json.dumps({"drift_share": share, "signals": {"text_length": {"score": 0.2 + i}, "drifted": bool(i)}}),
            html_report="drift.html" if i else "../../etc/passwd",
        )  # fmt: skip
    trends = selectors.monitoring_trends(reports=selectors.monitoring_reports())
    assert [v for _, v in trends["drift: drift_share"]] == [0.1, 0.4]
    assert "drift: signals.text_length.score" in trends
    newest, oldest = selectors.monitoring_reports()
    assert selectors.report_file(report=newest) == (tmp_path / "drift.html").resolve()
    assert selectors.report_file(report=oldest) is None  # traversal outside REPORTS_DIR refused


def test_import_batch_progress_recorded(model, tech, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    rows = "\n".join(f"steel gear made in {1990 + i} good condition" for i in range(5))
    batch = csv_import.components_import_csv(data=f"text\n{rows}\n".encode(), user=tech, key="k1")
    stored = ImportBatch.objects.get(key="k1")
    assert stored.processed_rows == stored.total_rows == 5 == batch.imported_rows


def test_csv_safe_neutralises_formulas():
    assert csv_import.csv_safe("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert csv_import.csv_safe("steel gear") == "steel gear"


def test_trimmed_padding_matches_full_padding(model):
    """The served model cuts trailing padding only when that leaves probabilities unchanged."""
    from ml.bundle import INPUT_NAME
    from ml.data import generate

    texts = [*generate(300, seed=5)["text"], "", "!!!", "steel"]
    served = model.current
    assert served.trim_padding
    full = served.predictor.session.run(None, {INPUT_NAME: served.predictor.encode(texts)})[0].reshape(-1)  # max_length padding
    assert served.predict_proba(texts, batch_size=32) == pytest.approx(full, abs=1e-5)  # sorted by length, each batch cut


def test_fixed_length_model_keeps_full_padding(tmp_path):
    """A Flatten-style model that only accepts max_length inputs is served without trimming."""
    from tests.webportal.bundle_tool import build_bundle

    bundle = build_bundle(tmp_path / "flat", fixed_length=True, rows=120)
    holder = serving.ModelHolder(model_dir=str(bundle))
    assert holder.load(), holder.last_error
    assert holder.current.trim_padding is False
    assert holder.current.predict_proba(["steel gear 2001 good", ""]).shape == (2,)
