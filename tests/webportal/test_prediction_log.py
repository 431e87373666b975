"""The classify API's fast path and its write-behind prediction log, on the real database (SQLite here;
PostgreSQL through test_postgres.py) and in a real gunicorn."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from common.names import MODEL_NAME
from tests.webportal.conftest import HEALTH_HEADERS, client_for, manage, portal_env
from webportal.api import views
from webportal.api.serializers import ClassifyRequest
from webportal.portal.log_schema import PREDICTION_COLUMNS
from webportal.portal.models import Prediction
from webportal.portal.prediction_log import LogUnavailable, PredictionLog

CLASSIFY = "/api/v1/classify"
TEXT = "Steel gear manufactured in 2010 in good condition"


def _row(text: str, user_id: int | None = None) -> tuple:
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    return (None, text, 0.25, 0, MODEL_NAME, "7", 0.1, user_id, "api", stamp, None)


# ---------------------------------------------------------------- the fast path


BODIES = [
    {"text": TEXT},
    {"texts": [TEXT, "Iron valve made in 1980, poor condition"]},
    {"texts": ["steel gear 2001"] * 256},
    {"text": "x" * 2000},
    {"text": "Ünïcödé bracket 2001 — good"},
    {"text": ""},
    {"text": "   \t\n "},
    {"text": "x" * 2001},
    {"text": 123},
    {"text": None},
    {"text": ["a"]},
    {"text": True},
    {"text": "nul \u0000 char"},
    {"text": "lone \ud800 surrogate"},
    {},
    {"text": "a", "texts": ["b"]},
    {"texts": []},
    {"texts": "not a list"},
    {"texts": ["ok steel 2001", 5]},
    {"texts": ["ok steel 2001", " "]},
    {"texts": ["steel gear 2001"] * 257},
    {"text": "steel", "extra": 1},
    ["a list"],
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_fast_path_accepts_exactly_what_the_serializer_accepts(body):
    raw = json.dumps(body).encode("utf-8", "surrogatepass")
    request = RequestFactory().post(CLASSIFY, raw, content_type="application/json")
    serializer_ok = isinstance(body, dict) and ClassifyRequest(data=body).is_valid()
    assert (views.plainly_valid_texts(request) is not None) == serializer_ok


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"text": "steel', "application/json"),
        (b'{"text": "\xff\xfe steel"}', "application/json"),
        (b'{"text": NaN}', "application/json"),
        (b"", "application/json"),
        (b"text=steel", "application/x-www-form-urlencoded"),
    ],
    ids=["truncated-json", "non-utf8", "nan", "empty", "form-encoded"],
)
def test_fast_path_leaves_malformed_bodies_to_drf(raw, content_type):
    assert views.plainly_valid_texts(RequestFactory().post(CLASSIFY, raw, content_type=content_type)) is None


@pytest.mark.django_db
def test_fast_and_drf_paths_answer_the_same(model, tech, monkeypatch):
    """The second token request takes the fast path (the first fills the token cache); a session request
    always goes through DRF. Same status, keys, types and values."""
    drf_calls = []
    original = views.ClassifyView.post
    monkeypatch.setattr(views.ClassifyView, "post", lambda self, request: drf_calls.append(1) or original(self, request))
    from rest_framework.authtoken.models import Token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech).key}")
    body = {"texts": [TEXT, "Iron valve made in 1980, poor condition"]}
    first = api.post(CLASSIFY, body, format="json")
    assert drf_calls == [1]
    fast = api.post(CLASSIFY, body, format="json")
    assert drf_calls == [1], "a cached token with a valid body must not go through DRF"
    session = client_for(tech).post(CLASSIFY, body, content_type="application/json")
    assert drf_calls == [1, 1]
    for response in (first, fast, session):
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert fast["Allow"] == first["Allow"]
    shapes = [{k: type(v) for r in x.json()["results"] for k, v in r.items()} for x in (first, fast, session)]
    assert shapes[0] == shapes[1] == shapes[2]
    varying = ("prediction_id", "created_at", "latency_ms")
    same = [[{k: v for k, v in r.items() if k not in varying} for r in x.json()["results"]] for x in (first, fast, session)]
    assert same[0] == same[1] == same[2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", fast.json()["results"][0]["created_at"])
    ids = [r["prediction_id"] for r in fast.json()["results"]]
    assert list(Prediction.objects.filter(pk__in=ids).order_by("pk").values_list("text", flat=True)) == body["texts"]


@pytest.mark.django_db
def test_fast_path_errors_are_drf_errors(model, tech):
    """A cached token with a bad body still gets DRF's 400 naming the field; a cached token whose user lost
    the permission is refused."""
    from rest_framework.authtoken.models import Token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech).key}")
    assert api.post(CLASSIFY, {"text": TEXT}, format="json").status_code == 200
    bad = api.post(CLASSIFY, {"text": " "}, format="json")
    assert bad.status_code == 400 and "text" in bad.json()["errors"]
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert stranger.post(CLASSIFY, {"text": TEXT}, format="json").status_code == 401


# ---------------------------------------------------------------- the write-behind log


@pytest.fixture
def tech_id(transactional_db):
    return get_user_model().objects.create_user("logger", password="x-Pass-9876").pk


@pytest.fixture
def make_log():
    """PredictionLog factory; every log is closed (thread stopped) before the database goes away."""
    logs: list[PredictionLog] = []

    def make(**kwargs) -> PredictionLog:
        logs.append(PredictionLog(**kwargs))
        return logs[-1]

    yield make
    for log in logs:
        log.close()


def test_rows_are_written_on_flush_with_the_ids_returned(tech_id, make_log):
    log = make_log(flush_seconds=3600, max_pending=1000, id_block=4)
    ids = log.write([_row(f"text {i}", tech_id) for i in range(3)])
    assert Prediction.objects.count() == 0 and log.status().pending == 3
    other = Prediction.objects.create(text="written by the ORM meanwhile", probability=0.9, label=1, model_name="m",
                                      model_version="1", latency_ms=0.1, source="form")  # fmt: skip
    more = log.write([_row(f"text {i}", tech_id) for i in range(3, 6)])  # crosses an id block
    assert log.flush() == 6
    assert len(set(ids + more + [other.pk])) == 7, "reserved ids never collide with database-assigned ids"
    stored = dict(Prediction.objects.filter(pk__in=ids + more).values_list("pk", "text"))
    assert stored == {pk: f"text {i}" for i, pk in enumerate(ids + more)}
    assert Prediction.objects.filter(user_id=tech_id).count() == 6
    assert log.status().pending == 0 and log.status().written == 6 and log.status().mode == "write-behind"


def test_background_thread_writes_within_the_interval(tech_id, make_log):
    log = make_log(flush_seconds=0.05, max_pending=1000)
    ids = log.write([_row("written by the thread", tech_id)])
    deadline = time.monotonic() + 10
    while not Prediction.objects.filter(pk=ids[0]).exists():
        assert time.monotonic() < deadline, "the background thread did not write the row"
        time.sleep(0.02)
    assert log.status().pending == 0


def test_zero_interval_writes_before_returning(tech_id, make_log):
    log = make_log(flush_seconds=0, max_pending=1000)
    (pk,) = log.write([_row("synchronous", tech_id)])
    assert Prediction.objects.get(pk=pk).text == "synchronous" and log.status().mode == "synchronous"


def test_database_failure_keeps_rows_and_backpressure_refuses_more(tech_id, make_log):
    """The table disappears (renamed away): the write fails, the rows stay pending, at max_pending the
    caller gets LogUnavailable; once the table is back every kept row is written, none twice."""
    log = make_log(flush_seconds=3600, max_pending=3, id_block=10)
    ids = log.write([_row(f"kept {i}", tech_id) for i in range(3)])
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE portal_prediction RENAME TO portal_prediction_away")
    try:
        assert log.flush() == 0
        status = log.status()
        assert status.pending == 3 and status.write_failures == 1 and "portal_prediction" in status.last_error
        with pytest.raises(LogUnavailable, match="cannot be written"):
            log.write([_row("one too many", tech_id)])  # refused whole: the client gets a 503, nothing of it is kept
        assert log.status().pending == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE portal_prediction_away RENAME TO portal_prediction")
    assert log.flush() == 3
    assert Prediction.objects.filter(pk__in=ids).count() == 3 and Prediction.objects.count() == 3


def test_row_of_a_deleted_user_is_kept_without_the_user(tech_id, make_log):
    """A user deleted between the answer and the write: the row lands with no user (as SET_NULL would have
    done had it been written first); the batch's other rows land unchanged."""
    other = get_user_model().objects.create_user("leaver", password="x-Pass-9876")
    log = make_log(flush_seconds=3600, max_pending=100)
    ids = log.write([_row("stays", tech_id), _row("user leaves", other.pk)])
    other.delete()
    assert log.flush() == 2
    users = dict(Prediction.objects.filter(pk__in=ids).values_list("text", "user_id"))
    assert users == {"stays": tech_id, "user leaves": None}
    assert log.status().rejected == 0


def test_rows_written_before_and_replayed_are_not_written_twice(tech_id, make_log):
    """A spool replayed after its rows had landed: the batch breaks the id's uniqueness (on PostgreSQL inside
    COPY), each row is then tried alone, found written, and neither doubled nor counted as refused."""
    log = make_log(flush_seconds=3600, max_pending=100)
    ids = log.write([_row("first", tech_id), _row("second", tech_id)])
    assert log.flush() == 2
    stored = list(Prediction.objects.filter(pk__in=ids).order_by("pk").values_list("pk", *PREDICTION_COLUMNS))
    log.adopt([tuple(row) for row in stored])  # tried: the same rows, ids and all, a second time
    fresh = log.write([_row("third", tech_id)])
    assert log.flush() == 1
    assert Prediction.objects.count() == 3 and Prediction.objects.get(pk=fresh[0]).text == "third"
    assert log.status().rejected == 0 and log.status().pending == 0


def test_gunicorn_writes_pending_rows_when_stopped(tmp_path, fresh_db, portal_bundle, start_server):
    """Two real workers with a flush interval longer than the test: every answered classification is in the
    database after a graceful stop (SIGTERM), with the id the API returned."""
    env = portal_env(tmp_path, MODEL_DIR=str(portal_bundle), PORTAL_DEMO_PASSWORD="Demo-pass-2024", PREDICTION_LOG_FLUSH_MS="600000")
    manage(env, "setup_roles", "--demo-users")
    key = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech").stdout).group(1)
    server = start_server(env, workers=2)
    answered = {}
    with requests.Session() as http:
        for i in range(30):
            text = f"Steel gear manufactured in {1950 + i} in good condition"
            headers = {"Authorization": f"Token {key}"}
            response = http.post(f"{server.url}/api/v1/classify", json={"text": text}, headers=headers, timeout=10)
            assert response.status_code == 200, server.logs()
            answered[response.json()["prediction_id"]] = text
    health = requests.get(f"{server.url}/healthz", headers=HEALTH_HEADERS, timeout=5).json()
    assert health["prediction_log"]["mode"] == "write-behind"
    server.stop()
    import sqlite3

    with sqlite3.connect(fresh_db) as db:
        stored = dict(db.execute("SELECT id, text FROM portal_prediction WHERE source = 'api'").fetchall())
    assert stored == answered


def test_bulk_columns_match_the_model():
    fields = {f.column for f in Prediction._meta.concrete_fields} - {"id"}
    assert set(PREDICTION_COLUMNS) == fields


@pytest.mark.django_db(transaction=True)  # autocommit, as in production: PostgreSQL would abort a test transaction
def test_api_answers_503_when_the_log_cannot_take_rows(api, model, make_log):
    """Synchronous log, table renamed away: the classify API answers 503 naming the log (not a 500)."""
    from webportal.portal import prediction_log

    prediction_log.set_log(make_log(flush_seconds=0, max_pending=10))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE portal_prediction RENAME TO portal_prediction_away")
    try:
        response = api.post(CLASSIFY, {"text": TEXT}, format="json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE portal_prediction_away RENAME TO portal_prediction")
        prediction_log.set_log(None)
    assert response.status_code == 503 and "prediction log" in response.json()["error"]
