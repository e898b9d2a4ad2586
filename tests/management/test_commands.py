"""Management commands: create_brand, create_api_key, seed_demo."""

import hashlib
import re
import shlex
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum
from rest_framework.test import APIClient

from referrals.management.commands import seed_demo
from referrals.models import (
    AgentTrafficRow,
    ApiKey,
    Brand,
    Connection,
    DailyAgentTotal,
    DailyPlatformTotal,
    DroppedReferrer,
    DroppedUserAgent,
    Organization,
    PushLog,
    ReferralRow,
)

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"air_[A-Za-z0-9_\-]{43}")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- create_brand ----------------------------------------------------------------------------


def test_create_brand_creates_the_organization_and_prints_the_id_alone():
    out = run("create_brand", "--org", "Initech", "--name", "Initech Printers")
    brand = Brand.objects.get(name="Initech Printers")
    assert out == f"{brand.pk}\n"
    assert brand.organization.name == "Initech"


def test_create_brand_reuses_an_existing_organization(organization):
    out = run("create_brand", "--org", "Acme", "--name", "Acme Boots")
    assert Organization.objects.count() == 1
    assert Brand.objects.get(pk=int(out)).organization == organization


def test_create_brand_with_an_explicit_id():
    assert run("create_brand", "--org", "Acme", "--name", "Acme Shoes", "--id", "1234") == "1234\n"
    assert Brand.objects.get(pk=1234).name == "Acme Shoes"


def test_brands_created_after_an_explicit_id_get_fresh_ids(organization):
    # The id the sequence hands out next, taken explicitly: the next automatic id must not
    # collide with it (PostgreSQL's sequence does not advance by itself).
    last = Brand.objects.create(organization=organization, name="first").pk
    run("create_brand", "--org", "Acme", "--name", "explicit", "--id", str(last + 1))
    after = int(run("create_brand", "--org", "Acme", "--name", "automatic"))
    assert after > last + 1
    assert Brand.objects.get(pk=after).name == "automatic"


def test_create_brand_with_an_existing_id_is_an_error(brand):
    with pytest.raises(CommandError, match=f"Brand {brand.pk} already exists"):
        run("create_brand", "--org", "Other", "--name", "Other", "--id", str(brand.pk))
    assert not Organization.objects.filter(name="Other").exists()


@pytest.mark.parametrize("bad_id", ["0", "-5", str(2**63), "abc"])
def test_create_brand_rejects_ids_out_of_range(bad_id):
    with pytest.raises(CommandError):
        run("create_brand", "--org", "Acme", "--name", "Acme Shoes", "--id", bad_id)
    assert not Brand.objects.exists()


def test_create_brand_with_a_duplicate_name_is_an_error(brand):
    with pytest.raises(CommandError, match="Could not create the brand"):
        run("create_brand", "--org", "Acme", "--name", "Acme Shoes")
    assert Brand.objects.count() == 1


@pytest.mark.parametrize(
    ("org", "name", "message"),
    [
        ("", "Acme Shoes", "--org must not be empty"),
        ("   ", "Acme Shoes", "--org must not be empty"),
        ("Acme", "", "--name must not be empty"),
        ("Acme", "x" * 201, "--name must be at most 200 characters"),
        ("x" * 201, "Acme Shoes", "--org must be at most 200 characters"),
        ("Ac\x00me", "Acme Shoes", "--org must not contain NUL"),
    ],
)
def test_create_brand_rejects_blank_overlong_or_nul_names(org, name, message):
    # On PostgreSQL an overlong or NUL name was an uncaught DataError/ValueError (a traceback);
    # a blank one created an organization or brand without a name.
    with pytest.raises(CommandError, match=message):
        run("create_brand", "--org", org, "--name", name)
    assert not Organization.objects.exists()
    assert not Brand.objects.exists()


def test_create_brand_strips_the_names(organization):
    brand_id = int(run("create_brand", "--org", " Acme ", "--name", " Acme Shoes "))
    brand = Brand.objects.get(pk=brand_id)
    assert (brand.organization, brand.name) == (organization, "Acme Shoes")


# --- create_api_key --------------------------------------------------------------------------


def test_create_api_key_prints_the_token_alone(organization):
    out = run("create_api_key", "--org", "Acme", "--scopes", "configure,query", "--name", "etl")
    token = out.removesuffix("\n")
    assert out.endswith("\n") and "\n" not in token
    assert TOKEN_RE.fullmatch(token)
    api_key = ApiKey.objects.get()
    assert api_key.name == "etl"
    assert api_key.organization == organization
    assert api_key.token_hash == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize(
    ("scopes", "stored"),
    [
        ("configure,query", ["configure", "query"]),
        (" query , configure ", ["configure", "query"]),
        ("query,,query,", ["query"]),
        ("configure", ["configure"]),
    ],
)
def test_create_api_key_parses_scopes(organization, scopes, stored):
    run("create_api_key", "--org", "Acme", "--scopes", scopes)
    api_key = ApiKey.objects.get()
    assert api_key.scopes == stored
    assert api_key.name == "cli"


@pytest.mark.parametrize("scopes", ["admin", "query,write", "", ",", "Query"])
def test_create_api_key_rejects_unknown_or_missing_scopes(organization, scopes):
    with pytest.raises(CommandError, match="scope"):
        run("create_api_key", "--org", "Acme", "--scopes", scopes)
    assert not ApiKey.objects.exists()


def test_create_api_key_for_an_unknown_organization_is_an_error(organization):
    with pytest.raises(CommandError, match="does not exist"):
        run("create_api_key", "--org", "Nope", "--scopes", "query")
    assert not ApiKey.objects.exists()
    assert not Organization.objects.filter(name="Nope").exists()


def test_the_printed_token_authenticates_with_its_scopes(brand):
    url = f"/v1/{brand.pk}/ai-referrals/connections"
    body = {"website": "example.com", "provider": "adobe_analytics"}
    query_only = bearer(run("create_api_key", "--org", "Acme", "--scopes", "query").strip())
    assert query_only.get(url).status_code == 200
    assert query_only.post(url, body, format="json").status_code == 403

    configure = bearer(run("create_api_key", "--org", "Acme", "--scopes", "configure").strip())
    assert configure.post(url, body, format="json").status_code == 201
    assert configure.get(url).status_code == 403


# --- seed_demo -------------------------------------------------------------------------------


def curl_commands(output: str) -> list[list[str]]:
    """The curl commands of the output, as argument lists (POSIX-quoted ones only)."""
    joined = output.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("curl ") and "$'" not in line:
            commands.append(shlex.split(line))
    return commands


def replay(args: list[str]):
    """Run a printed curl command against the test server with the test client."""
    method, headers, body, url = "GET", {}, None, None
    it = iter(args[1:])
    for arg in it:
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(": ")
            headers[name] = value
        elif arg in ("-d", "--data-binary"):
            body = next(it)
        elif not arg.startswith("-"):
            url = arg
    parts = urlsplit(url)
    client = APIClient()
    return client.generic(
        method,
        parts.path + (f"?{parts.query}" if parts.query else ""),
        body or "",
        content_type=headers.pop("Content-Type", "application/octet-stream"),
        headers=headers,
    )


def test_seed_demo_is_idempotent_and_prints_a_usable_token():
    first = run("seed_demo")
    second = run("seed_demo")
    assert Organization.objects.filter(name=seed_demo.DEMO_ORG).count() == 1
    assert Brand.objects.filter(name=seed_demo.DEMO_BRAND).count() == 1
    assert Connection.objects.filter(website=seed_demo.DEMO_WEBSITE, kind="referral").count() == 1
    assert Connection.objects.filter(website=seed_demo.DEMO_WEBSITE, kind="agent").count() == 1
    assert get_user_model().objects.filter(username="admin", is_superuser=True).count() == 1

    brand = Brand.objects.get(name=seed_demo.DEMO_BRAND)
    connection = Connection.objects.get(kind="referral")
    assert brand.organization.members.filter(username="admin").exists()
    for out in (first, second):
        (token,) = set(TOKEN_RE.findall(out))
        assert f"API key:       {token}" in out
        assert f"brand_id {brand.pk}" in out and connection.pk in out
        assert bearer(token).get(f"/v1/{brand.pk}/ai-referrals/connections").status_code == 200
    assert TOKEN_RE.findall(first)[0] != TOKEN_RE.findall(second)[0]


def test_seed_demo_prints_curl_examples_that_work():
    out = run("seed_demo", "--base-url", "http://127.0.0.1:8011/")
    brand = Brand.objects.get(name=seed_demo.DEMO_BRAND)
    connection = Connection.objects.get(kind="referral")
    assert (
        f"http://127.0.0.1:8011/v1/{brand.pk}/ai-referrals/connections/{connection.pk}/events"
        in (out)
    )
    assert "8000" not in out

    listing, register = curl_commands(out)
    assert listing[-1].startswith("Authorization: Bearer ")
    response = replay(listing)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [connection.pk]

    response = replay(register)
    assert response.status_code == 201
    assert response.json()["website"] == "shop.example.com"
    assert replay(register).status_code == 409  # the same website again


def test_seed_demo_registers_a_new_connection_when_the_demo_one_was_disabled():
    run("seed_demo")
    Connection.objects.update(status=Connection.STATUS_DISABLED)
    run("seed_demo")
    for kind in ("referral", "agent"):
        assert Connection.objects.filter(kind=kind, status=Connection.STATUS_ACTIVE).count() == 1
        assert Connection.objects.filter(kind=kind).count() == 2


def test_seed_demo_keeps_an_existing_admin_password(admin_user):
    run("seed_demo", "--password", "other")
    admin_user.refresh_from_db()
    assert admin_user.check_password("password")


def test_seed_demo_pushes_90_days_of_sample_traffic_once_through_the_client():
    out = run("seed_demo")
    connection = Connection.objects.get(kind="referral")
    rows = ReferralRow.objects.filter(connection=connection)
    assert rows.count() > 10_000
    assert f"Sample data:   {rows.count():,} rows of 90 days" in out
    days = DailyPlatformTotal.objects.filter(connection=connection).values("date").distinct()
    assert days.count() == 90
    shares = dict(
        DailyPlatformTotal.objects.filter(connection=connection)
        .values_list("platform__slug")
        .annotate(Sum("sessions"))
    )
    assert max(shares, key=shares.get) == "chatgpt"
    assert {"chatgpt", "perplexity", "gemini", "copilot", "claude"} <= set(shares)
    assert DroppedReferrer.objects.filter(connection=connection).exists()
    assert PushLog.objects.filter(connection=connection, status_code=200).count() >= 2
    # Agent traffic too, through the client's agent push, so the AI agents section is full.
    agents = Connection.objects.get(kind="agent")
    agent_rows = AgentTrafficRow.objects.filter(connection=agents)
    assert agent_rows.count() > 5_000
    assert f"Agent traffic: {agent_rows.count():,} rows of 90 days" in out
    assert agent_rows.values("date").distinct().count() == 90
    hits = dict(
        DailyAgentTotal.objects.filter(connection=agents)
        .values_list("agent__name")
        .annotate(Sum("hits"))
    )
    assert max(hits, key=hits.get) == "GPTBot"
    assert {"GPTBot", "ClaudeBot", "PerplexityBot", "CCBot", "Bytespider"} <= set(hits)
    assert sum(hits.values()) == agent_rows.aggregate(Sum("hits"))["hits__sum"]
    assert agent_rows.filter(verified=True).exists() and agent_rows.filter(verified=None).exists()
    assert DroppedUserAgent.objects.filter(connection=agents).count() == 3
    assert PushLog.objects.filter(connection=agents, status_code=200).exists()
    # Once: a second run pushes nothing more.
    again = run("seed_demo")
    assert "Sample data:" not in again and "rows of 90 days" not in again
    assert rows.count() == ReferralRow.objects.filter(connection=connection).count()
    assert agent_rows.count() == AgentTrafficRow.objects.filter(connection=agents).count()


def test_seed_demo_fills_the_dashboards_ai_agents_section(client):
    run("seed_demo", "--password", "demo-pw")
    assert client.login(username="admin", password="demo-pw")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["state"].website == seed_demo.DEMO_WEBSITE
    agents = response.context["agents"]
    assert agents["active"] is True
    html = response.content.decode()
    assert 'id="ai-agents"' in html and "GPTBot" in html


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (["--name", ""], "--name must not be empty"),
        (["--name", "k" * 101], "--name must be at most 100 characters"),
        (["--org", "Ac\x00me"], "--org must not contain NUL"),
    ],
)
def test_create_api_key_rejects_a_blank_overlong_or_nul_name(organization, name, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_key", "--org", "Acme", "--scopes", "query", *name)
    assert not ApiKey.objects.exists()
