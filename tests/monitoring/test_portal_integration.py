"""Against the portal's real Django migrations: monitoring's rows read back through the portal's ORM."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from common.paths import PROJECT_ROOT
from monitoring.cli import main
from monitoring.db import connect

from .conftest import WINDOW, shifted_window
from .portal_db import insert_predictions

READ_BACK = """
import json
from webportal.portal import selectors
from webportal.portal.models import MonitoringReport
r = MonitoringReport.objects.get()
print(json.dumps({"kind": r.kind, "status": r.status, "rows": r.rows, "created_at": r.created_at.isoformat(),
    "window_start": r.window_start.isoformat(), "summary_status": r.summary_data().get("status"),
    "report_file": str(selectors.report_file(report=r))}))
"""


def _manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_reports_written_by_monitoring_load_in_the_portal(tmp_path, bundle_dir, predictor, served_version, capsys):
    db, reports_dir = tmp_path / "portal.sqlite3", tmp_path / "reports"
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{db}",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "REPORTS_DIR": str(reports_dir),
        "MODEL_DIR": "",
        "MODEL_URI": "",
        "MLFLOW_TRACKING_URI": "",
    }
    _manage(env, "migrate", "--noinput", "-v", "0")
    engine = connect(f"sqlite:///{db}")
    insert_predictions(engine, shifted_window(WINDOW, 4, predictor), model_version=served_version)
    engine.dispose()
    code = main(["drift", "--database-url", f"sqlite:///{db}", "--bundle", str(bundle_dir), "--out", str(reports_dir), "-q"])
    assert code == 1, capsys.readouterr().out
    got = json.loads(_manage(env, "shell", "-c", READ_BACK).stdout.strip().splitlines()[-1])
    assert (got["kind"], got["status"], got["rows"], got["summary_status"]) == ("drift", "drift", WINDOW, "drift")
    assert got["created_at"].endswith("+00:00") and got["window_start"].endswith("+00:00")
    assert got["report_file"].startswith(str(reports_dir.resolve())) and got["report_file"].endswith(".html")
