"""The API's error shapes: `{"detail": "..."}` for a request the service cannot serve, the
FastAPI/pydantic list `{"detail": [{"loc", "msg", "type"}]}` (422) for a parameter or body field
of the wrong type or out of its bounds, and 503 + Retry-After for database trouble."""

import logging
from collections.abc import Iterable

from django.db import DatabaseError, IntegrityError, InterfaceError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from referrals.ops import metrics

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable; retry later."
RETRY_AFTER_SECONDS = "5"

QUERY = "query"
PATH = "path"
BODY = "body"

# DRF's error codes as the pydantic error types a FastAPI client knows.
_TYPES = {
    "required": "missing",
    "null": "missing",
    "invalid_choice": "enum",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "max_string_length": "int_parsing",
    "blank": "string_too_short",
    "null_characters_not_allowed": "string_pattern_mismatch",
}
_INVALID_TYPES = {
    "IntegerField": "int_parsing",
    "QueryBooleanField": "bool_parsing",
    "BooleanField": "bool_parsing",
    "DayField": "date_from_datetime_parsing",
    "StrictCharField": "string_type",
}


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE


class RequestValidationError(exceptions.APIException):
    """422 with the pydantic list: each item names its parameter's place (`loc`)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Validation error"

    def __init__(self, items: list[dict]):
        super().__init__()
        self.items = items


def error_item(where: str, name: str, msg: str, type_: str) -> dict:
    return {"loc": [where, name], "msg": msg, "type": type_}


def _error_type(code: str, field) -> str:
    if code == "invalid":
        return _INVALID_TYPES.get(type(field).__name__, "value_error") if field else "value_error"
    return _TYPES.get(code, "value_error")


def serializer_error_items(serializer, where: str) -> list[dict]:
    """The errors of a validated DRF serializer as pydantic items located `where` (query/body)."""
    return field_error_items(serializer.errors, where, fields=serializer.fields)


def field_error_items(errors: dict, where: str, fields: dict | None = None) -> list[dict]:
    items = []
    for name, messages in errors.items():
        field = (fields or {}).get(name)
        for message in messages if isinstance(messages, list) else [messages]:
            code = getattr(message, "code", "invalid")
            items.append(error_item(where, name, str(message), _error_type(code, field)))
    return items


def raise_field_errors(items: Iterable[dict]) -> None:
    items = list(items)
    if items:
        raise RequestValidationError(items)


def flatten_errors(detail, prefix: str = "") -> list[str]:
    """DRF's nested error dict as lines a human can read; a field's name prefixes its lines,
    but not the non-field keys (`non_field_errors`, `detail`)."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else f"{prefix}{key}"
            lines.extend(flatten_errors(value, f"{name}." if name else ""))
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in flatten_errors(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


def exception_handler(exc, context):
    # InterfaceError (a connection already closed) is not a DatabaseError in Django.
    if isinstance(exc, DatabaseError | InterfaceError) and not isinstance(exc, IntegrityError):
        logger.warning("database error answered as 503: %s", exc.__class__.__name__)
        metrics.database_error(error=exc)
        exc = ServiceUnavailable()
    if isinstance(exc, RequestValidationError):
        return Response({"detail": exc.items}, status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        body = {"detail": " ".join(flatten_errors(exc.detail))}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = RETRY_AFTER_SECONDS
    return response
