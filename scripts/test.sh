#!/usr/bin/env bash
# The README's test command: lint, migrations check, then the whole suite on SQLite and on a
# real PostgreSQL server started here. Extra arguments go to pytest (e.g. -k ingest).
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
# shellcheck source=scripts/pg.sh
. scripts/pg.sh
trap pg_stop EXIT
pg_start
.venv/bin/python -m pytest "$@"
