"""Sitemap API shapes: query parameters (validated, each error naming its parameter) and bodies.

Blank parameters count as absent; unknown ones are ignored. With only `start_date`, the window
ends today (UTC); with only `end_date`, it is the 30 days ending then. `format` defaults to csv.
A parameter of the wrong type or out of bounds is a 422 (the view turns the serializer's errors
into the pydantic list); a window the service refuses (WindowError) is the view's 400. A `domain`
that is not a hostname is kept as given: no connection has it, so it is the 404 of an unknown
domain, as the published contract (any string) expects.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.api.fields import AnyTextField
from referrals.reporting.window import WindowError, day_parse, today_utc, window_resolve
from referrals.sitemap.selectors import ORDERING_DEPTH_URL, ORDERINGS, PageFilters

# SitemapPage.depth is a PositiveSmallIntegerField: a larger max_depth (the published contract
# sets no maximum, nor for offset) keeps every page, and is compared as this.
MAX_DEPTH = 32767
EXPORT_FORMATS = ("csv", "xlsx")


class DayField(serializers.DateField):
    """A `YYYY-MM-DD` day, parsed as every read parses it (referrals.reporting.window)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", input_formats=["%Y-%m-%d"], **kwargs)

    def to_internal_value(self, value):
        day = day_parse(value) if isinstance(value, str) else None
        if day is None:
            self.fail("invalid", format="YYYY-MM-DD")
        return day


class WindowQuerySerializer(serializers.Serializer):
    start_date = DayField(
        required=False,
        help_text="First day, inclusive (YYYY-MM-DD). Default: 29 days before end_date.",
    )
    end_date = DayField(
        required=False,
        help_text="Last day, inclusive (YYYY-MM-DD). Default: today (UTC). At most 366 days.",
    )

    def validate(self, attrs):
        try:
            attrs["window"] = window_resolve(
                start=attrs.get("start_date"), end=attrs.get("end_date"), default_end=today_utc()
            )
        except WindowError as exc:
            raise WindowRefused(str(exc)) from None
        return attrs


class WindowRefused(Exception):
    """A well-formed window the service does not serve (too long, end before start): a 400.
    Not a ValidationError, so it leaves is_valid() for the view to answer."""


class QueryBooleanField(serializers.BooleanField):
    """true/false (also 1/0, yes/no, on/off); absent or blank is None, not False (DRF reads a
    missing checkbox of a form as False)."""

    default_empty_html = serializers.empty

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, default=None, **kwargs)


class PageFilterQuerySerializer(WindowQuerySerializer):
    domain = AnyTextField(
        required=False,
        allow_blank=True,
        max_length=2048,
        help_text="The website (any spelling of it). Default: the website of the brand's "
        "oldest active connection.",
    )
    max_depth = serializers.IntegerField(
        required=False, min_value=0, help_text="0 = root pages only."
    )
    path_prefix = AnyTextField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=2048,
        help_text="Segment-aligned: /blog matches /blog and /blog/post, not /blogger (blog reads "
        "as /blog).",
    )
    search = AnyTextField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=2048,
        help_text="Case-insensitive (ASCII letters) substring of the url or the title.",
    )
    is_priority = QueryBooleanField(help_text="Only priority pages (true) or the others (false).")
    has_optimized_content = QueryBooleanField(
        help_text="This service deploys no content: true matches nothing, false everything."
    )
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        default=ORDERING_DEPTH_URL,
        help_text="depth,url (default) or -ai_referrals (AI sessions, most first, then url).",
    )

    def validate_domain(self, value: str) -> str | None:
        if not value.strip():
            return None
        try:
            return website_canonical(value)
        except InvalidWebsite:
            return value.strip()  # no connection has it: the 404 of an unknown domain

    def validate_max_depth(self, value: int) -> int:
        return min(value, MAX_DEPTH)

    def validate_path_prefix(self, value: str) -> str | None:
        """The published contract takes any string: `blog` is read as `/blog`."""
        if not value:
            return None
        return value if value.startswith("/") else "/" + value

    def validate_search(self, value: str) -> str | None:
        return value or None

    def page_filters(self) -> PageFilters:
        data = self.validated_data
        return PageFilters(
            max_depth=data.get("max_depth"),
            path_prefix=data.get("path_prefix"),
            search=data.get("search"),
            is_priority=data.get("is_priority"),
            has_optimized_content=data.get("has_optimized_content"),
            ordering=data["ordering"],
        )


class PageListQuerySerializer(PageFilterQuerySerializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    # No maximum: past the last page the items are empty (the list does not query them).
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


class ExportQuerySerializer(PageFilterQuerySerializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="csv")
    include_metrics = QueryBooleanField(
        help_text="Default true: the window's totals and percent changes per page; false "
        "leaves the page's own fields."
    )
    mapped_site_id = serializers.IntegerField(
        required=False,
        help_text="Accepted for compatibility (an integer) and ignored: one website per "
        "connection here.",
    )


@extend_schema_field({"type": "boolean"})
class AlwaysFalse(serializers.Field):
    """has_optimized_content: this service deploys no content."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        return False


class AIReferralTotalsSerializer(serializers.Serializer):
    pageviews = serializers.IntegerField()
    sessions = serializers.IntegerField()
    transactions = serializers.IntegerField()
    purchase_revenue = serializers.FloatField()
    count_by_platform = serializers.DictField(
        child=serializers.IntegerField(), help_text="AI sessions keyed by platform display name."
    )


class AgentTrafficTotalsSerializer(serializers.Serializer):
    hits = serializers.IntegerField(help_text="Fetches by active AI agents in the window.")
    count_by_platform = serializers.DictField(
        child=serializers.IntegerField(), help_text="AI-agent hits keyed by platform display name."
    )


class SitemapPageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    title = serializers.CharField(allow_null=True, help_text="HTML title (from the crawl).")
    description = serializers.CharField(allow_null=True, help_text="Meta description.")
    depth = serializers.IntegerField(help_text="Number of path segments.")
    audit_score = serializers.IntegerField(
        allow_null=True, help_text="AI-readiness score 0-100 (docs/audit.md)."
    )
    canonical_url = serializers.CharField(allow_null=True)
    is_priority = serializers.BooleanField(help_text="A priority path of the brand matches it.")
    has_optimized_content = AlwaysFalse()
    ai_referrals = AIReferralTotalsSerializer()
    agent_traffic = AgentTrafficTotalsSerializer()


class AuditFindingSerializer(serializers.Serializer):
    check = serializers.CharField(help_text="The rubric's check (docs/audit.md).")
    lost = serializers.IntegerField(help_text="Points lost.")
    detail = serializers.CharField(allow_null=True, help_text="Why, and what to fix.")


class SitemapPageDetailSerializer(SitemapPageSerializer):
    last_indexed = serializers.DateTimeField(allow_null=True, help_text="When last crawled.")
    content_updated_at = serializers.DateTimeField(
        allow_null=True, help_text="The sitemap's lastmod, else the page's Last-Modified."
    )
    audit_findings = AuditFindingSerializer(
        many=True, help_text="What cost the page audit points (docs/audit.md); [] before a crawl."
    )

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["audit_findings"] = body["audit_findings"] or []
        return body


class SitemapPageListSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    domain = AnyTextField()
    last_crawl_completed = serializers.DateTimeField(allow_null=True)
    items = SitemapPageSerializer(many=True)


class PlatformBucketSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day, or the Monday of the week.")
    count_by_platform = serializers.DictField(child=serializers.IntegerField())


class AgentBucketSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The day, or the Monday of the week.")
    hits = serializers.IntegerField()
    count_by_platform = serializers.DictField(child=serializers.IntegerField())


class PageSeriesSerializer(serializers.Serializer):
    citations = serializers.ListField(
        child=serializers.DictField(), help_text="Not tracked by this service: always empty."
    )
    agent_traffic = AgentBucketSerializer(many=True)
    ai_referrals = PlatformBucketSerializer(many=True)


class PageMetricsSerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=["daily", "weekly"])
    metrics = PageSeriesSerializer()
