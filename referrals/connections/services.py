"""Registering and disabling push connections; the database has the last word on the rules."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.allow_list.website import website_canonical
from referrals.models import (
    PROVIDERS,
    Brand,
    Connection,
    GoogleAnalyticsIntegration,
)

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
