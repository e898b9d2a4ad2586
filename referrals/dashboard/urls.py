"""Dashboard routes."""

from django.urls import path

from referrals.dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("page/", views.page_view, name="dashboard-page"),
    path("export.csv", views.export_csv, name="dashboard-export"),
    path("agents.csv", views.export_agents_csv, name="dashboard-agents-export"),
]
