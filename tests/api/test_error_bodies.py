"""Every answer under /v1 is JSON `{"detail": ...}`, also when Django refuses the request itself."""

import json

import pytest
from django.conf import settings

from project.urls import BAD_HOST, BODY_OVER_LIMIT, TOO_MANY_FIELDS
from referrals.models import Connection

pytestmark = pytest.mark.django_db


def connections_url(brand) -> str:
    return f"/v1/{brand.pk}/ai-referrals/connections"


def assert_json_error(response, status: int, detail: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


def test_register_body_over_the_upload_limit_is_json_413(api_client, brand):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    padding = "x" * (limit + 1)
    body = json.dumps({"website": "example.com", "provider": "adobe_analytics", "pad": padding})
    response = api_client.post(connections_url(brand), body, content_type="application/json")
    assert_json_error(response, 413, BODY_OVER_LIMIT.format(limit=limit))
    assert not Connection.objects.exists()


def test_a_host_header_outside_allowed_hosts_is_json_400(api_client, brand):
    response = api_client.get(connections_url(brand), HTTP_HOST="evil.example")
    assert_json_error(response, 400, BAD_HOST)


def test_too_many_query_parameters_is_json_400(api_client, brand):
    query = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api_client.get(f"{connections_url(brand)}?{query}")
    assert_json_error(response, 400, TOO_MANY_FIELDS)


def test_pages_outside_the_api_keep_the_html_400(client):
    response = client.get("/dashboard/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_format_query_parameter_is_ignored_like_any_unknown_one(api_client, brand, connection):
    # The published API has no `format` parameter here: DRF's URL format override answered 404.
    response = api_client.get(f"{connections_url(brand)}?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [item["id"] for item in response.json()["items"]] == [connection.pk]


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/csv"])
def test_the_api_answers_json_whatever_the_accept_header(api_client, brand, connection, accept):
    # A client of the published (FastAPI) service always gets JSON; never a 406.
    url = f"{connections_url(brand)}/{connection.pk}/events"
    event = {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/a"}
    response = api_client.post(
        url, json.dumps([event]), content_type="application/json", HTTP_ACCEPT=accept
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["accepted"] == 1


def test_a_bad_accept_header_does_not_hide_the_401(client, brand):
    response = client.get(connections_url(brand), HTTP_ACCEPT="text/html")
    assert_json_error(response, 401, "Authentication credentials were not provided.")


def test_the_schema_still_negotiates_json_or_yaml(client):
    assert "openapi" in json.loads(client.get("/v1/schema?format=json").content)
    assert client.get("/v1/schema").content.startswith(b"openapi:")
