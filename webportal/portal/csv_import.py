"""The CSV import (and the guard on exported cells): good rows land and are classified, bad rows are listed.

A write service like those in services.py; it writes components and their predictions in raw multi-row
INSERTs (bulk.py), one transaction per chunk, so another request can show the progress.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from webportal.portal.bulk import insert_many
from webportal.portal.log_schema import PREDICTION_COLUMNS
from webportal.portal.models import Component, ImportBatch, Prediction
from webportal.portal.services import Scored, TextError, model_current, score_texts, text_check


class ImportFileError(ValueError):
    """The whole file is unusable (no text column, too big); nothing was imported."""


class ImportKeyConflict(ValueError):
    """The idempotency key belongs to another user's import; nothing was imported."""


def _batch_for_key(key: str, user, filename: str) -> tuple[ImportBatch, bool]:
    """(batch, created): a new batch under `key`, or the one this user already started with it (a re-submit gets
    the first import's result, nothing is imported twice). Another user's key is an ImportKeyConflict."""
    owner_id = user.pk if user is not None and user.is_authenticated else None
    for _ in range(2):
        existing = ImportBatch.objects.filter(key=key).first()
        if existing is not None:
            if existing.created_by_id != owner_id:
                raise ImportKeyConflict(f"the import key {key!r} is already used by another user's import")
            return existing, False
        try:
            with transaction.atomic():
                return ImportBatch.objects.create(key=key, filename=filename[:255], created_by=user if owner_id else None), True
        except IntegrityError:  # the same key submitted twice at once: the other request created it; read it back
            continue
    raise ImportKeyConflict(f"the import key {key!r} could not be claimed")


def _decode_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str] | None, str | None]]]:
    """Parse CSV bytes into (header, [(row number, fields or None, error or None)]). Header is row 1."""
    if b"\x00" in data:
        raise ImportFileError("the file contains NUL bytes: it looks binary, not a CSV")
    text = data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ImportFileError("the file is empty") from exc
    except csv.Error as exc:
        raise ImportFileError(f"the header row is not valid CSV: {exc}") from exc
    header = [h.strip().lower() for h in header]
    rows: list[tuple[int, list[str] | None, str | None]] = []
    number = 1
    while True:
        number += 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append((number, None, f"not valid CSV: {exc}"))
            break
        rows.append((number, fields, None))
    return header, rows


def _row_problem(fields: list[str], width: int, text_col: int) -> str | None:
    if len(fields) != width:
        return f"expected {width} fields, found {len(fields)}"
    text = fields[text_col]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text is not valid UTF-8"
    try:
        text_check(text)
    except TextError as exc:
        return f"text {exc.message}"
    return None


def components_import_csv(*, data: bytes, user=None, filename: str = "", key: str = "") -> ImportBatch:
    """Import descriptions from CSV (a `text` column; others ignored). Good rows land and are classified
    (or stored pending with no model); bad rows are listed with their row numbers. Progress is committed
    per chunk so another request can show it. The same `key` again returns the first import (see _batch_for_key)."""
    batch, created = _batch_for_key(key or uuid.uuid4().hex, user, filename)
    if not created:
        return batch
    try:
        if len(data) > settings.IMPORT_MAX_BYTES:
            raise ImportFileError(f"the file is {len(data)} bytes; the limit is {settings.IMPORT_MAX_BYTES}")
        header, rows = _decode_rows(data)
        if "text" not in header:
            raise ImportFileError(f"no 'text' column in the header (found: {', '.join(header) or 'nothing'})")
        rows = [r for r in rows if not (r[1] is not None and len(r[1]) == 0)]  # blank lines are not rows
        if len(rows) > settings.IMPORT_MAX_ROWS:
            raise ImportFileError(f"the file has {len(rows)} rows; the limit is {settings.IMPORT_MAX_ROWS}")
    except ImportFileError as exc:
        batch.status = ImportBatch.Status.FAILED
        batch.message = str(exc)
        batch.finished_at = timezone.now()
        batch.save()
        return batch

    text_col, width = header.index("text"), len(header)
    batch.total_rows = len(rows)
    batch.save(update_fields=["total_rows"])
    errors: list[dict] = []
    chunk_rows = settings.IMPORT_CHUNK_ROWS
    owner = user if user and user.is_authenticated else None
    for start in range(0, len(rows), chunk_rows):
        good: list[str] = []
        for number, fields, problem in rows[start : start + chunk_rows]:
            problem = problem or _row_problem(fields, width, text_col)
            if problem:
                errors.append({"row": number, "error": problem})
            else:
                good.append(fields[text_col])
        served = model_current()
        scored = score_texts(served, good, explain=False) if served and good else None  # evidence: on first view
        with transaction.atomic():
            component_ids = _insert_components(good, scored, owner)
            if scored:
                _insert_predictions(good, scored, owner, component_ids, source=Prediction.Source.IMPORT)
            batch.processed_rows = min(len(rows), start + chunk_rows)
            batch.imported_rows += len(component_ids)
            batch.error_rows = len(errors)
            batch.save(update_fields=["processed_rows", "imported_rows", "error_rows"])
    batch.errors = json.dumps(errors)
    batch.status = ImportBatch.Status.DONE
    batch.finished_at = timezone.now()
    batch.message = f"{batch.imported_rows} imported, {batch.error_rows} rejected of {batch.total_rows} rows"
    batch.save()
    return batch


def _insert_components(texts: list[str], scored: Scored | None, owner) -> list[int]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    owner_id = owner.pk if owner else None
    if scored:
        version, status = scored.model.version, Component.Status.CLASSIFIED
        rows = [
            (t, int(y), float(p), version, status, owner_id, now, now)
            for t, y, p in zip(texts, scored.labels.tolist(), scored.probabilities.tolist(), strict=True)
        ]
    else:
        rows = [(t, None, None, "", Component.Status.PENDING, owner_id, now, now) for t in texts]
    columns = ["text", "label", "probability", "model_version", "status", "created_by_id", "created_at", "updated_at"]
    return insert_many(Component, columns, rows, returning=True)


def _insert_predictions(texts: list[str], scored: Scored, owner, component_ids: list[int], *, source: str) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    owner_id = owner.pk if owner else None
    served = scored.model
    rows = [
        (cid, t, float(p), int(y), served.name, served.version, scored.latency_ms, owner_id, source, now, None)
        for cid, t, p, y in zip(component_ids, texts, scored.probabilities.tolist(), scored.labels.tolist(), strict=True)
    ]
    columns = PREDICTION_COLUMNS
    insert_many(Prediction, columns, rows)


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formulas in exported cells (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text
