"""Fixtures for the monitoring tests: a model bundle, portal databases, prediction windows.

The bundle is the lead's session fixture `trained_bundle` when tests/conftest.py provides it; until then
a small bundle is built here (tokenizer from generated text, a TextCNN trained for a few seconds and
exported to ONNX, a reference sample scored by that model).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.bundle import ModelCard, write_card
from ml.data import YearSpec, generate

from .portal_db import create_portal_db

WINDOW = 400  # rows per test window: enough for stable verdicts, small enough for a 2-core machine
SHIFT_WORDS = ("aluminium", "titanium")


def _tiny_cnn(vocab_size: int):
    """A self-contained stand-in model (embedding, one convolution, masked max): ONNX contract only."""
    import torch
    from torch import nn

    class TinyCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, 16, padding_idx=0)
            self.conv = nn.Conv1d(16, 32, 5, padding=2)
            self.head = nn.Linear(32, 1)

        def logits(self, token_ids):
            mask = (token_ids != 0).unsqueeze(1)
            h = torch.relu(self.conv(self.embedding(token_ids).transpose(1, 2)))
            return self.head((h * mask).amax(dim=2)).squeeze(-1)

        def forward(self, token_ids):
            return torch.sigmoid(self.logits(token_ids))

    return TinyCNN()


def _build_bundle(root: Path) -> Path:
    import torch

    from ml.text import build_spec, encode_batch

    torch.manual_seed(0)
    root.mkdir(parents=True, exist_ok=True)
    train = generate(20_000, seed=11)
    spec = build_spec(train["text"])
    spec.save(root / "tokenizer.json")
    model = _tiny_cnn(spec.vocab_size)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x_all = torch.from_numpy(encode_batch(train["text"].tolist()[:3000], spec))
    y_all = torch.tensor(train["label"].to_numpy()[:3000], dtype=torch.float32)
    model.train()
    for _ in range(3):
        for start in range(0, len(x_all), 128):
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model.logits(x_all[start : start + 128]), y_all[start : start + 128]
            )
            loss.backward()
            opt.step()
    model.eval()
    x = torch.from_numpy(encode_batch(["steel gear made in 2001 in good condition"], spec))
    torch.onnx.export(
        model,
        (x,),
        str(root / "model.onnx"),
        dynamo=False,
        external_data=False,
        input_names=["token_ids"],
        output_names=["probability"],
        dynamic_axes={"token_ids": {0: "batch"}, "probability": {0: "batch"}},
    )
    (root / "labels.json").write_text(json.dumps({"names": {"0": "compliant", "1": "non-compliant"}, "threshold": 0.5}))
    write_card(root, ModelCard(model_name="component-compliance", model_version="7", run_id="test-run", model_type="cnn"))
    from ml.predictor import Predictor

    reference = train.iloc[:2000][["text", "label"]].copy()
    (root / "reference.csv").write_text("text,label,probability\n")  # placeholder so the bundle loads
    predictor = Predictor.from_bundle(root)
    reference["probability"] = predictor.predict_proba(reference["text"].tolist())
    reference.to_csv(root / "reference.csv", index=False)
    return root


@pytest.fixture(scope="session")
def bundle_dir(request, tmp_path_factory) -> Path:
    try:
        return Path(request.getfixturevalue("trained_bundle"))
    except pytest.FixtureLookupError:
        return _build_bundle(tmp_path_factory.mktemp("bundle") / "bundle")


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
    """Descriptions from the training distribution (another seed)."""
    return scored(generate(n, seed=1000 + seed), predictor)


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
    psycopg = pytest.importorskip("psycopg")
    name = f"monitoring_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    create_portal_db(url).dispose()
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """The jobs read only what each test gives them, never the developer's settings."""
    for name in ("DATABASE_URL", "MODEL_DIR", "REPORTS_DIR", "MLFLOW_TRACKING_URI", "ALERT_WEBHOOK_URL", "PORTAL_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    # No local MLflow server either: the checkout's own (`make run`) must not receive the tests' runs.
    monkeypatch.setenv("MLFLOW_SERVER_VAR_DIR", str(tmp_path / "no-mlflow-server"))
