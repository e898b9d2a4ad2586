"""API shapes: the connection object and the register body."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

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


class ConnectionRegisterSerializer(serializers.Serializer):
    # Canonical form and provider allow-list are checked by the service, with its messages.
    website = serializers.CharField(max_length=2048, trim_whitespace=True)
    provider = serializers.CharField(max_length=100)


@extend_schema_serializer(many=False)  # the list is the body's `items`, not the body
class ConnectionListSerializer(serializers.Serializer):
    items = ConnectionSerializer(many=True)
