"""Evaluating one registered version on the frozen holdout: accuracy per set, behaviour, parity, latency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.bundle import read_card
from ml.registry.behaviour import behaviour_rates
from ml.registry.client import fluent_api_at
from ml.registry.gate_config import SETS, GateConfig
from ml.registry.holdout import Holdout
from ml.registry.versions import ModelRef, download_bundle

SHOWN_ERRORS = 20


@dataclass
class Evaluation:
    version: str
    run_id: str
    accuracy: dict[str, float]
    behaviour: dict[str, float]
    parity_max_abs_diff: float | None
    latency_median_ms: float
    latency_p99_ms: float
    errors: list[dict]

    def metrics(self) -> dict[str, float]:
        out = {f"accuracy.{k}": v for k, v in self.accuracy.items()}
        out.update({f"behaviour.{k}": v for k, v in self.behaviour.items()})
        if self.parity_max_abs_diff is not None:
            out["parity_max_abs_diff"] = self.parity_max_abs_diff
        out["latency_median_ms"] = self.latency_median_ms
        out["latency_p99_ms"] = self.latency_p99_ms
        return out


def _accuracy(predictor, frame: pd.DataFrame) -> tuple[dict[str, float], list[dict]]:
    """Accuracy per holdout set, and the first errors (set, text, label, probability)."""
    probs = predictor.predict_proba(list(frame["text"]))
    preds = (probs >= predictor.threshold).astype(int)
    correct = preds == frame["label"].to_numpy()
    accuracy = {name: float(correct[(frame["set"] == name).to_numpy()].mean()) for name in SETS if (frame["set"] == name).any()}
    wrong = frame.loc[~correct, ["set", "text", "label"]].assign(probability=probs[~correct]).head(SHOWN_ERRORS)
    return accuracy, wrong.to_dict(orient="records")


def _latency(predictor, texts: list[str], calls: int) -> tuple[float, float]:
    for text in texts[:20]:
        predictor.predict_proba([text])
    times = []
    for i in range(calls):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        predictor.predict_proba([text])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def _pytorch_weights(ref: ModelRef, workdir: Path, tracking_uri: str | None) -> Path | None:
    """The run's state dict (ml.models.PYTORCH_WEIGHTS), or None for a run logged without one."""
    import mlflow

    from ml.models import PYTORCH_WEIGHTS, STATE_DICT_FILE

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    if not any(f.path.endswith(STATE_DICT_FILE) for f in client.list_artifacts(ref.run_id, PYTORCH_WEIGHTS)):
        return None
    target = workdir / f"v{ref.version}-weights"
    target.mkdir(parents=True, exist_ok=True)
    return Path(client.download_artifacts(ref.run_id, f"{PYTORCH_WEIGHTS}/{STATE_DICT_FILE}", str(target)))


def _parity(weights: Path, model_type: str, predictor, texts: list[str]) -> float | None:
    """Max |PyTorch - ONNX| probability over texts, for the two flavors of the same training run. The PyTorch side is
    the run's state dict loaded with weights_only=True into the class from this code (never the pickled flavor:
    a model planted in the registry must not run code in the pipeline). None when the weights do not load."""
    import pickle

    import torch

    from ml.models import load_weights

    try:
        model = load_weights(model_type, weights)
    except (pickle.UnpicklingError, ValueError, KeyError, RuntimeError) as exc:
        print(f"gate: the PyTorch weights of this version were refused ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        return None
    ids = predictor.encode(texts)
    with torch.no_grad():
        torch_probs = model(torch.from_numpy(ids)).float().reshape(-1).numpy()
    onnx_probs = predictor.predict_ids(ids)
    return float(np.max(np.abs(torch_probs - onnx_probs)))


def evaluate_version(ref: ModelRef, holdout: Holdout, config: GateConfig, *, tracking_uri: str | None, workdir: Path) -> Evaluation:
    from ml.predictor import Predictor

    bundle_dir, _ = download_bundle(workdir / f"v{ref.version}", version=ref.version, model_name=ref.name, tracking_uri=tracking_uri)
    predictor = Predictor.from_bundle(bundle_dir, threads=1)
    frame = holdout.frame
    accuracy, errors = _accuracy(predictor, frame)
    with fluent_api_at(tracking_uri):
        weights = _pytorch_weights(ref, workdir, tracking_uri)
    model_type = read_card(bundle_dir).model_type
    parity = _parity(weights, model_type, predictor, list(frame["text"].iloc[: config.parity_rows])) if weights else None
    median, p99 = _latency(predictor, list(frame["text"].iloc[:500]), config.latency_calls)
    return Evaluation(
        version=ref.version,
        run_id=ref.run_id,
        accuracy=accuracy,
        behaviour=behaviour_rates(predictor, holdout.behaviour),
        parity_max_abs_diff=parity,
        latency_median_ms=median,
        latency_p99_ms=p99,
        errors=errors,
    )
