from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from monitoring.performance import analyse_performance, link_feedback, wilson


def test_wilson_interval():
    assert wilson(0, 0) is None
    lo, hi = wilson(91, 100)
    assert lo == pytest.approx(0.8377, abs=1e-3) and hi == pytest.approx(0.9519, abs=1e-3)
    lo, hi = wilson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-3)


def _predictions(n=6, version="3"):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "component_id": [10, 10, 11, 12, 13, 14][:n],
            "probability": [0.9, 0.8, 0.2, 0.6, 0.1, 0.95][:n],
            "label": [1, 1, 0, 1, 0, 1][:n],
            "model_name": "m",
            "model_version": version,
            "latency_ms": [1.0, 2.0, 3.0, 4.0, 5.0, 100.0][:n],
            "source": "api",
            "created_at": [t0 + timedelta(hours=i) for i in range(n)],
        }
    )


def test_feedback_without_prediction_id_matches_the_components_latest_prior_prediction():
    preds = _predictions()
    t0 = preds["created_at"].iloc[0]
    feedback = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "component_id": [10, 11, 12],
            "prediction_id": [None, 3, 4],
            "correct_label": [0, 0, 1],
            "created_at": [t0 + timedelta(hours=1, minutes=30), t0 + timedelta(days=1), t0 + timedelta(days=1)],
        }
    )
    linked = link_feedback(preds, feedback).set_index("prediction_id")["correct_label"].to_dict()
    assert linked == {2: 0, 3: 0, 4: 1}  # component 10's feedback judges prediction 2 (made before it), not 1


def test_measured_beside_estimated_accuracy_and_degradation_flag():
    preds = _predictions()
    t = preds["created_at"].max() + timedelta(hours=1)
    feedback = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "component_id": [10, 11, 12, 13],
            "prediction_id": [1, 3, 4, 5],
            "correct_label": [1, 0, 0, 0],
            "created_at": [t] * 4,
        }
    )
    s = analyse_performance(preds, feedback, served_version="3", min_reviewed=2, min_accuracy=0.99)
    m = s["versions"]["3"]
    assert m["reviewed"] == 4 and m["corrected"] == 1 and m["accuracy"]["value"] == 0.75
    assert m["precision"] == {"value": 0.5, "n": 2, "ci": wilson(1, 2)} and m["recall"]["value"] == 1.0
    assert m["unreviewed"] == 2 and m["estimated_accuracy_unreviewed"] == pytest.approx((0.8 + 0.95) / 2)
    assert s["latency_ms"]["p50"] == 3.5 and s["volume"]["requests"] == 6
    assert s["status"] == "drift" and s["headline"].startswith("ACCURACY BELOW FLOOR: model 3: measured accuracy 75.0%")
    assert analyse_performance(preds, feedback, served_version="3", min_reviewed=30)["status"] == "ok"


def test_no_predictions_is_not_enough_data():
    s = analyse_performance(
        _predictions().iloc[:0], pd.DataFrame(columns=["id", "component_id", "prediction_id", "correct_label", "created_at"])
    )
    assert s["status"] == "insufficient_data" and s["headline"].startswith("not enough data (0 rows")
