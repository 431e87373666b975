"""`python -m ml registry`: every command and flag stays available (the CLI's public surface)."""

from __future__ import annotations

import argparse
import subprocess
import sys

from common.paths import PROJECT_ROOT

COMMON = {"--tracking-uri", "--model-name", "-h", "--help"}
COMMANDS = {
    "register": {"--run", "--no-challenger"},
    "gate": {"--version", "--config", "--tolerance", "--latency-budget-ms", "--no-promote", "--actor", "--reason"},
    "promote": {"--version", "--reason", "--actor"},
    "rollback": {"--reason", "--actor"},
    "status": {"--json"},
    "history": {"--json", "--at"},
    "download": {"--dst", "--alias", "--version"},
}
REQUIRED = {"register": {"--run"}, "promote": {"--version", "--reason"}, "download": {"--dst"}}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_registry_command_keeps_its_flags():
    from ml.__main__ import build_parser

    commands = _subcommands(_subcommands(build_parser())["registry"])
    assert set(commands) == set(COMMANDS)
    for name, parser in commands.items():
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert flags == COMMANDS[name] | COMMON, name
        required = {action.option_strings[-1] for action in parser._actions if action.required}
        assert required == REQUIRED.get(name, set()), name


def test_python_m_ml_registry_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "ml", "registry", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert all(name in out for name in COMMANDS), out


def test_a_missing_required_flag_is_refused(capsys):
    """Input tried: `promote` without --reason; argparse exits 2 and names the flag."""
    from ml.registry.cli import main

    try:
        main(["promote", "--version", "1"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("promote without --reason must be refused")
    assert "--reason" in capsys.readouterr().err
