"""Admin, one module per area; importing them registers their models."""

from referrals.admin import (  # noqa: F401
    agents,
    allow_list,
    connections,
    data,
    sitemap,
    tenancy,
    users,
)
