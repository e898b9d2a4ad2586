"""The async side of a crawl: robots.txt, /llms.txt, the sitemaps, then the pages, each
result handed to `emit` (the database side writes them; nothing here touches it).

Decisions where the spec is silent:
- robots.txt: a 4xx means no rules (everything allowed); a 5xx or no answer means the site
  asked not to be crawled for now (as Google reads it): the crawl stops there, as failed.
- A page's key is its path (with its query, if any), so the site's pages and the pushed
  pages with the same path are one page; URLs on other hosts are not the website's pages.
- Pages come from the sitemaps (robots.txt's, else /sitemap.xml), the home page first; a
  redirect to a page of the site adds its target. At most `max_pages` pages are fetched
  (pages robots.txt disallows for us are listed, not fetched, and count in the budget).
"""

import asyncio
import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from protego import Protego

from referrals.sitemap.crawl.audit import AI_AGENTS, page_audit, page_facts
from referrals.sitemap.crawl.fetch import Fetched, Fetcher
from referrals.sitemap.crawl.sitemaps import sitemap_parse

MAX_SITEMAPS = 100
MAX_CRAWL_DELAY = 30.0
ROBOTS_UNAVAILABLE = "robots.txt answered {why}: the site asks not to be crawled for now."
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class CrawlOptions:
    website: str
    base_url: str  # scheme://host[:port] that stands for the website
    max_pages: int
    concurrency: int
    delay: float
    timeout: float
    max_bytes: int
    user_agent_token: str


@dataclass
class SiteFacts:
    robots_txt_status: int | None = None
    robots_policy: dict[str, bool] = field(default_factory=dict)
    llms_txt: bool | None = None
    sitemap_errors: list[str] = field(default_factory=list)


@dataclass
class PageResult:
    raw_page_value: str
    fetched: bool  # False: disallowed by robots.txt or no answer (see `note`)
    status: int | None = None
    title: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    audit_score: int | None = None
    findings: list[dict] = field(default_factory=list)
    last_indexed: datetime | None = None
    content_updated_at: datetime | None = None
    note: str | None = None
    # For the metrics: the status class ("2xx" ... "5xx"), or why there is no page to read
    # ("robots_disallowed", "timeout", "network", "too_large").
    outcome: str = ""


Emit = Callable[[str, object], None]  # ("site", SiteFacts) | ("found", int) | ("page", PageResult)


def _host(netloc: str) -> str:
    host = netloc.rpartition("@")[2].split(":", 1)[0].lower().rstrip(".")
    return host.removeprefix("www.")


def site_page_value(url: str, options: CrawlOptions) -> str | None:
    """The page's raw value (path, plus its query) when the URL is on the website or on the
    base URL's origin; None otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return None
    base = urlsplit(options.base_url)
    same_origin = (parts.scheme.lower(), parts.netloc.lower()) == (base.scheme, base.netloc)
    if not same_origin and _host(parts.netloc) != options.website:
        return None
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _last_modified(fetched: Fetched) -> datetime | None:
    value = fetched.headers.get("last-modified")
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SiteCrawl:
    def __init__(self, options: CrawlOptions, emit: Emit):
        self.options = options
        self.emit = emit
        self.base = options.base_url.rstrip("/")
        self.robots = Protego.parse("")
        self.fetcher = Fetcher(
            concurrency=options.concurrency,
            delay=options.delay,
            timeout=options.timeout,
            max_bytes=options.max_bytes,
        )
        self.seen: set[str] = set()
        self.queue: asyncio.Queue = asyncio.Queue()
        self.agents_allowed: list[str] = []
        self.robots_error: str | None = None

    def allowed(self, raw: str) -> bool:
        return self.robots.can_fetch(self.base + raw, self.options.user_agent_token)

    async def run(self) -> None:
        try:
            facts = await self._site()
            self.emit("site", facts)
            if facts.robots_txt_status is None or facts.robots_txt_status >= 500:
                why = facts.robots_txt_status or f"nothing ({self.robots_error or 'no answer'})"
                raise CrawlRefused(ROBOTS_UNAVAILABLE.format(why=why))
            pages = await self._sitemap_pages(facts)
            for raw, lastmod in pages:
                self._enqueue(raw, lastmod)
            self.emit("found", len(self.seen))
            workers = [asyncio.create_task(self._worker()) for _ in range(self.options.concurrency)]
            await self.queue.join()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            await self.fetcher.close()

    async def _site(self) -> SiteFacts:
        facts = SiteFacts()
        robots = await self.fetcher.get(self.base + "/robots.txt")
        facts.robots_txt_status = robots.status
        self.robots_error = robots.error  # a timeout, a network error, a refused address
        if robots.status is not None and robots.status < 500:
            text = robots.text() if robots.status == 200 and not robots.too_large else ""
            self.robots = Protego.parse(text)
        delay = self.robots.crawl_delay(self.options.user_agent_token)
        if delay:
            self.fetcher.slow_down(min(float(delay), MAX_CRAWL_DELAY))
        facts.robots_policy = {
            agent: self.robots.can_fetch(self.base + "/", agent) for agent in AI_AGENTS
        }
        self.agents_allowed = [agent for agent, ok in facts.robots_policy.items() if ok]
        reachable = facts.robots_txt_status is not None and facts.robots_txt_status < 500
        if reachable and self.allowed("/llms.txt"):
            llms = await self.fetcher.get(self.base + "/llms.txt")
            facts.llms_txt = llms.status == 200 and llms.content_type not in HTML_TYPES
        return facts

    async def _sitemap_pages(self, facts: SiteFacts) -> list[tuple[str, datetime | None]]:
        listed = [url for url in self.robots.sitemaps if site_page_value(url, self.options)]
        todo = [self.base + site_page_value(url, self.options) for url in listed] or [
            self.base + "/sitemap.xml"
        ]
        done: set[str] = set()
        pages: dict[str, datetime | None] = {"/": None}
        while todo and len(done) < MAX_SITEMAPS and len(pages) < self.options.max_pages:
            url = todo.pop(0)
            if url in done:
                continue
            done.add(url)
            raw = site_page_value(url, self.options)
            if raw is None or not self.allowed(raw):
                continue
            fetched = await self.fetcher.get(url)
            if not fetched.ok:
                facts.sitemap_errors.append(f"{raw}: {fetched.error or fetched.status}")
                continue
            content = sitemap_parse(fetched.body, max_bytes=self.options.max_bytes)
            if content.error:
                facts.sitemap_errors.append(f"{raw}: {content.error}")
            for child in content.sitemaps:
                child_raw = site_page_value(child, self.options)
                if child_raw is not None:
                    todo.append(self.base + child_raw)
            for loc, lastmod in content.pages:
                page_raw = site_page_value(loc, self.options)
                if page_raw is not None and len(pages) < self.options.max_pages:
                    pages.setdefault(page_raw, lastmod)
        return list(pages.items())

    def _enqueue(self, raw: str, lastmod: datetime | None) -> None:
        if raw in self.seen or len(self.seen) >= self.options.max_pages:
            return
        self.seen.add(raw)
        self.queue.put_nowait((raw, lastmod))

    async def _worker(self) -> None:
        while True:
            raw, lastmod = await self.queue.get()
            try:
                self.emit("page", await self._page(raw, lastmod))
            finally:
                self.queue.task_done()

    async def _page(self, raw: str, lastmod: datetime | None) -> PageResult:
        if not self.allowed(raw):
            note = "robots.txt disallows our crawler"
            return PageResult(raw, fetched=False, note=note, outcome="robots_disallowed")
        fetched = await self.fetcher.get(self.base + raw)
        if fetched.error:
            return PageResult(raw, fetched=False, note=fetched.error, outcome=fetched.error_kind)
        result = PageResult(
            raw,
            fetched=True,
            status=fetched.status,
            last_indexed=datetime.now(UTC),
            content_updated_at=lastmod or _last_modified(fetched),
            outcome="too_large" if fetched.too_large else f"{fetched.status // 100}xx",
        )
        if fetched.status in (301, 302, 303, 307, 308):
            target = urljoin(self.base + raw, fetched.headers.get("location", ""))
            target_raw = site_page_value(target, self.options)
            if target_raw is not None:
                self._enqueue(target_raw, None)
                self.emit("found", len(self.seen))
        page_url = self.base + raw
        agents = [a for a in self.agents_allowed if self.robots.can_fetch(page_url, a)]
        facts = None
        if fetched.ok and fetched.content_type in HTML_TYPES:
            facts = page_facts(fetched.text())
            result.title = facts.title
            result.description = facts.description
            result.canonical_url = facts.canonical_url
        audit = page_audit(
            status=fetched.status,
            noindex_header="noindex" in fetched.headers.get("x-robots-tag", "").lower(),
            facts=facts,
            agents_allowed=agents,
            too_large=fetched.too_large,
        )
        result.audit_score, result.findings = audit.score, audit.findings
        return result


class CrawlRefused(RuntimeError):
    """The site cannot be crawled now (robots.txt unavailable): the crawl ends as failed."""


async def site_crawl(options: CrawlOptions, emit: Emit) -> None:
    await SiteCrawl(options, emit).run()
