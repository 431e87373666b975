"""The promotion gate: challenger vs champion on one frozen holdout, behavioural checks, parity, latency.

Every gate evaluation is one MLflow run in `model-gate` with the side-by-side evidence (HTML + JSON).
The challenger is promoted (ml.registry.promotion.promote, recorded in the ledger) only when every check
passes; against a champion it must also not be worse than the champion beyond `tolerance`.

The parts: gate_config (settings), holdout (the frozen data), behaviour (behavioural cases),
evaluation (one version measured), decision (the checks), evidence (JSON/HTML and the MLflow run).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import names
from common.names import CHALLENGER, CHAMPION, MODEL_NAME
from ml.registry import descriptions, promotion
from ml.registry.client import get_client
from ml.registry.corrections_slice import corrections_check, corrections_slice
from ml.registry.decision import Check, decide
from ml.registry.errors import RegistryError, server_errors
from ml.registry.evaluation import evaluate_version
from ml.registry.evidence import fmt, gate_evidence, log_gate_run, write_evidence
from ml.registry.gate_config import GateConfig
from ml.registry.holdout import ensure_holdout
from ml.registry.promotion import PromotionResult
from ml.registry.versions import TAG_GATE_RUN, TAG_VERDICT, ModelRef, get_version, resolve_alias, set_version_tags


@dataclass
class GateResult:
    model_name: str
    challenger: ModelRef
    champion: ModelRef | None
    checks: list[Check]
    passed: bool
    gate_run_id: str
    evidence: dict
    promotion: PromotionResult | None

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "rejected"

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def message(self) -> str:
        against = f"v{self.champion.version}" if self.champion else "no champion"
        head = f"gate {self.verdict}: {self.model_name} v{self.challenger.version} vs {against}"
        if self.failed_checks:
            head += "; failed: " + ", ".join(f"{c.name} ({fmt(c.challenger)} vs {c.detail})" for c in self.failed_checks)
        if self.promotion is not None:
            head += f"; {self.promotion.message}"
        return head + f" (evidence: gate run {self.gate_run_id})"


def _contenders(client, model_name: str, version: str | int | None) -> tuple[ModelRef, ModelRef | None]:
    """The version to gate (default: the challenger alias) and the champion it is judged against."""
    if version is None:
        challenger = resolve_alias(CHALLENGER, model_name=model_name, client=client)
        if challenger is None:
            raise RegistryError(f"no version of {model_name!r} has the alias 'challenger'; register a run first or pass --version")
    else:
        challenger = get_version(version, model_name=model_name, client=client)
    champion = resolve_alias(CHAMPION, model_name=model_name, client=client)
    if champion is not None and champion.version == challenger.version:
        raise RegistryError(f"v{challenger.version} is already the champion of {model_name}; nothing to gate")
    return challenger, champion


def _judge(challenger, champion, holdout, config: GateConfig, corrections, uri: str, work: Path):
    """Both contenders on the frozen holdout and the corrections slice, and the checks that decide."""
    chal_eval = evaluate_version(challenger, holdout, config, tracking_uri=uri, workdir=work)
    champ_eval = evaluate_version(champion, holdout, config, tracking_uri=uri, workdir=work) if champion else None
    reviewed = corrections_slice(corrections, challenger, champion, workdir=work, tracking_uri=uri)
    if reviewed.rows:  # logged with the other accuracies (challenger.accuracy.corrections, champion.*)
        chal_eval.accuracy["corrections"] = reviewed.challenger_accuracy
        if champ_eval is not None:
            champ_eval.accuracy["corrections"] = reviewed.champion_accuracy
    checks = [*decide(chal_eval, champ_eval, config), corrections_check(reviewed, min_accuracy=config.corrections_min_accuracy)]
    return chal_eval, champ_eval, reviewed, checks


def run_gate(
    *,
    version: str | int | None = None,
    model_name: str = MODEL_NAME,
    tracking_uri: str | None = None,
    config: GateConfig | None = None,
    promote: bool = True,
    actor: str | None = None,
    reason: str | None = None,
    corrections=None,
) -> GateResult:
    """Evaluate `version` (default: the `challenger` alias) against the champion; log evidence; promote when it passes.

    `corrections` (a frame of reviewed `text`, `label`) adds the corrections slice (ml.registry.corrections_slice)."""
    config = config or GateConfig()
    client = get_client(tracking_uri)
    uri = names.tracking_uri(tracking_uri)
    with server_errors(f"gating {model_name}", uri):
        challenger, champion = _contenders(client, model_name, version)
        holdout = ensure_holdout(client, config, tracking_uri=uri)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            chal_eval, champ_eval, reviewed, checks = _judge(challenger, champion, holdout, config, corrections, uri, work)
            passed = all(c.passed for c in checks)
            evidence = gate_evidence(
                model_name=model_name,
                challenger=chal_eval,
                champion=champ_eval,
                checks=checks,
                config=config,
                holdout=holdout,
                tracking_uri=uri,
                corrections=reviewed.as_dict(),
            )
            evidence_dir = write_evidence(evidence, work / "evidence")
            run_id = log_gate_run(client, evidence, evidence_dir, challenger=chal_eval, champion=champ_eval, config=config, holdout=holdout)
            set_version_tags(challenger, {TAG_VERDICT: evidence["verdict"], TAG_GATE_RUN: run_id}, client=client)
            descriptions.set_verdict(
                client,
                model_name=model_name,
                version=challenger.version,
                evidence=evidence,
                tracking_uri=uri,
                gate_run_id=run_id,
                training_run_id=challenger.run_id,
            )
            promoted = None
            if passed and promote:
                promoted = promotion.promote(
                    challenger.version,
                    reason=reason or f"gate passed: {evidence['summary']}",
                    actor=actor,
                    model_name=model_name,
                    tracking_uri=uri,
                    kind="gate",
                    verdict="passed",
                    gate_run_id=run_id,
                    evidence_dir=evidence_dir,
                    expected_from=champion.version if champion else None,
                )
    return GateResult(model_name, challenger, champion, checks, passed, run_id, evidence, promoted)
