"""Routes under /v1 (no trailing slashes, as the published API)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from referrals.connections.api import AgentConnectionViewSet, ConnectionViewSet
from referrals.ingest.api import AgentPushEventsView, PushEventsView
from referrals.sitemap.api import (
    SitemapExportView,
    SitemapPageDetailView,
    SitemapPageListView,
    SitemapPageMetricsView,
)

connections = ConnectionViewSet.as_view({"get": "list", "post": "create"})
connection = ConnectionViewSet.as_view({"get": "retrieve", "delete": "destroy"})
agent_connections = AgentConnectionViewSet.as_view({"get": "list", "post": "create"})
agent_connection = AgentConnectionViewSet.as_view({"get": "retrieve", "delete": "destroy"})

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # Under the site's Content-Security-Policy: the split view serves Swagger UI's start script
    # at /v1/docs?script= rather than inline, and api/docs.html moves its <style> to a file.
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/docs.html"),
        name="docs",
    ),
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
    path("<str:brand_id>/agent-traffic/connections", agent_connections, name="agent-connections"),
    path(
        "<str:brand_id>/agent-traffic/connections/<str:connection_id>",
        agent_connection,
        name="agent-connection",
    ),
    path(
        "<str:brand_id>/agent-traffic/connections/<str:connection_id>/events",
        AgentPushEventsView.as_view(),
        name="agent-push-events",
    ),
    path("<str:brand_id>/sitemap/pages", SitemapPageListView.as_view(), name="sitemap-pages"),
    path(
        "<str:brand_id>/sitemap/pages/<str:page_id>",
        SitemapPageDetailView.as_view(),
        name="sitemap-page",
    ),
    path(
        "<str:brand_id>/sitemap/pages/<str:page_id>/metrics",
        SitemapPageMetricsView.as_view(),
        name="sitemap-page-metrics",
    ),
    path("<str:brand_id>/sitemap/export", SitemapExportView.as_view(), name="sitemap-export"),
]
