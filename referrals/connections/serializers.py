"""API shapes: the connection object and the register body."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from referrals.api.fields import AnyTextField
from referrals.models import Connection


class ConnectionSerializer(serializers.ModelSerializer):
    brand_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Connection
        fields = [
            "id",
            "brand_id",
            "website",
            "provider",
            "status",
            "created_at",
            "last_pushed_at",
            "last_push_error",
        ]
        read_only_fields = fields


class StrictCharField(AnyTextField):
    """A JSON string and nothing else: DRF's CharField would take 123 or true as text. Any
    string is let through, NUL included (DRF would make it a 422): the published description
    sets no bound, and a string that is no hostname or no provider is the service's 400."""

    default_error_messages = {
        "invalid": "Input should be a valid string",
        "required": "Field required",
        "null": "Field required",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ConnectionRegisterSerializer(serializers.Serializer):
    """A missing field or one that is not a string is a 422; the canonical form and the
    provider allow-list are the service's (400, with its messages), so an empty string is
    let through to it."""

    website = StrictCharField(trim_whitespace=True, allow_blank=True)
    provider = StrictCharField(allow_blank=True)


@extend_schema_serializer(many=False)  # the list is the body's `items`, not the body
class ConnectionListSerializer(serializers.Serializer):
    items = ConnectionSerializer(many=True)
