"""REST API v1: the same services as the pages, token or session authentication."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from webportal.api import serializers as s
from webportal.api.authentication import cached_token_user
from webportal.api.parsers import BodyError, decode_json
from webportal.portal import selectors, services
from webportal.portal.models import Component, Feedback, Prediction
from webportal.portal.prediction_log import LogUnavailable
from webportal.portal.services import TextError, text_check


def perms(*codenames: str) -> type[BasePermission]:
    class HasPerms(BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(codenames))

    HasPerms.__name__ = "HasPerms_" + "_".join(c.split(".")[-1] for c in codenames)
    return HasPerms


def _object_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"body": ["must be a JSON object"]})
    return request.data


NO_MODEL = {"error": "no model is loaded: classification is unavailable (operators: see /operations/)"}
NO_LOG = {"error": "the prediction log cannot be written: classification is unavailable (operators: see /healthz)"}
CLASSIFY_PERMS = frozenset({"portal.add_component"})


def plainly_valid_texts(request) -> tuple[list[str], bool] | None:
    """(texts, single) when the classify body is plainly valid, else None: ClassifyRequest then names what
    is wrong. Accepts exactly what ClassifyRequest accepts (a test holds them to that)."""
    length = request.META.get("CONTENT_LENGTH") or ""
    if request.content_type != "application/json" or not length.isdigit() or int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return None
    try:
        body = decode_json(request.body)
    except BodyError:
        return None
    if not isinstance(body, dict) or len(body) != 1:
        return None
    if "text" in body:
        texts, single = [body["text"]], True
    elif isinstance(body.get("texts"), list) and 1 <= len(body["texts"]) <= settings.MAX_BATCH:
        texts, single = body["texts"], False
    else:
        return None
    try:
        for text in texts:
            text_check(text)
    except TextError:
        return None
    return texts, single


class ClassifyView(APIView):
    permission_classes = [IsAuthenticated, perms(*CLASSIFY_PERMS)]

    def dispatch(self, request, *args, **kwargs):
        answered = self.post_fast(request) if request.method == "POST" else None
        return answered if answered is not None else super().dispatch(request, *args, **kwargs)

    def post_fast(self, request) -> HttpResponse | None:
        """The hot path: a cached token with the permission, a plainly valid body and a served model are answered
        here, without DRF's request wrapping, serializers and negotiation. Everything else, errors included,
        goes through DRF (None): the answers are the same, the fast path is only cheaper."""
        user = cached_token_user(request.META.get("HTTP_AUTHORIZATION", ""), CLASSIFY_PERMS)
        if user is None:
            return None
        parsed = plainly_valid_texts(request)
        if parsed is None:
            return None
        texts, single = parsed
        try:
            answer = self.answer(texts, single, user)
        except (services.ModelUnavailable, LogUnavailable):
            return None
        return HttpResponse(render_json(answer), content_type="application/json", headers={"Allow": ", ".join(self.allowed_methods)})

    def answer(self, texts: list[str], single: bool, user):
        """The body for valid texts, shared by the fast path and DRF's (which turns the errors into 503s)."""
        predictions = services.texts_classify(texts=texts, user=user, source=Prediction.Source.API, checked=True)
        stamp = s.iso_datetime(predictions[0].created_at) if predictions else None  # one instant for the whole call
        out = [s.prediction_json(p, stamp) for p in predictions]  # hand-built: the hot path (see s.ClassificationOut for the schema)
        return out[0] if single else {"results": out}

    @extend_schema(request=s.ClassifyRequest, responses={200: s.ClassificationOut}, summary="Classify one or many descriptions")
    def post(self, request):
        body = s.ClassifyRequest(data=_object_body(request))
        body.is_valid(raise_exception=True)
        texts = [body.validated_data["text"]] if "text" in body.validated_data else body.validated_data["texts"]
        try:
            return Response(self.answer(texts, "text" in body.validated_data, request.user))
        except services.ModelUnavailable:
            return Response(NO_MODEL, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except LogUnavailable:
            return Response(NO_LOG, status=status.HTTP_503_SERVICE_UNAVAILABLE)


@extend_schema(exclude=True)
class BenchEchoView(ClassifyView):
    """Benchmark floor of the API (bench/serving.py): classify's token auth, permission, JSON parsing and
    validation, answering the texts back without the model or the log. Only with PORTAL_BENCH_NOOP (404 otherwise)."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.BENCH_NOOP:
            raise Http404()
        return super().dispatch(request, *args, **kwargs)

    def answer(self, texts: list[str], single: bool, user):
        return {"text": texts[0]} if single else {"results": [{"text": text} for text in texts]}


_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def render_json(data) -> bytes:
    """What DRF's JSONRenderer writes for these answers (compact UTF-8, U+2028/U+2029 escaped), through orjson."""
    body = orjson.dumps(data)
    for raw, escaped in _LINE_SEPARATORS:
        if raw in body:
            body = body.replace(raw, escaped)
    return body


class ComponentListView(generics.ListAPIView):
    serializer_class = s.ComponentOut

    def get_permissions(self):
        codename = "portal.add_component" if self.request.method == "POST" else "portal.view_component"
        return [IsAuthenticated(), perms(codename)()]

    @extend_schema(
        parameters=[OpenApiParameter(n, str, required=False) for n in ("q", "label", "status", "created_by")],
        summary="List and search the inventory",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        return selectors.component_list(
            q=p.get("q", ""),
            label=p.get("label", ""),
            status=p.get("status", ""),
            created_by=p.get("created_by", ""),
            user=self.request.user,
        )

    @extend_schema(request=s.ComponentIn, responses={201: s.ComponentOut}, summary="Add a component (classified, or pending with no model)")
    def post(self, request):
        body = s.ComponentIn(data=_object_body(request))
        body.is_valid(raise_exception=True)
        component = services.component_create(text=body.validated_data["text"], user=request.user, source=Prediction.Source.API)
        return Response(s.ComponentOut(component).data, status=status.HTTP_201_CREATED)


class ComponentDetailView(APIView):
    def get_permissions(self):
        codename = "portal.change_component" if self.request.method == "PATCH" else "portal.view_component"
        return [IsAuthenticated(), perms(codename)()]

    def _get(self, pk: int) -> Component:
        try:
            return selectors.component_get(pk=pk, user=self.request.user)
        except Component.DoesNotExist as exc:
            from rest_framework.exceptions import NotFound

            raise NotFound(f"component {pk} does not exist") from exc

    @extend_schema(responses=s.ComponentDetailOut, summary="A component with its predictions and feedback")
    def get(self, request, pk: int):
        return Response(s.ComponentDetailOut(self._get(pk)).data)

    @extend_schema(request=s.ComponentIn, responses=s.ComponentOut, summary="Edit a description (re-classified, history kept)")
    def patch(self, request, pk: int):
        component = self._get(pk)
        body = s.ComponentIn(data=_object_body(request))
        body.is_valid(raise_exception=True)
        component = services.component_update_text(
            component=component, text=body.validated_data["text"], user=request.user, source=Prediction.Source.API
        )
        return Response(s.ComponentOut(component).data)


class FeedbackView(generics.ListAPIView):
    serializer_class = s.FeedbackOut

    def get_permissions(self):
        codename = "portal.add_feedback" if self.request.method == "POST" else "portal.view_feedback"
        return [IsAuthenticated(), perms(codename)()]

    def get_queryset(self):
        return Feedback.objects.select_related("reviewer").order_by("-created_at", "-id")

    @extend_schema(request=s.FeedbackIn, responses={201: s.FeedbackOut}, summary="Confirm or correct a component's label")
    def post(self, request):
        body = s.FeedbackIn(data=_object_body(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        feedback = services.feedback_create(
            component=Component.objects.get(pk=data["component"]),
            correct_label=data["correct_label"],
            comment=data["comment"],
            reviewer=request.user,
        )
        return Response(s.FeedbackOut(feedback).data, status=status.HTTP_201_CREATED)
