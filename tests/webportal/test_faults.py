"""Faults inside one process: a database that cannot answer, an unwritable prediction table, a repeated import
key, model loads by any path, a stale model (issue 11, items 8-12). Real database, real bundle, real Django."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.webportal.conftest import _user, client_for
from webportal.api import authentication
from webportal.portal import csv_import, services, serving
from webportal.portal.models import Component, ImportBatch, Prediction

CLASSIFY = "/api/v1/classify"
TEXT = "Steel gear manufactured in 2010 in good condition"


@contextmanager
def table_away(table: str):
    """The table renamed away for the block (the database refuses every statement on it), then put back."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")


# ---------------------------------------------------------------- item 8: database down, token not cached


@pytest.mark.django_db(transaction=True)
def test_classify_with_an_uncached_token_while_the_token_table_fails_is_503_json(model, tech):
    """Input tried: a valid token that is not in the per-worker cache, while the token table cannot be read.
    The answer is the documented 503 JSON, not Django's 500 HTML page."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech).key}")
    authentication.clear()
    with table_away("authtoken_token"):
        response = client.post(CLASSIFY, {"text": TEXT}, format="json")
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert "database" in response.json()["error"] and response.has_header("Retry-After")
    assert client.post(CLASSIFY, {"text": TEXT}, format="json").status_code == 200  # back once the table is


@pytest.mark.django_db(transaction=True)
def test_api_pages_other_than_classify_answer_503_json_while_the_database_fails(model, tech):
    """Input tried: GET /api/v1/components while the component table is renamed away."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech).key}")
    with table_away("portal_component"):
        response = client.get("/api/v1/components")
    assert response.status_code == 503 and "database" in response.json()["error"]


# ---------------------------------------------------------------- item 9: the form while the prediction table is unwritable


@pytest.mark.django_db(transaction=True)
def test_form_classify_while_the_prediction_table_is_away_is_a_503_page_and_stores_nothing(model, tech):
    """Input tried: the classify form posted while portal_prediction is renamed away."""
    client = client_for(tech)
    with table_away("portal_prediction"):
        response = client.post("/classify/", {"text": TEXT})
    assert response.status_code == 503
    html = response.content.decode()
    assert "was not stored" in html and "Classify a component" in html  # the portal's page, not a bare 500
    assert Component.objects.count() == 0 and Prediction.objects.count() == 0
    assert client.post("/classify/", {"text": TEXT}).status_code == 200
    assert Component.objects.count() == 1 and Prediction.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_pages_answer_a_503_page_while_the_database_fails(model, tech):
    """Input tried: the inventory page while portal_component is renamed away."""
    with table_away("portal_component"):
        response = client_for(tech).get("/components/")
    assert response.status_code == 503 and "database" in response.content.decode()


# ---------------------------------------------------------------- item 10: CSV re-import with the same key

CSV = b"text\nSteel gear made in 2001 in good condition\nCopper pipe from 1980 in poor condition\n"


@pytest.mark.django_db
def test_reimport_with_the_same_key_returns_the_first_result_and_imports_nothing_twice(model, tech):
    """Input tried: the same file posted twice with key 'k1' by the same technician."""
    first = csv_import.components_import_csv(data=CSV, user=tech, filename="a.csv", key="k1")
    again = csv_import.components_import_csv(data=CSV, user=tech, filename="a.csv", key="k1")
    assert again.pk == first.pk and again.imported_rows == 2
    assert Component.objects.count() == 2 and ImportBatch.objects.count() == 1


@pytest.mark.django_db
def test_reimport_page_same_user_gets_the_result_another_user_gets_409(model, tech):
    """Input tried: the import page posted twice with key 'k2' by tech, then once with 'k2' by another technician."""
    other = _user("tech2", "technician")
    client = client_for(tech)
    upload = lambda: SimpleUploadedFile("a.csv", CSV, content_type="text/csv")  # noqa: E731
    assert client.post("/components/import/", {"file": upload(), "key": "k2"}).status_code == 200
    again = client.post("/components/import/", {"file": upload(), "key": "k2"})
    assert again.status_code == 200 and 'id="imported-count">2<' in again.content.decode()
    clash = client_for(other).post("/components/import/", {"file": upload(), "key": "k2"})
    assert clash.status_code == 409 and "already used" in clash.content.decode()
    assert Component.objects.count() == 2 and ImportBatch.objects.get(key="k2").created_by == tech


# ---------------------------------------------------------------- item 11: any model load labels pending entries


def _empty_then_bundle(tmp_path: Path) -> Path:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    return model_dir


@pytest.mark.django_db
def test_a_model_loaded_by_the_healthz_poll_labels_pending_entries(portal_bundle, tmp_path, tech):
    """A worker with no model yet stores an entry pending; the bundle appears; /healthz is the first request
    after that and its poll loads the model: the pending entry is labelled and logged then."""
    model_dir = _empty_then_bundle(tmp_path)
    holder = serving.ModelHolder(model_dir=str(model_dir), poll_seconds=1)
    assert not holder.load()
    serving.set_holder(holder)
    pending = services.component_create(text="Plastic hinge made in 2001, new condition", user=tech)
    assert pending.status == "pending"
    shutil.copytree(portal_bundle, model_dir, dirs_exist_ok=True)
    holder._last_poll = time.monotonic() - 5
    assert Client().get("/healthz").status_code == 200
    assert holder.current is not None
    pending.refresh_from_db()
    assert pending.status == "classified" and Prediction.objects.filter(component=pending).count() == 1


@pytest.mark.django_db
def test_a_direct_holder_load_labels_pending_entries(portal_bundle, tech):
    """Any load, not only model_current()'s poll: ModelHolder.load() itself labels what was pending."""
    pending = services.component_create(text="Plastic hinge made in 2001, new condition", user=tech)
    holder = serving.ModelHolder(model_dir=str(portal_bundle))
    serving.set_holder(holder)
    assert holder.load()
    pending.refresh_from_db()
    assert pending.status == "classified"


# ---------------------------------------------------------------- item 12: a stale model is degraded


@pytest.mark.django_db
def test_healthz_is_degraded_with_the_reason_after_a_corrupt_model_file(model):
    """Input tried: model.onnx overwritten with garbage bytes, then a reload. The last good model is still
    served and classifies, and /healthz says degraded and why."""
    served = model.current
    path = Path(model.model_dir) / "model.onnx"
    path.write_bytes(b"this is not an onnx file" * 10)
    assert not model.load()
    assert model.current is served
    assert Client().get("/healthz").json() == {"status": "degraded"}  # the public answer: status only
    body = _health_details()
    assert body["status"] == "degraded"
    assert "stale" in body["reason"] and served.version in body["reason"]
    assert body["model_stale"] is True
    assert services.texts_classify(texts=[TEXT])[0].label in (0, 1)


@pytest.mark.django_db
def test_healthz_is_ok_without_a_reason_when_all_is_well(model):
    body = _health_details()
    assert body["status"] == "ok" and body["reason"] == ""


def _health_details() -> dict:
    """/healthz's details, as an operator's monitoring sees them (Bearer HEALTH_TOKEN)."""
    from django.test import override_settings

    with override_settings(HEALTH_TOKEN="faults-health-token"):
        return Client().get("/healthz", HTTP_AUTHORIZATION="Bearer faults-health-token").json()


# ---------------------------------------------------------------- item 14: the spool a dead worker leaves


@pytest.mark.django_db(transaction=True)
def test_the_spool_of_a_dead_worker_is_replayed_once_and_a_live_workers_is_left(tmp_path, tech):
    """Input tried: a dead worker's spool holding three answered rows (one of them already written before the
    kill) and a torn last line, and a live process's spool. Replay writes the two missing rows, skips the
    written one and the torn line, deletes the dead spool and leaves the live one alone."""
    import subprocess
    import sys

    from django.utils import timezone

    from webportal.portal import prediction_log, spool

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    texts = ["spooled 0", "spooled 1", "Stahl — Prüfung\u2028line\r\nnext"]  # tried: UTF-8, U+2028 and CR LF inside a text
    rows = [(900_000 + i, None, texts[i], 0.5, 1, "m", "1", 0.1, tech.pk, "api", stamp, None) for i in range(3)]  # None: document_id
    try:
        left = spool.Spool(tmp_path, pid=dead.pid)
        left.append(rows)
        os.write(left._fd, b'[900009, null, "torn')
        spool.Spool(tmp_path, pid=live.pid).append([(900_100, *rows[0][1:])])
        Prediction.objects.create(id=900_001, text="spooled 1", probability=0.5, label=1, model_name="m", model_version="1",
                                  latency_ms=0.1, source="api")  # fmt: skip
        prediction_log.set_log(prediction_log.PredictionLog(flush_seconds=3600, max_pending=100, spool_dir=tmp_path))
        assert prediction_log.replay_dead_spools() == 2
        assert sorted(Prediction.objects.values_list("id", flat=True)) == [900_000, 900_001, 900_002]
        assert Prediction.objects.get(id=900_002).text == texts[2]
        assert [r[2] for r in spool.read_rows(next(tmp_path.glob(f"{live.pid}.*")))] == ["spooled 0"]
        names = sorted(p.name for p in tmp_path.glob("*.spool"))
        assert not any(n.startswith(f"{dead.pid}.") or ".from-" in n for n in names), names
        assert any(n.startswith(f"{live.pid}.") for n in names)
        assert prediction_log.replay_dead_spools() == 0
    finally:
        live.kill()
        prediction_log.set_log(None)


@pytest.mark.django_db(transaction=True)
def test_rows_stay_pending_when_the_spool_folder_disappears(tmp_path, tech):
    """Input tried: the spool folder deleted under a running log with two rows pending. The flush fails loudly
    (the new spool segment cannot be opened) and keeps both rows pending instead of dropping them; once the
    folder is back the next flush writes them."""
    from django.utils import timezone

    from webportal.portal import prediction_log

    folder = tmp_path / "spool"
    current = prediction_log.PredictionLog(flush_seconds=3600, max_pending=100, spool_dir=folder)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    row = (None, "spooled", 0.5, 1, "m", "1", 0.1, tech.pk, "api", stamp, None)
    ids = current.write([row, row])
    shutil.rmtree(folder)
    with pytest.raises(OSError):
        current.flush()
    assert current.status().pending == 2 and not Prediction.objects.filter(pk__in=ids).exists()
    folder.mkdir()  # the folder is back: the next flush opens a new segment and writes them
    assert current.flush() == 2 and Prediction.objects.filter(pk__in=ids).count() == 2
    current.close()
