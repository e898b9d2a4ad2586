"""The end of a push, seen from outside: its log line and its metrics, in one call."""

import logging
import time

from referrals.models import Connection
from referrals.ops import metrics

logger = logging.getLogger("referrals.pushes")


def push_observed(
    *,
    connection: Connection,
    status: int,
    received: int,
    accepted: int,
    rejected: int,
    started: float,
) -> None:
    """Log the push (INFO, with brand, connection, status, duration) and count it once its
    transaction commits. Called by the pipeline where it writes the push log."""
    seconds = time.monotonic() - started
    duration_ms = int(seconds * 1000)
    metrics.push_counted(
        status=status,
        kind=connection.kind,
        provider=connection.provider,
        received=received,
        accepted=accepted,
        rejected=rejected,
        seconds=seconds,
    )
    logger.info(
        "push brand=%s connection=%s status=%s received=%s accepted=%s rejected=%s ms=%s",
        connection.brand_id,
        connection.pk,
        status,
        received,
        accepted,
        rejected,
        duration_ms,
        extra={
            "event": "push",
            "brand_id": connection.brand_id,
            "connection_id": connection.pk,
            "status": status,
            "received": received,
            "accepted": accepted,
            "rejected": rejected,
            "duration_ms": duration_ms,
        },
    )
