"""The admin by organization: staff who are not superusers see and change their own only."""

from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.admin import helpers
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
from tests.admin.builders import (
    ROWS_TABLE,
    admin_url,
    logs_create,
    management_data,
    sql_on_rows,
)

pytestmark = pytest.mark.django_db

TENANT = [
    Organization,
    Brand,
    ApiKey,
    Connection,
    GoogleAnalyticsIntegration,
    SitemapPage,
    ReferralRow,
    PushLog,
    DroppedReferrer,
    AgentTrafficRow,
    DroppedUserAgent,
    PriorityPath,
    WebsiteCrawl,
]
SHARED = [AIPlatform, AIPlatformEntry, AIAgent]  # the allow-list: every organization's
SUPERUSERS_ONLY = [User, Group]
DELETABLE = [Organization, Brand, ApiKey, Connection, GoogleAnalyticsIntegration]
THEIRS = ("Globex", "globex.example")  # names of the other organization, never shown to ours


def label(value) -> str | None:
    """A test id: a model's name; pytest's own for anything else."""
    return getattr(value, "__name__", None)


def tenant_objects(brand: Brand, website: str) -> dict:
    """One object of each model of tenant data, all of the brand's organization."""
    connection = Connection.objects.create(brand=brand, website=website, provider="adobe_analytics")
    page = SitemapPage.objects.create(
        brand=brand,
        website=website,
        raw_page_value="/",
        page_key=page_key("/"),
        url=f"https://{website}/",
    )
    row = ReferralRow.objects.create(
        connection=connection,
        brand=brand,
        date=date(2026, 5, 1),
        raw_referrer_value="chatgpt.com",
        raw_page_value="/",
        page=page,
        platform=AIPlatform.objects.get(slug="chatgpt"),
        sessions=1,
        updated_at=timezone.now(),
    )
    logs_create(connection)
    organization = brand.organization
    key = api_key_create(organization=organization, name=f"etl {website}", scopes=["query"])
    return {
        Organization: organization,
        Brand: brand,
        ApiKey: key.api_key,
        Connection: connection,
        GoogleAnalyticsIntegration: GoogleAnalyticsIntegration.objects.create(
            brand=brand, website=f"ga.{website}"
        ),
        SitemapPage: page,
        ReferralRow: row,
        PushLog: PushLog.objects.get(connection=connection),
        DroppedReferrer: DroppedReferrer.objects.get(connection=connection),
        AgentTrafficRow: AgentTrafficRow.objects.create(
            connection=connection,
            brand=brand,
            date=date(2026, 5, 1),
            raw_user_agent="GPTBot/1.2",
            user_agent_key=text_key("GPTBot/1.2"),
            raw_page_value="/",
            page=page,
            agent=AIAgent.objects.get(token="GPTBot"),
            hits=1,
            updated_at=timezone.now(),
        ),
        DroppedUserAgent: DroppedUserAgent.objects.create(
            connection=connection,
            brand=brand,
            raw_user_agent="curl/8.0",
            user_agent_key=text_key("curl/8.0"),
            count=1,
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        ),
        PriorityPath: PriorityPath.objects.create(brand=brand, website=website, path="/"),
        WebsiteCrawl: WebsiteCrawl.objects.create(brand=brand, website=website),
    }


@pytest.fixture
def ours(brand):
    return tenant_objects(brand, "acme.example")


@pytest.fixture
def theirs(other_brand):
    return tenant_objects(other_brand, "globex.example")


def staff_member(*organizations: Organization) -> User:
    """Staff with every model permission, member of these organizations, not a superuser."""
    user = User.objects.create_user("support", is_staff=True)
    user.user_permissions.add(*Permission.objects.all())
    user.organizations.add(*organizations)
    return user


@pytest.fixture
def staff_client(client, organization):
    client.force_login(staff_member(organization))
    return client


def test_every_registered_model_has_a_scope_rule():
    registered = set(admin.site._registry)
    assert registered == {*TENANT, *SHARED, *SUPERUSERS_ONLY}
    assert set(helpers.ORGANIZATION_PATHS) == set(TENANT)
    for model in TENANT:
        assert isinstance(admin.site.get_model_admin(model), helpers.OrganizationScopedAdmin)


# --- lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", TENANT, ids=label)
def test_staff_see_only_their_organizations_objects(staff_client, ours, theirs, model):
    response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert ours[model] in listed and theirs[model] not in listed
    content = response.content.decode()
    assert not [name for name in THEIRS if name in content]  # nor in a filter's choices


@pytest.mark.parametrize("model", TENANT, ids=label)
def test_staff_of_no_organization_see_nothing(client, ours, theirs, model):
    client.force_login(staff_member())
    assert list(client.get(admin_url(model, "changelist")).context["cl"].result_list) == []


@pytest.mark.parametrize("model", TENANT, ids=label)
def test_superusers_see_every_organizations_objects(admin_client, ours, theirs, model):
    response = admin_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert {ours[model], theirs[model]} <= set(response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("model", "term"),
    [
        (Brand, "Globex"),
        (ApiKey, "Globex"),
        (Connection, "globex.example"),
        (SitemapPage, "globex.example"),
        (ReferralRow, "{connection}"),
        (PushLog, "{connection}"),
        (DroppedReferrer, "{connection}"),
        (AgentTrafficRow, "{connection}"),
        (DroppedUserAgent, "{connection}"),
        (PriorityPath, "globex.example"),
        (WebsiteCrawl, "globex.example"),
    ],
    ids=label,
)
def test_searches_find_nothing_of_another_organization(staff_client, ours, theirs, model, term):
    term = term.format(connection=theirs[Connection].pk)
    response = staff_client.get(admin_url(model, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == []


def test_autocomplete_offers_only_their_organizations_brands(staff_client, ours, theirs):
    url = reverse("admin:autocomplete")
    params = {"app_label": "referrals", "model_name": "connection", "field_name": "brand"}
    found = staff_client.get(url, {**params, "term": "Acme"}).json()["results"]
    assert [item["id"] for item in found] == [str(ours[Brand].pk)]
    assert staff_client.get(url, {**params, "term": "Globex"}).json()["results"] == []


def test_a_scoped_rows_list_counts_its_own_rows_not_the_tables_estimate(
    client, busy, quiet, django_assert_num_queries
):
    """The estimate (pg_class.reltuples) is the whole table's: a scoped list counts, capped."""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ROWS_TABLE}")  # the busy organization's rows: an estimate
    client.force_login(staff_member(quiet.brand.organization))
    url = admin_url(ReferralRow, "changelist")
    client.get(url)  # warm the session and content-type caches
    # session, user, the user's and their groups' permissions, the ids of the brands of their
    # organizations (organization_scope), capped count, the page of rows
    with django_assert_num_queries(7), CaptureQueriesContext(db_connection) as queries:
        response = client.get(url)
    assert not any("reltuples" in q["sql"] for q in queries.captured_queries)
    cl = response.context["cl"]
    assert cl.result_count == 30 and cl.paginator.count_label == ""
    assert {row.connection_id for row in cl.result_list} == {quiet.pk}
    # By brand ids, which lead the rows' indexes since migration 0009.
    for sql in sql_on_rows(queries):
        where = sql.partition(" WHERE ")[2]
        assert where.startswith(f'"{ROWS_TABLE}"."brand_id" IN (') and "connection" not in where


# --- object pages ----------------------------------------------------------------------------


def missing_pk(model):
    return "0" * 26 if model is Connection else 10**9


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    ("model", "view"),
    [(model, view) for model in TENANT for view in ("change", "history")]
    + [(model, "delete") for model in DELETABLE],  # the pipeline's rows: refused to anyone
    ids=label,
)
def test_another_organizations_object_is_answered_as_a_missing_one(
    staff_client, ours, theirs, model, view
):
    hidden_pk, absent_pk = theirs[model].pk, missing_pk(model)
    hidden = staff_client.get(admin_url(model, view, hidden_pk), follow=True)
    missing = staff_client.get(admin_url(model, view, absent_pk), follow=True)
    # Django's answer for an object outside get_queryset: a redirect home saying it doesn't
    # exist; a 403 or a 404 would tell the two apart.
    assert hidden.redirect_chain == missing.redirect_chain == [(reverse("admin:index"), 302)]
    said = [m.replace(str(hidden_pk), "ID") for m in shown_messages(hidden)]
    assert said == [m.replace(str(absent_pk), "ID") for m in shown_messages(missing)]
    assert len(said) == 1 and "doesn’t exist" in said[0]
    assert staff_client.get(admin_url(model, view, ours[model].pk)).status_code == 200


# --- adding and changing ---------------------------------------------------------------------


def add_data(client, model, owner) -> dict:
    """A valid add form of `model` for `owner` (an organization or a brand)."""
    add = client.get(admin_url(model, "add"))
    website = {"website": "sneaky.example"}
    data = {
        ApiKey: {"organization": owner.pk, "name": "sneaky", "scopes": ["query"]},
        Brand: {"organization": owner.pk, "name": "Sneaky"},
        Connection: {
            "brand": owner.pk,
            **website,
            "provider": "adobe_analytics",
            "status": "active",
        },
        GoogleAnalyticsIntegration: {"brand": owner.pk, **website, "active": "on"},
    }[model]
    return {**management_data(add), **data}


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (ApiKey, "organization"),
        (Brand, "organization"),
        (Connection, "brand"),
        (GoogleAnalyticsIntegration, "brand"),
    ],
    ids=label,
)
def test_staff_cannot_add_for_another_organization(staff_client, ours, theirs, model, field):
    owner = {"organization": Organization, "brand": Brand}[field]
    add = staff_client.get(admin_url(model, "add"))
    assert set(add.context["adminform"].form.fields[field].queryset) == {ours[owner]}

    url = admin_url(model, "add")
    before = model.objects.count()
    response = staff_client.post(url, add_data(staff_client, model, theirs[owner]))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert model.objects.count() == before
    # The refused choice is not named back (a raw-id widget looks its label up).
    assert not [name for name in THEIRS if name in response.content.decode()]

    response = staff_client.post(url, add_data(staff_client, model, ours[owner]))
    assert response.status_code in (200, 302)  # an API key's token page, or the list
    assert model.objects.count() == before + 1


@pytest.mark.parametrize(
    ("model", "field", "owner"),
    [(Brand, "organization", Organization), (GoogleAnalyticsIntegration, "brand", Brand)],
    ids=label,
)
def test_staff_cannot_move_their_objects_to_another_organization(
    staff_client, ours, theirs, model, field, owner
):
    obj = ours[model]
    data = {"name": obj.name} if model is Brand else {"website": obj.website, "active": "on"}
    url = admin_url(model, "change", obj.pk)
    response = staff_client.post(url, {**data, field: theirs[owner].pk})
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    obj.refresh_from_db()
    assert getattr(obj, field) == ours[owner]


def test_organizations_are_added_and_renamed_by_superusers_only(staff_client, ours, theirs):
    assert staff_client.get(admin_url(Organization, "add")).status_code == 403
    page = staff_client.get(admin_url(Organization, "change", ours[Organization].pk))
    assert page.status_code == 200
    # The name is unique across organizations (renaming would probe theirs), and members
    # would be picked among every user.
    assert not {"name", "members"} & set(page.context["adminform"].form.fields)
    assert not [name for name in THEIRS if name in page.content.decode()]


# --- deleting and actions --------------------------------------------------------------------


@pytest.mark.parametrize("model", DELETABLE, ids=label)
def test_staff_cannot_delete_another_organizations_objects(staff_client, ours, theirs, model):
    obj = theirs[model]
    response = staff_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})
    assert response.status_code == 302
    assert response.url == reverse("admin:index")  # "doesn't exist"
    data = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    staff_client.post(admin_url(model, "changelist"), data)
    assert model.objects.filter(pk=obj.pk).exists()
    assert ReferralRow.objects.filter(connection=theirs[Connection]).exists()


def test_staff_delete_their_own_organizations_brand(staff_client, ours, theirs):
    data = {"action": "delete_selected", "_selected_action": [ours[Brand].pk, theirs[Brand].pk]}
    confirmation = staff_client.post(admin_url(Brand, "changelist"), data)
    assert dict(confirmation.context["model_count"])["brands"] == "1"
    staff_client.post(admin_url(Brand, "changelist"), {**data, "post": "yes"})
    assert set(Brand.objects.all()) == {theirs[Brand]}
    assert set(ReferralRow.objects.values_list("connection_id", flat=True)) == {
        theirs[Connection].pk
    }


@pytest.mark.parametrize(
    ("model", "action", "untouched"),
    [(ApiKey, "revoke", {"revoked": False}), (Connection, "disable", {"status": "active"})],
    ids=label,
)
def test_actions_skip_another_organizations_objects(
    staff_client, ours, theirs, model, action, untouched
):
    data = {"action": action, "_selected_action": [theirs[model].pk]}
    staff_client.post(admin_url(model, "changelist"), data)
    assert model.objects.filter(pk=theirs[model].pk, **untouched).exists()


# --- what every organization shares, and people ----------------------------------------------


@pytest.mark.parametrize("model", SHARED, ids=label)
def test_staff_view_the_allow_list_and_superusers_change_it(staff_client, admin_client, model):
    obj = model.objects.first()
    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    page = staff_client.get(admin_url(model, "change", obj.pk))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert staff_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert staff_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", SUPERUSERS_ONLY, ids=label)
def test_users_and_groups_are_for_superusers_only(staff_client, admin_client, model):
    staff = User.objects.get(username="support")
    obj = staff if model is User else Group.objects.create(name="analysts")
    for view, args in [("changelist", ()), ("add", ()), ("change", (obj.pk,))]:
        assert staff_client.get(admin_url(model, view, *args)).status_code == 403, view
        assert admin_client.get(admin_url(model, view, *args)).status_code == 200, view
    # A staff member who could change users could make themselves a superuser.
    staff_client.post(admin_url(User, "change", staff.pk), {"is_superuser": "on"})
    staff.refresh_from_db()
    assert not staff.is_superuser
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert admin_url(model, "changelist") not in index
