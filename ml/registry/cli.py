"""`python -m ml registry ...`: register, gate, promote, rollback, status, history, download.

Hook into the `ml` CLI with `add_registry_parser(subparsers)` and dispatch with `run_registry(args)`.
Exit codes: 0 done, 1 gate rejected the challenger, 2 the request cannot be done, 3 the tracking
server is unreachable or failed part-way (the message says whether the champion alias moved).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from common import names
from common.names import CHAMPION, MODEL_NAME

EXIT_OK, EXIT_REJECTED, EXIT_ERROR, EXIT_SERVER = 0, 1, 2, 3


def _common() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI, else the local server `make run` started, "
        "else its store var/mlflow/mlflow.db)",
    )
    parent.add_argument("--model-name", default=MODEL_NAME, help=f"registered model name (default {MODEL_NAME})")
    return parent


def _build(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    common = _common()
    sub = parser.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")

    p = sub.add_parser("register", parents=[common], help="register a training run's ONNX model as a new version (alias challenger)")
    p.add_argument("--run", required=True, dest="run_id", help="training run id")
    p.add_argument("--no-challenger", action="store_true", help="do not move the challenger alias")

    p = sub.add_parser("gate", parents=[common], help="challenger vs champion on the frozen holdout; promote when every check passes")
    p.add_argument("--version", help="version to evaluate (default: the challenger alias)")
    p.add_argument("--config", type=Path, help="gate settings JSON (fields of ml.registry.gate_config.GateConfig)")
    p.add_argument("--tolerance", type=float, help="how much worse than the champion still passes (absolute rate)")
    p.add_argument("--latency-budget-ms", type=float, help="ONNX batch-1 median budget")
    p.add_argument("--no-promote", action="store_true", help="evaluate and record the verdict only")
    p.add_argument("--actor", help="who promotes (default: the OS user)")
    p.add_argument("--reason", help="why (default: the gate summary)")

    p = sub.add_parser("promote", parents=[common], help="make a version champion by hand (recorded in the ledger)")
    p.add_argument("--version", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--actor", help="who promotes (default: the OS user)")

    p = sub.add_parser("rollback", parents=[common], help="champion back to the previous champion in the ledger")
    p.add_argument("--reason", default="rollback")
    p.add_argument("--actor", help="who rolls back (default: the OS user)")

    p = sub.add_parser("status", parents=[common], help="versions, aliases, key metrics, gate verdicts")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("history", parents=[common], help="the promotion ledger")
    p.add_argument("--json", action="store_true")
    p.add_argument("--at", help="only say which version was champion at this ISO time (UTC if no offset)")

    p = sub.add_parser("download", parents=[common], help="write a version's inference bundle to a folder")
    p.add_argument("--dst", required=True, type=Path)
    p.add_argument("--alias", default=CHAMPION)
    p.add_argument("--version")
    return parser


def add_registry_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("registry", help="MLflow Model Registry: register, gate, promote, rollback, status, history")
    parser.set_defaults(func=run_registry)
    return _build(parser)


def _fail_fast_http() -> None:
    """A CLI should say "server unreachable" in seconds, not after MLflow's default 7 retries (minutes)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def _print_table(rows: list[dict], as_json: bool) -> None:
    from ml.registry.tables import format_table

    print(json.dumps(rows, indent=2) if as_json else format_table(rows))


def _register(args: argparse.Namespace) -> int:
    from ml.registry.versions import register_run

    ref = register_run(args.run_id, model_name=args.model_name, tracking_uri=args.tracking_uri, set_challenger=not args.no_challenger)
    alias = " (alias challenger)" if not args.no_challenger else ""
    print(f"registered {args.model_name} v{ref.version} from run {ref.run_id}{alias}")
    return EXIT_OK


def _gate(args: argparse.Namespace) -> int:
    from ml.registry.gate import run_gate
    from ml.registry.gate_config import GateConfig

    config = GateConfig.from_file(args.config) if args.config else GateConfig()
    if args.tolerance is not None:
        config.tolerance = args.tolerance
    if args.latency_budget_ms is not None:
        config.latency_budget_ms = args.latency_budget_ms
    result = run_gate(
        version=args.version,
        model_name=args.model_name,
        tracking_uri=args.tracking_uri,
        config=config,
        promote=not args.no_promote,
        actor=args.actor,
        reason=args.reason,
    )
    print(result.message)
    return EXIT_OK if result.passed else EXIT_REJECTED


def _promote(args: argparse.Namespace) -> int:
    from ml.registry.promotion import promote

    print(promote(args.version, reason=args.reason, actor=args.actor, model_name=args.model_name, tracking_uri=args.tracking_uri).message)
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from ml.registry.promotion import rollback

    print(rollback(reason=args.reason, actor=args.actor, model_name=args.model_name, tracking_uri=args.tracking_uri).message)
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from ml.registry.tables import status_rows

    _print_table(status_rows(model_name=args.model_name, tracking_uri=args.tracking_uri), args.json)
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    from ml.registry import ledger
    from ml.registry.promotion import history
    from ml.registry.tables import format_table, history_rows

    name = args.model_name
    entries = history(model_name=name, tracking_uri=args.tracking_uri)
    if args.at:
        when = datetime.fromisoformat(args.at)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        entry = ledger.champion_at(entries, when)
        if entry is None:
            print(f"{name} had no champion at {when.isoformat()}")
        else:
            print(
                f"{name} champion at {when.isoformat()}: v{entry.to_version} "
                f"(since {entry.when.isoformat()}, by {entry.actor}: {entry.reason})"
            )
    elif args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        print(format_table(history_rows(entries)))
    return EXIT_OK


def _download(args: argparse.Namespace) -> int:
    from ml.registry.versions import download_bundle

    name = args.model_name
    path, ref = download_bundle(args.dst, alias=args.alias, version=args.version, model_name=name, tracking_uri=args.tracking_uri)
    print(f"wrote {name} v{ref.version} bundle to {path}")
    return EXIT_OK


COMMANDS = {
    "register": _register,
    "gate": _gate,
    "promote": _promote,
    "rollback": _rollback,
    "status": _status,
    "history": _history,
    "download": _download,
}


def run_registry(args: argparse.Namespace) -> int:
    _fail_fast_http()
    from ml.registry.errors import PromotionFailed, RegistryError, ServerUnavailable, is_connection_error

    try:
        return COMMANDS[args.registry_command](args)
    except (PromotionFailed, ServerUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SERVER
    except (RegistryError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if not isinstance(exc, MlflowException):
            raise
        if is_connection_error(exc):
            print(f"error: the tracking server {names.tracking_uri(args.tracking_uri)} is unreachable", file=sys.stderr)
            return EXIT_SERVER
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = _build(argparse.ArgumentParser(prog="python -m ml registry", description="MLflow Model Registry and promotion ledger"))
    return run_registry(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
