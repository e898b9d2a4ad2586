"""Parse and validate a push body: JSON or NDJSON in, validated rows and warnings out.

The fast path decodes a well-formed batch with msgspec; anything it refuses goes through the
careful path (the standard library's decoder and the authoritative per-field validator), whose
messages say where the problem is: the line, the event index, the field.
"""

import json

import msgspec
from django.conf import settings
from gunicorn.http.errors import ParseException

from referrals.ingest import schema as events
from referrals.ingest.schema import REFERRAL_EVENTS, EventSchema

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
UNKNOWN_FIELD = "unknown field {name!r} ignored (first seen in event {index})"
MORE = "... and {count} more"
UNREADABLE_BODY = (
    "The request body could not be read: it did not arrive in time, the connection closed "
    "before it ended, or its chunked encoding is malformed; nothing was stored."
)
# What a WSGI server's input stream raises on a body it cannot deliver whole: a closed or late
# connection (OSError: gunicorn's NoMoreData, the TimeoutError of project.workers' body
# deadline, Django's UnreadablePostError wrapping them) or chunk framing
# gunicorn refuses (its ParseException: InvalidChunkSize, ChunkMissingTerminator).
BODY_READ_ERRORS = (OSError, ParseException)

_UTF8_BOM = b"\xef\xbb\xbf"


class UnreadableBody(Exception):
    """The client's body could not be read to its end: the client's fault, a 400."""


def body_read(read, size: int) -> bytes:
    """`read(size)` of a request body, a body the server cannot deliver an UnreadableBody."""
    try:
        return read(size)
    except BODY_READ_ERRORS as exc:
        raise UnreadableBody(UNREADABLE_BODY) from exc


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


def capped(lines: list[str], total: int) -> list[str]:
    """At most MAX_LISTED lines, then one saying how many more there were."""
    if total <= MAX_LISTED:
        return lines
    return lines[:MAX_LISTED] + [MORE.format(count=total - MAX_LISTED)]


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


def _parse_fast(body: bytes, fmt: str, schema: EventSchema = REFERRAL_EVENTS) -> list | None:
    """The whole batch through msgspec, or None when anything needs the careful path."""
    if b"\\u0000" in body:
        return None
    try:
        if fmt == FORMAT_JSON:
            decoded = schema.fast_batch_decoder.decode(body)
        else:
            decode = schema.fast_event_decoder.decode
            decoded = [decode(line) for _, line in _ndjson_lines(body)]
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None  # msgspec raises UnicodeDecodeError for invalid UTF-8 inside a string
    if not decoded or len(decoded) > settings.PUSH_MAX_EVENTS:
        return None
    if max(event.date for event in decoded) > events.latest_allowed_date():
        return None
    return schema.rows_from_fast(decoded)


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


def _parse_careful(
    body: bytes, fmt: str, schema: EventSchema = REFERRAL_EVENTS
) -> tuple[list, list[str]]:
    """Every event through the authoritative validator; 422 with all errors when any fail."""
    decoded = _decode_careful(body, fmt)
    if not decoded:
        raise PushError(400, EMPTY_ARRAY if fmt == FORMAT_JSON else EMPTY_BODY)
    latest = events.latest_allowed_date()
    rows: list = []
    errors: list[dict] = []
    unknown: dict[str, int] = {}
    for index, event in enumerate(decoded):
        row, event_errors = schema.validate_event(event, index, latest)
        if event_errors:
            errors.extend(event_errors)
        else:
            rows.append(row)
        if isinstance(event, dict):
            for name in event.keys() - schema.names_set:
                unknown.setdefault(name, index)
    if errors:
        raise PushError(422, errors[:MAX_LISTED], error_count=len(errors))
    warnings = [
        UNKNOWN_FIELD.format(name=name[:100], index=index) for name, index in unknown.items()
    ]
    return rows, capped(warnings, len(warnings))


def events_parse(
    body: bytes, fmt: str, schema: EventSchema = REFERRAL_EVENTS
) -> tuple[list, list[str]]:
    """Validated rows (of `schema`) and warnings, or PushError (400/413/422)."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    if not body.strip():
        raise PushError(400, EMPTY_BODY)
    if fmt == FORMAT_NDJSON and body.count(b"\n") >= settings.PUSH_MAX_EVENTS:
        _check_count(len(_ndjson_lines(body)))  # before decoding anything
    rows = _parse_fast(body, fmt, schema)
    if rows is not None:
        return rows, []
    return _parse_careful(body, fmt, schema)
