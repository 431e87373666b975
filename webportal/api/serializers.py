from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webportal.portal.models import Component, Feedback, Prediction
from webportal.portal.services import Classification, TextError, needs_review, text_check


class StrictTextField(serializers.CharField):
    """A description: a JSON string (no numbers coerced), not blank, at most MAX_TEXT_CHARS characters."""

    default_error_messages = {"blank": "must not be empty or whitespace only"}  # "" reads as documented, like "   "

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", settings.MAX_TEXT_CHARS)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be a string, not {type(data).__name__}")
        value = super().to_internal_value(data)
        try:
            return text_check(value)
        except TextError as exc:
            raise serializers.ValidationError(exc.message) from exc


class StrictLabelField(serializers.IntegerField):
    """0 or 1 as a JSON integer: no strings, floats or booleans coerced."""

    default_error_messages = {"invalid": "must be the integer 0 (compliant) or 1 (non-compliant)"}

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=1, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int) or data not in (0, 1):
            self.fail("invalid")
        return data


class NoExtraFields:
    def validate(self, attrs):
        extra = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if extra:
            raise serializers.ValidationError({name: ["unknown field"] for name in extra})
        return super().validate(attrs)


class ClassifyRequest(NoExtraFields, serializers.Serializer):
    text = StrictTextField(required=False, help_text=f"One description (at most {settings.MAX_TEXT_CHARS} characters).")
    texts = serializers.ListField(
        child=StrictTextField(),
        required=False,
        min_length=1,
        max_length=settings.MAX_BATCH,
        help_text=f"Up to {settings.MAX_BATCH} descriptions.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if ("text" in attrs) == ("texts" in attrs):
            raise serializers.ValidationError({"text": ["give exactly one of 'text' or 'texts'"]})
        return attrs


class PredictionOut(serializers.ModelSerializer):
    prediction_id = serializers.IntegerField(source="id")
    label_name = serializers.CharField(source="get_label_display")

    class Meta:
        model = Prediction
        fields = [
            "prediction_id",
            "text",
            "probability",
            "label",
            "label_name",
            "model_name",
            "model_version",
            "latency_ms",
            "source",
            "created_at",
        ]


class EvidenceOut(serializers.Serializer):
    """One decisive word of a classification (ml.evidence): occluding it lowers the predicted label's log-odds by weight."""

    word = serializers.CharField(help_text="The word as written in the text.")
    start = serializers.IntegerField(help_text="Its first character's offset in the text.")
    end = serializers.IntegerField(help_text="The offset just after its last character.")
    weight = serializers.FloatField(help_text="How much the predicted label's log-odds fall when the word is occluded.")


class ClassificationOut(PredictionOut):
    """What POST /api/v1/classify answers per text: the logged prediction, its evidence and whether it needs review."""

    evidence = EvidenceOut(many=True, help_text="The words that decided the label, strongest first (at most 3).")
    needs_review = serializers.BooleanField(
        help_text="The probability lies in the review band (PORTAL_REVIEW_BAND, default 0.2..0.8): queued for reviewers."
    )

    class Meta(PredictionOut.Meta):
        fields = [*PredictionOut.Meta.fields, "evidence", "needs_review"]


def iso_datetime(value) -> str:
    """serializers.DateTimeField's representation (current time zone, ISO 8601, 'Z' for UTC), without a field."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def prediction_json(p: Classification, created_at: str | None = None) -> dict:
    """ClassificationOut's representation without a serializer per request (same keys, same types). created_at:
    the ISO text of p.created_at when already made (one call classifies its texts at one instant)."""
    return {
        "prediction_id": p.id,
        "text": p.text,
        "probability": p.probability,
        "label": p.label,
        "label_name": p.label_name,
        "model_name": p.model_name,
        "model_version": p.model_version,
        "latency_ms": p.latency_ms,
        "source": p.source,
        "created_at": created_at or iso_datetime(p.created_at),
        "evidence": p.evidence,
        "needs_review": p.needs_review,
    }


class ComponentIn(NoExtraFields, serializers.Serializer):
    text = StrictTextField()


class ComponentOut(serializers.ModelSerializer):
    label_name = serializers.CharField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    evidence = serializers.SerializerMethodField(help_text="The words that decided the current label, strongest first.")
    needs_review = serializers.SerializerMethodField(help_text="The probability lies in the review band (PORTAL_REVIEW_BAND).")

    class Meta:
        model = Component
        fields = [
            "id",
            "text",
            "label",
            "label_name",
            "probability",
            "evidence",
            "needs_review",
            "model_version",
            "status",
            "created_by",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(EvidenceOut(many=True))
    def get_evidence(self, obj) -> list[dict]:
        return obj.evidence_list()

    def get_needs_review(self, obj) -> bool:
        return obj.probability is not None and needs_review(obj.probability)


class FeedbackOut(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Feedback
        fields = ["id", "component", "prediction", "correct_label", "comment", "reviewer", "created_at"]


class ComponentDetailOut(ComponentOut):
    predictions = serializers.SerializerMethodField()
    feedback = FeedbackOut(many=True, read_only=True)

    class Meta(ComponentOut.Meta):
        fields = [*ComponentOut.Meta.fields, "predictions", "feedback"]

    def get_predictions(self, obj) -> list[dict]:
        return PredictionOut(obj.predictions.order_by("-created_at", "-id")[:20], many=True).data


class FeedbackIn(NoExtraFields, serializers.Serializer):
    component = serializers.IntegerField(min_value=1)
    correct_label = StrictLabelField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=settings.MAX_TEXT_CHARS, default="")

    def validate_component(self, value):
        if isinstance(self.initial_data.get("component"), bool | str | float):
            raise serializers.ValidationError("must be an integer component id")
        if not Component.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"component {value} does not exist")
        return value
