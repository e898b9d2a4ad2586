"""Schemathesis against our own OpenAPI schema: no 5xx, no undocumented status, no schema drift.

Every operation gets FUZZ_EXAMPLES generated cases (50 in the suite; the documented run in
docs/reliability.md uses 200), valid and invalid, with
path parameters pinned to seeded objects so the cases reach the code behind the 404s.
"""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from project.wsgi import application
from referrals.models import Connection, SitemapPage, page_key
from referrals.tenancy.services import api_key_create

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))


@schemathesis.serializer("application/x-ndjson")
def ndjson_serializer(ctx, value):
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item) for item in items).encode()


schema = schemathesis.openapi.from_wsgi("/v1/schema", application)
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES)

# Invalid data is generated too (negative mode), but negative_data_rejection is not run: the
# pinned path parameters and token turn some "invalid" cases valid, and unknown query
# parameters are ignored on purpose, as most HTTP APIs do.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NO_LIMITS = {"api_key": "1000000/min", "push": "1000000/min"}


@pytest.fixture
def keep_test_connection():
    """Schemathesis calls the WSGI app directly; like Django's test client, keep the request
    signals from closing the test's database connection in the middle of its transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(organization, brand, keep_test_connection):
    token = api_key_create(organization=organization, name="fuzz", scopes=["configure", "query"])
    connection = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    page = SitemapPage.objects.create(
        brand=brand,
        website="example.com",
        raw_page_value="/blog",
        page_key=page_key("/blog"),
        url="https://example.com/blog",
        path="/blog",
        depth=1,
    )
    return {"token": token.token, "brand": brand, "connection": connection, "page": page}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, seeded, settings):
    params = case.path_parameters or {}
    if "brand_id" in params:
        params["brand_id"] = seeded["brand"].pk
    if "connection_id" in params:
        connection = seeded["connection"]
        if case.method == "DELETE":  # keep the shared connection active for the pushes
            connection = Connection.objects.create(
                brand=seeded["brand"],
                website=f"d{Connection.objects.count()}.example",
                provider="adobe_analytics",
            )
        params["connection_id"] = connection.pk
    if "page_id" in params:
        params["page_id"] = seeded["page"].pk
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": NO_LIMITS}
    with override_settings(REST_FRAMEWORK=rest):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS
        )
