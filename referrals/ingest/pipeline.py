"""The push pipeline: parse -> validate -> normalize -> upsert, one transaction per batch."""

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from referrals.ingest import upsert
from referrals.ingest.kinds import NOT_AN_AI_PLATFORM, REFERRALS, RowKind
from referrals.ingest.parse import MAX_LISTED, PushError, capped, events_parse
from referrals.models import SUM_IN_RANGE, Connection, PushLog
from referrals.ops.collector import gc_paused
from referrals.ops.observe import push_observed

logger = logging.getLogger(__name__)

CONNECTION_DISABLED = "Connection {id} is disabled; register a new one and push to it."
__all__ = ["CONNECTION_DISABLED", "NOT_AN_AI_PLATFORM", "push_events", "push_record_failure"]
SUMS_OUT_OF_RANGE = (
    "The batch would take a sum of this connection's stored metrics past "
    "9223372036854775807, the largest 64-bit integer (the sums kept per day and platform, "
    "per page and month, or per day and agent); nothing was stored."
)
DUPLICATE_KEYS = (
    "{count} event(s) repeat the key {key} of an earlier event in this batch; the last "
    "occurrence was kept (first: event {index})"
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
    rows: list[tuple]  # (row, class id), de-duplicated, last occurrence kept
    outcome: PushOutcome
    dropped: Counter  # raw value -> events rejected


def events_normalize(rows: list, warnings: list[str], kind: RowKind = REFERRALS) -> Normalized:
    """Classify the batch's raw values (platforms or agents) and keep the last occurrence of
    each upsert key; the rows whose value matches nothing are rejected and tallied."""
    raw_field = kind.raw_field
    values = [getattr(row, raw_field) for row in rows]
    class_ids = kind.classify(values)
    outcome = PushOutcome(warnings=list(warnings))
    dropped: Counter = Counter()
    rejected_lines: list[str] = []
    kept: dict[tuple, tuple] = {}
    first_duplicate = None
    duplicates = 0
    for index, (row, value, class_id) in enumerate(zip(rows, values, class_ids, strict=True)):
        if class_id is None:
            dropped[value] += 1
            if len(rejected_lines) < MAX_LISTED:
                rejected_lines.append(kind.rejected.format(index=index, value=value))
            continue
        key = (row.date, value, row.raw_page_value)
        if key in kept:
            duplicates += 1
            first_duplicate = index if first_duplicate is None else first_duplicate
            del kept[key]  # re-insert so the batch keeps the order of last occurrences
        kept[key] = (row, class_id)
    outcome.rejected = sum(dropped.values())
    outcome.accepted = len(rows) - outcome.rejected
    outcome.errors = capped(rejected_lines, outcome.rejected)
    if duplicates:
        outcome.warnings.append(
            DUPLICATE_KEYS.format(count=duplicates, key=kind.key_fields, index=first_duplicate)
        )
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


def push_events(
    *, context: PushContext, body: bytes, fmt: str, kind: RowKind = REFERRALS
) -> PushOutcome:
    """Validate, normalize and store one batch, all or nothing; raises PushError on refusal."""
    with gc_paused():
        return _push_events(context=context, body=body, fmt=fmt, kind=kind)


def _push_events(*, context: PushContext, body: bytes, fmt: str, kind: RowKind) -> PushOutcome:
    rows, warnings = events_parse(body, fmt, kind.schema)
    normalized = events_normalize(rows, warnings, kind)
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
        upsert.rows_upsert(
            connection=context.connection, rows=normalized.rows, now=now, target=kind.target
        )
        if kind.after_upsert is not None and normalized.rows:
            kind.after_upsert(context.connection, {row.date for row, _ in normalized.rows})
        upsert.dropped_tally(
            connection=context.connection, dropped=normalized.dropped, now=now, target=kind.tally
        )
        _log_and_mark(context, 200, len(rows), normalized.outcome, batch_id, "", now)

    try:
        upsert.with_retries(write)
    except DatabaseError as exc:
        if not _out_of_range(exc):
            raise
        raise PushError(422, SUMS_OUT_OF_RANGE) from exc
    return normalized.outcome


def _out_of_range(exc: DatabaseError) -> bool:
    """A sum past the 64-bit integers, in a rollup's upsert or recount: PostgreSQL's
    numeric_value_out_of_range (22003), a rollup's range check on SQLite (models.sums_in_range:
    "CHECK constraint failed: daily_platform_total_sessions_in_range"), SQLite's sum()
    "integer overflow". Each metric is at most 2**63 - 1 (the contract's int64), so two of
    them can add up past it."""
    message = str(exc)
    return (
        getattr(exc.__cause__, "sqlstate", None) == "22003"
        or "integer overflow" in message
        or (isinstance(exc, IntegrityError) and message.endswith(SUM_IN_RANGE))
    )


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
