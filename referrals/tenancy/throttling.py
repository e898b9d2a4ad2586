"""Per-API-key rate limits, counted in the database so every worker process shares them."""

import math
import time

from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from referrals.models import RateLimitCounter

_TABLE = RateLimitCounter._meta.db_table
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/min' -> (120, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def counter_hit(*, key: str, window: int) -> tuple[int, int]:
    """Count one request in the current fixed window; (count so far, window start)."""
    start = int(time.time()) // window * window
    with connection.cursor() as cursor:  # one atomic statement, no transaction needed
        cursor.execute(
            f"INSERT INTO {_TABLE} (key, window_start, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (key) DO UPDATE SET "
            f"count = CASE WHEN {_TABLE}.window_start = excluded.window_start "
            f"THEN {_TABLE}.count + 1 ELSE 1 END, window_start = excluded.window_start "
            f"RETURNING count",
            [key, start],
        )
        return cursor.fetchone()[0], start


class ApiKeyRateThrottle(BaseThrottle):
    """Fixed window per key and scope; decided before the request body is read."""

    scope = "api_key"

    def allow_request(self, request, view) -> bool:
        if request.auth is None:
            return True
        limit, window = parse_rate(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        count, start = counter_hit(key=f"{self.scope}:{request.auth.pk}", window=window)
        self._wait = max(1, math.ceil(start + window - time.time()))
        return count <= limit

    def wait(self) -> float:
        return self._wait


class PushRateThrottle(ApiKeyRateThrottle):
    scope = "push"
