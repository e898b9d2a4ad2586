#!/usr/bin/env bash
# Rehearse the Citus backup and restore of docs/operations.md ("Citus") end to end on a
# throwaway cluster (scripts/citus.sh: a coordinator and two workers on unix sockets):
#
#  1. WAL archiving on every node (archive_mode, archive_command into archive/nodePORT);
#  2. the service's schema (migrate) and data (seed_demo: 90 days of both kinds of traffic
#     pushed through the real API);
#  3. a base backup of every node (pg_basebackup), while the cluster runs;
#  4. more writes after the base backups (rows copied 400 days back: WAL replay must bring them);
#  5. the state to restore to (every table's row count and a digest of its sorted rows, read
#     through the coordinator), then a cluster-wide restore point on the coordinator:
#     citus_create_restore_point('rehearsal');
#  6. writes after the restore point (every row's sessions + 1: the restore must not have them);
#  7. every node's current WAL segment switched and archived, the cluster stopped;
#  8. restore: each node's base backup copied into a fresh node directory, with
#     restore_command (the node's archive), recovery_target_name = 'rehearsal' and
#     recovery_target_action = 'promote'; workers started first, the coordinator last;
#  9. checks: every table's count and digest equal step 5's, the rollup equals the GROUP BY
#     of the rows, every node answers the coordinator, `manage.py check --database default`
#     passes (the rollup's triggers are there) and a new write works.
#
# Why physical (pg_basebackup + WAL + citus_create_restore_point) rather than pg_dump: a
# pg_dump of the coordinator reads each shard in its own transaction on its worker, so with
# pushes running it is not one snapshot of the cluster (a push committed between two shards'
# reads is half in it), and a pg_dump per node has no common point at all. The restore point
# is written into every node's WAL in one distributed transaction that blocks writes for the
# moment it takes, so recovering every node to it gives one consistent cluster.
#
# Usage: scripts/citus_backup_rehearsal.sh   (about a minute; prints each step and PASS/FAIL)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/bootstrap.sh dev
SECRET_KEY="${SECRET_KEY:-$(scripts/secret_key.sh)}"  # a throwaway key for this run
export SECRET_KEY
# shellcheck source=scripts/citus.sh
. scripts/citus.sh
trap citus_stop EXIT
citus_ensure
citus_start
COORDINATOR="${CITUS_PORTS[0]}"
WORKERS=("${CITUS_PORTS[@]:1}")
step() { echo "==> $*"; }
sql() {  # sql PORT SQL: one value per line, unaligned
  _pg_as "$PG_BIN/psql" -X -At -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$1" -U postgres \
    -d postgres -c "$2"
}
stop_node() { _pg_as "$PG_BIN/pg_ctl" -D "$CITUS_DIR/node$1" -m fast -w stop >/dev/null; }

step "1. WAL archiving on every node"
for port in "${CITUS_PORTS[@]}"; do
  _pg_as mkdir -p "$CITUS_DIR/archive/node$port"
  _pg_as tee -a "$CITUS_DIR/node$port/postgresql.conf" >/dev/null <<EOF
archive_mode = on
archive_command = 'test ! -f $CITUS_DIR/archive/node$port/%f && cp %p $CITUS_DIR/archive/node$port/%f'
EOF
  stop_node "$port"
  _citus_node_start "$port"
done

step "2. schema and data (migrate, seed_demo)"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed_demo >/dev/null

step "3. base backup of every node (pg_basebackup, cluster running)"
_pg_as mkdir -p "$CITUS_DIR/backup"
for port in "${CITUS_PORTS[@]}"; do
  _pg_as "$PG_BIN/pg_basebackup" -h "$CITUS_DIR" -p "$port" -U postgres \
    -D "$CITUS_DIR/backup/node$port" --checkpoint=fast --wal-method=stream
done
du -sh "$CITUS_DIR/backup"/node* | sed 's/^/    /'

step "4. writes after the base backups"
sql "$COORDINATOR" "
  INSERT INTO referrals_referralrow (connection_id, brand_id, date, raw_referrer_value,
    raw_page_value, page_id, platform_id, pageviews, sessions, transactions, purchase_revenue,
    batch_id, updated_at)
  SELECT connection_id, brand_id, date - 400, raw_referrer_value, raw_page_value, page_id,
    platform_id, pageviews, sessions, transactions, purchase_revenue, 'after-backup', now()
  FROM referrals_referralrow"

# Every table of the schema: count and a digest of its rows in a fixed order.
state() {
  local table
  for table in $(sql "$COORDINATOR" "SELECT tablename FROM pg_tables
      WHERE schemaname = 'public' AND tablename NOT LIKE 'pg\_%' ORDER BY 1"); do
    printf '%s %s %s\n' "$table" \
      "$(sql "$COORDINATOR" "SELECT count(*) FROM $table")" \
      "$(sql "$COORDINATOR" "SELECT t::text FROM $table t ORDER BY 1" | md5sum | cut -c1-12)"
  done
}

step "5. the state to restore to, and the cluster-wide restore point"
state >"$CITUS_DIR/expected.txt"
grep -E '^referrals_(referralrow|dailyplatformtotal|agenttrafficrow|pushlog) ' \
  "$CITUS_DIR/expected.txt" | sed 's/^/    /'
sql "$COORDINATOR" "SELECT citus_create_restore_point('rehearsal')" | sed 's/^/    restore point at /'

step "6. writes after the restore point (the restore must not have them)"
sql "$COORDINATOR" "UPDATE referrals_referralrow SET sessions = sessions + 1"
sql "$COORDINATOR" "DELETE FROM referrals_pushlog"

step "7. the last WAL segments archived, the cluster stopped"
for port in "${CITUS_PORTS[@]}"; do
  segment="$(sql "$port" "SELECT pg_walfile_name(pg_switch_wal())")"
  for _ in $(seq 100); do
    [ -f "$CITUS_DIR/archive/node$port/$segment" ] && break
    sleep 0.1
  done
  [ -f "$CITUS_DIR/archive/node$port/$segment" ] || { echo "node $port: $segment not archived"; exit 1; }
  echo "    node $port: $(find "$CITUS_DIR/archive/node$port" -type f | wc -l) WAL segments archived"
done
for port in "${CITUS_PORTS[@]}"; do
  stop_node "$port"
  _pg_as mv "$CITUS_DIR/node$port" "$CITUS_DIR/lost-node$port"  # the lost cluster, kept aside
done

step "8. restore every node from its base backup and archive to 'rehearsal'"
for port in "${CITUS_PORTS[@]}"; do
  _pg_as cp -a "$CITUS_DIR/backup/node$port" "$CITUS_DIR/node$port"
  _pg_as tee -a "$CITUS_DIR/node$port/postgresql.auto.conf" >/dev/null <<EOF
archive_mode = off
restore_command = 'cp $CITUS_DIR/archive/node$port/%f %p'
recovery_target_name = 'rehearsal'
recovery_target_action = 'promote'
EOF
  _pg_as touch "$CITUS_DIR/node$port/recovery.signal"
done
started=$SECONDS
for port in "${WORKERS[@]}" "$COORDINATOR"; do  # the coordinator last
  _citus_node_start "$port"
done
for port in "${CITUS_PORTS[@]}"; do
  grep -hE "recovery stopping|recovery ended before" "$CITUS_DIR/node$port.log" \
    | sed -E "s/^[^]]*\] /    node $port: /"
done
echo "    restored in $((SECONDS - started)) s"

step "9. checks"
failed=0
state >"$CITUS_DIR/restored.txt"
if diff "$CITUS_DIR/expected.txt" "$CITUS_DIR/restored.txt" >/dev/null; then
  echo "    PASS every table ($(wc -l <"$CITUS_DIR/expected.txt")): row counts and contents as at the restore point"
else
  echo "    FAIL tables differ from the restore point:"
  diff "$CITUS_DIR/expected.txt" "$CITUS_DIR/restored.txt" | sed 's/^/      /'
  failed=1
fi
rollup_diff="$(sql "$COORDINATOR" "
  WITH from_rows AS (
    SELECT brand_id, connection_id, date, platform_id, count(*)::int AS row_count,
      sum(coalesce(pageviews, 0))::bigint AS pageviews, sum(coalesce(sessions, 0))::bigint AS sessions,
      sum(coalesce(transactions, 0))::bigint AS transactions,
      sum(coalesce(purchase_revenue, 0))::numeric(24, 4) AS purchase_revenue
    FROM referrals_referralrow WHERE platform_id IS NOT NULL
    GROUP BY brand_id, connection_id, date, platform_id),
  stored AS (
    SELECT brand_id, connection_id, date, platform_id, row_count, pageviews, sessions,
      transactions, purchase_revenue FROM referrals_dailyplatformtotal WHERE row_count <> 0)
  SELECT (SELECT count(*) FROM (SELECT * FROM from_rows EXCEPT SELECT * FROM stored) a)
       + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM from_rows) b)")"
if [ "$rollup_diff" = 0 ]; then
  echo "    PASS the rollup equals the GROUP BY of the rows" \
    "($(sql "$COORDINATOR" "SELECT count(*) FROM referrals_dailyplatformtotal") daily totals)"
else
  echo "    FAIL the rollup differs from the rows in $rollup_diff groups"
  failed=1
fi
unhealthy="$(sql "$COORDINATOR" "SELECT count(*) FROM citus_check_cluster_node_health() WHERE NOT result")"
if [ "$unhealthy" = 0 ]; then
  echo "    PASS every node reaches every node (citus_check_cluster_node_health)"
else
  echo "    FAIL $unhealthy node pairs do not connect"
  failed=1
fi
if .venv/bin/python manage.py check --database default >/dev/null 2>&1; then
  echo "    PASS manage.py check --database default (the rollup's triggers are in place)"
else
  echo "    FAIL manage.py check --database default"
  failed=1
fi
if sql "$COORDINATOR" "UPDATE referrals_referralrow SET sessions = sessions + 1
    WHERE id = (SELECT min(id) FROM referrals_referralrow)" >/dev/null; then
  echo "    PASS the restored cluster takes writes"
else
  echo "    FAIL the restored cluster refuses writes"
  failed=1
fi
[ "$failed" = 0 ] && echo "REHEARSAL PASSED" || { echo "REHEARSAL FAILED"; exit 1; }
