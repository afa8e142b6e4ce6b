#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, then stop and remove the cluster,
# whether the command passes or fails.
#   scripts/with-postgres.sh pytest
# Exports DATABASE_URL for the command. Needs PostgreSQL's server binaries (Debian's
# postgresql package); when run as root, the cluster runs as the unprivileged "postgres" user.
set -euo pipefail

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  return 1
}

if ! PG_BIN=$(find_pg_bin); then
  echo "PostgreSQL server binaries not found; installing Debian's postgresql package..." >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN=$(find_pg_bin)
fi

as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /nonexistent --shell /usr/sbin/nologin postgres
  as_pg() { runuser -u postgres -- "$@"; }
fi

PGROOT=$(mktemp -d /tmp/crm-pg.XXXXXX)
chmod 755 "$PGROOT"
[ "$(id -u)" = 0 ] && chown postgres "$PGROOT"
PGDATA="$PGROOT/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
trap cleanup EXIT INT TERM

as_pg "$PG_BIN/initdb" -D "$PGDATA" -U crm --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/server.log" -w -o \
  "-p $PORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$PGROOT/server.log" >&2; exit 1; }

export DATABASE_URL="postgres://crm@127.0.0.1:$PORT/postgres"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PORT (throwaway cluster)" >&2
set +e
"$@"
status=$?
set -e
exit $status
