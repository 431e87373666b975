"""A real training run tracked in MLflow: parameters, curves, artifacts, lineage, both flavors, bundle."""

from __future__ import annotations

import re
import warnings

import mlflow
import numpy as np
import pytest

from common.names import CLASSIC_ML_KIND, EXPERIMENT_KIND_TAG, NOTE_TAG
from ml.bundle import BUNDLE_FILES, read_card
from ml.data.real_text import FAMILIES
from ml.documents.scorer import SCORER_FILE
from ml.predictor import Predictor


@pytest.fixture(scope="module")
def client(trained_run):
    return mlflow.MlflowClient(tracking_uri=trained_run.tracking_uri)


@pytest.fixture(scope="module")
def run(client, trained_run):
    return client.get_run(trained_run.run_id)


def test_run_records_params_tags_and_final_metrics(run, trained_run):
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    assert params["model_type"] == "cnn" and params["epochs"] == "3" and params["seed"] == "7" and params["device"] == "cpu"
    assert len(tags["data_digest"]) == 64 and tags["git_commit"]
    for key in (
        "test_accuracy",
        "test_f1",
        "test_roc_auc",
        "holdout_shapes_accuracy",
        "holdout_years_accuracy",
        "out_of_range_years_accuracy",
        *(f"holdout_{family}_accuracy" for family in FAMILIES),
    ):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["onnx_parity_max_abs_diff"] < 1e-5
    assert metrics["test_accuracy"] > 0.95  # 6,000 rows and 3 epochs already learn the rule


def test_per_epoch_curves_and_system_metrics_are_logged(client, trained_run):
    history = client.get_metric_history(trained_run.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert history[-1].value < history[0].value
    assert len(client.get_metric_history(trained_run.run_id, "val_accuracy")) == 3
    run = client.get_run(trained_run.run_id)
    assert any(key.startswith("system/") for key in run.data.metrics)


def test_batch_curves_have_a_point_every_n_batches(client, trained_run):
    """5,400 training rows in batches of 64 over 3 epochs: 255 batches, a point every 10 (the default)."""
    batches = 3 * -(-int(client.get_run(trained_run.run_id).data.params["train_rows"]) // 64)
    loss = client.get_metric_history(trained_run.run_id, "batch_train_loss")
    steps = [m.step for m in loss]
    assert len(loss) > 3 and steps == list(range(0, batches, 10)), steps  # one point per step, none repeated
    accuracy = client.get_metric_history(trained_run.run_id, "batch_train_accuracy")
    assert [m.step for m in accuracy] == steps and all(0.0 <= m.value <= 1.0 for m in accuracy)
    assert np.mean([m.value for m in loss[-5:]]) < np.mean([m.value for m in loss[:5]])  # the curve goes down


def test_the_experiment_opens_in_the_classic_ml_view(client, trained_run):
    """The kind MLflow 3's UI writes for "Machine learning" (not the GenAI traces view)."""
    assert client.get_experiment(trained_run.experiment_id).tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND == "custom_model_development"


def test_the_run_is_named_for_model_data_and_seed(run, trained_run):
    digest = run.data.tags["data_digest"]
    assert re.fullmatch(r"cnn-[0-9a-f]{6}-s7", run.info.run_name) and run.info.run_name == f"cnn-{digest[:6]}-s7"


def test_the_run_description_is_the_model_card_summary(run, trained_bundle):
    from ml.mlflow_ui import card_summary

    card = read_card(trained_bundle)
    note = run.data.tags[NOTE_TAG]
    assert note == card_summary(card)
    assert f"{card.metrics['test_accuracy']:.4f}" in note and card.data_digest[:12] in note and "cnn" in note
    assert f"typos {card.metrics['holdout_typos_accuracy']:.4f}" in note


def test_a_tiny_training_prints_no_mlflow_user_warning_and_logs_every_batch(tmp_path, tiny_train_config_factory):
    """The dataset-source guess and the integer-column hint were MLflow UserWarnings a user could do nothing about."""
    from ml.training_run import train

    config = tiny_train_config_factory(tmp_path, rows=800, epochs=1)
    config.log_every, config.run_name = 1, "tiny-named-by-hand"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(config)
    user_warnings = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
    for text in ("can be interpreted in multiple ways", "Inferred schema contains integer column"):
        assert not [w for w in user_warnings if text in w], user_warnings
    client = mlflow.MlflowClient(tracking_uri=result.tracking_uri)
    assert client.get_run(result.run_id).info.run_name == "tiny-named-by-hand"
    run = client.get_run(result.run_id)
    steps = [m.step for m in client.get_metric_history(result.run_id, "batch_train_loss")]
    assert steps == list(range(-(-int(run.data.params["train_rows"]) // 64))), steps  # 720 rows, one epoch: every batch
    sources = {i.dataset.name: i.dataset.source_type for i in run.inputs.dataset_inputs}
    assert sources == {"components.csv": "local", "glove-trained-on-corpus": "code"}


def test_a_reused_experiment_gets_the_classic_ml_kind(tmp_path):
    """An experiment made before the kind was set (or by hand, in the UI) is marked when training reuses it."""
    from ml.mlflow_setup import ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    made = client.create_experiment("made-by-hand", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    assert ensure_experiment("made-by-hand", uri) == made
    assert client.get_experiment(made).tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND
    fresh = ensure_experiment("made-by-training", uri)
    assert client.get_experiment(fresh).tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND


def test_evaluation_artifacts_and_tokenizer_are_logged(client, trained_run):
    names = {a.path for a in client.list_artifacts(trained_run.run_id, "evaluation")}
    assert {
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/classification_report.txt",
        "evaluation/slices.json",
    } <= names
    assert {a.path for a in client.list_artifacts(trained_run.run_id, "bundle")} == {
        f"bundle/{n}" for n in (*BUNDLE_FILES, SCORER_FILE)
    }  # the segment score travels too
    assert [a.path for a in client.list_artifacts(trained_run.run_id, "tokenizer")] == ["tokenizer/tokenizer.json"]
    # the gate's parity check reads the weights as a plain state dict, never the pickled flavor
    assert [a.path for a in client.list_artifacts(trained_run.run_id, "pytorch_weights")] == ["pytorch_weights/state_dict.pt"]


def test_data_and_glove_vectors_are_logged_as_dataset_inputs(run):
    contexts = {inp.tags[0].value if inp.tags else None: inp.dataset for inp in run.inputs.dataset_inputs}
    assert set(contexts) == {"training", "embeddings"}
    assert contexts["training"].name == "components.csv"


def test_both_flavors_load_back_and_agree(trained_run, trained_bundle):
    """PyTorch (pickle format: any batch size) and ONNX logged in the same run give the same probabilities."""
    import mlflow.onnx
    import mlflow.pytorch
    import onnxruntime as ort
    import torch

    from ml.mlflow_setup import use_tracking

    predictor = Predictor.from_bundle(trained_bundle)
    ids = predictor.encode(["steel gear made in 1990 good condition"] * 5 + ["carbon fiber bracket 2012 new"] * 2)
    with use_tracking(trained_run.tracking_uri):
        logged = mlflow.search_logged_models(experiment_ids=[trained_run.experiment_id], output_format="list")
        by_name = {m.name: m for m in logged if m.source_run_id == trained_run.run_id}
        assert set(by_name) == {"pytorch_model", "onnx_model"}
        model = mlflow.pytorch.load_model(by_name["pytorch_model"].model_uri)
        onnx_model = mlflow.onnx.load_model(by_name["onnx_model"].model_uri)
    with torch.no_grad():
        torch_probs = model(torch.as_tensor(ids)).numpy()
    assert torch_probs.shape == (7,)  # not pinned to an example's batch size
    session = ort.InferenceSession(onnx_model.SerializeToString())
    (onnx_probs,) = session.run(["probability"], {"token_ids": ids})
    np.testing.assert_allclose(torch_probs, onnx_probs, atol=1e-5)
    np.testing.assert_allclose(predictor.predict_ids(ids), onnx_probs, atol=1e-6)


def test_bundle_card_describes_the_model(trained_bundle, trained_run):
    card = read_card(trained_bundle)
    assert card.run_id == trained_run.run_id and card.model_type == "cnn"
    assert card.metrics["test_accuracy"] == pytest.approx(trained_run.metrics["test_accuracy"], abs=1e-6)
    for family in FAMILIES:  # the real-text families beside the other held-out accuracies
        key = f"holdout_{family}_accuracy"
        assert card.metrics[key] == pytest.approx(trained_run.metrics[key], abs=1e-6)
    assert card.data_digest and card.git_commit and card.created_at
    reference = (trained_bundle / "reference.csv").read_text().splitlines()
    assert reference[0] == "text,label,probability" and len(reference) == 501


def test_training_is_deterministic_on_cpu_with_a_fixed_seed(tmp_path, tiny_train_config_factory):
    from ml.training_run import train

    results = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        config = tiny_train_config_factory(folder, rows=1500, epochs=1)
        results.append(train(config))
    first, second = (Predictor.from_bundle(r.bundle_dir) for r in results)
    texts = ["steel gear 1990 good", "iron bracket 2015 new", "carbon fiber rotor 2001 fair"]
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))
    assert results[0].metrics["test_accuracy"] == results[1].metrics["test_accuracy"]


def test_user_glove_file_is_used_and_its_provenance_logged(tmp_path, tiny_train_config_factory):
    from ml.training_run import train

    glove = tmp_path / "glove.mini.8d.txt"
    rng = np.random.default_rng(0)
    glove.write_text(
        "".join(f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(size=8))}\n" for w in ["steel", "iron", "good", "poor", "gear"])
    )
    config = tiny_train_config_factory(tmp_path, rows=800, epochs=1)
    config.glove = glove
    result = train(config)
    run = mlflow.MlflowClient(tracking_uri=result.tracking_uri).get_run(result.run_id)
    assert run.data.params["glove_source"] == "file" and run.data.params["glove_dim"] == "8"
    assert read_card(result.bundle_dir).glove["path"] == str(glove)
