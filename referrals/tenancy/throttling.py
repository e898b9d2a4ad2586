"""Per-API-key rate limits: DRF throttles counting in Django's cache, which all workers share."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from referrals.ops import metrics


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A fixed window per API key and scope, counted exactly however many workers serve it.

    DRF's SimpleRateThrottle keeps a list of request times with a get, then a set: requests on
    two workers at once read the same list and one write is lost, so more than the rate gets
    through. Here a window is one counter, `cache.incr` (made by `cache.add` on the window's
    first request), atomic on Redis, Memcached, the local-memory cache and
    AtomicDatabaseCache. Windows start on multiples of their length (12:00:00, 12:01:00 for
    "/min"); `wait()` is the rest of the window, which DRF sends as `Retry-After`. DRF
    throttles before the view runs, so a refused request's body is never read.
    """

    scope = "api_key"

    def get_rate(self) -> str:
        # Read at each request, not once at import as DRF does, so that settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None:  # no API key: refused before throttling anyway
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.rate is None or self.key is None:
            return True
        self.now = self.timer()
        start = int(self.now) // self.duration * self.duration
        self.window_end = start + self.duration
        key = f"{self.key}_{start}"  # a key per window: nothing is reset, old ones expire
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request (or one racing with it)
            count = 1 if self.cache.add(key, 1, self.duration) else self.cache.incr(key)
        if count > self.num_requests:
            metrics.rate_limited(scope=self.scope)
            return False
        return True

    def wait(self) -> float:
        return self.window_end - self.now


class PushRateThrottle(ApiKeyRateThrottle):
    """The events endpoint's own limit (PUSH_RATE_LIMIT)."""

    scope = "push"
