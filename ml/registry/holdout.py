"""The gate's frozen holdout: generated once, stored in MLflow, then always downloaded and checked.

The holdout is generated once (ml.data), stored as CSV artifacts of a run in the `model-gate`
experiment, versioned by its SHA-256 and logged as an MLflow dataset input of every gate run; later
gates download that same file, so code changes to the generator never move the goalposts.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from common import names
from common.names import GATE_EXPERIMENT
from ml.registry.behaviour import build_behaviour
from ml.registry.client import experiment_id
from ml.registry.errors import RegistryError
from ml.registry.gate_config import GateConfig

HOLDOUT_FILE = "holdout.csv"
BEHAVIOUR_FILE = "behaviour.csv"


@dataclass(frozen=True)
class Holdout:
    frame: pd.DataFrame
    behaviour: pd.DataFrame
    digest: str
    run_id: str

    @property
    def version(self) -> str:
        return self.digest[:12]


def build_holdout(config: GateConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ml.data import generate, held_out_sets

    sets = {"in_distribution": generate(config.holdout_rows, seed=config.holdout_seed)}
    sets.update(held_out_sets(config.holdout_rows, seed=config.holdout_seed + 1))
    frame = pd.concat([df.assign(set=name) for name, df in sets.items()], ignore_index=True)
    return frame, build_behaviour(frame, cases=config.behaviour_cases, seed=config.holdout_seed)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _digest(holdout: bytes, behaviour: bytes) -> str:
    return hashlib.sha256(hashlib.sha256(holdout).digest() + hashlib.sha256(behaviour).digest()).hexdigest()


def gate_experiment_id(client, tracking_uri: str | None = None) -> str:
    return experiment_id(client, GATE_EXPERIMENT, note="Promotion gate evaluations and the frozen holdout set.", tracking_uri=tracking_uri)


def holdout_dataset_input(frame: pd.DataFrame, *, digest: str, source: str):
    """The holdout as an MLflow dataset input (how the UI shows which data a run used)."""
    from mlflow.entities import DatasetInput, InputTag

    from ml.mlflow_inputs import table_dataset, uri_source

    dataset_source = uri_source(source, producer="ml.registry.holdout")
    dataset = table_dataset(frame, source=dataset_source, targets="label", name=f"gate-holdout-{digest[:12]}", digest=digest[:16])
    return DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[InputTag(key="mlflow.data.context", value="gate-holdout")])


def _find_holdout_runs(client, exp_id: str, spec: str) -> list:
    return list(
        client.search_runs(
            [exp_id],
            filter_string=f"tags.`gate.kind` = 'holdout' and tags.`gate.holdout_spec` = '{spec}'",
            order_by=["attributes.start_time ASC"],
            max_results=50,
        )
    )


def _store_holdout(client, exp_id: str, config: GateConfig) -> None:
    frame, behaviour = build_holdout(config)
    h_bytes, b_bytes = _csv_bytes(frame), _csv_bytes(behaviour)
    digest = _digest(h_bytes, b_bytes)
    run = client.create_run(
        exp_id,
        run_name=f"holdout {digest[:12]}",
        tags={"gate.kind": "holdout", "gate.holdout_spec": config.holdout_spec, "gate.holdout_digest": digest},
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / HOLDOUT_FILE).write_bytes(h_bytes)
        (Path(tmp) / BEHAVIOUR_FILE).write_bytes(b_bytes)
        client.log_artifacts(run.info.run_id, tmp)
    client.log_inputs(
        run.info.run_id, datasets=[holdout_dataset_input(frame, digest=digest, source=f"{run.info.artifact_uri}/{HOLDOUT_FILE}")]
    )
    client.set_terminated(run.info.run_id)


def ensure_holdout(client, config: GateConfig, *, tracking_uri: str | None = None) -> Holdout:
    """The frozen holdout for this config: created on first use, then always downloaded (and its digest checked)."""
    import mlflow

    exp_id = gate_experiment_id(client, tracking_uri)
    runs = _find_holdout_runs(client, exp_id, config.holdout_spec)
    if not runs:
        _store_holdout(client, exp_id, config)
        runs = _find_holdout_runs(client, exp_id, config.holdout_spec)  # two gates racing: the oldest holdout wins
    run = runs[0]
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=tmp, tracking_uri=names.tracking_uri(tracking_uri))
        )
        h_bytes, b_bytes = (local / HOLDOUT_FILE).read_bytes(), (local / BEHAVIOUR_FILE).read_bytes()
    digest = _digest(h_bytes, b_bytes)
    if digest != run.data.tags.get("gate.holdout_digest"):
        raise RegistryError(f"the frozen holdout in run {run.info.run_id} does not match its recorded digest")
    frame = pd.read_csv(io.BytesIO(h_bytes), keep_default_na=False)
    behaviour = pd.read_csv(io.BytesIO(b_bytes), keep_default_na=False)
    return Holdout(frame=frame, behaviour=behaviour, digest=digest, run_id=run.info.run_id)
