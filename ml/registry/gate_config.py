"""The gate's settings: holdout size, thresholds per holdout set and behavioural check, tolerance, budgets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOLDOUT_FORMAT = 1
SETS = ("in_distribution", "holdout_shapes", "holdout_years", "out_of_range_years")
BEHAVIOUR_CHECKS = ("year_flip", "name_invariance", "case_invariance")


@dataclass
class GateConfig:
    holdout_rows: int = 1000  # per set
    holdout_seed: int = 20_240_601
    behaviour_cases: int = 200  # per check
    min_accuracy: dict = field(
        default_factory=lambda: {"in_distribution": 0.995, "holdout_shapes": 0.99, "holdout_years": 0.98, "out_of_range_years": 0.98}
    )
    min_behaviour: dict = field(default_factory=lambda: {"year_flip": 0.98, "name_invariance": 0.99, "case_invariance": 0.99})
    tolerance: float = 0.002  # how much worse than the champion (absolute rate) still counts as "not worse"
    max_parity_diff: float = 1e-4
    latency_budget_ms: float = 5.0  # ONNX batch-1 median, tokenization included
    latency_calls: int = 200
    parity_rows: int = 512
    corrections_min_accuracy: float = 0.5  # on the reviewed rows the champion got wrong (ml.registry.corrections_slice)

    @classmethod
    def from_file(cls, path: str | Path) -> GateConfig:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown gate settings in {path}: {', '.join(sorted(unknown))}")
        base = cls()
        for key in ("min_accuracy", "min_behaviour"):
            if key in data:
                data[key] = {**getattr(base, key), **data[key]}
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def holdout_spec(self) -> str:
        return f"format={HOLDOUT_FORMAT};rows={self.holdout_rows};seed={self.holdout_seed};behaviour={self.behaviour_cases}"
