"""The reviewers' queue and the technicians' "ask for review" (webportal.portal.reviews holds the rules)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from webportal.portal import reviews
from webportal.portal.forms import ReviewRequestForm
from webportal.portal.models import Component
from webportal.portal.selectors import visible_to


@permission_required("portal.request_review", raise_exception=True)
@require_POST
def ask_review(request, pk: int):
    component = get_object_or_404(visible_to(Component.objects.all(), request.user), pk=pk)
    form = ReviewRequestForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    reviews.request_review(component=component, user=request.user, note=note)
    messages.success(request, "Sent to the reviewers' queue: a reviewer will check this label.")
    return redirect("portal:component", pk=pk)


@permission_required("portal.add_feedback", raise_exception=True)
@require_GET
def queue(request):
    return render(request, "portal/reviews.html", {"queue": reviews.review_queue(), "resolved": reviews.recently_resolved()})
