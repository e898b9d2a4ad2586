"""Content-Encoding: gzip push bodies: the limit on both sizes, bombs, corrupt streams, 415."""

import gzip
import json
import tracemalloc
import zlib

import pytest
from django.test import override_settings

from referrals.ingest import compression, parse
from referrals.ingest.api import read_body
from referrals.ingest.parse import PushError
from referrals.models import PushLog, ReferralRow
from tests.factories import event, post_raw, push
from tests.ingest.test_push_edges import chunked_request

pytestmark = pytest.mark.django_db

LIMIT = 5 * 1024 * 1024


def stored(connection) -> list[tuple]:
    fields = (
        "date",
        "raw_referrer_value",
        "raw_page_value",
        "pageviews",
        "sessions",
        "transactions",
        "purchase_revenue",
        "batch_id",
        "platform_id",
    )
    return sorted(ReferralRow.objects.filter(connection=connection).values_list(*fields))


def events_body(count: int = 3) -> bytes:
    events = [event(raw_page_value=f"/p/{i}", sessions=i) for i in range(count)]
    events.append(event(raw_referrer_value="google.com"))  # rejected by the allow-list
    return json.dumps(events).encode()


def gzip_post(client, connection, body: bytes, encoding="gzip", **extra):
    return post_raw(client, connection, body, HTTP_CONTENT_ENCODING=encoding, **extra)


def bomb(size: int) -> bytes:
    """`size` bytes of an NDJSON-looking line, compressed about a thousandfold."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    line = b" " * (1024 * 1024)
    parts = [compressor.compress(line) for _ in range(size // len(line))]
    return b"".join(parts) + compressor.flush()


def test_a_gzip_push_is_stored_exactly_like_the_plain_one(api_client, connection, brand):
    body = events_body()
    plain = post_raw(api_client, connection, body)
    assert plain.status_code == 200, plain.json()
    plain_rows = stored(connection)
    ReferralRow.objects.all().delete()

    compressed = gzip_post(api_client, connection, gzip.compress(body))
    assert compressed.status_code == 200, compressed.json()
    assert (
        compressed.json()
        == plain.json()
        == {
            "accepted": 3,
            "rejected": 1,
            "errors": compressed.json()["errors"],
            "warnings": [],
        }
    )
    assert stored(connection) == plain_rows
    assert len(plain_rows) == 3


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip", "identity, gzip", "gzip "])
def test_gzip_names_are_accepted(api_client, connection, encoding):
    response = gzip_post(api_client, connection, gzip.compress(events_body()), encoding)
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("encoding", ["identity", "", "Identity"])
def test_identity_is_the_plain_body(api_client, connection, encoding):
    response = gzip_post(api_client, connection, events_body(), encoding)
    assert response.status_code == 200, response.json()


def test_gzip_ndjson_push(api_client, connection):
    body = "\n".join(json.dumps(event(raw_page_value=f"/n/{i}")) for i in range(5)).encode()
    response = gzip_post(
        api_client, connection, gzip.compress(body), content_type="application/x-ndjson"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["accepted"] == 5


def test_concatenated_gzip_members_are_one_body(api_client, connection):
    lines = [json.dumps(event(raw_page_value=f"/m/{i}")).encode() + b"\n" for i in range(4)]
    body = b"".join(gzip.compress(line) for line in lines)
    response = gzip_post(api_client, connection, body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.json()
    assert response.json()["accepted"] == 4


@pytest.mark.parametrize("encoding", ["br", "deflate", "compress", "zstd", "gzip, gzip", "x"])
def test_another_content_encoding_is_415(api_client, connection, encoding):
    response = gzip_post(api_client, connection, gzip.compress(events_body()), encoding)
    assert response.status_code == 415
    assert response.json() == {"detail": compression.UNSUPPORTED_ENCODING.format(given=encoding)}
    assert not ReferralRow.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not gzip at all", "incorrect header check"),
        (gzip.compress(b"[]")[:-6], compression.TRUNCATED),
        (gzip.compress(b"[]") + b"trailing junk", "incorrect header check"),
        (gzip.compress(b"[]")[:10] + b"\xff" * 20, None),
    ],
)
def test_a_corrupt_gzip_body_is_400_with_a_clear_detail(api_client, connection, body, reason):
    response = gzip_post(api_client, connection, body)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("Content-Encoding is gzip, but the body is not valid gzip: ")
    if reason:
        assert reason in detail
    assert not ReferralRow.objects.exists()
    connection.refresh_from_db()
    assert connection.last_push_error == detail


def test_a_corrupt_checksum_is_400(api_client, connection):
    body = bytearray(gzip.compress(events_body()))
    body[-8] ^= 0xFF  # the CRC-32 in the trailer
    response = gzip_post(api_client, connection, bytes(body))
    assert response.status_code == 400
    assert "incorrect data check" in response.json()["detail"]


def test_an_empty_gzip_body_is_the_empty_body_400(api_client, connection):
    response = gzip_post(api_client, connection, gzip.compress(b""))
    assert response.status_code == 400
    assert response.json() == {"detail": parse.EMPTY_BODY}


def test_too_large_compressed_is_413_before_reading(api_client, connection):
    body = bytes(range(256)) * (LIMIT // 256 + 1)  # incompressible, over the limit as sent
    response = gzip_post(api_client, connection, body)
    assert response.status_code == 413
    assert response.json() == {"detail": parse.BODY_TOO_LARGE.format(limit=LIMIT)}


def test_too_large_decompressed_is_413(api_client, connection):
    line = json.dumps(event(raw_page_value="/x" * 500)).encode() + b"\n"
    body = line * (LIMIT // len(line) + 1)  # valid NDJSON just over 5 MiB, far under gzipped
    assert len(body) > LIMIT
    compressed = gzip.compress(body)
    assert len(compressed) < LIMIT // 10
    response = gzip_post(api_client, connection, compressed, content_type="application/x-ndjson")
    assert response.status_code == 413
    assert response.json() == {"detail": compression.DECOMPRESSED_TOO_LARGE.format(limit=LIMIT)}
    assert PushLog.objects.get().status_code == 413


def test_exactly_the_limit_decompressed_is_read_whole():
    body = b"x" * 1000
    chunks = [gzip.compress(body)]
    assert compression.gunzip_bounded(chunks, limit=1000) == body
    with pytest.raises(PushError) as error:
        compression.gunzip_bounded(chunks, limit=999)
    assert error.value.status == 413


def test_a_gzip_bomb_is_413_with_flat_memory(api_client, connection):
    compressed = bomb(256 * 1024 * 1024)  # 256 MiB of output from about 256 KiB
    assert len(compressed) < 1024 * 1024
    tracemalloc.start()
    try:
        response = gzip_post(api_client, connection, compressed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json() == {"detail": compression.DECOMPRESSED_TOO_LARGE.format(limit=LIMIT)}
    # The compressed body and at most the limit of output (copied once), never the 256 MiB.
    assert peak < 4 * LIMIT
    assert not ReferralRow.objects.exists()


def test_a_bomb_stops_at_the_limit_of_output():
    """The decompressor is fed chunk by chunk and never asked for more than the room left."""
    fed = []

    def chunks():
        data = bomb(64 * 1024 * 1024)
        for start in range(0, len(data), 4096):
            fed.append(start)
            yield data[start : start + 4096]

    with pytest.raises(PushError) as error:
        compression.gunzip_bounded(chunks(), limit=1024 * 1024)
    assert error.value.status == 413
    assert len(fed) < 10  # stopped long before the 64 KiB of input ran out


def test_a_chunked_gzip_body_is_decompressed():
    body = json.dumps([event()]).encode()
    request = chunked_request(gzip.compress(body))
    request.META["HTTP_CONTENT_ENCODING"] = "gzip"
    assert read_body(request, limit=LIMIT) == body


@override_settings(PUSH_MAX_EVENTS=3)
def test_the_event_count_limit_applies_to_the_decompressed_body(api_client, connection):
    response = gzip_post(api_client, connection, gzip.compress(events_body(3)))
    assert response.status_code == 413
    assert response.json() == {"detail": parse.TOO_MANY_EVENTS.format(count=4, limit=3)}


def test_dry_run_with_gzip_stores_nothing(api_client, connection):
    body = gzip.compress(json.dumps([event()]).encode())
    response = api_client.generic(
        "POST",
        f"/v1/{connection.brand_id}/ai-referrals/connections/{connection.pk}/events?dry_run=true",
        body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert not ReferralRow.objects.exists()


def test_plain_push_still_works_without_the_header(api_client, connection):
    assert push(api_client, connection, [event()]).status_code == 200
