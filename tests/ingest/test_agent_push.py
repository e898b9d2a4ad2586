"""Agent-traffic connections and their push: the referral push's guarantees, for agent rows."""

import gzip
import json

import pytest

from referrals.connections.services import ACTIVE_CONNECTION_EXISTS
from referrals.ingest import compression
from referrals.ingest.kinds import NOT_AN_AI_AGENT
from referrals.models import (
    AgentTrafficRow,
    AIAgent,
    Connection,
    DroppedUserAgent,
    GoogleAnalyticsIntegration,
    PushLog,
    SitemapPage,
)
from tests.factories import (
    CHROME_UA,
    agent_connection_make,
    agent_event,
    agent_push,
    agent_url,
    ai_platform_ensure,
    event,
    push,
)

pytestmark = pytest.mark.django_db

CONNECTIONS = "/v1/{brand}/agent-traffic/connections"


@pytest.fixture
def agent_connection(brand):
    return agent_connection_make(brand)


# --- connections ---------------------------------------------------------------------------


def test_register_list_read_and_disable(api_client, brand):
    url = CONNECTIONS.format(brand=brand.pk)
    created = api_client.post(
        url, {"website": "https://www.Example.com/", "provider": "nginx"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
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
    assert (body["website"], body["provider"], body["status"]) == ("example.com", "nginx", "active")
    assert Connection.objects.get(pk=body["id"]).kind == "agent"

    listed = api_client.get(url, {"provider": "nginx"}).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert api_client.get(f"{url}/{body['id']}").json() == body
    disabled = api_client.delete(f"{url}/{body['id']}")
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert api_client.delete(f"{url}/{body['id']}").status_code == 200  # idempotent


@pytest.mark.parametrize(
    "provider",
    ["cloudflare", "fastly", "akamai", "vercel", "cloudfront", "nginx", "apache", "other"],
)
def test_every_agent_provider_registers(api_client, brand, provider):
    url = CONNECTIONS.format(brand=brand.pk)
    body = {"website": f"{provider}.example", "provider": provider}
    response = api_client.post(url, body, format="json")
    assert response.status_code == 201


def test_providers_are_checked_per_kind(api_client, brand):
    agents = api_client.post(
        CONNECTIONS.format(brand=brand.pk),
        {"website": "a.example", "provider": "adobe_analytics"},
        format="json",
    )
    assert agents.status_code == 400 and "cloudflare" in agents.json()["detail"]
    referrals = api_client.post(
        f"/v1/{brand.pk}/ai-referrals/connections",
        {"website": "a.example", "provider": "nginx"},
        format="json",
    )
    assert referrals.status_code == 400
    # An unknown provider filter is a parameter error: 422 naming it (as for referrals).
    listed = api_client.get(CONNECTIONS.format(brand=brand.pk), {"provider": "adobe_analytics"})
    assert listed.status_code == 422
    assert listed.json()["detail"][0]["loc"] == ["query", "provider"]


def test_one_active_agent_connection_per_website_beside_the_referral_one(
    api_client, brand, connection
):
    url = CONNECTIONS.format(brand=brand.pk)
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="example.com")
    first = api_client.post(
        url, {"website": "example.com", "provider": "cloudflare"}, format="json"
    )
    assert first.status_code == 201  # beside the referral connection; GA blocks referrals only
    second = api_client.post(url, {"website": "example.com", "provider": "fastly"}, format="json")
    assert second.status_code == 409
    assert second.json()["detail"] == ACTIVE_CONNECTION_EXISTS.format(
        website="example.com", id=first.json()["id"]
    )


def test_the_kinds_do_not_mix(api_client, brand, connection, agent_connection):
    agents = api_client.get(CONNECTIONS.format(brand=brand.pk)).json()["items"]
    referrals = api_client.get(f"/v1/{brand.pk}/ai-referrals/connections").json()["items"]
    assert [c["id"] for c in agents] == [agent_connection.pk]
    assert [c["id"] for c in referrals] == [connection.pk]
    assert api_client.get(f"/v1/{brand.pk}/ai-referrals/connections/{agent_connection.pk}")
    assert (
        api_client.get(f"/v1/{brand.pk}/ai-referrals/connections/{agent_connection.pk}").status_code
        == 404
    )
    assert push(api_client, agent_connection, [event()]).status_code == 404
    assert agent_push(api_client, connection, [agent_event()]).status_code == 404
    assert (
        api_client.post(agent_url(connection), "[]", content_type="application/json").status_code
        == 404
    )


def test_other_organizations_brand_is_404(api_client, other_brand):
    other = agent_connection_make(other_brand)
    assert api_client.get(CONNECTIONS.format(brand=other_brand.pk)).status_code == 404
    assert agent_push(api_client, other, [agent_event()]).status_code == 404


def test_scopes(client_with_scopes, brand, agent_connection):
    query_only = client_with_scopes("query")
    assert agent_push(query_only, agent_connection, [agent_event()]).status_code == 403
    url = CONNECTIONS.format(brand=brand.pk)
    assert (
        query_only.post(
            url, {"website": "b.example", "provider": "other"}, format="json"
        ).status_code
        == 403
    )
    assert client_with_scopes("configure").get(url).status_code == 403


# --- the push ------------------------------------------------------------------------------


def test_push_accepts_agents_and_rejects_the_rest(api_client, agent_connection):
    events = [
        agent_event(),
        agent_event(raw_user_agent=CHROME_UA, hits=40),
        agent_event(raw_user_agent="NotGPTBot/1.0", hits=2),
        agent_event(raw_user_agent="ClaudeBot/1.0", raw_page_value="/pricing", verified=None),
    ]
    response = agent_push(api_client, agent_connection, events)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "accepted": 2,
        "rejected": 2,
        "errors": [
            NOT_AN_AI_AGENT.format(index=1, value=CHROME_UA),
            NOT_AN_AI_AGENT.format(index=2, value="NotGPTBot/1.0"),
        ],
        "warnings": [],
    }
    stored = {
        (r.raw_page_value, r.agent.name, r.hits, r.verified)
        for r in AgentTrafficRow.objects.select_related("agent")
    }
    assert stored == {
        ("/blog/launch-notes", "GPTBot", 12, True),
        ("/pricing", "ClaudeBot", 12, None),
    }
    assert all(r.brand_id == agent_connection.brand_id for r in AgentTrafficRow.objects.all())
    pages = set(SitemapPage.objects.values_list("website", "raw_page_value"))
    assert pages == {("example.com", "/blog/launch-notes"), ("example.com", "/pricing")}
    dropped = dict(DroppedUserAgent.objects.values_list("raw_user_agent", "count"))
    assert dropped == {CHROME_UA: 1, "NotGPTBot/1.0": 1}
    log = PushLog.objects.get()
    assert (log.status_code, log.received, log.accepted, log.rejected) == (200, 4, 2, 2)
    agent_connection.refresh_from_db()
    assert agent_connection.last_pushed_at is not None and agent_connection.last_push_error is None


def test_agent_pages_join_the_pushed_site_map(api_client, brand, connection, agent_connection):
    assert push(api_client, connection, [event(raw_page_value="/a")]).status_code == 200
    assert (
        agent_push(api_client, agent_connection, [agent_event(raw_page_value="/a")]).json()[
            "accepted"
        ]
        == 1
    )
    assert (
        agent_push(api_client, agent_connection, [agent_event(raw_page_value="/b")]).json()[
            "accepted"
        ]
        == 1
    )
    assert sorted(SitemapPage.objects.values_list("raw_page_value", flat=True)) == ["/a", "/b"]


def test_repush_replaces_and_is_idempotent(api_client, agent_connection):
    assert agent_push(api_client, agent_connection, [agent_event(hits=5)]).status_code == 200
    again = agent_push(api_client, agent_connection, [agent_event(hits=7, verified=None)])
    assert again.json()["accepted"] == 1
    row = AgentTrafficRow.objects.get()
    assert (row.hits, row.verified) == (7, None)
    # NDJSON, the same key: still one row
    assert (
        agent_push(api_client, agent_connection, [agent_event(hits=7)], fmt="ndjson").status_code
        == 200
    )
    assert AgentTrafficRow.objects.count() == 1


def test_a_repeated_key_keeps_the_last_occurrence_with_a_warning(api_client, agent_connection):
    response = agent_push(
        api_client,
        agent_connection,
        [agent_event(hits=1), agent_event(hits=2), agent_event(hits=3)],
    )
    body = response.json()
    assert body["accepted"] == 3 and len(body["warnings"]) == 1
    assert "(date, raw_user_agent, raw_page_value)" in body["warnings"][0]
    assert AgentTrafficRow.objects.get().hits == 3


def test_user_agents_differing_only_in_case_are_different_keys(api_client, agent_connection):
    events = [agent_event(raw_user_agent="GPTBot/1.2"), agent_event(raw_user_agent="gptbot/1.2")]
    assert agent_push(api_client, agent_connection, events).json()["accepted"] == 2
    assert AgentTrafficRow.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field", "type_"),
    [
        ({"hits": ...}, "hits", "missing"),
        ({"hits": None}, "hits", "int_type"),
        ({"hits": -1}, "hits", "greater_than_equal"),
        ({"hits": True}, "hits", "int_type"),
        ({"hits": 1.5}, "hits", "int_from_float"),
        ({"hits": 2**63}, "hits", "less_than_equal"),
        ({"verified": "yes"}, "verified", "bool_type"),
        ({"verified": 1}, "verified", "bool_type"),
        ({"raw_user_agent": ...}, "raw_user_agent", "missing"),
        ({"raw_user_agent": ""}, "raw_user_agent", "string_too_short"),
        ({"raw_user_agent": "a" * 1025}, "raw_user_agent", "string_too_long"),
        ({"raw_user_agent": "GPTBot\x00"}, "raw_user_agent", "string_nul"),
        ({"raw_page_value": ...}, "raw_page_value", "missing"),
        ({"date": "2026-02-30"}, "date", "date_parsing"),
        ({"batch_id": 5}, "batch_id", "string_type"),
    ],
)
def test_invalid_events_are_422_and_nothing_is_stored(
    api_client, agent_connection, change, field, type_
):
    response = agent_push(api_client, agent_connection, [agent_event(), agent_event(**change)])
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == 1
    assert body["detail"][0]["loc"] == ["body", 1, field]
    assert body["detail"][0]["type"] == type_
    assert not AgentTrafficRow.objects.exists() and not SitemapPage.objects.exists()
    agent_connection.refresh_from_db()
    assert agent_connection.last_push_error
    assert PushLog.objects.get().status_code == 422


def test_integral_float_hits_and_unknown_fields(api_client, agent_connection):
    response = agent_push(api_client, agent_connection, [agent_event(hits=4.0, ip="1.2.3.4")])
    assert response.json()["accepted"] == 1
    assert response.json()["warnings"] == ["unknown field 'ip' ignored (first seen in event 0)"]
    assert AgentTrafficRow.objects.get().hits == 4


def test_dry_run_stores_nothing(api_client, agent_connection):
    events = [agent_event(), agent_event(raw_user_agent=CHROME_UA)]
    response = agent_push(api_client, agent_connection, events, query="?dry_run=true")
    assert response.json()["accepted"] == 1 and response.json()["rejected"] == 1
    assert not AgentTrafficRow.objects.exists() and not DroppedUserAgent.objects.exists()
    assert not SitemapPage.objects.exists()


def test_status_codes(api_client, agent_connection, settings):
    url = agent_url(agent_connection)
    assert api_client.post(url, "", content_type="application/json").status_code == 400
    assert api_client.post(url, "[]", content_type="application/json").status_code == 400
    assert api_client.post(url, "{", content_type="application/json").status_code == 400
    assert api_client.post(url, "x", content_type="text/csv").status_code == 415
    settings.PUSH_MAX_EVENTS = 2
    assert agent_push(api_client, agent_connection, [agent_event()] * 3).status_code == 413
    agent_connection.status = Connection.STATUS_DISABLED
    agent_connection.save()
    assert agent_push(api_client, agent_connection, [agent_event()]).status_code == 410


def test_a_deactivated_agent_is_rejected_and_an_added_one_accepted(api_client, agent_connection):
    AIAgent.objects.filter(token="GPTBot").update(active=False)
    first = agent_push(api_client, agent_connection, [agent_event()])
    assert first.json()["rejected"] == 1
    AIAgent.objects.filter(token="GPTBot").update(active=True)
    assert agent_push(api_client, agent_connection, [agent_event()]).json()["accepted"] == 1


def test_the_agent_push_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/v1/schema", {"format": "json"}).json()
    paths = schema["paths"]
    assert "/v1/{brand_id}/agent-traffic/connections" in paths
    events = paths["/v1/{brand_id}/agent-traffic/connections/{connection_id}/events"]["post"]
    assert events["operationId"] == "push_agent_events"
    content = events["requestBody"]["content"]["application/json"]["schema"]
    ref = content["items"]["$ref"].rsplit("/", 1)[1]
    agent = schema["components"]["schemas"][ref]
    assert agent["required"] == ["date", "hits", "raw_page_value", "raw_user_agent"]
    assert agent["properties"]["verified"]["type"] == "boolean"


def test_renormalize_agents_follows_the_list(api_client, agent_connection):
    from io import StringIO

    from django.core.management import call_command

    events = [agent_event(), agent_event(raw_user_agent="ExampleBot/2.0")]
    assert agent_push(api_client, agent_connection, events).json()["accepted"] == 1
    gptbot = AIAgent.objects.get(token="GPTBot")
    gptbot.active = False
    gptbot.save()
    AIAgent.objects.create(
        name="ExampleBot",
        token="ExampleBot",
        operator="Ex",
        purpose="search",
        platform=gptbot.platform,
    )
    out = StringIO()
    call_command("renormalize_agents", "--dry-run", stdout=out)
    assert "would change 1 rows across 1 user agents" in out.getvalue()
    assert AgentTrafficRow.objects.get().agent_id == gptbot.pk
    call_command("renormalize_agents", stdout=StringIO())
    # the stored GPTBot row loses its agent; ExampleBot was never stored (rejected at push)
    assert AgentTrafficRow.objects.get().agent_id is None
    gptbot.active = True
    gptbot.save()
    call_command("renormalize_agents", stdout=StringIO())
    assert AgentTrafficRow.objects.get().agent_id == gptbot.pk


def rollup_stored(connection) -> dict:
    from referrals.models import DailyAgentTotal

    return {
        (t.date.isoformat(), t.agent_id): (t.row_count, t.hits, t.verified_hits)
        for t in DailyAgentTotal.objects.filter(connection=connection)
    }


def rollup_from_rows(connection) -> dict:
    totals: dict = {}
    for r in AgentTrafficRow.objects.filter(connection=connection, agent__isnull=False):
        count, hits, verified = totals.get((r.date.isoformat(), r.agent_id), (0, 0, 0))
        totals[(r.date.isoformat(), r.agent_id)] = (
            count + 1,
            hits + r.hits,
            verified + (r.hits if r.verified else 0),
        )
    return totals


def test_the_daily_rollup_follows_pushes_and_renormalize(api_client, agent_connection):
    from django.core.management import call_command

    events = [
        agent_event(date="2026-05-20", hits=3, verified=True),
        agent_event(date="2026-05-20", raw_page_value="/b", hits=4, verified=False),
        agent_event(date="2026-05-21", raw_user_agent="ClaudeBot/1.0", hits=5, verified=None),
        agent_event(date="2026-05-21", raw_user_agent=CHROME_UA, hits=50),
    ]
    agent_push(api_client, agent_connection, events)
    assert rollup_stored(agent_connection) == rollup_from_rows(agent_connection)
    gptbot = AIAgent.objects.get(token="GPTBot").pk
    assert rollup_stored(agent_connection)[("2026-05-20", gptbot)] == (2, 7, 3)
    # a re-push replaces: the rollup follows
    agent_push(api_client, agent_connection, [agent_event(date="2026-05-20", hits=10)])
    assert rollup_stored(agent_connection)[("2026-05-20", gptbot)] == (2, 14, 10)
    assert rollup_stored(agent_connection) == rollup_from_rows(agent_connection)
    AIAgent.objects.filter(pk=gptbot).update(active=False)
    call_command("renormalize_agents", stdout=__import__("io").StringIO())
    assert rollup_stored(agent_connection) == rollup_from_rows(agent_connection)
    assert all(agent != gptbot for _, agent in rollup_stored(agent_connection))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_renormalize_agents_waits_for_a_push_in_flight(api_client, agent_connection):
    """renormalize_agents recomputes every agent connection's rollup; it did so without the
    lock a push holds (the connection row), so a push committing in between left it a rollup
    row its DELETE had not seen, and its INSERT failed on the primary key (IntegrityError: the
    command, run while the nightly pushes arrive, died and changed nothing)."""
    import threading
    from io import StringIO

    from django.core.management import call_command
    from django.db import connections as db_connections
    from django.db import transaction
    from django.db.models import F

    from referrals.reporting.agents import agent_rollup_refresh

    # An earlier transactional test's flush may have emptied the seeded agents.
    for token, (slug, name, host) in {
        "GPTBot": ("chatgpt", "ChatGPT", "chatgpt.com"),
        "ClaudeBot": ("claude", "Claude", "claude.ai"),
    }.items():
        AIAgent.objects.update_or_create(
            token=token,
            defaults={
                "name": token,
                "operator": name,
                "purpose": "training",
                "platform": ai_platform_ensure(slug, name, host),
                "active": True,
            },
        )
    claude = agent_event(date="2026-05-21", raw_user_agent="ClaudeBot/1.0", hits=5)
    pushed = agent_push(api_client, agent_connection, [agent_event(), claude]).json()
    assert pushed["accepted"] == 2
    AIAgent.objects.filter(token="GPTBot").update(active=False)  # something to renormalize
    pushing, release, failures = threading.Event(), threading.Event(), []

    def push() -> None:  # what a push does: lock the connection's row, write, refresh its days
        try:
            with transaction.atomic():
                Connection.objects.select_for_update().get(pk=agent_connection.pk)
                day = AgentTrafficRow.objects.filter(date="2026-05-21")
                day.update(hits=F("hits") + 1)
                agent_rollup_refresh(connection=agent_connection, days=[day.first().date])
                pushing.set()
                release.wait(10)
        finally:
            db_connections.close_all()

    def renormalize() -> None:
        try:
            call_command("renormalize_agents", stdout=StringIO())
        except Exception as exc:  # noqa: BLE001 - the failure is what the test reports
            failures.append(exc)
        finally:
            db_connections.close_all()

    pusher = threading.Thread(target=push)
    pusher.start()
    assert pushing.wait(10)
    command = threading.Thread(target=renormalize)
    command.start()
    command.join(0.5)  # it waits for the push
    release.set()
    pusher.join(10)
    command.join(10)
    assert failures == []
    assert rollup_stored(agent_connection) == rollup_from_rows(agent_connection)
    assert AgentTrafficRow.objects.get(raw_user_agent=claude["raw_user_agent"]).hits == 6
    assert AgentTrafficRow.objects.get(date="2026-05-20").agent_id is None


# --- gzip bodies (as the referral push: referrals.ingest.api.read_body) --------------------


def agent_gzip_post(client, connection, body: bytes, encoding="gzip", **extra):
    return client.generic(
        "POST",
        agent_url(connection),
        body,
        content_type=extra.pop("content_type", "application/json"),
        HTTP_CONTENT_ENCODING=encoding,
        **extra,
    )


def agent_rows(connection) -> list[tuple]:
    fields = ("date", "raw_user_agent", "raw_page_value", "hits", "verified", "agent_id")
    return sorted(AgentTrafficRow.objects.filter(connection=connection).values_list(*fields))


def test_a_gzip_agent_push_is_stored_exactly_like_the_plain_one(api_client, agent_connection):
    events = [
        agent_event(raw_page_value=f"/p/{i}", hits=i, verified=[True, False, None][i % 3])
        for i in range(6)
    ]
    events.append(agent_event(raw_user_agent=CHROME_UA, hits=40))  # not an agent: rejected
    body = json.dumps(events).encode()
    plain = agent_push(api_client, agent_connection, events)
    assert plain.status_code == 200, plain.json()
    plain_rows = agent_rows(agent_connection)
    AgentTrafficRow.objects.all().delete()

    compressed = agent_gzip_post(api_client, agent_connection, gzip.compress(body))
    assert compressed.status_code == 200, compressed.json()
    assert compressed.json() == plain.json()
    assert compressed.json()["accepted"] == 6 and compressed.json()["rejected"] == 1
    assert agent_rows(agent_connection) == plain_rows and len(plain_rows) == 6
    assert DroppedUserAgent.objects.get().count == 2  # once per push


def test_a_gzip_agent_push_in_ndjson(api_client, agent_connection):
    lines = b"".join(
        json.dumps(agent_event(raw_page_value=f"/n/{i}")).encode() + b"\n" for i in range(3)
    )
    response = agent_gzip_post(
        api_client, agent_connection, gzip.compress(lines), content_type="application/x-ndjson"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["accepted"] == 3


def test_agent_push_other_encoding_is_415_and_corrupt_gzip_400(api_client, agent_connection):
    body = json.dumps([agent_event()]).encode()
    response = agent_gzip_post(api_client, agent_connection, gzip.compress(body), "br")
    assert response.status_code == 415
    assert response.json() == {"detail": compression.UNSUPPORTED_ENCODING.format(given="br")}
    response = agent_gzip_post(api_client, agent_connection, b"not gzip at all")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Content-Encoding is gzip, but the body is not")
    assert not AgentTrafficRow.objects.exists()


def test_agent_push_too_large_decompressed_is_413(api_client, agent_connection):
    limit = 5 * 1024 * 1024
    line = json.dumps(agent_event(raw_page_value="/x" * 500)).encode() + b"\n"
    body = line * (limit // len(line) + 1)  # valid NDJSON just over 5 MiB, small gzipped
    response = agent_gzip_post(
        api_client, agent_connection, gzip.compress(body), content_type="application/x-ndjson"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": compression.DECOMPRESSED_TOO_LARGE.format(limit=limit)}
    assert not AgentTrafficRow.objects.exists()
    assert PushLog.objects.get(connection=agent_connection).status_code == 413


def test_the_agent_push_documents_content_encoding(api_client):
    schema = api_client.get("/v1/schema", {"format": "json"}).json()
    events = schema["paths"]["/v1/{brand_id}/agent-traffic/connections/{connection_id}/events"]
    names = {(p["in"], p["name"]) for p in events["post"]["parameters"]}
    assert ("header", "Content-Encoding") in names
