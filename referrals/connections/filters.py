"""Connection list filters (?status=, ?website=, ?provider=)."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.api.errors import QUERY, RequestValidationError, field_error_items
from referrals.models import AGENT_PROVIDERS, PROVIDERS, Connection


class ConnectionFilter(django_filters.FilterSet):
    # help_text becomes the parameter's description in the OpenAPI schema (drf-spectacular).
    status = django_filters.ChoiceFilter(
        choices=Connection.STATUS_CHOICES, help_text="Only connections with this status."
    )
    provider = django_filters.ChoiceFilter(
        choices=list(PROVIDERS.items()), help_text="Only connections of this provider."
    )
    website = django_filters.CharFilter(
        method="filter_website",
        help_text="Only this website, in any spelling: https://www.Example.com/ finds "
        "example.com (a value that is not a hostname finds nothing).",
    )

    class Meta:
        model = Connection
        fields = ["status", "provider", "website"]

    def filter_website(self, queryset, name, value):
        # Same canonical form as registration, so `https://www.Example.com` finds example.com.
        try:
            return queryset.filter(website=website_canonical(value))
        except InvalidWebsite:
            return queryset.none()


class QueryFilterBackend(DjangoFilterBackend):
    """django-filter, with an invalid filter value a 422 naming its parameter (not a 400)."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = {
                name: [_Coded(message, "invalid_choice") for message in messages]
                for name, messages in filterset.errors.items()
            }
            raise RequestValidationError(field_error_items(errors, QUERY))
        return filterset.qs


class _Coded(str):
    """A message with the DRF-style code the error list maps to a pydantic type."""

    def __new__(cls, message: str, code: str):
        text = super().__new__(cls, message)
        text.code = code
        return text


class AgentConnectionFilter(ConnectionFilter):
    provider = django_filters.ChoiceFilter(
        choices=list(AGENT_PROVIDERS.items()), help_text="Only connections of this provider."
    )
