"""OpenAPI pieces every area's views share: path parameters and the error responses."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


BRAND_ID_PARAM = OpenApiParameter("brand_id", int, OpenApiParameter.PATH)
CONNECTION_ID_PARAM = OpenApiParameter("connection_id", str, OpenApiParameter.PATH)


def error_responses(*codes: int) -> dict:
    described = {
        400: "Invalid request",
        401: "Missing, invalid or revoked token",
        403: "The token lacks the scope",
        404: "Unknown brand or connection (or another organization's)",
        409: "An active connection or GA integration exists for the website",
        410: "The connection is disabled",
        413: "Body too large (or, for a push, too many events)",
        415: "Unsupported content type",
        429: "Rate limit exceeded; see Retry-After",
        503: "Database unavailable; retry after Retry-After",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


COMMON_ERRORS = (401, 403, 404, 429, 503)


class ParameterErrorItemSerializer(serializers.Serializer):
    loc = serializers.ListField(
        child=serializers.JSONField(), help_text='Where: ["query", "limit"], ["path", "page_id"].'
    )
    msg = serializers.CharField()
    type = serializers.CharField()


class HTTPValidationErrorSerializer(serializers.Serializer):
    detail = ParameterErrorItemSerializer(many=True)


def validation_error_response() -> dict:
    """The 422 of a parameter (or body field) of the wrong type or out of its bounds."""
    return {
        422: OpenApiResponse(
            HTTPValidationErrorSerializer,
            description="A parameter of the wrong type or out of its bounds",
        )
    }
