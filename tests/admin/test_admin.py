"""Admin: smoke tests for every registered model, and the flows staff rely on."""

import hashlib
import re
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.db import connection as db_connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from referrals.admin.data import ReferralRowAdmin
from referrals.connections.services import ACTIVE_CONNECTION_EXISTS, GA_INTEGRATION_EXISTS
from referrals.models import (
    AgentTrafficRow,
    AIAgent,
    AIPlatform,
    AIPlatformEntry,
    ApiKey,
    Brand,
    Connection,
    DroppedReferrer,
    DroppedUserAgent,
    GoogleAnalyticsIntegration,
    Organization,
    PriorityPath,
    PushLog,
    ReferralRow,
    SitemapPage,
    WebsiteCrawl,
    page_key,
    text_key,
)
from referrals.tenancy.services import api_key_create
from tests.admin.builders import admin_url, management_data

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"air_[A-Za-z0-9_\-]{43}")


def make_page(brand, raw="/blog/launch-notes", website="example.com") -> SitemapPage:
    return SitemapPage.objects.create(
        brand=brand,
        website=website,
        raw_page_value=raw,
        page_key=page_key(raw),
        url=f"https://{website}{raw}",
        path=raw,
        depth=raw.strip("/").count("/") + 1,
    )


# One builder per registered model, with a search term that finds the object (or a function
# of the world giving one: big tables search within a connection or a website). A model
# registered without an entry here fails test_every_registered_model_has_a_smoke_test.
BUILDERS = {
    User: (lambda w: w["admin_user"], "admin"),
    Group: (lambda w: Group.objects.create(name="analysts"), "analysts"),
    Organization: (lambda w: w["organization"], "Acme"),
    Brand: (lambda w: w["brand"], "Acme Shoes"),
    ApiKey: (
        lambda w: (
            api_key_create(organization=w["organization"], name="etl", scopes=["query"]).api_key
        ),
        "etl",
    ),
    AIPlatform: (lambda w: AIPlatform.objects.get(slug="chatgpt"), "chatgpt.com"),
    AIPlatformEntry: (lambda w: AIPlatformEntry.objects.get(value="claude.ai"), "claude"),
    Connection: (lambda w: w["connection"], "example.com"),
    GoogleAnalyticsIntegration: (
        lambda w: GoogleAnalyticsIntegration.objects.create(brand=w["brand"], website="ga.example"),
        "ga.example",
    ),
    SitemapPage: (lambda w: w["page"], "example.com launch"),
    ReferralRow: (lambda w: w["row"], lambda w: f"{w['connection'].pk} chatgpt.com"),
    PushLog: (
        lambda w: PushLog.objects.create(
            connection=w["connection"],
            brand_id=w["connection"].brand_id,
            status_code=200,
            received=2,
            accepted=2,
            batch_id="b-1",
        ),
        "b-1",
    ),
    PriorityPath: (
        lambda w: PriorityPath.objects.create(brand=w["brand"], path="/pricing"),
        "/pricing",
    ),
    WebsiteCrawl: (
        lambda w: WebsiteCrawl.objects.create(brand=w["brand"], website="crawl.example"),
        "crawl.example",
    ),
    DroppedReferrer: (
        lambda w: DroppedReferrer.objects.create(
            connection=w["connection"],
            brand_id=w["connection"].brand_id,
            raw_referrer_value="google.com",
            count=3,
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        ),
        "google",
    ),
    AIAgent: (lambda w: AIAgent.objects.get(token="GPTBot"), "gptbot"),
    AgentTrafficRow: (
        lambda w: AgentTrafficRow.objects.create(
            connection=w["connection"],
            brand=w["brand"],
            date=date(2026, 5, 20),
            raw_user_agent="GPTBot/1.2",
            user_agent_key=text_key("GPTBot/1.2"),
            raw_page_value=w["page"].raw_page_value,
            page=w["page"],
            agent=AIAgent.objects.get(token="GPTBot"),
            hits=3,
            updated_at=timezone.now(),
        ),
        lambda w: w["connection"].pk,
    ),
    DroppedUserAgent: (
        lambda w: DroppedUserAgent.objects.create(
            connection=w["connection"],
            brand_id=w["connection"].brand_id,
            raw_user_agent="Mozilla/5.0 Chrome/120",
            user_agent_key=text_key("Mozilla/5.0 Chrome/120"),
            count=3,
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        ),
        lambda w: w["connection"].pk,
    ),
}


REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def world(admin_user, organization, brand, connection):
    page = make_page(brand)
    row = ReferralRow.objects.create(
        connection=connection,
        brand=brand,
        date=date(2026, 5, 20),
        raw_referrer_value="chatgpt.com",
        raw_page_value=page.raw_page_value,
        page=page,
        platform=AIPlatform.objects.get(slug="chatgpt"),
        sessions=12,
        pageviews=20,
        updated_at=timezone.now(),
    )
    return {
        "admin_user": admin_user,
        "organization": organization,
        "brand": brand,
        "connection": connection,
        "page": page,
        "row": row,
    }


def test_every_registered_model_has_a_smoke_test():
    assert set(REGISTERED) - set(BUILDERS) == set()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_changelist_search_add_and_change_pages(admin_client, world, model):
    build, term = BUILDERS[model]
    obj = build(world)
    term = term(world) if callable(term) else term

    changelist = admin_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200

    found = admin_client.get(admin_url(model, "changelist"), {"q": term})
    assert found.status_code == 200
    assert obj in found.context["cl"].result_list

    for odd in ("no such thing", "1234", '"quoted term"', "%_\\"):
        assert admin_client.get(admin_url(model, "changelist"), {"q": odd}).status_code == 200

    # Pages, rows, push logs and tallies are written by the pipeline only: viewable, not addable.
    read_only = model in {
        SitemapPage,
        ReferralRow,
        PushLog,
        DroppedReferrer,
        AgentTrafficRow,
        DroppedUserAgent,
        WebsiteCrawl,
    }
    assert admin_client.get(admin_url(model, "add")).status_code == (403 if read_only else 200)
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def form_data(response) -> dict:
    """Everything an admin change page would post back unchanged (simple widgets only)."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.extend(inline.formset.forms)
    data = management_data(response)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


# --- API keys -------------------------------------------------------------------------------


def post_api_key(admin_client, organization, name="nightly"):
    data = {"organization": organization.pk, "name": name, "scopes": ["query", "configure"]}
    return admin_client.post(admin_url(ApiKey, "add"), data)


def test_adding_an_api_key_shows_the_token_once_and_stores_only_its_hash(
    admin_client, organization, brand
):
    response = post_api_key(admin_client, organization)
    # Rendered on the add response itself, not carried to the next page by a message.
    assert response.status_code == 200
    content = response.content.decode()
    tokens = set(TOKEN_RE.findall(content))
    assert len(tokens) == 1
    token = tokens.pop()
    assert content.count(token) == 1

    api_key = ApiKey.objects.get(name="nightly")
    assert api_key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert api_key.scopes == ["configure", "query"]
    assert token.startswith(api_key.prefix)
    for column, value in ApiKey.objects.filter(pk=api_key.pk).values().get().items():
        assert token not in str(value), column
    assert f'href="{admin_url(ApiKey, "change", api_key.pk)}"' in content  # on to the key

    # Never shown again: not on the next pages, not on the key's own page.
    assert token not in admin_client.get(admin_url(ApiKey, "changelist")).content.decode()
    assert token not in admin_client.get(admin_url(ApiKey, "change", api_key.pk)).content.decode()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/v1/{brand.pk}/ai-referrals/connections").status_code == 200


def messages_in_cookies(client) -> list[str]:
    """The messages Django's cookie storage would show next (its cookie is signed and
    compressed, so a token in it is not visible in the raw Set-Cookie header)."""
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    return [str(message) for message in CookieStorage(request)]


def test_a_new_api_keys_token_stays_out_of_cookies_the_session_and_caches(
    admin_client, organization
):
    response = post_api_key(admin_client, organization)
    token = TOKEN_RE.search(response.content.decode())[0]
    for name, morsel in response.cookies.items():
        assert token not in morsel.OutputString(), name
    assert not any(token in message for message in messages_in_cookies(admin_client))
    # Sessions are rows of django_session: a token there would be stored in clear until read.
    for session in Session.objects.all():
        assert token not in str(session.get_decoded())
    assert "no-store" in response["Cache-Control"]
    for entry in LogEntry.objects.all():  # the admin's history of the addition
        assert token not in f"{entry.object_repr} {entry.change_message}"

    # The token is the key's: its hash is the stored one.
    api_key = ApiKey.objects.get(name="nightly")
    assert api_key.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_adding_an_api_key_needs_a_scope(admin_client, organization):
    response = admin_client.post(
        admin_url(ApiKey, "add"), {"organization": organization.pk, "name": "x", "scopes": []}
    )
    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()


def test_editing_an_api_key_keeps_its_hash_and_canonical_scopes(admin_client, organization):
    new = api_key_create(organization=organization, name="etl", scopes=["query"])
    response = admin_client.post(
        admin_url(ApiKey, "change", new.api_key.pk),
        {"organization": organization.pk, "name": "etl", "scopes": ["query", "configure"]},
    )
    assert response.status_code == 302
    api_key = ApiKey.objects.get(pk=new.api_key.pk)
    assert api_key.scopes == ["configure", "query"]
    assert api_key.token_hash == hashlib.sha256(new.token.encode()).hexdigest()


def test_revoke_action(admin_client, organization):
    new = api_key_create(organization=organization, name="etl", scopes=["query"])
    response = admin_client.post(
        admin_url(ApiKey, "changelist"),
        {"action": "revoke", "_selected_action": [new.api_key.pk]},
    )
    assert response.status_code == 302
    api_key = ApiKey.objects.get(pk=new.api_key.pk)
    assert api_key.revoked and api_key.revoked_at is not None


# --- connections and GA integrations ---------------------------------------------------------


def test_disable_action_disables_only_the_selected_active_connections(admin_client, brand):
    first = Connection.objects.create(brand=brand, website="a.example", provider="adobe_analytics")
    kept = Connection.objects.create(brand=brand, website="b.example", provider="adobe_analytics")
    response = admin_client.post(
        admin_url(Connection, "changelist"),
        {"action": "disable", "_selected_action": [first.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("Disabled" in str(m) for m in response.context["messages"])
    first.refresh_from_db()
    kept.refresh_from_db()
    assert first.status == "disabled" and first.disabled_at is not None
    assert kept.status == "active" and kept.disabled_at is None

    disabled_at = first.disabled_at
    admin_client.post(
        admin_url(Connection, "changelist"),
        {"action": "disable", "_selected_action": [first.pk]},
    )
    first.refresh_from_db()
    assert first.disabled_at == disabled_at


def post_connection(admin_client, brand, website, **extra):
    add = admin_client.get(admin_url(Connection, "add"))
    data = {
        **management_data(add),
        "brand": brand.pk,
        "website": website,
        "provider": "adobe_analytics",
        "status": "active",
        **extra,
    }
    return admin_client.post(admin_url(Connection, "add"), data)


def test_adding_a_connection_stores_the_canonical_website(admin_client, brand):
    response = post_connection(admin_client, brand, "https://WWW.Example.com/shop?x=1")
    assert response.status_code == 302
    assert Connection.objects.get().website == "example.com"


def test_adding_a_connection_with_an_invalid_website_is_a_form_error(admin_client, brand):
    response = post_connection(admin_client, brand, "localhost")
    assert response.status_code == 200
    assert "website" in response.context["adminform"].form.errors
    assert not Connection.objects.exists()


def test_a_duplicate_active_connection_is_a_form_error(admin_client, brand, connection):
    response = post_connection(admin_client, brand, "http://www.EXAMPLE.com")
    assert response.status_code == 200
    # The API's message, once, on the field; not the database constraint's vaguer one.
    assert response.context["adminform"].form.errors == {
        "website": [ACTIVE_CONNECTION_EXISTS.format(website="example.com", id=connection.pk)]
    }
    assert Connection.objects.count() == 1


def test_a_disabled_duplicate_is_allowed(admin_client, brand, connection):
    response = post_connection(admin_client, brand, "example.com", status="disabled")
    assert response.status_code == 302
    assert Connection.objects.filter(website="example.com").count() == 2


def test_a_connection_blocked_by_an_active_ga_integration_is_a_form_error(admin_client, brand):
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="example.com")
    response = post_connection(admin_client, brand, "www.example.com")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "website": [GA_INTEGRATION_EXISTS.format(website="example.com")]
    }
    assert not Connection.objects.exists()


def test_connection_page_shows_its_own_recent_pushes_and_dropped_referrers(
    admin_client, brand, connection
):
    mine = PushLog.objects.create(
        connection=connection, brand_id=connection.brand_id, status_code=200, batch_id="mine"
    )
    dropped = DroppedReferrer.objects.create(
        connection=connection,
        brand_id=connection.brand_id,
        raw_referrer_value="google.com",
        count=1,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    # Busier connections must not crowd this one's inlines out.
    other = Connection.objects.create(
        brand=brand, website="busy.example", provider="adobe_analytics"
    )
    PushLog.objects.bulk_create(
        PushLog(connection=other, brand_id=other.brand_id, status_code=200, batch_id=f"b{i}")
        for i in range(25)
    )
    DroppedReferrer.objects.bulk_create(
        DroppedReferrer(
            connection=other,
            brand_id=other.brand_id,
            raw_referrer_value=f"r{i}.example",
            count=100 + i,
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        )
        for i in range(25)
    )

    def inline_objects(response, model):
        for inline in response.context["inline_admin_formsets"]:
            if inline.formset.model is model:
                return [form.instance for form in inline.formset.forms]
        raise AssertionError(model)

    page = admin_client.get(admin_url(Connection, "change", connection.pk))
    assert inline_objects(page, PushLog) == [mine]
    assert inline_objects(page, DroppedReferrer) == [dropped]

    busy = admin_client.get(admin_url(Connection, "change", other.pk))
    pushes = inline_objects(busy, PushLog)
    assert len(pushes) == 20 and {p.connection_id for p in pushes} == {other.pk}
    counts = [d.count for d in inline_objects(busy, DroppedReferrer)]
    assert counts == sorted(counts, reverse=True) and len(counts) == 20 and counts[0] == 124

    # The change form still saves with the capped, read-only inlines.
    response = admin_client.post(admin_url(Connection, "change", other.pk), form_data(busy))
    assert response.status_code == 302


def post_ga(admin_client, brand, website, active=True):
    data = {"brand": brand.pk, "website": website}
    if active:
        data["active"] = "on"
    return admin_client.post(admin_url(GoogleAnalyticsIntegration, "add"), data)


def test_adding_a_ga_integration_stores_the_canonical_website(admin_client, brand):
    assert post_ga(admin_client, brand, "HTTPS://www.Example.COM./").status_code == 302
    assert GoogleAnalyticsIntegration.objects.get().website == "example.com"


def test_a_duplicate_active_ga_integration_is_a_form_error(admin_client, brand):
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="example.com")
    response = post_ga(admin_client, brand, "www.example.com")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert GoogleAnalyticsIntegration.objects.count() == 1
    assert post_ga(admin_client, brand, "www.example.com", active=False).status_code == 302


def test_an_invalid_ga_website_is_a_form_error(admin_client, brand):
    response = post_ga(admin_client, brand, "10.0.0.1")
    assert response.status_code == 200
    assert "website" in response.context["adminform"].form.errors


# --- the AI-platform allow-list -------------------------------------------------------------


def test_ai_platforms_cannot_be_deleted(admin_client):
    platform = AIPlatform.objects.get(slug="chatgpt")
    assert admin_client.get(admin_url(AIPlatform, "delete", platform.pk)).status_code == 403
    response = admin_client.post(admin_url(AIPlatform, "delete", platform.pk), {"post": "yes"})
    assert response.status_code == 403
    changelist = admin_client.get(admin_url(AIPlatform, "changelist"))
    assert changelist.context["action_form"] is None  # delete_selected was the only action
    response = admin_client.post(
        admin_url(AIPlatform, "changelist"),
        {"action": "delete_selected", "_selected_action": [platform.pk], "post": "yes"},
    )
    assert AIPlatform.objects.filter(pk=platform.pk).exists()
    assert not admin.site._registry[AIPlatform].has_delete_permission(response.wsgi_request)


def test_ai_platform_entries_are_edited_inline(admin_client):
    platform = AIPlatform.objects.get(slug="claude")
    page = admin_client.get(admin_url(AIPlatform, "change", platform.pk))
    data = form_data(page)
    prefix = next(
        inline.formset.prefix
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is AIPlatformEntry
    )
    # Rename the alias, add a host entry, and deactivate the platform in the same save.
    initial = int(data[f"{prefix}-INITIAL_FORMS"])
    alias = next(i for i in range(initial) if data[f"{prefix}-{i}-value"] == "claude")
    data[f"{prefix}-{alias}-value"] = "claude-ai"
    new = int(data[f"{prefix}-TOTAL_FORMS"]) - 1  # the blank extra form
    data[f"{prefix}-{new}-kind"] = "host"
    data[f"{prefix}-{new}-value"] = "claude.com"
    data["active"] = ""
    response = admin_client.post(admin_url(AIPlatform, "change", platform.pk), data)
    assert response.status_code == 302
    values = set(platform.entries.values_list("value", flat=True))
    assert values == {"claude.ai", "claude.com", "claude-ai", "com.anthropic.claude"}
    platform.refresh_from_db()
    assert platform.active is False


# --- big tables ------------------------------------------------------------------------------


def test_referral_rows_changelist_skips_the_full_count(admin_client, world):
    assert ReferralRowAdmin.show_full_result_count is False
    assert ReferralRowAdmin.date_hierarchy is None  # it would scan the table for its dates
    term = f"{world['connection'].pk} chatgpt.com"
    response = admin_client.get(admin_url(ReferralRow, "changelist"), {"q": term})
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.show_full_result_count is False
    assert cl.full_result_count is None
    assert list(cl.result_list) == [world["row"]]


def add_many(world, model, n: int) -> None:
    """n more objects of a big table, each on its own connection (to expose per-row queries)."""
    now = timezone.now()
    connections = Connection.objects.bulk_create(
        Connection(brand=world["brand"], website=f"site{i}.example", provider="adobe_analytics")
        for i in range(n)
    )
    if model is ReferralRow:
        platform = AIPlatform.objects.get(slug="claude")
        ReferralRow.objects.bulk_create(
            ReferralRow(
                connection=c,
                brand=world["brand"],
                date=date(2026, 5, 1),
                raw_referrer_value="claude.ai",
                raw_page_value=world["page"].raw_page_value,
                page=world["page"],
                platform=platform,
                updated_at=now,
            )
            for c in connections
        )
    elif model is PushLog:
        PushLog.objects.bulk_create(
            PushLog(connection=c, brand_id=c.brand_id, status_code=200) for c in connections
        )
    elif model is DroppedReferrer:
        DroppedReferrer.objects.bulk_create(
            DroppedReferrer(
                connection=c,
                brand_id=c.brand_id,
                raw_referrer_value="bing.com",
                first_seen_at=now,
                last_seen_at=now,
            )
            for c in connections
        )
    elif model is SitemapPage:
        for i in range(n):
            make_page(world["brand"], raw=f"/p/{i}")


@pytest.mark.parametrize(
    "model",
    [ReferralRow, PushLog, DroppedReferrer, SitemapPage, Connection],
    ids=lambda m: m.__name__,
)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, world, model):
    BUILDERS[model][0](world)
    url = admin_url(model, "changelist")
    admin_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(db_connection) as few:
        assert admin_client.get(url).status_code == 200
    add_many(world, model, 30)
    with CaptureQueriesContext(db_connection) as many:
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) > 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_organization_and_brand_pages_work_with_members(admin_client, organization, admin_user):
    organization.members.add(admin_user)
    Brand.objects.create(organization=organization, name="Acme Boots")
    response = admin_client.get(admin_url(Organization, "change", organization.pk))
    assert response.status_code == 200
    assert b"Acme Boots" in response.content


def test_connection_change_form_cannot_reactivate_or_move_a_connection(admin_client, connection):
    page = admin_client.get(admin_url(Connection, "change", connection.pk))
    form_fields = page.context["adminform"].form.fields
    assert not {"status", "brand", "website", "provider"} & set(form_fields)


def test_unrevoking_a_key_clears_revoked_at(admin_client, organization):
    new_key = api_key_create(organization=organization, name="k", scopes=["query"])
    data = {"name": "k", "scopes": ["query"], "revoked": "on"}
    admin_client.post(admin_url(ApiKey, "change", new_key.api_key.pk), data)
    new_key.api_key.refresh_from_db()
    assert new_key.api_key.revoked and new_key.api_key.revoked_at
    admin_client.post(admin_url(ApiKey, "change", new_key.api_key.pk), {**data, "revoked": ""})
    new_key.api_key.refresh_from_db()
    assert not new_key.api_key.revoked and new_key.api_key.revoked_at is None
    assert new_key.api_key.organization == organization
