"""The jobs end to end over a SQLite portal database: exit codes, files, the portal row, alerts, MLflow."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitoring.cli import main
from monitoring.db import connect

from .conftest import WINDOW, normal_window, shifted_window
from .portal_db import insert_feedback, insert_predictions, reports


@pytest.fixture
def webhook():
    """A real HTTP server on a free 127.0.0.1 port that records JSON POSTs."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def _engine(url):
    return connect(url)


def test_shifted_window_exits_1_with_report_row_files_and_webhook(
    sqlite_url, bundle_dir, predictor, served_version, tmp_path, webhook, capsys
):
    url, received = webhook
    engine = _engine(sqlite_url)
    insert_predictions(engine, shifted_window(WINDOW, 1, predictor), model_version=served_version)
    out = tmp_path / "reports"
    code = main(["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(out), "--webhook-url", url, "-q"])
    printed = capsys.readouterr().out
    assert code == 1, printed
    assert "[drift] DRIFT: DRIFT in" in printed and "never saw in training" in printed

    rows = reports(engine)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row.kind, row.status, row["rows"], row.model_version) == ("drift", "drift", WINDOW, served_version)
    assert row.headline.startswith("DRIFT in")
    # Django's SQLite datetime format (UTC, no offset) so the portal's ORM reads it back.
    for col in ("created_at", "window_start", "window_end"):
        assert datetime.fromisoformat(row[col]).tzinfo is None and row[col][10] == " "
    summary = json.loads(row.summary)
    assert summary["signals"]["text"]["drift"] and summary["model_version"] == served_version
    html = out / row.html_report.rsplit("/", 1)[-1]
    assert html.is_file() and html.stat().st_size > 100_000 and row.html_report == str(html.resolve())
    assert len(list(out.glob("drift-*.png"))) == 1 and len(list(out.glob("drift-*.json"))) == 1
    on_disk = json.loads(next(out.glob("drift-*.json")).read_text())
    assert on_disk["status"] == "drift" and on_disk["alert"]["webhook"].startswith("sent") and on_disk["report_id"] == row.id

    assert len(received) == 1
    assert received[0]["kind"] == "drift" and received[0]["status"] == "drift"
    assert received[0]["headline"] == row.headline and received[0]["report_id"] == row.id


def test_normal_window_exits_0_without_alert(sqlite_url, bundle_dir, predictor, served_version, tmp_path, webhook, capsys):
    url, received = webhook
    engine = _engine(sqlite_url)
    insert_predictions(engine, normal_window(WINDOW, 7, predictor), model_version=served_version)
    # Older than the window: must be ignored.
    insert_predictions(engine, shifted_window(WINDOW, 2, predictor), end=datetime.now(UTC) - timedelta(days=10), span=timedelta(hours=1))
    code = main(
        ["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "--since", "7d", "--webhook-url", url]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "[drift] OK: no drift" in printed
    row = reports(engine).iloc[0]
    assert row.status == "ok" and row["rows"] == WINDOW
    assert received == []


def test_last_n_window(sqlite_url, bundle_dir, predictor, served_version, tmp_path, monkeypatch, capsys):
    engine = _engine(sqlite_url)
    insert_predictions(engine, shifted_window(250, 3, predictor), end=datetime.now(UTC) - timedelta(days=30))
    insert_predictions(engine, normal_window(250, 8, predictor), model_version=served_version)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MODEL_DIR", str(bundle_dir))
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path))
    assert main(["drift", "--last", "250", "-q"]) == 0
    assert main(["drift", "--last", "500", "-q"]) == 1
    rows = reports(engine)
    assert list(rows.status) == ["ok", "drift"] and list(rows["rows"]) == [250, 500]


@pytest.mark.parametrize("rows", [0, 120])
def test_empty_or_small_window_is_not_enough_data(sqlite_url, bundle_dir, predictor, tmp_path, webhook, capsys, rows):
    url, received = webhook
    engine = _engine(sqlite_url)
    if rows:
        insert_predictions(engine, normal_window(rows, 9, predictor))
    code = main(["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "--webhook-url", url])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"[drift] NOT ENOUGH DATA: not enough data ({rows} rows, need 200)" in printed
    row = reports(engine).iloc[0]
    assert row.status == "insufficient_data" and row["rows"] == rows and row.html_report == ""
    assert received == []


def test_missing_bundle_exits_2_records_error_and_alerts(sqlite_url, tmp_path, webhook, capsys):
    url, received = webhook
    code = main(["drift", "--database-url", sqlite_url, "--bundle", str(tmp_path / "nope"), "--out", str(tmp_path), "--webhook-url", url])
    printed = capsys.readouterr().out
    assert code == 2
    assert f"[drift] ERROR: could not run: model bundle folder {tmp_path / 'nope'} does not exist" in printed
    row = reports(_engine(sqlite_url)).iloc[0]
    assert row.status == "error" and "does not exist" in row.headline
    assert received and received[0]["status"] == "error"


def test_defaults_follow_the_portal(monkeypatch, tmp_path):
    from common.paths import PROJECT_ROOT as REPO_ROOT
    from monitoring.jobs import JobConfig

    config = JobConfig.from_env({"MLFLOW_SERVER_VAR_DIR": str(tmp_path / "no-mlflow-server")})
    assert config.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'portal.sqlite3'}"
    assert config.out_dir == REPO_ROOT / "reports" and config.bundle_dir is None and config.tracking_uri is None
    env = {"PORTAL_VAR_DIR": str(tmp_path), "MODEL_DIR": "/models/current", "REPORTS_DIR": "/reports", "ALERT_WEBHOOK_URL": "http://x"}
    config = JobConfig.from_env(env, since=timedelta(hours=2))
    assert config.database_url == f"sqlite:///{tmp_path / 'portal.sqlite3'}" and str(config.bundle_dir) == "/models/current"
    assert config.out_dir == Path("/reports") and config.webhook_url == "http://x" and config.since == timedelta(hours=2)


def test_no_bundle_configured_exits_2(sqlite_url, tmp_path, capsys):
    assert main(["drift", "--database-url", sqlite_url, "--out", str(tmp_path)]) == 2
    assert "no model bundle given: pass --bundle DIR or set MODEL_DIR" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///{tmp}/missing.sqlite3", "cannot reach the database: SQLite file"),
        ("postgresql://postgres@127.0.0.1:1/portal", "cannot reach the database postgresql+psycopg://postgres@127.0.0.1:1/portal"),
        ("  ", "no database configured: set DATABASE_URL"),
        ("mysql://x@y/z", "scheme 'mysql' is not supported"),
    ],
)
def test_unreachable_database_exits_2(bundle_dir, tmp_path, capsys, url, message):
    url = url.format(tmp=tmp_path)
    args = ["drift", "--bundle", str(bundle_dir), "--out", str(tmp_path / "out"), "--database-url", url]
    assert main(args) == 2
    printed = capsys.readouterr().out
    assert message in printed
    written = json.loads(next((tmp_path / "out").glob("drift-*.json")).read_text())
    assert written["status"] == "error" and message in written["headline"]


def test_database_without_portal_tables_exits_2(tmp_path, bundle_dir, capsys):
    db = tmp_path / "empty.sqlite3"
    sa.create_engine(f"sqlite:///{db}").connect().close()
    assert main(["drift", "--database-url", f"sqlite:///{db}", "--bundle", str(bundle_dir), "--out", str(tmp_path)]) == 2
    assert "run the portal's migrations first" in capsys.readouterr().out


def test_mlflow_gets_metrics_tagged_with_model_version(sqlite_url, bundle_dir, predictor, served_version, tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    engine = _engine(sqlite_url)
    insert_predictions(engine, normal_window(WINDOW, 10, predictor), model_version=served_version)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the embedded default backend (docs/architecture.md)
    code = main(["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "--tracking-uri", uri])
    assert code == 0, capsys.readouterr().out
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("monitoring")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.tags["model_version"] == served_version and run.data.tags["kind"] == "drift"
    assert 0.3 < run.data.metrics["text_roc_auc"] < 0.7 and run.data.metrics["drift"] == 0.0
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert any(n.endswith(".html") for n in names) and any(n.endswith(".png") for n in names)
    summary = json.loads(reports(engine).iloc[0].summary)
    assert (
        summary["mlflow"]["logged"] and summary["mlflow"]["run_id"] == run.info.run_id and summary["window"]["since"] == "7 days, 0:00:00"
    )


def test_mlflow_down_keeps_files_and_row(sqlite_url, bundle_dir, predictor, served_version, tmp_path, capsys):
    engine = _engine(sqlite_url)
    insert_predictions(engine, normal_window(WINDOW, 11, predictor), model_version=served_version)
    code = main(
        ["drift", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path), "--tracking-uri", "http://127.0.0.1:9"]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "warning: MLflow: not logged (MLflow tracking server http://127.0.0.1:9 is not reachable" in printed
    row = reports(engine).iloc[0]
    assert row.status == "ok" and json.loads(row.summary)["mlflow"]["logged"] is False
    assert list(tmp_path.glob("drift-*.html")) and list(tmp_path.glob("drift-*.json"))


def test_performance_job(sqlite_url, bundle_dir, predictor, served_version, tmp_path, capsys):
    engine = _engine(sqlite_url)
    window = normal_window(300, 12, predictor)
    ids = insert_predictions(engine, window, model_version=served_version, with_components=True)
    with engine.connect() as conn:
        preds = conn.execute(sa.text("SELECT id, component_id, label FROM portal_prediction ORDER BY id")).fetchall()
    now = datetime.now(UTC)
    feedback = []
    for i, (pid, cid, label) in enumerate(preds[:100]):
        wrong = i < 10  # reviewers correct 10 of 100
        feedback.append(
            {
                "component_id": cid,
                "prediction_id": pid if i % 4 else None,
                "correct_label": 1 - label if wrong else label,
                "created_at": now,
            }
        )
    # A later review of the same prediction replaces the earlier one.
    feedback.append(
        {"component_id": preds[0][1], "prediction_id": preds[0][0], "correct_label": preds[0][2], "created_at": now + timedelta(seconds=1)}
    )
    insert_feedback(engine, feedback)
    assert len(ids) == 300
    code = main(["performance", "--database-url", sqlite_url, "--bundle", str(bundle_dir), "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    row = reports(engine).iloc[0]
    assert (row.kind, row.status, row["rows"]) == ("performance", "ok", 300)
    s = json.loads(row.summary)
    mine = s["versions"][served_version]
    assert mine["reviewed"] == 100 and mine["corrected"] == 9
    assert mine["accuracy"]["value"] == 0.91 and mine["accuracy"]["ci"][0] < 0.91 < mine["accuracy"]["ci"][1]
    assert mine["unreviewed"] == 200 and 0.5 <= mine["estimated_accuracy_unreviewed"] <= 1
    assert set(s["latency_ms"]) >= {"p50", "p95", "p99"} and s["volume"]["requests"] == 300
    assert "measured accuracy 91.0%" in row.headline and "unreviewed" in row.headline
    assert list(tmp_path.glob("performance-*.png"))
