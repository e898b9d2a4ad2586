"""Admin: pushed agent traffic (rows, dropped user agents), big tables as in admin/data.py.

Rows: a connection id (the upsert key leads with brand and connection; a raw user agent sits
in it as its hash, so a search by user agent would need an index every push pays for).
Dropped user agents: a connection id; most dropped first ("what agents are we missing?").
"""

from django.contrib import admin

from referrals.admin.big_tables import BigTableAdmin
from referrals.admin.helpers import OrganizationScopedAdmin
from referrals.models import AgentTrafficRow, DroppedUserAgent


@admin.register(AgentTrafficRow)
class AgentTrafficRowAdmin(OrganizationScopedAdmin, BigTableAdmin):
    list_display = [
        "date",
        "agent",
        "raw_user_agent",
        "raw_page_value",
        "hits",
        "verified",
        "connection",
        "batch_id",
    ]
    list_filter = ["agent", ("date", admin.DateFieldListFilter)]
    list_select_related = ["agent", "connection"]
    search_fields = ["connection__id__exact"]
    search_help_text = "A connection id."
    raw_id_fields = ["connection", "brand", "page"]
    list_per_page = 50


@admin.register(DroppedUserAgent)
class DroppedUserAgentAdmin(OrganizationScopedAdmin, BigTableAdmin):
    list_display = ["raw_user_agent", "count", "connection", "first_seen_at", "last_seen_at"]
    list_select_related = ["connection"]
    search_fields = ["connection__id__exact"]
    search_help_text = "A connection id."
    raw_id_fields = ["connection"]
    ordering = ["-count", "-id"]
    sortable_by = ["count"]
