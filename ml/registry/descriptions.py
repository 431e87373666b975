"""A registered model version's description, as the MLflow UI shows it: the gate's verdict with a link to its
evidence, above the training run's model card summary. `pending` is written when the version is registered,
`set_verdict` when the gate has judged it."""

from __future__ import annotations

from common.names import GATE_EXPERIMENT, NOTE_TAG
from ml.mlflow_ui import run_artifact_link

GATE_COMMAND = "python -m ml registry gate"


def _card_summary(run) -> str:
    summary = (run.data.tags or {}).get(NOTE_TAG, "")
    return f"\n\n**Training run** `{run.info.run_id}`: {summary}" if summary else f"\n\nTraining run `{run.info.run_id}`."


def pending(run) -> str:
    """The description of a version not judged yet (`run`: its training run)."""
    return f"Gate verdict: **pending** (not evaluated yet; `{GATE_COMMAND}` judges it).{_card_summary(run)}"


def verdict(evidence: dict, *, tracking_uri: str, gate_experiment_id: str, gate_run_id: str, training_run) -> str:
    """The description after a gate: verdict, its one-line summary, links to the HTML and JSON evidence."""
    from ml.registry.evidence import HTML_FILE, JSON_FILE  # evidence -> evaluation -> versions imports this module

    chal, champ = evidence["challenger"], evidence.get("champion")
    against = f"champion v{champ['version']}" if champ else "no champion"
    links = [
        run_artifact_link(tracking_uri, experiment_id=gate_experiment_id, run_id=gate_run_id, path=name) for name in (HTML_FILE, JSON_FILE)
    ]
    return (
        f"Gate verdict: **{evidence['verdict']}** (v{chal['version']} vs {against}): {evidence['summary']}.\n\n"
        f"Evidence: {links[0]}; {links[1]} (gate run `{gate_run_id}` in experiment `{GATE_EXPERIMENT}`)."
        f"{_card_summary(training_run)}"
    )


def set_verdict(client, *, model_name: str, version: str, evidence: dict, tracking_uri: str, gate_run_id: str, training_run_id: str) -> str:
    """Write the verdict description on the version; returns it."""
    gate_run = client.get_run(gate_run_id)
    text = verdict(
        evidence,
        tracking_uri=tracking_uri,
        gate_experiment_id=gate_run.info.experiment_id,
        gate_run_id=gate_run_id,
        training_run=client.get_run(training_run_id),
    )
    client.update_model_version(model_name, version, description=text)
    return text
