"""Shared fixtures: a small real training run and its inference bundle, made once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MPLBACKEND", "Agg")


def _tiny_config(tmp: Path, *, rows: int = 6000, epochs: int = 3, seed: int = 7, model_type: str = "cnn"):
    from ml.data.specs import training_frame
    from ml.training_run import TrainConfig

    data = tmp / "components.csv"
    if not data.exists():
        training_frame(rows, seed=seed).to_csv(data, index=False)  # descriptions and document-style rows, as the pipeline
    return TrainConfig(
        data=data,
        out=tmp / f"bundle-{model_type}",
        model_type=model_type,
        epochs=epochs,
        batch_size=64,
        seed=seed,
        tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}",
        holdout_rows=400,
        reference_rows=500,
        glove_epochs=40,
        spec_documents=20,
        progress=False,
    )


@pytest.fixture(scope="session")
def tiny_train_config_factory():
    """Build a TrainConfig for a small, fast, real training run in a given folder."""
    return _tiny_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A real MLflow-tracked training run on 6,000 generated rows (CNN, 3 epochs, CPU); its TrainResult."""
    from ml.training_run import train

    return train(_tiny_config(tmp_path_factory.mktemp("trained")))


@pytest.fixture(scope="session")
def trained_bundle(trained_run) -> Path:
    """The inference bundle written by `trained_run` (model.onnx, tokenizer.json, labels, card, reference)."""
    return Path(trained_run.bundle_dir)


@pytest.fixture(scope="session")
def trained_tracking_uri(trained_run) -> str:
    return trained_run.tracking_uri


@pytest.fixture
def reference_examples():
    """The job description's three example rows (docs/architecture.md): [(text, label)]."""
    from ml.domain import REFERENCE_EXAMPLES

    return list(REFERENCE_EXAMPLES)


def pytest_collection_modifyitems(config, items):
    """`gpu` tests run only where CUDA exists (the GPU path is also exercised on CPU by the other tests)."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="no CUDA device on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
