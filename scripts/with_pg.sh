#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL (root only): trust auth, 127.0.0.1:$PGPORT, data in a temp dir.
# Exports HYPERJOB_DB_URL for the command; passes its exit code through; always stops the server and removes
# the data dir.   Usage: scripts/with_pg.sh .venv/bin/python -m pytest -q      (PGPORT=55432 by default)
set -euo pipefail
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=${PGPORT:-55432}
PGDATA=$(mktemp -d /tmp/hj-pg.XXXXXX)
chown postgres:postgres "$PGDATA"
as_pg() { (cd / && runuser -u postgres -- "$@"); }   # cd / avoids "could not change directory" noise
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >/dev/null
trap 'rm -rf "$PGDATA"' EXIT
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 30 \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $PGDATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null; rm -rf "$PGDATA"' EXIT
"$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE hyperjob"
export HYPERJOB_DB_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/hyperjob"
"$@"
