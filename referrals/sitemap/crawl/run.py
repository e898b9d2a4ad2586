"""crawl_site's work, shared by the command and the admin's background crawl.

The network side runs in an asyncio event loop of its own thread (referrals.sitemap.crawl
.discover); results come back through a queue and are written on the calling thread, in
batches, so the database is used as everywhere else (one connection, plain transactions).
"""

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from referrals.ops import metrics
from referrals.sitemap.crawl import store
from referrals.sitemap.crawl.discover import CrawlOptions, CrawlRefused, site_crawl

logger = logging.getLogger(__name__)

BATCH = 200
_DONE = object()


@dataclass
class CrawlSummary:
    pages_found: int = 0
    pages_crawled: int = 0
    pages_failed: int = 0
    error: str | None = None


def crawl_options(
    *,
    website: str,
    base_url: str | None = None,
    max_pages: int | None = None,
    concurrency: int | None = None,
    delay: float | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> CrawlOptions:
    """The crawl's options, settings filling what the caller leaves out."""
    return CrawlOptions(
        website=website,
        base_url=(base_url or f"https://{website}").rstrip("/"),
        max_pages=max_pages or settings.CRAWL_MAX_PAGES,
        concurrency=concurrency or settings.CRAWL_CONCURRENCY,
        delay=settings.CRAWL_DELAY_SECONDS if delay is None else delay,
        timeout=timeout or settings.CRAWL_TIMEOUT_SECONDS,
        max_bytes=max_bytes or settings.CRAWL_MAX_PAGE_BYTES,
        user_agent_token=settings.CRAWL_USER_AGENT_TOKEN,
    )


def _network(options: CrawlOptions, events: queue.Queue) -> None:
    def emit(kind: str, payload) -> None:
        events.put((kind, payload))

    try:
        asyncio.run(site_crawl(options, emit))
    except CrawlRefused as exc:
        events.put(("error", str(exc)))
    except Exception as exc:  # reported as the crawl's error, never lost in a thread
        logger.exception("crawl of %s failed", options.website)
        events.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        events.put((_DONE, None))


def crawl_site(*, brand_id: int, options: CrawlOptions) -> CrawlSummary:
    """Crawl a website of a brand and store what was found; returns when done."""
    website = options.website
    started = time.monotonic()
    store.crawl_state_start(brand_id=brand_id, website=website, base_url=options.base_url)
    events: queue.Queue = queue.Queue()
    thread = threading.Thread(target=_network, args=(options, events), daemon=True)
    thread.start()
    summary, batch, notes = CrawlSummary(), [], []

    def flush() -> None:
        store.crawl_pages_store(brand_id=brand_id, website=website, results=batch)
        summary.pages_crawled += sum(1 for r in batch if r.fetched)
        summary.pages_failed += sum(1 for r in batch if not r.fetched)
        batch.clear()

    try:
        while True:
            kind, payload = events.get()
            if kind is _DONE:
                break
            if kind == "page":
                metrics.crawl_page(outcome=payload.outcome)
                batch.append(payload)
                if len(batch) >= BATCH:
                    flush()
            elif kind == "found":
                summary.pages_found = payload
                store.crawl_state_found(brand_id=brand_id, website=website, found=payload)
            elif kind == "site":
                store.crawl_state_site(brand_id=brand_id, website=website, facts=payload)
                notes = payload.sitemap_errors
            elif kind == "error":
                summary.error = payload
        flush()
    except BaseException as exc:
        store.crawl_state_finish(brand_id=brand_id, website=website, error=repr(exc))
        metrics.crawl_finished(failed=True, seconds=time.monotonic() - started)
        raise
    thread.join()
    note = "; ".join(notes[:20])
    store.crawl_state_finish(brand_id=brand_id, website=website, error=summary.error, notes=note)
    metrics.crawl_finished(failed=bool(summary.error), seconds=time.monotonic() - started)
    return summary
