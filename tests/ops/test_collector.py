"""Requests run with the cyclic garbage collector paused and leave it as they found it."""

import gc

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test.signals import template_rendered

from tests.factories import seed_example

pytestmark = pytest.mark.django_db

PAUSE = "referrals.ops.collector.GcPauseMiddleware"
URL = "/dashboard/?start_date=2026-05-01&end_date=2026-05-28"


@pytest.fixture
def dashboard_client(client, connection):
    seed_example(connection)
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


@pytest.fixture
def collector_while_rendering():
    """Whether the collector was on as each template of the request was rendered."""
    seen: list[bool] = []

    def record(sender, **kwargs) -> None:
        seen.append(gc.isenabled())

    template_rendered.connect(record)
    yield seen
    template_rendered.disconnect(record)


def test_the_pause_wraps_every_other_middleware():
    assert django_settings.MIDDLEWARE[0] == PAUSE


def test_a_page_view_renders_with_the_collector_paused(dashboard_client, collector_while_rendering):
    response = dashboard_client.get(URL)
    assert response.status_code == 200
    assert b"AI sessions" in response.content
    assert collector_while_rendering and not any(collector_while_rendering)
    assert gc.isenabled()


def test_without_the_middleware_the_collector_runs(
    dashboard_client, collector_while_rendering, settings
):
    """The check above can fail: the same request without the middleware renders with it on."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != PAUSE]
    assert dashboard_client.get(URL).status_code == 200
    assert collector_while_rendering and all(collector_while_rendering)


def test_a_not_found_request_enables_the_collector_again(client):
    assert client.get("/no-such-page/").status_code == 404
    assert gc.isenabled()


def test_a_request_leaves_a_paused_collector_paused(client):
    gc.disable()
    try:
        assert client.get("/healthz").status_code == 200
        assert not gc.isenabled()
    finally:
        gc.enable()
