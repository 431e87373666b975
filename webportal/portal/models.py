"""Portal tables. Table and column names are a contract (docs/contracts.md): the monitoring job reads
portal_prediction / portal_feedback and inserts into portal_monitoring_report with SQLAlchemy."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class Label(models.IntegerChoices):
    COMPLIANT = 0, "compliant"
    NON_COMPLIANT = 1, "non-compliant"


class Component(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending classification"
        CLASSIFIED = "classified", "classified"

    text = models.TextField()
    label = models.SmallIntegerField(null=True, blank=True, choices=Label.choices)
    probability = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True, default="")
    # The decisive words of the current label (ml.evidence, JSON: [{"word", "start", "end", "weight"}]).
    evidence = models.TextField(blank=True, default="[]", db_default="[]")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portal_component"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_component", "Can export the inventory as CSV"),
            ("import_component", "Can import components from CSV"),
            ("request_review", "Can ask a reviewer to check a label"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:40]}"

    @property
    def label_name(self) -> str:
        return "" if self.label is None else Label(self.label).label

    def evidence_list(self) -> list[dict]:
        try:
            data = json.loads(self.evidence or "[]")
        except (TypeError, ValueError):
            return []
        return data if isinstance(data, list) else []


class Prediction(models.Model):
    class Source(models.TextChoices):
        FORM = "form"
        API = "api"
        IMPORT = "import"
        DOCUMENT = "document"

    component = models.ForeignKey(Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions")
    text = models.TextField()
    probability = models.FloatField()
    label = models.SmallIntegerField(choices=Label.choices)
    model_name = models.CharField(max_length=200)
    model_version = models.CharField(max_length=64)
    latency_ms = models.FloatField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    document = models.ForeignKey("portal.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions")

    class Meta:
        db_table = "portal_prediction"
        ordering = ["-created_at", "-id"]


class Feedback(models.Model):
    """A reviewer's ground truth. Never deleted: it survives model changes (PROTECT on the component)."""

    component = models.ForeignKey(Component, on_delete=models.PROTECT, related_name="feedback")
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    correct_label = models.SmallIntegerField(choices=Label.choices)
    comment = models.TextField(blank=True, default="")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "portal_feedback"
        ordering = ["-created_at", "-id"]


class ComponentRevision(models.Model):
    """Edit history: the text before and after each edit, who and when."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="revisions")
    old_text = models.TextField()
    new_text = models.TextField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "portal_component_revision"
        ordering = ["-created_at", "-id"]


class MonitoringReport(models.Model):
    """Written by the monitoring job (monitoring/), shown to operators."""

    class Kind(models.TextChoices):
        DRIFT = "drift"
        PERFORMANCE = "performance"

    class Status(models.TextChoices):
        OK = "ok"
        DRIFT = "drift"
        ERROR = "error"
        INSUFFICIENT_DATA = "insufficient_data"

    # Database defaults too: the monitoring job inserts rows with SQLAlchemy, not through Django.
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=24, choices=Status.choices)
    headline = models.TextField(blank=True, default="", db_default="")
    model_version = models.CharField(max_length=64, blank=True, default="", db_default="")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    rows = models.IntegerField(default=0, db_default=0)
    summary = models.TextField(blank=True, default="{}", db_default="{}")
    html_report = models.CharField(max_length=500, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), db_index=True)

    class Meta:
        db_table = "portal_monitoring_report"
        ordering = ["-created_at", "-id"]
        permissions = [("view_operations", "Can open the operations page"), ("reload_model", "Can reload the served model")]

    def summary_data(self) -> dict:
        try:
            data = json.loads(self.summary or "{}")
        except (TypeError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


class ImportBatch(models.Model):
    """One CSV upload: progress while it runs, and the per-row error report afterwards."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    key = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    total_rows = models.IntegerField(default=0)
    processed_rows = models.IntegerField(default=0)
    imported_rows = models.IntegerField(default=0)
    error_rows = models.IntegerField(default=0)
    errors = models.TextField(blank=True, default="[]")
    message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portal_import_batch"
        ordering = ["-created_at", "-id"]

    def error_list(self) -> list[dict]:
        try:
            return json.loads(self.errors or "[]")
        except ValueError:
            return []


class ReviewRequest(models.Model):
    """A label put in the reviewers' queue: a technician asked, or the model was uncertain. Closed by the next review."""

    class Reason(models.TextChoices):
        ASKED = "asked", "a technician asked for a review"
        UNCERTAIN = "uncertain", "the model was uncertain"

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="review_requests")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.ASKED)
    note = models.TextField(blank=True, default="")
    model_label = models.SmallIntegerField(null=True, blank=True, choices=Label.choices)  # the label questioned, as it was then
    model_version = models.CharField(max_length=64, blank=True, default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    feedback = models.ForeignKey(Feedback, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "portal_review_request"
        ordering = ["created_at", "id"]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


from webportal.portal.documents_models import Document, DocumentSegment  # noqa: E402, F401  (the app's models live here)
