"""Admin: push connections, their push log and dropped referrers, GA integrations."""

from django.contrib import admin

from referrals.admin.deletion import SummarizedDeleteAdmin, connections_cascade
from referrals.admin.helpers import LimitedInlineFormSet, OrganizationScopedAdmin, WebsiteForm
from referrals.connections import services
from referrals.models import (
    KIND_REFERRAL,
    PROVIDERS_BY_KIND,
    Connection,
    DroppedReferrer,
    DroppedUserAgent,
    GoogleAnalyticsIntegration,
    PushLog,
)
from referrals.sitemap.crawl.background import crawl_start_background


class ConnectionForm(WebsiteForm):
    """The API's register rules, with its messages, for connections added or edited here."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:  # a form posted without it registers a referral connection
            self.fields["kind"].required = False

    def clean(self):
        cleaned = super().clean()
        if "kind" in self.fields and not cleaned.get("kind"):
            cleaned["kind"] = KIND_REFERRAL
        kind = cleaned.get("kind", self.instance.kind)
        provider = cleaned.get("provider")
        if "provider" in self.fields and provider and provider not in PROVIDERS_BY_KIND[kind]:
            supported = ", ".join(sorted(PROVIDERS_BY_KIND[kind]))
            message = services.UNKNOWN_PROVIDER.format(provider=provider, supported=supported)
            self.add_error("provider", message)
        brand, website = cleaned.get("brand"), cleaned.get("website")
        if brand is None or not website or cleaned.get("status") != Connection.STATUS_ACTIVE:
            return cleaned
        active = (
            Connection.objects.filter(
                brand=brand, website=website, kind=kind, status=Connection.STATUS_ACTIVE
            )
            .exclude(pk=self.instance.pk)
            .first()
        )
        # On the website field: that also spares the user the database constraint's own,
        # vaguer message (constraints over a field with an error are not re-checked).
        if active is not None:
            message = services.ACTIVE_CONNECTION_EXISTS.format(website=website, id=active.pk)
            self.add_error("website", message)
        elif (
            kind == KIND_REFERRAL
            and GoogleAnalyticsIntegration.objects.filter(
                brand=brand, website=website, active=True
            ).exists()
        ):
            self.add_error("website", services.GA_INTEGRATION_EXISTS.format(website=website))
        return cleaned


class PushLogInline(admin.TabularInline):
    model = PushLog
    formset = LimitedInlineFormSet
    extra = 0
    max_num = 0
    can_delete = False
    fields = [
        "created_at",
        "status_code",
        "received",
        "accepted",
        "rejected",
        "dry_run",
        "duration_ms",
        "batch_id",
        "request_id",
        "error",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "Recent pushes"


class DroppedReferrerInline(admin.TabularInline):
    model = DroppedReferrer
    formset = LimitedInlineFormSet
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["raw_referrer_value", "count", "first_seen_at", "last_seen_at"]
    readonly_fields = fields
    ordering = ["-count", "raw_referrer_value"]
    verbose_name_plural = "Top dropped referrers (matched no AI platform)"


class DroppedUserAgentInline(admin.TabularInline):
    model = DroppedUserAgent
    formset = LimitedInlineFormSet
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["raw_user_agent", "count", "first_seen_at", "last_seen_at"]
    readonly_fields = fields
    ordering = ["-count", "raw_user_agent"]
    verbose_name_plural = "Top dropped user agents (matched no AI agent)"


@admin.register(Connection)
class ConnectionAdmin(OrganizationScopedAdmin, SummarizedDeleteAdmin):
    list_display = [
        "id",
        "brand",
        "website",
        "kind",
        "provider",
        "status",
        "created_at",
        "last_pushed_at",
        "has_error",
    ]
    list_filter = ["status", "kind", "provider"]
    list_select_related = ["brand"]
    search_fields = ["=id", "website", "brand__name"]
    form = ConnectionForm
    raw_id_fields = ["brand"]
    readonly_fields = ["id", "created_at", "disabled_at", "last_pushed_at", "last_push_error"]

    def get_readonly_fields(self, request, obj=None):
        # Disabling goes through the action (it stamps disabled_at and waits for pushes);
        # a disabled connection is never re-activated: register a new one.
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "status", "brand", "website", "kind", "provider"]

    actions = ["disable", "crawl_now"]
    inlines = [PushLogInline, DroppedReferrerInline, DroppedUserAgentInline]

    def get_inlines(self, request, obj):
        # A connection's dropped values are referrers or user agents, after its kind.
        if obj is not None and obj.kind != KIND_REFERRAL:
            return [PushLogInline, DroppedUserAgentInline]
        return [PushLogInline, DroppedReferrerInline]

    cascade = staticmethod(connections_cascade)

    @admin.display(boolean=True, description="error")
    def has_error(self, obj: Connection) -> bool:
        return bool(obj.last_push_error)

    @admin.action(description="Disable selected connections")
    def disable(self, request, queryset):
        for connection in queryset.filter(status=Connection.STATUS_ACTIVE):
            services.connection_disable(connection=connection)
        self.message_user(request, "Disabled; their rows are kept but no longer read.")

    @admin.action(description="Crawl now (robots.txt, sitemaps, pages and their audit)")
    def crawl_now(self, request, queryset):
        """Started in the background; Website crawls shows progress and the last result."""
        started, busy = [], []
        websites = sorted(set(queryset.values_list("brand_id", "website")))
        for brand_id, website in websites:
            done = crawl_start_background(brand_id=brand_id, website=website)
            (started if done else busy).append(website)
        if started:
            self.message_user(
                request,
                f"Crawl started for {', '.join(started)}; see Website crawls for its progress.",
            )
        if busy:
            self.message_user(
                request, f"A crawl is already under way for {', '.join(busy)}.", level="warning"
            )


@admin.register(GoogleAnalyticsIntegration)
class GoogleAnalyticsIntegrationAdmin(OrganizationScopedAdmin):
    form = WebsiteForm
    list_display = ["website", "brand", "active", "created_at"]
    list_filter = ["active"]
    list_select_related = ["brand"]
    search_fields = ["website", "brand__name"]
    raw_id_fields = ["brand"]
