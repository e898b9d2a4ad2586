"""The rollups (kept by triggers on the rows) equal a GROUP BY of the counted rows."""

import random

import pytest
from django.core.management import call_command
from django.db import connection as db
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals.connections.services import connection_register
from referrals.db.rollup import rollup_fill
from referrals.models import (
    AIPlatform,
    AIPlatformEntry,
    DailyPlatformTotal,
    MonthlyPageTotal,
    ReferralRow,
)
from tests.factories import (
    event,
    page_rollup_from_rows,
    page_rollup_stored,
    push,
    rollup_from_rows,
    rollup_stored,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_push_rate_limit")]

REFERRERS = [
    "chatgpt.com",
    "https://chat.openai.com/",
    "claude.ai",
    "perplexity",
    "https://www.perplexity.ai/search?q=x",
    "gemini.google.com",
    "chat.example",  # its allow-list entry moves between platforms in the property test
    "google.com",  # never matches: rejected, never stored
]


# Days on both sides of month ends (and a leap day): the monthly page rollup's groups.
DAYS = ["2024-02-29", "2026-04-30", "2026-05-01", "2026-05-02", "2026-05-31", "2026-06-01"]


def rollups_equal_the_rows(connection) -> bool:
    return rollup_stored(connection) == rollup_from_rows(connection) and page_rollup_stored(
        connection
    ) == page_rollup_from_rows(connection)


def random_batch(rng: random.Random, size: int, days: list[str] | None = None) -> list[dict]:
    return [
        event(
            date=rng.choice(days) if days else f"2026-05-{rng.randint(1, 4):02d}",
            raw_referrer_value=rng.choice(REFERRERS),
            raw_page_value=f"/p/{rng.randrange(6)}",
            sessions=rng.choice([None, 0, rng.randrange(100)]),
            pageviews=rng.choice([None, rng.randrange(300)]),
            transactions=rng.choice([None, rng.randrange(4)]),
            purchase_revenue=rng.choice([None, round(rng.random() * 500, 4)]),
        )
        for _ in range(size)
    ]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), pushes=st.integers(1, 6))
def test_rollup_equals_the_rows_after_any_sequence_of_pushes(api_client, connection, seed, pushes):
    ReferralRow.objects.filter(connection=connection).delete()
    DailyPlatformTotal.objects.filter(connection=connection).delete()
    MonthlyPageTotal.objects.filter(connection=connection).delete()
    rng = random.Random(seed)
    platforms = {p.slug: p for p in AIPlatform.objects.filter(slug__in=["claude", "chatgpt"])}
    # Examples share the test's transaction: start each from the same allow-list.
    AIPlatform.objects.filter(slug__in=["claude", "perplexity"]).update(active=True)
    entry, _ = AIPlatformEntry.objects.update_or_create(
        value="chat.example", defaults={"platform": platforms["claude"]}
    )
    for _ in range(pushes):
        action = rng.random()
        if action < 0.3:  # stored rows now belong to another platform until renormalized
            entry.platform = platforms[rng.choice(["claude", "chatgpt"])]
            entry.save()
        elif action < 0.45:  # the allow-list changes and rows are not renormalized (yet)
            AIPlatform.objects.filter(slug=rng.choice(["claude", "perplexity"])).update(
                active=rng.random() < 0.5
            )
        elif action < 0.55:  # stored rows follow the allow-list
            call_command("renormalize_referrers", stdout=None)
        elif action < 0.65:  # some rows go (the ORM's delete, as the admin's tools do)
            ReferralRow.objects.filter(
                connection=connection, raw_page_value=f"/p/{rng.randrange(6)}"
            ).delete()
        query = "?dry_run=true" if action > 0.9 else ""
        batch = random_batch(rng, rng.randint(1, 40), DAYS)
        response = push(api_client, connection, batch, query=query)
        assert response.status_code == 200, response.content
        assert rollups_equal_the_rows(connection)


def test_a_moved_referrer_leaves_its_old_platform_group(api_client, connection):
    """A stored row re-matched to another platform: the old (day, platform) group goes away."""
    push(api_client, connection, [event(raw_referrer_value="chat.example", sessions=5)])
    assert rollup_stored(connection) == {}  # not on the allow-list: rejected
    claude = AIPlatform.objects.get(slug="claude")
    AIPlatformEntry.objects.create(platform=claude, value="chat.example")
    push(api_client, connection, [event(raw_referrer_value="chat.example", sessions=5)])
    assert {platform for _, platform in rollup_stored(connection)} == {claude.pk}
    entry = AIPlatformEntry.objects.get(value="chat.example")
    entry.platform = AIPlatform.objects.get(slug="chatgpt")
    entry.save()
    push(api_client, connection, [event(raw_referrer_value="chat.example", sessions=6)])
    assert rollup_stored(connection) == rollup_from_rows(connection)
    assert {platform for _, platform in rollup_stored(connection)} == {entry.platform_id}


def test_a_retried_batch_writes_nothing_to_the_rollup(api_client, connection):
    batch = random_batch(random.Random(7), 30)
    push(api_client, connection, batch)
    before = list(DailyPlatformTotal.objects.order_by("pk").values_list())
    assert before
    push(api_client, connection, list(reversed(batch)))
    assert list(DailyPlatformTotal.objects.order_by("pk").values_list()) == before


def test_renormalize_moves_the_rollup_with_the_rows(api_client, connection):
    push(api_client, connection, random_batch(random.Random(3), 40))
    AIPlatform.objects.filter(slug="claude").update(active=False)
    call_command("renormalize_referrers", stdout=None)
    assert rollups_equal_the_rows(connection)
    claude = AIPlatform.objects.get(slug="claude")
    assert all(platform != claude.pk for _, platform in rollup_stored(connection))


def test_deleting_rows_or_their_connection_keeps_the_rollup_right(api_client, connection, brand):
    other = connection_register(brand=brand, website="other.example", provider="adobe_analytics")
    push(api_client, connection, random_batch(random.Random(1), 30))
    push(api_client, other, random_batch(random.Random(2), 30))
    theirs = rollup_stored(other)
    ReferralRow.objects.filter(connection=connection, raw_page_value="/p/1").delete()
    assert rollups_equal_the_rows(connection)
    ReferralRow.objects.filter(connection=connection).update(sessions=3)
    assert rollups_equal_the_rows(connection)
    ReferralRow.objects.filter(connection=connection).delete()
    assert rollup_stored(connection) == {}
    assert page_rollup_stored(connection) == {}
    other.delete()  # the rows and the rollups of a deleted connection go, in either order
    assert not DailyPlatformTotal.objects.exists()
    assert not MonthlyPageTotal.objects.exists()
    assert theirs


def test_the_fill_groups_the_rows_as_the_triggers_do(connection, api_client):
    """The fill migration 0005 runs groups the rows stored before it; run again, it agrees."""
    push(api_client, connection, random_batch(random.Random(5), 40))
    before = rollup_stored(connection), page_rollup_stored(connection)
    for totals in (DailyPlatformTotal, MonthlyPageTotal):
        totals.objects.all().delete()
        rollup_fill(db=db, rows=ReferralRow, totals=totals)
    assert (rollup_stored(connection), page_rollup_stored(connection)) == before
    assert rollups_equal_the_rows(connection)
