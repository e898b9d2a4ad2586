"""Push event schema: a fast msgspec decoder, and the per-field validator that has the last word.

The fast path decodes a whole well-formed batch in C. Whenever it refuses anything, the batch
goes through `validate_event`, which is authoritative: it lists every error in the
FastAPI/pydantic shape and accepts a little more than the fast path (integral floats such as
`12.0` for counts, unknown fields with a warning). The fast path may only ever accept what
`validate_event` accepts, with the same values; tests/ingest/test_schema.py checks that property.
"""

import datetime as dt
import math
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

import msgspec

MAX_COUNT = 2**63 - 1
MAX_REVENUE = 10**12
MAX_REFERRER = 512
MAX_PAGE = 2048
MAX_BATCH_ID = 128
FIELDS = (
    "date",
    "raw_referrer_value",
    "raw_page_value",
    "pageviews",
    "sessions",
    "transactions",
    "purchase_revenue",
    "batch_id",
)
FIELDS_SET = frozenset(FIELDS)
_REVENUE_QUANTUM = Decimal("0.0001")

# Messages follow pydantic v2 wording, so clients that parse FastAPI errors understand them.
MSG_MISSING = "Field required"
MSG_OBJECT = "Input should be a valid dictionary or object to extract fields from"
MSG_STRING = "Input should be a valid string"
MSG_INT = "Input should be a valid integer"
MSG_INT_FRACTION = "Input should be a valid integer, got a number with a fractional part"
MSG_NUMBER = "Input should be a valid number"
MSG_FINITE = "Input should be a finite number"
MSG_GE = "Input should be greater than or equal to 0"
MSG_LE = "Input should be less than or equal to {limit}"
MSG_TOO_SHORT = "String should have at least 1 character"
MSG_TOO_LONG = "String should have at most {limit} characters"
MSG_NUL = "String should not contain NUL characters"
MSG_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
MSG_DATE = "Input should be a valid date in the format YYYY-MM-DD"
MSG_DATE_FUTURE = "Date should not be later than {limit} (today UTC + 1 day)"


class Row(NamedTuple):
    """A validated event, ready for normalization and the upsert."""

    date: dt.date
    raw_referrer_value: str
    raw_page_value: str
    pageviews: int | None
    sessions: int | None
    transactions: int | None
    purchase_revenue: Decimal | None
    batch_id: str | None


Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]


class FastEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The strict common case; anything else falls back to `validate_event`."""

    date: dt.date
    raw_referrer_value: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REFERRER)]
    raw_page_value: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PAGE)]
    pageviews: Count | None = None
    sessions: Count | None = None
    transactions: Count | None = None
    purchase_revenue: Annotated[float, msgspec.Meta(ge=0, le=MAX_REVENUE)] | None = None
    batch_id: Annotated[str, msgspec.Meta(max_length=MAX_BATCH_ID)] | None = None


fast_event_decoder = msgspec.json.Decoder(FastEvent)
fast_batch_decoder = msgspec.json.Decoder(list[FastEvent])


def revenue_decimal(value: float | int) -> Decimal:
    """Four places from the shortest repr: 0.1 stays 0.1, not 0.1000000000000000055."""
    return Decimal(repr(float(value))).quantize(_REVENUE_QUANTUM)


def row_from_fast(event: FastEvent) -> Row:
    revenue = event.purchase_revenue
    return Row(
        event.date,
        event.raw_referrer_value,
        event.raw_page_value,
        event.pageviews,
        event.sessions,
        event.transactions,
        None if revenue is None else revenue_decimal(revenue),
        event.batch_id,
    )


def latest_allowed_date() -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


class FieldError(Exception):
    def __init__(self, msg: str, type_: str):
        super().__init__(msg)
        self.msg = msg
        self.type = type_


def _string(value: Any, *, max_length: int, min_length: int) -> str:
    if not isinstance(value, str):
        raise FieldError(MSG_STRING, "string_type")
    if len(value) < min_length:
        raise FieldError(MSG_TOO_SHORT, "string_too_short")
    if len(value) > max_length:
        raise FieldError(MSG_TOO_LONG.format(limit=max_length), "string_too_long")
    if "\x00" in value:
        raise FieldError(MSG_NUL, "string_nul")
    if not value.isascii():
        try:
            value.encode("utf-8")  # a lone surrogate ("\ud800") is valid JSON, not UTF-8
        except UnicodeEncodeError:
            raise FieldError(MSG_UNICODE, "string_unicode") from None
    return value


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(MSG_INT, "int_type")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(MSG_FINITE, "finite_number")
        if not value.is_integer():
            raise FieldError(MSG_INT_FRACTION, "int_from_float")
        value = int(value)
    if value < 0:
        raise FieldError(MSG_GE, "greater_than_equal")
    if value > MAX_COUNT:
        raise FieldError(MSG_LE.format(limit=MAX_COUNT), "less_than_equal")
    return value


def _revenue(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(MSG_NUMBER, "float_type")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(MSG_FINITE, "finite_number")
    if value < 0:
        raise FieldError(MSG_GE, "greater_than_equal")
    if value > MAX_REVENUE:
        raise FieldError(MSG_LE.format(limit=MAX_REVENUE), "less_than_equal")
    return revenue_decimal(value)


def _date(value: Any, latest: dt.date) -> dt.date:
    if not isinstance(value, str):
        raise FieldError(MSG_DATE, "date_type")
    # fromisoformat also takes "20260520" and "2026-W21-3"; the contract is YYYY-MM-DD only.
    if len(value) != 10 or value[4] != "-" or value[7] != "-" or not value.isascii():
        raise FieldError(MSG_DATE, "date_parsing")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise FieldError(MSG_DATE, "date_parsing") from None
    if day > latest:
        raise FieldError(MSG_DATE_FUTURE.format(limit=latest.isoformat()), "date_too_late")
    return day


def _optional_batch_id(value: Any) -> str | None:
    if value is None:
        return None
    return _string(value, max_length=MAX_BATCH_ID, min_length=0)


_VALIDATORS = {
    "raw_referrer_value": lambda v: _string(v, max_length=MAX_REFERRER, min_length=1),
    "raw_page_value": lambda v: _string(v, max_length=MAX_PAGE, min_length=1),
    "pageviews": _count,
    "sessions": _count,
    "transactions": _count,
    "purchase_revenue": _revenue,
    "batch_id": _optional_batch_id,
}
_REQUIRED = ("date", "raw_referrer_value", "raw_page_value")


def validate_event(event: Any, index: int, latest: dt.date) -> tuple[Row | None, list[dict]]:
    """Validate one decoded event: the row, or every error with its `loc`."""
    if not isinstance(event, dict):
        return None, [{"loc": ["body", index], "msg": MSG_OBJECT, "type": "model_type"}]
    errors = []
    values = {}
    for name in FIELDS:
        if name not in event:
            if name in _REQUIRED:
                errors.append({"loc": ["body", index, name], "msg": MSG_MISSING, "type": "missing"})
            values[name] = None
            continue
        try:
            if name == "date":
                values[name] = _date(event[name], latest)
            else:
                values[name] = _VALIDATORS[name](event[name])
        except FieldError as exc:
            errors.append({"loc": ["body", index, name], "msg": exc.msg, "type": exc.type})
    if errors:
        return None, errors
    return Row(*(values[name] for name in FIELDS)), []
