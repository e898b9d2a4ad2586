"""Canonical forms for websites and raw referrers, as pure functions (no ORM)."""

import contextlib
import ipaddress
import re
from collections.abc import Hashable, Iterable
from encodings import idna
from urllib.parse import unquote

WEBSITE_NOT_STRING = "Website must be a string."
WEBSITE_EMPTY = "Website must not be empty."
WEBSITE_INVALID = "Website must be a hostname such as example.com."
WEBSITE_TOO_LONG = "Website must be at most 253 characters, with labels of at most 63."
WEBSITE_NO_DOT = "Website must be a full domain name with a dot, such as example.com."
WEBSITE_IP_ADDRESS = "Website must be a domain name, not an IP address."

# Any scheme (`https:`, `android-app:`) or none, then two or more slashes.
_URL_PREFIX = re.compile(r"(?:[a-z][a-z0-9+.\-]*:)?//+")
_AUTHORITY_END = re.compile(r"[/?#\\]")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_MAX_WEBSITE_INPUT = 2048
# Longer raw values are still matched, but not memoized, so one huge value cannot bloat the memo.
_MAX_MEMO_KEY = 2048
_MISS = object()

# Analytics placeholders for "no referrer"; listed so no alias can ever turn them into a platform.
PLACEHOLDERS = frozenset(
    {"", "-", "none", "null", "(none)", "(direct)", "(not set)", "direct", "typed/bookmarked"}
)


class InvalidWebsite(ValueError):
    """A website that cannot be reduced to a hostname; the API answers 400 with its message."""


def _split_url(value: str) -> tuple[str, str, str]:
    """Split a lowercased URL, with any scheme or none, into (authority, path, query)."""
    prefix = _URL_PREFIX.match(value)
    rest = value[prefix.end() :] if prefix else value
    end = _AUTHORITY_END.search(rest)
    if end is None:
        return rest, "", ""
    authority, rest = rest[: end.start()], rest[end.start() :].replace("\\", "/")
    path, _, query = rest.partition("#")[0].partition("?")
    return authority, path, query


def _host_of(authority: str) -> str:
    """Return the host of an authority without userinfo, port and trailing dots; '' for IPv6."""
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return ""
    host = host.partition(":")[0].rstrip(".")
    if not host.isascii():
        # An invalid IDN cannot equal an entry either, so it is kept as is.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host


def _punycode_ok(label: str) -> bool:
    """Accept an `xn--` label only if it round-trips, so two spellings never share a website."""
    try:
        return idna.ToASCII(label[4:].encode("ascii").decode("punycode")) == label.encode()
    except (ValueError, OverflowError):
        return False


def website_canonical(value: str) -> str:
    """Reduce a user-supplied website to the canonical hostname stored on a Connection.

    IP addresses, single-label names (`localhost`) and numeric top-level labels are
    rejected: a connection is for a public website. IDNA is IDNA 2003 (stdlib codec).
    """
    if not isinstance(value, str):
        raise InvalidWebsite(WEBSITE_NOT_STRING)
    text = value.strip()
    if not text:
        raise InvalidWebsite(WEBSITE_EMPTY)
    if len(text) > _MAX_WEBSITE_INPUT:
        raise InvalidWebsite(WEBSITE_TOO_LONG)
    host = _split_url(text.lower())[0].rpartition("@")[2]
    if host.startswith("["):
        raise InvalidWebsite(WEBSITE_IP_ADDRESS)
    host, _, port = host.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise InvalidWebsite(WEBSITE_INVALID)
    labels = idna.dots.split(host)  # IDNA also treats 。．｡ as dots
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot is the fully qualified spelling of the same name
    ascii_labels = []
    for label in labels:
        if not label.isascii():
            try:
                label = idna.ToASCII(label).decode("ascii")
            except UnicodeError:
                raise InvalidWebsite(WEBSITE_INVALID) from None
        if len(label) > 63:
            raise InvalidWebsite(WEBSITE_TOO_LONG)
        if not _LABEL.fullmatch(label) or (label.startswith("xn--") and not _punycode_ok(label)):
            raise InvalidWebsite(WEBSITE_INVALID)
        ascii_labels.append(label)
    canonical = ".".join(ascii_labels)
    if len(canonical) > 253:
        raise InvalidWebsite(WEBSITE_TOO_LONG)
    try:
        ipaddress.ip_address(canonical)
    except ValueError:
        pass
    else:
        raise InvalidWebsite(WEBSITE_IP_ADDRESS)
    if len(ascii_labels) < 2:
        raise InvalidWebsite(WEBSITE_NO_DOT)
    # Browsers read a numeric or 0x last label as IPv4; every real TLD starts with a letter.
    if not ascii_labels[-1][0].isalpha():
        raise InvalidWebsite(WEBSITE_INVALID)
    # Keep `www.com` whole: only a `www.` in front of a registrable name is a prefix.
    if ascii_labels[0] == "www" and len(ascii_labels) > 2:
        canonical = canonical[4:]
    return canonical


class ReferrerMatcher:
    """Map raw referrer values to platform keys, built once per allow-list and reused.

    Entries are `(platform_key, kind, value)`; kind `"host"` is a hostname or host+path
    (`bing.com/chat`), kind `"alias"` a bare token (`perplexity`). When two platforms claim
    the same value the first entry wins; entries without a host are skipped, so a bad
    admin edit cannot break every push.
    """

    def __init__(
        self, entries: Iterable[tuple[Hashable, str, str]], *, memo_size: int = 50_000
    ) -> None:
        self._hosts: dict[str, Hashable] = {}
        self._paths: dict[str, list[tuple[str, Hashable]]] = {}
        self._aliases: dict[str, Hashable] = {}
        self._memo: dict[str, Hashable | None] = {}
        self._memo_size = memo_size
        for key, kind, value in entries:
            token = value.strip().lower()
            if kind == "alias":
                if token:
                    self._aliases.setdefault(token, key)
            elif kind == "host":
                authority, path, _ = _split_url(token)
                host, path = _host_of(authority), path.rstrip("/")
                if not host:
                    continue
                if path:
                    self._paths.setdefault(host, []).append((path, key))
                else:
                    self._hosts.setdefault(host, key)
            else:
                raise ValueError(f"Unknown allow-list entry kind {kind!r}.")
        for candidates in self._paths.values():
            # Longest path first; the sort is stable, so the first of two equal entries wins.
            candidates.sort(key=lambda candidate: -len(candidate[0]))

    def match(self, raw: str) -> Hashable | None:
        """Return the platform key for a raw referrer, or None; never raises on a str."""
        try:
            key = self._memo.get(raw, _MISS)
        except TypeError:  # unhashable, so certainly not a str
            return None
        if key is not _MISS:
            return key
        if not isinstance(raw, str):
            return None
        key = self._match_uncached(raw)
        if len(raw) <= _MAX_MEMO_KEY:
            if len(self._memo) >= self._memo_size:
                self._memo.clear()  # raw values repeat within a batch, so a cold restart is cheap
            self._memo[raw] = key
        return key

    def _match_uncached(self, raw: str) -> Hashable | None:
        value = unquote(raw.strip()).strip().lower()  # lowercase last: %43 decodes to "C"
        if value in PLACEHOLDERS:
            return None
        key = self._aliases.get(value)
        if key is not None:
            return key
        authority, path, query = _split_url(value)
        key = self._match_host(host=_host_of(authority), path=path)
        if key is None and "utm_source" in query:
            key = self._match_utm_source(query)
        return key

    def _match_host(self, *, host: str, path: str) -> Hashable | None:
        # Walk from the full host up to its parents, so the most specific entry wins.
        while host:
            for prefix, key in self._paths.get(host, ()):
                if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
                    return key
            key = self._hosts.get(host)
            if key is not None:
                return key
            dot = host.find(".")
            if dot < 0:
                return None
            host = host[dot + 1 :]
        return None

    def _match_utm_source(self, query: str) -> Hashable | None:
        # The first utm_source decides, as in the analytics tools that set it.
        for pair in query.split("&"):
            name, _, token = pair.partition("=")
            if name.strip() == "utm_source":
                token = token.strip()
                key = self._aliases.get(token)
                if key is not None or not token:
                    return key
                authority, path, _ = _split_url(token)
                return self._match_host(host=_host_of(authority), path=path)
        return None


# Collected from Matomo's AIAssistants list, Snowplow's referer-parser `chatbot` section and
# Adobe's AI-traffic guide. Plain data: the seeding data migration imports it.
SEED_PLATFORMS: list[dict] = [
    {
        "slug": "chatgpt",
        "name": "ChatGPT",
        "hosts": ["chatgpt.com", "chat.openai.com", "labs.openai.com", "openai.com"],
        "aliases": ["chatgpt"],
    },
    {"slug": "claude", "name": "Claude", "hosts": ["claude.ai"], "aliases": ["claude"]},
    {
        "slug": "perplexity",
        "name": "Perplexity",
        "hosts": ["perplexity.ai"],
        "aliases": ["perplexity"],
    },
    {
        "slug": "gemini",
        "name": "Gemini",
        "hosts": ["gemini.google.com", "bard.google.com", "aistudio.google.com"],
        "aliases": ["gemini"],
    },
    {
        "slug": "copilot",
        "name": "Microsoft Copilot",
        "hosts": [
            "copilot.microsoft.com",
            "copilot.cloud.microsoft",
            "m365.cloud.microsoft",
            "copilot.com",
            "bing.com/chat",
            "edgeservices.bing.com",
        ],
        "aliases": ["copilot"],
    },
    {
        "slug": "deepseek",
        "name": "DeepSeek",
        "hosts": ["chat.deepseek.com", "deepseek.com"],
        "aliases": ["deepseek"],
    },
    {"slug": "meta_ai", "name": "Meta AI", "hosts": ["meta.ai"], "aliases": []},
    {"slug": "grok", "name": "Grok", "hosts": ["grok.com", "x.com/i/grok"], "aliases": ["grok"]},
    {"slug": "mistral", "name": "Le Chat (Mistral)", "hosts": ["chat.mistral.ai"], "aliases": []},
    {"slug": "you", "name": "You.com", "hosts": ["you.com"], "aliases": []},
    {"slug": "poe", "name": "Poe", "hosts": ["poe.com"], "aliases": []},
    {"slug": "phind", "name": "Phind", "hosts": ["phind.com"], "aliases": ["phind"]},
    {"slug": "character_ai", "name": "Character.AI", "hosts": ["character.ai"], "aliases": []},
    {"slug": "duck_ai", "name": "Duck.ai", "hosts": ["duck.ai"], "aliases": []},
    {
        "slug": "notebooklm",
        "name": "NotebookLM",
        "hosts": ["notebooklm.google.com"],
        "aliases": [],
    },
    {"slug": "qwen", "name": "Qwen", "hosts": ["chat.qwen.ai"], "aliases": []},
    {"slug": "kimi", "name": "Kimi", "hosts": ["kimi.moonshot.cn", "kimi.com"], "aliases": []},
    {"slug": "iask", "name": "iAsk", "hosts": ["iask.ai"], "aliases": []},
]


def matcher_from_seed() -> ReferrerMatcher:
    """Build a matcher over the seed list keyed by slug, for tests and tools without a database."""
    return ReferrerMatcher(
        (platform["slug"], kind, value)
        for platform in SEED_PLATFORMS
        for kind, field in (("host", "hosts"), ("alias", "aliases"))
        for value in platform[field]
    )


def page_location(*, website: str, raw_page_value: str) -> tuple[str, str, int]:
    """(url, path, depth) of a raw page value, for the site map.

    A value starting with `/` is a path on the website; an absolute http(s) URL is kept as
    is; anything else (an Adobe page name such as `home:shoes`) is its own url, with an empty
    path and depth 0. Depth counts non-empty path segments; query and fragment are ignored.
    """
    lowered = raw_page_value[:8].lower()
    if raw_page_value.startswith("/"):
        url = f"https://{website}{raw_page_value}"
        path = raw_page_value
    elif lowered.startswith(("http://", "https://")):
        url = raw_page_value
        rest = raw_page_value.split("//", 1)[1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
    else:
        return raw_page_value, "", 0
    path = path.split("#", 1)[0].split("?", 1)[0]
    depth = sum(1 for segment in path.split("/") if segment)
    return url, path, depth
