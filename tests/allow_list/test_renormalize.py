"""renormalize_referrers re-applies the allow-list to stored rows."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.utils import timezone

from referrals.allow_list.renormalize import referrers_renormalize, renormalize_plan
from referrals.db.citus import citus_installed
from referrals.models import (
    AIPlatform,
    AIPlatformEntry,
    Connection,
    ReferralRow,
    SitemapPage,
    page_key,
)
from referrals.ops.throttle import Throttle
from tests.factories import rollup_from_rows, rollup_stored

pytestmark = pytest.mark.django_db


def make_row(connection, referrer, platform, page="/"):
    page_obj, _ = SitemapPage.objects.get_or_create(
        brand=connection.brand,
        website=connection.website,
        page_key=page_key(page),
        defaults={"raw_page_value": page, "url": f"https://x{page}", "path": page, "depth": 0},
    )
    return ReferralRow.objects.create(
        connection=connection,
        brand=connection.brand,
        date=dt.date(2026, 5, 1),
        raw_referrer_value=referrer,
        raw_page_value=page,
        page=page_obj,
        platform=platform,
        sessions=1,
        updated_at=timezone.now(),
    )


def test_renormalize_moves_rows_to_the_current_platform(connection):
    chatgpt = AIPlatform.objects.get(slug="chatgpt")
    claude = AIPlatform.objects.get(slug="claude")
    moved = make_row(connection, "claude.ai", chatgpt)  # wrongly matched before
    kept = make_row(connection, "chatgpt.com", chatgpt, page="/a")
    AIPlatform.objects.filter(slug="perplexity").update(active=False)
    orphan = make_row(connection, "perplexity.ai", AIPlatform.objects.get(slug="perplexity"), "/b")

    dry = StringIO()
    call_command("renormalize_referrers", "--dry-run", stdout=dry)
    assert "would change 2 rows" in dry.getvalue()
    assert ReferralRow.objects.get(pk=moved.pk).platform_id == chatgpt.pk

    out = StringIO()
    call_command("renormalize_referrers", stdout=out)
    assert "'claude.ai': ChatGPT -> Claude" in out.getvalue()
    assert "'perplexity.ai': Perplexity -> (none)" in out.getvalue()
    assert ReferralRow.objects.get(pk=moved.pk).platform_id == claude.pk
    assert ReferralRow.objects.get(pk=kept.pk).platform_id == chatgpt.pk
    assert ReferralRow.objects.get(pk=orphan.pk).platform_id is None

    again = StringIO()
    call_command("renormalize_referrers", stdout=again)
    assert "changed 0 rows" in again.getvalue()


def test_new_entry_picks_up_stored_rows(connection):
    row = make_row(connection, "https://chat.example-ai.com/x", None)
    platform = AIPlatform.objects.create(slug="exampleai", name="Example AI")
    AIPlatformEntry.objects.create(platform=platform, kind="host", value="chat.example-ai.com")
    call_command("renormalize_referrers", stdout=StringIO())
    assert ReferralRow.objects.get(pk=row.pk).platform_id == platform.pk


# --- bounded batches, progress, interruption -----------------------------------------------


class Stop(Exception):
    pass


@pytest.fixture
def misfiled(connection, other_brand):
    """Seven rows whose referrer the allow-list maps to Claude, stored as ChatGPT, two brands."""
    chatgpt = AIPlatform.objects.get(slug="chatgpt")
    other = Connection.objects.create(
        brand=other_brand, website="example.org", provider="adobe_analytics"
    )
    rows = [make_row(connection, "claude.ai", chatgpt, page=f"/{i}") for i in range(5)]
    rows += [make_row(other, "claude.ai", chatgpt, page=f"/{i}") for i in range(2)]
    return rows


def platforms(rows) -> list[str]:
    by_id = dict(ReferralRow.objects.values_list("id", "platform__slug"))
    return [by_id[row.pk] for row in rows]


def test_rows_move_in_ranges_of_the_batch_size(misfiled):
    batches = []
    changes = referrers_renormalize(
        batch_size=2, on_batch=lambda position, rows: batches.append((position, rows))
    )
    assert [(change.raw_referrer_value, change.rows) for change in changes] == [("claude.ai", 7)]
    assert platforms(misfiled) == ["claude"] * 7
    brand_a, brand_b = misfiled[0].brand_id, misfiled[5].brand_id
    assert [(p.brand_id, rows) for p, rows in batches] == [
        (brand_a, 2),
        (brand_a, 2),
        (brand_a, 1),
        (brand_b, 2),
    ]
    for connection in Connection.objects.all():
        assert rollup_stored(connection) == rollup_from_rows(connection)


def test_an_interrupted_run_keeps_what_it_did_and_resumes_with_the_rest(misfiled):
    done = []

    def stop_after_first(position, rows):
        done.append(position)
        raise Stop

    with pytest.raises(Stop):
        referrers_renormalize(batch_size=3, on_batch=stop_after_first)
    assert platforms(misfiled) == ["claude"] * 3 + ["chatgpt"] * 4
    plan = renormalize_plan()  # what is left, and only that
    assert [(c.raw_referrer_value, c.rows) for c in plan.changes] == [("claude.ai", 4)]
    out = StringIO()
    call_command("renormalize_referrers", "--resume", str(done[0]), stdout=out, stderr=StringIO())
    assert "changed 4 rows" in out.getvalue()
    assert platforms(misfiled) == ["claude"] * 7
    for connection in Connection.objects.all():
        assert rollup_stored(connection) == rollup_from_rows(connection)


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [StringIO, Terminal])
def test_progress_shows_rows_rate_and_time_left(misfiled, stream):
    err = stream()
    call_command("renormalize_referrers", "--batch-size", "2", stdout=StringIO(), stderr=err)
    shown = err.getvalue()
    assert "renormalize: 7/7 rows (100.0%)" in shown
    assert "rows/s" in shown and "left" in shown
    assert ("\r" in shown) == (stream is Terminal)


# --- the throttle: rests between batches ---------------------------------------------------


def test_pause_factor_rests_in_proportion_to_each_batch(misfiled):
    rests: list[float] = []
    batches = []
    throttle = Throttle(pause_factor=2.0, sleep=rests.append)
    referrers_renormalize(
        batch_size=2, throttle=throttle, on_batch=lambda position, rows: batches.append(rows)
    )
    assert platforms(misfiled) == ["claude"] * 7
    assert len(rests) == len(batches) == 4  # one rest after every batch
    assert all(rest > 0 for rest in rests)
    assert throttle.rested == pytest.approx(sum(rests))


@pytest.mark.postgres
def test_max_wal_rate_rests_until_the_batch_wal_fits_the_rate(misfiled):
    if citus_installed(db=db_connection):
        pytest.skip("on Citus the rows' WAL is the workers', not the coordinator's (documented)")
    rests: list[float] = []
    throttle = Throttle(max_wal_rate=10.0, sleep=rests.append)  # 10 bytes/s: tiny
    referrers_renormalize(batch_size=3, throttle=throttle)
    assert platforms(misfiled) == ["claude"] * 7
    # Each batch's UPDATE writes WAL (hundreds of bytes at least: row versions and rollup
    # groups), so each rest is long at that rate.
    assert len(rests) == 3 and all(rest > 10 for rest in rests)


def test_the_command_takes_the_throttle_options(misfiled):
    out = StringIO()
    call_command(
        "renormalize_referrers",
        "--pause-factor",
        "0.5",
        "--max-wal-rate",
        "64",
        stdout=out,
        stderr=StringIO(),
    )
    assert "changed 7 rows" in out.getvalue()
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("renormalize_referrers", "--pause-factor", "-1", stdout=StringIO())


def test_a_batch_size_past_a_query_limit_is_refused(misfiled):
    # PostgreSQL refused LIMIT 2**63 with "bigint out of range": a traceback, not a message.
    with pytest.raises(CommandError, match="--batch-size must be at most"):
        call_command("renormalize_referrers", "--batch-size", str(2**63), stdout=StringIO())
