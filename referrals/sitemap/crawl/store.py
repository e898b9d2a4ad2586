"""The database side of a crawl: the website's crawl state, and the pages it found, created
as the push creates them (same page key, url, path and depth) and filled with what was read.
Every statement filters on the brand (one shard on Citus)."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from referrals.ingest.upsert import website_pages_ensure
from referrals.models import SitemapPage, WebsiteCrawl
from referrals.sitemap.crawl.discover import PageResult, SiteFacts

FETCHED_FIELDS = [
    "title",
    "description",
    "canonical_url",
    "http_status",
    "audit_score",
    "audit_findings",
    "last_indexed",
    "content_updated_at",
]


def crawl_state(*, brand_id: int, website: str):
    return WebsiteCrawl.objects.filter(brand_id=brand_id, website=website)


def crawl_state_start(*, brand_id: int, website: str, base_url: str) -> None:
    WebsiteCrawl.objects.get_or_create(brand_id=brand_id, website=website)
    crawl_state(brand_id=brand_id, website=website).update(
        status=WebsiteCrawl.STATUS_RUNNING,
        base_url=base_url,
        started_at=timezone.now(),
        finished_at=None,
        pages_found=0,
        pages_crawled=0,
        pages_failed=0,
        last_error="",
    )


def crawl_state_site(*, brand_id: int, website: str, facts: SiteFacts) -> None:
    crawl_state(brand_id=brand_id, website=website).update(
        robots_txt_status=facts.robots_txt_status,
        robots_policy=facts.robots_policy,
        llms_txt=facts.llms_txt,
    )


def crawl_state_found(*, brand_id: int, website: str, found: int) -> None:
    crawl_state(brand_id=brand_id, website=website).update(pages_found=found)


def crawl_state_finish(*, brand_id: int, website: str, error: str | None, notes: str = "") -> None:
    now = timezone.now()
    changes = {"finished_at": now, "last_error": (error or notes)[:5000]}
    if error:
        changes["status"] = WebsiteCrawl.STATUS_FAILED
    else:
        changes |= {"status": WebsiteCrawl.STATUS_DONE, "last_crawl_completed": now}
    crawl_state(brand_id=brand_id, website=website).update(**changes)


def crawl_pages_store(*, brand_id: int, website: str, results: list[PageResult]) -> None:
    """One batch of results in one transaction: the pages ensured, then updated in bulk.
    A page that could not be fetched keeps what an earlier crawl read; its note says why."""
    if not results:
        return
    with transaction.atomic():
        ids = website_pages_ensure(
            brand_id=brand_id, website=website, raw_values=[r.raw_page_value for r in results]
        )
        fetched, unfetched = [], []
        for result in results:
            page = SitemapPage(pk=ids[result.raw_page_value], brand_id=brand_id)
            if result.fetched:
                page.title = result.title
                page.description = result.description
                page.canonical_url = result.canonical_url
                page.http_status = result.status
                page.audit_score = result.audit_score
                page.audit_findings = result.findings
                page.last_indexed = result.last_indexed
                page.content_updated_at = result.content_updated_at
                fetched.append(page)
            else:
                page.audit_findings = [{"check": "crawl", "lost": 0, "detail": result.note}]
                unfetched.append(page)
        pages = SitemapPage.objects.filter(brand_id=brand_id)
        if fetched:
            pages.bulk_update(fetched, FETCHED_FIELDS, batch_size=500)
        if unfetched:
            pages.bulk_update(unfetched, ["audit_findings"], batch_size=500)
        crawl_state(brand_id=brand_id, website=website).update(
            pages_crawled=F("pages_crawled") + len(fetched),
            pages_failed=F("pages_failed") + len(unfetched),
        )
