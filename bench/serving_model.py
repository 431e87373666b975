"""What the serving benchmark serves: one inference bundle and the same ONNX model as a registered MLflow version.

bench_model(workdir, tracking_uri, bundle=None) -> (bundle folder, "models:/NAME/VERSION")
  * no bundle: a small real training (ml.training_run.train, 4,000 generated rows, 2 epochs) logged to the
    tracking server, its run registered through ml.registry (the ONNX flavor, as the pipeline registers it);
  * a bundle (e.g. `make run`'s var/deploy/production/model): its model.onnx logged as an ONNX-flavor model
    in a run of the bench's own server and registered, so `mlflow models serve` runs the very same graph.
"""

from __future__ import annotations

import time
from pathlib import Path

BENCH_MODEL = "serving-bench"
EXPERIMENT = "serving-bench"


def train_small(workdir: Path, tracking_uri: str) -> tuple[Path, str]:
    from ml.data import generate
    from ml.registry import register_run
    from ml.training_run import TrainConfig, train

    data = workdir / "components.csv"
    generate(4000, seed=5).to_csv(data, index=False)
    config = TrainConfig(
        data=data, out=workdir / "bundle", epochs=2, batch_size=128, tracking_uri=tracking_uri, experiment=EXPERIMENT,
        model_name=BENCH_MODEL, holdout_rows=300, reference_rows=300, parity_rows=200, glove_epochs=10, progress=False,
    )  # fmt: skip
    result = train(config)
    ref = register_run(result.run_id, model_name=BENCH_MODEL, tracking_uri=tracking_uri, set_challenger=False)
    return Path(result.bundle_dir), f"models:/{BENCH_MODEL}/{ref.version}"


def register_bundle(bundle: Path, tracking_uri: str) -> str:
    """Log the bundle's model.onnx (signature: int64 ids [-1, max_length] -> probabilities) and register it."""
    import mlflow
    import onnx
    from mlflow.models import infer_signature

    from ml.mlflow_setup import ensure_experiment, quiet_mlflow_environment, use_tracking
    from ml.predictor import Predictor

    quiet_mlflow_environment()
    predictor = Predictor.from_bundle(bundle)
    ids = predictor.encode(["Steel gear manufactured in 2001 in good condition"] * 4)
    signature = infer_signature(ids, predictor.predict_ids(ids))
    with use_tracking(tracking_uri):
        experiment_id = ensure_experiment(EXPERIMENT, tracking_uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name="serving-bench-bundle"):
            info = mlflow.onnx.log_model(
                onnx.load(str(bundle / "model.onnx")), name="onnx_model", signature=signature, registered_model_name=BENCH_MODEL
            )
    return f"models:/{BENCH_MODEL}/{info.registered_model_version}"


def bench_model(workdir: Path, tracking_uri: str, bundle: Path | None = None) -> tuple[Path, str, str]:
    """(bundle, model URI, how it was made)."""
    started = time.perf_counter()
    if bundle is None:
        bundle, uri = train_small(workdir, tracking_uri)
        how = "a small training made by the bench (4,000 rows, 2 epochs)"
    else:
        uri = register_bundle(bundle, tracking_uri)
        how = f"the bundle {bundle}"
    return bundle, uri, f"{how}, registered as {uri} in {time.perf_counter() - started:.0f} s"
