"""Connections API: every status code, scopes, tenancy, and the one-active-connection rule."""

import io
import json
import threading

import pytest
from django.db import connections as db_connections
from gunicorn.http.errors import ChunkMissingTerminator, NoMoreData
from rest_framework.test import APIClient

from referrals.ingest.parse import TOO_DEEP
from referrals.models import Connection, GoogleAnalyticsIntegration
from referrals.tenancy.scoping import BRAND_NOT_FOUND, CONNECTION_NOT_FOUND
from referrals.tenancy.services import api_key_create, api_key_revoke
from tests.factories import BrokenBody

pytestmark = pytest.mark.django_db


def url(brand_id, connection_id=None):
    base = f"/v1/{brand_id}/ai-referrals/connections"
    return f"{base}/{connection_id}" if connection_id else base


def register(client, brand, website="example.com", provider="adobe_analytics"):
    return client.post(url(brand.pk), {"website": website, "provider": provider}, format="json")


def test_register_returns_201_and_the_connection_object(api_client, brand):
    response = register(api_client, brand, website="https://WWW.Example.com/x?y=1")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "brand_id",
        "website",
        "provider",
        "status",
        "created_at",
        "last_pushed_at",
        "last_push_error",
    }
    assert len(body["id"]) == 26 and body["id"].isalnum()
    assert body["brand_id"] == brand.pk
    assert body["website"] == "example.com"
    assert body["status"] == "active"
    assert body["created_at"].endswith("Z")
    assert body["last_pushed_at"] is None and body["last_push_error"] is None
    assert Connection.objects.get(pk=body["id"]).website == "example.com"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"website": "", "provider": "adobe_analytics"}, "empty"),
        ({"website": "not a host", "provider": "adobe_analytics"}, "hostname"),
        ({"website": "localhost", "provider": "adobe_analytics"}, "domain"),
        ({"website": "example.com", "provider": "google_analytics"}, "Unknown provider"),
        # Strings the published description allows (any string) that are no hostname or no
        # provider: the same 400s, not a 422 (SPEC keeps 422 for a missing or mistyped field)
        ({"website": "exa\x00mple.com", "provider": "adobe_analytics"}, "hostname"),
        ({"website": "example.com", "provider": "adobe\x00analytics"}, "Unknown provider"),
        ({"website": "a" * 3000 + ".com", "provider": "adobe_analytics"}, "at most 253"),
        ({"website": "example.com", "provider": "p" * 3000}, "Unknown provider"),
    ],
)
def test_register_rejects_bad_values_with_400(api_client, brand, payload, fragment):
    response = api_client.post(url(brand.pk), payload, format="json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert fragment in detail and not detail.startswith("detail:")
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "type_"),
    [
        ({"provider": "adobe_analytics"}, "website", "missing"),
        ({"website": None, "provider": "adobe_analytics"}, "website", "missing"),
        ({"website": "example.com"}, "provider", "missing"),
        ({"website": ["example.com"], "provider": "adobe_analytics"}, "website", "string_type"),
        ({"website": 123, "provider": "adobe_analytics"}, "website", "string_type"),
        ({"website": "example.com", "provider": True}, "provider", "string_type"),
    ],
)
def test_register_rejects_missing_or_mistyped_fields_with_422(
    api_client, brand, payload, field, type_
):
    response = api_client.post(url(brand.pk), payload, format="json")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field] and error["type"] == type_
    assert not Connection.objects.exists()


def test_register_with_an_empty_body_is_400(api_client, brand):
    response = api_client.post(url(brand.pk), b"", content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(
    "raw", [b"{", b"[]", b'"example.com"', b"null", b"\xff\xfe", b'{"website": "a\x00.com"}']
)
def test_register_rejects_malformed_json_with_400(api_client, brand, raw):
    response = api_client.post(url(brand.pk), raw, content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("opener", [b"[", b'{"website": '])
def test_register_with_deeply_nested_json_is_400(api_client, brand, opener):
    # 20,000 levels: past Python's recursion limit (the decoder recurses), under 1 MiB.
    raw = opener * 20_000 + b"1"
    response = api_client.post(url(brand.pk), raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": TOO_DEEP}
    assert not Connection.objects.exists()


def test_register_twice_is_409_naming_the_active_connection(api_client, brand):
    first = register(api_client, brand).json()
    response = register(api_client, brand, website="www.example.com")
    assert response.status_code == 409
    assert first["id"] in response.json()["detail"]


def test_register_after_disable_starts_a_new_connection(api_client, brand):
    first = register(api_client, brand).json()
    assert api_client.delete(url(brand.pk, first["id"])).status_code == 200
    second = register(api_client, brand)
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]


def test_register_blocked_by_active_ga_integration_is_409(api_client, brand):
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="example.com")
    response = register(api_client, brand)
    assert response.status_code == 409
    assert "Google Analytics" in response.json()["detail"]


def test_inactive_ga_integration_does_not_block(api_client, brand):
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="example.com", active=False)
    assert register(api_client, brand).status_code == 201


def test_same_website_on_two_brands_is_allowed(api_client, brand, organization):
    second = organization.brands.create(name="Acme Boots")
    assert register(api_client, brand).status_code == 201
    assert register(api_client, second).status_code == 201


def test_list_filters_by_status_website_and_provider(api_client, brand):
    a = register(api_client, brand, website="a.example").json()
    register(api_client, brand, website="b.example")
    api_client.delete(url(brand.pk, a["id"]))

    def ids(query=""):
        response = api_client.get(url(brand.pk) + query)
        assert response.status_code == 200
        return [item["website"] for item in response.json()["items"]]

    assert sorted(ids()) == ["a.example", "b.example"]
    assert ids("?status=disabled") == ["a.example"]
    assert ids("?status=active") == ["b.example"]
    assert ids("?website=https://WWW.B.example/") == ["b.example"]
    assert ids("?website=not%20a%20host") == []
    assert sorted(ids("?provider=adobe_analytics")) == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("query", "field"), [("?status=paused", "status"), ("?provider=ga4", "provider")]
)
def test_list_rejects_unknown_filter_values_with_422(api_client, brand, query, field):
    response = api_client.get(url(brand.pk) + query)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field] and error["type"] == "enum"
    assert error["msg"].startswith("Select a valid choice.")


def test_list_filter_errors_come_after_the_brand_check(api_client, other_brand):
    assert api_client.get(url(other_brand.pk) + "?status=paused").status_code == 404


def test_options_on_the_list_route_describes_it(api_client, brand):
    response = api_client.options(url(brand.pk))
    assert response.status_code == 200
    assert set(response.json()["actions"]["POST"]) == {"website", "provider"}


def test_the_schema_describes_the_list_filters_and_its_items_body(client):
    schema = client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/v1/{brand_id}/ai-referrals/connections"]["get"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(query) == {"status", "website", "provider"}
    assert query["status"]["schema"]["enum"] == ["active", "disabled"]
    assert query["provider"]["schema"]["enum"] == ["adobe_analytics"]
    assert query["website"]["schema"] == {"type": "string"}
    assert "any spelling" in query["website"]["description"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ConnectionList"}
    items = schema["components"]["schemas"]["ConnectionList"]["properties"]["items"]
    assert items == {"type": "array", "items": {"$ref": "#/components/schemas/Connection"}}


def test_detail_and_404s(api_client, brand, connection, other_brand):
    assert api_client.get(url(brand.pk, connection.pk)).json()["id"] == connection.pk
    assert api_client.get(url(brand.pk, connection.pk.lower())).status_code == 200
    missing = api_client.get(url(brand.pk, "01JX2Y6E8H1AKQ8V0W7G4D9SXT"))
    assert missing.status_code == 404
    assert missing.json() == {"detail": CONNECTION_NOT_FOUND}
    assert api_client.get(url(brand.pk, "x" * 300)).status_code == 404
    other = Connection.objects.create(
        brand=other_brand, website="globex.com", provider="adobe_analytics"
    )
    # Another brand's connection through our brand's URL: not found.
    assert api_client.get(url(brand.pk, other.pk)).status_code == 404


def test_delete_disables_idempotently_and_keeps_the_row(api_client, brand, connection):
    first = api_client.delete(url(brand.pk, connection.pk))
    assert first.status_code == 200
    assert first.json()["status"] == "disabled"
    again = api_client.delete(url(brand.pk, connection.pk))
    assert again.status_code == 200
    assert again.json() == first.json()
    connection.refresh_from_db()
    assert connection.status == "disabled" and connection.disabled_at is not None


@pytest.mark.parametrize("brand_id", ["999999", "0", "-1", str(2**70)])
def test_unknown_brand_ids_are_404(api_client, brand_id):
    response = api_client.get(url(brand_id))
    assert response.status_code == 404
    assert response.json() == {"detail": BRAND_NOT_FOUND}


@pytest.mark.parametrize("brand_id", ["abc", "١٢"])
def test_non_integer_brand_ids_are_422(api_client, brand_id):
    response = api_client.get(url(brand_id))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "brand_id"]


def test_other_organizations_brand_is_indistinguishable_from_a_missing_one(api_client, other_brand):
    theirs = api_client.get(url(other_brand.pk))
    missing = api_client.get(url(other_brand.pk + 1000))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert register(api_client, other_brand).status_code == 404
    assert not Connection.objects.filter(brand=other_brand).exists()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nope",
        "Bearer",
        "Token abc",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
        "Bearer air_" + "x" * 43,
    ],
)
def test_missing_or_invalid_token_is_401_with_challenge(brand, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(url(brand.pk))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_revoked_token_is_401(organization, brand):
    new_key = api_key_create(organization=organization, name="old", scopes=["query"])
    api_key_revoke(api_key=new_key.api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_key.token}")
    assert client.get(url(brand.pk)).status_code == 401


def test_401_comes_before_404(brand):
    assert APIClient().get(url(999999)).status_code == 401


def test_session_login_alone_cannot_use_the_api(admin_client, brand):
    assert admin_client.get(url(brand.pk)).status_code == 401
    assert (
        admin_client.post(
            url(brand.pk),
            {"website": "x.example", "provider": "adobe_analytics"},
            content_type="application/json",
        ).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("method", "scopes", "expected"),
    [
        ("post", ["query"], 403),
        ("post", ["configure"], 201),
        ("get", ["configure"], 403),
        ("get", ["query"], 200),
        ("delete", ["query"], 403),
        ("delete", ["configure"], 200),
        ("get_one", ["configure"], 403),
        ("get_one", ["query"], 200),
    ],
)
def test_scopes_are_enforced(client_with_scopes, brand, connection, method, scopes, expected):
    client = client_with_scopes(*scopes)
    if method == "post":
        response = register(client, brand, website="new.example")
    elif method == "get":
        response = client.get(url(brand.pk))
    elif method == "delete":
        response = client.delete(url(brand.pk, connection.pk))
    else:
        response = client.get(url(brand.pk, connection.pk))
    assert response.status_code == expected
    if expected == 403:
        assert "scope" in response.json()["detail"]


def test_403_scope_comes_before_404_brand(client_with_scopes):
    assert client_with_scopes("query").post(url(999999), {}, format="json").status_code == 403


def test_methods_not_allowed_are_405(api_client, brand, connection):
    assert api_client.put(url(brand.pk, connection.pk), {}, format="json").status_code == 405
    assert api_client.patch(url(brand.pk), {}, format="json").status_code == 405


def test_request_id_is_echoed_or_generated(api_client, brand):
    echoed = api_client.get(url(brand.pk), HTTP_X_REQUEST_ID="etl-2026-05-20.7")
    assert echoed["X-Request-ID"] == "etl-2026-05-20.7"
    generated = api_client.get(url(brand.pk), HTTP_X_REQUEST_ID="bad id\nforged: yes")
    assert generated["X-Request-ID"] != "bad id\nforged: yes"
    assert len(generated["X-Request-ID"]) == 32
    assert APIClient().get(url(brand.pk))["X-Request-ID"]


def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/v1/nope/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_schema_and_docs_are_served_without_a_token(client):
    schema = client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/v1/{brand_id}/ai-referrals/connections" in paths
    assert "bearerAuth" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_registration_gives_one_201_and_one_409(organization, brand):
    token = api_key_create(organization=organization, name="c", scopes=["configure"]).token
    barrier = threading.Barrier(8)
    statuses = []

    def attempt():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            statuses.append(register(client, brand, website="race.example").status_code)
        finally:
            db_connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7
    assert Connection.objects.filter(website="race.example", status="active").count() == 1


def chunked(body: bytes) -> dict:
    """A body as gunicorn hands over one sent with Transfer-Encoding: chunked: no
    Content-Length, the stream marked terminated (wsgi.input_terminated)."""
    return {
        "content_type": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }


def test_register_reads_a_chunked_body(api_client, brand):
    # It answered 400 "The request body is empty" (Django reads no Content-Length as no body);
    # the push endpoints already read chunked bodies.
    body = json.dumps({"website": "example.com", "provider": "adobe_analytics"}).encode()
    response = api_client.generic("POST", url(brand.pk), b"", **chunked(body))
    assert response.status_code == 201, response.content
    assert Connection.objects.get().website == "example.com"


def test_a_chunked_register_body_over_the_upload_limit_is_413(api_client, brand, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"website": "example.com", "provider": "x" * 200}).encode()
    response = api_client.generic("POST", url(brand.pk), b"", **chunked(body))
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: at most 100 bytes."}
    assert not Connection.objects.exists()


def test_an_empty_chunked_register_body_is_still_the_empty_body_400(api_client, brand):
    response = api_client.generic("POST", url(brand.pk), b"", **chunked(b""))
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


@pytest.mark.parametrize("error", [NoMoreData(b""), ChunkMissingTerminator(b"XX")])
def test_a_chunked_register_body_cut_short_is_400(api_client, brand, error):
    body = b'{"website": "example.com", "provider": "adobe_analytics"}'
    extra = {**chunked(b""), "wsgi.input": BrokenBody(body, error)}
    response = api_client.generic("POST", url(brand.pk), b"", **extra)
    assert response.status_code == 400
    assert "could not be read" in response.json()["detail"]
    assert not Connection.objects.exists()


def test_a_register_body_that_stops_arriving_is_400(api_client, brand):
    # With a Content-Length, Django reads the body for DRF: the gunicorn worker's deadline
    # (REQUEST_BODY_TIMEOUT, project/workers.py) raises TimeoutError from the socket, which
    # Django turns into UnreadablePostError: that was a 500 (checked live on gunicorn too).
    body = b'{"website": "example.com", "provider": "adobe_analytics"}'
    late = BrokenBody(body[:20], TimeoutError("timed out"))
    response = api_client.generic(
        "POST", url(brand.pk), body, content_type="application/json", **{"wsgi.input": late}
    )
    assert response.status_code == 400
    assert "could not be read" in response.json()["detail"]
    assert not Connection.objects.exists()
