"""Writes for specification documents: read, scan with the served model, and store it all in one transaction.

A document that cannot be read, or a failure while storing, leaves no document, segment, component or
prediction-log row behind (the rows are written in one transaction, the prediction rows synchronously in it)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ml.documents import DocumentError, Limits, read_document
from ml.documents.scan import DocumentScan, scan
from ml.documents.scorer import SegmentScorer, load_scorer
from webportal.portal import services
from webportal.portal.models import Component, Document, DocumentSegment, Prediction

_scorers: dict[str, SegmentScorer] = {}
_scorers_lock = threading.Lock()


def limits() -> Limits:
    return Limits(max_bytes=settings.DOCUMENT_MAX_BYTES, max_pages=settings.DOCUMENT_MAX_PAGES)


def scorer_for(path: Path | None) -> SegmentScorer:
    """The served bundle's segment score (its segments.npz, else the default shipped with the code), cached."""
    key = str(path)
    with _scorers_lock:
        if key not in _scorers:
            _scorers[key] = load_scorer(path)
        return _scorers[key]


def document_scan(*, data: bytes, filename: str) -> tuple[DocumentScan, float]:
    """Read and scan one document with the served model: (the scan, reading time in ms).
    DocumentError when it cannot be read, ModelUnavailable when no model is served."""
    served = services.model_current()
    if served is None:
        raise services.ModelUnavailable("no model is loaded")
    started = time.perf_counter()
    read = read_document(data, filename, limits=limits())
    read_ms = (time.perf_counter() - started) * 1000.0
    result = scan(
        read,
        scorer=scorer_for(served.path),
        predict_proba=served.predict_proba,
        predict_explained=served.predict_explained,
        threshold=served.predictor.threshold,
        model_name=served.name,
        model_version=served.version,
    )
    return result, read_ms


@transaction.atomic
def document_store(*, result: DocumentScan, data: bytes, user, read_ms: float = 0.0) -> Document:
    """The document, its segments, one inventory component and one prediction-log row per component."""
    owner = user if user is not None and user.is_authenticated else None
    counts = result.counts()
    document = Document.objects.create(
        filename=result.read.filename,
        file_type=result.read.type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        pages=result.read.pages,
        text=result.read.text,
        verdict=result.verdict,
        components=counts["components"],
        non_compliant=counts["non_compliant"],
        compliant=counts["compliant"],
        skipped=counts["skipped"],
        model_name=result.model_name,
        model_version=result.model_version,
        read_ms=read_ms,
        classify_ms=result.classify_seconds * 1000.0,
        created_by=owner,
    )
    found = result.components
    components = Component.objects.bulk_create(
        [
            Component(
                text=f.segment.text,
                label=f.label,
                probability=f.probability,
                model_version=result.model_version,
                evidence=json.dumps(list(f.evidence)),
                status=Component.Status.CLASSIFIED,
                created_by=owner,
            )
            for f in found
        ]
    )
    services.queue_uncertain(components)
    by_index = {f.segment.index: c for f, c in zip(found, components, strict=True)}
    DocumentSegment.objects.bulk_create([_segment_row(document, f, by_index.get(f.segment.index)) for f in result.findings])
    latency = result.classify_seconds * 1000.0 / max(1, len(found))
    Prediction.objects.bulk_create(
        [
            Prediction(
                component=c,
                text=f.segment.text,
                probability=f.probability,
                label=f.label,
                model_name=result.model_name,
                model_version=result.model_version,
                latency_ms=latency,
                user=owner,
                source=Prediction.Source.DOCUMENT,
                document=document,
            )
            for f, c in zip(found, components, strict=True)
        ]
    )
    return document


def _segment_row(document: Document, finding, component: Component | None) -> DocumentSegment:
    s = finding.segment
    return DocumentSegment(
        document=document,
        index=s.index,
        kind=s.kind,
        text=s.text,
        start=s.start,
        end=s.end,
        page=s.page,
        paragraph=s.paragraph,
        table_no=s.table,
        row_no=s.row,
        component_score=finding.component_score,
        component=component,
        label=finding.label,
        probability=finding.probability,
        reason=finding.reason[:200],
    )


def document_upload(*, data: bytes, filename: str, user) -> Document:
    """Read, scan and store one uploaded document. DocumentError / ModelUnavailable: nothing is stored."""
    if len(data) > settings.DOCUMENT_MAX_BYTES:  # before anything is parsed
        raise DocumentError(
            f"the file is {len(data) / 1_048_576:.1f} MB, over the {settings.DOCUMENT_MAX_BYTES // 1_048_576} MB limit", code="too_large"
        )
    result, read_ms = document_scan(data=data, filename=filename)
    return document_store(result=result, data=data, user=user, read_ms=read_ms)
