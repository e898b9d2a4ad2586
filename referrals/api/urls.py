"""Routes under /v1 (no trailing slashes, as the published API)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .push import PushEventsView
from .views import ConnectionViewSet

connections = ConnectionViewSet.as_view({"get": "list", "post": "create"})
connection = ConnectionViewSet.as_view({"get": "retrieve", "delete": "destroy"})

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("<str:brand_id>/ai-referrals/connections", connections, name="connections"),
    path(
        "<str:brand_id>/ai-referrals/connections/<str:connection_id>",
        connection,
        name="connection",
    ),
    path(
        "<str:brand_id>/ai-referrals/connections/<str:connection_id>/events",
        PushEventsView.as_view(),
        name="push-events",
    ),
]
