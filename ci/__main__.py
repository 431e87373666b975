"""`python -m ci run|approve|stop|status`: the one pipeline's thin CLI."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ci.config import PipelineConfig
from ci.stages import STAGES
from ci.verdict import ON_REJECT
from common.names import mlflow_ui_url

# Flags that override a PipelineConfig setting of the same name (None: not given).
_SETTINGS = (
    "var",
    "data",
    "rows",
    "seed",
    "epochs",
    "batch_size",
    "tracking_uri",
    "gate_config",
    "require_approval",
    "staging_port",
    "production_port",
    "mlflow_port",
    "actor",
    "target",
    "k8s_context",
)


def _config(args: argparse.Namespace) -> PipelineConfig:
    """The environment read once (PipelineConfig.from_env), then the flags given."""
    overrides = {name: getattr(args, name, None) for name in _SETTINGS}
    return PipelineConfig.from_env(model_type=getattr(args, "model", None), **overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from ci.config import ensure_demo_password
    from ci.runner import plan, run_pipeline, select_stages
    from ci.targets import target_for
    from ci.verdict import annotations, exit_status, next_commands

    config = _config(args)
    selected = select_stages(from_stage=args.from_stage, only=args.only)
    if args.dry_run:
        print("dry run: the pipeline would run these stages, in order:")
        for line in plan(config, selected):
            print("  " + line)
        return 0
    result = run_pipeline(config, from_stage=args.from_stage, only=args.only)
    if result.ok and "deploy" in selected:
        password = ensure_demo_password(config)
        print(f"\n{target_for(config).describe()['served']}")
        print(f"MLflow UI:           {mlflow_ui_url(config.resolved_tracking_uri)}{_auth_note(config)}")
        print(f"demo users:          tech / reviewer / operator / admin, password {password}")
        _scan_samples(result)
        if config.target == "local":
            staging, production = config.environments()
            lines = next_commands(
                production_url=production.url,
                staging_url=staging.url,
                mlflow_url=mlflow_ui_url(config.resolved_tracking_uri),
                password=password,
            )
            print("\n".join(lines))
    line = result.verdict_line
    for marker in annotations(line, status=result.status, on_reject=args.on_reject):
        print(marker)
    print(line)
    return exit_status(result.status, on_reject=args.on_reject)


def _scan_samples(result) -> None:
    """Scan data/specs/ with the bundle production now serves; a failure here never fails the finished run."""
    bundle = result.outputs.get("package", {}).get("bundle")
    if not bundle:
        return
    try:
        from ci.specs import scan_samples

        scan_samples(bundle)
    except Exception as exc:  # the release is done; the demo scan only reports
        print(f"sample specifications not scanned: {type(exc).__name__}: {exc}")


def _auth_note(config) -> str:
    """`make run`'s tracking server listens on loopback without sign-in: say so beside its address."""
    if config.starts_local_mlflow and not os.environ.get("MLFLOW_TRACKING_USERNAME"):
        return "  (open: no authentication, loopback only; python -m mlruns_server --auth to require sign-in)"
    return ""


def cmd_approve(args: argparse.Namespace) -> int:
    from ci.approval import decide

    config = _config(args)
    record = decide(config.pipeline_dir, args.pipeline_id, approve=not args.reject, by=args.by, comment=args.comment)
    print(f"pipeline {args.pipeline_id}: {record['state']} by {record['by']} at {record['at']}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from ci.processes import stop_pid_file

    config = _config(args)
    for env in config.environments():
        print(f"{env.name} portal: {'stopped' if stop_pid_file(env.pid_file) else 'not running'}")
    print(f"MLflow server: {'stopped' if stop_pid_file(config.mlflow_pid_file) else 'not running'}")
    return 0


def _release(entry: dict | None) -> str:
    if not entry:
        return "none"
    return f"{entry.get('release_id', '?')} (model v{entry.get('model_version', '-')}, app {entry.get('app_version', '-')})"


def cmd_status(args: argparse.Namespace) -> int:
    from ci.deploy import read_state
    from ci.processes import read_pid

    config = _config(args)
    for env in config.environments():
        state = read_state(env)
        current = state.get("current") or {}
        running = "running" if read_pid(env.pid_file) else "stopped"
        print(f"{env.name:<11} {env.url}  {running:<8} model v{current.get('model_version', '-')}  app {current.get('app_version', '-')}")
        print(f"{'':<11} current release:  {_release(state.get('current'))}")
        print(f"{'':<11} previous release: {_release(state.get('previous'))}")
        if state.get("rolled_back"):
            back = state["rolled_back"]
            print(f"{'':<11} rolled back from {back.get('from')} to {back.get('to')} at {back.get('at')}")
    latest = config.pipeline_dir / "latest.json"
    if latest.exists():
        state = json.loads(latest.read_text())
        print(f"last successful pipeline: {state['pipeline_id']}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """The app and model of the environment's previous release (current.json), through the same zero-downtime switch
    as a deploy (a new gunicorn master takes the socket over), then the smoke test. The champion alias is not moved."""
    from ci.config import ensure_demo_password
    from ci.deploy import read_state, rollback
    from ci.smoke import smoke_outputs

    config = _config(args)
    if config.target != "local":
        print(f"error: ci rollback switches the local target's releases; the {config.target} target rolls back with its own tools")
        return 2
    env = {e.name: e for e in config.environments()}[args.env]
    before = read_state(env).get("current")
    from ci.processes import DeployError

    try:
        restored = rollback(config, env)
    except DeployError as exc:
        print(f"error: {env.name}: the switch to the previous release failed; still serving {_release(before)}: {exc}")
        return 1
    if restored is None:
        print(f"{env.name}: nothing to roll back to (no previous release in {env.state_file}); nothing changed")
        return 2
    print(f"{env.name}: {_release(before)} -> {_release(restored)}")
    try:
        smoke = smoke_outputs(env.name, env.url, password=ensure_demo_password(config), model_version=str(restored["model_version"]))
    except Exception as exc:  # the smoke test's own failure (SmokeTestFailed) or the portal not answering
        print(f"error: {env.name}: now serving {_release(restored)}, but its smoke test failed: {exc}")
        return 1
    print(f"{env.name}: smoke test passed (labels {smoke['labels']}); serving model v{restored['model_version']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ci", description=__doc__)
    parser.add_argument("--var", type=Path, default=None, help="state folder (default: var/ in the project)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the pipeline: " + " -> ".join(STAGES))
    p.add_argument("--from", dest="from_stage", choices=STAGES, help="start at this stage (earlier outputs from the last successful run)")
    p.add_argument("--only", choices=STAGES, help="run this stage alone")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--data", type=Path, help="a labelled CSV instead of generated data")
    p.add_argument("--rows", type=int, help="rows to generate (default 100000)")
    p.add_argument("--seed", type=int)
    p.add_argument("--model", choices=("cnn", "baseline"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--tracking-uri", help="use this MLflow server instead of starting the local one")
    p.add_argument("--gate-config", type=Path, help="JSON overriding the gate's thresholds")
    p.add_argument("--require-approval", action="store_true", default=None, help="wait for `python -m ci approve ID` before production")
    p.add_argument("--staging-port", type=int)
    p.add_argument("--production-port", type=int)
    p.add_argument("--mlflow-port", type=int, help="port of the local MLflow server (default 5000)")
    p.add_argument("--actor", help="who runs it (recorded in the promotion ledger)")
    p.add_argument("--target", choices=("local", "compose", "k8s"), help="where to deploy (default local; env PIPELINE_DEPLOY_TARGET)")
    p.add_argument("--context", dest="k8s_context", help="k8s target: the kubectl context to deploy to (env PIPELINE_K8S_CONTEXT)")
    p.add_argument(
        "--on-reject",
        choices=ON_REJECT,
        default=os.environ.get("PIPELINE_ON_REJECT") or "fail",
        help="when the gate rejects the new model (production unchanged): fail = exit 3 (default), warn = exit 0 with a warning "
        "(env PIPELINE_ON_REJECT)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("approve", help="approve (or reject) a pipeline waiting before production")
    p.add_argument("pipeline_id")
    p.add_argument("--reject", action="store_true")
    p.add_argument("--by", default=None)
    p.add_argument("--comment", default="")
    p.set_defaults(func=cmd_approve)

    sub.add_parser("stop", help="stop the portals and the MLflow server the pipeline started").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="what is deployed where: current and previous release per environment").set_defaults(func=cmd_status)
    p = sub.add_parser("rollback", help="switch an environment back to its previous release (app and model), then smoke-test it")
    p.add_argument("--env", choices=("staging", "production"), default="production")
    p.set_defaults(func=cmd_rollback)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ml.mlflow_setup import quiet_mlflow_environment

    quiet_mlflow_environment()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
