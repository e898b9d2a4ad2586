"""Placeholders for "no referrer" stay rejected even when an admin makes one an alias."""

import pytest

from referrals.allow_list.referrers import ReferrerMatcher
from referrals.models import AIPlatform, AIPlatformEntry, DroppedReferrer, ReferralRow
from tests.factories import event, push

# (alias an admin adds, raw referrer value as an analytics tool sends it)
PLACEHOLDER_ALIASES = [
    ("direct", "direct"),
    ("direct", "Direct"),
    ("direct", " DIRECT "),
    ("(direct)", "(direct)"),
    ("(direct)", "%28direct%29"),
    ("(none)", "(none)"),
    ("(none)", "(None)"),
    ("(not set)", "(not set)"),
    ("none", "none"),
    ("null", "null"),
    ("-", "-"),
    ("Typed/Bookmarked", "Typed/Bookmarked"),
    ("typed/bookmarked", "typed%2Fbookmarked"),
]


@pytest.mark.parametrize(("alias", "raw"), PLACEHOLDER_ALIASES)
def test_an_alias_never_turns_a_placeholder_into_a_platform(alias, raw):
    matcher = ReferrerMatcher(
        [
            ("chatgpt", "host", "chatgpt.com"),
            ("chatgpt", "alias", "chatgpt"),
            ("chatgpt", "alias", alias),
        ]
    )
    assert matcher.match("chatgpt") == "chatgpt"  # aliases do match
    assert matcher.match(raw) is None


@pytest.mark.django_db
def test_placeholder_aliases_added_in_the_admin_leave_placeholder_traffic_rejected(
    api_client, connection
):
    chatgpt = AIPlatform.objects.get(slug="chatgpt")
    for alias in ("direct", "(none)", "(direct)"):
        AIPlatformEntry.objects.create(platform=chatgpt, kind="alias", value=alias)
    placeholders = ["direct", "(none)", "(direct)", "Direct", "(None)"]
    events = [event(raw_referrer_value=raw) for raw in ["chatgpt", *placeholders]]

    body = push(api_client, connection, events).json()

    assert (body["accepted"], body["rejected"]) == (1, len(placeholders))
    assert list(ReferralRow.objects.values_list("raw_referrer_value", flat=True)) == ["chatgpt"]
    dropped = DroppedReferrer.objects.filter(connection=connection)
    assert sorted(dropped.values_list("raw_referrer_value", flat=True)) == sorted(placeholders)


@pytest.mark.parametrize(
    ("alias", "raw", "slug"),
    [
        ("direct", "https://example.com/landing?utm_source=direct", None),
        ("(direct)", "https://example.com/?utm_source=(direct)", None),
        ("(none)", "https://example.com/?utm_source=%28none%29&utm_medium=x", None),
        ("(not set)", "//example.com/?utm_source=(not set)", None),
        ("direct", "https://example.com/?utm_source=chatgpt", "chatgpt"),  # an alias still is
        ("direct", "https://chatgpt.com/?utm_source=direct", "chatgpt"),  # the host decides
    ],
)
def test_an_alias_never_turns_a_placeholder_utm_source_into_a_platform(alias, raw, slug):
    matcher = ReferrerMatcher(
        [
            ("chatgpt", "host", "chatgpt.com"),
            ("chatgpt", "alias", "chatgpt"),
            ("chatgpt", "alias", alias),
        ]
    )
    assert matcher.match(raw) == slug
