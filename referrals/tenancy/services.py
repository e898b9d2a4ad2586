"""Organizations' keys and brands: issuing, hashing and revoking API tokens, creating brands."""

import hashlib
import secrets
from dataclasses import dataclass

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from referrals.models import (
    SCOPES,
    ApiKey,
    Brand,
    Organization,
)

TOKEN_PREFIX = "air_"


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no KDF needed).
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 8]


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    token: str


def api_key_create(*, organization: Organization, name: str, scopes: list[str]) -> NewApiKey:
    """Create a key and return its token, which is never stored nor shown again."""
    api_key = ApiKey(organization=organization, name=name, scopes=scopes)
    return NewApiKey(api_key=api_key, token=api_key_issue(api_key=api_key))


def api_key_issue(*, api_key: ApiKey) -> str:
    """Give an unsaved key a fresh token, save it, and return the token (the admin uses this)."""
    unknown = sorted(set(api_key.scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}; allowed: {', '.join(SCOPES)}.")
    while True:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        if not ApiKey.objects.filter(prefix=token_prefix(token)).exists():
            break
    api_key.scopes = [s for s in SCOPES if s in api_key.scopes]
    api_key.prefix = token_prefix(token)
    api_key.token_hash = token_hash(token)
    api_key.save()
    return token


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if not api_key.revoked:
        api_key.revoked = True
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked", "revoked_at"])
    return api_key


def brand_create(*, org_name: str, name: str, brand_id: int | None = None) -> Brand:
    """Create a brand, and its organization if needed; both or neither."""
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(name=org_name)
        brand = Brand.objects.create(id=brand_id, organization=organization, name=name)
        if brand_id is not None:
            _brand_ids_continue_after(brand_id)
    return brand


def _brand_ids_continue_after(brand_id: int) -> None:
    # An explicit id does not advance PostgreSQL's sequence, so the next brand created
    # without one would collide with it. Never moved back, so deleted ids are not reused.
    # (SQLite's AUTOINCREMENT already continues after the largest id.)
    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Brand._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute(
            f"SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM {sequence})))",
            [sequence, brand_id],
        )
