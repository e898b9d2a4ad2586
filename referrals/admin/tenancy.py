"""Admin: organizations, brands and API keys."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from referrals.admin.deletion import (
    SummarizedDeleteAdmin,
    brands_cascade,
    organizations_cascade,
)
from referrals.admin.helpers import OrganizationScopedAdmin
from referrals.models import SCOPES, ApiKey, Brand, Organization
from referrals.tenancy import services


class BrandInline(admin.TabularInline):
    model = Brand
    extra = 0
    fields = ["id", "name", "created_at"]
    readonly_fields = ["id", "created_at"]
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin, SummarizedDeleteAdmin):
    cascade = staticmethod(organizations_cascade)
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    inlines = [BrandInline]

    def has_add_permission(self, request) -> bool:
        # An organization is a customer account: the operators (superusers) open one.
        return request.user.is_superuser and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        # Names are unique across organizations (a rename would probe the others'), and
        # members would be picked among every user.
        if request.user.is_superuser:
            return self.readonly_fields
        return [*self.readonly_fields, "name", "members"]


@admin.register(Brand)
class BrandAdmin(OrganizationScopedAdmin, SummarizedDeleteAdmin):
    cascade = staticmethod(brands_cascade)
    list_display = ["id", "name", "organization", "created_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name", "=id"]
    # Related-only: the choices come from the brands in scope, not from every organization.
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]


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
class ApiKeyAdmin(OrganizationScopedAdmin):
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
    list_filter = ["revoked", ("organization", admin.RelatedOnlyFieldListFilter)]
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
        # Kept on the unsaved attribute for response_add only; the database gets its hash.
        obj.new_token = services.api_key_issue(api_key=obj)

    def response_add(self, request, obj, post_url_continue=None):
        """The new token, on this response only, never cached.

        Not in a message: Django's messages go in a cookie (signed, not encrypted), or with
        session storage in django_session, where the token would sit in clear until read.
        """
        context = {
            **self.admin_site.each_context(request),
            "title": "New API token",
            "opts": self.opts,
            "original": obj,
            "token": obj.new_token,
        }
        response = TemplateResponse(request, "admin/referrals/apikey/token.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked=False):
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.")
