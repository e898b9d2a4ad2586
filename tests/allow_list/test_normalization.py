"""Table-driven tests for the website and referrer canonical forms (no database)."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from referrals.allow_list.referrers import SEED_PLATFORMS, ReferrerMatcher, matcher_from_seed
from referrals.allow_list.website import (
    WEBSITE_EMPTY,
    WEBSITE_INVALID,
    WEBSITE_IP_ADDRESS,
    WEBSITE_NO_DOT,
    WEBSITE_NOT_STRING,
    WEBSITE_TOO_LONG,
    InvalidWebsite,
    website_canonical,
)

MATCHER = matcher_from_seed()
SLUGS = {platform["slug"] for platform in SEED_PLATFORMS}

# Adobe cuts referrers at 255 bytes, often in the middle of the query.
TRUNCATED_PERPLEXITY = ("https://www.perplexity.ai/search?q=" + "best+running+shoes+" * 20)[:255]
TRUNCATED_UTM = ("https://example.com/landing?utm_source=chatgpt.com&q=" + "x" * 300)[:255]

REFERRER_MATCHES = [
    # bare hosts, one or more per platform
    ("chatgpt.com", "chatgpt"),
    ("chat.openai.com", "chatgpt"),
    ("labs.openai.com", "chatgpt"),
    ("openai.com", "chatgpt"),
    ("claude.ai", "claude"),
    ("perplexity.ai", "perplexity"),
    ("gemini.google.com", "gemini"),
    ("bard.google.com", "gemini"),
    ("aistudio.google.com/prompts/new_chat", "gemini"),
    ("copilot.microsoft.com", "copilot"),
    ("https://copilot.cloud.microsoft/", "copilot"),
    ("m365.cloud.microsoft", "copilot"),
    ("copilot.com", "copilot"),
    ("edgeservices.bing.com/edgesvc/chat", "copilot"),
    ("chat.deepseek.com", "deepseek"),
    ("deepseek.com", "deepseek"),
    ("https://www.meta.ai/", "meta_ai"),
    ("https://grok.com/", "grok"),
    ("chat.mistral.ai/chat", "mistral"),
    ("you.com/search?q=x", "you"),
    ("poe.com", "poe"),
    ("www.phind.com", "phind"),
    ("character.ai", "character_ai"),
    ("duck.ai", "duck_ai"),
    ("notebooklm.google.com", "notebooklm"),
    ("chat.qwen.ai", "qwen"),
    ("kimi.moonshot.cn", "kimi"),
    ("kimi.com", "kimi"),
    ("iask.ai", "iask"),
    # URL shapes
    ("https://chatgpt.com/", "chatgpt"),
    ("https://chatgpt.com/c/abc-123", "chatgpt"),
    ("chatgpt.com/c/abc", "chatgpt"),
    ("http://chatgpt.com", "chatgpt"),
    ("//chatgpt.com/share/1", "chatgpt"),
    ("https:///chatgpt.com/", "chatgpt"),
    ("android-app://chat.openai.com/", "chatgpt"),
    ("https://chatgpt.com/#section", "chatgpt"),
    ("https://chatgpt.com/?utm_source=google", "chatgpt"),
    ("https://claude.ai/chat/123", "claude"),
    ("www.claude.ai", "claude"),
    ("https://www.perplexity.ai/search?q=x", "perplexity"),
    ("www.perplexity.ai/search?q=x", "perplexity"),
    ("https://gemini.google.com/app/abc", "gemini"),
    # case, whitespace, ports, userinfo, trailing dots
    ("HTTPS://CHATGPT.COM/C/ABC", "chatgpt"),
    ("  https://chatgpt.com  ", "chatgpt"),
    ("\thttps://claude.ai/\n", "claude"),
    ("http://chatgpt.com:443/", "chatgpt"),
    ("chatgpt.com:8080", "chatgpt"),
    ("https://user:pw@chatgpt.com/", "chatgpt"),
    ("user@claude.ai", "claude"),
    ("https://chatgpt.com./", "chatgpt"),
    ("chatgpt.com.", "chatgpt"),
    ("https://user:pw@www.Perplexity.AI.:8443/search?q=1#top", "perplexity"),
    # percent-encoding
    ("https%3A%2F%2Fchatgpt.com%2Fc%2Fabc", "chatgpt"),
    ("https://chatgpt%2Ecom/", "chatgpt"),
    ("https://%43hatGPT.com/", "chatgpt"),
    ("perplexity%2Eai", "perplexity"),
    # host+path entries on a segment boundary
    ("bing.com/chat", "copilot"),
    ("bing.com/chat/", "copilot"),
    ("bing.com/chat?form=x", "copilot"),
    ("https://www.bing.com/chat/abc", "copilot"),
    ("https://www.bing.com/chat#x", "copilot"),
    ("https://WWW.BING.COM/CHAT", "copilot"),
    ("x.com/i/grok", "grok"),
    ("https://x.com/i/grok?conversation=1", "grok"),
    ("X.com/I/Grok/share", "grok"),
    # truncated at 255 bytes
    (TRUNCATED_PERPLEXITY, "perplexity"),
    (TRUNCATED_UTM, "chatgpt"),
    # utm_source carrying an entry or an alias, also on a non-AI host
    ("https://example.com/?utm_source=chatgpt.com", "chatgpt"),
    ("https://example.com/landing?utm_medium=referral&utm_source=perplexity", "perplexity"),
    ("https://example.com/?UTM_SOURCE=Claude", "claude"),
    ("https://example.com/?utm_source=%20gemini%20", "gemini"),
    ("example.com/?utm_source=www.perplexity.ai", "perplexity"),
    ("https://example.com/?utm_source=bing.com/chat", "copilot"),
    ("https://www.google.com/search?utm_source=chatgpt.com", "chatgpt"),
    ("?utm_source=copilot", "copilot"),
    # bare aliases
    ("perplexity", "perplexity"),
    ("ChatGPT ", "chatgpt"),
    ("  Claude", "claude"),
    ("GEMINI", "gemini"),
    ("copilot", "copilot"),
    ("deepseek", "deepseek"),
    ("grok", "grok"),
    ("phind", "phind"),
    ("\tperplexity\n", "perplexity"),
]

REFERRER_REJECTS = [
    # lookalikes
    "notchatgpt.com",
    "chatgpt.com.evil.example",
    "https://chatgpt.com.evil.example/",
    "notperplexity.ai",
    "perplexity.ai.evil.example",
    "https://chatgpt.com@evil.example/",
    "chatgpt@evil.example",
    "chatgpt.co",
    "https://example.com/chatgpt.com",
    # bare hosts of host+path entries, and their other paths
    "bing.com",
    "https://www.bing.com/",
    "bing.com/chatter",
    "bing.com/search?q=chat",
    "x.com",
    "https://x.com/home",
    "x.com/i/grokker",
    "x.com/grok",
    "google.com",
    "https://www.google.com/search?q=chatgpt",
    # utm_source that is missing, elsewhere, or not an entry
    "https://example.com/?utm_source=google",
    "https://example.com/?utm_source=",
    "https://example.com/?source=chatgpt",
    "https://example.com/?my_utm_source=chatgpt",
    "https://example.com/#utm_source=chatgpt",
    # tokens that are not aliases
    "openai",
    "meta",
    "chat gpt",
    "perplexity ai",
    # placeholders
    "Typed/Bookmarked",
    "(direct)",
    "(none)",
    "(not set)",
    "",
    "   ",
    "-",
    "None",
    # things that must not raise
    "http://",
    "https://",
    "//",
    "[::1]",
    "http://[::1]:8080/",
    "%",
    "%zz%",
    "%ff%fe",
    "\ud800",
    "chat\udfffgpt.com",
    "\x00chatgpt.com",
    "android-app://com.google.android.gm/",
    "https://bücher.de/",
    "a" * 1_000_000,
]


@pytest.mark.parametrize(("raw", "slug"), REFERRER_MATCHES)
def test_referrer_matches(raw, slug):
    assert MATCHER.match(raw) == slug


@pytest.mark.parametrize("raw", REFERRER_REJECTS)
def test_referrer_rejects(raw):
    assert MATCHER.match(raw) is None


@settings(max_examples=300, database=None)
@given(
    st.one_of(
        st.text(st.characters(exclude_categories=())),
        st.text(st.sampled_from(list("%:/@[]?#.&=\\ aw0x-\u3002\u0130"))),
        st.builds(str.__add__, st.sampled_from(["https://", "//", "x.com/"]), st.text()),
    )
)
def test_referrer_never_raises(raw):
    assert MATCHER.match(raw) in SLUGS | {None}


@pytest.mark.parametrize("raw", [None, 42, b"chatgpt.com", ["chatgpt.com"]])
def test_referrer_non_string_is_none(raw):
    assert MATCHER.match(raw) is None


def test_matcher_keeps_falsy_keys_through_the_memo():
    matcher = ReferrerMatcher([(0, "alias", "zero")])
    assert matcher.match("zero") == 0
    assert matcher.match("zero") == 0


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("www.chat.example.com", "sub"),  # the most specific host wins
        ("example.com/chat", "parent"),
        ("h.example/grok/1", "path"),  # a path entry beats its own bare host
        ("h.example/other", "host"),
        ("h.example/c/d/e", "long"),  # the longest path wins
        ("h.example/c/e", "short"),
        ("dup.example", "first"),  # the first of two platforms claiming a value wins
    ],
)
def test_matcher_precedence(raw, key):
    matcher = ReferrerMatcher(
        [
            ("parent", "host", "example.com"),
            ("sub", "host", "chat.example.com"),
            ("host", "host", "h.example"),
            ("path", "host", "h.example/grok"),
            ("short", "host", "h.example/c"),
            ("long", "host", "h.example/c/d/"),
            ("first", "host", "dup.example"),
            ("second", "host", "DUP.example."),
        ]
    )
    assert matcher.match(raw) == key


def test_matcher_normalizes_and_skips_entries():
    matcher = ReferrerMatcher(
        [("a", "host", " https://Bücher.DE/ "), ("b", "host", ""), ("c", "alias", "  ")]
    )
    assert matcher.match("www.xn--bcher-kva.de") == "a"
    assert matcher.match("https://bücher.de/x") == "a"
    assert matcher.match("") is None


def test_matcher_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        ReferrerMatcher([("a", "regex", ".*")])


def test_matcher_memo_is_bounded():
    matcher = ReferrerMatcher([("a", "host", "a.example")], memo_size=3)
    for i in range(10):
        assert matcher.match(f"https://{i}.a.example/") == "a"
    assert len(matcher._memo) <= 3


WEBSITE_VALID = [
    ("example.com", "example.com"),
    ("Example.COM", "example.com"),
    ("https://WWW.Example.com/x", "example.com"),
    ("http://example.com:8080/path?q=1#f", "example.com"),
    ("example.com.", "example.com"),
    ("example.com:", "example.com"),
    ("www.example.com", "example.com"),
    ("www.www.example.com", "example.com"),  # every leading www. (a fixed point)
    ("www.com", "www.com"),  # www. followed by a bare TLD is the name itself
    ("wwwexample.com", "wwwexample.com"),
    ("www2.example.com", "www2.example.com"),
    ("shop.example.co.uk", "shop.example.co.uk"),
    ("  example.com  ", "example.com"),
    ("//example.com/x", "example.com"),
    ("user:pw@example.com", "example.com"),
    ("a-b.example", "a-b.example"),
    ("123.example.com", "123.example.com"),
    ("a" * 63 + ".com", "a" * 63 + ".com"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("BÜCHER.DE", "xn--bcher-kva.de"),
    ("https://www.bücher.de/", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
    ("例え.jp", "xn--r8jz45g.jp"),
    ("例え。jp", "xn--r8jz45g.jp"),
    ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ("ｅｘａｍｐｌｅ．ｃｏｍ", "example.com"),
]

WEBSITE_INVALID_CASES = [
    (None, WEBSITE_NOT_STRING),
    (123, WEBSITE_NOT_STRING),
    (b"example.com", WEBSITE_NOT_STRING),
    ("", WEBSITE_EMPTY),
    ("   ", WEBSITE_EMPTY),
    ("localhost", WEBSITE_NO_DOT),
    ("https://localhost:8000/", WEBSITE_NO_DOT),
    ("192.168.0.1", WEBSITE_IP_ADDRESS),
    ("http://10.0.0.1:8080/", WEBSITE_IP_ADDRESS),
    ("[::1]", WEBSITE_IP_ADDRESS),
    ("http://[2001:db8::1]/", WEBSITE_IP_ADDRESS),
    ("a" * 64 + ".com", WEBSITE_TOO_LONG),
    (".".join(["a" * 63] * 4) + ".com", WEBSITE_TOO_LONG),
    ("a" * 3000, WEBSITE_TOO_LONG),
    ("exa mple.com", WEBSITE_INVALID),
    ("a_b.example.com", WEBSITE_INVALID),
    ("-example.com", WEBSITE_INVALID),
    ("example-.com", WEBSITE_INVALID),
    ("example..com", WEBSITE_INVALID),
    (".example.com", WEBSITE_INVALID),
    ("example.com..", WEBSITE_INVALID),
    ("*.example.com", WEBSITE_INVALID),
    ("ex%41mple.com", WEBSITE_INVALID),
    ("example.123", WEBSITE_INVALID),
    ("1.2.3.0x1", WEBSITE_INVALID),
    ("example.com:99999", WEBSITE_INVALID),
    ("example.com:http", WEBSITE_INVALID),
    ("https://", WEBSITE_INVALID),
    ("xn--zz.de", WEBSITE_INVALID),
    ("example.com\x00", WEBSITE_INVALID),
    ("exam\ud800ple.com", WEBSITE_INVALID),
]


@pytest.mark.parametrize(("value", "expected"), WEBSITE_VALID)
def test_website_canonical(value, expected):
    assert website_canonical(value) == expected


@pytest.mark.parametrize(("value", "message"), WEBSITE_INVALID_CASES)
def test_website_invalid(value, message):
    with pytest.raises(InvalidWebsite) as excinfo:
        website_canonical(value)
    assert str(excinfo.value) == message


@settings(max_examples=300, database=None)
@given(st.text(st.characters(exclude_categories=())) | st.text(st.sampled_from("aw.:/-@[]x1")))
def test_website_only_raises_invalid_website(value):
    try:
        canonical = website_canonical(value)
    except InvalidWebsite:
        return
    # A fixed point, except that a second leading www. is only stripped on the next call.
    if not canonical.startswith("www."):
        assert website_canonical(canonical) == canonical


def test_seed_platforms_are_unique():
    slugs = [platform["slug"] for platform in SEED_PLATFORMS]
    values = [
        value.lower()
        for platform in SEED_PLATFORMS
        for value in platform["hosts"] + platform["aliases"] + platform.get("apps", [])
    ]
    assert len(SEED_PLATFORMS) >= 15
    assert len(slugs) == len(set(slugs))
    assert len(values) == len(set(values))
    assert all(platform["name"] and platform["hosts"] for platform in SEED_PLATFORMS)


def test_every_seed_entry_matches_its_platform():
    for platform in SEED_PLATFORMS:
        for value in platform["hosts"] + platform["aliases"]:
            assert MATCHER.match(value) == platform["slug"]
        for app in platform.get("apps", []):
            assert MATCHER.match(f"android-app://{app}/") == platform["slug"]


# --- properties ---------------------------------------------------------------------------

label = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=12)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
HOSTS_OF = {
    platform["slug"]: [host for host in platform["hosts"] if "/" not in host]
    for platform in SEED_PLATFORMS
}
seed_hosts = st.sampled_from(sorted(host for hosts in HOSTS_OF.values() for host in hosts))


@settings(max_examples=500, database=None)
@given(st.one_of(hosts, seed_hosts, st.text(max_size=60)))
@example("www.www.0.a")  # found by this test: one `www.` went per call
@example("www.www.com")
def test_website_canonical_form_is_a_fixed_point(raw):
    """Canonical forms are idempotent: what is stored re-canonicalizes to itself."""
    try:
        canonical = website_canonical(raw)
    except InvalidWebsite:
        return
    assert website_canonical(canonical) == canonical
    assert website_canonical(f"https://WWW.{canonical}:443/path?q=1") in {canonical}


@settings(max_examples=500, database=None)
@given(seed_hosts)
def test_referrer_match_is_stable_on_canonical_spellings(host):
    """Scheme, case, a trailing dot, a path or a query never change what a host matches."""
    slug = MATCHER.match(host)
    for spelling in (f"https://{host.upper()}/", f"http://{host}./x?y=1", f"//{host}/a/b"):
        assert MATCHER.match(spelling) == slug


@settings(max_examples=2000, database=None)
@given(st.one_of(hosts, seed_hosts), st.sampled_from(["", "https://", "http://", "//"]), label)
def test_a_label_added_in_front_never_makes_a_lookalike_match(host, scheme, extra):
    """`notchatgpt.com` is not chatgpt.com: whatever is put in front of a host, a match means
    the result is an allow-listed host or one of its subdomains (gemini.google.com is listed,
    google.com is not)."""
    for candidate in (f"{extra}.{host}", f"{extra}{host}", f"{extra}-{host}"):
        slug = MATCHER.match(f"{scheme}{candidate}/")
        if slug is not None:
            assert any(candidate == h or candidate.endswith("." + h) for h in HOSTS_OF[slug])
    if MATCHER.match(host) is None:
        assert MATCHER.match(f"{scheme}{extra}-{host}/") is None
