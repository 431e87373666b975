"""Reads for specification documents: who sees which, the findings as JSON/CSV rows, the highlighted text.

Documents belong to their uploader; reviewers (who correct labels) and operators see every document."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from webportal.portal.models import Document, DocumentSegment, Feedback
from webportal.portal.services import needs_review

LABEL_NAMES = {0: "compliant", 1: "non-compliant"}


def sees_all(user) -> bool:
    return user.has_perm("portal.add_feedback") or user.has_perm("portal.view_operations")


def document_list(*, user) -> QuerySet[Document]:
    qs = Document.objects.select_related("created_by").defer("text")
    return qs if sees_all(user) else qs.filter(created_by=user)


def document_get(*, user, pk: int) -> Document | None:
    """The document when this user may see it, else None (the caller answers 404: no hint that it exists)."""
    qs = Document.objects.select_related("created_by")
    document = qs.filter(pk=pk).first()
    if document is None or not (sees_all(user) or document.created_by_id == user.pk):
        return None
    return document


def reviewed_labels(document: Document) -> dict[int, Feedback]:
    """component id -> the latest reviewer correction of this document's components."""
    latest: dict[int, Feedback] = {}
    rows = Feedback.objects.filter(component__document_segments__document=document).select_related("reviewer").order_by("created_at", "id")
    for feedback in rows:
        latest[feedback.component_id] = feedback
    return latest


@dataclass(frozen=True)
class Piece:
    text: str
    segment: DocumentSegment | None = None
    colour: str = ""  # red, green, grey
    reviewed: int | None = None  # the reviewer's label, when corrected


def highlighted(document: Document, segments: list[DocumentSegment], reviews: dict[int, Feedback]) -> list[Piece]:
    """The document text cut into plain pieces and segment pieces (each with its colour), in order."""
    pieces: list[Piece] = []
    at = 0
    text = document.text
    for segment in sorted(segments, key=lambda s: s.start):
        if segment.start < at:  # never overlap (segments are disjoint by construction)
            continue
        if segment.start > at:
            pieces.append(Piece(text[at : segment.start]))
        review = reviews.get(segment.component_id) if segment.component_id else None
        label = review.correct_label if review is not None else segment.label
        colour = "grey" if segment.label is None else "red" if label == 1 else "green"
        pieces.append(Piece(text[segment.start : segment.end], segment, colour, review.correct_label if review else None))
        at = segment.end
    if at < len(text):
        pieces.append(Piece(text[at:]))
    return pieces


def _place(s: DocumentSegment) -> dict:
    return {"page": s.page, "kind": s.kind, "paragraph": s.paragraph, "table": s.table_no, "row": s.row_no, "start": s.start, "end": s.end}


def document_json(document: Document, segments: list[DocumentSegment] | None = None) -> dict:
    """What the CLI writes for one document (ml.documents.scan.as_json), plus the stored id and any corrections."""
    segments = segments if segments is not None else list(document.segments.select_related("component"))
    reviews = reviewed_labels(document)
    components, skipped = [], []
    for s in segments:
        if s.is_component:
            review = reviews.get(s.component_id)
            components.append(
                {
                    "index": s.index,
                    "text": s.text,
                    "label": s.label,
                    "label_name": LABEL_NAMES[s.label],
                    "probability": round(s.probability, 6),
                    "component_score": round(s.component_score, 4),
                    "component_id": s.component_id,
                    "reviewed_label": review.correct_label if review else None,
                    "model_version": s.component.model_version if s.component else document.model_version,
                    "evidence": s.component.evidence_list() if s.component else [],
                    "needs_review": needs_review(s.probability),
                    **_place(s),
                }
            )
        else:
            skipped.append(
                {"index": s.index, "text": s.text, "reason": s.reason, "component_score": round(s.component_score, 4), **_place(s)}
            )
    return {
        "id": document.pk,
        "filename": document.filename,
        "type": document.file_type,
        "pages": document.pages,
        "verdict": document.verdict,
        "counts": {
            "segments": len(segments),
            "components": document.components,
            "non_compliant": document.non_compliant,
            "compliant": document.compliant,
            "skipped": document.skipped,
        },
        "model": {"name": document.model_name, "version": document.model_version},
        "created_at": document.created_at.isoformat(),
        "created_by": document.created_by.username if document.created_by else None,
        "components": components,
        "skipped": skipped,
    }
