"""Admin, one module per area; importing them registers their models."""

from referrals.admin import agents, allow_list, connections, data, tenancy, users  # noqa: F401
