"""/healthz and /readyz: what a load balancer asks every few seconds, without authentication.

/healthz says the process answers (no database). /readyz says this instance can serve pushes
and reads: the database answers, every migration this code ships is applied, the daily
rollup's triggers are in place (referrals/db/rollup.py), and on Citus every worker answers.
Each check is one or two small catalogue queries, all in one transaction under a 2 s statement
timeout on PostgreSQL, so that a stuck database makes it fail, not hang.
"""

import logging
import time
from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from referrals.db.citus import citus_installed
from referrals.db.rollup import rollup_models, rollups_problems, rollups_supported

logger = logging.getLogger(__name__)

STATEMENT_TIMEOUT = "2s"
MIGRATIONS_PENDING = "{count} migration(s) not applied, first {first}: run manage.py migrate"
TRIGGERS_BROKEN = "rollup triggers: {problems} (manage.py rollup_repair)"
TABLES_MISSING = "rollup tables missing: run manage.py migrate"
WORKERS_DOWN = "Citus worker(s) not answering: {nodes}"
NO_WORKERS = "no active Citus worker in pg_dist_node"


class CheckFailed(Exception):
    """A readiness check's failure; its message is shown in /readyz's answer."""


@cache
def _shipped_migrations() -> frozenset[tuple[str, str]]:
    """Every migration on disk (fixed for the life of the process): read once."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_migrations() -> None:
    applied = set(MigrationRecorder(connection).applied_migrations())
    pending = sorted(_shipped_migrations() - applied)
    if pending:
        first = ".".join(pending[0])
        raise CheckFailed(MIGRATIONS_PENDING.format(count=len(pending), first=first))


def check_rollup_triggers() -> None:
    rows = apps.get_model("referrals", "ReferralRow")
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    rollups = rollup_models(apps)
    if rollups_supported(db=connection, rows=rows, rollups=rollups) != rollups:
        raise CheckFailed(TABLES_MISSING)
    problems = rollups_problems(db=connection, rows=rows, rollups=rollups)
    if problems:
        raise CheckFailed(TRIGGERS_BROKEN.format(problems="; ".join(p.message for p in problems)))


def check_citus_workers() -> None:
    """On a Citus coordinator, `SELECT 1` on every active primary worker (one round trip)."""
    if not citus_installed(db=connection):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT nodename, nodeport, success FROM run_command_on_workers('SELECT 1')")
        results = cursor.fetchall()
    if not results:
        raise CheckFailed(NO_WORKERS)
    down = [f"{name}:{port}" for name, port, success in results if not success]
    if down:
        raise CheckFailed(WORKERS_DOWN.format(nodes=", ".join(down)))


# In order: a later check is pointless once an earlier one failed.
READINESS_CHECKS: list[tuple[str, Callable[[], None]]] = [
    ("database", check_database),
    ("migrations", check_migrations),
    ("rollup_triggers", check_rollup_triggers),
    ("citus_workers", check_citus_workers),
]


def readiness() -> tuple[bool, dict[str, str]]:
    """Run the checks in order, in one read-only transaction; each is named 'ok', its
    failure, or 'skipped' after a failure."""
    results = dict.fromkeys((name for name, _ in READINESS_CHECKS), "skipped")
    current = READINESS_CHECKS[0][0]
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
            for current, check in READINESS_CHECKS:
                check()
                results[current] = "ok"
    except CheckFailed as error:
        results[current] = str(error)
        return False, results
    except (DatabaseError, InterfaceError) as error:
        results[current] = f"database error: {error.__class__.__name__}"
        # A broken connection must not be reused by the next probe or request.
        connection.close_if_unusable_or_obsolete()
        return False, results
    return True, results


_last_ready: list[bool | None] = [None]  # per process: log transitions, not every probe


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    started = time.monotonic()
    ready, checks = readiness()
    if _last_ready[0] is not None and ready != _last_ready[0]:
        log = logger.info if ready else logger.warning
        log("readiness changed: %s %s", "ready" if ready else "not ready", checks)
    _last_ready[0] = ready
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    response = JsonResponse(body, status=200 if ready else 503)
    # Django logs every 5xx at ERROR (django.request); a probe every few seconds while the
    # database is down would flood the log. The transition above is logged once instead.
    response._has_been_logged = True
    if not ready:
        response["Retry-After"] = "5"
    return response
