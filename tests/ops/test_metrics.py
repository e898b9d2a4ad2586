"""/metrics: off without METRICS_TOKEN, a bearer token, and the numbers of a real push.

Across gunicorn workers: tests/ops/test_metrics_gunicorn.py.
"""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import (
    CHROME_UA,
    agent_connection_make,
    agent_event,
    agent_push,
    event,
    push,
)

pytestmark = pytest.mark.django_db
TOKEN = "metrics-secret"


def scrape(client) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", ["", "Bearer wrong", f"Basic {TOKEN}", "Bearer"])
def test_metrics_refuse_a_wrong_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_push_is_counted(
    client, settings, api_client, connection, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    batch = [event(raw_page_value=f"/p/{i}") for i in range(3)]
    batch.append(event(raw_referrer_value="google.com"))
    with django_capture_on_commit_callbacks(execute=True):
        response = push(api_client, connection, batch)
        assert response.status_code == 200
        assert push(api_client, connection, "not a list").status_code == 400
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    provider, kind = connection.provider, "referral"
    assert delta("referrals_pushes_total", status="200", kind=kind, provider=provider) == 1
    assert delta("referrals_pushes_total", status="400", kind=kind, provider=provider) == 1
    assert delta("referrals_push_rows_total", outcome="accepted", kind=kind, provider=provider) == 3
    assert delta("referrals_push_rows_total", outcome="rejected", kind=kind, provider=provider) == 1
    assert delta("referrals_push_duration_seconds_count", provider=provider) == 2
    assert delta("referrals_push_events_count", provider=provider) == 2
    assert delta("referrals_push_events_sum", provider=provider) == 4
    assert delta("referrals_push_events_bucket", provider=provider, le="10.0") == 2
    assert delta("referrals_http_responses_total", status_class="2xx") == 1  # scrapes excluded
    assert delta("referrals_http_responses_total", status_class="4xx") == 1


def test_an_agent_push_is_counted_by_kind(
    client, settings, api_client, brand, connection, django_capture_on_commit_callbacks
):
    """Agent-traffic pushes are counted apart from referral pushes (label `kind`), even on a
    provider both kinds have (`other`)."""
    settings.METRICS_TOKEN = TOKEN
    agents = agent_connection_make(brand, website="example.com", provider="other")
    before = scrape(client)
    batch = [agent_event(raw_page_value=f"/p/{i}") for i in range(4)]
    batch.append(agent_event(raw_user_agent=CHROME_UA))
    with django_capture_on_commit_callbacks(execute=True):
        assert agent_push(api_client, agents, batch).status_code == 200
        assert agent_push(api_client, agents, [{"date": "x"}]).status_code == 422
        assert push(api_client, connection, [event()]).status_code == 200
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    agent = {"kind": "agent", "provider": "other"}
    assert delta("referrals_pushes_total", status="200", **agent) == 1
    assert delta("referrals_pushes_total", status="422", **agent) == 1
    assert delta("referrals_push_rows_total", outcome="accepted", **agent) == 4
    assert delta("referrals_push_rows_total", outcome="rejected", **agent) == 1
    assert (
        delta("referrals_pushes_total", status="200", kind="agent", provider="adobe_analytics") == 0
    )
    referral = {"kind": "referral", "provider": connection.provider}
    assert delta("referrals_pushes_total", status="200", **referral) == 1
    assert delta("referrals_push_rows_total", outcome="accepted", **referral) == 1


def test_rate_limited_requests_are_counted(client, settings, api_client, connection):
    settings.METRICS_TOKEN = TOKEN
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "push": "1/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    before = value(scrape(client), "referrals_rate_limited_requests_total", scope="push")
    statuses = [push(api_client, connection, [event()]).status_code for _ in range(3)]
    assert statuses.count(429) >= 2
    after = value(scrape(client), "referrals_rate_limited_requests_total", scope="push")
    assert after - before == statuses.count(429)
