"""Deploy targets: where the packaged release goes, how it is smoke-tested, how it is rolled back.

Each target is one object with the same methods (ci.targets.base.DeployTarget), built from the pipeline's
config; the runner never asks which one it holds. `local` starts gunicorn portals here (staging, approval,
production); `compose` writes the bundle into the shared MODEL_DIR that the compose portal replicas poll;
`k8s` applies the deploy/k8s overlays with kubectl. A new target is one module in this folder and one entry in
TARGETS; its settings are PipelineConfig fields that `PipelineConfig.from_env` reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci.targets.base import DeployTarget, Log
from ci.targets.compose import ComposeTarget
from ci.targets.k8s import K8sTarget
from ci.targets.local import LocalTarget

if TYPE_CHECKING:
    from ci.config import PipelineConfig

TARGETS: dict[str, type[DeployTarget]] = {"local": LocalTarget, "compose": ComposeTarget, "k8s": K8sTarget}

__all__ = ["TARGETS", "DeployTarget", "Log", "target_class", "target_for"]


def target_class(name: str) -> type[DeployTarget]:
    if name not in TARGETS:
        raise ValueError(f"unknown deploy target {name!r} (PIPELINE_DEPLOY_TARGET); targets are {', '.join(TARGETS)}")
    return TARGETS[name]


def target_for(config: PipelineConfig) -> DeployTarget:
    return target_class(config.target)(config)
