"""Which rows a read counts: those of the website's active connection, with a platform, in the
window. Rows kept on a disabled connection and rows the allow-list no longer matches never count.
"""

from django.db.models import QuerySet

from referrals.models import KIND_REFERRAL, Connection, DailyPlatformTotal, ReferralRow
from referrals.reporting.window import Window


def connection_active(
    *, brand_id: int, website: str, kind: str = KIND_REFERRAL
) -> Connection | None:
    """The connection of a kind whose rows the reads of a website count, if any."""
    return Connection.objects.filter(
        brand_id=brand_id, website=website, kind=kind, status=Connection.STATUS_ACTIVE
    ).first()


def rows_counted(*, connection: Connection | None, window: Window) -> QuerySet:
    """The counted ReferralRows of a window (none without an active connection).

    By brand, connection and date, so that PostgreSQL reads them through the upsert key
    (brand, connection, date, ...) and Citus routes the query to the brand's shard. Page
    rankings read the page rollups instead (referrals.reporting.pages). A query that joins
    the pages filters them on the brand too (`page__brand_id`): Django joins on page_id alone.
    """
    if connection is None:
        return ReferralRow.objects.none()
    return ReferralRow.objects.filter(
        brand_id=connection.brand_id,
        connection_id=connection.pk,
        platform__isnull=False,
        date__gte=window.start,
        date__lte=window.end,
    ).order_by()


def daily_counted(*, connection: Connection) -> QuerySet:
    """The daily rollup of the counted rows (DailyPlatformTotal holds counted rows only)."""
    return DailyPlatformTotal.objects.filter(
        brand_id=connection.brand_id, connection_id=connection.pk
    )
