"""Deleting a connection, a brand or an organization: a summary, and set-based deletes."""

import threading

import pytest
from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth.models import Permission, User
from django.db import connection as db_connection
from django.db import connections as db_connections
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from referrals.admin.big_tables import COUNT_CAP
from referrals.admin.deletion import connections_cascade, objects_delete
from referrals.models import (
    ApiKey,
    Brand,
    Connection,
    DailyPlatformTotal,
    DroppedReferrer,
    GoogleAnalyticsIntegration,
    Organization,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from referrals.tenancy.services import api_key_create
from tests.admin.builders import (
    PAGES,
    SOME_ROWS,
    admin_url,
    logs_create,
    rows_create,
    sql_on_rows,
    unbounded_reads_of_rows,
)
from tests.factories import rollup_from_rows, rollup_stored

pytestmark = pytest.mark.django_db


def test_the_delete_confirmation_of_a_busy_connection_summarizes(
    admin_client, busy, django_assert_num_queries
):
    url = admin_url(Connection, "delete", busy.pk)
    admin_client.get(url)
    # session, user, the connection, its brand ids, one capped count per related table
    with django_assert_num_queries(12), CaptureQueriesContext(db_connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert unbounded_reads_of_rows(queries) == []
    assert dict(response.context["model_count"]) == {
        "connections": "1",
        "referral rows": f"more than {COUNT_CAP:,}",
        "daily platform totals": "360",
        "monthly page totals": "400",
        "push logs": "1",
        "dropped referrers": "1",
    }
    content = response.content.decode()
    assert f"Referral rows: more than {COUNT_CAP:,}" in content
    assert "Referral row:" not in content and "/p/1" not in content  # no row is listed
    assert response.context["perms_lacking"] == set()


def assert_only_the_quiet_connection_is_left(quiet) -> None:
    assert set(ReferralRow.objects.values_list("connection_id", flat=True)) == {quiet.pk}
    assert set(SitemapPage.objects.values_list("website", flat=True)) == {quiet.website}
    for model in (DailyPlatformTotal, PushLog, DroppedReferrer):
        assert set(model.objects.values_list("connection_id", flat=True)) == {quiet.pk}
    # The rollup's triggers fired on the deletion: what is left still equals the rows.
    assert rollup_stored(quiet) == rollup_from_rows(quiet) != {}


def test_deleting_a_busy_connection_is_set_based(admin_client, busy, quiet):
    with CaptureQueriesContext(db_connection) as queries:
        response = admin_client.post(admin_url(Connection, "delete", busy.pk), {"post": "yes"})
    assert response.status_code == 302
    assert unbounded_reads_of_rows(queries) == []
    deletes = [sql for sql in sql_on_rows(queries) if sql.startswith("DELETE")]
    assert 1 <= len(deletes) <= 2  # one set-based delete; the collector's finds nothing
    assert not Connection.objects.filter(pk=busy.pk).exists()
    # Its pages stay: they belong to the brand's website, which another connection may push.
    assert SitemapPage.objects.filter(website=busy.website).count() == PAGES
    assert set(ReferralRow.objects.values_list("connection_id", flat=True)) == {quiet.pk}
    assert set(DailyPlatformTotal.objects.values_list("connection_id", flat=True)) == {quiet.pk}
    assert rollup_stored(quiet) == rollup_from_rows(quiet) != {}


@pytest.mark.parametrize("model", [Brand, Organization], ids=lambda m: m.__name__)
def test_deleting_a_brand_or_an_organization(admin_client, some, quiet, model, brand):
    obj = brand if model is Brand else brand.organization
    api_key_create(organization=brand.organization, name="etl", scopes=["query"])
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="ga.example")
    url = admin_url(model, "delete", obj.pk)

    with CaptureQueriesContext(db_connection) as queries:
        response = admin_client.get(url)
    assert unbounded_reads_of_rows(queries) == []
    summary = dict(response.context["model_count"])
    assert summary["referral rows"] == str(SOME_ROWS)
    assert summary["sitemap pages"] == str(PAGES)
    assert summary["connections"] == "1"
    assert "Referral row:" not in response.content.decode()

    with CaptureQueriesContext(db_connection) as queries:
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert unbounded_reads_of_rows(queries) == []
    assert not model.objects.filter(pk=obj.pk).exists()
    assert_only_the_quiet_connection_is_left(quiet)
    assert GoogleAnalyticsIntegration.objects.count() == 0
    assert ApiKey.objects.filter(organization=brand.organization).exists() is (model is Brand)


@pytest.mark.parametrize("model", [Connection, Brand, Organization], ids=lambda m: m.__name__)
def test_delete_selected_summarizes_and_deletes_set_based(admin_client, some, quiet, model, brand):
    obj = {Connection: some, Brand: brand, Organization: brand.organization}[model]
    data = {"action": "delete_selected", "_selected_action": [obj.pk]}
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(db_connection) as queries:
        confirmation = admin_client.post(url, data)
    assert confirmation.status_code == 200
    assert unbounded_reads_of_rows(queries) == []
    assert dict(confirmation.context["model_count"])["referral rows"] == str(SOME_ROWS)
    content = confirmation.content.decode()
    assert f"{model._meta.verbose_name.capitalize()}: {obj}" in content
    assert "Referral row:" not in content

    with CaptureQueriesContext(db_connection) as queries:
        assert admin_client.post(url, {**data, "post": "yes"}).status_code == 302
    assert unbounded_reads_of_rows(queries) == []
    assert not model.objects.filter(pk=obj.pk).exists()
    assert set(ReferralRow.objects.values_list("connection_id", flat=True)) == {quiet.pk}
    assert rollup_stored(quiet) == rollup_from_rows(quiet) != {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.admin_fan_out
@pytest.mark.usefixtures("platforms_seeded")  # before `some` and `quiet` write their rows
def test_deleting_connections_of_several_brands_in_one_committed_transaction(
    admin_client, some, quiet, brand
):
    """Connections of two brands at once, their data committed beforehand (as in production,
    unlike the tests above, whose one transaction has written the connections first): on
    Citus the brands' shards are deleted from, then the connections, in one transaction."""
    third = Connection.objects.create(brand=brand, website="third.example")
    rows_create(third, 30)
    selected = [some.pk, quiet.pk]
    data = {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    assert admin_client.post(admin_url(Connection, "changelist"), data).status_code == 302
    assert not Connection.objects.filter(pk__in=selected).exists()
    assert set(ReferralRow.objects.values_list("connection_id", flat=True)) == {third.pk}
    for model in (DailyPlatformTotal, PushLog, DroppedReferrer):
        assert not model.objects.filter(connection_id__in=selected).exists()
    assert rollup_stored(third) == rollup_from_rows(third) != {}


def test_deleting_needs_the_delete_permission_of_what_goes_with_it(client, some):
    staff = User.objects.create_user("support", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_connection", "delete_connection"])
    )
    some.brand.organization.members.add(staff)  # staff see their organizations' objects only
    client.force_login(staff)
    url = admin_url(Connection, "delete", some.pk)
    response = client.get(url)
    assert response.context["perms_lacking"] == {
        "referral row",
        "daily platform total",
        "monthly page total",
        "push log",
        "dropped referrer",
    }
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Connection.objects.filter(pk=some.pk).exists()


@pytest.mark.parametrize("model", [Connection, Brand, Organization], ids=lambda m: m.__name__)
def test_the_summary_names_everything_djangos_collector_deletes(admin_client, model, brand):
    """The cascades are written by hand: a new model that goes with a connection, a brand or
    an organization must join them, or the summary would hide it (and it would be deleted by
    Django's collector, object by object)."""
    connection = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    rows_create(connection, 3)
    logs_create(connection)
    GoogleAnalyticsIntegration.objects.create(brand=brand, website="ga.example")
    api_key_create(organization=brand.organization, name="etl", scopes=["query"])
    brand.organization.members.add(User.objects.create_user("member"))
    obj = {Connection: connection, Brand: brand, Organization: brand.organization}[model]

    collector = NestedObjects(using="default")
    collector.collect([obj])
    expected = {m._meta.verbose_name_plural: str(len(o)) for m, o in collector.model_objs.items()}
    model_admin = admin.site.get_model_admin(model)
    request = admin_client.get("/admin/").wsgi_request
    assert dict(model_admin.get_deleted_objects([obj], request)[1]) == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.admin_fan_out
@pytest.mark.usefixtures("platforms_seeded")
def test_a_push_in_flight_during_a_deletion_leaves_no_rows_behind(brand):
    """The rows have no FK constraint to their connection (migration 0018): the deletion
    takes the push's lock first, so a push in flight commits before the rows are deleted,
    instead of after (its rows would outlive the connection)."""
    doomed = Connection.objects.create(brand=brand, website="race.example")
    pushing, release = threading.Event(), threading.Event()
    deleted = threading.Event()

    def push() -> None:  # what a push does: lock the connection's row, then write
        try:
            with transaction.atomic():
                Connection.objects.select_for_update().get(pk=doomed.pk)
                rows_create(doomed, 3)
                pushing.set()
                release.wait(10)
        finally:
            db_connections.close_all()

    def delete() -> None:
        try:
            selected = Connection.objects.filter(pk=doomed.pk)
            objects_delete(objects=selected, cascade=connections_cascade(selected))
            deleted.set()
        finally:
            db_connections.close_all()

    pusher = threading.Thread(target=push)
    pusher.start()
    assert pushing.wait(10)
    deleter = threading.Thread(target=delete)
    deleter.start()
    assert not deleted.wait(0.5)  # waits for the push
    release.set()
    pusher.join(10)
    deleter.join(10)
    assert deleted.is_set()
    assert not Connection.objects.filter(pk=doomed.pk).exists()
    assert not ReferralRow.objects.filter(connection_id=doomed.pk).exists()
