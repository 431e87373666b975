"""How a pipeline run ends, for people and for CI: the next commands per role, the last line, the exit status.

Exit status of `python -m ci run`: 0 succeeded, 1 failed (rolled back when it had deployed), 2 could not start
(bad flags or state), 3 the gate rejected the new model and production kept its champion (`--on-reject fail`,
the default; `--on-reject warn` exits 0 and says so as a warning). In GitHub Actions and Azure Pipelines the
rejection is also written as that system's annotation, so it shows as a failure or a warning, never silence.
"""

from __future__ import annotations

import os

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3
ON_REJECT = ("fail", "warn")


def exit_status(status: str, *, on_reject: str) -> int:
    if status == "succeeded":
        return EXIT_OK
    if status == "rejected":
        return EXIT_REJECTED if on_reject == "fail" else EXIT_OK
    return EXIT_FAILED


def annotations(line: str, *, status: str, on_reject: str, environ: dict | None = None) -> list[str]:
    """The CI system's own markers for a rejection (GitHub: ::warning/::error; Azure: ##vso logissue)."""
    if status != "rejected":
        return []
    env = os.environ if environ is None else environ
    level = "error" if on_reject == "fail" else "warning"
    out = []
    if env.get("GITHUB_ACTIONS") == "true":
        out.append(f"::{level} title=Model gate::{line}")
    if env.get("TF_BUILD"):
        out.append(f"##vso[task.logissue type={level}]{line}")
        if level == "warning":
            out.append("##vso[task.complete result=SucceededWithIssues;]the gate rejected the new model")
    return out


def next_commands(*, production_url: str, staging_url: str, mlflow_url: str, password: str) -> list[str]:
    """What each role can type or open next (README, "Who does what")."""
    return [
        "",
        "next, per role:",
        f"  technician:      open {production_url} and sign in as tech (password {password})",
        f"  reviewer:        open {production_url}/reviews/ and sign in as reviewer",
        f"  operator:        .venv/bin/python -m monitoring drift --last 5000   then {production_url}/operations/ as operator",
        f"  data scientist:  open {mlflow_url}   or  .venv/bin/python -m ml registry status",
        "  DevOps:          .venv/bin/python -m ci status   (.venv/bin/python -m ci rollback --env production to go back)",
        f"  API:             TOKEN=$(.venv/bin/python manage.py api_token tech); docs at {production_url}/api/docs/",
        f"  staging portal:  {staging_url}",
    ]
