"""The published descriptions (tests/api/published) of the Sitemap API and of the connections
as a test oracle: a client written against them gets what they declare (the push has its
own tests). Deliberate differences: a window the service
refuses (over 366 days, reversed) is a 400 on the list and the page detail too, where the
description declares none (SPEC, "Parameter errors on the read API"), and a request without
a valid token is the 401 (403 without the scope) of SPEC's "Authentication and scopes",
which the description leaves out. Negative cases that change the method or the content type
get the 405 and 415 any HTTP client expects."""

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from project.wsgi import application
from tests.api.test_schema_fuzz import (  # noqa: F401 (fixtures)
    EXAMPLES,
    NO_LIMITS,
    keep_test_connection,
    seeded,
)

# PUBLISHED_CONTRACT_DIR: another copy of the files to check against (newer ones, say).
PUBLISHED = Path(os.environ.get("PUBLISHED_CONTRACT_DIR", Path(__file__).parent / "published"))
SITEMAP = PUBLISHED / "scrunch-ai-sitemap-api-openapi.yml"
REFERRALS = PUBLISHED / "scrunch-ai-ai-referrals-api-openapi.yml"


def published(path: Path):
    loaded = schemathesis.openapi.from_path(str(path))
    loaded.app = application
    loaded.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES)
    return loaded


sitemap_schema = published(SITEMAP)
connections_schema = published(REFERRALS).include(path_regex=r"connections(/\{connection_id\})?$")


def declared_status_or_refused_window(ctx, response, case):
    """status_code_conformance, plus the 400 the spec keeps for a refused window."""
    declared = set(case.operation.definition.raw.get("responses", {}))
    status = str(response.status_code)
    if status in declared or status in ("401", "403"):
        return None
    if status == "405" and case.method.upper() != case.operation.method.upper():
        return None  # negative cases try other methods
    sent_type = response.request.headers.get("Content-Type", "application/json")
    if status == "415" and not sent_type.startswith("application/json"):
        return None  # ... and other content types
    body = (
        response.json()
        if response.headers.get("content-type", [""])[0].startswith("application/json")
        else {}
    )
    refused_window = status == "400" and isinstance(body.get("detail"), str)
    assert refused_window, f"undeclared status {status}: {response.text[:300]}"
    return None


def schema_valid_request_accepted(ctx, response, case):
    """A request the published description allows is not a 422 (a wrong type or a bound it
    declares): SPEC keeps 422 for those. The 400 of a refused window stays (see above)."""
    if case.meta is not None and case.meta.generation.mode != GenerationMode.POSITIVE:
        return None
    assert response.status_code != 422, f"schema-valid request refused: {response.text[:300]}"
    return None


CHECKS = [
    not_a_server_error,
    schema_valid_request_accepted,
    declared_status_or_refused_window,
    content_type_conformance,
    response_schema_conformance,
]


def call(case, seeded: dict, settings) -> None:  # noqa: F811 (the fixture's value)
    from django.test import override_settings

    from referrals.models import Connection

    params = case.path_parameters or {}
    if "brand_id" in params:
        params["brand_id"] = seeded["brand"].pk
    if "page_id" in params:
        params["page_id"] = seeded["page"].pk
    if "connection_id" in params:
        params["connection_id"] = Connection.objects.create(
            brand=seeded["brand"],
            website=f"d{Connection.objects.count()}.example",
            provider="adobe_analytics",
        ).pk
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": NO_LIMITS}
    with override_settings(REST_FRAMEWORK=rest):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS
        )


HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.django_db
@sitemap_schema.parametrize()
@HYPOTHESIS
def test_the_service_answers_as_the_published_sitemap_api(case, seeded, settings):  # noqa: F811
    call(case, seeded, settings)


@pytest.mark.django_db
@connections_schema.parametrize()
@HYPOTHESIS
def test_the_service_answers_as_the_published_connections_api(case, seeded, settings):  # noqa: F811
    call(case, seeded, settings)
