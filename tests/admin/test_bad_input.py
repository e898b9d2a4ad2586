"""Admin: a NUL character in a URL, a query string or a form is a 400, never a 500.

PostgreSQL cannot store or even compare a string holding NUL, and Django's admin passes some
values to queries unchecked: a text primary key in a change URL (a connection's ULID), a
choice filter's value, the autocomplete's term, the ids an action is run on.
"""

import pytest
from django.urls import reverse

from referrals.models import Connection, WebsiteCrawl
from tests.admin.builders import admin_url

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_change_url_is_a_400(admin_client, connection):
    response = admin_client.get(admin_url(Connection, "change", connection.pk + "\x00"))
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (Connection, {"status__exact": "\x00"}),
        (WebsiteCrawl, {"status__exact": "active\x00"}),
        (Connection, {"q": "\x00"}),
    ],
)
def test_a_nul_in_a_changelist_query_is_a_400(admin_client, connection, model, params):
    assert admin_client.get(admin_url(model, "changelist"), params).status_code == 400


def test_a_nul_in_the_autocomplete_term_is_a_400(admin_client, connection):
    params = {"app_label": "referrals", "model_name": "connection", "field_name": "brand"}
    response = admin_client.get(reverse("admin:autocomplete"), {**params, "term": "a\x00"})
    assert response.status_code == 400


def test_a_nul_in_a_posted_action_is_a_400_and_changes_nothing(admin_client, connection):
    data = {"action": "disable", "_selected_action": [connection.pk + "\x00"], "index": 0}
    response = admin_client.post(admin_url(Connection, "changelist"), data)
    assert response.status_code == 400
    connection.refresh_from_db()
    assert connection.status == Connection.STATUS_ACTIVE


def test_the_dashboard_and_the_api_keep_their_own_answers_to_a_nul(admin_client, api_client, brand):
    """Only the admin is refused up front: the dashboard forgives a bad parameter with a
    notice, and the API answers in its published shape (422)."""
    assert admin_client.get("/dashboard/", {"platform": "\x00"}).status_code == 200
    url = f"/v1/{brand.pk}/ai-referrals/connections"
    response = api_client.get(url, {"status": "\x00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]
