"""The serving benchmark's printed tables: every row side by side, then the targets with their ratios."""

from __future__ import annotations

import os

LABELS = {
    "noop": "no-op Django view (no auth, no JSON)",
    "echo": "authenticated echo (token, JSON parse + validation)",
    "classify": "classify API, 1 text, log on SQLite",
    "classify_pg": "classify API, 1 text, log on PostgreSQL",
    "echo_sync": "(information) authenticated echo, gunicorn's sync worker (no keep-alive)",
    "classify_sync": "(information) classify API, SQLite, sync worker",
    "batch100": "classify API, batch of 100, SQLite",
    "mlflow": "`mlflow models serve` /invocations (same ONNX)",
    "onnx1": "ONNX Runtime alone (Predictor loop: predict + evidence, the API's model work), 1 text",
    "onnx100": "ONNX Runtime alone (Predictor loop: predict + evidence), 100 texts",
    "onnx1_plain": "(information) ONNX Runtime alone, predict only, 1 text",
    "onnx100_plain": "(information) ONNX Runtime alone, predict only, 100 texts",
}
ROWS_PER_S = ("batch100", "onnx100", "onnx100_plain")
TARGETS = {"echo_ratio": 0.75, "mlflow_ratio": 3.0, "mlflow_p99_ratio": 1 / 3, "batch_ratio": 0.5, "p99_ms": 20.0,
           "cold_start_s": 1.5, "worker_rss_mb": 150.0, "import_s": 15.0}  # fmt: skip


def summary(runs: list[dict]) -> dict:
    """Mean of the alternating runs (p99: the worse one)."""

    def mean(key: str) -> float:
        return sum(r[key] for r in runs) / len(runs)

    return {
        "rps": mean("rps"),
        "rows_per_s": mean("rows_per_s"),
        "p50_ms": mean("p50_ms"),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "cpu_us": mean("worker_cpu_us_per_request"),
        "load_cpu_us": sum(r.get("load_cpu_us_per_request", 0.0) for r in runs) / len(runs),
        "answered": sum(r["answered"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
    }


def row_table(results: dict) -> list[str]:
    rows = {key: summary(runs) for key, runs in results.get("runs", {}).items()}
    logged = results.get("logged", {})
    answered = {}
    if "classify" in rows:
        sqlite_answers = 1 + rows["classify"]["answered"] + 100 * rows.get("batch100", {"answered": 0})["answered"]
        answered["classify"] = f"{sqlite_answers:,} / {logged.get('sqlite', 0):,} rows (with the batch rows)"
    if "classify_pg" in rows:
        answered["classify_pg"] = f"{1 + rows['classify_pg']['answered']:,} / {logged.get('pg', 0):,} rows"
    if "classify_sync" in rows:
        answered["classify_sync"] = f"{1 + rows['classify_sync']['answered']:,} / {logged.get('sync', 0):,} rows"
    lines = [
        "| row | throughput | p50 ms | p99 ms | CPU per request: server / load generator | answered / logged |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label in LABELS.items():
        if key not in rows:
            why = "failed: " + results["mlflow_error"].splitlines()[0] if key == "mlflow" and results.get("mlflow_error") else "not run"
            lines.append(f"| {label} | {why} | | | | |")
            continue
        r = rows[key]
        rate = f"{r['rows_per_s']:,.0f} rows/s ({r['rps']:,.0f} req/s)" if key in ROWS_PER_S else f"{r['rps']:,.0f} req/s"
        bad = f", {r['non_2xx']} non-2xx" if r["non_2xx"] else ""
        cpu = f"{r['cpu_us']:,.0f} / {r['load_cpu_us']:,.0f} us" if r["load_cpu_us"] else f"{r['cpu_us']:,.0f} us (in-process)"
        lines.append(f"| {label} | {rate} | {r['p50_ms']:.2f} | {r['p99_ms']:.1f} | {cpu} | {answered.get(key, '')}{bad} |")
    return lines


def _ratio_line(name: str, value: float | None, target: str, met: bool | None, detail: str) -> tuple[str, bool | None]:
    shown = "n/a" if value is None else detail
    verdict = "n/a" if met is None else ("met" if met else "missed")
    return f"| {name} | {shown} | {target} | {verdict} |", met


def information(rows: dict) -> list[tuple[str, None]]:
    """Ratios printed beside the targets, decided by none: by CPU per request, the sync-worker rows, the old no-op ratio."""
    cls, echo, noop, mlf = rows.get("classify"), rows.get("echo"), rows.get("noop"), rows.get("mlflow")
    checks = []
    if cls and echo and mlf:  # on a shared machine the CPU a request costs is steadier than requests per second
        by_cpu = f"echo {echo['cpu_us'] / cls['cpu_us']:.0%}, mlflow {mlf['cpu_us'] / cls['cpu_us']:.2f}x"
        checks.append(_ratio_line("(information) the same ratios by server CPU per request", 0.0, "", None, by_cpu))
    gt_cls, gt_echo = rows.get("classify_sync"), rows.get("echo_sync")
    if gt_cls and gt_echo:
        ratio = gt_cls["rps"] / gt_echo["rps"]
        checks.append(_ratio_line("(information) sync worker: classify / echo", ratio, "", None, f"{ratio:.0%}"))
    if gt_cls and mlf:
        ratio, p99 = gt_cls["rps"] / mlf["rps"], gt_cls["p99_ms"] / mlf["p99_ms"]
        detail = f"{ratio:.2f}x, {p99:.2f}; by CPU {mlf['cpu_us'] / gt_cls['cpu_us']:.2f}x"
        checks.append(_ratio_line("(information) sync worker classify / mlflow: throughput, p99", ratio, "", None, detail))
    if "batch100" in rows and "onnx100_plain" in rows:  # what the evidence costs: the ratio before it existed
        ratio = rows["batch100"]["rows_per_s"] / rows["onnx100_plain"]["rows_per_s"]
        checks.append(_ratio_line("(information) batch 100 rows/s / ONNX Runtime predict only", ratio, "", None, f"{ratio:.0%}"))
    if cls and noop:
        ratio = cls["rps"] / noop["rps"]
        checks.append(_ratio_line("(information) classify / no-op view, the old target", ratio, "(was >= 75%)", None, f"{ratio:.0%}"))
    return checks


def target_table(results: dict) -> tuple[list[str], int, int]:
    rows = {key: summary(runs) for key, runs in results.get("runs", {}).items()}
    cls, echo, mlf = rows.get("classify"), rows.get("echo"), rows.get("mlflow")
    checks = []
    if cls and echo:
        ratio = cls["rps"] / echo["rps"]
        checks.append(
            _ratio_line("classify / authenticated echo throughput", ratio, ">= 75%", ratio >= TARGETS["echo_ratio"], f"{ratio:.0%}")
        )
    if cls and mlf:
        ratio, p99 = cls["rps"] / mlf["rps"], cls["p99_ms"] / mlf["p99_ms"]
        checks.append(
            _ratio_line("classify / mlflow models serve throughput", ratio, ">= 3x", ratio >= TARGETS["mlflow_ratio"], f"{ratio:.2f}x")
        )
        checks.append(
            _ratio_line("classify p99 / mlflow models serve p99", p99, "<= 1/3", p99 <= TARGETS["mlflow_p99_ratio"], f"{p99:.2f}")
        )
    else:
        checks.append(_ratio_line("classify vs mlflow models serve", None, ">= 3x, p99 <= 1/3", None, ""))
    if "batch100" in rows and "onnx100" in rows:
        ratio = rows["batch100"]["rows_per_s"] / rows["onnx100"]["rows_per_s"]
        checks.append(
            _ratio_line(
                "batch 100 rows/s / ONNX Runtime alone (with evidence)", ratio, ">= 50%", ratio >= TARGETS["batch_ratio"], f"{ratio:.0%}"
            )
        )
    if cls:
        p99 = cls["p99_ms"]
        checks.append(_ratio_line("classify p99 at 8 connections (SQLite)", p99, "< 20 ms", p99 < TARGETS["p99_ms"], f"{p99:.1f} ms"))
    if "classify_pg" in rows:
        p99 = rows["classify_pg"]["p99_ms"]
        checks.append(_ratio_line("classify p99 at 8 connections (PostgreSQL)", p99, "< 20 ms", p99 < TARGETS["p99_ms"], f"{p99:.1f} ms"))
    start = results.get("cold_start_s")
    if start is not None:
        checks.append(
            _ratio_line("cold start to first classification", start, "< 1.5 s", start < TARGETS["cold_start_s"], f"{start:.2f} s")
        )
    rss = results.get("worker_rss_mb") or []
    if rss:
        shown = " / ".join(f"{m:.0f}" for m in rss) + " MB"
        checks.append(_ratio_line("worker RSS", max(rss), "< 150 MB", max(rss) < TARGETS["worker_rss_mb"], shown))
    imported = results.get("import")
    if imported:
        met = imported["seconds"] < TARGETS["import_s"] and imported["imported"] == imported["rows"]
        detail = f"{imported['seconds']:.1f} s ({imported['imported']:,} of {imported['rows']:,} stored)"
        checks.append(_ratio_line("CSV import through the upload page", imported["seconds"], "< 15 s", met, detail))
    checks += information(rows)
    lines = ["| target | measured | wanted | |", "|---|---|---|---|"] + [line for line, _ in checks]
    decided = [met for _, met in checks if met is not None]
    return lines, sum(decided), len(decided)


def print_report(results: dict, args) -> None:
    before, after = results.get("load_before"), results.get("load_after")
    print(f"\nServing benchmark: load by {results['tool']}, {results['connections']} connections, {results['workers']} workers")
    print(f"(gunicorn --preload; mlflow's uvicorn), 2 x {args.duration} s per row alternating; model: {results.get('model', '')}")
    if before and after:
        print(f"Machine: {os.cpu_count()} CPUs shared by everything (load average {before[0]:.1f} before, {after[0]:.1f} after the run).")
    if results.get("mlflow_input"):
        print(f"mlflow input: {results['mlflow_input']}; its probability {results['mlflow_probability']:.6f},", end=" ")
        print(f"the Predictor's {results['onnx_probability']:.6f}")
    if results.get("mlflow_error"):
        print(f"\n`mlflow models serve` FAILED, its row is marked failed:\n{results['mlflow_error']}\n")
    print()
    print("\n".join(row_table(results)))
    lines, met, decided = target_table(results)
    print()
    print("\n".join(lines))
    print(f"\ntargets met: {met} of {decided}. answered / logged: answers counted by the load generator (+1 cold-start request)")
    print(f"against API rows in the database; wrk does not count up to {results['connections']} requests in flight when a run ends.")
