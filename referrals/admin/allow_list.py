"""Admin: the AI-platform allow-list and the AI-agent list, shared by every organization: staff
view, superusers edit."""

from django.contrib import admin
from django.db import models

from referrals.admin.helpers import SharedAdmin
from referrals.models import AIAgent, AIPlatform, AIPlatformEntry


class AIPlatformEntryInline(admin.TabularInline):
    model = AIPlatformEntry
    extra = 1
    fields = ["kind", "value"]


@admin.register(AIPlatform)
class AIPlatformAdmin(SharedAdmin):
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
class AIPlatformEntryAdmin(SharedAdmin):
    list_display = ["value", "kind", "platform", "updated_at"]
    list_filter = ["kind", "platform"]
    list_select_related = ["platform"]
    search_fields = ["value", "platform__name"]


@admin.register(AIAgent)
class AIAgentAdmin(SharedAdmin):
    """The agents whose user agents count as agent traffic; pushes pick up a change at once
    (the matcher is rebuilt when the list changes), stored rows with
    `renormalize_agents`."""

    list_display = ["name", "token", "operator", "purpose", "platform", "active", "updated_at"]
    list_filter = ["purpose", "active", "platform"]
    list_select_related = ["platform"]
    search_fields = ["name", "token", "operator", "platform__name"]
    # A documentation URL typed without a scheme is an https one (Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_delete_permission(self, request, obj=None) -> bool:
        # Stored rows point at agents: deactivate one and renormalize instead.
        return False
