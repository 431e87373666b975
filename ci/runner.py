"""Runs the stages of ci.stages.STAGE_TABLE in order: resolves each stage's inputs from earlier outputs, prints
progress and timings, records the run in MLflow, and rolls back (the target's releases and, if this run
promoted, the champion) when a stage that touches deployments fails."""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ci.config import PipelineConfig
from ci.record import PipelineRecorder
from ci.stages import STAGE_BY_NAME, STAGES, Stage, StageContext
from ci.targets import DeployTarget, target_for

# Stage outputs shown on the progress line.
BRIEF_OUTPUTS = ("rows", "run_id", "accuracy", "version", "verdict", "promoted", "model_version", "app_version", "labels", "approved_by")


@dataclass
class PipelineResult:
    pipeline_id: str
    status: str = "running"  # succeeded | rejected (the gate kept the champion; the rest ran) | failed | rolled_back
    outputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    error: str = ""
    rollback: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every stage ran (a rejected challenger is a verdict, not a failure: production keeps its champion)."""
        return self.status in ("succeeded", "rejected")

    @property
    def verdict_line(self) -> str:
        """The one line a person or a script reads last: what happened to production."""
        gate = self.outputs.get("gate", {})
        served = self.outputs.get("package", {}).get("model_version") or gate.get("previous_champion")
        if self.status == "rejected":
            new = self.outputs.get("register", {}).get("version")
            return f"new model{f' v{new}' if new else ''} rejected by the gate; production unchanged (v{served})"
        if self.status == "succeeded":
            return f"pipeline succeeded; production serves v{served}" if served else "pipeline succeeded"
        if self.status == "rolled_back":
            return f"pipeline failed and was rolled back: {self.error}"
        return f"pipeline failed: {self.error}"

    def state(self) -> dict:
        fields = ("pipeline_id", "status", "outputs", "timings", "error")
        return {name: getattr(self, name) for name in fields}


def select_stages(*, from_stage: str | None = None, only: str | None = None) -> list[str]:
    for name in (from_stage, only):
        if name is not None and name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
    if only:
        return [only]
    return list(STAGES[STAGES.index(from_stage) :]) if from_stage else list(STAGES)


def plan(config: PipelineConfig, selected: list[str], target: DeployTarget | None = None) -> list[str]:
    target = target or target_for(config)
    return [f"{name:<9} {STAGE_BY_NAME[name].describe(config, target)}" for name in selected]


def run_pipeline(config: PipelineConfig, *, from_stage: str | None = None, only: str | None = None, log=print) -> PipelineResult:
    selected = select_stages(from_stage=from_stage, only=only)
    result = PipelineResult(datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    ctx = StageContext(config, target_for(config), _tracking_uri(config), result.pipeline_id, log)
    ctx.folder.mkdir(parents=True, exist_ok=True)
    # A run that starts later in the table takes the earlier stages' outputs from the last successful run.
    result.outputs = dict(_latest_state(config).get("outputs", {})) if selected[0] != STAGES[0] else {}
    recorder = PipelineRecorder(ctx.tracking_uri, pipeline_id=result.pipeline_id, require_approval=config.require_approval)
    log(f"pipeline {result.pipeline_id}: stages {', '.join(selected)} (tracking {ctx.tracking_uri})")
    try:
        for name in selected:
            _run_stage(STAGE_BY_NAME[name], ctx, result, recorder)
        rejected = "gate" in selected and result.outputs.get("gate", {}).get("verdict") == "rejected"
        result.status = "rejected" if rejected else "succeeded"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log(f"pipeline {result.pipeline_id} failed: {result.error}")
        if any(STAGE_BY_NAME[name].rolls_back for name in result.timings):
            result.rollback = _roll_back(ctx, result.outputs)
            result.status = "rolled_back"
        else:
            result.status = "failed"
        (ctx.folder / "error.txt").write_text(traceback.format_exc())
    finally:
        _finish(ctx, result, recorder)
    log(_timing_table(result))
    return result


def _tracking_uri(config: PipelineConfig) -> str:
    if config.starts_local_mlflow:
        from ci.processes import ensure_mlflow

        ensure_mlflow(config)
    return config.resolved_tracking_uri


def _latest_state(config: PipelineConfig) -> dict:
    path = config.pipeline_dir / "latest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _inputs(stage: Stage, outputs: dict) -> dict:
    values = {}
    for argument, source in stage.inputs.items():
        name, _, key = source.partition(".")
        if name not in outputs or (key and key not in outputs[name]):
            raise ValueError(f"stage {stage.name} needs {source}: run the {name} stage first (python -m ci run --from {name})")
        values[argument] = outputs[name][key] if key else outputs[name]
    return values


def _run_stage(stage: Stage, ctx: StageContext, result: PipelineResult, recorder: PipelineRecorder) -> None:
    started = time.perf_counter()
    ctx.log(f"[{stage.name}] ...")
    try:
        value = stage.run(ctx, **_inputs(stage, result.outputs))
        missing = [key for key in stage.outputs if key not in value]
        if missing:
            raise RuntimeError(f"stage {stage.name} returned no {', '.join(missing)}")
    except Exception:
        seconds = time.perf_counter() - started
        result.timings[stage.name] = round(seconds, 2)
        recorder.stage(stage.name, "failed", seconds, {})
        ctx.log(f"[{stage.name}] FAILED after {seconds:.1f}s")
        raise
    seconds = time.perf_counter() - started
    result.timings[stage.name] = round(seconds, 2)
    result.outputs[stage.name] = value
    recorder.stage(stage.name, "succeeded", seconds, value)
    ctx.log(f"[{stage.name}] done in {seconds:.1f}s: {_brief(value)}")
    if value.get("message"):
        ctx.log(f"  {value['message']}")


def _roll_back(ctx: StageContext, outputs: dict) -> dict:
    """Restore the target's previous release and, if this run promoted, the previous champion."""
    report = ctx.target.roll_back(log=ctx.log)
    if outputs.get("gate", {}).get("promoted"):
        try:
            from ml.registry import rollback as registry_rollback

            reason = f"pipeline {ctx.pipeline_id}: deploy or smoke test failed"
            moved = registry_rollback(reason=reason, tracking_uri=ctx.tracking_uri, model_name=ctx.config.model_name)
            report["champion"] = moved.to_version
            ctx.log(f"  champion rolled back to v{moved.to_version}")
        except Exception as exc:
            report["champion"] = f"rollback failed: {exc}"
            ctx.log(f"  champion rollback FAILED: {exc}")
    return report


def _finish(ctx: StageContext, result: PipelineResult, recorder: PipelineRecorder) -> None:
    record = {"outputs": result.outputs, "timings": result.timings, "rollback": result.rollback}
    recorder.finish(status=result.status, ok=result.ok, error=result.error, record=record)
    state = json.dumps(result.state(), indent=1, default=str)
    (ctx.folder / "result.json").write_text(state)
    if result.ok:
        (ctx.config.pipeline_dir / "latest.json").write_text(state)


def _brief(value: dict) -> str:
    return ", ".join(f"{k}={value[k]}" for k in BRIEF_OUTPUTS if k in value) or "ok"


def _timing_table(result: PipelineResult) -> str:
    lines = ["\n| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in result.timings.items()]
    lines.append(f"| **total** | {sum(result.timings.values()):.1f} |")
    lines.append(f"pipeline {result.pipeline_id}: {result.status}")
    return "\n".join(lines)
