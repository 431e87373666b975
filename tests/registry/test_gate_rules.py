"""Gate rules, behavioural cases and ledger arithmetic without a server (fast)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ml.registry import ledger
from ml.registry.behaviour import behaviour_rates, build_behaviour
from ml.registry.decision import decide, summary
from ml.registry.errors import is_connection_error, request_never_sent
from ml.registry.evaluation import Evaluation
from ml.registry.evidence import evidence_html, evidence_json
from ml.registry.gate_config import BEHAVIOUR_CHECKS, SETS, GateConfig

EXTRAS = re.compile(r"PN |S/N|qty|bay|lot|part #", re.IGNORECASE)


class RulePredictor:
    """Applies the regulation to texts whose only number is the year (the gate's behaviour cases are built from such rows)."""

    threshold = 0.5

    def __init__(self, *, read_year: bool = True, name_sensitive: bool = False):
        self.read_year, self.name_sensitive = read_year, name_sensitive

    def predict_proba(self, texts):
        out = []
        for text in texts:
            t = text.lower()
            year = int(re.search(r"\d{4}", t).group()) if self.read_year else 2000
            label = year < 1995 or "poor" in t or "fair" in t or "plastic" in t or "iron" in t
            if self.name_sensitive and "bracket" in t:
                label = not label
            out.append(float(label))
        return np.array(out, dtype=np.float32)


@pytest.fixture(scope="module")
def behaviour():
    from ml.data import generate

    frame = generate(1500, seed=5)
    frame = frame[~frame["text"].str.contains(EXTRAS)].reset_index(drop=True)
    return build_behaviour(frame, cases=60, seed=1)


def test_behaviour_cases_change_only_what_they_claim(behaviour):
    assert set(behaviour["check"]) == set(BEHAVIOUR_CHECKS)
    flips = behaviour[behaviour["check"] == "year_flip"]
    for _, pair in flips.groupby("group"):
        assert sorted(pair["expected"]) == [0, 1]
        a, b = pair["text"].tolist()
        assert re.sub(r"\d{4}", "YEAR", a) == re.sub(r"\d{4}", "YEAR", b) and a != b
    names = behaviour[behaviour["check"] == "name_invariance"]
    assert (names.groupby("group").size() == 3).all()
    cases = behaviour[behaviour["check"] == "case_invariance"]
    for _, grp in cases.groupby("group"):
        assert grp["text"].str.lower().nunique() == 1


def test_behaviour_rates_catch_a_year_blind_and_a_name_sensitive_model(behaviour):
    assert behaviour_rates(RulePredictor(), behaviour) == dict.fromkeys(BEHAVIOUR_CHECKS, 1.0)
    assert behaviour_rates(RulePredictor(read_year=False), behaviour)["year_flip"] == 0.0
    assert behaviour_rates(RulePredictor(name_sensitive=True), behaviour)["name_invariance"] < 1.0


def _evaluation(version: str, acc: float, *, parity: float = 1e-6, latency: float = 1.0, year_flip: float = 1.0) -> Evaluation:
    return Evaluation(
        version=version,
        run_id=f"run{version}",
        accuracy=dict.fromkeys(SETS, acc),
        behaviour={"year_flip": year_flip, "name_invariance": 1.0, "case_invariance": 1.0},
        parity_max_abs_diff=parity,
        latency_median_ms=latency,
        latency_p99_ms=latency * 2,
        errors=[],
    )


CONFIG = GateConfig(min_accuracy=dict.fromkeys(SETS, 0.9), tolerance=0.01)


def _passed(checks) -> bool:
    return all(c.passed for c in checks)


def test_without_a_champion_thresholds_alone_decide():
    checks = decide(_evaluation("1", 0.95), None, CONFIG)
    assert _passed(checks) and not [c for c in checks if c.kind == "vs_champion"]
    assert not _passed(decide(_evaluation("1", 0.85), None, CONFIG))


def test_champion_comparison_uses_the_tolerance():
    champion = _evaluation("1", 0.97)
    assert _passed(decide(_evaluation("2", 0.97), champion, CONFIG))  # tie
    assert _passed(decide(_evaluation("2", 0.961), champion, CONFIG))  # worse, within tolerance
    failed = [c for c in decide(_evaluation("2", 0.95), champion, CONFIG) if not c.passed]
    assert failed and all(c.kind == "vs_champion" for c in failed)


def test_parity_latency_and_behaviour_are_hard_limits():
    names = lambda checks: {c.name for c in checks if not c.passed}  # noqa: E731
    assert names(decide(_evaluation("2", 0.99, parity=1e-2), None, CONFIG)) == {"parity_max_abs_diff"}
    assert names(decide(_evaluation("2", 0.99, latency=50.0), None, CONFIG)) == {"latency_median_ms"}
    assert names(decide(_evaluation("2", 0.99, year_flip=0.5), None, CONFIG)) == {"behaviour.year_flip"}
    no_torch = _evaluation("2", 0.99)
    no_torch.parity_max_abs_diff = None
    assert names(decide(no_torch, None, CONFIG)) == {"parity_max_abs_diff"}


def test_evidence_html_escapes_texts_and_shows_both_versions():
    chal, champ = _evaluation("2", 0.95), _evaluation("1", 0.97)
    chal.errors = [{"set": "in_distribution", "text": "<script>x</script>", "label": 1, "probability": 0.2}]
    checks = decide(chal, champ, CONFIG)
    result = {
        "model_name": "m",
        "verdict": "rejected",
        "summary": summary(checks, object()),
        "challenger": chal.__dict__,
        "champion": champ.__dict__,
        "checks": [c.__dict__ for c in checks],
        "config": CONFIG.to_dict(),
        "holdout": {"version": "abc", "run_id": "r"},
    }
    page = evidence_html(result)
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert "challenger v2" in page and "champion v1" in page and "FAIL" in page
    assert json.loads(evidence_json(result))["verdict"] == "rejected"


def test_gate_config_file_merges_thresholds(tmp_path):
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({"tolerance": 0.01, "min_accuracy": {"holdout_years": 0.5}}))
    config = GateConfig.from_file(path)
    assert config.tolerance == 0.01 and config.min_accuracy["holdout_years"] == 0.5 and config.min_accuracy["in_distribution"] == 0.995
    path.write_text(json.dumps({"tolerence": 0.01}))
    with pytest.raises(ValueError, match="tolerence"):
        GateConfig.from_file(path)


def _entry(seq: int, kind: str, frm: str | None, to: str, minutes: int, state: str = ledger.COMMITTED) -> ledger.LedgerEntry:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return ledger.LedgerEntry(f"r{seq}", "m", seq, kind, frm, to, "a", "why", "", "", "", at, at, state)


def test_champion_stack_and_champion_at():
    entries = [
        _entry(1, "gate", None, "1", 0),
        _entry(2, "gate", "1", "2", 10),
        _entry(3, "manual", "2", "3", 20, state=ledger.ABORTED),
        _entry(4, "manual", "2", "3", 30),
        _entry(5, "rollback", "3", "2", 40),
    ]
    assert ledger.champion_stack(entries) == ["1", "2"]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert ledger.champion_at(entries, t0 - timedelta(minutes=1)) is None
    assert ledger.champion_at(entries, t0 + timedelta(minutes=5)).to_version == "1"
    assert ledger.champion_at(entries, t0 + timedelta(minutes=25)).to_version == "2"  # the aborted entry never counted
    assert ledger.champion_at(entries, t0 + timedelta(minutes=35)).to_version == "3"
    assert ledger.champion_at(entries.copy(), (t0 + timedelta(minutes=45)).replace(tzinfo=None)).to_version == "2"


def test_connection_errors_are_told_apart():
    from mlflow.exceptions import MlflowException

    refused = MlflowException(
        "API request to http://x/api failed with exception HTTPConnectionPool: Max retries exceeded (Connection refused)"
    )
    assert is_connection_error(refused) and request_never_sent(refused)
    timeout = MlflowException("API request to http://x/api failed with timeout exception Read timed out.")
    assert is_connection_error(timeout) and not request_never_sent(timeout)
    assert not is_connection_error(MlflowException("RESOURCE_DOES_NOT_EXIST: no such version"))
