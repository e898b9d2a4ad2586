"""Top-level routes: the API under /v1, the dashboard, the admin."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard", permanent=False)),
    path("v1/", include("referrals.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dashboard/", include("referrals.dashboard.urls")),
]


def handler404(request, exception=None):
    """API clients get JSON for unknown paths; browsers get the HTML page."""
    if request.path.startswith("/v1/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/v1/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
