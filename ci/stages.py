"""The pipeline's stages: plain functions, explicit inputs, a dict of outputs each. No hidden state."""

from __future__ import annotations

import json
from pathlib import Path

from ci.config import Environment, PipelineConfig


def stage_data(config: PipelineConfig) -> dict:
    """Use the user's CSV (validated) or generate the default synthetic data set."""
    from ml.data import data_digest, generate, load_csv

    if config.data is not None:
        frame = load_csv(config.data)
        return {"data": str(config.data), "rows": len(frame), "digest": data_digest(frame), "generated": False}
    out = config.pipeline_dir / "data" / f"components-{config.rows}-{config.seed}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = generate(config.rows, seed=config.seed)
    frame.to_csv(out, index=False)
    return {"data": str(out), "rows": len(frame), "digest": data_digest(frame), "generated": True}


def stage_train(config: PipelineConfig, *, data: str, tracking_uri: str, pipeline_id: str) -> dict:
    from ml.training_run import TrainConfig, train

    result = train(
        TrainConfig(
            data=Path(data),
            out=config.pipeline_dir / pipeline_id / "trained-bundle",
            model_type=config.model_type,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=config.seed,
            tracking_uri=tracking_uri,
            model_name=config.model_name,
            progress=False,
            tags={"pipeline_id": pipeline_id},
        )
    )
    return {"run_id": result.run_id, "bundle": str(result.bundle_dir), "metrics": result.metrics, "seconds": round(result.seconds, 1)}


def stage_evaluate(config: PipelineConfig, *, bundle: str, pipeline_id: str) -> dict:
    """Score the exported ONNX bundle (the serving path) on fresh test data and the held-out sets."""
    from ml.data import generate, held_out_sets
    from ml.evaluate import evaluate_bundle

    sets = {"fresh_test": generate(5000, seed=config.seed + 500), **held_out_sets(2000, seed=config.seed + 600)}
    report = {name: evaluate_bundle(bundle, frame)[0] for name, frame in sets.items()}
    out = config.pipeline_dir / pipeline_id / "evaluation.json"
    out.write_text(json.dumps(report, indent=1))
    return {"report": str(out), "accuracy": {name: round(m["accuracy"], 5) for name, m in report.items()}}


def stage_register(config: PipelineConfig, *, run_id: str, tracking_uri: str) -> dict:
    from ml.registry import register_run

    ref = register_run(run_id, model_name=config.model_name, tracking_uri=tracking_uri)
    return {"version": str(ref.version)}


def stage_gate(config: PipelineConfig, *, version: str, tracking_uri: str, pipeline_id: str) -> dict:
    from ml.registry import CHAMPION, resolve_alias
    from ml.registry.gate import run_gate
    from ml.registry.gate_config import GateConfig

    champion = resolve_alias(CHAMPION, model_name=config.model_name, tracking_uri=tracking_uri)
    if champion is not None and str(champion.version) == str(version):
        return {"verdict": "already champion", "promoted": False, "previous_champion": version, "gate_run_id": "", "message": ""}
    gate_config = GateConfig.from_file(config.gate_config) if config.gate_config else GateConfig()
    result = run_gate(
        version=version,
        model_name=config.model_name,
        tracking_uri=tracking_uri,
        config=gate_config,
        promote=True,
        actor=config.actor,
        reason=f"pipeline {pipeline_id}: gate passed",
    )
    promoted = result.promotion is not None and result.promotion.changed
    return {
        "verdict": result.verdict,
        "promoted": promoted,
        "previous_champion": result.champion.version if result.champion else None,
        "gate_run_id": result.gate_run_id,
        "message": result.message,
    }


def stage_package(config: PipelineConfig, *, tracking_uri: str, pipeline_id: str) -> dict:
    """Fetch the champion's bundle from the registry (checksum verified) beside the app's release manifest."""
    from ci.deploy import app_checksum, app_version
    from ml.bundle import bundle_checksum
    from ml.registry import download_bundle

    out = config.pipeline_dir / pipeline_id / "package"
    bundle, ref = download_bundle(out / "bundle", model_name=config.model_name, tracking_uri=tracking_uri)
    manifest = {
        "pipeline_id": pipeline_id,
        "model_name": config.model_name,
        "model_version": str(ref.version),
        "bundle_checksum": bundle_checksum(bundle),
        "app_version": app_version(config.app_source),
        "app_checksum": app_checksum(config.app_source),
    }
    (out / "release.json").write_text(json.dumps(manifest, indent=1))
    return {"bundle": str(bundle), **manifest}


def stage_deploy(config: PipelineConfig, env: Environment, *, bundle: str, pipeline_id: str) -> dict:
    from ci.deploy import deploy

    release = deploy(config, env, Path(bundle), release_id=pipeline_id)
    return {
        "environment": env.name,
        "url": env.url,
        "release": release["release_id"],
        "model_version": release["model_version"],
        "restarted": release["restarted"],
    }


def stage_smoke(config: PipelineConfig, env: Environment, *, model_version: str) -> dict:
    from ci.smoke import smoke_test

    result = smoke_test(env.url, username="tech", password=config.password(), expected_version=model_version)
    return {"environment": env.name, "model_version": result.model_version, "app_version": result.app_version, "labels": result.labels}
