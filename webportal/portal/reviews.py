"""Reviews made visible: each component's reviewed label beside the model's, and the reviewers' queue.

A component's review state, from its latest review: `unreviewed` (none), `reviewed` (the reviewer confirmed the
model's label) or `disputed` (the reviewer chose the other label). The queue holds open review requests: a
technician asked ("ask for review"), or the model was uncertain: a classification whose probability lies in the review
band (settings.REVIEW_BAND, PORTAL_REVIEW_BAND) is queued by webportal.portal.services (`request_review(reason=UNCERTAIN)`).
The queue shows the most uncertain first (probability closest to the threshold, 0.5); the next review of the component
closes its open requests.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Abs
from django.utils import timezone

from webportal.portal.models import Component, Feedback, ReviewRequest

REVIEW_STATES = ("reviewed", "disputed", "unreviewed")


def with_review(qs: QuerySet[Component]) -> QuerySet[Component]:
    """Annotate each component with its latest review: reviewed_label, reviewed_by (username), reviewed_at, and
    review_open (an open request waits in the queue)."""
    latest = Feedback.objects.filter(component=OuterRef("pk")).order_by("-created_at", "-id")
    return qs.annotate(
        reviewed_label=Subquery(latest.values("correct_label")[:1]),
        reviewed_by=Subquery(latest.values("reviewer__username")[:1]),
        reviewed_at=Subquery(latest.values("created_at")[:1]),
        review_open=Exists(ReviewRequest.objects.filter(component=OuterRef("pk"), resolved_at__isnull=True)),
    )


def filter_review(qs: QuerySet[Component], state: str) -> QuerySet[Component]:
    """Keep one review state (REVIEW_STATES) of a `with_review` queryset."""
    if state == "unreviewed":
        return qs.filter(reviewed_label__isnull=True)
    if state == "reviewed":
        return qs.filter(reviewed_label__isnull=False, reviewed_label=F("label"))
    if state == "disputed":
        return qs.filter(reviewed_label__isnull=False).filter(~Q(reviewed_label=F("label")) | Q(label__isnull=True))
    return qs


def review_state(component: Component) -> str:
    """unreviewed / reviewed / disputed for one annotated component."""
    reviewed = getattr(component, "reviewed_label", None)
    if reviewed is None:
        return "unreviewed"
    return "reviewed" if reviewed == component.label else "disputed"


def request_review(*, component: Component, user=None, note: str = "", reason: str = ReviewRequest.Reason.ASKED) -> ReviewRequest:
    """Put the component's label in the reviewers' queue; an open request for it is returned, not duplicated."""
    existing = ReviewRequest.objects.filter(component=component, resolved_at__isnull=True).first()
    if existing is not None:
        return existing
    return ReviewRequest.objects.create(
        component=component,
        reason=reason,
        note=note[:2000],
        model_label=component.label,
        model_version=component.model_version,
        requested_by=user,
    )


def close_requests(*, component: Component, feedback: Feedback) -> int:
    """A review answers every open request of its component."""
    return ReviewRequest.objects.filter(component=component, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=feedback.reviewer, feedback=feedback
    )


def review_queue(*, limit: int = 200) -> list[ReviewRequest]:
    """Open requests, most uncertain first (|P(non-compliant) - 0.5| smallest; pending components, without a
    probability, last), then oldest first, with what a reviewer needs to decide. Each carries `uncertainty`
    (that distance, None for pending components)."""
    qs = ReviewRequest.objects.filter(resolved_at__isnull=True).select_related("component", "requested_by")
    qs = qs.annotate(uncertainty=Abs(F("component__probability") - Value(0.5)))
    return list(qs.order_by(F("uncertainty").asc(nulls_last=True), "created_at", "id")[:limit])


def recently_resolved(*, limit: int = 20) -> list[ReviewRequest]:
    qs = ReviewRequest.objects.filter(resolved_at__isnull=False).select_related("component", "resolved_by", "feedback")
    return list(qs.order_by("-resolved_at", "-id")[:limit])
