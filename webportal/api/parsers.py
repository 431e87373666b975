"""A JSON parser that refuses, with a 400 naming `body`, what DRF's default parser lets through or
answers vaguely: bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, non-UTF-8 bytes, NaN/Infinity, invalid JSON."""

from __future__ import annotations

import json

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class BodyError(ParseError):
    def __init__(self, message: str):
        super().__init__(detail={"body": [message]})


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise BodyError(f"request body is {int(declared)} bytes; the limit is {limit}")
        except ValueError as exc:
            raise BodyError("Content-Length is not a number") from exc
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyError(f"request body is over the limit of {limit} bytes")
        return decode_json(raw)


def decode_json(raw: bytes):
    """UTF-8 JSON bytes to Python values; BodyError naming what is wrong (also the classify hot path's parser).
    orjson parses what it can (strict JSON, valid UTF-8: a subset of what the standard library takes); anything
    it refuses goes through the standard library, which names the fault or takes what orjson cannot hold (integers
    over 64 bits, escaped lone surrogates; text_check refuses those texts)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"request body is not valid UTF-8 (invalid byte at offset {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"invalid JSON: {exc}") from exc
