"""Top-level routes: the API under /v1, the dashboard, the admin."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

BODY_OVER_LIMIT = "Request body too large: at most {limit} bytes."
BAD_HOST = "Invalid Host header."
TOO_MANY_FIELDS = "Too many query or form parameters."
BAD_REQUEST = "Bad request."

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False)),
    path("v1/", include("referrals.api.urls")),
    path("admin/", admin.site.urls),
    # Sign-in, sign-out and a password change; no password reset by email: the service sends
    # no mail (an admin sets a forgotten password in /admin/).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("dashboard/", include("referrals.dashboard.urls")),
]


def handler400(request, exception=None):
    """What Django refuses before any view runs (a Host outside ALLOWED_HOSTS, a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many parameters): JSON under /v1, 413 for the body."""
    if not request.path.startswith("/v1/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        detail = BODY_OVER_LIMIT.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return JsonResponse({"detail": detail}, status=413)
    if isinstance(exception, DisallowedHost):
        return JsonResponse({"detail": BAD_HOST}, status=400)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return JsonResponse({"detail": TOO_MANY_FIELDS}, status=400)
    return JsonResponse({"detail": BAD_REQUEST}, status=400)


def handler404(request, exception=None):
    """API clients get JSON for unknown paths; browsers get the HTML page."""
    if request.path.startswith("/v1/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/v1/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
