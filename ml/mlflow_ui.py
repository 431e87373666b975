"""What a data scientist reads in the MLflow UI: a training run's name and its description (the model card
summary), and links from a description to a run's artifacts. Plain functions over plain values; no mlflow.
"""

from __future__ import annotations

from common.names import mlflow_ui_url
from ml.bundle import ModelCard

_HEADLINE = (("test_accuracy", "test accuracy"), ("test_f1", "F1"), ("test_roc_auc", "ROC AUC"))
_HELD_OUT = (
    ("holdout_shapes_accuracy", "unseen shapes"),
    ("holdout_years_accuracy", "unseen years"),
    ("out_of_range_years_accuracy", "years out of range"),
    ("holdout_typos_accuracy", "typos"),
    ("holdout_distractors_accuracy", "distractor years"),
    ("holdout_key_value_accuracy", "key-value rows"),
    ("holdout_multi_clause_accuracy", "multi-clause"),
)
_DOCUMENTS = (("documents_component_accuracy", "component accuracy"), ("documents_components_found", "components found"))


def training_run_name(model_type: str, data_digest: str, seed: int) -> str:
    """`cnn-d3f9a1-s42`: the model kind, the first six hex digits of the data digest and the seed."""
    return f"{model_type}-{data_digest[:6]}-s{seed}"


def _scores(metrics: dict, names: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{label} {metrics[key]:.4f}" for key, label in names if key in metrics)


def card_summary(card: ModelCard) -> str:
    """The model card in a few Markdown lines: what was trained on which data, and how it scored."""
    params = card.params or {}
    commit = (card.git_commit or "unknown")[:12]
    rows = f"{card.data_rows:,} rows" if card.data_rows is not None else "unknown rows"
    epochs = params.get("epochs", "?")
    lines = [
        f"**{card.model_type or 'model'}** for {card.model_name}, trained on {rows} (data digest `{(card.data_digest or '')[:12]}`), "
        f"seed {params.get('seed', '?')}, {epochs} epoch{'' if epochs == 1 else 's'}, on {card.device or '?'} from commit `{commit}`.",
    ]
    for title, names in (("Test set", _HEADLINE), ("Held-out sets", _HELD_OUT), ("Specification documents", _DOCUMENTS)):
        scores = _scores(card.metrics, names)
        if scores:
            lines.append(f"- {title}: {scores}")
    if "onnx_parity_max_abs_diff" in card.metrics:
        lines.append(f"- ONNX vs PyTorch: max abs difference {card.metrics['onnx_parity_max_abs_diff']:.2e}")
    lines.append(
        f"\nThe bundle's `model_card.json` (artifact `bundle/model_card.json`) holds every field; tokenizer v{card.tokenizer_version}."
    )
    return "\n".join(lines)


def run_artifact_link(tracking_uri: str, *, experiment_id: str, run_id: str, path: str) -> str:
    """A Markdown link to one artifact of a run: the UI page on a tracking server, else the `runs:/` URI."""
    artifact = f"runs:/{run_id}/{path}"
    if not tracking_uri.startswith(("http://", "https://")):
        return f"`{artifact}`"
    page = mlflow_ui_url(tracking_uri, f"/experiments/{experiment_id}/runs/{run_id}/artifacts/{path}")
    return f"[{path}]({page}) (`{artifact}`)"
