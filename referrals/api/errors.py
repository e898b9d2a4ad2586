"""One error shape for the API: `{"detail": "..."}`, and 503 + Retry-After for database trouble."""

import logging

from django.db import DatabaseError, IntegrityError, InterfaceError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from referrals.ops import metrics

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable; retry later."
RETRY_AFTER_SECONDS = "5"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE


def flatten_errors(detail, prefix: str = "") -> list[str]:
    """Turn DRF's nested error dict into 'field: message' lines a human can read."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
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
    if isinstance(exc, exceptions.ValidationError) and not isinstance(exc.detail, str):
        body = {"detail": " ".join(flatten_errors(exc.detail)), "errors": exc.detail}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = RETRY_AFTER_SECONDS
    return response
