"""How long a long command rests between its batches, so the pushes running beside it keep
their usual speed.

Three limits, each optional, the longest rest wins:

- `pause`: a fixed number of seconds after every batch;
- `pause_factor`: the time the batch took, times this factor (pt-archiver's `--sleep-coef`):
  with 1, the command works at most half of the time. It follows the server's load by
  itself: when pushes make the batches slower, the rests grow with them;
- `max_wal_rate`: bytes of WAL per second (PostgreSQL). A bulk UPDATE's cost to the pushes is
  mostly I/O (WAL flushes, checkpoints, dirty buffers a push must write out to find a free
  one), and WAL volume measures it: after each batch the command rests until the WAL written
  during the batch (pg_current_wal_insert_lsn(), the whole server's, so concurrent pushes
  count too and the command yields more when they are busy) fits the rate. On Citus the
  coordinator's WAL does not show the workers' writes; use `pause_factor` there.
"""

import time
from collections.abc import Callable

from django.db import connection as default_connection


def _wal_position(db) -> int | None:
    """The server's WAL insert position in bytes, None where there is none to read."""
    if db.vendor != "postgresql":
        return None
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


class Throttle:
    """Use as `with throttle.batch(): ...` around each batch; it rests after it."""

    def __init__(
        self,
        *,
        pause: float = 0.0,
        pause_factor: float = 0.0,
        max_wal_rate: float = 0.0,
        db=None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.pause, self.pause_factor, self.max_wal_rate = pause, pause_factor, max_wal_rate
        self.db = db or default_connection
        self.sleep = sleep
        self.rested = 0.0  # seconds, over the whole run

    def rest_after(self, seconds: float, wal_bytes: int | None) -> float:
        """The rest after a batch that took `seconds` and wrote `wal_bytes` of WAL."""
        rest = max(self.pause, self.pause_factor * seconds)
        if self.max_wal_rate and wal_bytes:
            rest = max(rest, wal_bytes / self.max_wal_rate - seconds)
        return rest

    def batch(self) -> "_Batch":
        return _Batch(self)


class _Batch:
    def __init__(self, throttle: Throttle):
        self.throttle = throttle

    def __enter__(self) -> None:
        throttle = self.throttle
        self.wal = _wal_position(throttle.db) if throttle.max_wal_rate else None
        self.started = time.monotonic()

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            return  # interrupted or failed: no rest, the error goes on
        throttle = self.throttle
        seconds = time.monotonic() - self.started
        wal = None
        if self.wal is not None:
            wal = _wal_position(throttle.db) - self.wal
        rest = throttle.rest_after(seconds, wal)
        if rest > 0:
            throttle.rested += rest
            throttle.sleep(rest)
