"""Connection list filters (?status=, ?website=, ?provider=)."""

import django_filters

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.models import PROVIDERS, Connection


class ConnectionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Connection.STATUS_CHOICES)
    provider = django_filters.ChoiceFilter(choices=list(PROVIDERS.items()))
    website = django_filters.CharFilter(method="filter_website")

    class Meta:
        model = Connection
        fields = ["status", "provider", "website"]

    def filter_website(self, queryset, name, value):
        # Same canonical form as registration, so `https://www.Example.com` finds example.com.
        try:
            return queryset.filter(website=website_canonical(value))
        except InvalidWebsite:
            return queryset.none()
