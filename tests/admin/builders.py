"""Builders of the admin tests: many rows written set-based, and what reads them."""

from datetime import date, timedelta

from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from referrals.db.citus import citus_installed
from referrals.models import (
    AIPlatform,
    Connection,
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
    page_key,
)

ROWS = 12_000  # over COUNT_CAP: counts of them stop at the cap
SOME_ROWS = 300  # enough for what does not need the cap
PAGES = 100
REFERRERS = ["chatgpt.com", "https://claude.ai/", "perplexity"]
ROWS_TABLE = ReferralRow._meta.db_table


def rows_create(connection: Connection, n: int) -> None:
    """n rows over n / PAGES days and PAGES pages, three platforms, written set-based."""
    pages = SitemapPage.objects.bulk_create(
        SitemapPage(
            brand_id=connection.brand_id,
            website=connection.website,
            raw_page_value=f"/p/{i}",
            page_key=page_key(f"/p/{i}"),
            url=f"https://{connection.website}/p/{i}",
            path=f"/p/{i}",
            depth=2,
        )
        for i in range(PAGES)
    )
    platforms = [AIPlatform.objects.get(slug=s) for s in ("chatgpt", "claude", "perplexity")]
    now = timezone.now()
    ReferralRow.objects.bulk_create(
        (
            ReferralRow(
                connection=connection,
                brand_id=connection.brand_id,
                date=date(2026, 1, 1) + timedelta(days=i // PAGES),
                raw_referrer_value=REFERRERS[i % 3],
                raw_page_value=pages[i % PAGES].raw_page_value,
                page=pages[i % PAGES],
                platform=platforms[i % 3],
                sessions=i % 7,
                pageviews=i % 11,
                updated_at=now,
            )
            for i in range(n)
        ),
        batch_size=2_000,
    )


def logs_create(connection: Connection) -> None:
    PushLog.objects.create(
        connection=connection,
        brand_id=connection.brand_id,
        status_code=200,
        batch_id=f"b-{connection.pk}",
        request_id=f"req-{connection.pk}",
    )
    DroppedReferrer.objects.create(
        connection=connection,
        brand_id=connection.brand_id,
        raw_referrer_value="https://www.google.com/",
        count=2,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )


def sql_on_rows(queries) -> list[str]:
    """The statements that read or write the rows (a quoted table name, not a mention)."""
    return [q["sql"] for q in queries.captured_queries if f'"{ROWS_TABLE}"' in q["sql"]]


def unbounded_reads_of_rows(queries) -> list[str]:
    """Statements reading the rows table without a LIMIT: a full count, or loading rows."""
    return [sql for sql in sql_on_rows(queries) if sql.startswith("SELECT") and "LIMIT" not in sql]


def on_postgres(n: int) -> int:
    """n more queries on PostgreSQL (the planner's estimate for a whole table); twice as many
    on Citus, where a distributed table's estimate is the sum of its shards' (one more query).
    """
    if db_connection.vendor != "postgresql":
        return 0
    return 2 * n if citus_installed(db=db_connection) else n


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def management_data(response) -> dict:
    """The inline management forms of an admin add/change page, as POST data."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        for name in form.fields:
            data[form.add_prefix(name)] = form[name].value()
    return data
