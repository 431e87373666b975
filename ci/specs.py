"""The end of `make run`: write the sample specifications into data/specs/ and scan them with the production
bundle, so a new user sees the document scan working (ml.data.sample_specs, ml.scan_cli)."""

from __future__ import annotations

import json
from pathlib import Path

from common.paths import PROJECT_ROOT

SPECS_DIR = PROJECT_ROOT / "data" / "specs"


def scan_samples(bundle: str | Path, *, folder: Path = SPECS_DIR, log=print) -> list[dict]:
    """Write the samples, scan them with `bundle`, print one verdict line each; the findings go to folder/findings.json."""
    from ml.data.sample_specs import write_samples
    from ml.scan_cli import scan_files, write_output

    paths = write_samples(folder)
    documents, errors = scan_files(paths, Path(bundle))
    write_output(folder / "findings.json", documents, errors)
    log(f"\nsample specifications in {folder} scanned with the production model:")
    for doc in documents:
        c = doc["counts"]
        log(f"  {doc['filename']:<24} {doc['verdict']:<14} {c['components']} components, {c['non_compliant']} non-compliant")
    for error in errors:
        log(f"  {Path(error['file']).name:<24} unreadable: {error['error']}")
    log(f"  findings: {folder / 'findings.json'} (python -m ml scan FILE... --bundle DIR --output OUT.json|.csv)")
    return documents


def findings(folder: Path = SPECS_DIR) -> dict:
    return json.loads((folder / "findings.json").read_text(encoding="utf-8"))
