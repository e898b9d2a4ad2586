"""A crawl in a process of its own (`manage.py crawl_site`, as cron or the admin's "Crawl
now" start it) with gunicorn's PROMETHEUS_MULTIPROC_DIR: its counts are in the totals that
gunicorn's /metrics serves, whichever worker answers."""

import os
import re
import subprocess
import sys

from tests.ops.test_metrics_gunicorn import ROOT, WORKERS, scrape, served  # noqa: F401
from tests.sitemap.test_crawl import site  # noqa: F401 (the fixture)
from tests.sitemap.test_crawl_metrics import PAGES_BY_OUTCOME


def test_a_crawl_process_is_in_gunicorns_totals(served, site, tmp_path):  # noqa: F811
    port, _token, events, _server = served
    brand = re.match(r"/v1/(\d+)/", events).group(1)
    env = {  # the database and metrics directory of `served` (the same tmp_path)
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'metrics.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    subprocess.run(
        [
            sys.executable, "manage.py", "crawl_site", "--brand", brand,
            "--website", "example.com", "--base-url", site.url,
            "--delay", "0", "--timeout", "1", "--max-bytes", "50000", "--concurrency", "4",
        ],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip

    def totals(samples):
        pages = {
            outcome: samples.get(("referrals_crawl_pages_total", (("outcome", outcome),)), 0)
            for outcome in PAGES_BY_OUTCOME
        }
        done = samples.get(("referrals_crawls_total", (("result", "done"),)), 0)
        return tuple(sorted(pages.items())), done

    expected = (tuple(sorted(PAGES_BY_OUTCOME.items())), 1)
    assert {totals(scrape(port)) for _ in range(2 * WORKERS)} == {expected}
