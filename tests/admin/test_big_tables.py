"""Big tables' changelists and searches at sizes where a full count would not open."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from referrals.admin.big_tables import COUNT_CAP
from referrals.models import (
    DroppedReferrer,
    PushLog,
    ReferralRow,
    SitemapPage,
)
from tests.admin.builders import (
    ROWS,
    ROWS_TABLE,
    SOME_ROWS,
    admin_url,
    on_postgres,
    sql_on_rows,
    unbounded_reads_of_rows,
)

pytestmark = pytest.mark.django_db


def test_the_rows_changelist_counts_at_most_to_the_cap(
    admin_client, busy, django_assert_num_queries
):
    url = admin_url(ReferralRow, "changelist")
    admin_client.get(url)  # warm the session and content-type caches
    # session, user, [estimate,] capped count, the page of rows
    with (
        django_assert_num_queries(4 + on_postgres(1)),
        CaptureQueriesContext(db_connection) as queries,
    ):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert unbounded_reads_of_rows(queries) == []
    cl = response.context["cl"]
    # No ANALYZE has run, so PostgreSQL has no estimate yet: the count stops at the cap.
    assert cl.result_count == COUNT_CAP + 1
    assert f"more than {COUNT_CAP:,} referral rows" in response.content.decode()
    # An inexact count has no last page to link to.
    pages = list(cl.paginator.get_elided_page_range(cl.page_num))
    ellipsis = cl.paginator.ELLIPSIS
    assert pages[-1] == ellipsis and max(p for p in pages if p != ellipsis) == 4
    # Filters have no index on the rows: they show once a search scopes the list.
    assert cl.has_filters is False
    assert len(cl.result_list) == 50


@pytest.mark.postgres
def test_the_whole_rows_table_counts_as_the_planner_estimate(admin_client, busy):
    with db_connection.cursor() as cursor:
        # A table this small is read whole by ANALYZE: its estimate is the exact count.
        cursor.execute(f"ANALYZE {ROWS_TABLE}")
    url = admin_url(ReferralRow, "changelist")
    with CaptureQueriesContext(db_connection) as queries:
        response = admin_client.get(url)
    assert [sql for sql in sql_on_rows(queries) if "COUNT(" in sql] == []
    assert any("reltuples" in q["sql"] for q in queries.captured_queries)
    assert response.context["cl"].result_count == ROWS
    assert f"about {ROWS:,} referral rows" in response.content.decode()

    # Filtered, the count is a capped count again.
    response = admin_client.get(url, {"q": busy.pk})
    assert response.context["cl"].paginator.count_label == f"more than {COUNT_CAP:,}"


def test_rows_are_searched_within_a_connection(
    admin_client, some, quiet, django_assert_num_queries
):
    url = admin_url(ReferralRow, "changelist")
    admin_client.get(url)
    # session, user, capped count, the page of rows, the platform filter's choices
    with django_assert_num_queries(5), CaptureQueriesContext(db_connection) as queries:
        response = admin_client.get(url, {"q": f"{some.pk} https://claude.ai/"})
    assert unbounded_reads_of_rows(queries) == []
    cl = response.context["cl"]
    assert cl.result_count == SOME_ROWS // 3
    assert "100 results" in response.content.decode()  # exact: as Django writes it
    assert {(r.connection_id, r.raw_referrer_value) for r in cl.result_list} == {
        (some.pk, "https://claude.ai/")
    }
    assert cl.has_filters is True

    quiet_rows = admin_client.get(url, {"q": f"  {quiet.pk}  "}).context["cl"]
    assert quiet_rows.result_count == 30
    assert {r.connection_id for r in quiet_rows.result_list} == {quiet.pk}
    # A referrer alone names no connection: no index could serve it, and it finds nothing.
    assert admin_client.get(url, {"q": "chatgpt.com"}).context["cl"].result_count == 0


@pytest.mark.parametrize(
    ("model", "term", "attribute", "expected"),
    [
        (SitemapPage, "{website} p/42", "url", {"https://example.com/p/42"}),
        (SitemapPage, "EXAMPLE.com", "url", set()),  # websites are stored canonical
        (PushLog, "b-{id}", "batch_id", {"b-{id}"}),
        (PushLog, "req-{id}", "batch_id", {"b-{id}"}),
        (PushLog, "{id}", "batch_id", {"b-{id}"}),
        (DroppedReferrer, "https://www.goo", "raw_referrer_value", {"https://www.google.com/"}),
        (DroppedReferrer, "www.google", "raw_referrer_value", set()),  # the start only
        (DroppedReferrer, "{id}", "connection_id", {"{id}"}),
    ],
)
def test_each_big_table_search(admin_client, some, quiet, model, term, attribute, expected):
    term = term.format(website=some.website, id=some.pk)
    response = admin_client.get(admin_url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    found = {getattr(obj, attribute) for obj in response.context["cl"].result_list}
    assert found == {value.format(id=some.pk) for value in expected}


@pytest.mark.parametrize("model", [SitemapPage, PushLog, DroppedReferrer], ids=lambda m: m.__name__)
def test_big_table_changelists_and_searches_pin_their_queries(
    admin_client, some, quiet, model, django_assert_num_queries
):
    url = admin_url(model, "changelist")
    admin_client.get(url)
    # session, user, [estimate,] capped count, the page
    with django_assert_num_queries(4 + on_postgres(1)):
        assert admin_client.get(url).status_code == 200
    with django_assert_num_queries(4):
        term = quiet.website if model is SitemapPage else quiet.pk
        response = admin_client.get(url, {"q": term})
    assert response.context["cl"].result_count >= 1


# --- what may be edited or deleted by hand ---------------------------------------------------


def test_pipeline_tables_are_read_only(admin_client, some):
    page = SitemapPage.objects.filter(website=some.website).first()
    response = admin_client.get(admin_url(SitemapPage, "change", page.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}  # every field shown read-only
    assert admin_client.post(admin_url(SitemapPage, "change", page.pk), {}).status_code == 403
    for model in (SitemapPage, ReferralRow, PushLog, DroppedReferrer):
        obj = model.objects.first()
        assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
        changelist = admin_client.get(admin_url(model, "changelist"))
        assert changelist.context["action_form"] is None  # no "delete selected"
