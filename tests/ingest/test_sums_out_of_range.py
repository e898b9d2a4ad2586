"""A batch whose rows would take a stored sum past the 64-bit integers: 422, nothing stored.

Each metric may be 2**63 - 1 (the contract's int64); the rollups sum them per day and
platform and per page and month, and the agents' per day and agent. PostgreSQL raised
numeric_value_out_of_range there (answered 503, "retry later", as if the database were
down); SQLite's triggers stored a float. SQLite now refuses it in the rollups themselves
(a range check, models.sums_in_range), whoever writes the rows.

SQLite's row triggers add and subtract one row at a time, so there a replacement whose
running sum passes the limit on its way to a final sum below it is refused too, where
PostgreSQL's statement triggers add the batch's net change.
"""

import pytest
from django.db import DatabaseError, transaction

from referrals.ingest.pipeline import SUMS_OUT_OF_RANGE
from referrals.models import AgentTrafficRow, DailyAgentTotal, PushLog, ReferralRow
from tests.factories import (
    agent_connection_make,
    agent_event,
    agent_push,
    event,
    page_rollup_from_rows,
    page_rollup_stored,
    push,
    rollup_from_rows,
    rollup_stored,
    row,
)

pytestmark = pytest.mark.django_db

BIG = 2**63 - 1


def assert_refused(response, connection, rows_before: int) -> None:
    assert response.status_code == 422, response.content
    assert response.json() == {"detail": SUMS_OUT_OF_RANGE}
    assert ReferralRow.objects.filter(connection=connection).count() == rows_before
    assert rollup_stored(connection) == rollup_from_rows(connection)
    assert page_rollup_stored(connection) == page_rollup_from_rows(connection)
    log = PushLog.objects.filter(connection_id=connection.pk).latest("created_at", "id")
    assert log.status_code == 422
    connection.refresh_from_db()
    assert connection.last_push_error == SUMS_OUT_OF_RANGE


def test_two_rows_of_a_day_and_platform_past_the_limit(api_client, connection):
    events = [event(raw_page_value="/a", pageviews=BIG), event(raw_page_value="/b", pageviews=BIG)]
    assert_refused(push(api_client, connection, events), connection, rows_before=0)


def test_a_page_and_month_past_the_limit(api_client, connection):
    """Two days: the daily rollup holds each alone, the page's month both."""
    events = [event(date="2026-05-01", sessions=BIG), event(date="2026-05-02", sessions=BIG)]
    assert_refused(push(api_client, connection, events), connection, rows_before=0)


def test_a_later_push_past_what_is_stored(api_client, connection):
    first = push(api_client, connection, [event(raw_page_value="/a", transactions=BIG)])
    assert first.status_code == 200, first.content
    second = push(api_client, connection, [event(raw_page_value="/b", transactions=1)])
    assert_refused(second, connection, rows_before=1)
    assert ReferralRow.objects.get(connection=connection).transactions == BIG


def test_the_limit_itself_and_a_replacement_below_it_are_stored(api_client, connection):
    """Sums of exactly 2**63 - 1, then one of their rows replaced by a smaller value."""
    for first in (BIG - 10, BIG - 20):
        events = [
            event(raw_page_value="/a", pageviews=first),
            event(raw_page_value="/b", pageviews=10),
        ]
        response = push(api_client, connection, events)
        assert response.status_code == 200, response.content
        assert rollup_stored(connection) == rollup_from_rows(connection)
        assert page_rollup_stored(connection) == page_rollup_from_rows(connection)
        [(_, pageviews, *_)] = rollup_stored(connection).values()  # one day, one platform
        assert pageviews == first + 10


def test_agent_hits_of_a_day_and_agent_past_the_limit(api_client, brand):
    connection = agent_connection_make(brand)
    events = [
        agent_event(raw_page_value="/a", hits=BIG),
        agent_event(raw_page_value="/b", hits=BIG),
    ]
    response = agent_push(api_client, connection, events)
    assert response.status_code == 422, response.content
    assert response.json() == {"detail": SUMS_OUT_OF_RANGE}
    assert not AgentTrafficRow.objects.filter(connection=connection).exists()
    assert not DailyAgentTotal.objects.filter(connection_id=connection.pk).exists()


def test_rows_written_outside_a_push_cannot_overflow_a_rollup(connection):
    """The ORM, a command: the database itself refuses the write, and the rollups hold the
    sums of what is stored (on SQLite they held a float before the range check)."""
    row(connection, "2026-05-01", "chatgpt", "/a", sessions=BIG)
    with pytest.raises(DatabaseError), transaction.atomic():
        row(connection, "2026-05-01", "chatgpt", "/b", sessions=1)
    assert ReferralRow.objects.filter(connection=connection).count() == 1
    assert rollup_stored(connection) == rollup_from_rows(connection)
    assert page_rollup_stored(connection) == page_rollup_from_rows(connection)
    [(_, _, sessions, *_)] = rollup_stored(connection).values()
    assert sessions == BIG
