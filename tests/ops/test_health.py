"""/healthz and /readyz: JSON, no authentication, any Host, quiet in the log at INFO."""

import logging

import pytest
from django.db import connection as db
from django.db.migrations.recorder import MigrationRecorder

from referrals.db.rollup import rollup_triggers_install, trigger_name
from referrals.models import DailyPlatformTotal, ReferralRow
from referrals.ops.health import MIGRATIONS_PENDING

ROWS = "referrals_referralrow"


def test_healthz_needs_no_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"].values()) == {"ok"}
    assert {"database", "migrations", "rollup_triggers", "citus_workers"} == set(body["checks"])


@pytest.mark.django_db
def test_probes_answer_any_host_without_a_redirect(client, settings):
    """A load balancer calls by address over plain HTTP, even behind SECURE_DEPLOY."""
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.0.0.5:8000")
        assert response.status_code == 200, path


@pytest.mark.django_db
def test_readyz_names_a_pending_migration(client):
    MigrationRecorder(db).record_unapplied("referrals", "0010_citus_distribution")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"]
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"] == MIGRATIONS_PENDING.format(
        count=1, first="referrals.0010_citus_distribution"
    )
    assert checks["rollup_triggers"] == "skipped"


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_missing_rollup_trigger(client):
    on_table = f" ON {ROWS}" if db.vendor == "postgresql" else ""
    with db.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {trigger_name('insert')}{on_table}")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert trigger_name("insert") in response.json()["checks"]["rollup_triggers"]
    finally:
        rollup_triggers_install(db=db, rows=ReferralRow, totals=DailyPlatformTotal)
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_probes_are_not_logged_at_info(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    client.get("/readyz")
    client.get("/accounts/login/")
    requests = [r for r in caplog.records if r.name == "referrals.requests"]
    assert [r.path for r in requests] == ["/accounts/login/"]
    assert requests[0].levelno == logging.INFO


@pytest.mark.django_db
def test_readyz_is_cheap(client, django_assert_max_num_queries):
    client.get("/readyz")  # the migration graph is read from disk once per process
    with django_assert_max_num_queries(12):  # 11 on Citus
        assert client.get("/readyz").status_code == 200
