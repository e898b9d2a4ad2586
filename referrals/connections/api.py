"""Connections API: thin views over services and selectors."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from referrals.allow_list.website import InvalidWebsite
from referrals.api.errors import BODY, RequestValidationError, serializer_error_items
from referrals.api.parsers import request_json
from referrals.api.schema import (
    BRAND_ID_PARAM,
    COMMON_ERRORS,
    CONNECTION_ID_PARAM,
    error_responses,
    validation_error_response,
)
from referrals.connections import services
from referrals.connections.filters import (
    AgentConnectionFilter,
    ConnectionFilter,
    QueryFilterBackend,
)
from referrals.connections.serializers import (
    ConnectionListSerializer,
    ConnectionRegisterSerializer,
    ConnectionSerializer,
)
from referrals.models import KIND_AGENT, KIND_REFERRAL, Connection
from referrals.tenancy.permissions import HasConfigureScope, HasQueryScope
from referrals.tenancy.scoping import BrandScopedMixin, connection_for_brand

EMPTY_BODY = 'The request body is empty: send {"website": "...", "provider": "..."}.'
NOT_AN_OBJECT = 'The request body must be a JSON object: {"website": "...", "provider": "..."}.'


class ConnectionViewSet(BrandScopedMixin, viewsets.GenericViewSet):
    """Register, list, read and disable the push connections of a brand (of one kind: the
    referral ones here, the agent-traffic ones in AgentConnectionViewSet)."""

    kind = KIND_REFERRAL

    # The model, for drf-spectacular and django-filter; rows come from the brand (get_queryset).
    queryset = Connection.objects.none()
    filterset_class = ConnectionFilter
    filter_backends = [QueryFilterBackend]
    serializer_class = ConnectionRegisterSerializer  # what OPTIONS describes for POST
    lookup_field = "connection_id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return self.get_brand().connections.filter(kind=self.kind)

    def get_permissions(self):
        if self.action in ("create", "destroy"):
            return [HasConfigureScope()]
        return [HasQueryScope()]

    @extend_schema(
        operation_id="connections_create",
        parameters=[BRAND_ID_PARAM],
        request=ConnectionRegisterSerializer,
        responses={
            201: ConnectionSerializer,
            **error_responses(400, 409, 413, *COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def create(self, request, brand_id: str):
        brand = self.get_brand()
        data = request_json(request)
        if request.stream is None:  # no body at all
            raise ValidationError(EMPTY_BODY)
        if not isinstance(data, dict):
            raise ValidationError(NOT_AN_OBJECT)
        body = ConnectionRegisterSerializer(data=data)
        if not body.is_valid():
            raise RequestValidationError(serializer_error_items(body, BODY))
        try:
            connection = services.connection_register(
                brand=brand, kind=self.kind, **body.validated_data
            )
        except (InvalidWebsite, services.InvalidProvider) as exc:
            raise ValidationError(str(exc)) from None
        except services.ConnectionConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="connections_list",
        parameters=[BRAND_ID_PARAM],  # the query parameters come from ConnectionFilter
        responses={
            200: ConnectionListSerializer,
            **error_responses(400, *COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def list(self, request, brand_id: str):
        # QueryFilterBackend: an invalid filter value is a 422 naming it.
        connections = self.filter_queryset(self.get_queryset()).order_by("-created_at", "id")
        return Response({"items": ConnectionSerializer(connections, many=True).data})

    @extend_schema(
        operation_id="connections_retrieve",
        parameters=[BRAND_ID_PARAM, CONNECTION_ID_PARAM],
        responses={
            200: ConnectionSerializer,
            **error_responses(*COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def retrieve(self, request, brand_id: str, connection_id: str):
        connection = connection_for_brand(self.get_brand(), connection_id, self.kind)
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(
        operation_id="connections_disable",
        parameters=[BRAND_ID_PARAM, CONNECTION_ID_PARAM],
        responses={
            200: ConnectionSerializer,
            **error_responses(*COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def destroy(self, request, brand_id: str, connection_id: str):
        connection = connection_for_brand(self.get_brand(), connection_id, self.kind)
        with transaction.atomic():
            connection = services.connection_disable(connection=connection)
        return Response(ConnectionSerializer(connection).data)


class AgentConnectionViewSet(ConnectionViewSet):
    """Register, list, read and disable the agent-traffic connections of a brand (CDN and
    server logs): the same connection object and rules, their own providers."""

    kind = KIND_AGENT
    filterset_class = AgentConnectionFilter

    @extend_schema(
        operation_id="agent_connections_create",
        parameters=[BRAND_ID_PARAM],
        request=ConnectionRegisterSerializer,
        responses={
            201: ConnectionSerializer,
            **error_responses(400, 409, 413, *COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def create(self, request, brand_id: str):
        return super().create(request, brand_id)

    @extend_schema(
        operation_id="agent_connections_list",
        parameters=[BRAND_ID_PARAM],
        responses={
            200: ConnectionListSerializer,
            **error_responses(400, *COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def list(self, request, brand_id: str):
        return super().list(request, brand_id)

    @extend_schema(
        operation_id="agent_connections_retrieve",
        parameters=[BRAND_ID_PARAM, CONNECTION_ID_PARAM],
        responses={
            200: ConnectionSerializer,
            **error_responses(*COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def retrieve(self, request, brand_id: str, connection_id: str):
        return super().retrieve(request, brand_id, connection_id)

    @extend_schema(
        operation_id="agent_connections_disable",
        parameters=[BRAND_ID_PARAM, CONNECTION_ID_PARAM],
        responses={
            200: ConnectionSerializer,
            **error_responses(*COMMON_ERRORS),
            **validation_error_response(),
        },
    )
    def destroy(self, request, brand_id: str, connection_id: str):
        return super().destroy(request, brand_id, connection_id)
