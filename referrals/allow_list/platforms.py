"""The AI-platform allow-list as a referrer matcher, rebuilt only when the allow-list changes."""

import threading

from django.db import connection

from referrals.allow_list.referrers import ReferrerMatcher
from referrals.models import AIPlatform, AIPlatformEntry

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, ReferrerMatcher]] = {}


def allow_list_fingerprint() -> tuple:
    """One cheap query that changes whenever an entry or platform is added, edited or removed."""
    entries = AIPlatformEntry._meta.db_table
    platforms = AIPlatform._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {entries}), (SELECT MAX(updated_at) FROM {entries}), "
            f"(SELECT COUNT(*) FROM {platforms} WHERE active), "
            f"(SELECT MAX(updated_at) FROM {platforms})"
        )
        return tuple(cursor.fetchone())


def matcher_build() -> ReferrerMatcher:
    """Entries of active platforms, keyed by platform id."""
    entries = AIPlatformEntry.objects.filter(platform__active=True).values_list(
        "platform_id", "kind", "value"
    )
    return ReferrerMatcher(list(entries))


def current_matcher() -> ReferrerMatcher:
    """The matcher for the allow-list as it is now; per process, keyed by database alias."""
    fingerprint = allow_list_fingerprint()
    cached = _cache.get(connection.alias)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        matcher = matcher_build()
        _cache[connection.alias] = (fingerprint, matcher)
    return matcher
