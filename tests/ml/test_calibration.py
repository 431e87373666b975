"""Calibration (ml.calibration): the ECE, the temperature fit, and what a training run logs and exports with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.bundle import BundleError, ModelCard
from ml.calibration import expected_calibration_error, fit_temperature


def test_ece_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    labels = rng.uniform(0, 1, p.size) < p
    assert expected_calibration_error(labels, p) < 0.02
    assert expected_calibration_error(labels, np.where(p >= 0.5, 0.999, 0.001)) > 0.2
    assert expected_calibration_error([], []) == 0.0
    with pytest.raises(ValueError, match="as many labels"):
        expected_calibration_error([1, 0], [0.5])


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 6, 20_000)
    labels = rng.uniform(0, 1, logits.size) < 1 / (1 + np.exp(-logits / 2.5))  # the truth is the logit over 2.5
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.1)
    assert fit_temperature(np.zeros(0), np.zeros(0)) == 1.0


def test_a_training_run_logs_ece_and_the_reliability_diagram(trained_run, trained_bundle):
    import mlflow

    from ml.predictor import Predictor

    metrics = trained_run.metrics
    assert metrics["val_ece"] <= metrics["val_ece_uncalibrated"]
    assert 0.0 <= metrics["test_ece"] < 0.05 and metrics["calibration_temperature"] > 0
    client = mlflow.MlflowClient(tracking_uri=trained_run.tracking_uri)
    logged = client.get_run(trained_run.run_id).data.metrics
    assert {"val_ece", "val_ece_uncalibrated", "test_ece", "calibration_temperature"} <= set(logged)
    plots = {f.path for f in client.list_artifacts(trained_run.run_id, "evaluation")}
    assert "evaluation/reliability.png" in plots and "evaluation/roc_curve.png" in plots
    png = client.download_artifacts(trained_run.run_id, "evaluation/reliability.png")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    predictor = Predictor.from_bundle(trained_bundle)
    assert predictor.card.temperature == pytest.approx(metrics["calibration_temperature"], abs=1e-5)
    assert metrics["onnx_parity_max_abs_diff"] < 1e-5  # the parity check ran on the calibrated model


def test_the_temperature_is_folded_into_the_model_and_its_weights(trained_run, tmp_path):
    import torch

    from ml.models import load_weights, save_weights

    mlflow_weights = _weights(trained_run, tmp_path)
    model = load_weights("cnn", mlflow_weights)
    assert float(model.temperature) == pytest.approx(trained_run.metrics["calibration_temperature"], abs=1e-5)
    state = torch.load(mlflow_weights, weights_only=True)
    del state["temperature"]  # weights saved before calibration existed
    torch.save(state, tmp_path / "old.pt")
    old = load_weights("cnn", tmp_path / "old.pt")
    assert float(old.temperature) == 1.0
    ids = torch.ones((2, 6), dtype=torch.long)
    with torch.no_grad():
        np.testing.assert_allclose(old(ids).numpy(), torch.sigmoid(old.logits(ids)).numpy(), atol=1e-7)
    save_weights(old, tmp_path / "again.pt")
    assert "temperature" in torch.load(tmp_path / "again.pt", weights_only=True)


def _weights(trained_run, tmp_path):
    import mlflow

    from ml.models import PYTORCH_WEIGHTS, STATE_DICT_FILE

    client = mlflow.MlflowClient(tracking_uri=trained_run.tracking_uri)
    return client.download_artifacts(trained_run.run_id, f"{PYTORCH_WEIGHTS}/{STATE_DICT_FILE}", str(tmp_path))


def test_card_temperature_defaults_for_old_cards_and_refuses_bad_values():
    assert ModelCard.from_dict({"run_id": "r1"}).temperature == 1.0  # a card from before calibration
    assert ModelCard.from_dict({"temperature": 0.7}).temperature == 0.7
    assert ModelCard.from_json(ModelCard(temperature=1.3).to_json()).temperature == 1.3
    for bad in ("0.7", -1, 0, True, [1]):  # a string, not positive, a boolean, a list
        with pytest.raises(BundleError, match="temperature"):
            ModelCard.from_dict({"temperature": bad})
