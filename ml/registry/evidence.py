"""A gate's evidence: the side-by-side result as JSON and HTML, logged as one run in the `model-gate` experiment."""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict
from pathlib import Path

from ml.registry.decision import Check, summary
from ml.registry.evaluation import Evaluation
from ml.registry.gate_config import GateConfig
from ml.registry.holdout import HOLDOUT_FILE, Holdout, gate_experiment_id, holdout_dataset_input

JSON_FILE, HTML_FILE = "gate_evidence.json", "gate_evidence.html"


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def gate_evidence(
    *,
    model_name: str,
    challenger: Evaluation,
    champion: Evaluation | None,
    checks: list[Check],
    config: GateConfig,
    holdout: Holdout,
    tracking_uri: str,
    corrections: dict | None = None,
) -> dict:
    passed = all(c.passed for c in checks)
    return {
        "model_name": model_name,
        "verdict": "passed" if passed else "rejected",
        "summary": summary(checks, champion),
        "challenger": asdict(challenger),
        "champion": asdict(champion) if champion else None,
        "checks": [asdict(c) for c in checks],
        "config": config.to_dict(),
        "holdout": {"digest": holdout.digest, "version": holdout.version, "run_id": holdout.run_id, "rows": len(holdout.frame)},
        "tracking_uri": tracking_uri,
        "corrections": corrections or {"reviewed_rows": 0, "rows": 0, "rows_shown": []},
    }


def evidence_json(result: dict) -> str:
    return json.dumps(result, indent=2, default=str)


def _check_row(check: dict) -> str:
    colour = "#1a7f37" if check["passed"] else "#cf222e"
    return (
        "<tr>"
        f"<td>{html.escape(check['name'])}</td><td>{html.escape(check['kind'])}</td>"
        f"<td>{fmt(check['challenger'])}</td><td>{fmt(check['champion'])}</td>"
        f"<td>{html.escape(check['detail'])}</td>"
        f"<td style='color:{colour};font-weight:bold'>{'pass' if check['passed'] else 'FAIL'}</td>"
        "</tr>"
    )


def evidence_html(result: dict) -> str:
    chal, champ = result["challenger"], result.get("champion")
    title = f"Gate {result['model_name']}: v{chal['version']} vs {('v' + champ['version']) if champ else 'no champion'}"
    rows = [_check_row(check) for check in result["checks"]]
    errors = "".join(
        f"<tr><td>{html.escape(str(e['set']))}</td><td>{html.escape(str(e['text']))}</td><td>{e['label']}</td><td>{fmt(float(e['probability']))}</td></tr>"
        for e in chal.get("errors", [])
    )
    verdict = result["verdict"]
    slice_ = result.get("corrections") or {}
    reviewed = "".join(
        f"<tr><td>{html.escape(str(r['text']))}</td><td>{r['label']}</td><td>{fmt(r['challenger_probability'])}</td>"
        f"<td>{fmt(r['champion_probability'])}</td></tr>"
        for r in slice_.get("rows_shown", [])
    )
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
<h2>Corrections slice: {slice_.get("rows", 0)} of {slice_.get("reviewed_rows", 0)} reviewed rows the champion got wrong</h2>
<table><tr><th>text</th><th>reviewed label</th><th>challenger P</th><th>champion P</th></tr>{reviewed}</table>
</body></html>
"""


def write_evidence(evidence: dict, folder: Path) -> Path:
    folder.mkdir()
    (folder / JSON_FILE).write_text(evidence_json(evidence), encoding="utf-8")
    (folder / HTML_FILE).write_text(evidence_html(evidence), encoding="utf-8")
    return folder


def log_gate_run(
    client,
    evidence: dict,
    evidence_dir: Path,
    *,
    challenger: Evaluation,
    champion: Evaluation | None,
    config: GateConfig,
    holdout: Holdout,
) -> str:
    """One finished run in `model-gate`: verdict tag, challenger.* / champion.* metrics, the holdout input, the evidence files."""
    from mlflow.entities import Metric, Param

    model_name, uri = evidence["model_name"], evidence["tracking_uri"]
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
    metrics = [Metric(f"challenger.{k}", float(v), now, 0) for k, v in challenger.metrics().items()]
    if champion:
        metrics += [Metric(f"champion.{k}", float(v), now, 0) for k, v in champion.metrics().items()]
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
        run_id, datasets=[holdout_dataset_input(holdout.frame, digest=holdout.digest, source=f"runs:/{holdout.run_id}/{HOLDOUT_FILE}")]
    )
    client.log_artifacts(run_id, str(evidence_dir))
    client.set_terminated(run_id)
    return run_id
