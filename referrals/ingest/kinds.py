"""The two kinds of pushed rows, as one pipeline sees them: referral rows (from analytics) and
agent-traffic rows (from CDN and server logs). Everything else in the push is shared."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from referrals.allow_list.agent_list import current_agent_matcher
from referrals.allow_list.platforms import current_matcher
from referrals.ingest import upsert
from referrals.ingest.schema import AGENT_EVENTS, REFERRAL_EVENTS, EventSchema
from referrals.models import KIND_AGENT, KIND_REFERRAL, Connection
from referrals.reporting.agents import agent_rollup_refresh

NOT_AN_AI_PLATFORM = "event {index}: referrer {value!r} is not an AI platform"
NOT_AN_AI_AGENT = "event {index}: user agent {value!r} is not an active AI agent"


def _platforms_classify(values: list[str]) -> list[int | None]:
    match = current_matcher().match
    return [match(value) for value in values]


def _agents_classify(values: list[str]) -> list[int | None]:
    return current_agent_matcher().classify(values)


@dataclass(frozen=True)
class RowKind:
    """What a push of one kind of row validates, classifies and writes.

    `raw_field` is the event field `classify` maps to a class id (a platform, an agent), for
    the whole batch at once; a row it maps to None is rejected with `rejected` and tallied in
    `tally`. The batch's upsert key is (date, raw_field, raw_page_value).
    """

    connection_kind: str
    schema: EventSchema
    raw_field: str
    classify: Callable[[list[str]], list[int | None]]
    rejected: str
    target: upsert.UpsertTarget
    tally: upsert.TallyTarget
    # Run after the upsert, in its transaction, with the days it wrote: keeps a rollup that
    # has no triggers (the referral rollup has triggers: None).
    after_upsert: Callable[[Connection, set[date]], None] | None = None

    @property
    def key_fields(self) -> str:
        return f"(date, {self.raw_field}, raw_page_value)"


REFERRALS = RowKind(
    connection_kind=KIND_REFERRAL,
    schema=REFERRAL_EVENTS,
    raw_field="raw_referrer_value",
    classify=_platforms_classify,
    rejected=NOT_AN_AI_PLATFORM,
    target=upsert.REFERRAL_ROWS,
    tally=upsert.DROPPED_REFERRERS,
)
AGENTS = RowKind(
    connection_kind=KIND_AGENT,
    schema=AGENT_EVENTS,
    raw_field="raw_user_agent",
    classify=_agents_classify,
    rejected=NOT_AN_AI_AGENT,
    target=upsert.AGENT_ROWS,
    tally=upsert.DROPPED_USER_AGENTS,
    after_upsert=lambda connection, days: agent_rollup_refresh(connection=connection, days=days),
)
