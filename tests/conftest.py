"""Fixtures that build the objects most tests need."""

import gc
import importlib
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.core.signals import request_finished, request_started
from django.db import OperationalError
from django.db import connection as db_connection
from rest_framework.test import APIClient

from referrals.db.citus import citus_installed
from referrals.models import Brand, Connection, Organization
from referrals.tenancy.services import api_key_create
from referrals.tenancy.throttling import ApiKeyRateThrottle

# On Citus, the tests of the API, the dashboard, the push and its client run with every query
# confined to one shard: a query that touches more than one fails the test (the proof of
# routing). The admin, management commands and the database's own tests may fan out.
SINGLE_SHARD_PACKAGES = (
    "api",
    "client",
    "connections",
    "dashboard",
    "ingest",
    "sitemap",
    "tenancy",
)
SINGLE_SHARD = "SET citus.multi_task_query_log_level = 'error'"
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """`postgres`-marked tests run only when the suite runs on PostgreSQL."""
    if db_connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL only; the test command runs it there too")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def _single_shard_on(sender, **kwargs) -> None:
    """On psycopg's own connection, so that pinned query counts do not see it."""
    try:
        db_connection.ensure_connection()
    except OperationalError:  # a test of an outage: the request itself meets it
        return
    db_connection.connection.execute(SINGLE_SHARD)


def _single_shard_off(sender, **kwargs) -> None:
    if db_connection.connection is not None and not db_connection.needs_rollback:
        db_connection.connection.execute("RESET citus.multi_task_query_log_level")


def _uses_db(request) -> str | None:
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            return name
    return "db" if request.node.get_closest_marker("django_db") else None


@pytest.fixture(autouse=True)
def citus_routing(request):
    """Citus: `citus`-marked tests run, the others skip. In tests of SINGLE_SHARD_PACKAGES
    every request (the application's queries, in whichever thread serves it) runs with
    multi-shard queries as errors; the test's own checks around it may read across brands."""
    marked = request.node.get_closest_marker("citus")
    db_fixture = _uses_db(request) if db_connection.vendor == "postgresql" else None
    if db_fixture is None:
        if marked:
            pytest.skip("Citus only; the test command runs it on a Citus cluster")
        yield
        return
    request.getfixturevalue(db_fixture)
    citus = citus_installed(db=db_connection)
    if marked and not citus:
        pytest.skip("Citus only; the test command runs it on a Citus cluster")
    package = Path(request.node.path).relative_to(_TESTS).parts[0]
    admin = request.node.get_closest_marker("admin_fan_out")  # the admin lists across brands
    if not citus or package not in SINGLE_SHARD_PACKAGES or admin:
        yield
        return
    request_started.connect(_single_shard_on)
    request_finished.connect(_single_shard_off)
    try:
        yield
    finally:
        request_started.disconnect(_single_shard_on)
        request_finished.disconnect(_single_shard_off)


@pytest.fixture
def platforms_seeded():
    """The seeded platforms, as migration 0002 leaves them: in a transactional test, an earlier
    transactional test's flush (another package's, when it ran first) may have emptied them."""
    importlib.import_module("referrals.migrations.0002_seed_ai_platforms").seed(apps, None)


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


@pytest.fixture
def collections():
    """The collections started while the test runs, with a threshold any push exceeds."""
    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    threshold = gc.get_threshold()
    gc.set_threshold(10)
    gc.callbacks.append(count)
    yield started
    gc.callbacks.remove(count)
    gc.set_threshold(*threshold)
