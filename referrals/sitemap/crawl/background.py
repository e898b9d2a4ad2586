"""The admin's "Crawl now": the same work as `manage.py crawl_site`, in a process of its own.

A process rather than a job table: the deployment runs no worker to drain a table, and a
crawl (minutes, mostly waiting on the network) must not hold a web worker's thread. The
process is detached (its own session), so it outlives the request and a gunicorn worker
restart; it writes its progress into the website's WebsiteCrawl row, which the admin shows.
A crawl queued or running is not started twice, unless it went silent for STALE_AFTER (its
process died).
"""

import os
import subprocess
import sys
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from referrals.models import WebsiteCrawl

STALE_AFTER = timedelta(hours=2)


def crawl_command(*, brand_id: int, website: str) -> list[str]:
    manage = str(settings.BASE_DIR / "manage.py")
    return [sys.executable, manage, "crawl_site", "--brand", str(brand_id), "--website", website]


def launch(command: list[str]) -> None:
    """Start the crawl detached: no terminal, no pipes to fill, its own process group."""
    subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py, no shell)
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd=str(settings.BASE_DIR),
        env=os.environ.copy(),
    )


def crawl_start_background(*, brand_id: int, website: str) -> bool:
    """Queue and start a crawl of the website; False when one is already under way."""
    WebsiteCrawl.objects.get_or_create(brand_id=brand_id, website=website)
    busy = Q(status__in=[WebsiteCrawl.STATUS_QUEUED, WebsiteCrawl.STATUS_RUNNING]) & Q(
        started_at__gt=timezone.now() - STALE_AFTER
    )
    claimed = (
        WebsiteCrawl.objects.filter(brand_id=brand_id, website=website)
        .exclude(busy)
        .update(status=WebsiteCrawl.STATUS_QUEUED, started_at=timezone.now(), last_error="")
    )
    if not claimed:
        return False
    launch(crawl_command(brand_id=brand_id, website=website))
    return True
