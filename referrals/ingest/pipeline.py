"""The push pipeline: parse -> validate -> normalize -> upsert, one transaction per batch."""

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import msgspec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from referrals.allow_list.platforms import current_matcher
from referrals.ingest import schema as events
from referrals.ingest import upsert
from referrals.ingest.schema import Row
from referrals.models import Connection, PushLog

logger = logging.getLogger(__name__)

FORMAT_JSON = "json"
FORMAT_NDJSON = "ndjson"
MAX_LISTED = 100

EMPTY_BODY = "Empty body: send a JSON array of event objects, or NDJSON (one object per line)."
EMPTY_ARRAY = "Empty array: send at least one event."
NOT_AN_ARRAY = "The JSON body must be an array of event objects, not {kind}."
MALFORMED_JSON = "Malformed JSON: {msg} at line {line}, column {column}."
MALFORMED_LINE = "NDJSON line {line}: malformed JSON: {msg} at column {column}."
NOT_UTF8 = "Body is not valid UTF-8 (byte {position})."
TOO_DEEP = "JSON nested too deeply."
TOO_MANY_EVENTS = "Too many events: {count} (at most {limit} per push)."
BODY_TOO_LARGE = "Body too large: at most {limit} bytes per push."
INVALID_EVENTS = "{count} validation error(s); nothing was stored."
CONNECTION_DISABLED = "Connection {id} is disabled; register a new one and push to it."
NOT_AN_AI_PLATFORM = "event {index}: referrer {referrer!r} is not an AI platform"
UNKNOWN_FIELD = "unknown field {name!r} ignored (first seen in event {index})"
DUPLICATE_KEYS = (
    "{count} event(s) repeat the key (date, raw_referrer_value, raw_page_value) of an "
    "earlier event in this batch; the last occurrence was kept (first: event {index})"
)
MORE = "... and {count} more"

_UTF8_BOM = b"\xef\xbb\xbf"


class PushError(Exception):
    """A push refused as a whole (4xx); `body` is the response body."""

    def __init__(self, status: int, detail: str | list, error_count: int | None = None):
        super().__init__(detail if isinstance(detail, str) else f"{error_count} errors")
        self.status = status
        self.body = {"detail": detail}
        if error_count is not None:
            self.body["error_count"] = error_count

    @property
    def summary(self) -> str:
        detail = self.body["detail"]
        if isinstance(detail, str):
            return detail
        first = detail[0]
        where = ".".join(str(part) for part in first["loc"][1:])
        count = self.body["error_count"]
        return f"{INVALID_EVENTS.format(count=count)} First: {where}: {first['msg']}"


@dataclass
class PushOutcome:
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_body(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def capped(lines: list[str], total: int) -> list[str]:
    """At most MAX_LISTED lines, then one saying how many more there were."""
    if total <= MAX_LISTED:
        return lines
    return lines[:MAX_LISTED] + [MORE.format(count=total - MAX_LISTED)]


# --- parse and validate -------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _json_loads(text: bytes | str):
    return json.loads(text, parse_constant=_reject_constant)


def _decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushError(400, NOT_UTF8.format(position=exc.start)) from None


def _check_count(count: int) -> None:
    if count > settings.PUSH_MAX_EVENTS:
        raise PushError(413, TOO_MANY_EVENTS.format(count=count, limit=settings.PUSH_MAX_EVENTS))


def _ndjson_lines(body: bytes) -> list[tuple[int, bytes]]:
    """(1-based line number, line) for every non-blank line."""
    return [(n, line) for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]


def _parse_fast(body: bytes, fmt: str) -> list[Row] | None:
    """The whole batch through msgspec, or None when anything needs the careful path."""
    if b"\\u0000" in body:
        return None
    try:
        if fmt == FORMAT_JSON:
            decoded = events.fast_batch_decoder.decode(body)
        else:
            decode = events.fast_event_decoder.decode
            decoded = [decode(line) for _, line in _ndjson_lines(body)]
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None  # msgspec raises UnicodeDecodeError for invalid UTF-8 inside a string
    if not decoded or len(decoded) > settings.PUSH_MAX_EVENTS:
        return None
    if max(event.date for event in decoded) > events.latest_allowed_date():
        return None
    return events.rows_from_fast(decoded)


def _decode_careful(body: bytes, fmt: str) -> list:
    """Decode with the standard library, for messages that say where the problem is."""
    if fmt == FORMAT_NDJSON:
        lines = _ndjson_lines(body)
        _check_count(len(lines))
        decoded = []
        for number, line in lines:
            try:
                decoded.append(_json_loads(_decode_utf8(line)))
            except json.JSONDecodeError as exc:
                raise PushError(
                    400, MALFORMED_LINE.format(line=number, msg=exc.msg, column=exc.colno)
                ) from None
            except PushError as exc:
                raise PushError(400, f"NDJSON line {number}: {exc.body['detail']}") from None
            except RecursionError:
                raise PushError(400, f"NDJSON line {number}: {TOO_DEEP}") from None
            except ValueError as exc:
                raise PushError(400, f"NDJSON line {number}: malformed JSON: {exc}.") from None
        return decoded
    try:
        decoded = _json_loads(_decode_utf8(body))
    except json.JSONDecodeError as exc:
        raise PushError(
            400, MALFORMED_JSON.format(msg=exc.msg, line=exc.lineno, column=exc.colno)
        ) from None
    except RecursionError:
        raise PushError(400, TOO_DEEP) from None
    except ValueError as exc:
        raise PushError(400, f"Malformed JSON: {exc}.") from None
    if not isinstance(decoded, list):
        kind = {dict: "an object", str: "a string"}.get(type(decoded), "a scalar")
        raise PushError(400, NOT_AN_ARRAY.format(kind=kind))
    _check_count(len(decoded))
    return decoded


def _parse_careful(body: bytes, fmt: str) -> tuple[list[Row], list[str]]:
    """Every event through the authoritative validator; 422 with all errors when any fail."""
    decoded = _decode_careful(body, fmt)
    if not decoded:
        raise PushError(400, EMPTY_ARRAY if fmt == FORMAT_JSON else EMPTY_BODY)
    latest = events.latest_allowed_date()
    rows: list[Row] = []
    errors: list[dict] = []
    unknown: dict[str, int] = {}
    for index, event in enumerate(decoded):
        row, event_errors = events.validate_event(event, index, latest)
        if event_errors:
            errors.extend(event_errors)
        else:
            rows.append(row)
        if isinstance(event, dict):
            for name in event.keys() - events.FIELDS_SET:
                unknown.setdefault(name, index)
    if errors:
        raise PushError(422, errors[:MAX_LISTED], error_count=len(errors))
    warnings = [
        UNKNOWN_FIELD.format(name=name[:100], index=index) for name, index in unknown.items()
    ]
    return rows, capped(warnings, len(warnings))


def events_parse(body: bytes, fmt: str) -> tuple[list[Row], list[str]]:
    """Validated rows and warnings, or PushError (400/413/422)."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    if not body.strip():
        raise PushError(400, EMPTY_BODY)
    if fmt == FORMAT_NDJSON and body.count(b"\n") >= settings.PUSH_MAX_EVENTS:
        _check_count(len(_ndjson_lines(body)))  # before decoding anything
    rows = _parse_fast(body, fmt)
    if rows is not None:
        return rows, []
    return _parse_careful(body, fmt)


# --- normalize ----------------------------------------------------------------------------


@dataclass
class Normalized:
    rows: list[tuple[Row, int]]  # (row, platform id), de-duplicated, last occurrence kept
    outcome: PushOutcome
    dropped: Counter  # raw referrer -> events rejected


def events_normalize(rows: list[Row], warnings: list[str]) -> Normalized:
    matcher = current_matcher()
    match = matcher.match
    outcome = PushOutcome(warnings=list(warnings))
    dropped: Counter = Counter()
    rejected_lines: list[str] = []
    kept: dict[tuple, tuple[Row, int]] = {}
    first_duplicate = None
    duplicates = 0
    for index, row in enumerate(rows):
        platform_id = match(row.raw_referrer_value)
        if platform_id is None:
            dropped[row.raw_referrer_value] += 1
            if len(rejected_lines) < MAX_LISTED:
                rejected_lines.append(
                    NOT_AN_AI_PLATFORM.format(index=index, referrer=row.raw_referrer_value)
                )
            continue
        key = (row.date, row.raw_referrer_value, row.raw_page_value)
        if key in kept:
            duplicates += 1
            first_duplicate = index if first_duplicate is None else first_duplicate
            del kept[key]  # re-insert so the batch keeps the order of last occurrences
        kept[key] = (row, platform_id)
    outcome.rejected = sum(dropped.values())
    outcome.accepted = len(rows) - outcome.rejected
    outcome.errors = capped(rejected_lines, outcome.rejected)
    if duplicates:
        outcome.warnings.append(DUPLICATE_KEYS.format(count=duplicates, index=first_duplicate))
    return Normalized(rows=list(kept.values()), outcome=outcome, dropped=dropped)


# --- the push -----------------------------------------------------------------------------


@dataclass
class PushContext:
    connection: Connection
    api_key_id: int | None
    request_id: str
    dry_run: bool
    started: float = field(default_factory=time.monotonic)

    @property
    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def push_events(*, context: PushContext, body: bytes, fmt: str) -> PushOutcome:
    """Validate, normalize and store one batch, all or nothing; raises PushError on refusal."""
    rows, warnings = events_parse(body, fmt)
    normalized = events_normalize(rows, warnings)
    if context.dry_run:
        return normalized.outcome
    batch_id = next((row.batch_id for row in rows if row.batch_id), None)

    def write() -> None:
        now = timezone.now()
        status = (
            Connection.objects.select_for_update()
            .filter(pk=context.connection.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status != Connection.STATUS_ACTIVE:
            raise PushError(410, CONNECTION_DISABLED.format(id=context.connection.pk))
        upsert.rows_upsert(connection=context.connection, rows=normalized.rows, now=now)
        upsert.dropped_referrers_tally(
            connection=context.connection, dropped=normalized.dropped, now=now
        )
        _log_and_mark(context, 200, len(rows), normalized.outcome, batch_id, "", now)

    upsert.with_retries(write)
    return normalized.outcome


def push_record_failure(*, context: PushContext, error: PushError) -> None:
    """Log a refused push and show its error on the connection (nothing else is stored)."""
    if context.dry_run or error.status == 410:
        return
    with transaction.atomic():
        _log_and_mark(context, error.status, 0, PushOutcome(), None, error.summary, timezone.now())


def _log_and_mark(context, status, received, outcome, batch_id, error, now) -> None:
    PushLog.objects.create(
        brand_id=context.connection.brand_id,
        connection_id=context.connection.pk,
        api_key_id=context.api_key_id,
        request_id=context.request_id,
        batch_id=batch_id,
        status_code=status,
        received=received,
        accepted=outcome.accepted,
        rejected=outcome.rejected,
        duration_ms=context.duration_ms,
        error=error,
    )
    Connection.objects.filter(pk=context.connection.pk).update(
        last_pushed_at=now, last_push_error=error or None
    )
    logger.info(
        "push connection=%s status=%s received=%s accepted=%s rejected=%s ms=%s",
        context.connection.pk,
        status,
        received,
        outcome.accepted,
        outcome.rejected,
        context.duration_ms,
    )
