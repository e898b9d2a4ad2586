"""The Sitemap API's reads planned without nested loops, whatever the statistics say.

Its reads join a connection's rows, or their sums, with its pages. While PostgreSQL's
statistics do not know the connection yet (a new brand's first pushes before the next
ANALYZE, which on a large table autovacuum may run only days later), it estimates one row on
each side and picks a nested loop that rescans one side for every row of the other. Measured
on a fresh database with 10,000 rows of 5,000 pages: the list by AI referrals 3.6 s, the
export 1.6-3.7 s; 25-180 ms once analyzed, and the same without nested loops before it. A year
of rows would take hours. Without nested loops the planner hashes, which at 5M rows with good
statistics is as fast or faster for these reads (`make bench-read`).

Not the dashboard: its section and priority views read a few pages' rows through nested loops
over the pages' index, 80 ms for 28 days, which without nested loops took 600 ms (bench-read).

`report_plans` wraps a read in a transaction whose queries are planned so. On Citus a router
query is planned on its worker, which a SET LOCAL reaches with
`citus.propagate_set_commands = 'local'` (plain PostgreSQL takes that name as a placeholder
setting and ignores it). SQLite plans its own way and is left alone.
"""

from contextlib import contextmanager

from django.db import connection, transaction

# One round trip; each a SET statement, which Citus propagates (set_config() it would not).
# JIT is off for the service's connections (project/settings.py) but not for the connections a
# Citus coordinator opens to its workers; with nested loops off, a plan that has no other way
# (a join with one platform, by its id) costs enough to be compiled there: +150 ms a query.
PLAN_SETTINGS = (
    "SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL enable_nestloop = off; "
    "SET LOCAL jit = off"
)


@contextmanager
def report_plans():
    """A transaction whose queries are planned without nested loops (PostgreSQL, Citus).

    Inside a transaction already (a test's), a savepoint: a refused read (a 404, a 400)
    raises through it, and the outer transaction must stay usable."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(PLAN_SETTINGS)
        yield
