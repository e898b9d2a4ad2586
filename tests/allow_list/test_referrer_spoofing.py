"""Referrer spoofing: no encoding trick makes a host outside the allow-list count (issue 10)."""

from urllib.parse import quote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from referrals.allow_list.referrers import SEED_PLATFORMS, ReferrerMatcher, matcher_from_seed

MATCHER = matcher_from_seed()

# Each is the referrer of a page on a host that is not an AI platform (or no host at all).
SPOOFED = [
    # an encoded delimiter in front of a real `@`: the host is what follows the `@`
    "https://chatgpt.com%2F@evil.example/",
    "https://chatgpt.com%2f@evil.example/",
    "https://chatgpt.com%23@evil.example/",
    "https://chatgpt.com%3F@evil.example/",
    "https://chatgpt.com%5C@evil.example/",
    "https://chatgpt.com%2F@evil.example",
    "https://www.chatgpt.com%2F@evil.example:443/c/1",
    "//chatgpt.com%2F@evil.example/",
    "chatgpt.com%2F@evil.example",
    "chatgpt.com%2F@evil.example/x",
    "https://chatgpt.com%252F@evil.example/",
    "https://chatgpt.com%2F%40@evil.example/",
    # a host that holds a delimiter once decoded is no host
    "https://chatgpt.com%40evil.example/",
    "https://evil.example%40chatgpt.com/",
    "https://evil%2Fx.chatgpt.com/",
    "https://evil.example%2F.chatgpt.com/",
    "https://evil.example%3F.chatgpt.com/",
    "https://evil.example%23.chatgpt.com/",
    "https://evil.example%5C.chatgpt.com/",
    "https://evil.example%3A.chatgpt.com/",
    "https://evil%20x.chatgpt.com/",
    "https://evil%09x.chatgpt.com/",
    "https://evil%00x.chatgpt.com/",
    "https://evil.example%252F.chatgpt.com/",
    "https://evil.example%2520.chatgpt.com/",
    "https://evil.example／x.chatgpt.com/",
    "https://evil.example%EF%BC%8Fx.chatgpt.com/",
    "https://evil.example＼x.chatgpt.com/",
    "https://evil.example%EF%BC%9Fx.chatgpt.com/",
    "https://chatgpt.com%2F%40evil.example/",
    # a scheme-looking host followed by an encoded `//`
    "evil.example:%2F%2Fchatgpt.com",
    "evil.example:%2F%2Fchatgpt.com/",
    # utm_source made by decoding a path or another parameter's value
    "https://evil.example/%3Futm_source%3Dchatgpt",
    "https://evil.example/%3futm_source%3dchatgpt.com",
    "evil.example/%3Futm_source%3Dchatgpt",
    "https://search.example/?q=a%26utm_source%3Dchatgpt",
    "https://search.example/?q=a%26utm_source=chatgpt",
    "https://search.example/?q=%26utm_source%3Dchatgpt&page=2",
    "https://search.example/?utm_source%3Dchatgpt",
    "https://search.example/?ref=%3Futm_source%3Dchatgpt",
    "https://search.example/?q=a%2526utm_source%253Dchatgpt",
    "https://evil.example/#%3Futm_source%3Dchatgpt",
    "https://evil.example/%23?q=1#utm_source=chatgpt",
    # an allow-listed host or a whole URL in a path, a query value or a fragment
    "https://evil.example/https%3A%2F%2Fchatgpt.com%2F",
    "https://evil.example/?url=https%3A%2F%2Fchatgpt.com%2F",
    "https://evil.example/#https://chatgpt.com/",
    "evil.example/https%3A%2F%2Fchatgpt.com",
    # a host+path entry's path made by decoding one segment
    "https://www.bing.com/chat%2Fx",
    "https://www.bing.com/x%2F..%2Fchat",
    "https://x.com/i%2Fgrok",
    "https://x.com/i%2fgrok/share",
    # wholly encoded attacks are attacks too (decoded once, then matched as the URL they spell)
    "https%3A%2F%2Fchatgpt.com%252F%40evil.example%2F",
    "https%3A%2F%2Fevil.example%252F.chatgpt.com%2F",
    "https%3A%2F%2Fevil.example%2F%253Futm_source%253Dchatgpt",
    # encoded twice as a whole: one level of whole-value decoding only
    "https%253A%252F%252Fchatgpt.com%252F",
    # app referrers: the package id is matched exactly, never as a hostname suffix or prefix
    "android-app://com.openai.chatgpt.evil/",
    "android-app://evil.com.openai.chatgpt/",
    "android-app://com.openai.chatgpt%2F@com.evil.app/",
    "android-app://com.evil.app%40com.openai.chatgpt/",
    "android-app://com.evil.app/com.openai.chatgpt",
    "https://com.openai.chatgpt/",
    "com.openai.chatgpt",
    "https://evil.example/?utm_source=com.openai.chatgpt",
]

# Plain URLs wholly percent-encoded once (the way some exports write referrers) keep matching.
WHOLLY_ENCODED = [
    ("https%3A%2F%2Fchatgpt.com%2F", "chatgpt"),
    ("HTTPS%3A%2F%2FCHATGPT.COM%2F", "chatgpt"),
    ("https%3a%2f%2fchatgpt.com%2fc%2fabc", "chatgpt"),
    ("https%3A//chatgpt.com/c/abc", "chatgpt"),  # JavaScript escape(), Python quote()
    ("%2F%2Fclaude.ai%2Fchat", "claude"),
    ("https%3A%2F%2Fuser%3Apw%40www.perplexity.ai%3A8443%2Fsearch%3Fq%3D1%23top", "perplexity"),
    ("https%3A%2F%2Fwww.bing.com%2Fchat%3Fform%3Dx", "copilot"),
    ("https%3A%2F%2Fchatgpt%252Ecom%2F", "chatgpt"),  # an encoded part of the URL, encoded again
    ("https%3A%2F%2Fexample.com%2F%3Futm_source%3Dchatgpt", "chatgpt"),  # a real utm_source
    ("%20https%3A%2F%2Fchatgpt.com%2F%20", "chatgpt"),
    ("android-app%3A%2F%2Fcom.openai.chatgpt%2F", "chatgpt"),
    # a parameter name that is itself encoded is still the parameter (parse_qsl semantics)
    ("https://example.com/?utm%5Fsource=perplexity", "perplexity"),
    ("https://example.com/?utm_source=chatgpt%2Ecom", "chatgpt"),
    ("https://example.com/?utm_source=perplexity+", "perplexity"),
    ("https://evil.example%2F@chatgpt.com/", "chatgpt"),  # userinfo in front of the real host
    ("https://www.bing.com/%63hat", "copilot"),  # an encoded letter is still the letter
]

APP_REFERRERS = [
    ("android-app://com.openai.chatgpt/", "chatgpt"),
    ("android-app://com.openai.chatgpt", "chatgpt"),
    ("ANDROID-APP://COM.OPENAI.CHATGPT/", "chatgpt"),
    ("android-app://com.openai.chatgpt/https/chatgpt.com/c/1", "chatgpt"),
    ("android-app://com.anthropic.claude/", "claude"),
    ("android-app://ai.perplexity.app.android/", "perplexity"),
    ("android-app://com.google.android.apps.bard/", "gemini"),
    ("android-app://com.microsoft.copilot/", "copilot"),
    ("android-app://chat.openai.com/", "chatgpt"),  # a listed host as the authority still is
]


@pytest.mark.parametrize("raw", SPOOFED)
def test_spoofed_referrer_is_rejected(raw):
    assert MATCHER.match(raw) is None


@pytest.mark.parametrize(("raw", "slug"), WHOLLY_ENCODED)
def test_encoded_referrer_keeps_matching(raw, slug):
    assert MATCHER.match(raw) == slug


@pytest.mark.parametrize(("raw", "slug"), APP_REFERRERS)
def test_android_app_referrer_counts_for_its_platform(raw, slug):
    assert MATCHER.match(raw) == slug


# --- properties ---------------------------------------------------------------------------

APPS = sorted(app for platform in SEED_PLATFORMS for app in platform.get("apps", []))
LISTED = sorted({value.split("/")[0] for platform in SEED_PLATFORMS for value in platform["hosts"]})
ALIASES = sorted(alias for platform in SEED_PLATFORMS for alias in platform["aliases"])

label = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=10)


def is_listed(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in LISTED + APPS)


# Random names that are no allow-listed host (nor a subdomain of one) and no app id.
outside_hosts = (
    st.lists(label, min_size=2, max_size=4).map(".".join).filter(lambda h: not is_listed(h))
)

# Delimiters spelled so that only decoding (once, twice, or by IDNA mapping) reveals them.
ENCODED_DELIMITERS = [
    *("%40", "%2F", "%2f", "%23", "%3F", "%3f", "%5C", "%5c", "%26", "%3D", "%3A", "%20", "%09"),
    *("%2540", "%252F", "%2523", "%253F", "%255C", "%2526", "%253D", "%253A", "%25"),
    *("／", "＠", "？", "＃", "＼", "%EF%BC%8F", "%EF%BC%A0", "%EF%BC%9F", "%00", "%0A"),
]
encoded_delimiter = st.sampled_from(ENCODED_DELIMITERS)

# Text with no raw delimiter in it: allow-listed hosts, aliases, app ids, encoded delimiters.
smuggled = st.lists(
    st.one_of(
        st.sampled_from(LISTED + ALIASES + APPS + ["utm_source", "https%3A%2F%2F", "."]),
        encoded_delimiter,
        label,
    ),
    min_size=1,
    max_size=6,
).map("".join)

SCHEMES = ["https://", "http://", "//", "android-app://", "HTTPS://", "https:///"]


@st.composite
def spoofed_urls(draw) -> str:
    """A URL whose real host (split on raw delimiters) is outside the allow-list, with listed
    hosts and encoded delimiters smuggled into userinfo, around the host, path, query values
    and fragment. Parameter names are never `utm_source`: a real one is a declared source."""
    host = draw(outside_hosts)
    scheme = draw(st.sampled_from([*SCHEMES, ""]))
    if scheme:
        # Glued to the host, smuggled text makes the host invalid; without a scheme the whole
        # value could be a wholly encoded URL, so the host stays clean there.
        prefix = draw(st.just("") | st.tuples(smuggled, encoded_delimiter).map("".join))
        suffix = draw(st.just("") | st.tuples(encoded_delimiter, smuggled).map("".join))
        host = f"{prefix}{host}{suffix}"
    userinfo = draw(st.just("") | smuggled.map("{}@".format))
    port = draw(st.sampled_from(["", ":443", ":8080", "."]))
    segments = draw(st.lists(smuggled, max_size=3))
    path = "".join(f"/{segment}" for segment in segments)
    names = st.sampled_from(["q", "ref", "url", "utm_medium", "source", "utm_sourcex"])
    params = draw(st.lists(st.tuples(names, smuggled), max_size=3))
    query = "?" + "&".join(f"{name}={value}" for name, value in params) if params else ""
    fragment = draw(st.just("") | smuggled.map("#{}".format))
    return f"{scheme}{userinfo}{host}{port}{path}{query}{fragment}"


@settings(max_examples=1000, database=None)
@given(spoofed_urls())
def test_no_encoding_trick_makes_an_outside_host_match(raw):
    assert MATCHER.match(raw) is None
    # Wholly encoded once, the same URL is still not an AI platform.
    assert MATCHER.match(quote(raw, safe="")) is None


@st.composite
def matching_urls(draw) -> str:
    """A plain URL on an allow-listed host (or an app), with anything after the host."""
    scheme = draw(st.sampled_from(SCHEMES))
    host = draw(st.sampled_from(LISTED))
    if scheme == "android-app://" and draw(st.booleans()):
        host = draw(st.sampled_from(APPS))
    host = draw(st.sampled_from(["", "www."])) + host
    userinfo = draw(st.sampled_from(["", "user@", "user:pw@"]))
    port = draw(st.sampled_from(["", ":443", "."]))
    path = "".join(f"/{segment}" for segment in draw(st.lists(label, max_size=3)))
    query = draw(st.sampled_from(["", "?q=1", "?q=a+b&utm_medium=x", "?x=%2F"]))
    fragment = draw(st.sampled_from(["", "#top", "#a%20b"]))
    return f"{scheme}{userinfo}{host}{port}{path}{query}{fragment}"


@settings(max_examples=1000, database=None)
@given(matching_urls())
def test_a_matching_url_still_matches_when_wholly_encoded_once(raw):
    slug = MATCHER.match(raw)
    assume(slug is not None)  # bing.com and x.com alone are not platforms
    assert MATCHER.match(quote(raw, safe="")) == slug
    assert MATCHER.match(quote(raw, safe="").lower()) == slug


@settings(max_examples=500, database=None)
@given(st.sampled_from(APPS), label, st.sampled_from(["", "https://", "//", "android-app://"]))
def test_an_app_id_matches_only_as_itself(app, extra, scheme):
    for authority in (f"{extra}.{app}", f"{app}.{extra}", f"{extra}{app}", f"{app}{extra}"):
        if not is_listed(authority):  # `com.anthropic.claude.ai` is a host under claude.ai
            assert MATCHER.match(f"{scheme}{authority}/") is None
    if scheme != "android-app://":
        assert MATCHER.match(f"{scheme}{app}/") is None


def test_app_entries_are_normalized_and_never_hostnames():
    matcher = ReferrerMatcher(
        [
            ("a", "app", " Android-App://Com.Example.App/ "),
            ("b", "app", "com.example.b"),
            ("c", "app", "  "),
            ("d", "host", "example.b"),
        ]
    )
    assert matcher.match("android-app://com.example.app/x") == "a"
    assert matcher.match("android-app://com.example.b") == "b"
    assert matcher.match("https://com.example.app/") is None
    assert matcher.match("android-app://x.com.example.app/") is None
    assert matcher.match("android-app://com.example.b.x/") is None
    assert matcher.match("android-app://www.example.b/") == "d"  # a host entry still is one
