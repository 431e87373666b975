#!/usr/bin/env python
"""Django's command-line utility for the technician portal (webportal/).

`--env production|staging` (anywhere on the line) runs the command on that deployed portal's data, with the
settings its workers run with (common.paths.deployed_portal_environ). `manage.py api_token USER` does so for
production by default after `make run`.
"""

import os
import sys

COMMANDS_FOR_THE_DEPLOY = ("api_token",)  # commands that default to the deployed production portal


def _deploy_from_argv(argv: list[str]) -> tuple[list[str], str | None]:
    """argv without `--env NAME` / `--env=NAME`, and NAME (None when not given)."""
    out, name, rest = [], None, iter(argv)
    for arg in rest:
        if arg == "--env":
            name = next(rest, None)
        elif arg.startswith("--env="):
            name = arg.split("=", 1)[1]
        else:
            out.append(arg)
    return out, name


def main() -> None:
    from common.paths import ENVIRONMENTS, deployed_environment, deployed_portal_environ

    argv, name = _deploy_from_argv(sys.argv)
    if name is None and len(argv) > 1 and argv[1] in COMMANDS_FOR_THE_DEPLOY and not os.environ.get("DATABASE_URL"):
        name = deployed_environment()
    if name is not None:
        if name not in ENVIRONMENTS:
            sys.exit(f"manage.py: --env must be one of {', '.join(ENVIRONMENTS)}, not {name!r}")
        os.environ.update(deployed_portal_environ(name))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webportal.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
