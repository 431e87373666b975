"""The promotion gate: challenger vs champion on one frozen holdout, behavioural checks, parity, latency.

The holdout is generated once (ml.data), stored as CSV artifacts of a run in the `model-gate`
experiment, versioned by its SHA-256 and logged as an MLflow dataset input of every gate run; later
gates download that same file, so code changes to the generator never move the goalposts.

Every gate evaluation is one MLflow run in `model-gate` with the side-by-side evidence (HTML + JSON).
The challenger is promoted (ml.registry.promote, recorded in the ledger) only when every check
passes; against a champion it must also not be worse than the champion beyond `tolerance`.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml import registry

GATE_EXPERIMENT = "model-gate"
HOLDOUT_FILE = "holdout.csv"
BEHAVIOUR_FILE = "behaviour.csv"
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


# ---------------------------------------------------------------- the frozen holdout


@dataclass(frozen=True)
class Holdout:
    frame: pd.DataFrame
    behaviour: pd.DataFrame
    digest: str
    run_id: str

    @property
    def version(self) -> str:
        return self.digest[:12]


def _year_pattern(year: int) -> re.Pattern:
    return re.compile(rf"(?<!\d){year}(?!\d)")


def build_behaviour(frame: pd.DataFrame, *, cases: int, seed: int) -> pd.DataFrame:
    """Behavioural cases (groups of texts) derived from holdout rows. Columns: check, group, text, expected (-1 = consistency)."""
    from ml.data import COMPONENTS, CUTOFF_YEAR

    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, str, int]] = []
    order = rng.permutation(len(frame))
    # Changing only the year across 1995 flips the label: rows whose material and condition are compliant.
    group = 0
    for i in order:
        r = frame.iloc[i]
        if group >= cases:
            break
        if r["condition"] not in ("good", "new") or r["material"] not in ("steel", "carbon fiber"):
            continue
        year = int(r["year"])
        pattern = _year_pattern(year)
        if len(pattern.findall(r["text"])) != 1:
            continue
        after = year if year >= CUTOFF_YEAR else CUTOFF_YEAR + (CUTOFF_YEAR - 1 - year) % 60
        before = year if year < CUTOFF_YEAR else CUTOFF_YEAR - 1 - (year - CUTOFF_YEAR) % 60
        rows.append(("year_flip", group, pattern.sub(str(after), r["text"]), 0))
        rows.append(("year_flip", group, pattern.sub(str(before), r["text"]), 1))
        group += 1
    # Changing the component name does not change the label.
    group = 0
    for i in order:
        r = frame.iloc[i]
        if group >= cases:
            break
        name = str(r["component"])
        hits = list(re.finditer(re.escape(name), r["text"], flags=re.IGNORECASE))
        if len(hits) != 1 or name == "component":
            continue
        rows.append(("name_invariance", group, r["text"], -1))
        for other in rng.choice([c for c in COMPONENTS if c != name and c != "component"], size=2, replace=False):
            start, end = hits[0].span()
            rows.append(("name_invariance", group, r["text"][:start] + str(other) + r["text"][end:], -1))
        group += 1
    # Changing the casing does not change the label.
    for group, i in enumerate(order[:cases]):
        text = str(frame.iloc[i]["text"])
        for variant in (text, text.upper(), text.lower(), text.title()):
            rows.append(("case_invariance", group, variant, -1))
    return pd.DataFrame(rows, columns=["check", "group", "text", "expected"])


def build_holdout(config: GateConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ml.data import generate, held_out_sets

    sets = {"in_distribution": generate(config.holdout_rows, seed=config.holdout_seed)}
    sets.update(held_out_sets(config.holdout_rows, seed=config.holdout_seed + 1))
    frame = pd.concat([df.assign(set=name) for name, df in sets.items()], ignore_index=True)
    return frame, build_behaviour(frame, cases=config.behaviour_cases, seed=config.holdout_seed)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _digest(holdout: bytes, behaviour: bytes) -> str:
    return hashlib.sha256(hashlib.sha256(holdout).digest() + hashlib.sha256(behaviour).digest()).hexdigest()


def gate_experiment_id(client, tracking_uri: str | None = None) -> str:
    from mlflow.exceptions import MlflowException

    from ml.ledger import local_artifact_location

    exp = client.get_experiment_by_name(GATE_EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    try:
        return client.create_experiment(
            GATE_EXPERIMENT,
            artifact_location=local_artifact_location(tracking_uri),
            tags={"mlflow.note.content": "Promotion gate evaluations and the frozen holdout set."},
        )
    except MlflowException:
        exp = client.get_experiment_by_name(GATE_EXPERIMENT)
        if exp is None:
            raise
        return exp.experiment_id


def _dataset_input(frame: pd.DataFrame, *, digest: str, source: str):
    import mlflow
    from mlflow.entities import DatasetInput, InputTag

    try:
        dataset = mlflow.data.from_pandas(frame, source=source, targets="label", name=f"gate-holdout-{digest[:12]}", digest=digest[:16])
    except Exception:  # an artifact URI no dataset source understands: fall back to no source
        dataset = mlflow.data.from_pandas(frame, targets="label", name=f"gate-holdout-{digest[:12]}", digest=digest[:16])
    return DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[InputTag(key="mlflow.data.context", value="gate-holdout")])


def _find_holdout_runs(client, exp_id: str, spec: str) -> list:
    return list(
        client.search_runs(
            [exp_id],
            filter_string=f"tags.`gate.kind` = 'holdout' and tags.`gate.holdout_spec` = '{spec}'",
            order_by=["attributes.start_time ASC"],
            max_results=50,
        )
    )


def ensure_holdout(client, config: GateConfig, *, tracking_uri: str | None = None) -> Holdout:
    """The frozen holdout for this config: created on first use, then always downloaded (and its digest checked)."""
    import mlflow

    exp_id = gate_experiment_id(client, tracking_uri)
    runs = _find_holdout_runs(client, exp_id, config.holdout_spec)
    if not runs:
        frame, behaviour = build_holdout(config)
        h_bytes, b_bytes = _csv_bytes(frame), _csv_bytes(behaviour)
        digest = _digest(h_bytes, b_bytes)
        run = client.create_run(
            exp_id,
            run_name=f"holdout {digest[:12]}",
            tags={"gate.kind": "holdout", "gate.holdout_spec": config.holdout_spec, "gate.holdout_digest": digest},
        )
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / HOLDOUT_FILE).write_bytes(h_bytes)
            (Path(tmp) / BEHAVIOUR_FILE).write_bytes(b_bytes)
            client.log_artifacts(run.info.run_id, tmp)
        client.log_inputs(
            run.info.run_id, datasets=[_dataset_input(frame, digest=digest, source=f"{run.info.artifact_uri}/{HOLDOUT_FILE}")]
        )
        client.set_terminated(run.info.run_id)
        runs = _find_holdout_runs(client, exp_id, config.holdout_spec)  # two gates racing: the oldest holdout wins
    run = runs[0]
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, dst_path=tmp, tracking_uri=registry.resolve_tracking_uri(tracking_uri)
            )
        )
        h_bytes, b_bytes = (local / HOLDOUT_FILE).read_bytes(), (local / BEHAVIOUR_FILE).read_bytes()
    digest = _digest(h_bytes, b_bytes)
    if digest != run.data.tags.get("gate.holdout_digest"):
        raise registry.RegistryError(f"the frozen holdout in run {run.info.run_id} does not match its recorded digest")
    frame = pd.read_csv(io.BytesIO(h_bytes), keep_default_na=False)
    behaviour = pd.read_csv(io.BytesIO(b_bytes), keep_default_na=False)
    return Holdout(frame=frame, behaviour=behaviour, digest=digest, run_id=run.info.run_id)


# ---------------------------------------------------------------- evaluating one version


@dataclass
class Evaluation:
    version: str
    run_id: str
    accuracy: dict[str, float]
    behaviour: dict[str, float]
    parity_max_abs_diff: float | None
    latency_median_ms: float
    latency_p99_ms: float
    errors: list[dict]

    def metrics(self) -> dict[str, float]:
        out = {f"accuracy.{k}": v for k, v in self.accuracy.items()}
        out.update({f"behaviour.{k}": v for k, v in self.behaviour.items()})
        if self.parity_max_abs_diff is not None:
            out["parity_max_abs_diff"] = self.parity_max_abs_diff
        out["latency_median_ms"] = self.latency_median_ms
        out["latency_p99_ms"] = self.latency_p99_ms
        return out


def _behaviour_rates(predictor, behaviour: pd.DataFrame) -> dict[str, float]:
    labels = (predictor.predict_proba(list(behaviour["text"])) >= predictor.threshold).astype(int)
    frame = behaviour.assign(pred=labels)
    rates = {}
    for check in BEHAVIOUR_CHECKS:
        part = frame[frame["check"] == check]
        if part.empty:
            continue
        ok = []
        for _, grp in part.groupby("group"):
            if (grp["expected"] >= 0).all():
                ok.append(bool((grp["pred"] == grp["expected"]).all()))
            else:
                ok.append(grp["pred"].nunique() == 1)
        rates[check] = float(np.mean(ok))
    return rates


def _latency(predictor, texts: list[str], calls: int) -> tuple[float, float]:
    for text in texts[:20]:
        predictor.predict_proba([text])
    times = []
    for i in range(calls):
        text = texts[i % len(texts)]
        start = time.perf_counter()
        predictor.predict_proba([text])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def _parity(ref: registry.ModelRef, predictor, texts: list[str]) -> float:
    import mlflow.pytorch
    import torch

    model = mlflow.pytorch.load_model(ref.pytorch_uri, map_location="cpu")
    model.eval()
    ids = predictor.encode(texts)
    with torch.no_grad():
        torch_probs = model(torch.from_numpy(ids)).float().reshape(-1).numpy()
    onnx_probs = predictor.predict_ids(ids)
    return float(np.max(np.abs(torch_probs - onnx_probs)))


def evaluate_version(
    ref: registry.ModelRef, holdout: Holdout, config: GateConfig, *, tracking_uri: str | None, workdir: Path
) -> Evaluation:
    from ml.predictor import Predictor

    bundle_dir, _ = registry.download_bundle(
        workdir / f"v{ref.version}", version=ref.version, model_name=ref.name, tracking_uri=tracking_uri
    )
    predictor = Predictor.from_bundle(bundle_dir, threads=1)
    frame = holdout.frame
    probs = predictor.predict_proba(list(frame["text"]))
    preds = (probs >= predictor.threshold).astype(int)
    correct = preds == frame["label"].to_numpy()
    accuracy = {name: float(correct[(frame["set"] == name).to_numpy()].mean()) for name in SETS if (frame["set"] == name).any()}
    wrong = frame.loc[~correct, ["set", "text", "label"]].assign(probability=probs[~correct]).head(20)
    with registry.tracking(tracking_uri):
        parity = _parity(ref, predictor, list(frame["text"].iloc[: config.parity_rows])) if ref.pytorch_uri else None
    median, p99 = _latency(predictor, list(frame["text"].iloc[:500]), config.latency_calls)
    return Evaluation(
        version=ref.version,
        run_id=ref.run_id,
        accuracy=accuracy,
        behaviour=_behaviour_rates(predictor, holdout.behaviour),
        parity_max_abs_diff=parity,
        latency_median_ms=median,
        latency_p99_ms=p99,
        errors=wrong.to_dict(orient="records"),
    )


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class Check:
    name: str
    kind: str  # threshold | vs_champion
    challenger: float | None
    champion: float | None
    limit: float
    passed: bool
    detail: str


def decide(challenger: Evaluation, champion: Evaluation | None, config: GateConfig) -> list[Check]:
    checks: list[Check] = []
    tol = config.tolerance

    def champ(metric: str) -> float | None:
        return champion.metrics().get(metric) if champion else None

    for name in SETS:
        value = challenger.accuracy.get(name)
        if value is None:
            continue
        limit = config.min_accuracy.get(name, 0.0)
        checks.append(Check(f"accuracy.{name}", "threshold", value, champ(f"accuracy.{name}"), limit, value >= limit, f">= {limit:.4f}"))
    for name in BEHAVIOUR_CHECKS:
        value = challenger.behaviour.get(name)
        if value is None:
            continue
        limit = config.min_behaviour.get(name, 0.0)
        checks.append(Check(f"behaviour.{name}", "threshold", value, champ(f"behaviour.{name}"), limit, value >= limit, f">= {limit:.4f}"))
    parity = challenger.parity_max_abs_diff
    checks.append(
        Check(
            "parity_max_abs_diff",
            "threshold",
            parity,
            champ("parity_max_abs_diff"),
            config.max_parity_diff,
            parity is not None and parity <= config.max_parity_diff,
            f"<= {config.max_parity_diff:g} (ONNX vs PyTorch flavor of the same run)"
            if parity is not None
            else "no PyTorch flavor to compare",
        )
    )
    checks.append(
        Check(
            "latency_median_ms",
            "threshold",
            challenger.latency_median_ms,
            champ("latency_median_ms"),
            config.latency_budget_ms,
            challenger.latency_median_ms <= config.latency_budget_ms,
            f"<= {config.latency_budget_ms:g} ms (ONNX, batch 1)",
        )
    )
    if champion is not None:
        # Accuracy is compared with the champion; behavioural rates are judged on thresholds only
        # (a degenerate constant model is perfectly "invariant", so beating it there means nothing).
        for metric in [f"accuracy.{n}" for n in SETS]:
            ours, theirs = challenger.metrics().get(metric), champion.metrics().get(metric)
            if ours is None or theirs is None:
                continue
            checks.append(
                Check(f"{metric} vs champion", "vs_champion", ours, theirs, theirs - tol, ours >= theirs - tol, f">= champion - {tol:g}")
            )
    return checks


# ---------------------------------------------------------------- evidence


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def evidence_json(result: dict) -> str:
    return json.dumps(result, indent=2, default=str)


def evidence_html(result: dict) -> str:
    chal, champ = result["challenger"], result.get("champion")
    title = f"Gate {result['model_name']}: v{chal['version']} vs {('v' + champ['version']) if champ else 'no champion'}"
    rows = []
    for check in result["checks"]:
        colour = "#1a7f37" if check["passed"] else "#cf222e"
        rows.append(
            "<tr>"
            f"<td>{html.escape(check['name'])}</td><td>{html.escape(check['kind'])}</td>"
            f"<td>{_fmt(check['challenger'])}</td><td>{_fmt(check['champion'])}</td>"
            f"<td>{html.escape(check['detail'])}</td>"
            f"<td style='color:{colour};font-weight:bold'>{'pass' if check['passed'] else 'FAIL'}</td>"
            "</tr>"
        )
    errors = "".join(
        f"<tr><td>{html.escape(str(e['set']))}</td><td>{html.escape(str(e['text']))}</td><td>{e['label']}</td><td>{_fmt(float(e['probability']))}</td></tr>"
        for e in chal.get("errors", [])
    )
    verdict = result["verdict"]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Verdict: <strong>{html.escape(verdict)}</strong> &mdash; {html.escape(result["summary"])}</p>
<p>Holdout {html.escape(result["holdout"]["version"])} (run {html.escape(result["holdout"]["run_id"])}),
tolerance {result["config"]["tolerance"]}.</p>
<table><tr><th>check</th><th>kind</th><th>challenger v{html.escape(chal["version"])}</th>
<th>champion {("v" + html.escape(champ["version"])) if champ else "-"}</th><th>rule</th><th>result</th></tr>
{"".join(rows)}</table>
<h2>Challenger errors on the holdout (first 20)</h2>
<table><tr><th>set</th><th>text</th><th>label</th><th>P(non-compliant)</th></tr>{errors}</table>
</body></html>
"""


# ---------------------------------------------------------------- the gate


@dataclass
class GateResult:
    model_name: str
    challenger: registry.ModelRef
    champion: registry.ModelRef | None
    checks: list[Check]
    passed: bool
    gate_run_id: str
    evidence: dict
    promotion: registry.PromotionResult | None

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
            head += "; failed: " + ", ".join(f"{c.name} ({_fmt(c.challenger)} vs {c.detail})" for c in self.failed_checks)
        if self.promotion is not None:
            head += f"; {self.promotion.message}"
        return head + f" (evidence: gate run {self.gate_run_id})"


def _summary(checks: list[Check], champion: registry.ModelRef | None) -> str:
    failed = [c.name for c in checks if not c.passed]
    basis = "thresholds and the champion" if champion else "thresholds alone (no champion yet)"
    if failed:
        return f"{len(failed)} of {len(checks)} checks failed ({', '.join(failed)}); judged on {basis}"
    return f"all {len(checks)} checks passed; judged on {basis}"


def run_gate(
    *,
    version: str | int | None = None,
    model_name: str = registry.DEFAULT_MODEL_NAME,
    tracking_uri: str | None = None,
    config: GateConfig | None = None,
    promote: bool = True,
    actor: str | None = None,
    reason: str | None = None,
) -> GateResult:
    """Evaluate `version` (default: the `challenger` alias) against the champion; log evidence; promote when it passes."""
    from mlflow.entities import Metric, Param

    config = config or GateConfig()
    client = registry.get_client(tracking_uri)
    uri = registry.resolve_tracking_uri(tracking_uri)
    with registry.server_errors(f"gating {model_name}", uri):
        if version is None:
            challenger = registry.resolve_alias(registry.CHALLENGER, model_name=model_name, client=client)
            if challenger is None:
                raise registry.RegistryError(
                    f"no version of {model_name!r} has the alias 'challenger'; register a run first or pass --version"
                )
        else:
            challenger = registry.get_version(version, model_name=model_name, client=client)
        champion = registry.resolve_alias(registry.CHAMPION, model_name=model_name, client=client)
        if champion is not None and champion.version == challenger.version:
            raise registry.RegistryError(f"v{challenger.version} is already the champion of {model_name}; nothing to gate")
        holdout = ensure_holdout(client, config, tracking_uri=uri)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            chal_eval = evaluate_version(challenger, holdout, config, tracking_uri=uri, workdir=work)
            champ_eval = evaluate_version(champion, holdout, config, tracking_uri=uri, workdir=work) if champion else None
            checks = decide(chal_eval, champ_eval, config)
            passed = all(c.passed for c in checks)
            evidence = {
                "model_name": model_name,
                "verdict": "passed" if passed else "rejected",
                "summary": _summary(checks, champion),
                "challenger": asdict(chal_eval),
                "champion": asdict(champ_eval) if champ_eval else None,
                "checks": [asdict(c) for c in checks],
                "config": config.to_dict(),
                "holdout": {"digest": holdout.digest, "version": holdout.version, "run_id": holdout.run_id, "rows": len(holdout.frame)},
                "tracking_uri": uri,
            }
            evidence_dir = work / "evidence"
            evidence_dir.mkdir()
            (evidence_dir / "gate_evidence.json").write_text(evidence_json(evidence), encoding="utf-8")
            (evidence_dir / "gate_evidence.html").write_text(evidence_html(evidence), encoding="utf-8")
            run = client.create_run(
                gate_experiment_id(client, uri),
                run_name=f"gate {model_name} v{challenger.version} vs {('v' + champion.version) if champion else 'none'}",
                tags={
                    "gate.kind": "evaluation",
                    "verdict": evidence["verdict"],
                    "model_name": model_name,
                    "mlflow.note.content": f"**{evidence['verdict']}**: {evidence['summary']}",
                },
            )
            run_id = run.info.run_id
            now = int(time.time() * 1000)
            metrics = [Metric(f"challenger.{k}", float(v), now, 0) for k, v in chal_eval.metrics().items()]
            if champ_eval:
                metrics += [Metric(f"champion.{k}", float(v), now, 0) for k, v in champ_eval.metrics().items()]
            params = {
                "model_name": model_name,
                "challenger_version": challenger.version,
                "champion_version": champion.version if champion else "none",
                "tolerance": str(config.tolerance),
                "latency_budget_ms": str(config.latency_budget_ms),
                "holdout_digest": holdout.digest[:16],
            }
            client.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
            client.log_inputs(
                run_id, datasets=[_dataset_input(holdout.frame, digest=holdout.digest, source=f"runs:/{holdout.run_id}/{HOLDOUT_FILE}")]
            )
            client.log_artifacts(run_id, str(evidence_dir))
            client.set_terminated(run_id)
            registry.set_version_tags(challenger, {registry.TAG_VERDICT: evidence["verdict"], registry.TAG_GATE_RUN: run_id}, client=client)
            promotion = None
            if passed and promote:
                promotion = registry.promote(
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
    return GateResult(model_name, challenger, champion, checks, passed, run_id, evidence, promotion)
