"""Whether a database is a Citus coordinator (the `citus` extension is installed)."""

from django.db.backends.base.base import BaseDatabaseWrapper

CITUS_INSTALLED = "SELECT 1 FROM pg_extension WHERE extname = 'citus'"


def citus_installed(*, db: BaseDatabaseWrapper) -> bool:
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute(CITUS_INSTALLED)
        return cursor.fetchone() is not None
