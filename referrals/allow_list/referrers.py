"""Raw referrer values matched against the AI-platform allow-list (pure, no ORM)."""

from collections.abc import Hashable, Iterable
from urllib.parse import unquote

from referrals.allow_list.urls import host_of, split_url

# Longer raw values are still matched, but not memoized, so one huge value cannot bloat the memo.
_MAX_MEMO_KEY = 2048
_MISS = object()

# Analytics placeholders for "no referrer"; listed so no alias can ever turn them into a platform.
PLACEHOLDERS = frozenset(
    {"", "-", "none", "null", "(none)", "(direct)", "(not set)", "direct", "typed/bookmarked"}
)


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
                authority, path, _ = split_url(token)
                host, path = host_of(authority), path.rstrip("/")
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
        authority, path, query = split_url(value)
        key = self._match_host(host=host_of(authority), path=path)
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
                if token in PLACEHOLDERS:  # `utm_source=(direct)` says no more than `(direct)`
                    return None
                key = self._aliases.get(token)
                if key is not None or not token:
                    return key
                authority, path, _ = split_url(token)
                return self._match_host(host=host_of(authority), path=path)
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
