"""Admin: connections, API keys, the AI-platform allow-list, and the pushed data."""

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .models import (
    SCOPES,
    AIPlatform,
    AIPlatformEntry,
    ApiKey,
    Brand,
    Connection,
    DailyPlatformTotal,
    DroppedReferrer,
    GoogleAnalyticsIntegration,
    Organization,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from .normalization import InvalidWebsite, website_canonical


class WebsiteForm(forms.ModelForm):
    """Stores websites in the canonical form the API uses, so the uniqueness rules line up."""

    def clean_website(self) -> str:
        try:
            return website_canonical(self.cleaned_data["website"])
        except InvalidWebsite as exc:
            raise forms.ValidationError(str(exc)) from None


class ConnectionForm(WebsiteForm):
    """The API's register rules, with its messages, for connections added or edited here."""

    def clean(self):
        cleaned = super().clean()
        brand, website = cleaned.get("brand"), cleaned.get("website")
        if brand is None or not website or cleaned.get("status") != Connection.STATUS_ACTIVE:
            return cleaned
        active = (
            Connection.objects.filter(brand=brand, website=website, status=Connection.STATUS_ACTIVE)
            .exclude(pk=self.instance.pk)
            .first()
        )
        # On the website field: that also spares the user the database constraint's own,
        # vaguer message (constraints over a field with an error are not re-checked).
        if active is not None:
            message = services.ACTIVE_CONNECTION_EXISTS.format(website=website, id=active.pk)
            self.add_error("website", message)
        elif GoogleAnalyticsIntegration.objects.filter(
            brand=brand, website=website, active=True
        ).exists():
            self.add_error("website", services.GA_INTEGRATION_EXISTS.format(website=website))
        return cleaned


class LimitedInlineFormSet(BaseInlineFormSet):
    """The parent's first `limit` related rows (in the inline's order), for busy relations.

    The slice must come after the formset filters by the parent: sliced in the inline's
    get_queryset, it would take the first rows of the whole table and then keep only the
    parent's, often none.
    """

    limit = 20

    def get_queryset(self):
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.limit]
        return self._limited_queryset


class BrandInline(admin.TabularInline):
    model = Brand
    extra = 0
    fields = ["id", "name", "created_at"]
    readonly_fields = ["id", "created_at"]
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    inlines = [BrandInline]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name", "=id"]
    list_filter = ["organization"]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in SCOPES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ["organization", "name", "scopes", "revoked"]

    def clean_scopes(self) -> list[str]:
        # Stored in canonical order, as api_key_create does, whatever order was posted.
        return [scope for scope in SCOPES if scope in self.cleaned_data["scopes"]]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "organization",
        "prefix",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked",
    ]
    list_filter = ["revoked", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "prefix", "organization__name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def get_readonly_fields(self, request, obj=None):
        # A key never moves to another organization; issue a new one instead.
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.revoked_at = (obj.revoked_at or timezone.now()) if obj.revoked else None
            super().save_model(request, obj, form, change)
            return
        token = services.api_key_issue(api_key=obj)
        # Shown once; only its hash is stored.
        messages.warning(
            request,
            format_html(
                "New API token (copy it now, it will not be shown again): <code>{}</code>", token
            ),
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked=False):
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.")


class AIPlatformEntryInline(admin.TabularInline):
    model = AIPlatformEntry
    extra = 1
    fields = ["kind", "value"]


@admin.register(AIPlatform)
class AIPlatformAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "entry_list", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "entries__value"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [AIPlatformEntryInline]

    @admin.display(description="entries")
    def entry_list(self, obj: AIPlatform) -> str:
        return ", ".join(e.value for e in obj.entries.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("entries")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Stored rows point at platforms: deactivate one and run renormalize_referrers instead.
        return False


@admin.register(AIPlatformEntry)
class AIPlatformEntryAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "platform", "updated_at"]
    list_filter = ["kind", "platform"]
    list_select_related = ["platform"]
    search_fields = ["value", "platform__name"]


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


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "brand",
        "website",
        "provider",
        "status",
        "created_at",
        "last_pushed_at",
        "has_error",
    ]
    list_filter = ["status", "provider"]
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
        return [*self.readonly_fields, "status", "brand", "website", "provider"]

    actions = ["disable"]
    inlines = [PushLogInline, DroppedReferrerInline]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj: Connection) -> bool:
        return bool(obj.last_push_error)

    @admin.action(description="Disable selected connections")
    def disable(self, request, queryset):
        for connection in queryset.filter(status=Connection.STATUS_ACTIVE):
            services.connection_disable(connection=connection)
        self.message_user(request, "Disabled; their rows are kept but no longer read.")


@admin.register(GoogleAnalyticsIntegration)
class GoogleAnalyticsIntegrationAdmin(admin.ModelAdmin):
    form = WebsiteForm
    list_display = ["website", "brand", "active", "created_at"]
    list_filter = ["active"]
    list_select_related = ["brand"]
    search_fields = ["website", "brand__name"]
    raw_id_fields = ["brand"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the push pipeline: browsable, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
