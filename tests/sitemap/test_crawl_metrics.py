"""The crawl's counters in /metrics, after crawls of the test website served on 127.0.0.1
(tests/sitemap/test_crawl.py's site): pages by outcome, runs by result, their duration.

Across processes (a crawl_site process next to gunicorn): tests/ops/test_metrics_crawl.py.
"""

import pytest
from django.core.management import CommandError

from tests.ops.test_metrics import TOKEN, scrape, value
from tests.sitemap.test_crawl import crawl, site  # noqa: F401 (site: the fixture)

pytestmark = pytest.mark.django_db

# What the site's nine pages give (test_crawl.test_crawl_stores_pages_audit_and_site_facts).
PAGES_BY_OUTCOME = {
    "2xx": 4,  # /, /good.html, /bad.html, /moved.html
    "3xx": 1,  # /redirect
    "4xx": 1,  # /missing.html
    "timeout": 1,  # /slow.html
    "too_large": 1,  # /big.html
    "robots_disallowed": 1,  # /private.html
}


def test_a_crawl_is_counted(client, settings, brand, site):  # noqa: F811
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    crawl(brand, site)
    site.robots_answer(503)
    with pytest.raises(CommandError):
        crawl(brand, site)
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    for outcome, pages in PAGES_BY_OUTCOME.items():
        assert delta("referrals_crawl_pages_total", outcome=outcome) == pages, outcome
    assert delta("referrals_crawl_pages_total", outcome="network") == 0
    assert delta("referrals_crawls_total", result="done") == 1
    assert delta("referrals_crawls_total", result="failed") == 1
    assert delta("referrals_crawl_duration_seconds_count", result="done") == 1
    assert delta("referrals_crawl_duration_seconds_count", result="failed") == 1
    # The slow page's 1 s timeout is part of the crawl's time.
    assert delta("referrals_crawl_duration_seconds_sum", result="done") >= 1
    assert delta("referrals_crawl_duration_seconds_bucket", result="done", le="1.0") == 0
