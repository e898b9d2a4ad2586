"""The AI-agent list as a user-agent matcher, rebuilt only when the list changes."""

from referrals.allow_list.agents import AgentMatcher
from referrals.allow_list.cache import MatcherCache, table_fingerprint
from referrals.models import AIAgent, AIPlatform


def agent_list_fingerprint() -> tuple:
    """One cheap query that changes whenever an agent (or a platform) is added, edited or
    removed: an agent counts only while it and its platform are active."""
    agents = AIAgent._meta.db_table
    platforms = AIPlatform._meta.db_table
    return table_fingerprint(
        f"SELECT COUNT(*) FROM {agents}",
        f"SELECT COUNT(*) FROM {agents} WHERE active",
        f"SELECT MAX(updated_at) FROM {agents}",
        f"SELECT COUNT(*) FROM {platforms} WHERE active",
        f"SELECT MAX(updated_at) FROM {platforms}",
    )


def agent_matcher_build() -> AgentMatcher:
    """Active agents of active platforms, keyed by agent id (the oldest first on a tie)."""
    entries = (
        AIAgent.objects.filter(active=True, platform__active=True)
        .order_by("id")
        .values_list("id", "token")
    )
    return AgentMatcher(list(entries))


_matchers = MatcherCache(fingerprint=agent_list_fingerprint, build=agent_matcher_build)


def current_agent_matcher() -> AgentMatcher:
    """The matcher for the agent list as it is now; per process, keyed by database alias."""
    return _matchers.current()
