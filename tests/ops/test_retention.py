"""Retention: `prune` deletes old push logs and rare dropped referrers, in batches, per brand;
the tally counts host + path; migration 0011 folds the tallies stored before."""

import importlib
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.utils import timezone

from referrals.models import Brand, Connection, DroppedReferrer, DroppedUserAgent, PushLog
from referrals.ops.retention import dropped_referrers_prune, push_logs_prune
from tests.factories import agent_connection_make, agent_event, agent_push, event, push

pytestmark = pytest.mark.django_db
fold_migration = importlib.import_module("referrals.migrations.0013_dropped_referrer_host_path")


def push_log(connection, days_ago: int) -> PushLog:
    log = PushLog.objects.create(
        brand_id=connection.brand_id, connection=connection, status_code=200
    )
    PushLog.objects.filter(pk=log.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return log


def tally(connection, raw: str, count: int) -> DroppedReferrer:
    now = timezone.now()
    return DroppedReferrer.objects.create(
        brand_id=connection.brand_id,
        connection=connection,
        raw_referrer_value=raw,
        count=count,
        first_seen_at=now,
        last_seen_at=now,
    )


@pytest.fixture
def other_connection(other_brand):
    return Connection.objects.create(
        brand=other_brand, website="example.org", provider="adobe_analytics"
    )


def test_push_logs_older_than_the_cutoff_go_in_batches(connection, other_connection):
    old = [push_log(c, 100) for c in (connection, other_connection) for _ in range(5)]
    recent = [push_log(c, 10) for c in (connection, other_connection)]
    cutoff = timezone.now() - timedelta(days=90)
    assert push_logs_prune(older_than=cutoff, dry_run=True) == len(old)
    assert PushLog.objects.count() == len(old) + len(recent)
    assert push_logs_prune(older_than=cutoff, batch_size=2) == len(old)
    assert set(PushLog.objects.values_list("pk", flat=True)) == {log.pk for log in recent}


def test_each_connection_keeps_its_most_frequent_dropped_referrers(connection, other_connection):
    for i in range(6):
        tally(connection, f"site{i}.example", count=i + 1)
    tally(other_connection, "lonely.example", count=1)
    assert dropped_referrers_prune(keep=2, dry_run=True) == 4
    assert dropped_referrers_prune(keep=2, batch_size=3) == 4
    kept = DroppedReferrer.objects.filter(connection=connection)
    assert sorted(kept.values_list("raw_referrer_value", flat=True)) == [
        "site4.example",
        "site5.example",
    ]
    assert DroppedReferrer.objects.filter(connection=other_connection).count() == 1


def test_dropped_user_agents_are_pruned_as_dropped_referrers(api_client, brand, settings):
    """Every distinct browser user agent in a CDN log is a tally of the agent connection: the
    table grew without bound, since prune trimmed only the dropped referrers."""
    settings.DROPPED_REFERRERS_PER_CONNECTION = 2
    agents = agent_connection_make(brand)
    browsers = [f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{v}.0" for v in range(100, 106)]
    batch = [agent_event(raw_user_agent=ua, hits=1) for ua in browsers]
    for repeat in range(1, 7):  # the i-th browser dropped i times
        batch = [e for e in batch if e["raw_user_agent"] in browsers[repeat - 1 :]]
        assert agent_push(api_client, agents, batch).json()["rejected"] == len(batch)
    assert DroppedUserAgent.objects.count() == 6
    out = StringIO()
    call_command("prune", stdout=out)
    assert "4 dropped user agents beyond the top 2 per connection" in out.getvalue()
    assert sorted(DroppedUserAgent.objects.values_list("raw_user_agent", flat=True)) == browsers[4:]


def test_prune_command_reads_the_settings(connection, settings):
    settings.PUSH_LOG_RETENTION_DAYS = 30
    settings.DROPPED_REFERRERS_PER_CONNECTION = 1
    push_log(connection, 31)
    push_log(connection, 29)
    tally(connection, "a.example", 5)
    tally(connection, "b.example", 1)
    out = StringIO()
    call_command("prune", stdout=out)
    assert out.getvalue().splitlines() == [
        "deleted 1 push logs older than 30 days and 1 dropped referrers beyond the top 1 "
        "per connection",
        "deleted 0 dropped user agents beyond the top 1 per connection",
    ]
    assert PushLog.objects.count() == 1
    assert list(DroppedReferrer.objects.values_list("raw_referrer_value", flat=True)) == [
        "a.example"
    ]


def test_a_varying_query_string_is_one_tally(api_client, connection):
    batch = [event(raw_referrer_value=f"https://www.google.com/search?q={i}") for i in range(5)]
    assert push(api_client, connection, batch).json()["rejected"] == 5
    push(api_client, connection, [event(raw_referrer_value="google.com/search?q=x")])
    assert list(
        DroppedReferrer.objects.values_list("raw_referrer_value", "count").order_by("-count")
    ) == [("www.google.com/search", 5), ("google.com/search", 1)]


def test_the_migration_folds_stored_tallies_by_host_and_path(connection, other_connection):
    tally(connection, "https://google.com/search?q=1", 2)
    tally(connection, "google.com/search", 3)  # already the key: kept, with the sum
    tally(connection, "https://google.com/search?q=2", 4)
    tally(connection, "https://bing.com/?q=1", 1)
    tally(connection, "https://bing.com/?q=2", 1)
    tally(other_connection, "https://google.com/search?q=1", 7)  # another connection's own
    kept = DroppedReferrer.objects.get(raw_referrer_value="google.com/search")
    fold_migration.fold(apps, SimpleNamespace(connection=db))
    rows = DroppedReferrer.objects.values_list("connection_id", "raw_referrer_value", "count")
    assert sorted(rows) == sorted(
        [
            (connection.pk, "google.com/search", 9),
            (connection.pk, "bing.com", 2),
            (other_connection.pk, "google.com/search", 7),
        ]
    )
    assert DroppedReferrer.objects.filter(pk=kept.pk).exists()
    fold_migration.fold(apps, SimpleNamespace(connection=db))  # a second run changes nothing
    assert sorted(rows) == sorted(
        DroppedReferrer.objects.values_list("connection_id", "raw_referrer_value", "count")
    )


def test_prune_refuses_nonsense(db):
    with pytest.raises(Exception, match="at least 1"):
        call_command("prune", "--days", "0")
    assert Brand.objects.count() == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--batch-size", str(2**63)],  # PostgreSQL: "bigint out of range" (a traceback)
        ["--keep-dropped", str(2**63)],
        ["--days", str(10**20)],  # OverflowError from timedelta (a traceback)
        ["--days", "800000"],  # a cutoff before year 1
        ["--pause", "-1"],  # ValueError from time.sleep
        ["--pause", "nan"],
    ],
)
def test_prune_refuses_out_of_range_values_with_a_message(db, args):
    with pytest.raises(CommandError, match="must be"):
        call_command("prune", *args)
