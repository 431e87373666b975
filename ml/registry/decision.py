"""The gate's decision: one check per rule (thresholds, and "not worse than the champion"), and its summary.

Accuracy is compared with the champion; behavioural rates are judged on thresholds only (a degenerate
constant model is perfectly "invariant", so beating it there means nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.registry.evaluation import Evaluation
from ml.registry.gate_config import BEHAVIOUR_CHECKS, SETS, GateConfig


@dataclass(frozen=True)
class Check:
    name: str
    kind: str  # threshold | vs_champion | corrections (ml.registry.corrections_slice)
    challenger: float | None
    champion: float | None
    limit: float
    passed: bool
    detail: str


def _minimum_checks(prefix: str, names: tuple[str, ...], values: dict, minimums: dict, champ: dict) -> list[Check]:
    checks = []
    for name in names:
        value = values.get(name)
        if value is None:
            continue
        limit = minimums.get(name, 0.0)
        metric = f"{prefix}.{name}"
        checks.append(Check(metric, "threshold", value, champ.get(metric), limit, value >= limit, f">= {limit:.4f}"))
    return checks


def _parity_check(challenger: Evaluation, config: GateConfig, champ: dict) -> Check:
    parity = challenger.parity_max_abs_diff
    return Check(
        "parity_max_abs_diff",
        "threshold",
        parity,
        champ.get("parity_max_abs_diff"),
        config.max_parity_diff,
        parity is not None and parity <= config.max_parity_diff,
        f"<= {config.max_parity_diff:g} (ONNX vs PyTorch flavor of the same run)" if parity is not None else "no PyTorch flavor to compare",
    )


def _latency_check(challenger: Evaluation, config: GateConfig, champ: dict) -> Check:
    return Check(
        "latency_median_ms",
        "threshold",
        challenger.latency_median_ms,
        champ.get("latency_median_ms"),
        config.latency_budget_ms,
        challenger.latency_median_ms <= config.latency_budget_ms,
        f"<= {config.latency_budget_ms:g} ms (ONNX, batch 1)",
    )


def _champion_checks(challenger: Evaluation, champion: Evaluation, tol: float) -> list[Check]:
    checks = []
    for metric in [f"accuracy.{n}" for n in SETS]:
        ours, theirs = challenger.metrics().get(metric), champion.metrics().get(metric)
        if ours is None or theirs is None:
            continue
        checks.append(
            Check(f"{metric} vs champion", "vs_champion", ours, theirs, theirs - tol, ours >= theirs - tol, f">= champion - {tol:g}")
        )
    return checks


def decide(challenger: Evaluation, champion: Evaluation | None, config: GateConfig) -> list[Check]:
    champ = champion.metrics() if champion else {}
    checks = _minimum_checks("accuracy", SETS, challenger.accuracy, config.min_accuracy, champ)
    checks += _minimum_checks("behaviour", BEHAVIOUR_CHECKS, challenger.behaviour, config.min_behaviour, champ)
    checks.append(_parity_check(challenger, config, champ))
    checks.append(_latency_check(challenger, config, champ))
    if champion is not None:
        checks += _champion_checks(challenger, champion, config.tolerance)
    return checks


def summary(checks: list[Check], champion: object | None) -> str:
    """One sentence: how many checks failed (which), and whether a champion took part."""
    failed = [c.name for c in checks if not c.passed]
    basis = "thresholds and the champion" if champion else "thresholds alone (no champion yet)"
    if failed:
        return f"{len(failed)} of {len(checks)} checks failed ({', '.join(failed)}); judged on {basis}"
    return f"all {len(checks)} checks passed; judged on {basis}"
