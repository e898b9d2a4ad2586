"""Crawl benchmark: crawl_site over a website of 5,000 pages served on 127.0.0.1.

Run with `make bench-crawl` (a throwaway PostgreSQL) or with DATABASE_URL set to an empty
database (an SQLite file works too). Writes the site (robots.txt, a sitemap index with a
gzipped child and a plain one, 5,000 HTML pages of ~4 KB) to a temporary directory, serves
it with a threaded http.server, runs crawl_site with no delay (the server is ours) and prints
the wall time, pages per second and the CPU yardstick. Target: under 60 s.
"""

import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.calibration import calibration_line  # noqa: E402 (after the sys.path line)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("CRAWL_PRIVATE_ADDRESSES", "1")  # its website is ours, on 127.0.0.1

PAGES = int(os.environ.get("BENCH_CRAWL_PAGES", "5000"))
CONCURRENCY = int(os.environ.get("BENCH_CRAWL_CONCURRENCY", "8"))
TARGET_SECONDS = 60
PAGE = """<!doctype html><html><head><title>Page {i} of the benchmark site</title>
<meta name="description" content="A page of the crawl benchmark, number {i}, with enough words.">
<link rel="canonical" href="https://bench.example/section-{s}/page-{i}.html">
<script type="application/ld+json">{{"@type": "WebPage", "name": "Page {i}"}}</script>
</head><body><h1>Page {i}</h1><p>{words}</p></body></html>"""


def urlset(base: str, paths: list[str]) -> bytes:
    entries = "".join(
        f"<url><loc>{base}{p}</loc><lastmod>2026-05-01</lastmod></url>" for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def write_site(root: Path, base: str) -> None:
    words = " ".join(f"word{n}" for n in range(400))
    paths = []
    for i in range(PAGES):
        section = i % 40
        folder = root / f"section-{section}"
        folder.mkdir(exist_ok=True)
        (folder / f"page-{i}.html").write_text(PAGE.format(i=i, s=section, words=words))
        paths.append(f"/section-{section}/page-{i}.html")
    (root / "index.html").write_text(PAGE.format(i="home", s=0, words=words))
    (root / "robots.txt").write_text(
        f"User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n\n"
        f"Sitemap: {base}/sitemap_index.xml\n"
    )
    half = len(paths) // 2
    (root / "sitemap-1.xml.gz").write_bytes(gzip.compress(urlset(base, paths[:half])))
    (root / "sitemap-2.xml").write_bytes(urlset(base, paths[half:]))
    (root / "sitemap_index.xml").write_text(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap-1.xml.gz</loc></sitemap>"
        f"<sitemap><loc>{base}/sitemap-2.xml</loc></sitemap></sitemapindex>"
    )


def main() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to an empty database, or run `make bench-crawl`.")
    import django

    django.setup()
    from django.core.management import call_command

    from referrals.models import Brand, Organization, SitemapPage, WebsiteCrawl
    from tests.sitemap.site_server import SiteServer

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(name="Crawl bench")
    brand = Brand.objects.create(organization=org, name=f"Crawl bench {time.time_ns()}")
    with tempfile.TemporaryDirectory() as tmp, SiteServer(Path(tmp)) as server:
        write_site(Path(tmp), server.url)
        started = time.perf_counter()
        call_command(
            "crawl_site",
            "--brand", str(brand.pk), "--website", "bench.example", "--base-url", server.url,
            "--max-pages", str(PAGES + 1), "--concurrency", str(CONCURRENCY), "--delay", "0",
        )  # fmt: skip
        seconds = time.perf_counter() - started
    crawled = SitemapPage.objects.filter(brand=brand, last_indexed__isnull=False).count()
    state = WebsiteCrawl.objects.get(brand=brand)
    verdict = "ok" if seconds < TARGET_SECONDS and crawled == PAGES + 1 else "OVER"
    print(
        f"crawl of {crawled:,} pages ({state.pages_failed} not fetched), concurrency "
        f"{CONCURRENCY}, {os.environ['DATABASE_URL'].split(':')[0]}: {seconds:.1f} s, "
        f"{crawled / seconds:.0f} pages/s (target < {TARGET_SECONDS} s: {verdict})"
    )
    print(calibration_line())


if __name__ == "__main__":
    main()
