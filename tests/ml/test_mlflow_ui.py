"""The names and links the MLflow UI shows (ml.mlflow_ui, common.names.mlflow_ui_url), on plain values."""

from __future__ import annotations

from common.names import mlflow_ui_url
from ml.bundle import ModelCard
from ml.mlflow_ui import card_summary, run_artifact_link, training_run_name


def test_run_name_is_model_digest_and_seed():
    assert training_run_name("cnn", "d3f9a1" + "0" * 58, 42) == "cnn-d3f9a1-s42"
    assert training_run_name("baseline", "abcdef12", 7) == "baseline-abcdef-s7"


def test_ui_links_open_the_classic_ml_view_and_a_store_path_stays_as_it_is():
    assert mlflow_ui_url("http://127.0.0.1:5000/") == "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
    assert mlflow_ui_url("https://mlflow.example", "/models") == "https://mlflow.example/#/models?workflowType=machine_learning"
    assert mlflow_ui_url("sqlite:///var/mlflow/mlflow.db") == "sqlite:///var/mlflow/mlflow.db"  # no server: no UI page


def test_artifact_links_name_the_ui_page_on_a_server_and_the_runs_uri_without_one():
    http = run_artifact_link("http://h:5000", experiment_id="3", run_id="abc", path="gate_evidence.html")
    assert http == (
        "[gate_evidence.html](http://h:5000/#/experiments/3/runs/abc/artifacts/gate_evidence.html?workflowType=machine_learning)"
        " (`runs:/abc/gate_evidence.html`)"
    )
    assert run_artifact_link("sqlite:///x.db", experiment_id="3", run_id="abc", path="e.json") == "`runs:/abc/e.json`"


def test_card_summary_says_what_was_trained_and_how_it_scored():
    card = ModelCard(
        model_type="cnn",
        data_digest="d3f9a1" + "0" * 58,
        data_rows=6000,
        git_commit="1234567890abcdef",
        device="cpu",
        params={"epochs": 1, "seed": 42},
        metrics={"test_accuracy": 0.98765, "holdout_years_accuracy": 0.9, "onnx_parity_max_abs_diff": 1.5e-7},
        tokenizer_version=1,
    )
    summary = card_summary(card)
    assert summary.startswith("**cnn** for component-compliance, trained on 6,000 rows (data digest `d3f9a1000000`), seed 42, 1 epoch,")
    assert "- Test set: test accuracy 0.9877" in summary and "- Held-out sets: unseen years 0.9000" in summary
    assert "1.50e-07" in summary and "Specification documents" not in summary  # no document metrics: no line
    assert card_summary(ModelCard()).startswith("**model** for component-compliance, trained on unknown rows")  # an empty card
