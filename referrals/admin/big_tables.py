"""Admin for tables of millions of rows: counts that never scan, searches that indexes serve."""

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.utils.functional import cached_property

from referrals.admin.helpers import ReadOnlyAdmin

COUNT_CAP = 10_000


def count_capped(queryset: QuerySet, cap: int = COUNT_CAP) -> int:
    """The number of rows, counted up to cap + 1 only: `SELECT COUNT(*) FROM (... LIMIT cap+1)`."""
    return queryset.order_by()[: cap + 1].count()


def count_label(count: int, cap: int = COUNT_CAP) -> str:
    """A capped count as a person reads it: "1,234", or "more than 10,000"."""
    return f"more than {cap:,}" if count > cap else f"{count:,}"


# Citus: the sum of the shards' estimates, or -1 when one was never analyzed.
_SHARDS_ESTIMATE = (
    "SELECT CASE WHEN min(result::bigint) < 0 THEN -1 ELSE sum(result::bigint)::bigint END "
    "FROM pg_dist_partition p, run_command_on_shards(p.logicalrelid, "
    "$$SELECT reltuples::bigint FROM pg_class WHERE oid = '%%s'::regclass$$) "
    "WHERE p.logicalrelid = %s::regclass AND p.partmethod = 'h'"
)


def table_estimate(model: type[Model], using: str) -> int | None:
    """PostgreSQL's estimate of a table's rows (pg_class.reltuples, kept by ANALYZE and
    autovacuum), or None: another database, or a table never analyzed."""
    if connections[using].vendor != "postgresql":
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') "
            "FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        estimate, citus = cursor.fetchone()
        if citus:
            # A distributed table's rows are in its shards (NULL for a table that is not).
            cursor.execute(_SHARDS_ESTIMATE, [model._meta.db_table])
            (shards,) = cursor.fetchone()
            estimate = estimate if shards is None else shards
    return estimate if estimate >= 0 else None


class EstimatedCountPaginator(Paginator):
    """Counts a big table without scanning it.

    The whole table (no WHERE clause: a superuser's unfiltered list) counts as PostgreSQL's
    estimate when that is over the cap; anything else (a search, a filter, a staff user's
    organization scope) stops counting at the cap. `count_label` says how exact the count is
    ("about 1,000,000", "more than 10,000"), empty when it is exact. An inexact count has no
    known last page, and a deep OFFSET costs a scan of the rows it skips: page links stop
    after the current page's neighbours.
    """

    cap = COUNT_CAP
    count_label = ""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = table_estimate(queryset.model, queryset.db)
            if estimate is not None and estimate > self.cap:
                self.count_label = f"about {estimate:,}"
                return estimate
        count = count_capped(queryset, self.cap)
        if count > self.cap:
            self.count_label = count_label(count, self.cap)
        return count

    def get_elided_page_range(self, number=1, *, on_each_side=3, on_ends=2):
        pages = super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)
        if not self.count_label:
            return pages
        last = self.validate_number(number) + on_each_side
        shown = [page for page in pages if page == self.ELLIPSIS or page <= last]
        while shown and shown[-1] == self.ELLIPSIS:
            shown.pop()
        return [*shown, self.ELLIPSIS]


class BigTableAdmin(ReadOnlyAdmin):
    """A big table written by the pipeline: browsable and searchable at any size.

    No full count, no facet counts, sorting only on columns an index serves (`sortable_by`,
    empty unless a subclass names some). A subclass with `search_scope` searches its own way:
    the first word of the search is matched exactly on the indexed `search_scope` field,
    the rest (if any) with the `search_within` lookup inside that scope; its list filters
    show only once a search scopes the list, as none of them has an index of its own.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ()
    search_scope = ""
    search_within = ""

    def get_search_results(self, request, queryset, search_term):
        if not self.search_scope:
            return super().get_search_results(request, queryset, search_term)
        scope, _, within = search_term.strip().partition(" ")
        if scope:
            queryset = queryset.filter(**{self.search_scope: scope})
        if within.strip():
            queryset = queryset.filter(**{self.search_within: within.strip()})
        return queryset, False

    def get_list_filter(self, request):
        if self.search_scope and not request.GET.get(SEARCH_VAR, "").strip():
            return ()
        return super().get_list_filter(request)
