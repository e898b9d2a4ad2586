"""The seed list of AI agents (migration 0014), from the operators' own crawler documentation
and the ai.robots.txt project's robots.json (operator, function).

Left out on purpose: robots.txt-only product tokens that never appear in a user agent
(Google-Extended, Applebot-Extended, Meta's facebookexternalhit is a link previewer), and
search engines' general crawlers (Googlebot, Bingbot), which are not AI agents.
"""

# New platforms for operators without an assistant in the referral allow-list (no entries:
# nobody is referred from them, their agents are counted for them).
SEED_AGENT_PLATFORMS = [
    {"slug": "common_crawl", "name": "Common Crawl"},
    {"slug": "doubao", "name": "Doubao (ByteDance)"},
    {"slug": "amazon", "name": "Amazon (Alexa)"},
    {"slug": "apple", "name": "Apple Intelligence"},
    {"slug": "cohere", "name": "Cohere"},
    {"slug": "diffbot", "name": "Diffbot"},
    {"slug": "timpi", "name": "Timpi"},
]

# name (= the user-agent token), operator, purpose, platform slug, documentation
SEED_AGENTS = [
    ("GPTBot", "OpenAI", "training", "chatgpt", "https://platform.openai.com/docs/bots"),
    ("OAI-SearchBot", "OpenAI", "search", "chatgpt", "https://platform.openai.com/docs/bots"),
    ("ChatGPT-User", "OpenAI", "user", "chatgpt", "https://platform.openai.com/docs/bots"),
    ("ClaudeBot", "Anthropic", "training", "claude", "https://support.claude.com/"),
    ("Claude-SearchBot", "Anthropic", "search", "claude", "https://support.claude.com/"),
    ("Claude-User", "Anthropic", "user", "claude", "https://support.claude.com/"),
    (
        "PerplexityBot",
        "Perplexity",
        "search",
        "perplexity",
        "https://docs.perplexity.ai/guides/bots",
    ),
    (
        "Perplexity-User",
        "Perplexity",
        "user",
        "perplexity",
        "https://docs.perplexity.ai/guides/bots",
    ),
    (
        "Google-CloudVertexBot",
        "Google",
        "search",
        "gemini",
        "https://developers.google.com/search/docs/crawling-indexing/google-common-crawlers",
    ),
    (
        "Gemini-Deep-Research",
        "Google",
        "user",
        "gemini",
        "https://developers.google.com/search/docs/crawling-indexing/google-user-triggered-fetchers",
    ),
    ("CCBot", "Common Crawl", "training", "common_crawl", "https://commoncrawl.org/ccbot"),
    ("Bytespider", "ByteDance", "training", "doubao", ""),
    ("Amazonbot", "Amazon", "search", "amazon", "https://developer.amazon.com/amazonbot"),
    ("Applebot", "Apple", "search", "apple", "https://support.apple.com/en-us/119829"),
    (
        "meta-externalagent",
        "Meta",
        "training",
        "meta_ai",
        "https://developers.facebook.com/docs/sharing/webmasters/web-crawlers",
    ),
    (
        "meta-externalfetcher",
        "Meta",
        "user",
        "meta_ai",
        "https://developers.facebook.com/docs/sharing/webmasters/web-crawlers",
    ),
    (
        "FacebookBot",
        "Meta",
        "training",
        "meta_ai",
        "https://developers.facebook.com/docs/sharing/bot",
    ),
    (
        "DuckAssistBot",
        "DuckDuckGo",
        "user",
        "duck_ai",
        "https://duckduckgo.com/duckduckgo-help-pages/results/duckassistbot",
    ),
    (
        "MistralAI-User",
        "Mistral AI",
        "user",
        "mistral",
        "https://docs.mistral.ai/robots",
    ),
    ("cohere-ai", "Cohere", "user", "cohere", ""),
    ("cohere-training-data-crawler", "Cohere", "training", "cohere", ""),
    ("YouBot", "You.com", "search", "you", "https://about.you.com/youbot/"),
    ("PhindBot", "Phind", "search", "phind", ""),
    (
        "Diffbot",
        "Diffbot",
        "training",
        "diffbot",
        "https://docs.diffbot.com/docs/getting-started-with-crawl",
    ),
    ("Timpibot", "Timpi", "training", "timpi", "https://timpi.io"),
    ("iaskspider", "iAsk", "search", "iask", ""),
]
