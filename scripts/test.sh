#!/usr/bin/env bash
# The README's test command: lint, migrations check, then the whole suite on SQLite, on a real
# PostgreSQL server started here, and on a local Citus cluster (a coordinator and two workers)
# when Citus can be had (scripts/citus.sh; CI must have it). Extra arguments go to pytest
# (e.g. -k ingest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
SECRET_KEY="${SECRET_KEY:-$(scripts/secret_key.sh)}"  # a throwaway key for this run
export SECRET_KEY
unset DATABASE_URL

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null

scripts/ensure_chromium.sh
echo "==> pytest on SQLite"
.venv/bin/python -m pytest "$@"

echo "==> pytest on PostgreSQL"
# shellcheck source=scripts/citus.sh
. scripts/citus.sh  # and scripts/pg.sh
trap 'pg_stop; citus_stop' EXIT
pg_start
.venv/bin/python -m pytest "$@"
pg_stop

echo "==> pytest on Citus (a coordinator and two workers)"
if ! citus_ensure; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: CI runs the suite on Citus too, and Citus could not be had (see above)" >&2
    exit 1
  fi
  echo "==> skipped the Citus leg: Citus could not be had on this machine (see above)" >&2
  exit 0
fi
citus_start
# Django's test runner would create its test database on the coordinator only; citus_start
# made it on every node with the extension, and --reuse-db makes the runner use it. The fast
# reliability checks start a plain PostgreSQL of their own: the PostgreSQL leg ran them.
.venv/bin/python -m pytest --reuse-db \
  --deselect tests/test_reliability_fast.py::test_reliability_checks_at_ci_sizes "$@"
