"""POST .../connections/{id}/events: a push's HTTP side (limits, formats, OpenAPI) around ingest."""

from collections.abc import Iterator

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from referrals.api.schema import BRAND_ID_PARAM, CONNECTION_ID_PARAM, error_responses
from referrals.ingest import compression, parse
from referrals.ingest import pipeline as ingest
from referrals.ingest import schema as events
from referrals.ingest.kinds import AGENTS, REFERRALS
from referrals.ingest.parse import PushError
from referrals.ingest.pipeline import PushContext
from referrals.models import Connection
from referrals.tenancy.permissions import HasConfigureScope
from referrals.tenancy.scoping import BrandScopedMixin, connection_for_brand
from referrals.tenancy.throttling import PushRateThrottle

CONTENT_TYPES = {
    "application/json": parse.FORMAT_JSON,
    "application/x-ndjson": parse.FORMAT_NDJSON,
    "application/ndjson": parse.FORMAT_NDJSON,
    "application/jsonl": parse.FORMAT_NDJSON,
}
UNSUPPORTED_TYPE = (
    "Unsupported Content-Type {given!r}: send application/json (an array of events) or "
    "application/x-ndjson (one event per line)."
)
BAD_CONTENT_LENGTH = "Invalid Content-Length header."
SHORT_BODY = (
    "The body ended after {received} of the {declared} bytes its Content-Length declares "
    "(the connection was closed early); nothing was stored."
)
BAD_DRY_RUN = "dry_run must be true or false."
_CHUNK = 64 * 1024


def _raw_chunks(request, limit: int) -> Iterator[bytes]:
    """The body as sent, in chunks, never more than `limit` bytes in all (413 beyond).

    Content-Length decides before anything is read. Without one (chunked transfer), the
    stream is read only when the server marks it terminated (gunicorn does), stopping at the
    limit; otherwise Django would see an empty body. A body shorter than its Content-Length
    (the client closed the connection early) is a 400: the batch was cut short.
    """
    meta = request.META
    declared = meta.get("CONTENT_LENGTH") or ""
    if declared:
        if not declared.isdigit():
            raise PushError(400, BAD_CONTENT_LENGTH)
        remaining = int(declared)
        if remaining > limit:
            raise PushError(413, parse.BODY_TOO_LARGE.format(limit=limit))
        while remaining and (chunk := _read(request.read, min(remaining, _CHUNK))):
            remaining -= len(chunk)
            yield chunk
        if remaining:
            received = int(declared) - remaining
            raise PushError(400, SHORT_BODY.format(received=received, declared=declared))
        return
    if not meta.get("wsgi.input_terminated"):
        return
    stream, size = meta["wsgi.input"], 0
    while chunk := _read(stream.read, _CHUNK):
        size += len(chunk)
        if size > limit:
            raise PushError(413, parse.BODY_TOO_LARGE.format(limit=limit))
        yield chunk


def _read(read, size: int) -> bytes:
    try:
        return parse.body_read(read, size)
    except parse.UnreadableBody as exc:
        raise PushError(400, str(exc)) from exc


def read_body(request, limit: int) -> bytes:
    """The request body, decompressed, never more than `limit` bytes in memory either way.

    The one reader of every push endpoint: Content-Encoding is checked first (415 for other
    than gzip or identity), then the body is read in chunks and a gzip body decompressed as
    it arrives, with the limit on both the compressed and the decompressed size (413).
    """
    encoding = compression.body_encoding(request)
    chunks = _raw_chunks(request, limit)
    if encoding == compression.ENCODING_GZIP:
        return compression.gunzip_bounded(chunks, limit=limit)
    return b"".join(chunks)


def body_format(request) -> str:
    content_type = request.META.get("CONTENT_TYPE", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        raise PushError(415, UNSUPPORTED_TYPE.format(given=content_type[:100]))
    return CONTENT_TYPES[media_type]


def dry_run_flag(request) -> bool:
    value = request.query_params.get("dry_run", "false").strip().lower()
    if value not in {"true", "false", "1", "0", "yes", "no", ""}:
        raise PushError(400, BAD_DRY_RUN)
    return value in {"true", "1", "yes"}


CONTENT_ENCODING_PARAM = OpenApiParameter(
    "Content-Encoding",
    str,
    location=OpenApiParameter.HEADER,
    enum=[compression.ENCODING_GZIP, compression.ENCODING_IDENTITY],
    description=(
        "gzip: the body is gzip-compressed; the size limit applies before and after "
        "decompression. Any other encoding is a 415."
    ),
)


class EventSchema(serializers.Serializer):
    """The push event in the OpenAPI schema; EventSchemaExtension gives its fields."""


class EventSchemaExtension(OpenApiSerializerExtension):
    """Describes EventSchema from the one declaration of the fields (schema.EVENT_FIELDS)."""

    target_class = EventSchema

    def map_serializer(self, auto_schema, direction):
        return events.REFERRAL_EVENTS.openapi_event()


class AgentEventSchema(serializers.Serializer):
    """The agent-traffic push event in the OpenAPI schema (schema.AGENT_EVENT_FIELDS)."""


class AgentEventSchemaExtension(OpenApiSerializerExtension):
    target_class = AgentEventSchema

    def map_serializer(self, auto_schema, direction):
        return events.AGENT_EVENTS.openapi_event()


class PushOutcomeSchema(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class ValidationErrorItem(serializers.Serializer):
    loc = serializers.ListField(child=serializers.JSONField())
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorSchema(serializers.Serializer):
    detail = ValidationErrorItem(many=True)
    error_count = serializers.IntegerField(
        required=False, help_text="Invalid events: the total (absent for a non-integer brand_id)."
    )


def _push_schema(operation_id: str, event_schema: type[serializers.Serializer]):
    return extend_schema(
        operation_id=operation_id,
        parameters=[
            BRAND_ID_PARAM,
            CONNECTION_ID_PARAM,
            OpenApiParameter("dry_run", bool, description="Validate only; store nothing."),
            CONTENT_ENCODING_PARAM,
        ],
        request={
            "application/json": OpenApiRequest(event_schema(many=True)),
            "application/x-ndjson": OpenApiRequest(event_schema),
        },
        responses={
            200: PushOutcomeSchema,
            422: OpenApiResponse(ValidationErrorSchema, description="Invalid events"),
            **error_responses(400, 401, 403, 404, 410, 413, 415, 429, 503),
        },
    )


class PushEventsView(BrandScopedMixin, APIView):
    """Validate, normalize and upsert a batch of daily rows (all or nothing).

    One view for both kinds of rows: `row_kind` says which (referral rows here, agent-traffic
    rows in AgentPushEventsView); the connection must be of that kind.
    """

    permission_classes = [HasConfigureScope]
    throttle_classes = [PushRateThrottle]
    parser_classes = []  # the body is read as a bounded stream by read_body
    row_kind = REFERRALS

    @_push_schema("push_events", EventSchema)
    def post(self, request, brand_id: str, connection_id: str):
        return self.push(request, connection_id)

    def push(self, request, connection_id: str):
        kind = self.row_kind
        connection = connection_for_brand(self.get_brand(), connection_id, kind.connection_kind)
        context = PushContext(
            connection=connection,
            api_key_id=request.auth.pk,
            request_id=getattr(request._request, "request_id", ""),
            dry_run=False,
        )
        try:
            if connection.status != Connection.STATUS_ACTIVE:
                raise PushError(410, ingest.CONNECTION_DISABLED.format(id=connection.pk))
            context.dry_run = dry_run_flag(request)
            fmt = body_format(request)  # 415 before reading a body we could not parse
            body = read_body(request, settings.PUSH_MAX_BODY_BYTES)
            outcome = ingest.push_events(context=context, body=body, fmt=fmt, kind=kind)
        except PushError as error:
            ingest.push_record_failure(context=context, error=error)
            return Response(error.body, status=error.status)
        return Response(outcome.as_body())


class AgentPushEventsView(PushEventsView):
    """Daily agent-traffic rows (user agent, page, hits) from CDN and server logs."""

    row_kind = AGENTS

    @_push_schema("push_agent_events", AgentEventSchema)
    def post(self, request, brand_id: str, connection_id: str):
        return self.push(request, connection_id)
