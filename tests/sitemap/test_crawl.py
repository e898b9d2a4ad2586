"""crawl_site against a real website served on 127.0.0.1: robots.txt, a sitemap index with a
gzipped child, good and bad pages, a redirect, a 404, a slow page, an oversized page and a
page robots.txt disallows."""

import gzip
import json

import pytest
from django.core.management import CommandError, call_command

from referrals.models import Connection, SitemapPage, WebsiteCrawl
from referrals.sitemap.crawl.audit import AI_AGENTS, RUBRIC, page_audit, page_facts
from referrals.sitemap.crawl.discover import site_page_value
from referrals.sitemap.crawl.run import crawl_options
from referrals.sitemap.crawl.sitemaps import sitemap_parse
from tests.factories import row
from tests.sitemap.site_server import SiteServer

pytestmark = pytest.mark.django_db

WORDS = " ".join(["word"] * 300)
GOOD = f"""<!doctype html><html><head>
<title>Launch notes for spring</title>
<meta name="description" content="Everything that shipped in the spring launch, in one page.">
<link rel="canonical" href="https://example.com/good.html">
<script type="application/ld+json">{json.dumps({"@type": "Article"})}</script>
</head><body><h1>Launch notes</h1><p>{WORDS}</p><script>var notText = 1;</script></body></html>"""
BAD = "<html><head></head><body><h1>a</h1><h1>b</h1><p>thin</p></body></html>"
MAX_BYTES = 50_000


def urlset(base: str, paths: dict[str, str | None]) -> bytes:
    entries = "".join(
        f"<url><loc>{base}{path}</loc>{f'<lastmod>{mod}</lastmod>' if mod else ''}</url>"
        for path, mod in paths.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


@pytest.fixture
def site(tmp_path):
    with SiteServer(tmp_path) as server:
        base = server.url
        (tmp_path / "robots.txt").write_text(
            "User-agent: *\nDisallow: /private.html\n\n"
            "User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n\n"
            f"Sitemap: {base}/sitemap_index.xml\n"
        )
        (tmp_path / "llms.txt").write_text("# Example\n> An example site.\n")
        (tmp_path / "sitemap_index.xml").write_text(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-a.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemap-b.xml</loc></sitemap>"
            "<sitemap><loc>https://elsewhere.example/sitemap.xml</loc></sitemap>"
            "</sitemapindex>"
        )
        a = {"/good.html": "2026-05-01T10:00:00+02:00", "/bad.html": None, "/redirect": None}
        (tmp_path / "sitemap-a.xml.gz").write_bytes(gzip.compress(urlset(base, a)))
        b = {"/missing.html": None, "/slow.html": None, "/big.html": None, "/private.html": None}
        sitemap_b = urlset(base, b).replace(
            b"</urlset>", b"<url><loc>https://elsewhere.example/x</loc></url></urlset>"
        )
        (tmp_path / "sitemap-b.xml").write_bytes(sitemap_b)
        (tmp_path / "index.html").write_text(GOOD.replace("good.html", ""))
        (tmp_path / "good.html").write_text(GOOD)
        (tmp_path / "bad.html").write_text(BAD)
        (tmp_path / "moved.html").write_text(GOOD.replace("good.html", "moved.html"))
        (tmp_path / "slow.html").write_text(GOOD)
        (tmp_path / "private.html").write_text(GOOD)
        (tmp_path / "big.html").write_text(GOOD + "<!--" + "x" * (MAX_BYTES * 2) + "-->")
        yield server


def crawl(brand, site, **options):
    args = {"delay": 0, "timeout": 1, "max_bytes": MAX_BYTES, "concurrency": 4} | options
    call_command(
        "crawl_site",
        "--brand", str(brand.pk), "--website", "example.com", "--base-url", site.url,
        *[f"--{k.replace('_', '-')}={v}" for k, v in args.items()],
    )  # fmt: skip


def pages(brand) -> dict[str, SitemapPage]:
    return {p.raw_page_value: p for p in SitemapPage.objects.filter(brand=brand)}


def test_crawl_stores_pages_audit_and_site_facts(brand, site):
    crawl(brand, site)
    found = pages(brand)
    assert set(found) == {
        "/", "/good.html", "/bad.html", "/redirect", "/moved.html", "/missing.html",
        "/slow.html", "/big.html", "/private.html",
    }  # fmt: skip
    good = found["/good.html"]
    assert good.url == "https://example.com/good.html" and good.depth == 1
    assert good.title == "Launch notes for spring"
    assert good.description.startswith("Everything that shipped")
    assert good.canonical_url == "https://example.com/good.html"
    assert good.http_status == 200 and good.last_indexed is not None
    assert good.content_updated_at.isoformat() == "2026-05-01T08:00:00+00:00"  # sitemap lastmod
    # GPTBot and CCBot are blocked by robots.txt: the only points this page loses.
    blocked = round(RUBRIC["ai_agents"] * 2 / len(AI_AGENTS))
    assert good.audit_score == 100 - blocked
    assert [f["check"] for f in good.audit_findings] == ["ai_agents"]
    assert "GPTBot" in good.audit_findings[0]["detail"]

    bad = found["/bad.html"]
    assert bad.audit_score < 50
    lost = {f["check"] for f in bad.audit_findings}
    assert {"title", "description", "canonical", "structured_data", "one_h1", "text"} <= lost
    assert bad.content_updated_at is not None  # the file's Last-Modified

    assert found["/redirect"].http_status == 301
    assert found["/moved.html"].title == "Launch notes for spring"  # the redirect's target
    assert found["/missing.html"].http_status == 404
    assert found["/missing.html"].audit_score < 25
    big = found["/big.html"]
    assert big.http_status == 200 and big.title is None
    assert any("size cap" in f["detail"] for f in big.audit_findings)
    for raw, why in [("/slow.html", "timed out"), ("/private.html", "robots.txt")]:
        page = found[raw]
        assert page.last_indexed is None and page.audit_score is None
        assert why in page.audit_findings[0]["detail"]

    state = WebsiteCrawl.objects.get(brand=brand, website="example.com")
    assert state.status == "done" and state.last_crawl_completed is not None
    assert (state.pages_found, state.pages_crawled, state.pages_failed) == (9, 7, 2)
    assert state.robots_policy["GPTBot"] is False and state.robots_policy["ClaudeBot"] is True
    assert state.llms_txt is True and state.robots_txt_status == 200

    paths = [path for path, _ in site.requests_seen]
    assert "/private.html" not in paths  # robots.txt obeyed
    assert all(agent.startswith("AIReferralsBot/1.0 (+http") for _, agent in site.requests_seen)


def test_crawled_and_pushed_pages_are_one_site_map(api_client, brand, site):
    connection = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    pushed = row(connection, "2026-05-20", "chatgpt", "/good.html", sessions=3).page
    crawl(brand, site)
    assert SitemapPage.objects.filter(brand=brand, raw_page_value="/good.html").count() == 1
    body = api_client.get(
        f"/v1/{brand.pk}/sitemap/pages", {"search": "launch notes", "max_depth": 1}
    ).json()
    assert body["last_crawl_completed"] is not None
    item = next(i for i in body["items"] if i["id"] == pushed.pk)
    assert item["title"] == "Launch notes for spring" and item["audit_score"] > 80
    detail = api_client.get(f"/v1/{brand.pk}/sitemap/pages/{pushed.pk}").json()
    assert detail["last_indexed"] and detail["content_updated_at"].startswith("2026-05-01")
    assert [f["check"] for f in detail["audit_findings"]] == ["ai_agents"]


def test_page_budget(brand, site):
    crawl(brand, site, max_pages=3)
    assert len(pages(brand)) == 3


def test_a_second_crawl_updates_the_same_pages(brand, site):
    crawl(brand, site)
    first = {raw: page.pk for raw, page in pages(brand).items()}
    crawl(brand, site)
    assert {raw: page.pk for raw, page in pages(brand).items()} == first


def test_a_robots_txt_answering_5xx_stops_the_crawl(brand, site):
    site.robots_answer(503)
    with pytest.raises(CommandError, match="asks not to be crawled"):
        crawl(brand, site)
    state = WebsiteCrawl.objects.get(brand=brand)
    assert state.status == "failed" and state.last_crawl_completed is None
    assert state.robots_txt_status == 503
    assert [path for path, _ in site.requests_seen] == ["/robots.txt"]
    assert not SitemapPage.objects.exists()


def test_a_missing_robots_txt_allows_everything(brand, tmp_path):
    (tmp_path / "index.html").write_text(GOOD)
    with SiteServer(tmp_path) as server:
        crawl(brand, server)
    state = WebsiteCrawl.objects.get(brand=brand)
    assert state.robots_txt_status == 404 and state.status == "done"
    assert all(state.robots_policy.values()) and state.llms_txt is False
    assert pages(brand)["/"].title == "Launch notes for spring"


def test_an_unreachable_site_fails_the_crawl(brand):
    with pytest.raises(CommandError, match="robots.txt"):
        call_command(
            "crawl_site", "--brand", str(brand.pk), "--website", "example.com",
            "--base-url", "http://127.0.0.1:9", "--timeout", "1",
        )  # fmt: skip
    state = WebsiteCrawl.objects.get(brand=brand)
    assert state.status == "failed" and "robots.txt" in state.last_error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--brand", "999999", "--website", "example.com"], "does not exist"),
        (["--website", "not a host"], "hostname"),
        (["--website", "example.com", "--base-url", "ftp://x"], "http"),
    ],
)
def test_crawl_site_refuses_bad_arguments(brand, args, message):
    if "--brand" not in args:
        args = ["--brand", str(brand.pk), *args]
    with pytest.raises(CommandError, match=message):
        call_command("crawl_site", *args)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1#c", "/a?b=1"),
        ("http://WWW.Example.com", "/"),
        ("https://other.example/a", None),
        ("https://notexample.com/a", None),
        ("http://127.0.0.1:8123/x", "/x"),
        ("http://127.0.0.1:9999/x", None),
        ("mailto:a@example.com", None),
    ],
)
def test_site_page_value(url, expected):
    options = crawl_options(website="example.com", base_url="http://127.0.0.1:8123")
    assert site_page_value(url, options) == expected


def test_sitemap_parse_refuses_garbage_and_bombs():
    assert sitemap_parse(b"<html></html>", max_bytes=100).error
    assert sitemap_parse(b"not xml", max_bytes=100).error
    bomb = gzip.compress(b"<urlset>" + b" " * 10_000 + b"</urlset>")
    assert "decompressed" in sitemap_parse(bomb, max_bytes=1000).error
    entities = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><urlset>&b;</urlset>'
    assert sitemap_parse(entities, max_bytes=10_000).pages == []


def test_audit_of_a_page_that_could_not_be_read():
    audit = page_audit(status=500, noindex_header=False, facts=None, agents_allowed=[])
    assert audit.score == 0
    assert sum(f["lost"] for f in audit.findings) == 100


def test_noindex_costs_the_indexable_points():
    facts = page_facts(GOOD.replace("<head>", '<head><meta name="robots" content="noindex">'))
    audit = page_audit(status=200, noindex_header=False, facts=facts, agents_allowed=AI_AGENTS)
    assert audit.score == 100 - RUBRIC["indexable"]
    assert sum(RUBRIC.values()) == 100
