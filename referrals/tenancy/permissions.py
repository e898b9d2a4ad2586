"""Scope permissions: a valid key without the scope gets a 403."""

from rest_framework.permissions import BasePermission

from referrals.models import SCOPE_CONFIGURE, SCOPE_QUERY

MISSING_SCOPE = "This API key lacks the '{scope}' scope."


class HasApiKey(BasePermission):
    """Default: any valid API key (401 otherwise)."""

    def has_permission(self, request, view) -> bool:
        return request.auth is not None


class _HasScope(HasApiKey):
    scope = ""

    def has_permission(self, request, view) -> bool:
        if request.auth is None:
            return False
        if not request.auth.has_scope(self.scope):
            self.message = MISSING_SCOPE.format(scope=self.scope)
            return False
        return True


class HasConfigureScope(_HasScope):
    scope = SCOPE_CONFIGURE


class HasQueryScope(_HasScope):
    scope = SCOPE_QUERY
