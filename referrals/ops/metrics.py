"""Prometheus metrics: what an operator of the push service watches, and the /metrics view.

Under gunicorn every worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set
(gunicorn.conf.py sets one up) each writes its samples to files there and a scrape, whichever
worker answers it, adds up every worker's files, those of exited workers included, so totals
never go back when a worker is restarted. Without it (runserver, tests) the process's own
registry is served.

Instrumentation stays at the edges: the push pipeline calls ops.observe.push_observed once, where it
writes the push log; the throttle counts refusals; the request middleware counts responses;
the API's error handler counts database errors; the crawl (referrals/sitemap/crawl/run.py)
counts its pages and runs. A crawl runs in a process of its own (`manage.py crawl_site`, or the
admin's "Crawl now", started from a gunicorn worker with its environment): with the same
PROMETHEUS_MULTIPROC_DIR as gunicorn its samples join the totals the same way.
"""

import hmac
import os

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# The directory a worker writes its samples to must exist before the first sample.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# `kind`: the connection's kind, "referral" (AI referrals) or "agent" (agent traffic).
PUSHES = Counter(
    "referrals_pushes",
    "Pushes answered, by HTTP status, the connection's kind (referral, agent) and provider "
    "(503s: see database errors).",
    ["status", "kind", "provider"],
)
PUSH_ROWS = Counter(
    "referrals_push_rows",
    "Events of stored pushes, by outcome: accepted (stored) or rejected (no AI platform, or "
    "no active AI agent), by the connection's kind and provider.",
    ["outcome", "kind", "provider"],
)
PUSH_DURATION = Histogram(
    "referrals_push_duration_seconds",
    "Time from the push request reaching the view to its push log being written.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PUSH_SIZE = Histogram(
    "referrals_push_events",
    "Events received per push (those refused before parsing count 0).",
    ["provider"],
    buckets=(0, 1, 10, 100, 1_000, 2_500, 5_000, 10_000),
)
RATE_LIMITED = Counter(
    "referrals_rate_limited_requests",
    "Requests refused with 429, by limit (api_key, push).",
    ["scope"],
)
RESPONSES = Counter(
    "referrals_http_responses",
    "HTTP responses by status class (2xx ... 5xx); probes and scrapes excluded.",
    ["status_class"],
)
DATABASE_ERRORS = Counter(
    "referrals_database_errors",
    "Database errors that reached a response (the API answers 503), by exception class.",
    ["error"],
)
# Labelled, as every metric here: a labelled metric writes no file until it is first used, so
# a management command run with PROMETHEUS_MULTIPROC_DIR in its environment leaves none behind.
DATABASE_RETRIES = Counter(
    "referrals_database_retries",
    "Transactions retried after a deadlock or serialization failure (pushes, renormalize).",
    ["error"],
)

CRAWL_PAGES = Counter(
    "referrals_crawl_pages",
    "Pages a crawl went through, by outcome: the answer's status class (2xx ... 5xx; a 2xx "
    "cut at the size cap is too_large), or robots_disallowed (listed, not fetched), timeout, "
    "network (no answer).",
    ["outcome"],
)
CRAWLS = Counter(
    "referrals_crawls",
    "Crawl runs ended, by result: done, or failed (robots.txt unavailable, an error, interrupted).",
    ["result"],
)
CRAWL_DURATION = Histogram(
    "referrals_crawl_duration_seconds",
    "Wall time of a crawl run, by result (done, failed).",
    ["result"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)


def push_counted(
    *,
    status: int,
    kind: str,
    provider: str,
    received: int,
    accepted: int,
    rejected: int,
    seconds: float,
) -> None:
    """Count one push once its transaction commits (a retried transaction counts once)."""

    def record() -> None:
        PUSHES.labels(status=str(status), kind=kind, provider=provider).inc()
        if accepted:
            PUSH_ROWS.labels(outcome="accepted", kind=kind, provider=provider).inc(accepted)
        if rejected:
            PUSH_ROWS.labels(outcome="rejected", kind=kind, provider=provider).inc(rejected)
        PUSH_DURATION.labels(provider=provider).observe(seconds)
        PUSH_SIZE.labels(provider=provider).observe(received)

    transaction.on_commit(record)


def rate_limited(*, scope: str) -> None:
    RATE_LIMITED.labels(scope=scope).inc()


def response_observed(*, status: int) -> None:
    RESPONSES.labels(status_class=f"{status // 100}xx").inc()


def database_error(*, error: BaseException) -> None:
    DATABASE_ERRORS.labels(error=error.__class__.__name__).inc()


def database_retry(*, error: BaseException) -> None:
    cause = error.__cause__ or error
    DATABASE_RETRIES.labels(error=cause.__class__.__name__).inc()


def crawl_page(*, outcome: str) -> None:
    CRAWL_PAGES.labels(outcome=outcome).inc()


def crawl_finished(*, failed: bool, seconds: float) -> None:
    result = "failed" if failed else "done"
    CRAWLS.labels(result=result).inc()
    CRAWL_DURATION.labels(result=result).observe(seconds)


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = settings.METRICS_TOKEN.encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


@never_cache
def metrics_view(request):
    """The Prometheus text format; 404 while METRICS_TOKEN is unset, 401 without it."""
    if not settings.METRICS_TOKEN:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not _authorized(request):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
