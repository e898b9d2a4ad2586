"""Content-Security-Policy on every page, with the other security headers Django sets."""

import re

import pytest
from django.contrib.auth import get_user_model

from tests.factories import seed_example

pytestmark = pytest.mark.django_db

# A <script> element the browser would run: inline (no src) and not a JSON data block.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")


def policy(response) -> dict[str, set[str]]:
    """The Content-Security-Policy header as {directive: {sources}}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


@pytest.fixture
def staff_client(client, organization, connection):
    user = get_user_model().objects.create_superuser("root", password="pw")
    organization.members.add(user)
    seed_example(connection)  # the dashboard then draws its chart
    client.force_login(user)
    return client


DASHBOARD = "/dashboard/?start_date=2026-05-01&end_date=2026-05-28"
PAGES = [
    "/accounts/login/",
    "/admin/login/",
    "/admin/",
    "/admin/referrals/connection/",
    "/admin/referrals/connection/add/",
    DASHBOARD,
    "/v1/docs",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_policy_that_runs_no_inline_script(staff_client, path):
    if path.endswith("/login/"):
        staff_client.logout()
    response = staff_client.get(path)
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == {"'self'"}
    assert directives["script-src"] == {"'self'"}
    assert directives["object-src"] == {"'none'"}
    assert directives["base-uri"] == {"'none'"}
    assert directives["frame-ancestors"] == {"'none'"}
    assert directives["form-action"] == {"'self'"}
    assert not INLINE_SCRIPT.search(response.content.decode())


@pytest.mark.parametrize("path", PAGES)
def test_the_other_security_headers_stay(staff_client, path):
    response = staff_client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_dashboard_passes_its_chart_data_as_json_not_script(staff_client):
    html = staff_client.get(DASHBOARD).content.decode()
    assert '<script id="chart-data" type="application/json">' in html
    assert not INLINE_SCRIPT.search(html)


def test_the_docs_page_loads_its_start_script_from_the_server(client):
    html = client.get("/v1/docs").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert any(src.startswith("/v1/docs?") for src in sources)
    script = client.get(next(src for src in sources if src.startswith("/v1/docs?")))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
