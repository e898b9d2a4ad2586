"""One log line per request, and JSON lines for log pipelines (LOG_FORMAT=json).

Every line carries the request id (referrals.middleware.RequestIDLogFilter). The fields of a
request line (and of the push line, referrals/ingest/pipeline.py) are also passed as `extra`,
so the JSON formatter gives them as keys of their own: brand_id, connection_id, status,
duration_ms.
"""

import logging
import time

from django.db import DatabaseError, InterfaceError

from referrals.ops import metrics
from referrals.ops.jsonlog import JsonFormatter

__all__ = ["ClientErrorLogFilter", "JsonFormatter", "RequestLogMiddleware"]  # settings.LOGGING

# Longest client-written text a client-error line repeats (a Host header can be 8 KB).
CLIENT_TEXT_MAX = 200

logger = logging.getLogger("referrals.requests")

# Polled every few seconds by load balancers and Prometheus: DEBUG, never INFO.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestLogMiddleware:
    """Logs each request once it is answered: method, path, status, duration, brand, connection."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        quiet = request.path in QUIET_PATHS
        if not quiet:
            metrics.response_observed(status=response.status_code)
        level = logging.DEBUG if quiet else logging.INFO
        if not logger.isEnabledFor(level):
            return response
        match = getattr(request, "resolver_match", None)
        kwargs = match.kwargs if match else {}
        brand_id = kwargs.get("brand_id")
        if isinstance(brand_id, str) and brand_id.isascii() and brand_id.isdigit():
            # An id as in the push line and the database; a path's digits may be any length.
            brand_id = int(brand_id) if len(brand_id) <= 18 else brand_id[:32]
        fields = {
            "event": "request",
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "brand_id": brand_id,
            "connection_id": kwargs.get("connection_id"),
        }
        logger.log(
            level,
            "request %s %s status=%s ms=%s brand=%s connection=%s",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            fields["brand_id"] or "-",
            fields["connection_id"] or "-",
            extra=fields,
        )
        return response

    def process_exception(self, request, exception):
        """A database error a view did not handle (the API's handler counts its own 503s)."""
        if isinstance(exception, DatabaseError | InterfaceError):
            metrics.database_error(error=exception)


class ClientErrorLogFilter(logging.Filter):
    """Django logs a request whose Host is not in ALLOWED_HOSTS at ERROR with its traceback and
    the whole header: a scanner reaching gunicorn by address is no error of the service. One
    WARNING line instead (the 400 is still answered and counted), the host cut short."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > CLIENT_TEXT_MAX:
            message = message[:CLIENT_TEXT_MAX] + "..."
        record.msg, record.args = message, None
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True
