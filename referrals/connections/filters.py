"""Connection list filters (?status=, ?website=, ?provider=)."""

import django_filters

from referrals.allow_list.website import InvalidWebsite, website_canonical
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


class AgentConnectionFilter(ConnectionFilter):
    provider = django_filters.ChoiceFilter(
        choices=list(AGENT_PROVIDERS.items()), help_text="Only connections of this provider."
    )
