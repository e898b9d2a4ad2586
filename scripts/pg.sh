# Sourced by scripts: start a throwaway PostgreSQL in a temporary directory, on a unix socket
# only. PostgreSQL refuses to run as root, so as root the server runs as `nobody`.
# After pg_start: PG_DIR and DATABASE_URL are set; pg_stop stops it and removes the directory.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PATH="$PATH:/usr/sbin:/sbin"  # runuser, for root

_pg_as() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  if [ ! -x "$PG_BIN/initdb" ]; then
    PG_BIN="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
  fi
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries not found (PG_BIN)" >&2; return 1; }
  PG_DIR="$(mktemp -d /tmp/referrals-pg.XXXXXX)"
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = "0" ] && chown nobody "$PG_DIR"
  _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  pg_server_start || return 1
  DATABASE_URL="postgres://postgres@$(printf '%s' "$PG_DIR" | sed 's#/#%2F#g')/postgres"
  export PG_DIR DATABASE_URL
}

# pg_server_start / pg_server_stop (re)start and stop the server of PG_DIR without removing it
# (reliability/faults.py takes the database away in the middle of a push).
pg_server_start() {
  # Sockets live in PG_DIR, nothing listens on TCP. Tests run with durability off for speed;
  # benchmarks set PG_DURABLE=1 to measure with PostgreSQL's default fsync behaviour.
  # PG_EXTRA_OPTIONS: more server options for one run (e.g. the renormalize bench's
  # production checkpoint settings, docs/operations.md "PostgreSQL settings").
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = "1" ] && durability=""
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' $durability \
        -c max_connections=200 -c shared_buffers=256MB ${PG_EXTRA_OPTIONS:-}" \
    start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
}

pg_server_stop() {
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    pg_server_stop || true
    rm -rf "$PG_DIR"
  fi
}
