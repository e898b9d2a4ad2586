"""Spoofed referrers are rejected and tallied at push level; Android app referrers count."""

import pytest

from referrals.ingest.pipeline import NOT_AN_AI_PLATFORM
from referrals.models import AIPlatformEntry, DroppedReferrer, ReferralRow
from tests.allow_list.test_referrer_spoofing import APP_REFERRERS, SPOOFED
from tests.factories import event, push

pytestmark = pytest.mark.django_db

ATTACKS = [
    "https://chatgpt.com%2F@evil.example/",
    "https://chatgpt.com%23@evil.example/",
    "https://chatgpt.com%3F@evil.example/",
    "https://chatgpt.com%5C@evil.example/",
    "https://evil.example/%3Futm_source%3Dchatgpt",
    "https://search.example/?q=a%26utm_source%3Dchatgpt",
]


def test_spoofed_referrers_are_rejected_and_tallied_as_dropped(api_client, connection):
    events = [event(raw_referrer_value="https%3A%2F%2Fchatgpt.com%2F")]
    events += [event(raw_referrer_value=raw) for raw in ATTACKS]

    body = push(api_client, connection, events).json()

    assert (body["accepted"], body["rejected"]) == (1, len(ATTACKS))
    assert body["errors"] == [
        NOT_AN_AI_PLATFORM.format(index=index, value=raw)
        for index, raw in enumerate(ATTACKS, start=1)
    ]
    assert list(ReferralRow.objects.values_list("platform__slug", flat=True)) == ["chatgpt"]
    # Tallied by the host they really name (and path, without the query): what an admin
    # deciding an allow-list entry needs to see.
    dropped = DroppedReferrer.objects.filter(connection=connection)
    assert sorted(dropped.values_list("raw_referrer_value", "count")) == [
        ("evil.example", 4),
        ("evil.example/%3futm_source%3dchatgpt", 1),
        ("search.example", 1),
    ]


def test_every_spoofed_referrer_is_rejected_by_the_seeded_allow_list(api_client, connection):
    """The allow-list as the migrations seed it (not only the seed list) rejects them all."""
    events = [event(raw_referrer_value=raw) for raw in SPOOFED]
    body = push(api_client, connection, events, query="?dry_run=true").json()
    assert (body["accepted"], body["rejected"]) == (0, len(SPOOFED))


def test_android_app_referrers_are_stored_under_their_platform(api_client, connection):
    events = [
        event(raw_referrer_value=raw, raw_page_value=f"/p{index}")
        for index, (raw, _) in enumerate(APP_REFERRERS)
    ]
    body = push(api_client, connection, events).json()
    assert (body["accepted"], body["rejected"]) == (len(APP_REFERRERS), 0)
    stored = dict(ReferralRow.objects.values_list("raw_referrer_value", "platform__slug"))
    assert stored == dict(APP_REFERRERS)


def test_the_migration_seeds_one_app_entry_per_platform_with_an_app():
    apps = AIPlatformEntry.objects.filter(kind=AIPlatformEntry.KIND_APP)
    assert sorted(apps.values_list("platform__slug", "value")) == [
        ("chatgpt", "com.openai.chatgpt"),
        ("claude", "com.anthropic.claude"),
        ("copilot", "com.microsoft.copilot"),
        ("gemini", "com.google.android.apps.bard"),
        ("perplexity", "ai.perplexity.app.android"),
    ]
