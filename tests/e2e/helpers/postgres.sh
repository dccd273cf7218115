#!/bin/sh
# tests/e2e/helpers/postgres.sh — a throwaway PostgreSQL 15 for tests.
#
#   helpers/postgres.sh start DIR   initdb (as the postgres user) in a fresh
#                                   /tmp/strata-pg.* (the postgres user must
#                                   reach it; DIR may be private), listen on
#                                   127.0.0.1 on a free port with the unix
#                                   socket there, create database strata;
#                                   prints the URL (postgres://postgres@127.0.0.1:PORT/strata)
#                                   and writes it to DIR/url, the PID to DIR/pid
#   helpers/postgres.sh stop DIR    stop that server (by its PID) and remove its data
#
# Exit 2 with the reason on stderr when PostgreSQL cannot start here (not
# installed, no postgres user): tests skip with that reason.
set -eu

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
start)
    [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is not installed (no initdb)" >&2; exit 2; }
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "no postgres user to run PostgreSQL as" >&2; exit 2
    fi
    mkdir -p "$dir"
    pg=$(mktemp -d /tmp/strata-pg.XXXXXX)
    echo "$pg" >"$dir/pgdir"
    chmod 755 "$pg"
    [ "$(id -u)" -ne 0 ] || chown postgres "$pg"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    as_pg "$PGBIN/initdb" -D "$pg/data" -U postgres --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
        { echo "initdb failed: $(tail -3 "$dir/initdb.log")" >&2; exit 2; }
    as_pg "$PGBIN/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w -t 60 \
        -o "-p $port -k $pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
        start >/dev/null 2>&1 ||
        { echo "PostgreSQL did not start: $(tail -3 "$pg/server.log")" >&2; exit 2; }
    head -1 "$pg/data/postmaster.pid" >"$dir/pid"
    as_pg "$PGBIN/createdb" -h "$pg" -p "$port" -U postgres strata
    echo "postgres://postgres@127.0.0.1:$port/strata" | tee "$dir/url"
    ;;
stop)
    if [ -s "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill -INT "$pid" 2>/dev/null || true
        n=100
        while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [ ! -s "$dir/pgdir" ] || rm -rf "$(cat "$dir/pgdir")"
    rm -f "$dir/pid" "$dir/pgdir" "$dir/url"
    ;;
*)
    echo "usage: postgres.sh start|stop DIR" >&2; exit 64 ;;
esac
