"""Push event schemas, each declared once (EVENT_FIELDS for referral rows, AGENT_EVENT_FIELDS
for agent-traffic rows): the fast decoder, the validator, OpenAPI.

A tuple of fields says each field's name, kind, whether it is required, its bounds and its
error messages and types. Three things derive from it (an `EventSchema`):

- `FastEvent`, a msgspec struct that decodes a whole well-formed batch in C;
- `validate_event`, the authoritative validator: whenever the fast path refuses anything, the
  batch goes through it, and it lists every error in the FastAPI/pydantic shape. It accepts a
  little more than the fast path (integral floats such as `12.0` for counts, unknown fields
  with a warning). The fast path may only ever accept what `validate_event` accepts, with the
  same values; tests/ingest/test_schema.py checks that property;
- `openapi_event`, the event object of the OpenAPI schema (/v1/schema).
"""

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

import msgspec
from msgspec.structs import astuple

MAX_COUNT = 2**63 - 1
MAX_REVENUE = 10**12
MAX_REFERRER = 512
MAX_USER_AGENT = 1024
MAX_PAGE = 2048
MAX_BATCH_ID = 128
_REVENUE_QUANTUM = Decimal("0.0001")

# Messages follow pydantic v2 wording, so clients that parse FastAPI errors understand them.
MSG_MISSING = "Field required"
MSG_OBJECT = "Input should be a valid dictionary or object to extract fields from"
MSG_STRING = "Input should be a valid string"
MSG_INT = "Input should be a valid integer"
MSG_INT_FRACTION = "Input should be a valid integer, got a number with a fractional part"
MSG_NUMBER = "Input should be a valid number"
MSG_BOOL = "Input should be a valid boolean"
MSG_FINITE = "Input should be a finite number"
MSG_GE = "Input should be greater than or equal to 0"
MSG_LE = "Input should be less than or equal to {limit}"
MSG_TOO_SHORT = "String should have at least {limit} character{s}"
MSG_TOO_LONG = "String should have at most {limit} characters"
MSG_NUL = "String should not contain NUL characters"
MSG_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"
MSG_DATE = "Input should be a valid date in the format YYYY-MM-DD"
MSG_DATE_FUTURE = "Date should not be later than {limit} (today UTC + 1 day)"


class FieldError(Exception):
    def __init__(self, msg: str, type_: str):
        super().__init__(msg)
        self.msg = msg
        self.type = type_


@dataclass(frozen=True)
class Kind:
    """What a field holds, as each path sees it.

    `decoded`: the type msgspec decodes on the fast path; `value`: the type of the validated
    value (in a Row); `openapi`: its OpenAPI type; `type_error`: the (msg, type) of a value of
    another JSON type; `check(field, value, latest)`: the careful path's rule for a non-null
    value, returning the validated value or raising FieldError (`latest` is the last date
    allowed). Counts and amounts are never negative, so their lower bound 0 (MSG_GE) belongs
    to the kind; the other bounds are the field's.
    """

    decoded: type
    value: type
    openapi: dict
    type_error: tuple[str, str]
    check: Callable[["Field", Any, dt.date], Any]
    minimum: int | None = None


@dataclass(frozen=True)
class Field:
    """One event field. Required fields refuse null; optional ones take null or absence."""

    name: str
    kind: Kind
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    maximum: int | None = None
    description: str | None = None


def revenue_decimal(value: float | int) -> Decimal:
    """Four places from the shortest repr: 0.1 stays 0.1, not 0.1000000000000000055."""
    return Decimal(repr(float(value))).quantize(_REVENUE_QUANTUM)


def latest_allowed_date() -> dt.date:
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def _type_error(field: Field) -> FieldError:
    return FieldError(*field.kind.type_error)


def _check_date(field: Field, value: Any, latest: dt.date) -> dt.date:
    if not isinstance(value, str):
        raise _type_error(field)
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


def _check_text(field: Field, value: Any, latest: dt.date) -> str:
    if not isinstance(value, str):
        raise _type_error(field)
    if field.min_length and len(value) < field.min_length:
        limit = field.min_length
        raise FieldError(
            MSG_TOO_SHORT.format(limit=limit, s="" if limit == 1 else "s"), "string_too_short"
        )
    if field.max_length is not None and len(value) > field.max_length:
        raise FieldError(MSG_TOO_LONG.format(limit=field.max_length), "string_too_long")
    if "\x00" in value:
        raise FieldError(MSG_NUL, "string_nul")
    if not value.isascii():
        try:
            value.encode("utf-8")  # a lone surrogate ("\ud800") is valid JSON, not UTF-8
        except UnicodeEncodeError:
            raise FieldError(MSG_UNICODE, "string_unicode") from None
    return value


def _check_bounds(field: Field, value: int | float) -> None:
    if value < field.kind.minimum:
        raise FieldError(MSG_GE, "greater_than_equal")
    if value > field.maximum:
        raise FieldError(MSG_LE.format(limit=field.maximum), "less_than_equal")


def _check_count(field: Field, value: Any, latest: dt.date) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(MSG_FINITE, "finite_number")
        if not value.is_integer():
            raise FieldError(MSG_INT_FRACTION, "int_from_float")
        value = int(value)
    _check_bounds(field, value)
    return value


def _check_amount(field: Field, value: Any, latest: dt.date) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(field)
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(MSG_FINITE, "finite_number")
    _check_bounds(field, value)
    return revenue_decimal(value)


DATE = Kind(
    decoded=dt.date,
    value=dt.date,
    openapi={"type": "string", "format": "date"},
    type_error=(MSG_DATE, "date_type"),
    check=_check_date,
)
TEXT = Kind(
    decoded=str,
    value=str,
    openapi={"type": "string"},
    type_error=(MSG_STRING, "string_type"),
    check=_check_text,
)
COUNT = Kind(
    decoded=int,
    value=int,
    openapi={"type": "integer", "format": "int64"},
    type_error=(MSG_INT, "int_type"),
    check=_check_count,
    minimum=0,
)


def _check_boolean(field: Field, value: Any, latest: dt.date) -> bool:
    if not isinstance(value, bool):  # JSON true/false only: no 0/1, no "true"
        raise _type_error(field)
    return value


BOOLEAN = Kind(
    decoded=bool,
    value=bool,
    openapi={"type": "boolean"},
    type_error=(MSG_BOOL, "bool_type"),
    check=_check_boolean,
)
AMOUNT = Kind(  # decoded as a float, as JSON numbers are; stored with 4 decimal places
    decoded=float,
    value=Decimal,
    openapi={"type": "number", "format": "double"},
    type_error=(MSG_NUMBER, "float_type"),
    check=_check_amount,
    minimum=0,
)

EVENT_FIELDS = (
    Field(
        "date", DATE, required=True, description="YYYY-MM-DD; not later than today (UTC) + 1 day."
    ),
    Field("raw_referrer_value", TEXT, required=True, min_length=1, max_length=MAX_REFERRER),
    Field("raw_page_value", TEXT, required=True, min_length=1, max_length=MAX_PAGE),
    Field("pageviews", COUNT, maximum=MAX_COUNT),
    Field("sessions", COUNT, maximum=MAX_COUNT),
    Field("transactions", COUNT, maximum=MAX_COUNT),
    Field("purchase_revenue", AMOUNT, maximum=MAX_REVENUE),
    Field("batch_id", TEXT, max_length=MAX_BATCH_ID),
)
AGENT_EVENT_FIELDS = (
    Field(
        "date", DATE, required=True, description="YYYY-MM-DD; not later than today (UTC) + 1 day."
    ),
    Field("raw_user_agent", TEXT, required=True, min_length=1, max_length=MAX_USER_AGENT),
    Field("raw_page_value", TEXT, required=True, min_length=1, max_length=MAX_PAGE),
    Field("hits", COUNT, required=True, maximum=MAX_COUNT),
    Field(
        "verified",
        BOOLEAN,
        description="Whether the sender checked the agent's IP against its operator's ranges.",
    ),
    Field("batch_id", TEXT, max_length=MAX_BATCH_ID),
)


def _optional(type_: Any, field: Field) -> Any:
    return type_ if field.required else type_ | None


def _fast_field(field: Field) -> tuple:
    meta = msgspec.Meta(
        ge=field.kind.minimum,
        le=field.maximum,
        min_length=field.min_length,
        max_length=field.max_length,
    )
    type_ = Annotated[field.kind.decoded, meta]
    return (field.name, type_) if field.required else (field.name, type_ | None, None)


class EventSchema:
    """One kind of push event, from the one declaration of its fields: the validated row type
    (`Row`), the careful validator, the fast decoders and the OpenAPI object."""

    def __init__(self, row_name: str, fields: tuple[Field, ...]):
        self.fields = fields
        self.names = tuple(field.name for field in fields)
        self.names_set = frozenset(self.names)
        self.Row = NamedTuple(row_name, [(f.name, _optional(f.kind.value, f)) for f in fields])
        self.Row.__doc__ = "A validated event, ready for normalization and the upsert."
        self.FastEvent = msgspec.defstruct(
            f"Fast{row_name}", [_fast_field(field) for field in fields], forbid_unknown_fields=True
        )
        self.FastEvent.__doc__ = "The strict common case; anything else is validated carefully."
        self.fast_event_decoder = msgspec.json.Decoder(self.FastEvent)
        self.fast_batch_decoder = msgspec.json.Decoder(list[self.FastEvent])
        self._amounts = tuple(field.name for field in fields if field.kind is AMOUNT)

    def validate_event(self, event: Any, index: int, latest: dt.date) -> tuple[Any, list[dict]]:
        """Validate one decoded event: the row, or every error with its `loc`."""
        if not isinstance(event, dict):
            return None, [{"loc": ["body", index], "msg": MSG_OBJECT, "type": "model_type"}]
        errors = []
        values = []
        for field in self.fields:
            if field.name not in event:
                if field.required:
                    errors.append(
                        {"loc": ["body", index, field.name], "msg": MSG_MISSING, "type": "missing"}
                    )
                values.append(None)
                continue
            value = event[field.name]
            if value is None and not field.required:
                values.append(None)
                continue
            try:
                values.append(field.kind.check(field, value, latest))
            except FieldError as exc:
                errors.append(
                    {"loc": ["body", index, field.name], "msg": exc.msg, "type": exc.type}
                )
        if errors:
            return None, errors
        return self.Row._make(values), []

    def rows_from_fast(self, events: list) -> list:
        """The rows of decoded events, with the values `validate_event` gives (amounts as
        Decimal).

        Amounts are converted in place on the (throwaway) decoded structs; the rest is one
        C-level astuple per event, cheaper than building each Row field by field in Python.
        """
        for name in self._amounts:
            for event in events:
                value = getattr(event, name)
                if value is not None:
                    setattr(event, name, revenue_decimal(value))
        return list(map(self.Row._make, map(astuple, events)))

    def openapi_event(self) -> dict:
        """The event object as an OpenAPI 3.0 schema."""
        return {
            "type": "object",
            "properties": {field.name: _openapi_property(field) for field in self.fields},
            "required": sorted(field.name for field in self.fields if field.required),
        }


def _openapi_property(field: Field) -> dict:
    bounds = {
        "minLength": field.min_length,
        "maxLength": field.max_length,
        "minimum": field.kind.minimum,
        "maximum": field.maximum,
        "description": field.description,
        "nullable": None if field.required else True,
    }
    return {**field.kind.openapi, **{k: v for k, v in bounds.items() if v is not None}}


REFERRAL_EVENTS = EventSchema("Row", EVENT_FIELDS)
AGENT_EVENTS = EventSchema("AgentRow", AGENT_EVENT_FIELDS)

# The referral event's names, as the rest of the code and the tests have always said them.
FIELDS = REFERRAL_EVENTS.names
FIELDS_SET = REFERRAL_EVENTS.names_set
Row = REFERRAL_EVENTS.Row
AgentRow = AGENT_EVENTS.Row
FastEvent = REFERRAL_EVENTS.FastEvent
fast_event_decoder = REFERRAL_EVENTS.fast_event_decoder
fast_batch_decoder = REFERRAL_EVENTS.fast_batch_decoder
validate_event = REFERRAL_EVENTS.validate_event
rows_from_fast = REFERRAL_EVENTS.rows_from_fast
openapi_event = REFERRAL_EVENTS.openapi_event
