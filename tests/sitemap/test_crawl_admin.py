"""The admin's "Crawl now": starts crawl_site in a process of its own, once per website."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from referrals.models import Connection, WebsiteCrawl
from referrals.sitemap.crawl import background

pytestmark = [pytest.mark.django_db, pytest.mark.admin_fan_out]  # the admin lists across brands


@pytest.fixture
def launched(monkeypatch):
    """The commands the action would start (the crawl itself is tested in test_crawl)."""
    commands = []
    monkeypatch.setattr(background, "launch", commands.append)
    return commands


def crawl_now(admin_client, *connections):
    return admin_client.post(
        reverse("admin:referrals_connection_changelist"),
        {"action": "crawl_now", "_selected_action": [c.pk for c in connections]},
        follow=True,
    )


def test_crawl_now_starts_one_crawl_per_website(admin_client, brand, connection, launched):
    response = crawl_now(admin_client, connection)
    assert "Crawl started for example.com" in response.content.decode()
    [command] = launched
    assert command[1].endswith("manage.py")
    assert command[2:] == ["crawl_site", "--brand", str(brand.pk), "--website", "example.com"]
    state = WebsiteCrawl.objects.get(brand=brand, website="example.com")
    assert state.status == "queued" and state.started_at is not None
    # Queued (or running): not started twice.
    response = crawl_now(admin_client, connection)
    assert "already under way" in response.content.decode()
    assert len(launched) == 1


def test_a_stale_crawl_can_be_restarted(admin_client, brand, connection, launched):
    WebsiteCrawl.objects.create(
        brand=brand,
        website="example.com",
        status="running",
        started_at=timezone.now() - background.STALE_AFTER - timedelta(minutes=1),
    )
    crawl_now(admin_client, connection)
    assert len(launched) == 1


def test_crawl_state_shows_in_the_admin(admin_client, brand, connection):
    state = WebsiteCrawl.objects.create(
        brand=brand, website="example.com", status="running", pages_found=10, pages_crawled=4
    )
    response = admin_client.get(reverse("admin:referrals_websitecrawl_changelist"))
    assert "4 / 10 pages" in response.content.decode()
    detail = admin_client.get(reverse("admin:referrals_websitecrawl_change", args=[state.pk]))
    assert detail.status_code == 200


def test_two_connections_of_one_website_start_one_crawl(admin_client, brand, launched):
    old = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics", status="disabled"
    )
    new = Connection.objects.create(brand=brand, website="example.com", provider="adobe_analytics")
    crawl_now(admin_client, old, new)
    assert len(launched) == 1
