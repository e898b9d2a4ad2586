# Sourced by scripts: Citus 13.2 (distributed PostgreSQL) for the third leg of the test command.
#
# citus_ensure makes `CREATE EXTENSION citus` possible on the PostgreSQL server of PG_BIN:
# - a Citus the system already has (pg_config's pkglibdir/citus.so and
#   sharedir/extension/citus.control, e.g. from the citusdata repository's package
#   postgresql-15-citus-13.2, see docs/scaling.md) is used as is;
# - otherwise the unmodified upstream release (CITUS_TARBALL, AGPL-3.0) is built once per
#   machine into a cache outside the repository (CITUS_CACHE) with `make install DESTDIR=`,
#   build dependencies installed with apt-get first when missing (root only), and its files
#   are then copied into the server's lib and share directories when missing there.
# Why copy into the system directories: PostgreSQL 15 reads extension control files only from
# its own sharedir (extension_control_path arrived in PostgreSQL 18), so `CREATE EXTENSION`
# cannot see files kept in the cache; a private copy of the server binaries would be the only
# other way. The copy adds only the files `make install` would (citus*.so, citus_decoders/,
# citus*.control, citus*--*.sql), no package owns them, and it needs root, which these machines
# have. The cache keeps the build and its logs, so a wiped system directory costs a one-second
# copy, not a rebuild.
#
# citus_start starts a throwaway cluster in a temporary directory: a coordinator and two
# workers on unix sockets only (Citus connects the nodes with libpq, which takes a socket
# directory as host name), as `nobody` when root, durability off like scripts/pg.sh. Every
# node gets the database of DATABASE_URL (postgres) and the test database Django will use
# (test_postgres), each with the extension; on the coordinator the workers are registered in
# both. Django's test runner creates its test database on one server only, so the test
# command runs pytest with --reuse-db and finds it there. citus_stop stops the nodes and
# removes the directory.

# shellcheck source=scripts/pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"  # PG_BIN, _pg_as

CITUS_VERSION=13.2.2
CITUS_TARBALL_SHA256=c8fc76dc8294636a52b1a0dd75a20d8b4a36937df6443e30ca84d8d0464a6bb9
CITUS_PORTS=(9700 9701 9702)  # coordinator, worker 1, worker 2: socket file names only
# The database of DATABASE_URL, and the one Django's test runner uses for it (test_ + name).
CITUS_DATABASES=(postgres test_postgres)

_citus_log() { echo "citus: $*" >&2; }

_citus_tarball() {
  local repo candidate
  if [ -n "${CITUS_TARBALL:-}" ]; then
    [ -f "$CITUS_TARBALL" ] && echo "$CITUS_TARBALL"
    return
  fi
  # The shared vendor directory sits next to the main checkout (../shared/vendor).
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  for candidate in "$repo/../shared/vendor" /work/shared/vendor; do
    if [ -f "$candidate/citus-$CITUS_VERSION.tar.gz" ]; then
      echo "$candidate/citus-$CITUS_VERSION.tar.gz"
      return 0
    fi
  done
  return 1
}

# The server's version, its directories, and the cache that belongs to them.
_citus_locate_server() {
  if [ ! -x "$PG_BIN/pg_config" ]; then
    PG_BIN="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
  fi
  PG_CONFIG="$PG_BIN/pg_config"
  [ -x "$PG_CONFIG" ] || { _citus_log "no pg_config in PG_BIN ($PG_BIN)"; return 1; }
  PG_PKGLIBDIR="$("$PG_CONFIG" --pkglibdir)"
  PG_SHAREDIR="$("$PG_CONFIG" --sharedir)"
  PG_MAJOR="$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
  local cache_home="${XDG_CACHE_HOME:-$HOME/.cache}"
  CITUS_CACHE="${CITUS_CACHE:-$cache_home/referrals-citus/$CITUS_VERSION-pg$PG_MAJOR}"
}

_citus_installed() {
  [ -f "$PG_PKGLIBDIR/citus.so" ] && [ -f "$PG_SHAREDIR/extension/citus.control" ]
}

_citus_deb_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

# apt-get install of what building needs. postgresql-server-dev-N must have the installed
# server's version, or apt upgrades the server along with it; where that version is no longer
# served, both are installed at the current version together (the tests use throwaway
# clusters, so an upgraded server binary is harmless here).
_citus_install_build_deps() {
  local dev="postgresql-server-dev-$PG_MAJOR" server="postgresql-$PG_MAJOR" pkgs=() missing=()
  local pkg server_version
  command -v dpkg-query >/dev/null 2>&1 || return 0  # not Debian: the build says what is missing
  for pkg in "$dev" libkrb5-dev liblz4-dev libzstd-dev; do
    _citus_deb_installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    _citus_log "building Citus needs ${missing[*]}; install them as root (apt-get install)"
    return 1
  fi
  _citus_log "installing build dependencies: ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || return 1
  for pkg in "${missing[@]}"; do
    if [ "$pkg" != "$dev" ]; then
      pkgs+=("$pkg")
      continue
    fi
    server_version="$(dpkg-query -W -f='${Version}' "$server" 2>/dev/null)"
    if [ -n "$server_version" ] \
      && apt-cache madison "$dev" | awk -F'|' '{gsub(/ /, "", $2); print $2}' \
      | grep -qxF "$server_version"; then
      pkgs+=("$dev=$server_version")
    else
      _citus_log "$dev ${server_version:-?} is not served;" \
        "installing $server and $dev at the current version"
      pkgs+=("$server" "$dev")
    fi
  done
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$CITUS_CACHE/apt.log" 2>&1 \
    || { tail -n 30 "$CITUS_CACHE/apt.log" >&2; return 1; }
}

# configure, make and `make install DESTDIR=root` in the cache; logs stay there.
_citus_build() {
  local tarball src="$CITUS_CACHE/src" started step
  tarball="$(_citus_tarball)" || {
    _citus_log "the Citus $CITUS_VERSION release tarball was not found (set CITUS_TARBALL)"
    return 1
  }
  if [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$CITUS_TARBALL_SHA256" ]; then
    _citus_log "$tarball is not the upstream v$CITUS_VERSION release (sha256 differs)"
    return 1
  fi
  _citus_install_build_deps || return 1
  started=$SECONDS
  _citus_log "building Citus $CITUS_VERSION for PostgreSQL $PG_MAJOR into $CITUS_CACHE" \
    "(a few minutes, once)"
  rm -rf "$src" "$CITUS_CACHE/root" "$CITUS_CACHE/built"
  mkdir -p "$src"
  tar -xzf "$tarball" -C "$src" --strip-components=1 || return 1
  for step in configure make install; do
    case "$step" in
      configure) (cd "$src" && ./configure --without-libcurl PG_CONFIG="$PG_CONFIG") ;;
      make) make -C "$src" -j2 with_llvm=no ;;
      install) make -C "$src" install with_llvm=no DESTDIR="$CITUS_CACHE/root" ;;
    esac >"$CITUS_CACHE/$step.log" 2>&1 || {
      _citus_log "$step failed; the end of $CITUS_CACHE/$step.log:"
      tail -n 40 "$CITUS_CACHE/$step.log" >&2
      return 1
    }
  done
  # Keep what the server loads, under names that do not depend on the server's paths.
  rm -rf "$CITUS_CACHE/lib" "$CITUS_CACHE/extension"
  mv "$CITUS_CACHE/root$PG_PKGLIBDIR" "$CITUS_CACHE/lib" \
    && mv "$CITUS_CACHE/root$PG_SHAREDIR/extension" "$CITUS_CACHE/extension" || return 1
  rm -rf "$src" "$CITUS_CACHE/root"
  echo "Citus $CITUS_VERSION built against $("$PG_CONFIG" --version) in $((SECONDS - started)) s" \
    >"$CITUS_CACHE/built"
  _citus_log "built in $((SECONDS - started)) s"
}

# _citus_copy_missing FROM TO copies the files of FROM that TO lacks. Each is written under a
# temporary name and renamed into place, so a running server never maps a half-written file;
# citus.control comes last because it is what citus_ensure looks for, so an interrupted copy
# is finished by the next run.
_citus_copy_missing() {
  local from="$1" to="$2" file mode
  while IFS= read -r file; do
    [ -f "$to/$file" ] && continue
    mode=0644
    case "$file" in *.so) mode=0755 ;; esac
    mkdir -p "$(dirname "$to/$file")" \
      && install -m "$mode" "$from/$file" "$to/$file.referrals-tmp" \
      && mv -f "$to/$file.referrals-tmp" "$to/$file" || return 1
  done < <(
    cd "$from" && find . -type f ! -name citus.control | sed 's#^\./##'
    [ -f "$from/citus.control" ] && echo citus.control
  )
}

_citus_install_from_cache() {
  if [ ! -w "$PG_PKGLIBDIR" ] || [ ! -w "$PG_SHAREDIR/extension" ]; then
    _citus_log "Citus is built in $CITUS_CACHE, but copying it into $PG_PKGLIBDIR and" \
      "$PG_SHAREDIR/extension needs root; run the test command once as root, or install" \
      "postgresql-$PG_MAJOR-citus-13.2 (docs/scaling.md)"
    return 1
  fi
  _citus_copy_missing "$CITUS_CACHE/lib" "$PG_PKGLIBDIR" \
    && _citus_copy_missing "$CITUS_CACHE/extension" "$PG_SHAREDIR/extension" || return 1
  _citus_log "installed from $CITUS_CACHE into $PG_PKGLIBDIR and $PG_SHAREDIR/extension"
}

# Returns 0 when the server can load Citus; otherwise says why on stderr and returns 1.
citus_ensure() {
  _citus_locate_server || return 1
  if _citus_installed; then
    return 0
  fi
  mkdir -p "$CITUS_CACHE" || return 1
  # One build at a time on a shared machine; a second caller waits, then finds it built.
  (
    flock -w 3600 9 || { _citus_log "timed out waiting for $CITUS_CACHE.lock"; exit 1; }
    _citus_installed && exit 0
    if [ ! -f "$CITUS_CACHE/built" ]; then
      _citus_build || exit 1
    fi
    _citus_install_from_cache
  ) 9>"$CITUS_CACHE.lock"
}

_citus_psql() {  # _citus_psql PORT DATABASE SQL
  _pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$1" -U postgres -d "$2" \
    -c "$3" >>"$CITUS_DIR/setup.log" 2>&1 || { tail -n 20 "$CITUS_DIR/setup.log" >&2; return 1; }
}

# All sockets in CITUS_DIR, told apart by port; nothing listens on TCP. citus.local_hostname
# is how a node reaches itself (default localhost, i.e. TCP). CITUS_PG_OPTIONS adds settings
# (e.g. "-c wal_level=logical" for shard moves by logical replication).
_citus_node_start() {  # _citus_node_start PORT
  _pg_as "$PG_BIN/pg_ctl" -D "$CITUS_DIR/node$1" -l "$CITUS_DIR/node$1.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$CITUS_DIR' -c port=$1 \
        -c shared_preload_libraries=citus -c citus.local_hostname='$CITUS_DIR' \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_connections=200 -c shared_buffers=128MB ${CITUS_PG_OPTIONS:-}" \
    start >/dev/null || { cat "$CITUS_DIR/node$1.log" >&2; return 1; }
}

citus_start() {
  local started=$SECONDS coordinator="${CITUS_PORTS[0]}" port database version host
  _citus_locate_server || return 1
  CITUS_DIR="$(mktemp -d /tmp/referrals-citus.XXXXXX)"
  chmod 755 "$CITUS_DIR"
  [ "$(id -u)" = "0" ] && chown nobody "$CITUS_DIR"
  # One initdb, copied: the three nodes start identical, and initdb is the slow part.
  _pg_as "$PG_BIN/initdb" -D "$CITUS_DIR/node$coordinator" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$CITUS_DIR/initdb.log" 2>&1 || { cat "$CITUS_DIR/initdb.log" >&2; return 1; }
  for port in "${CITUS_PORTS[@]:1}"; do
    _pg_as cp -a "$CITUS_DIR/node$coordinator" "$CITUS_DIR/node$port" || return 1
  done
  for port in "${CITUS_PORTS[@]}"; do
    _citus_node_start "$port" || return 1
  done
  # The extension lives per database, and so does the list of workers: every node gets both
  # databases with the extension, then the coordinator registers itself and the workers.
  for database in "${CITUS_DATABASES[@]}"; do
    for port in "${CITUS_PORTS[@]}"; do
      if [ "$database" != postgres ]; then
        _citus_psql "$port" postgres "CREATE DATABASE $database" || return 1
      fi
      _citus_psql "$port" "$database" "CREATE EXTENSION citus" || return 1
    done
    _citus_psql "$coordinator" "$database" \
      "SELECT citus_set_coordinator_host('$CITUS_DIR', $coordinator)" || return 1
    for port in "${CITUS_PORTS[@]:1}"; do
      _citus_psql "$coordinator" "$database" "SELECT citus_add_node('$CITUS_DIR', $port)" \
        || return 1
    done
  done
  host="$(printf '%s' "$CITUS_DIR" | sed 's#/#%2F#g')"  # the socket directory, URL-encoded
  DATABASE_URL="postgres://postgres@$host:$coordinator/postgres"
  export CITUS_DIR DATABASE_URL
  version="$(_pg_as "$PG_BIN/psql" -X -At -h "$CITUS_DIR" -p "$coordinator" -U postgres \
    -d postgres -c "SELECT citus_version()")"
  _citus_log "${version%% on *}: a coordinator and $((${#CITUS_PORTS[@]} - 1)) workers started" \
    "in $((SECONDS - started)) s (sockets in $CITUS_DIR)"
}

# citus_add_worker PORT: one more worker, started and set up like the others (a copy of the
# coordinator's initdb is not possible once it holds data: a fresh initdb), registered on the
# coordinator in both databases. Shards stay where they are until a rebalance moves them.
citus_add_worker() {
  local port="$1" coordinator="${CITUS_PORTS[0]}" database
  _pg_as "$PG_BIN/initdb" -D "$CITUS_DIR/node$port" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >>"$CITUS_DIR/initdb.log" 2>&1 || { cat "$CITUS_DIR/initdb.log" >&2; return 1; }
  _citus_node_start "$port" || return 1
  CITUS_PORTS+=("$port")
  for database in "${CITUS_DATABASES[@]}"; do
    if [ "$database" != postgres ]; then
      _citus_psql "$port" postgres "CREATE DATABASE $database" || return 1
    fi
    _citus_psql "$port" "$database" "CREATE EXTENSION citus" || return 1
    _citus_psql "$coordinator" "$database" "SELECT citus_add_node('$CITUS_DIR', $port)" || return 1
  done
}

citus_stop() {
  local node
  if [ -n "${CITUS_DIR:-}" ] && [ -d "$CITUS_DIR" ]; then
    # Every node of the directory, also a worker another shell added (citus_add_worker).
    for node in "$CITUS_DIR"/node*/; do
      [ -d "$node" ] && _pg_as "$PG_BIN/pg_ctl" -D "$node" -m fast -w stop >/dev/null 2>&1
    done
    rm -rf "$CITUS_DIR"
  fi
}
