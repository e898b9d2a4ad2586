"""The AI-platform allow-list as a referrer matcher, rebuilt only when the allow-list changes."""

from referrals.allow_list.cache import MatcherCache, table_fingerprint
from referrals.allow_list.referrers import ReferrerMatcher
from referrals.models import AIPlatform, AIPlatformEntry


def allow_list_fingerprint() -> tuple:
    """One cheap query that changes whenever an entry or platform is added, edited or removed."""
    entries = AIPlatformEntry._meta.db_table
    platforms = AIPlatform._meta.db_table
    return table_fingerprint(
        f"SELECT COUNT(*) FROM {entries}",
        f"SELECT MAX(updated_at) FROM {entries}",
        f"SELECT COUNT(*) FROM {platforms} WHERE active",
        f"SELECT MAX(updated_at) FROM {platforms}",
    )


def matcher_build() -> ReferrerMatcher:
    """Entries of active platforms, keyed by platform id."""
    entries = AIPlatformEntry.objects.filter(platform__active=True).values_list(
        "platform_id", "kind", "value"
    )
    return ReferrerMatcher(list(entries))


_matchers = MatcherCache(fingerprint=allow_list_fingerprint, build=matcher_build)


def current_matcher() -> ReferrerMatcher:
    """The matcher for the allow-list as it is now; per process, keyed by database alias."""
    return _matchers.current()
