"""Retention: push logs older than PUSH_LOG_RETENTION_DAYS, dropped-referrer and dropped-user-
agent tallies beyond the DROPPED_REFERRERS_PER_CONNECTION most frequent of each connection
(`manage.py prune`). The user-agent tally keeps the raw value, so a CDN log's browsers add a
line each: without the cap it grows with every browser version seen.

Safe to run from cron while pushes run: each DELETE removes at most `batch_size` rows chosen
by id, in its own short transaction (autocommit), so it locks only those rows and only for
milliseconds; a push that tallies a referrer being deleted waits for that one batch. Every
statement filters on brand_id (one shard on Citus). A run stopped part-way is simply re-run.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Model, QuerySet

from referrals.models import Brand, Connection, DroppedReferrer, DroppedUserAgent, PushLog

DEFAULT_BATCH_SIZE = 1000


@dataclass
class PruneResult:
    push_logs: int = 0
    dropped_referrers: int = 0
    dropped_user_agents: int = 0


def _delete_in_batches(
    select_ids: Callable[[], list[int]], scope: QuerySet, *, pause: float
) -> int:
    """Delete the rows `select_ids` names, batch by batch (autocommit), until it names none."""
    deleted = 0
    while ids := select_ids():
        deleted += scope.filter(id__in=ids).delete()[0]
        if pause:
            time.sleep(pause)
    return deleted


def push_logs_prune(
    *, older_than: datetime, batch_size: int = DEFAULT_BATCH_SIZE, dry_run=False, pause=0.0
) -> int:
    """Delete push logs created before `older_than`, brand by brand."""
    deleted = 0
    for brand_id in Brand.objects.order_by("id").values_list("id", flat=True).iterator():
        scope = PushLog.objects.filter(brand_id=brand_id)
        old = scope.filter(created_at__lt=older_than).order_by("created_at", "id")

        def select_ids(old=old) -> list[int]:
            return list(old.values_list("id", flat=True)[:batch_size])

        if dry_run:
            deleted += old.count()
            continue
        deleted += _delete_in_batches(select_ids, scope, pause=pause)
    return deleted


def dropped_referrers_prune(
    *,
    keep: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run=False,
    pause=0.0,
    tally: type[Model] = DroppedReferrer,
) -> int:
    """Keep each connection's `keep` most frequent dropped referrers (ties: the newest), or
    dropped user agents (`tally=DroppedUserAgent`)."""
    deleted = 0
    connections = Connection.objects.order_by("brand_id", "id").values_list("brand_id", "id")
    for brand_id, connection_id in connections.iterator():
        scope = tally.objects.filter(brand_id=brand_id, connection_id=connection_id)
        ranked = scope.order_by("-count", "-id")
        if dry_run:
            deleted += max(0, scope.count() - keep)
            continue

        def select_ids(ranked=ranked) -> list[int]:
            return list(ranked.values_list("id", flat=True)[keep : keep + batch_size])

        deleted += _delete_in_batches(select_ids, scope, pause=pause)
    return deleted


def retention_prune(
    *,
    older_than: datetime,
    keep_dropped: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    pause: float = 0.0,
) -> PruneResult:
    return PruneResult(
        push_logs=push_logs_prune(
            older_than=older_than, batch_size=batch_size, dry_run=dry_run, pause=pause
        ),
        dropped_referrers=dropped_referrers_prune(
            keep=keep_dropped, batch_size=batch_size, dry_run=dry_run, pause=pause
        ),
        dropped_user_agents=dropped_referrers_prune(
            keep=keep_dropped,
            batch_size=batch_size,
            dry_run=dry_run,
            pause=pause,
            tally=DroppedUserAgent,
        ),
    )
