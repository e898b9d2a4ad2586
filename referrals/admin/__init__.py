"""Admin, one module per area; importing them registers their models."""

from referrals.admin import allow_list, connections, data, sitemap, tenancy, users  # noqa: F401
