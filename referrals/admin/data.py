"""Admin: the pushed data (site-map pages, rows, rollup, push log, dropped referrers)."""

from django.contrib import admin

from referrals.admin.helpers import ReadOnlyAdmin
from referrals.models import (
    DailyPlatformTotal,
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)


@admin.register(SitemapPage)
class SitemapPageAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "depth", "website", "brand", "created_at"]
    list_select_related = ["brand"]
    list_filter = ["depth"]
    search_fields = ["url", "=website"]
    raw_id_fields = ["brand"]
    readonly_fields = ["page_key"]
    show_full_result_count = False


@admin.register(ReferralRow)
class ReferralRowAdmin(ReadOnlyAdmin):
    """Stays fast at millions of rows: no full counts, no dropdowns over big tables."""

    list_display = [
        "date",
        "raw_referrer_value",
        "platform",
        "raw_page_value",
        "sessions",
        "pageviews",
        "transactions",
        "purchase_revenue",
        "connection",
        "batch_id",
    ]
    # No date_hierarchy: it scans the whole table for the first/last date and distinct years.
    list_filter = ["platform", ("date", admin.DateFieldListFilter)]
    list_select_related = ["platform", "connection"]
    search_fields = ["=raw_referrer_value", "=batch_id", "=connection__id"]
    raw_id_fields = ["connection", "brand", "page"]
    show_full_result_count = False
    list_per_page = 50


@admin.register(DailyPlatformTotal)
class DailyPlatformTotalAdmin(ReadOnlyAdmin):
    """The dashboard's daily rollup, kept by triggers on the rows: shown to check it."""

    list_display = [
        "date",
        "platform",
        "connection",
        "row_count",
        "sessions",
        "pageviews",
        "transactions",
        "purchase_revenue",
    ]
    list_filter = ["platform"]
    list_select_related = ["platform", "connection"]
    search_fields = ["=platform__slug", "=connection__id"]
    raw_id_fields = ["connection"]
    show_full_result_count = False


@admin.register(PushLog)
class PushLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "connection",
        "status_code",
        "received",
        "accepted",
        "rejected",
        "dry_run",
        "duration_ms",
        "batch_id",
        "request_id",
    ]
    list_filter = ["status_code", "dry_run"]
    search_fields = ["=batch_id", "=request_id", "=connection__id"]
    raw_id_fields = ["connection", "api_key"]
    show_full_result_count = False


@admin.register(DroppedReferrer)
class DroppedReferrerAdmin(ReadOnlyAdmin):
    list_display = ["raw_referrer_value", "count", "connection", "first_seen_at", "last_seen_at"]
    search_fields = ["raw_referrer_value", "=connection__id"]
    raw_id_fields = ["connection"]
    ordering = ["-count"]
    show_full_result_count = False
