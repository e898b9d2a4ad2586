"""Citus: a brand's data sits on one shard of each table, all on one node, and the push, the
API and the dashboard reach it without touching another shard."""

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_started
from django.db import InternalError, transaction
from django.db import connection as db
from django.urls import reverse
from rest_framework.test import APIClient

from referrals.models import (
    Brand,
    Connection,
    DailyPlatformTotal,
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from referrals.tenancy.services import api_key_create
from tests.conftest import SINGLE_SHARD
from tests.factories import ai_platform_ensure, event, push

pytestmark = [pytest.mark.citus, pytest.mark.usefixtures("no_push_rate_limit")]

DISTRIBUTED = (ReferralRow, SitemapPage, DailyPlatformTotal, PushLog, DroppedReferrer)
EVENTS = [
    event(date="2026-05-01", raw_referrer_value="chatgpt.com", raw_page_value="/a"),
    event(date="2026-05-02", raw_referrer_value="claude.ai", raw_page_value="/b"),
    event(date="2026-05-02", raw_referrer_value="google.com", raw_page_value="/b"),  # dropped
]


def client_of(brand: Brand) -> APIClient:
    scopes = ["configure", "query"]
    key = api_key_create(organization=brand.organization, name="etl", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")
    return client


@pytest.fixture
def pushed(brand, other_brand) -> dict[int, Connection]:
    """A connection per brand, with rows, pages, totals, a push log and a dropped referrer."""
    # The platforms pushed to (an earlier transactional test's flush removes the seed).
    ai_platform_ensure("chatgpt", "ChatGPT", "chatgpt.com")
    ai_platform_ensure("claude", "Claude", "claude.ai")
    connections = {}
    for each in (brand, other_brand):
        connection = Connection.objects.create(
            brand=each, website="example.com", provider="adobe_analytics"
        )
        assert push(client_of(each), connection, EVENTS).status_code == 200
        connections[each.pk] = connection
    return connections


@pytest.fixture
def levels() -> list[str]:
    """citus.multi_task_query_log_level as each request starts (after conftest's SET)."""
    seen = []

    def record(sender, **kwargs):
        with db.cursor() as cursor:
            cursor.execute("SHOW citus.multi_task_query_log_level")
            seen.append(cursor.fetchone()[0])

    request_started.connect(record)
    yield seen
    request_started.disconnect(record)


def shards_holding(model, brand_id: int) -> set[int]:
    """The shards of a table that hold rows of the brand, asked of every shard."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT shardid FROM run_command_on_shards(%s, "
            "$$SELECT count(*) FROM %%s WHERE brand_id = " + str(int(brand_id)) + "$$) "
            "WHERE result::bigint > 0",
            [model._meta.db_table],
        )
        return {shard for (shard,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)  # run_command_on_shards reads on other connections
def test_each_brand_is_on_one_shard_of_each_table_all_on_one_node(pushed):
    for brand_id in pushed:
        shards = []
        for model in DISTRIBUTED:
            with db.cursor() as cursor:
                cursor.execute(
                    "SELECT get_shard_id_for_distribution_column(%s, %s)",
                    [model._meta.db_table, brand_id],
                )
                [shard] = cursor.fetchone()
            assert shards_holding(model, brand_id) == {shard}, model.__name__
            shards.append(shard)
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT groupid FROM pg_dist_placement WHERE shardid = ANY(%s)", [shards]
            )
            assert len(cursor.fetchall()) == 1  # colocated: one node holds them all


def test_the_push_the_api_and_the_dashboard_touch_one_shard(pushed, brand, levels, client):
    connection = pushed[brand.pk]
    api = client_of(brand)
    page = SitemapPage.objects.get(brand=brand, raw_page_value="/a")
    base = f"/v1/{brand.pk}"
    window = {"start_date": "2026-05-01", "end_date": "2026-05-28"}
    assert push(api, connection, EVENTS).status_code == 200
    for path in (
        f"{base}/sitemap/pages",
        f"{base}/sitemap/pages/{page.pk}",
        f"{base}/sitemap/pages/{page.pk}/metrics",
        f"{base}/sitemap/export",
        f"{base}/ai-referrals/connections",
        f"{base}/ai-referrals/connections/{connection.pk}",
    ):
        response = api.get(path, window)
        assert response.status_code == 200, (path, response.content)
    created = api.post(
        f"{base}/ai-referrals/connections",
        {"website": "shop.example", "provider": "adobe_analytics"},
        format="json",
    )
    assert created.status_code == 201, created.content
    disabled = api.delete(f"{base}/ai-referrals/connections/{created.json()['id']}")
    assert disabled.status_code == 200
    member = get_user_model().objects.create_user("ana")
    brand.organization.members.add(member)
    client.force_login(member)
    for name in ("dashboard", "dashboard-export"):
        response = client.get(reverse(name), {"brand": brand.pk, **window})
        assert response.status_code == 200, name
    assert len(levels) == 11
    assert set(levels) == {"error"}


def test_a_query_across_brands_fails_under_the_setting(pushed):
    """What makes the test above a proof: the setting refuses a query of several shards."""
    with transaction.atomic(), db.cursor() as cursor:
        cursor.execute(SINGLE_SHARD.replace("SET", "SET LOCAL"))
        with pytest.raises(InternalError, match="multi-task query"), transaction.atomic():
            ReferralRow.objects.count()
