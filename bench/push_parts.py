"""What each part of the service's row table costs a push: its rollups and its indexes.

The merge statement of bench/ingest.py's floors, alone (no COPY, no commit), merging the same
rows into the same table under each variant: the service's table as it is, without one
rollup's triggers or one index, and with a monthly (page, platform) rollup, the one that
one platform's year of page rankings, a page list's platform split and the export would read
instead of rows (issue 15: "measure the cost of each index and rollup per push"). Each
variant runs in a transaction that is rolled back, so that every variant of a round merges
the same rows into the same table; the rounds take the variants in turn, so that the
machine's drift spreads over all of them. PostgreSQL only (the benchmark's server).
"""

import statistics
import time
from dataclasses import dataclass

from bench.ingest import batch_copy, own_merge_sql, spec_merge_sql

ROWS = "referrals_referralrow"
# A hypothetical rollup, filled from the rows before the rounds and dropped after them.
PAGE_PLATFORM = "bench_monthly_page_platform"
_PAGE_PLATFORM_SUMS = (
    "count(*), sum(coalesce(pageviews, 0)), sum(coalesce(sessions, 0)), "
    "sum(coalesce(transactions, 0)), sum(coalesce(purchase_revenue, 0))"
)
_PAGE_PLATFORM_GROUP = (
    "SELECT brand_id, connection_id, date_trunc('month', date)::date, page_id, platform_id, "
    f"{_PAGE_PLATFORM_SUMS} FROM {{rows}} WHERE platform_id IS NOT NULL "
    "GROUP BY 1, 2, 3, 4, 5"
)
# Its insert trigger, as the service's rollups have one (the batches insert ~99% of their
# rows; an update trigger would also subtract the replaced rows).
_PAGE_PLATFORM_TRIGGER = (
    f"CREATE FUNCTION {PAGE_PLATFORM}_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO {PAGE_PLATFORM} AS d {_PAGE_PLATFORM_GROUP.format(rows='new_rows')} "
    "ON CONFLICT (brand_id, connection_id, month, page_id, platform_id) DO UPDATE SET "
    "row_count = d.row_count + excluded.row_count, pageviews = d.pageviews + excluded.pageviews,"
    " sessions = d.sessions + excluded.sessions, "
    "transactions = d.transactions + excluded.transactions, "
    "purchase_revenue = d.purchase_revenue + excluded.purchase_revenue; "
    "RETURN NULL; END $$",
    f"CREATE TRIGGER {PAGE_PLATFORM}_insert AFTER INSERT ON {ROWS} "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    f"EXECUTE FUNCTION {PAGE_PLATFORM}_insert()",
)


@dataclass(frozen=True)
class Variant:
    label: str
    statements: tuple[str, ...] = ()  # run in the variant's transaction, before the merge
    floor: bool = False  # merge into the spec's floor table instead
    added: bool = False  # a part the table lacks (else one it has, taken away)


def variants() -> list[Variant]:
    """The service's table as it is, less each rollup and each index, plus one rollup."""
    from referrals.db.rollup import OPERATIONS, rollup_models, rollup_spec, trigger_name
    from referrals.models import ReferralRow

    found = [Variant("the spec's floor table", floor=True), Variant("the service's table")]
    for totals in rollup_models():
        name = rollup_spec(totals).name
        disable = tuple(
            f"ALTER TABLE {ROWS} DISABLE TRIGGER {trigger_name(op, name)}" for op in OPERATIONS
        )
        found.append(Variant(f"its rollup {totals._meta.object_name}", disable))
    for index in ReferralRow._meta.indexes:
        found.append(Variant(f"its index {index.name}", (f"DROP INDEX {index.name}",)))
    found.append(Variant("a monthly (page, platform) rollup", _PAGE_PLATFORM_TRIGGER, added=True))
    return found


def _page_platform_create(cur) -> None:
    cur.execute(
        f"CREATE TABLE {PAGE_PLATFORM} (brand_id bigint, connection_id varchar(26), "
        "month date, page_id bigint, platform_id bigint, row_count integer, "
        "pageviews bigint, sessions bigint, transactions bigint, "
        "purchase_revenue numeric(24, 4), "
        "PRIMARY KEY (brand_id, connection_id, month, page_id, platform_id)) "
        "WITH (fillfactor = 80)"
    )
    cur.execute(f"INSERT INTO {PAGE_PLATFORM} {_PAGE_PLATFORM_GROUP.format(rows=ROWS)}")
    cur.execute(f"VACUUM ANALYZE {PAGE_PLATFORM}")


def _merge_seconds(conn, variant: Variant, connection, records: list[tuple]) -> float:
    try:
        with conn.cursor() as cur:
            batch_copy(cur, records)
            for statement in variant.statements:
                cur.execute(statement)
            merge = spec_merge_sql(connection) if variant.floor else own_merge_sql(connection)
            started = time.perf_counter()
            cur.execute(*merge)
            return time.perf_counter() - started
    finally:
        conn.rollback()


def part_costs(dsn_kwargs: dict, connection, batches: list[list[tuple]]) -> list[tuple]:
    """(variant, median ms) of the merge statement under each variant, a round per batch."""
    import psycopg

    found = variants()
    times: dict[str, list[float]] = {variant.label: [] for variant in found}
    with psycopg.connect(**dsn_kwargs, autocommit=True) as setup:
        _page_platform_create(setup)
        try:
            with psycopg.connect(**dsn_kwargs) as conn:
                for records in batches:
                    for variant in found:
                        seconds = _merge_seconds(conn, variant, connection, records)
                        times[variant.label].append(seconds)
        finally:
            setup.execute(f"DROP TABLE {PAGE_PLATFORM}")
    return [(variant, statistics.median(times[variant.label]) * 1000) for variant in found]


def part_costs_print(costs: list[tuple], rows: int) -> None:
    """The floor and the table as they are, then what each part costs the table's merge."""
    (floor, floor_ms), (table, table_ms), *parts = costs
    print(f"\nthe merge statement alone ({rows:,} rows, medians, each rolled back)")
    print(f"  {floor.label:<44}{floor_ms:8.1f} ms")
    print(f"  {table.label:<44}{table_ms:8.1f} ms   {table_ms / floor_ms:.2f}x the floor's")
    for variant, ms in parts:
        label = f"{variant.label}, if added" if variant.added else variant.label
        cost = ms - table_ms if variant.added else table_ms - ms
        print(f"    {label:<42}{cost:+8.1f} ms")
