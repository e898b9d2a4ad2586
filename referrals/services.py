"""Writes other than the push pipeline: API keys, brands and connections."""

import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from .models import (
    PROVIDERS,
    SCOPES,
    ApiKey,
    Brand,
    Connection,
    GoogleAnalyticsIntegration,
    Organization,
)
from .normalization import website_canonical

TOKEN_PREFIX = "air_"
UNKNOWN_PROVIDER = "Unknown provider {provider!r}; supported: {supported}."
ACTIVE_CONNECTION_EXISTS = (
    "An active connection already exists for website {website!r} (connection {id}); "
    "disable it before registering a new one."
)
GA_INTEGRATION_EXISTS = (
    "Website {website!r} has an active Google Analytics integration; "
    "a push connection cannot be registered for it."
)


class ConnectionConflict(Exception):
    """Registering would break the one-active-connection rule or collide with GA."""


class InvalidProvider(ValueError):
    pass


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


def connection_register(*, brand: Brand, website: str, provider: str) -> Connection:
    """Register a push connection; the database has the last word on the active-one rule."""
    website = website_canonical(website)
    if provider not in PROVIDERS:
        raise InvalidProvider(
            UNKNOWN_PROVIDER.format(provider=provider, supported=", ".join(sorted(PROVIDERS)))
        )
    if GoogleAnalyticsIntegration.objects.filter(
        brand=brand, website=website, active=True
    ).exists():
        raise ConnectionConflict(GA_INTEGRATION_EXISTS.format(website=website))
    try:
        with transaction.atomic():
            return Connection.objects.create(brand=brand, website=website, provider=provider)
    except IntegrityError:
        existing = Connection.objects.filter(
            brand=brand, website=website, status=Connection.STATUS_ACTIVE
        ).first()
        raise ConnectionConflict(
            ACTIVE_CONNECTION_EXISTS.format(website=website, id=existing.pk if existing else "?")
        ) from None


def connection_disable(*, connection: Connection) -> Connection:
    """Soft-disable (idempotent); waits for a push holding the row, so it never lands half."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.status != Connection.STATUS_DISABLED:
            locked.status = Connection.STATUS_DISABLED
            locked.disabled_at = timezone.now()
            locked.save(update_fields=["status", "disabled_at"])
    return locked


@dataclass(frozen=True)
class RenormalizeChange:
    raw_referrer_value: str
    old_platform: str | None
    new_platform: str | None
    rows: int


def referrers_renormalize(*, dry_run: bool = False) -> list[RenormalizeChange]:
    """Re-apply the current allow-list to stored rows: one grouped read, one UPDATE per target.

    Rows whose referrer no longer matches keep their data with a NULL platform (the read side
    skips them); events once rejected were never stored, so they cannot come back here. The
    daily rollup follows by itself (the rows' triggers).
    """
    from django.db.models import Count

    from .models import AIPlatform, ReferralRow
    from .platforms import matcher_build

    matcher = matcher_build()
    names = dict(AIPlatform.objects.values_list("id", "name"))
    grouped = (
        ReferralRow.objects.values_list("raw_referrer_value", "platform_id")
        .annotate(rows=Count("id"))
        .order_by()
    )
    changes: list[RenormalizeChange] = []
    targets: dict[int | None, list[str]] = {}
    for raw, platform_id, rows in grouped:
        new_id = matcher.match(raw)
        if new_id != platform_id:
            changes.append(RenormalizeChange(raw, names.get(platform_id), names.get(new_id), rows))
            targets.setdefault(new_id, []).append(raw)
    if not dry_run:
        with transaction.atomic():
            for new_id, raws in targets.items():
                for start in range(0, len(raws), 500):
                    ReferralRow.objects.filter(
                        raw_referrer_value__in=raws[start : start + 500]
                    ).update(platform_id=new_id)
    return sorted(changes, key=lambda change: (-change.rows, change.raw_referrer_value))
