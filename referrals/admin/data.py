"""Admin: the pushed data (site-map pages, rows, rollup, push log, dropped referrers).

Each of these tables can hold millions of rows, so every list opens without a full count
(BigTableAdmin), and every search is one an index serves:

- referral rows: a connection id, optionally followed by a raw referrer (exact). The upsert
  key (connection, date, page, raw_referrer_value) serves both: the referrer is checked in
  that connection's index entries (~0.4 s for a referrer absent from a connection of
  1,000,000 rows; the date filter narrows the range). A referrer alone, or a batch id,
  would need an index of its own on the rows, which every push would pay for (the push is
  held to 1.6x a raw COPY + INSERT); find a batch in the push log instead. The list
  filters show once a connection is searched: none of them has an index on its own.
- site-map pages: a website (exact, index `sitemap_page_website`), optionally followed by
  part of the url, looked for among that website's pages only.
- daily rollup: a connection id (its unique key); the platform filter uses the platform's
  index (a search on the platform's slug joined the platforms and scanned the table).
- push log: a batch id, a request id (indexes of their own: one row per push, so they cost
  a push nothing measurable) or a connection id.
- dropped referrers: a connection id, or the start of a raw referrer (case-sensitive, index
  `dropped_referrer_value`, which serves `LIKE 'prefix%'` on PostgreSQL): "which connections
  drop chat.example?" is the question that grows the allow-list.

Searches are exact where the old ones were `iexact` (`=field`): `UPPER(col) = UPPER(term)`
is served by no index.

Staff who are not superusers see their organizations' share only, filtered by the ids of
their connections (pages: brands), which lead these indexes (helpers.organization_scope).
"""

from django.contrib import admin

from referrals.admin.big_tables import BigTableAdmin
from referrals.admin.helpers import OrganizationScopedAdmin
from referrals.models import (
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)


@admin.register(SitemapPage)
class SitemapPageAdmin(OrganizationScopedAdmin, BigTableAdmin):
    """Created by the push that first sees a page: its key, url, path and depth derive from
    the raw value and the website, so none of them is edited by hand."""

    list_display = ["id", "url", "depth", "website", "brand", "created_at"]
    list_select_related = ["brand"]
    # No depth filter: its choices would come from a DISTINCT scan of every page.
    search_fields = ["website", "url"]
    search_scope = "website"
    search_within = "url__icontains"
    search_help_text = "A website (example.com), optionally followed by part of a page's url."
    raw_id_fields = ["brand"]
    # Newest first: the model's (depth, url) order has no index and would sort every page.
    ordering = ["-id"]
    sortable_by = ["id"]


@admin.register(ReferralRow)
class ReferralRowAdmin(OrganizationScopedAdmin, BigTableAdmin):
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
    search_fields = ["connection_id", "raw_referrer_value"]
    search_scope = "connection_id"
    search_within = "raw_referrer_value"
    search_help_text = (
        "A connection id, optionally followed by a raw referrer (exact): "
        "01JX2Y6E8H1AKQ8V0W7G4D9SXT https://chatgpt.com/"
    )
    raw_id_fields = ["connection", "brand", "page"]
    list_per_page = 50


class PushOutcomeFilter(admin.SimpleListFilter):
    """Stored or refused, without the DISTINCT scan of the push log a status filter runs for
    its choices; index `push_log_status` serves both."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("stored", "stored (200)"), ("refused", "refused (4xx)")]

    def queryset(self, request, queryset):
        if self.value() == "stored":
            return queryset.filter(status_code=200)
        if self.value() == "refused":
            return queryset.filter(status_code__gte=400)
        return queryset


@admin.register(PushLog)
class PushLogAdmin(OrganizationScopedAdmin, BigTableAdmin):
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
    list_filter = [PushOutcomeFilter, "dry_run"]
    list_select_related = ["connection"]
    search_fields = ["batch_id__exact", "request_id__exact", "connection__id__exact"]
    search_help_text = "A batch id, a request id (X-Request-ID) or a connection id."
    raw_id_fields = ["connection", "api_key"]
    sortable_by = ["created_at"]


@admin.register(DroppedReferrer)
class DroppedReferrerAdmin(OrganizationScopedAdmin, BigTableAdmin):
    list_display = ["raw_referrer_value", "count", "connection", "first_seen_at", "last_seen_at"]
    list_select_related = ["connection"]
    search_fields = ["connection__id__exact", "raw_referrer_value__startswith"]
    search_help_text = "A connection id, or the start of a raw referrer (case-sensitive)."
    raw_id_fields = ["connection"]
    ordering = ["-count", "-id"]
    sortable_by = ["count"]
