"""Raw referrer values matched against the AI-platform allow-list (pure, no ORM)."""

import re
from collections.abc import Hashable, Iterable
from urllib.parse import unquote, unquote_plus

from referrals.allow_list.urls import host_of, split_url, starts_like_url

# Longer raw values are still matched, but not memoized, so one huge value cannot bloat the memo.
_MAX_MEMO_KEY = 2048
_MISS = object()
_ANDROID_APP = "android-app:"

# Analytics placeholders for "no referrer"; listed so no alias can ever turn them into a platform.
PLACEHOLDERS = frozenset(
    {"", "-", "none", "null", "(none)", "(direct)", "(not set)", "direct", "typed/bookmarked"}
)


def _wholly_encoded(value: str, decoded: str) -> bool:
    """Whether a raw value is a URL percent-encoded as a whole (`https%3A%2F%2Fchatgpt.com%2F`):
    as written it names no host and does not start like a URL, but decoded once it does.

    Such a value is matched as the URL it spells, whose parts are then decoded once more after
    the split, as in any raw URL. One level only: `https%253A%252F%252F...` is no referrer.
    A value that names a host as written is read as written (`evil.example:%2F%2Fchatgpt.com`
    is evil.example with a bad port, not a URL with the scheme `evil.example`).
    """
    return (
        starts_like_url(decoded)
        and not starts_like_url(value)
        and not host_of(split_url(value)[0], decode=True)
    )


class ReferrerMatcher:
    """Map raw referrer values to platform keys, built once per allow-list and reused.

    Entries are `(platform_key, kind, value)`; kind `"host"` is a hostname or host+path
    (`bing.com/chat`), kind `"alias"` a bare token (`perplexity`), kind `"app"` an Android
    package id (`com.openai.chatgpt`), matched exactly as the authority of an `android-app://`
    referrer and never as a hostname. When two platforms claim the same value the first entry
    wins; entries without a host are skipped, so a bad admin edit cannot break every push.

    A raw value is split on its raw delimiters first and each part is percent-decoded on its
    own, so an encoded `/`, `?`, `#`, `\\`, `@` or `&` can never change what the parts are: a
    host that holds a delimiter once decoded is no host, a path is compared segment by
    segment, a query is split on `&` before its names and values are decoded.
    """

    def __init__(
        self, entries: Iterable[tuple[Hashable, str, str]], *, memo_size: int = 50_000
    ) -> None:
        self._hosts: dict[str, Hashable] = {}
        self._paths: dict[str, list[tuple[list[str], Hashable]]] = {}
        self._aliases: dict[str, Hashable] = {}
        self._apps: dict[str, Hashable] = {}
        self._memo: dict[str, Hashable | None] = {}
        self._memo_size = memo_size
        for key, kind, value in entries:
            token = value.strip().lower()
            if kind == "alias":
                if token:
                    self._aliases.setdefault(token, key)
            elif kind == "host":
                authority, path, _ = split_url(token)
                host, path = host_of(authority), path.rstrip("/")
                if not host:
                    continue
                if path:
                    self._paths.setdefault(host, []).append((path.split("/")[1:], key))
                else:
                    self._hosts.setdefault(host, key)
            elif kind == "app":
                app = host_of(split_url(token)[0])  # `android-app://com.x.y/` names `com.x.y`
                if app:
                    self._apps.setdefault(app, key)
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
        value = raw.strip().lower()
        # Placeholders and aliases are compared whole, so decoding the whole value cannot move a
        # delimiter there; lowercase again, as %43 decodes to "C".
        decoded = unquote(value).strip().lower()
        if decoded in PLACEHOLDERS:
            return None
        key = self._aliases.get(decoded)
        if key is not None:
            return key
        if "%" in value and _wholly_encoded(value, decoded):
            value = decoded
        return self._match_url(value)

    def _match_url(self, value: str) -> Hashable | None:
        authority, path, query = split_url(value)
        host = host_of(authority, decode=True)
        key = None
        if host:
            if value.startswith(_ANDROID_APP):
                key = self._apps.get(host)
            if key is None:
                key = self._match_host(host=host, path=path, decode=True)
        # An encoded parameter name (`utm%5Fsource`) is still the parameter, hence the "%".
        if key is None and ("utm_source" in query or "%" in query):
            key = self._match_utm_source(query)
        return key

    def _match_host(self, *, host: str, path: str, decode: bool) -> Hashable | None:
        segments = None
        # Walk from the full host up to its parents, so the most specific entry wins.
        while host:
            candidates = self._paths.get(host)
            if candidates:
                if segments is None:
                    # Split on raw slashes before decoding: `chat%2Fx` is one segment, not two.
                    segments = path.split("/")[1:]
                    if decode:
                        segments = [unquote(segment).lower() for segment in segments]
                for prefix, key in candidates:
                    if segments[: len(prefix)] == prefix:
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
        # parse_qsl's rules (split on `&` and `=`, then decode names and values, `+` a space),
        # so `%26` never makes a parameter; only the names are decoded until utm_source is
        # found. The first utm_source decides, as in the analytics tools that set it.
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if "%" in name or "+" in name:
                name = unquote_plus(name).lower()
            if name.strip() == "utm_source":
                token = unquote_plus(value).strip().lower()
                if token in PLACEHOLDERS:  # `utm_source=(direct)` says no more than `(direct)`
                    return None
                key = self._aliases.get(token)
                if key is not None or not token:
                    return key
                # The token is decoded already: its parts are not decoded a second time.
                authority, path, _ = split_url(token)
                return self._match_host(host=host_of(authority), path=path, decode=False)
        return None


# Collected from Matomo's AIAssistants list, Snowplow's referer-parser `chatbot` section and
# Adobe's AI-traffic guide; "apps" are the platforms' Android package ids (their Play Store
# ids). Plain data: the seeding data migrations import it (0002 hosts and aliases, 0006 apps).
SEED_PLATFORMS: list[dict] = [
    {
        "slug": "chatgpt",
        "name": "ChatGPT",
        "hosts": ["chatgpt.com", "chat.openai.com", "labs.openai.com", "openai.com"],
        "aliases": ["chatgpt"],
        "apps": ["com.openai.chatgpt"],
    },
    {
        "slug": "claude",
        "name": "Claude",
        "hosts": ["claude.ai"],
        "aliases": ["claude"],
        "apps": ["com.anthropic.claude"],
    },
    {
        "slug": "perplexity",
        "name": "Perplexity",
        "hosts": ["perplexity.ai"],
        "aliases": ["perplexity"],
        "apps": ["ai.perplexity.app.android"],
    },
    {
        "slug": "gemini",
        "name": "Gemini",
        "hosts": ["gemini.google.com", "bard.google.com", "aistudio.google.com"],
        "aliases": ["gemini"],
        "apps": ["com.google.android.apps.bard"],
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
        "apps": ["com.microsoft.copilot"],
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
        for kind, field in (("host", "hosts"), ("alias", "aliases"), ("app", "apps"))
        for value in platform.get(field, [])
    )


# --- the dropped-referrer tally's key ------------------------------------------------------

TALLY_KEY_MAX = 512  # DroppedReferrer.raw_referrer_value
QUERY_ONLY = "(query only)"
_BARE_QUERY = re.compile(r"^[\w.\-\[\]]+=[^\s&]*(&[^\s&]*)*$")


def referrer_tally_key(raw: str) -> str:
    """What the dropped-referrer tally counts a raw referrer under: its host and path.

    The query string and fragment are dropped (and scheme, userinfo, port, a trailing `/`), so
    a referrer sent with a different query each time (`google.com/search?q=...`) is one line,
    not one per query: the tally grows with the distinct sites and pages, not with traffic.
    Enough stays for an admin to decide an allow-list entry (hostnames and host+path). A value
    without a hostname keeps its case and what precedes its query; a bare query keeps only its
    `utm_source`.
    """
    original = raw
    value = original.lower()
    if "%" in value and not starts_like_url(value) and starts_like_url(unquote(value)):
        value = original = unquote(value)  # a URL percent-encoded whole (see _wholly_encoded)
    prefix = _ANDROID_APP + "//" if value.startswith(_ANDROID_APP) else ""
    authority, path, query = split_url(value)
    host = host_of(authority)
    if host and ("." in host or prefix or starts_like_url(value)):
        return (prefix + host + path.rstrip("/"))[:TALLY_KEY_MAX]
    # No hostname (`perplexity`, `(direct)`, `Direct`): as written, up to its query.
    head = original.partition("#")[0].partition("?")[0]
    if not head or _BARE_QUERY.match(head):  # such as `utm_source=x&id=123`
        params = (head or original.partition("?")[2]).split("&")
        sources = [p for p in params if p.lower().startswith("utm_source=")]
        return sources[0][:TALLY_KEY_MAX] if sources else QUERY_ONLY
    return head[:TALLY_KEY_MAX]
