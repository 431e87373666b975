"""What every deploy target offers the runner (`DeployTarget`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol

Log = Callable[[str], None]


class DeployTarget(Protocol):
    """Built from the pipeline's config (`Target(config)`); the runner calls only these."""

    name: ClassVar[str]
    # The tracking server a pipeline on this target uses when none is configured; None: start the local one.
    default_tracking_uri: ClassVar[str | None]

    def describe(self) -> dict[str, str]:
        """Plan lines for the dry run ("deploy", "smoke") and where the result is served ("served")."""
        ...

    def deploy(self, package: dict, *, pipeline_id: str, log: Log) -> dict:
        """Serve the package's bundle (and app). Outputs include production, model_version and app_version."""
        ...

    def smoke_test(self, *, model_version: str) -> dict:
        """Check that production serves `model_version` and labels the reference examples right."""
        ...

    def roll_back(self, *, log: Log) -> dict[str, str]:
        """Put back what was served before this run, per environment; failures are reported, never raised."""
        ...
