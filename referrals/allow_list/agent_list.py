"""The AI-agent list as a user-agent matcher, rebuilt only when the list changes."""

import threading

from django.db import connection

from referrals.allow_list.agents import AgentMatcher
from referrals.models import AIAgent, AIPlatform

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, AgentMatcher]] = {}


def agent_list_fingerprint() -> tuple:
    """One cheap query that changes whenever an agent (or a platform) is added, edited or
    removed: an agent counts only while it and its platform are active."""
    agents = AIAgent._meta.db_table
    platforms = AIPlatform._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {agents}), "
            f"(SELECT COUNT(*) FROM {agents} WHERE active), "
            f"(SELECT MAX(updated_at) FROM {agents}), "
            f"(SELECT COUNT(*) FROM {platforms} WHERE active), "
            f"(SELECT MAX(updated_at) FROM {platforms})"
        )
        return tuple(cursor.fetchone())


def agent_matcher_build() -> AgentMatcher:
    """Active agents of active platforms, keyed by agent id (the oldest first on a tie)."""
    entries = (
        AIAgent.objects.filter(active=True, platform__active=True)
        .order_by("id")
        .values_list("id", "token")
    )
    return AgentMatcher(list(entries))


def current_agent_matcher() -> AgentMatcher:
    """The matcher for the agent list as it is now; per process, keyed by database alias."""
    fingerprint = agent_list_fingerprint()
    cached = _cache.get(connection.alias)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        matcher = agent_matcher_build()
        _cache[connection.alias] = (fingerprint, matcher)
    return matcher
