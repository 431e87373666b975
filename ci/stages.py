"""The pipeline's stages, in order, in one table (STAGE_TABLE): each a plain function of the run's context and
its named inputs (outputs of earlier stages), returning a dict of outputs. No hidden state.

The context (StageContext) carries what every stage may use: the config, the deploy target, the tracking URI
and the pipeline id. The runner (ci.runner) resolves inputs, checks outputs and handles failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ci.config import PipelineConfig
from ci.targets.base import DeployTarget, Log


@dataclass(frozen=True)
class StageContext:
    config: PipelineConfig
    target: DeployTarget
    tracking_uri: str
    pipeline_id: str
    log: Log = print

    @property
    def folder(self) -> Path:
        """This pipeline run's own folder (bundles, reports, the result)."""
        return self.config.pipeline_dir / self.pipeline_id


def stage_data(ctx: StageContext) -> dict:
    """The user's CSV (validated) or the generated data set, mixed with the reviewers' corrections exported read-only
    from the production portal's database (ci.corrections_export), each repeated corrections_weight times."""
    from ci.corrections_export import export_corrections, mixed_training_csv
    from ml.data import data_digest, load_csv
    from ml.data.specs import training_frame

    config = ctx.config
    folder = config.pipeline_dir / "data"
    corrections = export_corrections(config, folder / "corrections", log=ctx.log)
    base = config.data
    if base is None:
        base = folder / f"components-{config.rows}-{config.seed}.csv"
        folder.mkdir(parents=True, exist_ok=True)
        training_frame(config.rows, seed=config.seed).to_csv(base, index=False)  # descriptions plus document-style rows
    data, rows = mixed_training_csv(base, corrections, weight=config.corrections_weight, folder=folder)
    return {
        "data": str(data),
        "rows": rows,
        "digest": data_digest(load_csv(data)),
        "generated": config.data is None,
        "corrections": corrections.path,
        "corrections_rows": corrections.rows,
        "corrections_digest": corrections.digest,
        "contradictions": corrections.contradictions,
    }


def stage_train(ctx: StageContext, *, data: str, corrections: str = "") -> dict:
    from ml.training_run import TrainConfig, train

    config = ctx.config
    result = train(
        TrainConfig(
            data=Path(data),
            corrections=Path(corrections) if corrections else None,
            out=ctx.folder / "trained-bundle",
            model_type=config.model_type,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=config.seed,
            tracking_uri=ctx.tracking_uri,
            model_name=config.model_name,
            progress=False,
            tags={"pipeline_id": ctx.pipeline_id},
        )
    )
    return {"run_id": result.run_id, "bundle": str(result.bundle_dir), "metrics": result.metrics, "seconds": round(result.seconds, 1)}


def stage_evaluate(ctx: StageContext, *, bundle: str) -> dict:
    """Score the exported ONNX bundle (the serving path) on fresh test data and the held-out sets."""
    from ml.data import generate, held_out_sets
    from ml.evaluate import evaluate_bundle

    seed = ctx.config.seed
    sets = {"fresh_test": generate(5000, seed=seed + 500), **held_out_sets(2000, seed=seed + 600)}
    report = {name: evaluate_bundle(bundle, frame)[0] for name, frame in sets.items()}
    out = ctx.folder / "evaluation.json"
    out.write_text(json.dumps(report, indent=1))
    return {"report": str(out), "accuracy": {name: round(m["accuracy"], 5) for name, m in report.items()}}


def stage_register(ctx: StageContext, *, run_id: str) -> dict:
    from ml.registry import register_run

    ref = register_run(run_id, model_name=ctx.config.model_name, tracking_uri=ctx.tracking_uri)
    return {"version": str(ref.version)}


def stage_gate(ctx: StageContext, *, version: str, corrections: str = "") -> dict:
    from ml.registry import CHAMPION, resolve_alias
    from ml.registry.corrections_slice import load_corrections_frame
    from ml.registry.gate import run_gate
    from ml.registry.gate_config import GateConfig

    config = ctx.config
    champion = resolve_alias(CHAMPION, model_name=config.model_name, tracking_uri=ctx.tracking_uri)
    if champion is not None and str(champion.version) == str(version):
        return {"verdict": "already champion", "promoted": False, "previous_champion": version, "gate_run_id": "", "message": ""}
    gate_config = GateConfig.from_file(config.gate_config) if config.gate_config else GateConfig()
    reviewed = load_corrections_frame(corrections)
    named = f"; corrections data set {Path(corrections).name} ({len(reviewed)} rows)" if corrections else "; no corrections data set"
    result = run_gate(
        version=version,
        model_name=config.model_name,
        tracking_uri=ctx.tracking_uri,
        config=gate_config,
        promote=True,
        actor=config.actor,
        reason=f"pipeline {ctx.pipeline_id}: gate passed{named}",
        corrections=reviewed,
    )
    promoted = result.promotion is not None and result.promotion.changed
    return {
        "verdict": result.verdict,
        "promoted": promoted,
        "previous_champion": result.champion.version if result.champion else None,
        "gate_run_id": result.gate_run_id,
        "message": result.message,
    }


def stage_package(ctx: StageContext) -> dict:
    """Fetch the champion's bundle from the registry beside the app's release manifest. Its checksum must match the
    version's tag and the value the promotion ledger recorded at promotion (a rewritten tag and bundle are refused)."""
    from ci.deploy import app_checksum, app_version
    from ml.bundle import bundle_checksum
    from ml.registry import download_promoted_bundle

    config = ctx.config
    out = ctx.folder / "package"
    bundle, ref, entry = download_promoted_bundle(out / "bundle", model_name=config.model_name, tracking_uri=ctx.tracking_uri)
    if not entry.bundle_checksum:
        ctx.log(f"  {ref.name} v{ref.version} was promoted before the ledger kept checksums: verified against its tag only")
    manifest = {
        "pipeline_id": ctx.pipeline_id,
        "model_name": config.model_name,
        "model_version": str(ref.version),
        "bundle_checksum": bundle_checksum(bundle),
        "app_version": app_version(config.app_source),
        "app_checksum": app_checksum(config.app_source),
    }
    (out / "release.json").write_text(json.dumps(manifest, indent=1))
    return {"bundle": str(bundle), **manifest}


def stage_deploy(ctx: StageContext, *, package: dict) -> dict:
    """The deploy target serves the package (local: staging, approval, production; compose: the shared volume)."""
    return ctx.target.deploy(package, pipeline_id=ctx.pipeline_id, log=ctx.log)


def stage_smoke(ctx: StageContext, *, model_version: str) -> dict:
    return ctx.target.smoke_test(model_version=model_version)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., dict]  # run(ctx, **inputs) -> outputs
    describe: Callable[[PipelineConfig, DeployTarget], str]  # what it will do, for the dry run's plan
    inputs: dict[str, str] = field(default_factory=dict)  # argument -> "stage.output" (or "stage": all its outputs)
    outputs: tuple[str, ...] = ()  # keys its dict always has
    rolls_back: bool = False  # once it has started, a failure puts the previous release (and champion) back


STAGE_TABLE: tuple[Stage, ...] = (
    Stage(
        "data",
        stage_data,
        lambda c, t: (
            f"{c.data or f'generate {c.rows} rows (seed {c.seed})'} + the production portal's reviewed labels "
            f"(read-only, weight {c.corrections_weight})"
        ),
        outputs=("data", "rows", "digest", "generated", "corrections", "corrections_rows", "corrections_digest", "contradictions"),
    ),
    Stage(
        "train",
        stage_train,
        lambda c, t: f"{c.model_type} model, epochs {c.epochs or 'default'}, tracking {c.resolved_tracking_uri}",
        inputs={"data": "data.data", "corrections": "data.corrections"},
        outputs=("run_id", "bundle", "metrics", "seconds"),
    ),
    Stage(
        "evaluate",
        stage_evaluate,
        lambda c, t: "the ONNX bundle on fresh test data, unseen shapes, unseen years",
        inputs={"bundle": "train.bundle"},
        outputs=("report", "accuracy"),
    ),
    Stage(
        "register",
        stage_register,
        lambda c, t: f"the run as a new version of {c.model_name!r}, alias challenger",
        inputs={"run_id": "train.run_id"},
        outputs=("version",),
    ),
    Stage(
        "gate",
        stage_gate,
        lambda c, t: f"challenger vs champion on the frozen holdout, promote if it passes ({c.gate_config or 'defaults'})",
        inputs={"version": "register.version", "corrections": "data.corrections"},
        outputs=("verdict", "promoted", "previous_champion", "gate_run_id", "message"),
    ),
    Stage(
        "package",
        stage_package,
        lambda c, t: "the champion's bundle from the registry + the app's release manifest",
        outputs=("bundle", "model_version", "bundle_checksum", "app_version", "app_checksum"),
    ),
    Stage(
        "deploy",
        stage_deploy,
        lambda c, t: t.describe()["deploy"],
        inputs={"package": "package"},
        outputs=("production", "model_version", "app_version"),
        rolls_back=True,
    ),
    Stage(
        "smoke",
        stage_smoke,
        lambda c, t: t.describe()["smoke"],
        inputs={"model_version": "package.model_version"},
        outputs=("environment", "model_version", "app_version", "labels"),
        rolls_back=True,
    ),
)
STAGES = tuple(stage.name for stage in STAGE_TABLE)
STAGE_BY_NAME = {stage.name: stage for stage in STAGE_TABLE}
