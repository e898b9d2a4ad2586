"""Bearer-token authentication: the API accepts nothing else, so no cookie can push cross-site."""

import hmac
import re
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from referrals.models import ApiKey
from referrals.tenancy.services import token_hash, token_prefix

INVALID_TOKEN = "Invalid or revoked API token."
MISSING_TOKEN = "Authentication credentials were not provided."
MALFORMED_HEADER = "Malformed Authorization header; expected 'Bearer <token>'."

# last_used_at is a hint for admins, not an audit log: one write a minute per key is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Issued tokens are `air_` + base64url. Anything else is refused before the database sees it:
# PostgreSQL cannot even compare a string holding NUL, which would surface as a 503.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{1,256}")


class ApiKeyUser:
    """The request.user of an API call: the key's organization, never a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.organization_id = api_key.organization_id

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise exceptions.AuthenticationFailed(MALFORMED_HEADER)
        api_key = self.key_for_token(parts[1])
        return ApiKeyUser(api_key), api_key

    @staticmethod
    def key_for_token(token: str) -> ApiKey:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        # Look up by the public prefix, then compare hashes in constant time.
        api_key = (
            ApiKey.objects.select_related("organization")
            .filter(prefix=token_prefix(token), revoked=False)
            .first()
        )
        expected = api_key.token_hash if api_key else "0" * 64
        if not hmac.compare_digest(expected, token_hash(token)) or api_key is None:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization's API key."}
