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
