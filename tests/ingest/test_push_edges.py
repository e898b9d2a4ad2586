"""Push edges: chunked bodies, a database outage, and a disable racing a push."""

import io
import json
import threading

import psycopg
import pytest
from django.db import InterfaceError, connections, transaction
from django.db import connection as db
from django.test import RequestFactory
from rest_framework.test import APIClient

from referrals.api.errors import exception_handler
from referrals.connections.services import connection_disable
from referrals.ingest import upsert
from referrals.ingest.api import read_body
from referrals.ingest.parse import PushError
from referrals.ingest.pipeline import CONNECTION_DISABLED
from referrals.models import Connection, DroppedReferrer, PushLog, ReferralRow, SitemapPage
from referrals.tenancy.services import api_key_create
from tests.factories import event, push


def chunked_request(body: bytes, terminated: bool = True):
    request = RequestFactory().post("/x", data=b"", content_type="application/x-ndjson")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    request.META["wsgi.input"] = io.BytesIO(body)
    if terminated:
        request.META["wsgi.input_terminated"] = True
    return request


def test_chunked_body_is_read_when_the_server_terminates_the_stream():
    body = b'{"a": 1}\n' * 1000
    assert read_body(chunked_request(body), limit=len(body)) == body


def test_chunked_body_over_the_limit_is_413_without_reading_it_all():
    stream_body = b"x" * (200 * 1024)
    request = chunked_request(stream_body)
    with pytest.raises(PushError) as error:
        read_body(request, limit=100 * 1024)
    assert error.value.status == 413
    # Reading stopped one chunk past the limit, not at the end of the stream.
    assert request.META["wsgi.input"].tell() < len(stream_body)


def test_chunked_body_without_a_terminated_stream_reads_as_empty():
    assert read_body(chunked_request(b"[1]", terminated=False), limit=100) == b""


def test_lying_content_length_reads_only_what_was_declared(api_client, connection):
    body = json.dumps([event()]).encode()
    response = api_client.generic(
        "POST",
        f"/v1/{connection.brand_id}/ai-referrals/connections/{connection.pk}/events",
        body,
        content_type="application/json",
        CONTENT_LENGTH=str(len(body) - 5),
    )
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["detail"]
    assert not ReferralRow.objects.exists()


@pytest.mark.postgres  # an in-memory SQLite test database cannot be taken away
@pytest.mark.django_db(transaction=True)
def test_database_outage_is_503_with_retry_after_never_401(organization, brand):
    token = api_key_create(organization=organization, name="x", scopes=["configure"]).token
    connection = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    saved = dict(db.settings_dict)
    db.close()
    db.settings_dict["HOST"] = "/nonexistent-socket-dir"
    try:
        response = push(client, connection, [event()])
        listing = client.get(f"/v1/{brand.pk}/ai-referrals/connections")
    finally:
        db.close()
        db.settings_dict.clear()
        db.settings_dict.update(saved)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "retry" in response.json()["detail"].lower()
    assert listing.status_code == 503
    assert not ReferralRow.objects.exists()  # the database is back


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_disable_holding_the_connection_makes_a_waiting_push_410(organization, brand):
    token = api_key_create(organization=organization, name="x", scopes=["configure"]).token
    connection = Connection.objects.create(
        brand=brand, website="example.com", provider="adobe_analytics"
    )
    locked = threading.Event()
    release = threading.Event()
    result = {}

    def disable_slowly():
        try:
            with transaction.atomic():
                Connection.objects.select_for_update().get(pk=connection.pk)
                locked.set()
                release.wait(10)
                connection_disable(connection=connection)
        finally:
            connections.close_all()

    def push_meanwhile():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            result["push"] = push(client, connection, [event()])
        finally:
            connections.close_all()

    disabler = threading.Thread(target=disable_slowly)
    disabler.start()
    assert locked.wait(10)
    pusher = threading.Thread(target=push_meanwhile)
    pusher.start()
    pusher.join(1.0)
    assert pusher.is_alive()  # the push waits for the disable's lock
    release.set()
    disabler.join(10)
    pusher.join(10)
    assert result["push"].status_code == 410
    assert not ReferralRow.objects.exists()


def test_a_disable_landing_after_the_views_check_makes_the_push_410_on_any_database(
    api_client, connection, monkeypatch
):
    """The view saw an active connection; a DELETE disables it before the push's transaction
    starts. The transaction's own re-check must refuse the batch (the PostgreSQL test above
    races two threads for the lock; this runs the same interleaving in one thread)."""
    real_with_retries = upsert.with_retries

    def disable_first(write):
        connection_disable(connection=connection)
        return real_with_retries(write)

    monkeypatch.setattr(upsert, "with_retries", disable_first)
    response = push(api_client, connection, [event(), event(raw_referrer_value="google.com")])

    assert response.status_code == 410, response.content
    assert response.json() == {"detail": CONNECTION_DISABLED.format(id=connection.pk)}
    connection.refresh_from_db()
    assert connection.status == Connection.STATUS_DISABLED
    assert not ReferralRow.objects.exists()
    assert not SitemapPage.objects.exists()
    assert not DroppedReferrer.objects.exists()
    assert not PushLog.objects.exists()
    assert connection.last_pushed_at is None


@pytest.mark.postgres  # the COPY path
@pytest.mark.django_db
def test_a_session_lost_during_the_copy_is_a_503_and_stores_nothing(
    api_client, connection, monkeypatch
):
    """Found by `python -m reliability` (pg_terminate_backend mid-push): the COPY runs on the
    raw psycopg cursor, whose errors Django does not wrap, so a session terminated there
    answered 500. The error psycopg raises then is injected here."""

    def terminated(self, row):
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    monkeypatch.setattr(psycopg.Copy, "write_row", terminated)
    response = push(api_client, connection, [event()])
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not ReferralRow.objects.exists()


def test_a_closed_connection_is_a_503_not_a_500():
    """Django's InterfaceError (a connection already closed) is not one of its DatabaseErrors."""
    response = exception_handler(InterfaceError("connection already closed"), {})
    assert response.status_code == 503
    assert response["Retry-After"]
