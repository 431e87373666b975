"""Fixtures for the monitoring tests: a model bundle, portal databases, prediction windows.

The bundle is the session's small real training run (`trained_bundle`, tests/conftest.py); the portal
tables are built by portal_db.py without Django; the windows are generated rows scored by that bundle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data import YearSpec, generate
from ml.data.specs import training_frame
from tests.pg_scratch import scratch_database

from .portal_db import create_portal_db

WINDOW = 400  # rows per test window: enough for stable verdicts, small enough for a 2-core machine
SHIFT_WORDS = ("aluminium", "titanium")


@pytest.fixture(scope="session")
def bundle_dir(trained_bundle) -> Path:
    """The session's real training bundle (tests/conftest.py): the served model of every monitoring test."""
    return Path(trained_bundle)


@pytest.fixture(scope="session")
def predictor(bundle_dir):
    from ml.predictor import Predictor

    return Predictor.from_bundle(bundle_dir)


@pytest.fixture(scope="session")
def served_version(predictor) -> str:
    return predictor.version


def scored(frame: pd.DataFrame, predictor) -> pd.DataFrame:
    frame = frame.copy()
    frame["probability"] = predictor.predict_proba(frame["text"].tolist())
    return frame


def normal_window(n: int, seed: int, predictor) -> pd.DataFrame:
    """Texts from the training distribution (another seed): descriptions plus document-style rows, as trained on."""
    return scored(training_frame(n, seed=1000 + seed), predictor)


def shifted_window(n: int, seed: int, predictor) -> pd.DataFrame:
    """More plastic and iron, older years, sentence shapes never trained on, unseen material words."""
    frame = generate(
        n, seed=2000 + seed, shapes="holdout", years=YearSpec(ranges=((1900, 1975),), exclude=frozenset()), positive_share=0.85
    )
    rng = np.random.default_rng(seed)
    texts = frame["text"].tolist()
    for i in np.flatnonzero(rng.random(n) < 0.35):
        word = SHIFT_WORDS[i % 2]
        for form in (
            "carbon fiber composite",
            "carbon fiber",
            "carbon fibre",
            "carbon-fiber",
            "stainless steel",
            "galvanized steel",
            "carbon steel",
            "steel",
        ):
            for variant in (form, form.title(), form.upper(), form.capitalize()):
                if variant in texts[i]:
                    texts[i] = texts[i].replace(variant, word if variant.islower() else word.upper() if variant.isupper() else word.title())
                    break
            else:
                continue
            break
        else:
            texts[i] = f"{word} {texts[i]}"
    frame["text"] = texts
    return scored(frame, predictor)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    create_portal_db(url).dispose()
    return url


@pytest.fixture
def postgres_url():
    """A throwaway database on the local PostgreSQL server (trust auth), dropped afterwards."""
    with scratch_database("monitoring_test") as url:
        create_portal_db(url).dispose()
        yield url


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """The jobs read only what each test gives them, never the developer's settings."""
    for name in ("DATABASE_URL", "MODEL_DIR", "REPORTS_DIR", "MLFLOW_TRACKING_URI", "ALERT_WEBHOOK_URL", "PORTAL_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    # No local MLflow server either: the checkout's own (`make run`) must not receive the tests' runs.
    monkeypatch.setenv("MLFLOW_SERVER_VAR_DIR", str(tmp_path / "no-mlflow-server"))
