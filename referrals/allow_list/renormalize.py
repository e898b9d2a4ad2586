"""Re-apply the current allow-list to stored rows (renormalize_referrers), in bounded batches,
and the current AI-agent list to stored agent-traffic rows (renormalize_agents).

One grouped read finds the (referrer, platform) pairs the allow-list now maps elsewhere. The
rows are then walked brand by brand in ranges of at most `batch_size` (1,000) ids of the primary key
(brand_id, id); each range is updated in its own short transaction (a few thousand rows and
their rollup groups, tens of milliseconds) that first takes the lock a push to the same
connection takes, so a push waits at most for one batch, never for the whole run, and the
two never deadlock. Every statement of the walk filters on brand_id (one shard on Citus).

Interrupted (Ctrl-C, a lost connection), the batch in flight rolls back and the rest stays
done. Every UPDATE sets only rows whose platform still differs, so running the command again
changes only the rest; `--resume BRAND:ID` also skips the ranges already walked.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max

from referrals.allow_list.agent_list import agent_matcher_build
from referrals.allow_list.platforms import matcher_build
from referrals.ingest.upsert import with_retries
from referrals.models import (
    KIND_AGENT,
    AgentTrafficRow,
    AIAgent,
    AIPlatform,
    Brand,
    Connection,
    ReferralRow,
)
from referrals.ops.throttle import Throttle
from referrals.reporting.agents import agent_rollup_refresh

# A push to the connection waits for at most one batch (the connection's lock): 250 rows kept
# every push of the benchmark within ~2x while the command ran (docs/operations.md).
DEFAULT_BATCH_SIZE = 250
_IN_CHUNK = 500  # raw values per UPDATE statement


@dataclass(frozen=True)
class RenormalizeChange:
    raw_referrer_value: str
    old_platform: str | None
    new_platform: str | None
    rows: int


@dataclass(frozen=True)
class Position:
    """The last range done: brand and the highest row id of it (resume after it)."""

    brand_id: int
    row_id: int

    def __str__(self) -> str:
        return f"{self.brand_id}:{self.row_id}"

    @classmethod
    def parse(cls, text: str) -> "Position":
        brand, _, row = text.partition(":")
        return cls(int(brand), int(row))


@dataclass
class RenormalizePlan:
    changes: list[RenormalizeChange]
    targets: dict[int | None, list[str]]  # new platform id -> raw values moving to it
    total_rows: int  # rows of the table: what the walk goes through


def renormalize_plan() -> RenormalizePlan:
    """What the current allow-list changes: one grouped read of the whole table."""
    matcher = matcher_build()
    names = dict(AIPlatform.objects.values_list("id", "name"))
    grouped = (
        ReferralRow.objects.values_list("raw_referrer_value", "platform_id")
        .annotate(rows=Count("id"))
        .order_by()
    )
    changes: list[RenormalizeChange] = []
    targets: dict[int | None, set[str]] = {}
    total = 0
    for raw, platform_id, rows in grouped:
        total += rows
        new_id = matcher.match(raw)
        if new_id != platform_id:
            changes.append(RenormalizeChange(raw, names.get(platform_id), names.get(new_id), rows))
            targets.setdefault(new_id, set()).add(raw)
    changes.sort(key=lambda change: (-change.rows, change.raw_referrer_value))
    return RenormalizePlan(
        changes=changes,
        targets={new_id: sorted(raws) for new_id, raws in targets.items()},
        total_rows=total,
    )


def _next_range(brand_id: int, after: int, until: int, batch_size: int) -> tuple[int, int] | None:
    """(highest id, row count) of the next range of at most batch_size rows (index-only)."""
    ids = list(
        ReferralRow.objects.filter(brand_id=brand_id, id__gt=after, id__lte=until)
        .order_by("id")
        .values_list("id", flat=True)[:batch_size]
    )
    return (ids[-1], len(ids)) if ids else None


def _update_range(brand_id: int, low: int, high: int, targets) -> int:
    """Move the range's rows, holding the lock a push to their connections holds (push
    pipeline: the connection row, FOR UPDATE), taken in id order. A push and a batch on one
    connection then take turns instead of locking rows and rollup groups in different orders
    and deadlocking; a push waits for at most one batch. Deadlocks with other writers are
    retried (upsert.with_retries)."""
    scope = ReferralRow.objects.filter(brand_id=brand_id, id__gt=low, id__lte=high)
    changed = [0]

    def write() -> None:
        changed[0] = 0
        connection_ids = sorted(set(scope.values_list("connection_id", flat=True).distinct()))
        list(
            Connection.objects.select_for_update()
            .filter(pk__in=connection_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for new_id, raws in targets.items():
            if new_id is None:
                moved = scope.filter(platform_id__isnull=False)
            else:
                moved = scope.exclude(platform_id=new_id)
            for start in range(0, len(raws), _IN_CHUNK):
                chunk = raws[start : start + _IN_CHUNK]
                changed[0] += moved.filter(raw_referrer_value__in=chunk).update(platform_id=new_id)

    with_retries(write)
    return changed[0]


def referrers_renormalize(
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    resume: Position | None = None,
    pause: float = 0.0,
    throttle: Throttle | None = None,
    on_batch: Callable[[Position, int], None] | None = None,
    plan: RenormalizePlan | None = None,
) -> list[RenormalizeChange]:
    """Re-apply the current allow-list to stored rows; returns what the plan found.

    Rows whose referrer no longer matches keep their data with a NULL platform (the read side
    skips them); events once rejected were never stored, so they cannot come back here. The
    daily rollup follows by itself (the rows' triggers). `on_batch(position, rows)` is called
    after each committed range with the rows it spanned. `throttle` (referrals.ops.throttle)
    sets the rest after each batch; without it, `pause` seconds.
    """
    plan = plan or renormalize_plan()
    throttle = throttle or Throttle(pause=pause)
    if dry_run or not plan.targets:
        return plan.changes
    brands = Brand.objects.order_by("id").values_list("id", flat=True)
    if resume:
        brands = brands.filter(id__gte=resume.brand_id)
    for brand_id in list(brands):
        low = resume.row_id if resume and brand_id == resume.brand_id else 0
        # Rows pushed from now on are matched by the current allow-list already: stop at the
        # highest id there is now, or the walk would chase the pushes.
        until = ReferralRow.objects.filter(brand_id=brand_id).aggregate(top=Max("id"))["top"]
        while until and (next_range := _next_range(brand_id, low, until, batch_size)):
            high, rows = next_range
            with throttle.batch():  # rests after the batch, as the throttle says
                _update_range(brand_id, low, high, plan.targets)
                if on_batch:
                    on_batch(Position(brand_id, high), rows)
            low = high
    return plan.changes


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
            # First the lock a push holds (its connection's row), in id order: a push in flight
            # commits before the rollup is recomputed, a later one waits for this transaction.
            # Without it a push committing meanwhile left a rollup row the DELETE below had not
            # seen, and the INSERT failed on the key (or the push's own refresh did).
            agent_connections = Connection.objects.filter(kind=KIND_AGENT).order_by("pk")
            list(agent_connections.select_for_update().values_list("pk", flat=True))
            for new_id, keys in targets.items():
                for start in range(0, len(keys), 500):
                    AgentTrafficRow.objects.filter(
                        user_agent_key__in=keys[start : start + 500]
                    ).update(agent_id=new_id)
            # The agent rollup has no triggers: recompute it for every agent connection (locked
            # again: one registered since then is locked too, after its push in flight).
            for connection in agent_connections.select_for_update():
                agent_rollup_refresh(connection=connection)
    return sorted(changes, key=lambda change: (-change.rows, change.raw_user_agent))
