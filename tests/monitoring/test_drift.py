"""The drift analysis itself (no database): shifted windows are flagged, normal ones are not."""

import math
import warnings

import pandas as pd
import pytest

from monitoring.drift import DriftOptions, analyse, auc_threshold, distance_threshold
from monitoring.reference import load_reference

from .conftest import WINDOW, normal_window, shifted_window


@pytest.fixture(scope="module")
def reference(bundle_dir):
    return load_reference(bundle_dir)


def _run(reference, window):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(reference.frame, window, spec=reference.spec, threshold=reference.threshold, served_version=reference.model_version)


def test_training_distribution_raises_no_false_alarm(reference, predictor):
    """Five windows drawn from the training distribution: zero alarms on any signal."""
    alarms = []
    for seed in range(5):
        summary = _run(reference, normal_window(WINDOW, seed, predictor)).summary
        if summary["status"] != "ok":
            alarms.append((seed, summary["headline"]))
        assert summary["headline"].startswith("no drift")
    assert alarms == []


def test_shifted_window_is_flagged_on_every_signal(reference, predictor):
    analysis = _run(reference, shifted_window(WINDOW, 0, predictor))
    s = analysis.summary
    assert s["status"] == "drift"
    assert set(s["flagged"]) >= {"text", "attributes", "prediction"}
    text = s["signals"]["text"]
    assert text["classifier_drift"] and text["roc_auc"] > text["threshold"]
    assert text["unseen_drift"]
    top = [w for w, _ in text["top_unseen_words"]]
    assert set(top[:2]) == {"aluminium", "titanium"}, top
    assert text["separating_words"]["current"], "Evidently's domain classifier names the telling words"
    attrs = s["signals"]["attributes"]["columns"]
    assert attrs["year"]["drift"] and attrs["year"]["current_median"] < attrs["year"]["reference_median"]
    assert attrs["material"]["current_shares"].get("other", 0) > 0.1
    share = s["signals"]["prediction"]["share_non_compliant"]
    assert share["current"] > share["reference"] + 0.2
    assert "text drift:" in s["headline"] and "never saw in training" in s["headline"]
    assert analysis.snapshot is not None


def test_too_few_rows_is_not_an_alarm(reference, predictor):
    s = analyse(reference.frame, normal_window(50, 1, predictor), spec=reference.spec, options=DriftOptions(min_rows=200)).summary
    assert s["status"] == "insufficient_data"
    assert s["headline"] == "not enough data (50 rows, need 200)"


def test_thresholds_widen_for_small_windows_only():
    opts = DriftOptions()
    assert distance_threshold("wasserstein", 100_000, 100_000, opts) == opts.distance_threshold
    assert distance_threshold("wasserstein", 2000, 200, opts) > 0.15
    assert auc_threshold(100_000, 100_000, opts) == opts.auc_threshold
    small = auc_threshold(2000, 200, opts)
    assert 0.55 < small < 0.75 and math.isfinite(small)


def test_prediction_drift_only_compares_the_served_version(reference, predictor):
    """Rows scored by an older model version are kept for text and attributes but not for prediction drift."""
    mine = normal_window(WINDOW, 3, predictor).assign(model_version=reference.model_version)
    old = normal_window(WINDOW, 4, predictor).assign(model_version="old", probability=0.99)
    s = _run(reference, pd.concat([mine, old], ignore_index=True)).summary
    assert s["status"] == "ok", s["headline"]
    assert s["signals"]["prediction"]["scope"].startswith(f"{WINDOW} rows scored by version")
    assert s["model_versions"] == {reference.model_version: WINDOW, "old": WINDOW}


def test_large_windows_are_sampled_but_counted_in_full(reference, predictor):
    window = normal_window(WINDOW, 5, predictor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = analyse(reference.frame, window, spec=reference.spec, options=DriftOptions(min_rows=100), max_rows=250).summary
    assert s["rows"] == WINDOW and s["analysed_rows"]["current"] == 250
    assert s["analysed_rows"]["reference"] == min(250, len(reference.frame))
