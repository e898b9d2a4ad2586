"""referrals.ops.throttle: the rest a long command takes after each batch."""

import pytest
from django.db import connection

from referrals.ops.throttle import Throttle


def test_the_longest_of_the_limits_wins():
    assert Throttle().rest_after(0.2, None) == 0
    assert Throttle(pause=0.1).rest_after(0.2, None) == 0.1
    assert Throttle(pause=0.1, pause_factor=1.0).rest_after(0.2, None) == 0.2
    # 3 MB of WAL at 2 MB/s: 1.5 s in all, the batch took 0.2 s of them
    wal = Throttle(pause=0.1, max_wal_rate=2 * 2**20)
    assert wal.rest_after(0.2, 3 * 2**20) == pytest.approx(1.3)
    assert wal.rest_after(2.0, 3 * 2**20) == 0.1  # the batch was slower than the rate
    assert wal.rest_after(0.2, None) == 0.1  # no WAL to read (SQLite)


def test_no_rest_after_a_failed_batch():
    rests: list[float] = []
    throttle = Throttle(pause=1.0, sleep=rests.append)
    with pytest.raises(KeyboardInterrupt), throttle.batch():
        raise KeyboardInterrupt
    assert rests == []
    with throttle.batch():
        pass
    assert rests == [1.0]


@pytest.mark.django_db
def test_the_wal_rate_reads_the_servers_wal_or_nothing():
    rests: list[float] = []
    throttle = Throttle(max_wal_rate=1.0, sleep=rests.append)  # 1 byte/s
    with throttle.batch(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE throttle_probe (x int)")
        cursor.execute("INSERT INTO throttle_probe VALUES (1)")
    if connection.vendor == "postgresql":
        assert rests and rests[0] > 100  # hundreds of bytes of WAL at least
    else:
        assert rests == []  # SQLite has no WAL position to read: no rest from this limit
