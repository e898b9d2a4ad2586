#!/usr/bin/env bash
# Run a benchmark (bench/<name>.py) against a throwaway PostgreSQL with default durability,
# unless DATABASE_URL already points at one. BENCH_PG_OPTIONS replaces the server options
# the read and renormalize benchmarks set ("" for PostgreSQL's defaults).
# Usage: scripts/bench.sh ingest|read|citus|rebalance|push_client|crawl|renormalize|agents_read
# (BENCH_READ_CITUS=1 scripts/bench.sh read: the read benchmark on a Citus cluster)
# `citus` compares a plain PostgreSQL and a Citus cluster (a coordinator and two workers, see
# scripts/citus.sh), both started here with fsync off, as the test servers run; `rebalance`
# adds a worker to a cluster and moves shards onto it while pushes go on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
SECRET_KEY="${SECRET_KEY:-$(scripts/secret_key.sh)}"  # a throwaway key for this run
export SECRET_KEY
name="${1:?usage: scripts/bench.sh ingest|read|citus|rebalance|push_client|crawl|renormalize|agents_read}"
# A production server gives PostgreSQL's buffers about a quarter of the memory
# (docs/operations.md, "PostgreSQL settings"); the read benchmarks do too.
memory_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
if [ "$name" = citus ] && [ -z "${CITUS_DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/citus.sh
  . scripts/citus.sh  # and scripts/pg.sh
  trap 'pg_stop; citus_stop' EXIT
  citus_ensure
  pg_start
  PLAIN_DATABASE_URL="$DATABASE_URL"
  citus_start
  CITUS_DATABASE_URL="$DATABASE_URL"
  export PLAIN_DATABASE_URL CITUS_DATABASE_URL
elif [ "$name" = read ] && [ -n "${BENCH_READ_CITUS:-}" ] && [ -z "${DATABASE_URL:-}" ]; then
  # The read benchmark on a Citus cluster (a coordinator and two workers), the quarter of the
  # memory a production server gives its buffers shared by the three nodes of this machine.
  # shellcheck source=scripts/citus.sh
  . scripts/citus.sh
  trap citus_stop EXIT
  citus_ensure
  CITUS_PG_OPTIONS="${BENCH_PG_OPTIONS--c shared_buffers=$((memory_mb / 12))MB}" citus_start
elif [ "$name" = rebalance ]; then
  # A cluster whose shards can move by logical replication (Citus's default transfer mode).
  # shellcheck source=scripts/citus.sh
  . scripts/citus.sh
  trap citus_stop EXIT
  citus_ensure
  CITUS_PG_OPTIONS="-c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40" \
    citus_start
elif [ -z "${DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/pg.sh
  . scripts/pg.sh
  trap pg_stop EXIT
  if [ "$name" = renormalize ]; then
    # The checkpoint, WAL and background-writer settings of a production server for a bulk
    # rewrite (docs/operations.md, "PostgreSQL settings"); BENCH_PG_OPTIONS="" measures
    # with PostgreSQL's defaults instead.
    production="-c max_wal_size=8GB -c checkpoint_timeout=15min"
    production+=" -c checkpoint_completion_target=0.9 -c wal_compression=lz4"
    production+=" -c bgwriter_delay=50ms -c bgwriter_lru_maxpages=1000"
    production+=" -c bgwriter_lru_multiplier=4"
    PG_EXTRA_OPTIONS="${BENCH_PG_OPTIONS-$production}" PG_DURABLE=1 pg_start
  elif [ "$name" = read ]; then
    PG_EXTRA_OPTIONS="${BENCH_PG_OPTIONS--c shared_buffers=$((memory_mb / 4))MB}" \
      PG_DURABLE=1 pg_start
  else
    PG_DURABLE=1 pg_start
  fi
fi
.venv/bin/python "bench/$name.py"
