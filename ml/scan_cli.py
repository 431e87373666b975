"""`python -m ml scan FILE... --bundle DIR --output OUT.json|OUT.csv`: scan specification documents.

Each unreadable file gets one line on stderr and a non-zero exit; the other files are still scanned.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from ml.documents import DocumentError, Limits, read_document
from ml.documents.scan import as_json, scan_with
from ml.documents.scorer import load_scorer

CSV_COLUMNS = (
    "file", "verdict", "index", "kind", "page", "paragraph", "table", "row", "start", "end", "text",
    "label", "label_name", "probability", "component_score", "reason",
)  # fmt: skip


def scan_files(paths: list[Path], bundle: Path, *, limits: Limits | None = None) -> tuple[list[dict], list[dict]]:
    """(one as_json dict per readable file, one {"file", "error"} per unreadable one)."""
    from ml.predictor import Predictor

    predictor = Predictor.from_bundle(bundle, threads=2)
    scorer = load_scorer(bundle)
    documents, errors = [], []
    for path in paths:
        try:
            data = path.read_bytes()
            read = read_document(data, path.name, limits=limits or Limits.from_env())
        except (OSError, DocumentError) as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append({"file": str(path), "error": message})
            print(f"error: {path}: {message}", file=sys.stderr)
            continue
        documents.append(as_json(scan_with(read, predictor, scorer)))
    return documents, errors


def csv_rows(documents: list[dict]) -> list[dict]:
    rows = []
    for doc in documents:
        segments = [{**c, "reason": ""} for c in doc["components"]] + [
            {**s, "label": "", "label_name": "", "probability": ""} for s in doc["skipped"]
        ]
        for segment in sorted(segments, key=lambda s: s["index"]):
            rows.append({"file": doc["filename"], "verdict": doc["verdict"], **{k: segment.get(k) for k in CSV_COLUMNS[2:]}})
    return rows


def write_output(out: Path, documents: list[dict], errors: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps({"documents": documents, "errors": errors}, indent=1, ensure_ascii=False), encoding="utf-8")
        return
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(documents))


def cmd_scan(args) -> int:
    if args.output.suffix.lower() not in (".json", ".csv"):
        print(f"error: --output must end in .json or .csv, not {args.output.name}", file=sys.stderr)
        return 2
    documents, errors = scan_files(list(args.files), args.bundle)
    write_output(args.output, documents, errors)
    for doc in documents:
        c = doc["counts"]
        counts = f"{c['components']} components, {c['non_compliant']} non-compliant, {c['skipped']} skipped"
        print(f"{doc['filename']}: {doc['verdict']} ({counts})")
    print(f"wrote {len(documents)} documents to {args.output}" + (f"; {len(errors)} unreadable" if errors else ""))
    return 1 if errors else 0


def add_scan_parser(sub) -> None:
    p = sub.add_parser("scan", help="scan specification documents (PDF, DOCX, Markdown, HTML, text) for non-compliant components")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--bundle", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True, help="OUT.json or OUT.csv")
    p.set_defaults(func=cmd_scan)


def cmd_segments(args) -> int:
    from ml.segment_training import train_default

    _, checks = train_default(args.out, rows=args.rows, seed=args.seed)
    print(f"wrote the segment score to {args.out}: held-out styles {checks}")
    return 0


def cmd_specs(args) -> int:
    from ml.data.sample_specs import expected_verdicts, write_samples

    paths = write_samples(args.out)
    for path in paths:
        print(f"wrote {path} (expected verdict: {expected_verdicts()[path.name]})")
    return 0


def add_specs_parser(sub) -> None:
    p = sub.add_parser("specs", help="write the sample specification documents (PDF, DOCX, Markdown, HTML)")
    p.add_argument("--out", type=Path, default=Path("data/specs"))
    p.set_defaults(func=cmd_specs)


def add_segments_parser(sub) -> None:
    from ml.documents.scorer import DEFAULT_SCORER

    p = sub.add_parser("segments", help="train the component-vs-boilerplate segment score (numpy weights)")
    p.add_argument("--out", type=Path, default=DEFAULT_SCORER)
    p.add_argument("--rows", type=int, default=12_000)
    p.add_argument("--seed", type=int, default=21)
    p.set_defaults(func=cmd_segments)
