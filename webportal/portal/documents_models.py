"""Specification documents and their segments (imported into webportal.portal.models).

A document's components are inventory components (portal_component) and their classifications prediction-log
rows with source "document" and the document's id, so corrections, live accuracy and monitoring treat them as
any other component."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Document(models.Model):
    class Verdict(models.TextChoices):
        NON_COMPLIANT = "non-compliant"
        COMPLIANT = "compliant"
        NO_COMPONENTS = "no components"

    filename = models.CharField(max_length=255)
    file_type = models.CharField(max_length=16)
    size = models.IntegerField()
    sha256 = models.CharField(max_length=64)
    pages = models.IntegerField(null=True, blank=True)
    text = models.TextField()
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    components = models.IntegerField(default=0)
    non_compliant = models.IntegerField(default=0)
    compliant = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    model_name = models.CharField(max_length=200)
    model_version = models.CharField(max_length=64)
    read_ms = models.FloatField(default=0.0)
    classify_ms = models.FloatField(default=0.0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "portal_document"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.filename}"


class DocumentSegment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="segments")
    index = models.IntegerField()
    kind = models.CharField(max_length=16)
    text = models.TextField()
    start = models.IntegerField()
    end = models.IntegerField()
    page = models.IntegerField(null=True, blank=True)
    paragraph = models.IntegerField(null=True, blank=True)
    table_no = models.IntegerField(null=True, blank=True)
    row_no = models.IntegerField(null=True, blank=True)
    component_score = models.FloatField()
    component = models.ForeignKey("portal.Component", null=True, blank=True, on_delete=models.SET_NULL, related_name="document_segments")
    label = models.SmallIntegerField(null=True, blank=True)  # the model's label; None: skipped
    probability = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        db_table = "portal_document_segment"
        ordering = ["document_id", "index"]
        constraints = [models.UniqueConstraint(fields=["document", "index"], name="portal_document_segment_unique_index")]

    @property
    def is_component(self) -> bool:
        return self.label is not None
