"""Sitemap API shapes: query parameters (validated, each error naming its parameter) and bodies.

Blank parameters count as absent; unknown ones are ignored. With only `start_date`, the window
ends today (UTC); with only `end_date`, it is the 30 days ending then. `format` defaults to csv.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.reporting.window import WindowError, day_parse, today_utc, window_resolve
from referrals.sitemap.selectors import ORDERING_DEPTH_URL, ORDERINGS, PageFilters

MAX_OFFSET = 2**31 - 1
MAX_DEPTH = 32767  # SitemapPage.depth is a PositiveSmallIntegerField
PATH_PREFIX_NOT_ABSOLUTE = "path_prefix must start with '/'."
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
            raise serializers.ValidationError({exc.field: str(exc)}) from None
        return attrs


class PageFilterQuerySerializer(WindowQuerySerializer):
    domain = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2048,
        help_text="The website (any spelling of it). Default: the brand's first alphabetically.",
    )
    max_depth = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_DEPTH, help_text="0 = root pages only."
    )
    path_prefix = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=2048,
        help_text="Segment-aligned: /blog matches /blog and /blog/post, not /blogger.",
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=2048,
        help_text="Case-insensitive (ASCII letters) substring of the url.",
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
        except InvalidWebsite as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_path_prefix(self, value: str) -> str | None:
        if not value:
            return None
        if not value.startswith("/"):
            raise serializers.ValidationError(PATH_PREFIX_NOT_ABSOLUTE)
        return value

    def validate_search(self, value: str) -> str | None:
        return value or None

    def page_filters(self) -> PageFilters:
        data = self.validated_data
        return PageFilters(
            max_depth=data.get("max_depth"),
            path_prefix=data.get("path_prefix"),
            search=data.get("search"),
            ordering=data["ordering"],
        )


class PageListQuerySerializer(PageFilterQuerySerializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


class ExportQuerySerializer(PageFilterQuerySerializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="csv")


class _Constant(serializers.Field):
    """A field of the published shape that this service does not compute: always one value."""

    value = None

    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        return self.value


@extend_schema_field({"type": "string", "nullable": True})
class NullString(_Constant):
    pass


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
class NullDateTime(_Constant):
    pass


@extend_schema_field({"type": "number", "nullable": True})
class NullNumber(_Constant):
    pass


@extend_schema_field({"type": "boolean"})
class AlwaysFalse(_Constant):
    value = False


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
    title = NullString()
    description = NullString()
    depth = serializers.IntegerField(help_text="Number of path segments.")
    audit_score = NullNumber()
    canonical_url = NullString()
    is_priority = AlwaysFalse()
    has_optimized_content = AlwaysFalse()
    ai_referrals = AIReferralTotalsSerializer()
    agent_traffic = AgentTrafficTotalsSerializer()


class SitemapPageDetailSerializer(SitemapPageSerializer):
    last_indexed = NullDateTime()
    content_updated_at = NullDateTime()


class SitemapPageListSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    domain = serializers.CharField()
    last_crawl_completed = NullDateTime()
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
