"""A read document -> its findings: which segments are components (the learned score), their labels (one
batched call of the served model), the verdict. The CLI, the portal and the API share `scan` and `as_json`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ml.documents.readers import ReadResult
from ml.documents.scorer import SegmentScorer
from ml.documents.segment import HEADING_KIND, Segment

NON_COMPLIANT, COMPLIANT, NO_COMPONENTS = "non-compliant", "compliant", "no components"
LABEL_NAMES = {0: COMPLIANT, 1: NON_COMPLIANT}


@dataclass(frozen=True)
class Finding:
    segment: Segment
    component_score: float
    label: int | None = None  # None: skipped
    probability: float | None = None
    reason: str = ""  # why it was skipped
    evidence: tuple = ()  # the decisive words, when the scan was asked for them

    @property
    def is_component(self) -> bool:
        return self.label is not None


@dataclass(frozen=True)
class DocumentScan:
    read: ReadResult
    findings: list[Finding]
    model_name: str
    model_version: str
    classify_seconds: float = 0.0

    @property
    def components(self) -> list[Finding]:
        return [f for f in self.findings if f.is_component]

    @property
    def skipped(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_component]

    @property
    def verdict(self) -> str:
        labels = [f.label for f in self.components]
        return NO_COMPONENTS if not labels else NON_COMPLIANT if any(labels) else COMPLIANT

    def counts(self) -> dict[str, int]:
        labels = [f.label for f in self.components]
        return {
            "segments": len(self.findings),
            "components": len(labels),
            "non_compliant": sum(1 for y in labels if y == 1),
            "compliant": sum(1 for y in labels if y == 0),
            "skipped": len(self.findings) - len(labels),
        }


def component_scores(scorer: SegmentScorer, segments: Sequence[Segment]) -> np.ndarray:
    """The component score of every segment (0 for headings, which are never components)."""
    scores = np.zeros(len(segments), dtype=np.float32)
    rows = [i for i, s in enumerate(segments) if s.kind != HEADING_KIND]
    if rows:
        scores[rows] = scorer.score([segments[i].text for i in rows], [segments[i].kind for i in rows])
    return scores


def scan(
    read: ReadResult,
    *,
    scorer: SegmentScorer,
    predict_proba: Callable[[list[str]], np.ndarray],
    threshold: float,
    model_name: str,
    model_version: str,
    predict_explained: Callable[[list[str]], tuple[np.ndarray, list]] | None = None,
) -> DocumentScan:
    """Score every segment, classify the components in one batched call, and keep the rest with a reason.
    With `predict_explained` (probabilities and evidence from the same model calls) it is called instead of
    `predict_proba`, and each component keeps its evidence."""
    import time

    segments = read.segments
    scores = component_scores(scorer, segments)
    chosen = [i for i, s in enumerate(segments) if s.kind != HEADING_KIND and scores[i] >= scorer.threshold]
    texts = [segments[i].text for i in chosen]
    started = time.perf_counter()
    if not chosen:
        probs, why = np.zeros(0, dtype=np.float32), []
    elif predict_explained is not None:
        probs, why = predict_explained(texts)
    else:
        probs, why = predict_proba(texts), [()] * len(texts)
    seconds = time.perf_counter() - started
    by_index = {i: (float(p), tuple(e)) for i, p, e in zip(chosen, probs, why, strict=True)}
    findings = []
    for i, segment in enumerate(segments):
        score = float(scores[i])
        if i in by_index:
            p, evidence = by_index[i]
            findings.append(Finding(segment, score, label=int(p >= threshold), probability=p, evidence=evidence))
        elif segment.kind == HEADING_KIND:
            findings.append(Finding(segment, score, reason="heading"))
        else:
            findings.append(Finding(segment, score, reason=f"not a component (component score {score:.2f})"))
    return DocumentScan(read, findings, model_name, model_version, seconds)


def scan_with(read: ReadResult, predictor, scorer: SegmentScorer | None = None) -> DocumentScan:
    """`scan` with a Predictor (ml.predictor) and its bundle's segment score unless `scorer` is given."""
    from ml.documents.scorer import load_scorer

    return scan(
        read,
        scorer=scorer or load_scorer(predictor.path),
        predict_proba=predictor.predict_proba,
        threshold=predictor.threshold,
        model_name=predictor.model_name,
        model_version=predictor.version,
    )


def _place(segment: Segment) -> dict:
    return {
        "page": segment.page,
        "kind": segment.kind,
        "paragraph": segment.paragraph,
        "table": segment.table,
        "row": segment.row,
        "start": segment.start,
        "end": segment.end,
    }


def as_json(result: DocumentScan) -> dict:
    """The findings as the CLI writes them and the API answers (docs/documents.md)."""
    return {
        "filename": result.read.filename,
        "type": result.read.type,
        "pages": result.read.pages,
        "verdict": result.verdict,
        "counts": result.counts(),
        "model": {"name": result.model_name, "version": result.model_version},
        "components": [
            {
                "index": f.segment.index,
                "text": f.segment.text,
                "label": f.label,
                "label_name": LABEL_NAMES[f.label],
                "probability": round(f.probability, 6),
                "component_score": round(f.component_score, 4),
                "model_version": result.model_version,
                **_place(f.segment),
            }
            for f in result.components
        ],
        "skipped": [
            {
                "index": f.segment.index,
                "text": f.segment.text,
                "reason": f.reason,
                "component_score": round(f.component_score, 4),
                **_place(f.segment),
            }
            for f in result.skipped
        ],
    }
