"""Citus: migration 0014's tables are distributed by brand_id with the pages, the agent list is
a reference table, and the agent tables' keys lead with brand_id on every PostgreSQL."""

import pytest
from django.db import connection as db

from referrals.db.citus import COLOCATION_ANCHOR


def partition(table: str) -> tuple[str, bool] | None:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT p.partmethod, p.colocationid = a.colocationid FROM pg_dist_partition p, "
            "pg_dist_partition a WHERE p.logicalrelid = %s::regclass "
            "AND a.logicalrelid = %s::regclass",
            [table, COLOCATION_ANCHOR],
        )
        return cursor.fetchone()


@pytest.mark.citus
@pytest.mark.django_db
@pytest.mark.parametrize(
    "table",
    ["referrals_agenttrafficrow", "referrals_dailyagenttotal", "referrals_droppeduseragent"],
)
def test_agent_tables_are_distributed_with_the_pages(table):
    assert partition(table) == ("h", True)


@pytest.mark.citus
@pytest.mark.django_db
def test_the_agent_list_is_a_reference_table():
    assert partition("referrals_aiagent")[0] == "n"


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("referrals_agenttrafficrow", "brand_id, id"),
        ("referrals_droppeduseragent", "brand_id, id"),
        ("referrals_dailyagenttotal", "brand_id, connection_id, date, agent_id"),
    ],
)
def test_primary_keys_lead_with_the_brand(table, key):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        assert cursor.fetchone()[0] == f"PRIMARY KEY ({key})"
