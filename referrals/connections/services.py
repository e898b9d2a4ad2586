"""Registering and disabling push connections; the database has the last word on the rules."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.allow_list.website import website_canonical
from referrals.models import (
    KIND_REFERRAL,
    PROVIDERS_BY_KIND,
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


def connection_register(
    *, brand: Brand, website: str, provider: str, kind: str = KIND_REFERRAL
) -> Connection:
    """Register a push connection of a kind (referral or agent traffic), with that kind's
    providers; the database has the last word on the one-active-per-kind rule. A live Google
    Analytics integration blocks referral connections only: it says nothing of server logs."""
    website = website_canonical(website)
    providers = PROVIDERS_BY_KIND[kind]
    if provider not in providers:
        raise InvalidProvider(
            UNKNOWN_PROVIDER.format(provider=provider, supported=", ".join(sorted(providers)))
        )
    if (
        kind == KIND_REFERRAL
        and GoogleAnalyticsIntegration.objects.filter(
            brand=brand, website=website, active=True
        ).exists()
    ):
        raise ConnectionConflict(GA_INTEGRATION_EXISTS.format(website=website))
    try:
        with transaction.atomic():
            return Connection.objects.create(
                brand=brand, website=website, provider=provider, kind=kind
            )
    except IntegrityError:
        existing = Connection.objects.filter(
            brand=brand, website=website, kind=kind, status=Connection.STATUS_ACTIVE
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
