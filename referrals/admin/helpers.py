"""Admin pieces shared by the areas: the canonical-website form, capped inlines, read-only."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from referrals.allow_list.website import InvalidWebsite, website_canonical


class WebsiteForm(forms.ModelForm):
    """Stores websites in the canonical form the API uses, so the uniqueness rules line up."""

    def clean_website(self) -> str:
        try:
            return website_canonical(self.cleaned_data["website"])
        except InvalidWebsite as exc:
            raise forms.ValidationError(str(exc)) from None


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the push pipeline: browsable, never edited or deleted by hand.

    Their rows go with their connection (or brand); deleted one by one they would break an
    invariant (the rollup equals the rows, a row's page exists) or the audit trail.
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
