"""Admin: organizations, brands and API keys."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from referrals.admin.deletion import (
    SummarizedDeleteAdmin,
    brands_cascade,
    organizations_cascade,
)
from referrals.models import SCOPES, ApiKey, Brand, Organization
from referrals.tenancy import services


class BrandInline(admin.TabularInline):
    model = Brand
    extra = 0
    fields = ["id", "name", "created_at"]
    readonly_fields = ["id", "created_at"]
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(SummarizedDeleteAdmin):
    cascade = staticmethod(organizations_cascade)
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    inlines = [BrandInline]


@admin.register(Brand)
class BrandAdmin(SummarizedDeleteAdmin):
    cascade = staticmethod(brands_cascade)
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
