"""Admin: priority paths (editable) and website crawls (their progress and findings)."""

from django import forms
from django.contrib import admin

from referrals.admin.helpers import OrganizationScopedAdmin, ReadOnlyAdmin
from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.models import PriorityPath, WebsiteCrawl
from referrals.sitemap.priority import priority_rule_parse

WEBSITE_MISMATCH = "The URL is on {url_site}, not on the website {website}."


class PriorityPathForm(forms.ModelForm):
    """A path (`/pricing`) or a page's URL (`https://example.com/pricing`, whose host becomes
    the rule's website); websites in the canonical form the API uses."""

    class Meta:
        model = PriorityPath
        fields = ["brand", "website", "match", "path"]

    def clean_website(self) -> str:
        website = self.cleaned_data.get("website", "").strip()
        if not website:
            return ""
        try:
            return website_canonical(website)
        except InvalidWebsite as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        value = cleaned.get("path")
        if not value:
            return cleaned
        try:
            url_site, path = priority_rule_parse(value)
        except ValueError as exc:
            self.add_error("path", str(exc))
            return cleaned
        website = cleaned.get("website") or ""
        if url_site and website and url_site != website:
            self.add_error("path", WEBSITE_MISMATCH.format(url_site=url_site, website=website))
        cleaned["website"] = website or url_site
        cleaned["path"] = path
        return cleaned


@admin.register(PriorityPath)
class PriorityPathAdmin(OrganizationScopedAdmin):
    form = PriorityPathForm
    list_display = ["__str__", "brand", "website", "match", "path", "created_at"]
    list_filter = ["match"]
    list_select_related = ["brand"]
    search_fields = ["website", "path"]
    raw_id_fields = ["brand"]

    def get_readonly_fields(self, request, obj=None):
        # A rule stays with its brand: brand_id places the row on Citus (never rewritten).
        return ["brand"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["website", "match", "path"])
        else:
            obj.save()


@admin.register(WebsiteCrawl)
class WebsiteCrawlAdmin(OrganizationScopedAdmin, ReadOnlyAdmin):
    """Written by crawl_site (started from a connection's "Crawl now" action)."""

    list_display = [
        "website",
        "brand",
        "status",
        "progress",
        "pages_failed",
        "last_crawl_completed",
        "llms_txt",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["brand"]
    search_fields = ["website"]
    readonly_fields = [
        "brand",
        "website",
        "base_url",
        "status",
        "progress",
        "started_at",
        "finished_at",
        "last_crawl_completed",
        "pages_found",
        "pages_crawled",
        "pages_failed",
        "last_error",
        "robots_txt_status",
        "robots_policy",
        "llms_txt",
    ]

    @admin.display(description="progress")
    def progress(self, obj: WebsiteCrawl) -> str:
        return f"{obj.pages_crawled} / {obj.pages_found} pages"
