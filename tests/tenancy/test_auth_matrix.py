"""Every API endpoint × every kind of bad credential: the right status, nothing leaked."""

import json
import logging

import pytest
from rest_framework.test import APIClient

from referrals.models import (
    Brand,
    Connection,
    Organization,
    SitemapPage,
    page_key,
)
from referrals.tenancy.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

EVENT = {"date": "2026-05-20", "raw_referrer_value": "chatgpt.com", "raw_page_value": "/"}

# (method, path template, scope it needs, body)
ENDPOINTS = [
    (
        "post",
        "/v1/{b}/ai-referrals/connections",
        "configure",
        {"website": "new.example", "provider": "adobe_analytics"},
    ),
    ("get", "/v1/{b}/ai-referrals/connections", "query", None),
    ("get", "/v1/{b}/ai-referrals/connections/{c}", "query", None),
    ("delete", "/v1/{b}/ai-referrals/connections/{c}", "configure", None),
    ("post", "/v1/{b}/ai-referrals/connections/{c}/events", "configure", [EVENT]),
    ("get", "/v1/{b}/sitemap/pages", "query", None),
    ("get", "/v1/{b}/sitemap/pages/{p}", "query", None),
    ("get", "/v1/{b}/sitemap/pages/{p}/metrics", "query", None),
    ("get", "/v1/{b}/sitemap/export", "query", None),
]
OTHER_SCOPE = {"configure": "query", "query": "configure"}


@pytest.fixture
def tenant(db):
    """One organization with a brand, a connection and a page; and a second organization."""
    org = Organization.objects.create(name="Mine")
    brand = Brand.objects.create(organization=org, name="Mine")
    connection = Connection.objects.create(
        brand=brand, website="mine.example", provider="adobe_analytics"
    )
    page = SitemapPage.objects.create(
        brand=brand,
        website="mine.example",
        raw_page_value="/",
        page_key=page_key("/"),
        url="https://mine.example/",
        path="/",
        depth=0,
    )
    other = Organization.objects.create(name="Theirs")
    return {"org": org, "brand": brand, "connection": connection, "page": page, "other": other}


def call(client, method, template, body, tenant, brand_id=None):
    path = template.format(
        b=brand_id or tenant["brand"].pk, c=tenant["connection"].pk, p=tenant["page"].pk
    )
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def client_for(token: str | None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize(("method", "template", "scope", "body"), ENDPOINTS)
@pytest.mark.parametrize("credential", ["none", "malformed", "unknown", "revoked"])
def test_bad_credentials_are_401(tenant, method, template, scope, body, credential):
    token = {
        "none": None,
        "malformed": "not-a-token",
        "unknown": "air_" + "A" * 43,
        "revoked": None,
    }[credential]
    if credential == "revoked":
        new_key = api_key_create(organization=tenant["org"], name="r", scopes=[scope])
        api_key_revoke(api_key=new_key.api_key)
        token = new_key.token
    response = call(client_for(token), method, template, body, tenant)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "mine.example" not in response.content.decode()


@pytest.mark.parametrize(("method", "template", "scope", "body"), ENDPOINTS)
def test_missing_scope_is_403(tenant, method, template, scope, body):
    token = api_key_create(organization=tenant["org"], name="s", scopes=[OTHER_SCOPE[scope]]).token
    response = call(client_for(token), method, template, body, tenant)
    assert response.status_code == 403
    assert scope in response.json()["detail"]


@pytest.mark.parametrize(("method", "template", "scope", "body"), ENDPOINTS)
def test_other_organizations_token_sees_a_404_like_a_missing_brand(
    tenant, method, template, scope, body
):
    token = api_key_create(
        organization=tenant["other"], name="o", scopes=["configure", "query"]
    ).token
    theirs = call(client_for(token), method, template, body, tenant)
    missing = call(client_for(token), method, template, body, tenant, brand_id=987654321)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    tenant["connection"].refresh_from_db()
    assert tenant["connection"].status == "active"
    assert not tenant["connection"].rows.exists()


@pytest.mark.parametrize(("method", "template", "scope", "body"), ENDPOINTS)
def test_right_token_passes_the_gate(tenant, method, template, scope, body):
    token = api_key_create(organization=tenant["org"], name="ok", scopes=[scope]).token
    response = call(client_for(token), method, template, body, tenant)
    assert response.status_code in {200, 201}


def test_tokens_never_reach_the_logs(tenant, caplog):
    token = api_key_create(
        organization=tenant["org"], name="l", scopes=["configure", "query"]
    ).token
    caplog.set_level(logging.DEBUG)
    for method, template, _, body in ENDPOINTS:
        call(client_for(token), method, template, body, tenant)
        call(client_for(token + "x"), method, template, body, tenant)
    secret = token.split("_", 1)[1]
    assert caplog.records
    assert all(secret[8:] not in record.getMessage() for record in caplog.records)
