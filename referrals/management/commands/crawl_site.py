"""crawl_site --brand ID --website HOST [--base-url URL] [--max-pages N] [--concurrency N]."""

from django.core.management.base import BaseCommand, CommandError

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.models import Brand
from referrals.sitemap.crawl.run import crawl_options, crawl_site


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = kind.__name__
    return parse


class Command(BaseCommand):
    help = (
        "Crawl a website of a brand politely (robots.txt, sitemaps, pages) and store each "
        "page's title, description, canonical URL and AI-readiness audit."
    )

    def add_arguments(self, parser):
        parser.add_argument("--brand", type=int, required=True, help="Brand id.")
        parser.add_argument("--website", required=True, help="The website (any spelling).")
        parser.add_argument(
            "--base-url",
            default=None,
            help="An origin that stands for the website (a staging copy, a test server); "
            "default https://WEBSITE.",
        )
        parser.add_argument("--max-pages", type=_positive(int), default=None)
        parser.add_argument("--concurrency", type=_positive(int), default=None)
        parser.add_argument(
            "--delay", type=float, default=None, help="Seconds between two requests to the host."
        )
        parser.add_argument("--timeout", type=_positive(float), default=None)
        parser.add_argument("--max-bytes", type=_positive(int), default=None)

    def handle(self, *args, brand: int, website: str, base_url: str | None, **options):
        if not Brand.objects.filter(pk=brand).exists():
            raise CommandError(f"Brand {brand} does not exist.")
        try:
            website = website_canonical(website)
        except InvalidWebsite as exc:
            raise CommandError(str(exc)) from None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise CommandError("--base-url must be an http(s) URL.")
        if options["delay"] is not None and options["delay"] < 0:
            raise CommandError("--delay must not be negative.")
        crawl = crawl_options(
            website=website,
            base_url=base_url,
            max_pages=options["max_pages"],
            concurrency=options["concurrency"],
            delay=options["delay"],
            timeout=options["timeout"],
            max_bytes=options["max_bytes"],
        )
        summary = crawl_site(brand_id=brand, options=crawl)
        self.stdout.write(
            f"{website}: {summary.pages_crawled} pages crawled, {summary.pages_failed} not "
            f"fetched, of {summary.pages_found} found"
        )
        if summary.error:
            raise CommandError(summary.error)
