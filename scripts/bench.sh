#!/usr/bin/env bash
# Run a benchmark (bench/<name>.py) against a throwaway PostgreSQL with default durability,
# unless DATABASE_URL already points at one. Usage: scripts/bench.sh ingest|read
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
SECRET_KEY="${SECRET_KEY:-$(scripts/secret_key.sh)}"  # a throwaway key for this run
export SECRET_KEY
name="${1:?usage: scripts/bench.sh ingest|read|crawl}"
if [ -z "${DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/pg.sh
  . scripts/pg.sh
  trap pg_stop EXIT
  PG_DURABLE=1 pg_start
fi
.venv/bin/python "bench/$name.py"
