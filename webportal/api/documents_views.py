"""REST API for specification documents: POST /api/v1/documents (multipart, field `file`) scans and stores one,
answering the CLI's JSON plus the stored id; GET /api/v1/documents/<id> returns it again."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.documents import DocumentError
from webportal.api.serializers import EvidenceOut
from webportal.api.views import NO_MODEL, perms
from webportal.portal import documents_selectors as sel
from webportal.portal import services
from webportal.portal.documents_services import document_upload

_UPLOAD = inline_serializer("DocumentUpload", fields={"file": serializers.FileField(help_text="PDF, DOCX, Markdown, HTML or text")})
_PLACE = {
    "page": serializers.IntegerField(allow_null=True, help_text="1-based PDF page; null for other formats"),
    "kind": serializers.ChoiceField(choices=["sentence", "list item", "table row"]),
    "paragraph": serializers.IntegerField(allow_null=True),
    "table": serializers.IntegerField(allow_null=True),
    "row": serializers.IntegerField(allow_null=True),
    "start": serializers.IntegerField(help_text="character offset in the document text"),
    "end": serializers.IntegerField(),
}
_FINDING = inline_serializer(
    "DocumentComponent",
    many=True,
    fields={
        "index": serializers.IntegerField(),
        "text": serializers.CharField(),
        "label": serializers.IntegerField(),
        "label_name": serializers.CharField(),
        "probability": serializers.FloatField(),
        "component_score": serializers.FloatField(),
        "component_id": serializers.IntegerField(),
        "reviewed_label": serializers.IntegerField(allow_null=True),
        "model_version": serializers.CharField(),
        "evidence": EvidenceOut(many=True, help_text="The words that decided the label, strongest first."),
        "needs_review": serializers.BooleanField(help_text="The probability lies in the review band (PORTAL_REVIEW_BAND)."),
        **_PLACE,
    },
)
_SKIPPED = inline_serializer(
    "DocumentSkippedSegment",
    many=True,
    fields={
        "index": serializers.IntegerField(),
        "text": serializers.CharField(),
        "reason": serializers.CharField(),
        "component_score": serializers.FloatField(),
        **_PLACE,
    },
)
_DOCUMENT = inline_serializer(
    "DocumentFindings",
    fields={
        "id": serializers.IntegerField(),
        "filename": serializers.CharField(),
        "type": serializers.CharField(),
        "pages": serializers.IntegerField(allow_null=True),
        "verdict": serializers.ChoiceField(choices=["non-compliant", "compliant", "no components"]),
        "counts": serializers.DictField(child=serializers.IntegerField()),
        "model": serializers.DictField(child=serializers.CharField()),
        "created_at": serializers.DateTimeField(),
        "created_by": serializers.CharField(allow_null=True),
        "components": _FINDING,
        "skipped": _SKIPPED,
    },
)
_ERROR = OpenApiResponse(description='{"error": "invalid input", "errors": {"file": ["<why>"]}, "code": "<code>"}')


class DocumentUploadView(APIView):
    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated, perms("portal.add_component")]

    @extend_schema(
        request={"multipart/form-data": _UPLOAD},
        responses={201: _DOCUMENT, 400: _ERROR, 503: OpenApiResponse(description="no model is served")},
        summary="Scan a specification document and store its findings",
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"error": "invalid input", "errors": {"file": ["a file is required (multipart field 'file')"]}}, status=400)
        try:
            if upload.size > settings.DOCUMENT_MAX_BYTES:
                raise DocumentError(f"the file is over the {settings.DOCUMENT_MAX_BYTES // 1_048_576} MB limit", code="too_large")
            document = document_upload(data=upload.read(), filename=upload.name, user=request.user)
        except DocumentError as exc:
            return Response({"error": "invalid input", "errors": {"file": [str(exc)]}, "code": exc.code}, status=400)
        except services.ModelUnavailable:
            return Response(NO_MODEL, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(sel.document_json(document), status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    permission_classes = [IsAuthenticated, perms("portal.view_component")]

    @extend_schema(
        responses={200: _DOCUMENT, 404: OpenApiResponse(description="no such document (or not yours)")},
        summary="A stored document's findings",
    )
    def get(self, request, pk: int):
        document = sel.document_get(user=request.user, pk=pk)
        if document is None:
            raise NotFound(f"document {pk} does not exist")
        return Response(sel.document_json(document))
