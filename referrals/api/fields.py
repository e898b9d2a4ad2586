"""Serializer fields the API's areas share."""

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers


class AnyTextField(serializers.CharField):
    """Any string, a NUL included, where the published descriptions take any string: DRF's
    CharField refuses a NUL with a 422, and the service answers such a value itself (a
    website that is no hostname is a 400, a domain no connection has a 404, a page filter
    holding a NUL matches no page)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]
