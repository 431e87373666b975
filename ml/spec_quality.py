"""Document quality: held-out specifications (styles training never saw) written as real files, read back,
scanned with a bundle's model and segment score, and compared with their truth.

    component_accuracy      components whose label is right / all components (a component not found is wrong)
    components_found        components scored as components / all components
    boilerplate_classified  boilerplate segments that went to the model (the target is none)
    verdict_accuracy        documents whose verdict is right
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from pathlib import Path

from ml.data.spec_documents import SpecDocument, held_out_documents
from ml.documents import read_document
from ml.documents.scan import scan_with
from ml.documents.scorer import SegmentScorer, load_scorer

_SPACE_RE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def document_errors(document: SpecDocument, result) -> dict:
    """Counts for one scanned document against its truth, and the texts it got wrong."""
    truth = {_norm(t.text): t.label for t in document.components}
    found = {}
    boilerplate_classified = []
    for finding in result.findings:
        key = _norm(finding.segment.text)
        if key in truth:
            found[key] = finding.label
        elif finding.is_component:
            boilerplate_classified.append(finding.segment.text)
    wrong = [text for text, label in truth.items() if found.get(text) != label]
    return {
        "components": len(truth),
        "found": sum(1 for text in truth if found.get(text) is not None),
        "correct": len(truth) - len(wrong),
        "boilerplate_classified": boilerplate_classified,
        "wrong": wrong,
        "verdict_ok": result.verdict == document.verdict,
    }


@lru_cache(maxsize=4)
def held_out_files(count: int, seed: int) -> tuple[tuple[SpecDocument, str, bytes], ...]:
    """The held-out documents written as files, once per process (writing costs more than scanning)."""
    return tuple((document, fmt, document.file_bytes(fmt)) for document, fmt in held_out_documents(count, seed=seed))


def evaluate_documents(predictor, scorer: SegmentScorer | None = None, *, count: int = 200, seed: int = 4242) -> dict:
    """Scan `count` held-out documents with `predictor` (ml.predictor.Predictor) and the score; the metrics."""
    scorer = scorer or load_scorer(predictor.path)
    totals = {"components": 0, "found": 0, "correct": 0, "boilerplate": 0, "verdicts": 0}
    examples: list[str] = []
    read_s = classify_s = 0.0
    documents = held_out_files(count, seed)
    for document, fmt, data in documents:
        started = time.perf_counter()
        read = read_document(data, f"{document.name}.{fmt}")
        read_s += time.perf_counter() - started
        result = scan_with(read, predictor, scorer)
        classify_s += result.classify_seconds
        errors = document_errors(document, result)
        totals["components"] += errors["components"]
        totals["found"] += errors["found"]
        totals["correct"] += errors["correct"]
        totals["boilerplate"] += len(errors["boilerplate_classified"])
        totals["verdicts"] += errors["verdict_ok"]
        examples += [f"{document.name}.{fmt}: wrong: {t}" for t in errors["wrong"]]
        examples += [f"{document.name}.{fmt}: boilerplate classified: {t}" for t in errors["boilerplate_classified"]]
    n = max(1, totals["components"])
    return {
        "documents": len(documents),
        "components": totals["components"],
        "component_accuracy": totals["correct"] / n,
        "components_found": totals["found"] / n,
        "boilerplate_classified": totals["boilerplate"],
        "verdict_accuracy": totals["verdicts"] / max(1, len(documents)),
        "read_seconds": read_s,
        "classify_seconds": classify_s,
        "errors": examples[:50],
    }


def evaluate_bundle_documents(bundle: str | Path, *, count: int = 200, seed: int = 4242) -> dict:
    from ml.predictor import Predictor

    return evaluate_documents(Predictor.from_bundle(bundle, threads=2), count=count, seed=seed)
