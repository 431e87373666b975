"""Runs the stages in order, prints progress and timings, records the run in MLflow, rolls back on failure."""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ci import stages
from ci.approval import auto_approve, request_approval, wait_for_approval
from ci.config import STAGES, PipelineConfig
from ml.mlflow_setup import git_commit

PIPELINE_EXPERIMENT = "pipeline"


@dataclass
class PipelineResult:
    pipeline_id: str
    status: str = "running"  # succeeded | failed | rolled_back
    outputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    error: str = ""
    rollback: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def select_stages(*, from_stage: str | None = None, only: str | None = None) -> list[str]:
    for name in (from_stage, only):
        if name is not None and name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
    if only:
        return [only]
    return list(STAGES[STAGES.index(from_stage) :]) if from_stage else list(STAGES)


def plan(config: PipelineConfig, selected: list[str]) -> list[str]:
    envs = {e.name: e for e in config.environments()}
    lines = {
        "data": f"data      {config.data or f'generate {config.rows} rows (seed {config.seed})'}",
        "train": f"train     {config.model_type} model, epochs {config.epochs or 'default'}, tracking {config.resolved_tracking_uri}",
        "evaluate": "evaluate  the ONNX bundle on fresh test data, unseen shapes, unseen years",
        "register": f"register  the run as a new version of {config.model_name!r}, alias challenger",
        "gate": f"gate      challenger vs champion on the frozen holdout, promote if it passes ({config.gate_config or 'defaults'})",
        "package": "package   the champion's bundle from the registry + the app's release manifest",
        "deploy": (
            f"deploy    staging {envs['staging'].url}, smoke test, "
            f"{'wait for approval' if config.require_approval else 'auto-approve'}, production {envs['production'].url}"
        ),
        "smoke": f"smoke     production {envs['production'].url}: login, classify the DESIGN.md examples, served version",
    }
    return [lines[s] for s in selected]


def _latest_state(config: PipelineConfig) -> dict:
    path = config.pipeline_dir / "latest.json"
    return json.loads(path.read_text()) if path.exists() else {}


class _Recorder:
    """The pipeline run in MLflow (experiment `pipeline`): id, commit, each stage's outcome and time."""

    def __init__(self, tracking_uri: str, result: PipelineResult, config: PipelineConfig):
        import mlflow

        from ml.mlflow_setup import ensure_experiment

        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment_id = ensure_experiment(PIPELINE_EXPERIMENT, tracking_uri)
        tags = {"pipeline_id": result.pipeline_id, "git_commit": git_commit(), "mlflow.runName": f"pipeline {result.pipeline_id}"}
        self.run_id = self.client.create_run(experiment_id, tags=tags).info.run_id
        self.client.log_param(self.run_id, "require_approval", config.require_approval)

    def stage(self, name: str, status: str, seconds: float, outputs: dict) -> None:
        self.client.set_tag(self.run_id, f"stage.{name}", status)
        self.client.log_metric(self.run_id, f"stage_seconds.{name}", seconds)
        for key in ("run_id", "version", "verdict", "model_version", "app_version", "approved_by"):
            if key in outputs and outputs[key] is not None:
                self.client.set_tag(self.run_id, f"{name}.{key}", str(outputs[key]))

    def finish(self, result: PipelineResult) -> None:
        self.client.log_dict(
            self.run_id, {"outputs": result.outputs, "timings": result.timings, "rollback": result.rollback}, "pipeline.json"
        )
        self.client.set_tag(self.run_id, "status", result.status)
        if result.error:
            self.client.set_tag(self.run_id, "error", result.error[:4000])
        self.client.set_terminated(self.run_id, "FINISHED" if result.ok else "FAILED")


def run_pipeline(config: PipelineConfig, *, from_stage: str | None = None, only: str | None = None, log=print) -> PipelineResult:
    selected = select_stages(from_stage=from_stage, only=only)
    pipeline_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    result = PipelineResult(pipeline_id)
    (config.pipeline_dir / pipeline_id).mkdir(parents=True, exist_ok=True)
    previous = _latest_state(config).get("outputs", {}) if selected[0] != STAGES[0] else {}
    out = {**previous}
    envs = {e.name: e for e in config.environments()}

    if config.starts_local_mlflow:
        from ci.processes import ensure_mlflow

        ensure_mlflow(config)
    tracking_uri = config.resolved_tracking_uri
    recorder = _Recorder(tracking_uri, result, config)
    log(f"pipeline {pipeline_id}: stages {', '.join(selected)} (tracking {tracking_uri})")

    def run_stage(name: str, fn) -> dict:
        started = time.perf_counter()
        log(f"[{name}] ...")
        try:
            value = fn()
        except Exception:
            seconds = time.perf_counter() - started
            result.timings[name] = round(seconds, 2)
            recorder.stage(name, "failed", seconds, {})
            log(f"[{name}] FAILED after {seconds:.1f}s")
            raise
        seconds = time.perf_counter() - started
        result.timings[name] = round(seconds, 2)
        out[name] = value
        recorder.stage(name, "succeeded", seconds, value)
        log(f"[{name}] done in {seconds:.1f}s: {_brief(value)}")
        if value.get("message"):
            log(f"  {value['message']}")
        return value

    try:
        for name in selected:
            if name == "data":
                run_stage("data", lambda: stages.stage_data(config))
            elif name == "train":
                run_stage(
                    "train",
                    lambda: stages.stage_train(config, data=out["data"]["data"], tracking_uri=tracking_uri, pipeline_id=pipeline_id),
                )
            elif name == "evaluate":
                run_stage("evaluate", lambda: stages.stage_evaluate(config, bundle=out["train"]["bundle"], pipeline_id=pipeline_id))
            elif name == "register":
                run_stage("register", lambda: stages.stage_register(config, run_id=out["train"]["run_id"], tracking_uri=tracking_uri))
            elif name == "gate":
                run_stage(
                    "gate",
                    lambda: stages.stage_gate(
                        config, version=out["register"]["version"], tracking_uri=tracking_uri, pipeline_id=pipeline_id
                    ),
                )
            elif name == "package":
                run_stage("package", lambda: stages.stage_package(config, tracking_uri=tracking_uri, pipeline_id=pipeline_id))
            elif name == "deploy":
                run_stage("deploy", lambda: _deploy_all(config, envs, out["package"], pipeline_id, log))
            elif name == "smoke":
                run_stage("smoke", lambda: _smoke_production(config, envs, out["package"]["model_version"]))
        result.status = "succeeded"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log(f"pipeline {pipeline_id} failed: {result.error}")
        if result.timings.keys() & {"deploy", "smoke"}:
            result.rollback = _roll_back(config, envs, out, tracking_uri, pipeline_id, log)
            result.status = "rolled_back"
        else:
            result.status = "failed"
        (config.pipeline_dir / pipeline_id / "error.txt").write_text(traceback.format_exc())
    finally:
        result.outputs = out
        recorder.finish(result)
        state = {"pipeline_id": pipeline_id, "status": result.status, "outputs": out, "timings": result.timings, "error": result.error}
        (config.pipeline_dir / pipeline_id / "result.json").write_text(json.dumps(state, indent=1, default=str))
        if result.ok:
            (config.pipeline_dir / "latest.json").write_text(json.dumps(state, indent=1, default=str))
    log(_timing_table(result))
    return result


def _smoke_production(config: PipelineConfig, envs: dict, model_version: str) -> dict:
    if config.target == "compose":
        from ci.smoke import smoke_test

        result = smoke_test(config.compose_portal_url, username="tech", password=config.password(), expected_version=model_version)
        return {"environment": "compose", "model_version": result.model_version, "app_version": result.app_version, "labels": result.labels}
    return stages.stage_smoke(config, envs["production"], model_version=model_version)


def _deploy_all(config: PipelineConfig, envs: dict, package: dict, pipeline_id: str, log) -> dict:
    """Staging first, its smoke test, then approval (manual or automatic), then production."""
    if config.target == "compose":
        from ci.compose import deploy_compose

        deployed = deploy_compose(bundle=Path(package["bundle"]), model_dir=config.compose_model_dir, portal_url=config.compose_portal_url)
        log(f"  compose: bundle v{deployed['model_version']} written to {config.compose_model_dir}, served at {deployed['url']}")
        return {"production": deployed, "model_version": deployed["model_version"], "app_version": package["app_version"]}
    staging = stages.stage_deploy(config, envs["staging"], bundle=package["bundle"], pipeline_id=pipeline_id)
    log(f"  staging deployed at {staging['url']} (model v{staging['model_version']}, restarted: {staging['restarted']})")
    staging_smoke = stages.stage_smoke(config, envs["staging"], model_version=package["model_version"])
    log(f"  staging smoke test passed: labels {staging_smoke['labels']}")
    if config.require_approval:
        request_approval(
            config.pipeline_dir, pipeline_id, {"model_version": package["model_version"], "app_version": package["app_version"]}
        )
        log(f"  waiting for approval: python -m ci approve {pipeline_id}   (or --reject)")
        approval = wait_for_approval(config.pipeline_dir, pipeline_id, timeout_s=config.approval_timeout_s)
    else:
        approval = auto_approve(config.pipeline_dir, pipeline_id)
    log(f"  production approved by {approval['by']} at {approval['at']}")
    production = stages.stage_deploy(config, envs["production"], bundle=package["bundle"], pipeline_id=pipeline_id)
    log(f"  production deployed at {production['url']} (model v{production['model_version']}, restarted: {production['restarted']})")
    return {
        "staging": staging,
        "production": production,
        "approved_by": approval["by"],
        "approved_at": approval["at"],
        "model_version": production["model_version"],
        "app_version": package["app_version"],
    }


def _roll_back(config: PipelineConfig, envs: dict, out: dict, tracking_uri: str, pipeline_id: str, log) -> dict:
    """Restore the previous release in every environment and, if this run promoted, the previous champion."""
    from ci.deploy import rollback

    report = {}
    if config.target == "compose":
        from ci.compose import rollback_compose

        try:
            report["compose"] = (
                rollback_compose(model_dir=config.compose_model_dir, portal_url=config.compose_portal_url) or "nothing to roll back to"
            )
        except Exception as exc:
            report["compose"] = f"rollback failed: {exc}"
        envs = {}
    for env in envs.values():
        try:
            restored = rollback(config, env)
            report[env.name] = restored["release_id"] if restored else "nothing to roll back to"
            log(f"  rollback {env.name}: {report[env.name]}")
        except Exception as exc:
            report[env.name] = f"rollback failed: {exc}"
            log(f"  rollback {env.name} FAILED: {exc}")
    if out.get("gate", {}).get("promoted"):
        try:
            from ml.registry import rollback as registry_rollback

            moved = registry_rollback(
                reason=f"pipeline {pipeline_id}: deploy or smoke test failed", tracking_uri=tracking_uri, model_name=config.model_name
            )
            report["champion"] = moved.to_version
            log(f"  champion rolled back to v{moved.to_version}")
        except Exception as exc:
            report["champion"] = f"rollback failed: {exc}"
            log(f"  champion rollback FAILED: {exc}")
    return report


def _brief(value: dict) -> str:
    keys = ("rows", "run_id", "accuracy", "version", "verdict", "promoted", "model_version", "app_version", "labels", "approved_by")
    return ", ".join(f"{k}={value[k]}" for k in keys if k in value) or "ok"


def _timing_table(result: PipelineResult) -> str:
    lines = ["\n| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in result.timings.items()]
    lines.append(f"| **total** | {sum(result.timings.values()):.1f} |")
    lines.append(f"pipeline {result.pipeline_id}: {result.status}")
    return "\n".join(lines)
