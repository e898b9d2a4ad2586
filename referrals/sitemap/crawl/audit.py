"""The AI-readiness audit of a page: facts read from its HTML, scored by the rubric of
docs/audit.md (100 points), each lost point explained so a site owner can act on it."""

import json
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser as HTMLParser

# The AI agents whose access robots.txt decides (tokens as their operators document them).
AI_AGENTS = (
    "GPTBot",
    "OAI-SearchBot",
    "ChatGPT-User",
    "ClaudeBot",
    "Claude-SearchBot",
    "Claude-User",
    "PerplexityBot",
    "Perplexity-User",
    "Google-Extended",
    "Applebot-Extended",
    "Meta-ExternalAgent",
    "Amazonbot",
    "CCBot",
    "Bytespider",
    "DuckAssistBot",
    "MistralAI-User",
)

# check: points (docs/audit.md says why each matters and how to earn it)
RUBRIC = {
    "ai_agents": 20,
    "http_200": 15,
    "indexable": 10,
    "title": 10,
    "description": 10,
    "canonical": 10,
    "structured_data": 10,
    "one_h1": 5,
    "text": 10,
}
TITLE_LENGTH = (10, 70)
DESCRIPTION_LENGTH = (50, 160)
TEXT_WORDS_FULL = 250
TEXT_WORDS_HALF = 100
_NOT_TEXT = "script, style, noscript, template, svg, head"


@dataclass
class PageFacts:
    title: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    noindex: bool = False
    h1_count: int = 0
    json_ld_blocks: int = 0
    json_ld_invalid: int = 0
    text_words: int = 0


@dataclass
class Audit:
    score: int
    findings: list[dict] = field(default_factory=list)  # {"check", "lost", "detail"}


def _clean(text: str | None, limit: int = 2000) -> str | None:
    text = " ".join((text or "").split())
    return text[:limit] or None


def page_facts(html: str) -> PageFacts:
    tree = HTMLParser(html)
    facts = PageFacts()
    title = tree.css_first("title")
    facts.title = _clean(title.text() if title else None, 1000)
    for meta in tree.css("meta[name]"):
        name = (meta.attributes.get("name") or "").lower()
        content = meta.attributes.get("content")
        if name == "description" and facts.description is None:
            facts.description = _clean(content)
        elif name == "robots" and "noindex" in (content or "").lower():
            facts.noindex = True
    for link in tree.css("link[rel]"):
        if "canonical" in (link.attributes.get("rel") or "").lower().split():
            facts.canonical_url = _clean(link.attributes.get("href"), 2048)
            break
    facts.h1_count = len(tree.css("h1"))
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            json.loads(script.text() or "")
            facts.json_ld_blocks += 1
        except ValueError:
            facts.json_ld_invalid += 1
    body = tree.body
    if body is not None:
        for node in body.css(_NOT_TEXT):
            node.decompose()
        facts.text_words = len(body.text(separator=" ").split())
    return facts


def _length_points(value: str | None, bounds: tuple[int, int], points: int) -> tuple[int, str]:
    if not value:
        return 0, "missing"
    low, high = bounds
    if low <= len(value) <= high:
        return points, ""
    return points // 2, f"{len(value)} characters; {low}-{high} read best in AI answers"


def page_audit(
    *,
    status: int | None,
    noindex_header: bool,
    facts: PageFacts | None,
    agents_allowed: list[str],
    too_large: bool = False,
) -> Audit:
    """The page's score and what cost it points. `facts` is None when the page's HTML could
    not be read (not a 200, not HTML, over the size cap): its content checks score 0."""
    earned: dict[str, int] = {}
    findings: list[dict] = []

    def lose(check: str, got: int, detail: str) -> None:
        earned[check] = got
        if got < RUBRIC[check]:
            findings.append({"check": check, "lost": RUBRIC[check] - got, "detail": detail})

    blocked = [agent for agent in AI_AGENTS if agent not in agents_allowed]
    lose(
        "ai_agents",
        round(RUBRIC["ai_agents"] * (len(AI_AGENTS) - len(blocked)) / len(AI_AGENTS)),
        f"robots.txt blocks {', '.join(blocked)}" if blocked else "",
    )
    lose("http_200", RUBRIC["http_200"] if status == 200 else 0, f"HTTP status {status}")
    if facts is None:
        why = (
            "the page is over the crawl's size cap"
            if too_large
            else "no HTML to read (not a 200 HTML page)"
        )
        for check in ("indexable", "title", "description", "canonical", "structured_data"):
            lose(check, 0, why)
        lose("one_h1", 0, why)
        lose("text", 0, why)
        return Audit(score=sum(earned.values()), findings=findings)
    noindex = facts.noindex or noindex_header
    lose(
        "indexable", 0 if noindex else RUBRIC["indexable"], "noindex (meta robots or X-Robots-Tag)"
    )
    got, why = _length_points(facts.title, TITLE_LENGTH, RUBRIC["title"])
    lose("title", got, f"<title> {why}")
    got, why = _length_points(facts.description, DESCRIPTION_LENGTH, RUBRIC["description"])
    lose("description", got, f"meta description {why}")
    canonical_ok = bool(facts.canonical_url) and facts.canonical_url.startswith(
        ("http://", "https://")
    )
    lose(
        "canonical",
        RUBRIC["canonical"] if canonical_ok else 0,
        "no absolute <link rel=canonical>" if not facts.canonical_url else "canonical is relative",
    )
    lose(
        "structured_data",
        RUBRIC["structured_data"] if facts.json_ld_blocks else 0,
        "no valid JSON-LD block" + (" (one does not parse)" if facts.json_ld_invalid else ""),
    )
    lose("one_h1", RUBRIC["one_h1"] if facts.h1_count == 1 else 0, f"{facts.h1_count} <h1>")
    if facts.text_words >= TEXT_WORDS_FULL:
        words = RUBRIC["text"]
    elif facts.text_words >= TEXT_WORDS_HALF:
        words = RUBRIC["text"] // 2
    else:
        words = 0
    lose(
        "text",
        words,
        f"{facts.text_words} words of server-rendered text; {TEXT_WORDS_FULL} or more read best",
    )
    return Audit(score=sum(earned.values()), findings=findings)
