"""Writes: classification, components, edits, feedback, model reload (the CSV import: csv_import.py).

Views (HTML and API) call these and nothing else writes the portal's tables.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from webportal.portal import serving
from webportal.portal.models import Component, ComponentRevision, Feedback, Label, Prediction
from webportal.portal.prediction_log import get_log

log = logging.getLogger("webportal.services")


class TextError(ValueError):
    """A description the portal refuses; `field` names the input."""

    def __init__(self, message: str, *, field: str = "text"):
        super().__init__(message)
        self.field = field
        self.message = message


def text_check(text: object, *, field: str = "text") -> str:
    """Return the text unchanged when acceptable; raise TextError naming the field otherwise."""
    if not isinstance(text, str):
        raise TextError(f"must be a string, not {type(text).__name__}", field=field)
    if not text.strip():
        raise TextError("must not be empty or whitespace only", field=field)
    if len(text) > settings.MAX_TEXT_CHARS:
        raise TextError(f"must be at most {settings.MAX_TEXT_CHARS} characters (got {len(text)})", field=field)
    if "\x00" in text:
        raise TextError("must not contain NUL characters", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TextError("is not valid Unicode (lone surrogate)", field=field) from exc
    return text


# ---------------------------------------------------------------- the model


def model_current() -> serving.ServedModel | None:
    """The served model; picks up a changed bundle (poll; a new model labels what was left pending)."""
    holder = serving.get_holder()
    holder.poll()
    return holder.current


def model_reload() -> bool:
    """Reload the configured bundle now. True when a new model is served; the old one stays on failure."""
    return serving.get_holder().load(force=True)


def portal_startup() -> None:
    """Called once per process (wsgi): load the model (which labels anything stored while none was served)."""
    holder = serving.get_holder()
    if holder.configured:
        try:
            holder.load(force=True)
        finally:
            connections.close_all()  # never hand an open connection to forked workers (gunicorn --preload)


@dataclass(frozen=True)
class Scored:
    probabilities: np.ndarray
    labels: np.ndarray
    latency_ms: float  # per text, the evidence included
    model: serving.ServedModel
    evidence: list[list[dict]]  # per text: its decisive words (ml.evidence), strongest first


def score_texts(served: serving.ServedModel, texts: Sequence[str], *, explain: bool = True) -> Scored:
    """Probabilities and labels; with explain, each text's evidence too (occlusion: several model calls per text, so a
    bulk import skips it and the component page fills it in on first view, see component_evidence_fill)."""
    started = time.perf_counter()
    if explain:
        probs, evidence = served.predict_explained(list(texts))
    else:
        probs, evidence = served.predict_proba(list(texts)), [[] for _ in texts]
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    labels = (probs >= served.predictor.threshold).astype(int)
    return Scored(probs, labels, elapsed_ms / max(1, len(texts)), served, evidence)


def _predictions(scored: Scored, texts: Sequence[str], *, user, source: str, components: Sequence[Component | None]) -> list[Prediction]:
    served = scored.model
    return [
        Prediction(
            component=component,
            text=text,
            probability=float(p),
            label=int(y),
            model_name=served.name,
            model_version=served.version,
            latency_ms=scored.latency_ms,
            user=user if user and user.is_authenticated else None,
            source=source,
        )
        for text, p, y, component in zip(texts, scored.probabilities, scored.labels, components, strict=True)
    ]


class ModelUnavailable(RuntimeError):
    """No model is loaded; callers store descriptions as pending instead."""


@dataclass(frozen=True)
class Classification:
    """A logged API classification: what the caller gets back (the row is in the prediction log)."""

    id: int
    text: str
    probability: float
    label: int
    model_name: str
    model_version: str
    latency_ms: float
    source: str
    created_at: datetime
    evidence: list[dict]  # the decisive words (ml.evidence)

    @property
    def label_name(self) -> str:
        return LABEL_NAMES[self.label]

    @property
    def needs_review(self) -> bool:
        return needs_review(self.probability)


LABEL_NAMES = dict(Label.choices)


def needs_review(probability: float) -> bool:
    """The probability lies in the uncertainty band (settings.REVIEW_BAND, PORTAL_REVIEW_BAND)."""
    low, high = settings.REVIEW_BAND
    return low <= probability <= high


def texts_classify(*, texts: Sequence[str], user=None, source: str = Prediction.Source.API, checked: bool = False) -> list[Classification]:
    """Classify texts that are not inventory components and log one prediction per text (the API's hot path:
    no model instances, the rows go to the write-behind prediction log). checked: the caller has already
    passed every text through text_check (the API's validation does)."""
    for i, text in enumerate(() if checked else texts):
        text_check(text, field="text" if len(texts) == 1 else f"texts[{i}]")
    served = model_current()
    if served is None:
        raise ModelUnavailable("no model is loaded")
    scored = score_texts(served, texts)
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    user_id = user.pk if user is not None and user.is_authenticated else None
    probabilities, labels = scored.probabilities.tolist(), scored.labels.tolist()
    rows = [
        (None, text, p, y, served.name, served.version, scored.latency_ms, user_id, source, stamp, None)
        for text, p, y in zip(texts, probabilities, labels, strict=True)
    ]
    ids = get_log().write(rows)
    return [
        Classification(pk, text, p, y, served.name, served.version, scored.latency_ms, source, now, why)
        for pk, text, p, y, why in zip(ids, texts, probabilities, labels, scored.evidence, strict=True)
    ]


def _apply(component: Component, scored: Scored, i: int) -> None:
    component.label = int(scored.labels[i])
    component.probability = float(scored.probabilities[i])
    component.model_version = scored.model.version
    component.evidence = json.dumps(scored.evidence[i])
    component.status = Component.Status.CLASSIFIED


def component_evidence_fill(component: Component) -> None:
    """Store the evidence of a classification made without it (a bulk import), when the model that labelled the
    component is still the one served: another model's words would not explain this label."""
    served = model_current()
    if component.status != Component.Status.CLASSIFIED or component.evidence_list() or served is None:
        return
    if served.version != component.model_version:
        return
    component.evidence = json.dumps(served.explain([component.text])[0])
    Component.objects.filter(pk=component.pk, model_version=served.version).update(evidence=component.evidence)


def queue_uncertain(components: Sequence[Component]) -> None:
    """Classifications in the review band (settings.REVIEW_BAND) go to the reviewers' queue (reason: uncertain)."""
    from webportal.portal.models import ReviewRequest
    from webportal.portal.reviews import request_review

    for component in components:
        if component.probability is not None and needs_review(component.probability):
            request_review(component=component, reason=ReviewRequest.Reason.UNCERTAIN)


@transaction.atomic
def component_create(*, text: str, user=None, source: str = Prediction.Source.FORM) -> Component:
    """Store a description; classify it when a model is served, else keep it pending (nothing is lost)."""
    text_check(text)
    component = Component(text=text, created_by=user if user and user.is_authenticated else None)
    served = model_current()
    scored = score_texts(served, [text]) if served else None
    if scored:
        _apply(component, scored, 0)
    component.save()
    if scored:
        Prediction.objects.bulk_create(_predictions(scored, [text], user=user, source=source, components=[component]))
        queue_uncertain([component])
    return component


@transaction.atomic
def component_update_text(*, component: Component, text: str, user=None, source: str = Prediction.Source.FORM) -> Component:
    """Edit a description: keep the old text in the history, re-classify (or mark pending)."""
    text_check(text)
    if text == component.text:
        return component
    ComponentRevision.objects.create(component=component, old_text=component.text, new_text=text, edited_by=user)
    component.text = text
    served = model_current()
    scored = score_texts(served, [text]) if served else None
    if scored:
        _apply(component, scored, 0)
    else:
        component.label = component.probability = None
        component.model_version = ""
        component.evidence = "[]"
        component.status = Component.Status.PENDING
    component.save()
    if scored:
        Prediction.objects.bulk_create(_predictions(scored, [text], user=user, source=source, components=[component]))
        queue_uncertain([component])
    return component


def _label_pending_after_load(holder: serving.ModelHolder) -> None:
    if holder is serving.get_holder():  # only the process's served holder labels (a test's spare one does not)
        component_classify_pending()


def component_classify_pending(*, batch_size: int = 1000) -> int:
    """Label components stored while no model was served. Safe to run in several workers at once."""
    served = serving.get_holder().current
    if served is None:
        return 0
    done = 0
    while True:
        batch = list(Component.objects.filter(status=Component.Status.PENDING).order_by("id")[:batch_size])
        if not batch:
            return done
        scored = score_texts(served, [c.text for c in batch])
        claimed: list[Component] = []
        with transaction.atomic():
            for i, component in enumerate(batch):
                updated = Component.objects.filter(pk=component.pk, status=Component.Status.PENDING).update(
                    label=int(scored.labels[i]),
                    probability=float(scored.probabilities[i]),
                    model_version=served.version,
                    evidence=json.dumps(scored.evidence[i]),
                    status=Component.Status.CLASSIFIED,
                    updated_at=timezone.now(),
                )
                if updated:
                    component.probability = float(scored.probabilities[i])
                    claimed.append(component)
            index = {c.pk: i for i, c in enumerate(batch)}
            rows = [
                Prediction(
                    component=c,
                    text=c.text,
                    probability=float(scored.probabilities[index[c.pk]]),
                    label=int(scored.labels[index[c.pk]]),
                    model_name=served.name,
                    model_version=served.version,
                    latency_ms=scored.latency_ms,
                    user=c.created_by,
                    source=Prediction.Source.FORM,  # deferred labelling is logged as a form classification
                )
                for c in claimed
            ]
            Prediction.objects.bulk_create(rows)
            queue_uncertain(claimed)
        done += len(claimed)


def feedback_create(*, component: Component, correct_label: int, comment: str = "", reviewer=None) -> Feedback:
    """Record a reviewer's ground truth against the component's latest prediction (if any)."""
    if correct_label not in (Label.COMPLIANT, Label.NON_COMPLIANT):
        raise TextError("must be 0 (compliant) or 1 (non-compliant)", field="correct_label")
    if not isinstance(comment, str) or len(comment) > settings.MAX_TEXT_CHARS:
        raise TextError(f"must be a string of at most {settings.MAX_TEXT_CHARS} characters", field="comment")
    if "\x00" in comment:
        raise TextError("must not contain NUL characters", field="comment")
    from webportal.portal.reviews import close_requests

    prediction = component.predictions.order_by("-created_at", "-id").first()
    with transaction.atomic():
        feedback = Feedback.objects.create(
            component=component, prediction=prediction, correct_label=int(correct_label), comment=comment, reviewer=reviewer
        )
        close_requests(component=component, feedback=feedback)
    return feedback


serving.on_model_loaded(_label_pending_after_load)
