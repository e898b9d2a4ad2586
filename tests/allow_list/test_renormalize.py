"""renormalize_referrers re-applies the allow-list to stored rows."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from referrals.models import (
    AIPlatform,
    AIPlatformEntry,
    ReferralRow,
    SitemapPage,
    page_key,
)

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
