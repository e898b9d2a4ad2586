"""Rate limits: per API key and scope, fixed windows counted in the cache, 429 + Retry-After.

Across gunicorn workers: reliability/rate_limit.py (tests/test_reliability_fast.py).
"""

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connections as db_connections
from rest_framework.test import APIClient

from referrals.tenancy.services import api_key_create
from referrals.tenancy.throttling import ApiKeyRateThrottle

pytestmark = pytest.mark.django_db

DAY = 1_799_971_200  # midnight UTC: a window starts here whatever the period


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, set by the test: clock[0] is the time in seconds. The counters
    still expire on the real clock, a window's length after their first request."""
    now = [float(DAY)]
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def rates(settings):
    def set_rates(**scopes: str) -> None:
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**current, **scopes},
        }

    return set_rates


def connections_url(brand) -> str:
    return f"/v1/{brand.pk}/ai-referrals/connections"


def events_url(connection) -> str:
    return f"/v1/{connection.brand_id}/ai-referrals/connections/{connection.pk}/events"


@pytest.mark.parametrize(
    ("rate", "offset", "retry_after"),
    [
        ("2/min", 10.2, "50"),
        ("2/hour", 600, "3000"),
        ("2/day", 3600, "82800"),
    ],
)
def test_over_the_limit_is_429_with_retry_after_the_rest_of_the_window(
    api_client, brand, clock, rates, rate, offset, retry_after
):
    rates(api_key=rate)
    clock[0] = DAY + offset
    assert [api_client.get(connections_url(brand)).status_code for _ in range(2)] == [200, 200]
    refused = api_client.get(connections_url(brand))
    assert refused.status_code == 429
    assert refused["Retry-After"] == retry_after
    assert refused.json()["detail"].startswith("Request was throttled.")


def test_a_one_second_window(api_client, brand, rates):
    # On the real clock: the counter expires on it (the frozen clock would outlive it).
    rates(api_key="2/s")
    time.sleep(1.02 - time.time() % 1)  # early in a second: three requests fit in it
    statuses = [api_client.get(connections_url(brand)) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert statuses[-1]["Retry-After"] == "1"


def test_a_new_window_starts_a_new_count(api_client, brand, clock, rates):
    rates(api_key="2/min")
    clock[0] = DAY + 59.5
    assert [api_client.get(connections_url(brand)).status_code for _ in range(3)] == [200, 200, 429]
    assert api_client.get(connections_url(brand))["Retry-After"] == "1"
    clock[0] = DAY + 60
    assert [api_client.get(connections_url(brand)).status_code for _ in range(3)] == [200, 200, 429]


def test_the_limit_is_per_api_key_not_per_address(api_client, brand, organization, clock, rates):
    rates(api_key="1/min")
    assert api_client.get(connections_url(brand), REMOTE_ADDR="10.0.0.1").status_code == 200
    assert api_client.get(connections_url(brand), REMOTE_ADDR="10.0.0.2").status_code == 429
    other = APIClient()
    token = api_key_create(organization=organization, name="other", scopes=["query"]).token
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert other.get(connections_url(brand), REMOTE_ADDR="10.0.0.1").status_code == 200


def test_pushes_and_other_requests_count_apart(api_client, brand, connection, clock, rates):
    rates(api_key="1/min", push="1/min")
    assert api_client.get(connections_url(brand)).status_code == 200
    assert api_client.get(connections_url(brand)).status_code == 429
    # An empty body is a 400 from the view: the throttle let the push through.
    empty = api_client.post(events_url(connection), b"", content_type="application/json")
    assert empty.status_code == 400
    again = api_client.post(events_url(connection), b"", content_type="application/json")
    assert again.status_code == 429


def test_the_counter_is_the_caches_incr():
    with pytest.raises(ValueError):
        cache.incr("absent")
    assert cache.add("counter", 1, 60)
    assert not cache.add("counter", 1, 60)  # the window's counter exists: add is refused
    assert cache.incr("counter") == 2
    assert cache.incr("counter", 5) == 7
    assert cache.get("counter") == 7
    cache.set("expired", 1, -1)
    with pytest.raises(ValueError):
        cache.incr("expired")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_lose_no_count():
    # Django's DatabaseCache.incr() reads then writes; ours compares and sets.
    cache.add("busy", 0, 60)
    barrier = threading.Barrier(8)
    results = []

    def increment():
        barrier.wait()
        try:
            results.extend(cache.incr("busy") for _ in range(25))
        finally:
            db_connections.close_all()

    threads = [threading.Thread(target=increment) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("busy") == 200
    assert sorted(results) == list(range(1, 201))  # every increment saw its own count
    cache.delete("busy")
