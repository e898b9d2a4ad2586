"""Sitemap API: a website's pages with AI-referral totals, one page, its series, the export.

Order of checks: 401, 403 (query scope), 422 brand_id, 404 brand, 422 page_id, 404 page,
422 parameters (type, bounds), 400 window (over 366 days, end before start), 404 domain.
The export file is named by today's date (UTC); its percent change compares the first and last
bucket (daily up to 90 days, else weekly) and is empty when the first bucket has no sessions.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from referrals.api.errors import QUERY, RequestValidationError, serializer_error_items
from referrals.api.schema import (
    BRAND_ID_PARAM,
    COMMON_ERRORS,
    ErrorSerializer,
    error_responses,
    validation_error_response,
)
from referrals.reporting.files import CONTENT_TYPES, export_response
from referrals.reporting.plans import report_plans
from referrals.reporting.window import today_utc
from referrals.sitemap import selectors as sitemap
from referrals.sitemap.serializers import (
    ExportQuerySerializer,
    PageListQuerySerializer,
    PageMetricsSerializer,
    SitemapPageDetailSerializer,
    SitemapPageListSerializer,
    WindowQuerySerializer,
    WindowRefused,
)
from referrals.tenancy.permissions import HasQueryScope
from referrals.tenancy.scoping import BrandScopedMixin, page_for_brand

PAGE_ID_PARAM = OpenApiParameter("page_id", int, OpenApiParameter.PATH)
EXPORT_MAX_ROWS = 10_000
EXPORT_TOO_MANY_ROWS = "The export would have more than {max_rows} rows; narrow the filters."
# The page's own fields, in every export.
EXPORT_PAGE_COLUMNS = (
    "id",
    "url",
    "path",
    "title",
    "description",
    "depth",
    "audit_score",
    "canonical_url",
    "is_priority",
    "has_optimized_content",
    "last_indexed",
    "content_updated_at",
)
# With include_metrics (the default): the window's AI-referral sums, then the spec's three metrics
# ("Export columns"), each named as the spec names it with its percent change (first to last
# bucket) beside it: ai_referrals (AI sessions, the `sessions` sum again), agent_traffic (hits),
# citations (not monitored here: always 0, no change); then AI sessions per platform.
EXPORT_METRIC_COLUMNS = (
    "pageviews",
    "sessions",
    "transactions",
    "purchase_revenue",
    "ai_referrals",
    "ai_referrals_change_pct",
    "agent_traffic",
    "agent_traffic_change_pct",
    "citations",
    "citations_change_pct",
)
EXPORT_COLUMNS = EXPORT_PAGE_COLUMNS + EXPORT_METRIC_COLUMNS


def _responses(ok, *, what_404: str) -> dict:
    return {
        **ok,
        **error_responses(400, *COMMON_ERRORS),
        404: OpenApiResponse(ErrorSerializer, description=what_404),
        **validation_error_response(),
    }


class _SitemapView(BrandScopedMixin, APIView):
    permission_classes = [HasQueryScope]

    def validated(self, serializer_class):
        """Parameters of the wrong type or out of bounds: 422 naming each; a window the
        service refuses: 400."""
        query = serializer_class(data=self.request.query_params)
        try:
            valid = query.is_valid()
        except WindowRefused as exc:
            raise ValidationError(str(exc)) from None
        if not valid:
            raise RequestValidationError(serializer_error_items(query, QUERY))
        return query

    def resolve_site(self, domain: str | None) -> sitemap.Site:
        try:
            return sitemap.sitemap_site_resolve(brand=self.get_brand(), domain=domain)
        except sitemap.WebsiteNotFound as exc:
            raise NotFound(str(exc)) from None


class SitemapPageListView(_SitemapView):
    """The pages seen in a website's pushed data, each with its AI-referral totals for the window
    (pages without AI traffic included, with zero totals)."""

    @extend_schema(
        operation_id="sitemap_pages_list",
        parameters=[BRAND_ID_PARAM, PageListQuerySerializer],
        responses=_responses(
            {200: SitemapPageListSerializer},
            what_404="Unknown brand (or another organization's), a brand without a website, "
            "or a domain the brand has no connection for",
        ),
    )
    @report_plans()
    def get(self, request, brand_id: str):
        self.get_brand()  # an unknown brand is a 404 before any parameter is a 400
        query = self.validated(PageListQuerySerializer)
        site = self.resolve_site(query.validated_data.get("domain"))
        limit, offset = query.validated_data["limit"], query.validated_data["offset"]
        result = sitemap.sitemap_page_list(
            site=site,
            filters=query.page_filters(),
            window=query.validated_data["window"],
            limit=limit,
            offset=offset,
        )
        body = {
            "total": result.total,
            "offset": offset,
            "limit": limit,
            "domain": site.website,
            "last_crawl_completed": sitemap.sitemap_last_crawl_completed(site=site),
            "items": result.pages,
        }
        return Response(SitemapPageListSerializer(body).data)


class SitemapPageDetailView(_SitemapView):
    """One page with its AI-referral totals for the window."""

    @extend_schema(
        operation_id="sitemap_pages_retrieve",
        parameters=[BRAND_ID_PARAM, PAGE_ID_PARAM, WindowQuerySerializer],
        responses=_responses(
            {200: SitemapPageDetailSerializer},
            what_404="Unknown brand or page (or another organization's)",
        ),
    )
    @report_plans()
    def get(self, request, brand_id: str, page_id: str):
        page = page_for_brand(self.get_brand(), page_id)
        window = self.validated(WindowQuerySerializer).validated_data["window"]
        sitemap.sitemap_page_totals(page=page, window=window)
        return Response(SitemapPageDetailSerializer(page).data)


class SitemapPageMetricsView(_SitemapView):
    """AI sessions per platform in every bucket of the window: daily up to 90 days, else weekly
    (dated by their Monday). Buckets without sessions have an empty `count_by_platform`."""

    @extend_schema(
        operation_id="sitemap_pages_metrics",
        parameters=[BRAND_ID_PARAM, PAGE_ID_PARAM, WindowQuerySerializer],
        responses=_responses(
            {200: PageMetricsSerializer},
            what_404="Unknown brand or page (or another organization's)",
        ),
    )
    @report_plans()
    def get(self, request, brand_id: str, page_id: str):
        page = page_for_brand(self.get_brand(), page_id)
        window = self.validated(WindowQuerySerializer).validated_data["window"]
        site = sitemap.sitemap_page_site(page=page, with_rules=False)
        buckets = sitemap.sitemap_page_series(page=page, window=window, site=site)
        agent_buckets = sitemap.sitemap_page_agent_series(page=page, window=window, site=site)
        body = {
            "granularity": window.granularity,
            "metrics": {"citations": [], "agent_traffic": agent_buckets, "ai_referrals": buckets},
        }
        return Response(PageMetricsSerializer(body).data)


class JSONErrorsNegotiation(DefaultContentNegotiation):
    """The export writes its file itself; errors are JSON whatever Accept or ?format= say
    (DRF would otherwise read ?format=csv as a renderer choice and answer 404)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _iso(value):
    return value.isoformat() if value is not None else None


def _export_table(
    rows: list[sitemap.ExportRow], *, with_metrics: bool
) -> tuple[list[str], list[list]]:
    # Platforms with at least one AI session on some page; the cells read the plain split (a
    # page's count_by_platform sorts it, twice per row was ~60 ms of 10,000 rows).
    platforms = sorted(
        {name for row in rows for name, n in row.totals.platform_sessions.items() if n > 0}
    )
    header = list(EXPORT_PAGE_COLUMNS)
    if with_metrics:
        header += [*EXPORT_METRIC_COLUMNS, *(f"sessions: {name}" for name in platforms)]
    table = []
    for row in rows:
        page, totals = row.page, row.totals
        line = [
            page.pk,
            page.url,
            page.path,
            page.title,
            page.description,
            page.depth,
            page.audit_score,
            page.canonical_url,
            page.is_priority,
            False,
            _iso(page.last_indexed),
            _iso(page.content_updated_at),
        ]
        if with_metrics:
            by_platform = totals.platform_sessions
            line += [
                totals.pageviews,
                totals.sessions,
                totals.transactions,
                totals.purchase_revenue,
                totals.sessions,
                row.change_pct,
                row.agent.totals.hits,
                row.agent.change_pct,
                0,
                None,
                *(by_platform.get(name, 0) for name in platforms),
            ]
        table.append(line)
    return header, table


class SitemapExportView(_SitemapView):
    """The filtered pages as a CSV or XLSX file (at most 10,000 rows): window totals, AI
    sessions per platform, and the percent change of AI sessions from the first to the last
    bucket (empty when the first bucket has none)."""

    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="sitemap_export",
        parameters=[BRAND_ID_PARAM, ExportQuerySerializer],
        responses=_responses(
            {
                (200, CONTENT_TYPES["csv"]): OpenApiResponse(
                    OpenApiTypes.BINARY, description="UTF-8 CSV with a BOM, one row per page"
                ),
                (200, CONTENT_TYPES["xlsx"]): OpenApiResponse(
                    OpenApiTypes.BINARY, description="XLSX workbook, one row per page"
                ),
            },
            what_404="Unknown brand (or another organization's), a brand without a website, "
            "or a domain the brand has no connection for",
        ),
    )
    @report_plans()
    def get(self, request, brand_id: str):
        brand = self.get_brand()
        query = self.validated(ExportQuerySerializer)
        site = self.resolve_site(query.validated_data.get("domain"))
        with_metrics = query.validated_data.get("include_metrics") is not False
        try:
            rows = sitemap.sitemap_export_rows(
                site=site,
                filters=query.page_filters(),
                window=query.validated_data["window"],
                max_rows=EXPORT_MAX_ROWS,
                with_metrics=with_metrics,
            )
        except sitemap.TooManyRows:
            raise ValidationError(EXPORT_TOO_MANY_ROWS.format(max_rows=EXPORT_MAX_ROWS)) from None
        header, table = _export_table(rows, with_metrics=with_metrics)
        return export_response(
            file_format=query.validated_data["format"],
            filename=f"sitemap-{brand.pk}-{today_utc().isoformat()}",
            header=header,
            rows=table,
            sheet_title="Sitemap",
        )
