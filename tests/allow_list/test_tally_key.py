"""The dropped-referrer tally counts host + path: a varying query string cannot grow it."""

import pytest

from referrals.allow_list.referrers import QUERY_ONLY, referrer_tally_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("google.com", "google.com"),
        ("https://www.Google.com/search?q=shoes#top", "www.google.com/search"),
        ("google.com/search?q=1", "google.com/search"),
        ("//foo.example/a/b/?x", "foo.example/a/b"),
        ("https://user@foo.example:8080/Path/", "foo.example/path"),
        ("https%3A%2F%2Fbing.com%2Fsearch%3Fq%3D1", "bing.com/search"),
        ("android-app://com.google.android.gm/", "android-app://com.google.android.gm"),
        ("perplexity", "perplexity"),
        ("(direct)", "(direct)"),
        ("Direct", "Direct"),  # single labels are written as the tool sends them
        ("utm_source=newsletter&id=123", "utm_source=newsletter"),
        ("?utm_source=newsletter&id=9", "utm_source=newsletter"),
        ("id=123&x=9", QUERY_ONLY),
        ("?", QUERY_ONLY),
    ],
)
def test_tally_key(raw, key):
    assert referrer_tally_key(raw) == key


def test_tally_key_is_bounded():
    assert len(referrer_tally_key("https://a.example/" + "x" * 2000)) == 512
