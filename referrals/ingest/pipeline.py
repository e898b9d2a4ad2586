"""The push pipeline: parse -> validate -> normalize -> upsert, one transaction per batch."""

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from referrals.allow_list.platforms import current_matcher
from referrals.ingest import upsert
from referrals.ingest.parse import MAX_LISTED, PushError, capped, events_parse
from referrals.ingest.schema import Row
from referrals.models import Connection, PushLog
from referrals.ops.observe import push_observed

logger = logging.getLogger(__name__)

CONNECTION_DISABLED = "Connection {id} is disabled; register a new one and push to it."
NOT_AN_AI_PLATFORM = "event {index}: referrer {referrer!r} is not an AI platform"
DUPLICATE_KEYS = (
    "{count} event(s) repeat the key (date, raw_referrer_value, raw_page_value) of an "
    "earlier event in this batch; the last occurrence was kept (first: event {index})"
)


@dataclass
class PushOutcome:
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_body(self) -> dict:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "errors": self.errors,
            "warnings": self.warnings,
        }


# --- normalize ----------------------------------------------------------------------------


@dataclass
class Normalized:
    rows: list[tuple[Row, int]]  # (row, platform id), de-duplicated, last occurrence kept
    outcome: PushOutcome
    dropped: Counter  # raw referrer -> events rejected


def events_normalize(rows: list[Row], warnings: list[str]) -> Normalized:
    matcher = current_matcher()
    match = matcher.match
    outcome = PushOutcome(warnings=list(warnings))
    dropped: Counter = Counter()
    rejected_lines: list[str] = []
    kept: dict[tuple, tuple[Row, int]] = {}
    first_duplicate = None
    duplicates = 0
    for index, row in enumerate(rows):
        platform_id = match(row.raw_referrer_value)
        if platform_id is None:
            dropped[row.raw_referrer_value] += 1
            if len(rejected_lines) < MAX_LISTED:
                rejected_lines.append(
                    NOT_AN_AI_PLATFORM.format(index=index, referrer=row.raw_referrer_value)
                )
            continue
        key = (row.date, row.raw_referrer_value, row.raw_page_value)
        if key in kept:
            duplicates += 1
            first_duplicate = index if first_duplicate is None else first_duplicate
            del kept[key]  # re-insert so the batch keeps the order of last occurrences
        kept[key] = (row, platform_id)
    outcome.rejected = sum(dropped.values())
    outcome.accepted = len(rows) - outcome.rejected
    outcome.errors = capped(rejected_lines, outcome.rejected)
    if duplicates:
        outcome.warnings.append(DUPLICATE_KEYS.format(count=duplicates, index=first_duplicate))
    return Normalized(rows=list(kept.values()), outcome=outcome, dropped=dropped)


# --- the push -----------------------------------------------------------------------------


@dataclass
class PushContext:
    connection: Connection
    api_key_id: int | None
    request_id: str
    dry_run: bool
    started: float = field(default_factory=time.monotonic)

    @property
    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def push_events(*, context: PushContext, body: bytes, fmt: str) -> PushOutcome:
    """Validate, normalize and store one batch, all or nothing; raises PushError on refusal."""
    rows, warnings = events_parse(body, fmt)
    normalized = events_normalize(rows, warnings)
    if context.dry_run:
        return normalized.outcome
    batch_id = next((row.batch_id for row in rows if row.batch_id), None)

    def write() -> None:
        now = timezone.now()
        status = (
            Connection.objects.select_for_update()
            .filter(pk=context.connection.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status != Connection.STATUS_ACTIVE:
            raise PushError(410, CONNECTION_DISABLED.format(id=context.connection.pk))
        upsert.rows_upsert(connection=context.connection, rows=normalized.rows, now=now)
        upsert.dropped_referrers_tally(
            connection=context.connection, dropped=normalized.dropped, now=now
        )
        _log_and_mark(context, 200, len(rows), normalized.outcome, batch_id, "", now)

    upsert.with_retries(write)
    return normalized.outcome


def push_record_failure(*, context: PushContext, error: PushError) -> None:
    """Log a refused push and show its error on the connection (nothing else is stored)."""
    if context.dry_run or error.status == 410:
        return
    with transaction.atomic():
        _log_and_mark(context, error.status, 0, PushOutcome(), None, error.summary, timezone.now())


def _log_and_mark(context, status, received, outcome, batch_id, error, now) -> None:
    PushLog.objects.create(
        brand_id=context.connection.brand_id,
        connection_id=context.connection.pk,
        api_key_id=context.api_key_id,
        request_id=context.request_id,
        batch_id=batch_id,
        status_code=status,
        received=received,
        accepted=outcome.accepted,
        rejected=outcome.rejected,
        duration_ms=context.duration_ms,
        error=error,
    )
    Connection.objects.filter(pk=context.connection.pk).update(
        last_pushed_at=now, last_push_error=error or None
    )
    push_observed(  # the push's log line and metrics (referrals/ops)
        connection=context.connection,
        status=status,
        received=received,
        accepted=outcome.accepted,
        rejected=outcome.rejected,
        started=context.started,
    )
