"""The rows table is lean (migration 0015): no metric in any index and free space on every heap
page, so that a re-push's metric updates are HOT (written in place, no index touched); the page
rollups the push's triggers update leave free space too (migration 0016)."""

import pytest
from django.db import connection as db

from referrals.db.citus import citus_installed
from referrals.models import (
    NON_NEGATIVE_METRICS,
    MonthlyPageTotal,
    ReferralRow,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROWS = ReferralRow._meta.db_table


def test_no_index_of_the_rows_holds_a_metric():
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, a.attname FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass",
            [ROWS],
        )
        indexed = cursor.fetchall()
    assert indexed, "the rows table has indexes"
    assert [(index, column) for index, column in indexed if column in NON_NEGATIVE_METRICS] == []
    assert "referral_row_window" not in {index for index, _ in indexed}


@pytest.mark.parametrize("table", [ROWS, *(m._meta.db_table for m in (MonthlyPageTotal,))])
def test_updated_tables_leave_free_space_on_every_page(table):
    with db.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [table])
        assert "fillfactor=80" in cursor.fetchone()[0]
        if citus_installed(db=db):  # the shards, where the rows are, too
            cursor.execute(
                "SELECT result FROM run_command_on_shards(%s, "
                "$$SELECT reloptions::text FROM pg_class WHERE oid = '%%s'::regclass$$)",
                [table],
            )
            shards = [result for (result,) in cursor.fetchall()]
            assert shards and all("fillfactor=80" in result for result in shards)
