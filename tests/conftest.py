"""Fixtures that build the objects most tests need."""

import time

import pytest
from django.db import connection as db_connection
from rest_framework.test import APIClient

from referrals.models import Brand, Connection, Organization
from referrals.tenancy.services import api_key_create
from referrals.tenancy.throttling import ApiKeyRateThrottle


def pytest_collection_modifyitems(config, items):
    """`postgres`-marked tests run only when the suite runs on PostgreSQL."""
    if db_connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL only; the test command runs it there too")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture
def organization(db):
    return Organization.objects.create(name="Acme")


@pytest.fixture
def brand(organization):
    return Brand.objects.create(organization=organization, name="Acme Shoes")


@pytest.fixture
def other_brand(db):
    other = Organization.objects.create(name="Globex")
    return Brand.objects.create(organization=other, name="Globex Main")


@pytest.fixture
def token(organization):
    scopes = ["configure", "query"]
    return api_key_create(organization=organization, name="etl", scopes=scopes).token


@pytest.fixture
def api_client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def client_with_scopes(organization):
    def make(*scopes: str) -> APIClient:
        new_token = api_key_create(organization=organization, name="s", scopes=list(scopes)).token
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_token}")
        return client

    return make


@pytest.fixture
def connection(brand):
    return Connection.objects.create(brand=brand, website="example.com", provider="adobe_analytics")


@pytest.fixture
def no_push_rate_limit(settings):
    """For tests of hundreds of pushes: the per-key push limit is not what they test."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "push": "100000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def one_rate_limit_window(monkeypatch):
    """The test's requests fall in one rate-limit window, for pinned query counts: the first
    request of a window (a new minute) also creates the window's counter, in more queries."""
    now = time.time()
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", staticmethod(lambda: now))
