"""Re-apply the current allow-list to stored rows (renormalize_referrers), and the current
AI-agent list to stored agent-traffic rows (renormalize_agents)."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from referrals.allow_list.agent_list import agent_matcher_build
from referrals.allow_list.platforms import matcher_build
from referrals.models import (
    KIND_AGENT,
    AgentTrafficRow,
    AIAgent,
    AIPlatform,
    Connection,
    ReferralRow,
)
from referrals.reporting.agents import agent_rollup_refresh


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


@dataclass(frozen=True)
class AgentChange:
    raw_user_agent: str
    old_agent: str | None
    new_agent: str | None
    rows: int


def agents_renormalize(*, dry_run: bool = False) -> list[AgentChange]:
    """Re-apply the current agent list to stored agent-traffic rows, as referrers_renormalize
    does for referrers: one grouped read, the distinct user agents classified as one batch,
    one UPDATE per target agent (by the user agents' keys). Rows no agent matches any more
    keep their hits with a NULL agent, which the read side skips."""
    matcher = agent_matcher_build()
    names = dict(AIAgent.objects.values_list("id", "name"))
    grouped = list(
        AgentTrafficRow.objects.values_list("user_agent_key", "raw_user_agent", "agent_id")
        .annotate(rows=Count("id"))
        .order_by()
    )
    new_ids = matcher.classify([raw for _, raw, _, _ in grouped])
    changes: list[AgentChange] = []
    targets: dict[int | None, list[str]] = {}
    for (key, raw, agent_id, rows), new_id in zip(grouped, new_ids, strict=True):
        if new_id != agent_id:
            changes.append(AgentChange(raw, names.get(agent_id), names.get(new_id), rows))
            targets.setdefault(new_id, []).append(key)
    if not dry_run and changes:
        with transaction.atomic():
            for new_id, keys in targets.items():
                for start in range(0, len(keys), 500):
                    AgentTrafficRow.objects.filter(
                        user_agent_key__in=keys[start : start + 500]
                    ).update(agent_id=new_id)
            # The agent rollup has no triggers: recompute it for every agent connection.
            for connection in Connection.objects.filter(kind=KIND_AGENT):
                agent_rollup_refresh(connection=connection)
    return sorted(changes, key=lambda change: (-change.rows, change.raw_user_agent))
