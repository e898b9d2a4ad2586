"""A push runs without cyclic garbage collection, and leaves the collector as it found it."""

import gc
import json

import pytest

from referrals.ingest.parse import PushError
from referrals.ingest.pipeline import PushContext, push_events
from referrals.models import ReferralRow
from tests.factories import event


def context(connection) -> PushContext:
    return PushContext(connection=connection, api_key_id=None, request_id="", dry_run=False)


def test_a_push_starts_no_collection(connection, collections):
    body = json.dumps([event(raw_page_value=f"/p/{i}") for i in range(300)]).encode()
    assert gc.isenabled()
    before = len(collections)
    outcome = push_events(context=context(connection), body=body, fmt="json")
    # At most the one the threshold starts as the collector comes back (dozens without the
    # pause).
    assert len(collections) - before <= 1
    assert gc.isenabled()
    assert outcome.accepted == 300
    assert ReferralRow.objects.filter(connection=connection).count() == 300
    assert len(collections) > before  # the threshold does start collections


def test_a_refused_push_enables_the_collector_again(connection, collections):
    with pytest.raises(PushError):
        push_events(context=context(connection), body=b"[{", fmt="json")
    assert gc.isenabled()
    gc.disable()  # and leaves it off when it was off
    try:
        push_events(context=context(connection), body=json.dumps([event()]).encode(), fmt="json")
        assert not gc.isenabled()
    finally:
        gc.enable()
