"""Entities of the AI Referrals service and the invariants the database enforces."""

import hashlib

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from ulid import ULID

SCOPE_CONFIGURE = "configure"
SCOPE_QUERY = "query"
SCOPES = (SCOPE_CONFIGURE, SCOPE_QUERY)

PROVIDER_ADOBE_ANALYTICS = "adobe_analytics"
PROVIDERS = {PROVIDER_ADOBE_ANALYTICS: "Adobe Analytics"}
# Where agent-traffic rows come from: CDN and web-server logs.
AGENT_PROVIDERS = {
    "cloudflare": "Cloudflare",
    "fastly": "Fastly",
    "akamai": "Akamai",
    "vercel": "Vercel",
    "cloudfront": "Amazon CloudFront",
    "nginx": "nginx",
    "apache": "Apache",
    "other": "Other",
}
KIND_REFERRAL = "referral"
KIND_AGENT = "agent"
# The providers a connection of each kind accepts.
PROVIDERS_BY_KIND = {KIND_REFERRAL: PROVIDERS, KIND_AGENT: AGENT_PROVIDERS}

NON_NEGATIVE_METRICS = ("pageviews", "sessions", "transactions", "purchase_revenue")
# A rollup's count may not pass the 64-bit integers (referrals.ingest.pipeline answers 422).
SUM_MAX = 2**63 - 1
SUM_IN_RANGE = "_in_range"


def sums_in_range(prefix: str) -> list[models.CheckConstraint]:
    """A rollup's counts at most SUM_MAX, checked by the database on every write.

    For SQLite: its `+` turns an integer sum that overflows into a float, silently, where
    PostgreSQL's bigint raises numeric_value_out_of_range (the check never fires there). The
    constraint stops the rollup triggers' upsert at the row that overflows, whoever writes
    the rows (a push, renormalize_referrers, the ORM), so no rollup ever holds a float.
    """
    return [
        models.CheckConstraint(
            condition=Q(**{f"{metric}__lte": SUM_MAX}), name=f"{prefix}_{metric}{SUM_IN_RANGE}"
        )
        for metric in ("pageviews", "sessions", "transactions")
    ]


def new_ulid() -> str:
    return str(ULID())


def page_key(raw_page_value: str) -> str:
    """Fixed-size key for a page value: 2,048 characters do not fit a btree index entry."""
    return hashlib.sha256(raw_page_value.encode("utf-8", "surrogatepass")).hexdigest()


# The same fixed-size key, for raw user agents (1,024 characters) in unique keys.
text_key = page_key


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organizations", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="brands")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="brand_name_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class ApiKey(models.Model):
    """A Bearer token of an organization; only its SHA-256 and a short prefix are stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list, help_text="Any of: configure, query.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["organization__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class AIPlatform(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI platform"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AIPlatformEntry(models.Model):
    """A hostname (optionally with a path, `bing.com/chat`), a bare alias or an Android app id
    (`com.openai.chatgpt`, matched exactly in `android-app://` referrers) of a platform."""

    KIND_HOST = "host"
    KIND_ALIAS = "alias"
    KIND_APP = "app"
    KIND_CHOICES = [
        (KIND_HOST, "hostname or host/path"),
        (KIND_ALIAS, "alias (utm_source token)"),
        (KIND_APP, "Android app id (android-app:// referrer)"),
    ]

    platform = models.ForeignKey(AIPlatform, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=KIND_CHOICES, default=KIND_HOST)
    value = models.CharField(max_length=255, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI platform entry"
        verbose_name_plural = "AI platform entries"
        ordering = ["platform__name", "kind", "value"]

    def __str__(self) -> str:
        return self.value


class AIAgent(models.Model):
    """An AI crawler or agent, recognised in raw user agents by its token (see
    referrals.allow_list.agents for the matching rule); counted for its platform."""

    PURPOSE_TRAINING = "training"
    PURPOSE_SEARCH = "search"
    PURPOSE_USER = "user"
    PURPOSE_CHOICES = [
        (PURPOSE_TRAINING, "training crawler"),
        (PURPOSE_SEARCH, "search indexer"),
        (PURPOSE_USER, "fetcher for a user"),
    ]

    name = models.CharField(max_length=100, unique=True)
    token = models.CharField(
        max_length=100,
        unique=True,
        help_text="The user-agent token, matched case-insensitively at token boundaries "
        "(letters, digits, '-' and '_' make a token).",
        validators=[
            RegexValidator(r"^[A-Za-z0-9_-]+$", "A token holds letters, digits, '-' and '_' only.")
        ],
    )
    operator = models.CharField(max_length=100)
    purpose = models.CharField(max_length=10, choices=PURPOSE_CHOICES)
    platform = models.ForeignKey(AIPlatform, on_delete=models.PROTECT, related_name="agents")
    documentation_url = models.URLField(blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AI agent"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=["training", "search", "user"]),
                name="ai_agent_purpose_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Connection(models.Model):
    STATUS_ACTIVE = "active"
    STATUS_DISABLED = "disabled"
    STATUS_CHOICES = [(STATUS_ACTIVE, "active"), (STATUS_DISABLED, "disabled")]

    KIND_CHOICES = [(KIND_REFERRAL, "AI referrals"), (KIND_AGENT, "agent traffic")]

    id = models.CharField(primary_key=True, max_length=26, default=new_ulid, editable=False)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="connections")
    website = models.CharField(max_length=253)
    # What the connection receives: referral rows (analytics) or agent rows (server logs).
    kind = models.CharField(max_length=10, choices=KIND_CHOICES, default=KIND_REFERRAL)
    provider = models.CharField(
        max_length=50, choices=list(PROVIDERS.items()) + list(AGENT_PROVIDERS.items())
    )
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=STATUS_ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    last_push_error = models.TextField(null=True, blank=True)  # noqa: DJ001 (API shows null)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "website", "kind"],
                condition=Q(status="active"),
                name="one_active_connection_per_brand_website_kind",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "disabled"]), name="connection_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[KIND_REFERRAL, KIND_AGENT]), name="connection_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["brand", "status", "website"])]

    def __str__(self) -> str:
        return f"{self.website} [{self.provider}, {self.status}]"

    @property
    def is_active(self) -> bool:
        return self.status == self.STATUS_ACTIVE


class GoogleAnalyticsIntegration(models.Model):
    """A live GA integration of a website; it blocks a push connection for the same website."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="ga_integrations")
    website = models.CharField(max_length=253)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Google Analytics integration"
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "website"],
                condition=Q(active=True),
                name="one_active_ga_integration_per_brand_website",
            ),
        ]

    def __str__(self) -> str:
        return f"GA: {self.website}"


class SitemapPage(models.Model):
    """A page of a website's site map: created by the push or the crawl that first sees it
    (the same website and raw page value, a path for crawled pages, is one page). The crawl
    fills the page's own fields (referrals.sitemap.crawl); they stay null until then."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="sitemap_pages")
    website = models.CharField(max_length=253)
    raw_page_value = models.CharField(max_length=2048)
    page_key = models.CharField(max_length=64, editable=False)
    url = models.TextField()
    path = models.TextField(help_text="URL path, for segment-aligned prefix filters.")
    depth = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    title = models.TextField(null=True, blank=True)  # noqa: DJ001 (the API shows null)
    description = models.TextField(null=True, blank=True)  # noqa: DJ001
    canonical_url = models.TextField(null=True, blank=True)  # noqa: DJ001
    # Not Positive...Field: Citus refuses ADD COLUMN with an inline (unnamed) CHECK; the
    # audit score's bounds are a named constraint below.
    http_status = models.SmallIntegerField(null=True, blank=True)
    audit_score = models.SmallIntegerField(null=True, blank=True)
    # Nullable: rows written before a crawl (the push, raw SQL) need not name it.
    audit_findings = models.JSONField(
        null=True, blank=True, help_text="What cost the page points (docs/audit.md)."
    )
    last_indexed = models.DateTimeField(null=True, blank=True)
    content_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["depth", "url"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "website", "page_key"], name="sitemap_page_unique"
            ),
            models.CheckConstraint(
                condition=Q(audit_score__gte=0, audit_score__lte=100) | Q(audit_score__isnull=True),
                name="sitemap_page_audit_score_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["brand", "website", "depth"]),
            # The admin's search: a website's pages (pages are written once, when first seen).
            models.Index(fields=["website"], name="sitemap_page_website"),
        ]

    def __str__(self) -> str:
        return self.url


class PriorityPath(models.Model):
    """A rule that makes pages of a brand priority pages: a segment-aligned path prefix
    (`/pricing` matches `/pricing` and `/pricing/team`, not `/pricing-old`) or one exact page,
    on every website of the brand or on one (referrals.sitemap.priority matches them)."""

    MATCH_PREFIX = "prefix"
    MATCH_EXACT = "exact"
    MATCH_CHOICES = [
        (MATCH_PREFIX, "path prefix (segment-aligned)"),
        (MATCH_EXACT, "exact page"),
    ]

    # Distributed by brand on Citus, colocated with the pages it is read with; no FK constraint
    # to the brand (as the other distributed tables), Django deletes the rules with the brand.
    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="priority_paths", db_constraint=False
    )
    website = models.CharField(
        max_length=253, blank=True, help_text="Empty: every website of the brand."
    )
    match = models.CharField(max_length=10, choices=MATCH_CHOICES, default=MATCH_PREFIX)
    path = models.CharField(
        max_length=1024, help_text="A path starting with /; an exact URL is stored as its path."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "priority path"
        ordering = ["website", "path"]

    def __str__(self) -> str:
        return f"{self.website or '*'}{self.path}{'' if self.match == self.MATCH_EXACT else '/*'}"


class WebsiteCrawl(models.Model):
    """The crawl of one website of a brand: the state of the last one (the admin shows its
    progress), when one last completed, and the site-wide facts the crawl found."""

    STATUS_IDLE = "idle"
    STATUS_QUEUED = "queued"
    STATUS_RUNNING = "running"
    STATUS_DONE = "done"
    STATUS_FAILED = "failed"
    STATUS_CHOICES = [
        (s, s) for s in (STATUS_IDLE, STATUS_QUEUED, STATUS_RUNNING, STATUS_DONE, STATUS_FAILED)
    ]

    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="website_crawls", db_constraint=False
    )
    website = models.CharField(max_length=253)
    base_url = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=STATUS_IDLE)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_crawl_completed = models.DateTimeField(null=True, blank=True)
    pages_found = models.PositiveIntegerField(default=0)
    pages_crawled = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    robots_txt_status = models.PositiveSmallIntegerField(null=True, blank=True)
    robots_policy = models.JSONField(
        default=dict, blank=True, help_text="AI agent name: allowed to fetch the site root."
    )
    llms_txt = models.BooleanField(null=True, blank=True, help_text="Serves /llms.txt.")

    class Meta:
        verbose_name = "website crawl"
        constraints = [
            models.UniqueConstraint(fields=["brand", "website"], name="website_crawl_unique"),
        ]

    def __str__(self) -> str:
        return f"crawl of {self.website} [{self.status}]"


class ReferralRow(models.Model):
    """One stored daily row; the upsert key is (brand, connection, date, page, referrer).

    The database's primary key is (brand_id, id) on PostgreSQL (migration 0009): Django's state
    keeps `id` alone, which the admin and foreign keys need.
    """

    # No database FK constraint here, nor on brand, page and platform: PostgreSQL checks each
    # one per inserted row, 25-45 ms of a 10,000-row push for the connection alone (EXPLAIN
    # ANALYZE). Each is safe without it: a push writes under the lock of its connection's row
    # (SELECT ... FOR UPDATE), which a deletion takes first too (referrals.admin.deletion), so
    # no push lands between the deletion of a connection's rows and of the connection; brand
    # is copied from that connection, pages are created in the same transaction, and
    # platforms are never deleted (only deactivated).
    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
        db_constraint=False,
    )
    # DO_NOTHING: the rows go with their connection (a row's brand is its connection's). A
    # CASCADE here would make deleting a brand scan the whole table, brand_id having no index.
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    date = models.DateField()
    raw_referrer_value = models.CharField(max_length=512)
    raw_page_value = models.CharField(max_length=2048)
    # The page stands for raw_page_value in the unique key (a connection has one website).
    page = models.ForeignKey(
        SitemapPage,
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
        db_constraint=False,
    )
    # Null once the allow-list no longer matches the referrer (renormalize_referrers).
    platform = models.ForeignKey(
        AIPlatform,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pageviews = models.BigIntegerField(null=True, blank=True)
    sessions = models.BigIntegerField(null=True, blank=True)
    transactions = models.BigIntegerField(null=True, blank=True)
    purchase_revenue = models.DecimalField(max_digits=17, decimal_places=4, null=True, blank=True)
    batch_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 (null is data)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "connection", "date", "page", "raw_referrer_value"],
                name="referral_row_upsert_key",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{m}__gte": 0}) | Q(**{f"{m}__isnull": True}),
                    name=f"referral_row_{m}_non_negative",
                )
                for m in NON_NEGATIVE_METRICS
            ],
        ]
        # The unique key serves reads by (connection, date range); the others a page's series
        # and one platform's rows (the dashboard's platform filter ranks pages from them: the
        # page rollup has no platform). No metric in any index: updates stay HOT.
        indexes = [
            models.Index(fields=["page", "date"], name="referral_row_page_date"),
            models.Index(
                fields=["brand", "connection", "platform", "date"], name="referral_row_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.raw_referrer_value} {self.raw_page_value}"


class DailyPlatformTotal(models.Model):
    """Sums of a connection's counted rows per (day, platform): the dashboard's daily rollup.

    Equal at all times to a GROUP BY of ReferralRow where the platform is set (a NULL metric
    counts as 0): triggers on the rows keep it in the writing transaction, whatever writes
    them (a push, renormalize_referrers, a deletion, the ORM); referrals/db/rollup.py holds them.
    KPIs and the daily chart read ~15 rows a day here instead of thousands of rows.

    Its primary key is its natural key, brand first (the distribution column on Citus): the
    triggers upsert on it, and no id sequence is drawn from on the shards (migration 0011).
    Django's admin cannot list a model with a composite primary key; the rollup is derived
    data (`manage.py rollup_repair` recomputes it), checked by the tests, not edited.
    """

    pk = models.CompositePrimaryKey("brand", "connection", "date", "platform")
    # No FK constraint and no index of its own (it leads the key), like ReferralRow.brand.
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="daily_totals", db_index=False
    )
    date = models.DateField()
    platform = models.ForeignKey(
        AIPlatform, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    row_count = models.IntegerField()  # not Positive: a delta row is negative before it merges
    pageviews = models.BigIntegerField()
    sessions = models.BigIntegerField()
    transactions = models.BigIntegerField()
    purchase_revenue = models.DecimalField(max_digits=24, decimal_places=4)

    class Meta:
        constraints = sums_in_range("daily_platform_total")

    def __str__(self) -> str:
        return f"{self.date} {self.platform_id}: {self.sessions} sessions"


class MonthlyPageTotal(models.Model):
    """A page's sums of one calendar month, dated by its first day: the page rankings' rollup.

    Kept like DailyPlatformTotal (triggers on the rows, referrals/db/rollup.py), its primary
    key the natural key, brand first. A long window's ranking reads its whole months here and
    the days of its partial months from the rows (referrals/reporting/pages.py) instead of
    every row of the window. (A daily page rollup, migrations 0016-0017, cost a push as much as
    its own rows: dropped.)
    """

    pk = models.CompositePrimaryKey("brand", "connection", "month", "page")
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    # No constraint: a push inserts thousands of these in its triggers, and PostgreSQL would
    # check each one against the connection (as it did for the rows until migration 0018).
    # Deleting a connection deletes them (referrals.admin.deletion, Django's CASCADE).
    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    month = models.DateField()
    # No constraint: the pages are distributed on Citus (ids alone are not unique there).
    page = models.ForeignKey(
        SitemapPage,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    row_count = models.IntegerField()
    pageviews = models.BigIntegerField()
    sessions = models.BigIntegerField()
    transactions = models.BigIntegerField()
    purchase_revenue = models.DecimalField(max_digits=24, decimal_places=4)

    class Meta:
        constraints = sums_in_range("monthly_page_total")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} page {self.page_id}: {self.sessions} sessions"


class PushLog(models.Model):
    """One line per push, successful or not, for the admin and the dashboard's health panel."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="push_logs")
    # The distribution column on Citus (docs/scaling.md): copied from the connection, no FK
    # constraint and no index of its own (it leads the keys), like ReferralRow.brand.
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    request_id = models.CharField(max_length=128, blank=True)
    batch_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 (null is data)
    status_code = models.PositiveSmallIntegerField()
    received = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Besides a connection's latest pushes, the admin's search and status filter: one row
        # per push, so these indexes cost a push nothing measurable.
        indexes = [
            models.Index(fields=["connection", "-created_at"]),
            models.Index(fields=["batch_id"], name="push_log_batch_id"),
            models.Index(fields=["request_id"], name="push_log_request_id"),
            models.Index(fields=["status_code", "-created_at"], name="push_log_status"),
        ]

    def __str__(self) -> str:
        return f"push {self.status_code} ({self.accepted}/{self.received})"


class DroppedReferrer(models.Model):
    """How often a raw referrer that matched no AI platform was dropped, per connection."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="dropped_referrers"
    )
    # The distribution column on Citus (docs/scaling.md): copied from the connection, no FK
    # constraint and no index of its own (it leads the keys), like ReferralRow.brand.
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    raw_referrer_value = models.CharField(max_length=512)
    count = models.BigIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-count"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "connection", "raw_referrer_value"],
                name="dropped_referrer_unique",
            ),
        ]
        # The admin's list (most dropped first) and its search by the start of a referrer
        # across connections (pattern ops: LIKE 'prefix%' on PostgreSQL, equality too).
        indexes = [
            models.Index(fields=["-count", "-id"], name="dropped_referrer_top"),
            models.Index(
                fields=["raw_referrer_value"],
                name="dropped_referrer_value",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.raw_referrer_value} ×{self.count}"


class AgentTrafficRow(models.Model):
    """One stored daily agent-traffic row of an agent connection (a CDN or server log's day).

    The upsert key is (brand, connection, date, page, user_agent_key): the page stands for
    raw_page_value, as in ReferralRow, and user_agent_key (a SHA-256, `text_key`) for
    raw_user_agent, whose 1,024 characters may not fit a btree index entry. Like ReferralRow,
    (brand_id, id) is its primary key in PostgreSQL, and brand, page and agent carry no
    database FK constraint (the push writes them).
    """

    # No constraint, as on ReferralRow.connection (the same push lock).
    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="agent_rows",
        db_index=False,
        db_constraint=False,
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    date = models.DateField()
    raw_user_agent = models.CharField(max_length=1024)
    user_agent_key = models.CharField(max_length=64, editable=False)
    raw_page_value = models.CharField(max_length=2048)
    page = models.ForeignKey(
        SitemapPage,
        on_delete=models.CASCADE,
        related_name="agent_rows",
        db_index=False,
        db_constraint=False,
    )
    # Null once the agent list no longer matches the user agent (renormalize_agents).
    agent = models.ForeignKey(
        AIAgent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    hits = models.BigIntegerField()
    verified = models.BooleanField(null=True, blank=True)
    batch_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 (null is data)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "connection", "date", "page", "user_agent_key"],
                name="agent_row_upsert_key",
            ),
            models.CheckConstraint(condition=Q(hits__gte=0), name="agent_row_hits_non_negative"),
        ]
        indexes = [
            # A page's series (the Sitemap API's metrics).
            models.Index(fields=["brand", "page", "date"], name="agent_row_page_date"),
            # A window of a connection's rows, index-only on PostgreSQL: the dashboard's top
            # fetched pages and the daily rollup's recomputation of a push's days.
            models.Index(
                fields=["brand", "connection", "date"],
                include=["page", "agent", "hits", "verified"],
                name="agent_row_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.raw_user_agent[:60]} {self.raw_page_value}"


class DailyAgentTotal(models.Model):
    """Hits of a connection's counted agent rows per (day, agent): the agent rollup.

    Equal to a GROUP BY of AgentTrafficRow where the agent is set. Unlike DailyPlatformTotal it
    has no triggers: the writers of agent rows keep it in their transaction, by recomputing
    the days they wrote (referrals.reporting.agents.agent_rollup_refresh): the push (its
    batch's days, under the connection's lock), renormalize_agents (every day), a deletion
    of the connection (it goes with it). The dashboard's agent KPIs and charts read it:
    ~30 rows a day instead of thousands. Its primary key is its natural key, brand first, as
    DailyPlatformTotal's; derived data, not in the admin.
    """

    pk = models.CompositePrimaryKey("brand", "connection", "date", "agent")
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="daily_agent_totals", db_index=False
    )
    date = models.DateField()
    agent = models.ForeignKey(
        AIAgent, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    row_count = models.IntegerField()
    hits = models.BigIntegerField()
    verified_hits = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.date} {self.agent_id}: {self.hits} hits"


class DroppedUserAgent(models.Model):
    """How often a raw user agent that matched no active AI agent was dropped, per connection."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="dropped_user_agents", db_index=False
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    raw_user_agent = models.CharField(max_length=1024)
    user_agent_key = models.CharField(max_length=64, editable=False)
    count = models.BigIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-count"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "connection", "user_agent_key"], name="dropped_user_agent_unique"
            ),
        ]
        indexes = [models.Index(fields=["-count", "-id"], name="dropped_user_agent_top")]

    def __str__(self) -> str:
        return f"{self.raw_user_agent[:80]} ×{self.count}"
