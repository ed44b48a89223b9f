#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests (issue 18's groundwork): initialised in a temporary
# folder, started on a free loopback port as an unprivileged user (the server refuses to run as
# root), with a password role and a database, both named `fieldlog`. Nothing else is touched:
# no system cluster, no socket outside the folder.
#
#   eval "$(tools/postgres/cluster.sh start)"     # exports FIELDLOG_TEST_POSTGRES (a URL) and FIELDLOG_TEST_PGDIR
#   tools/postgres/cluster.sh pause "$FIELDLOG_TEST_PGDIR"      # stop the server (fast) …
#   tools/postgres/cluster.sh resume "$FIELDLOG_TEST_PGDIR"     # … and start it again
#   tools/postgres/cluster.sh stop "$FIELDLOG_TEST_PGDIR"
#
# Needs Debian's postgresql-15 (binaries under /usr/lib/postgresql/15/bin).
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin

# The server must not inherit any descriptor of the caller besides the standard three: a caller
# that waits for a pipe's end, or watches a descriptor to learn that this script exited (Swift's
# Foundation.Process does), would otherwise wait until the server stops.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

as_server_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    if [ ! -x "$BIN/initdb" ]; then
        echo "PostgreSQL 15 is not installed; run: apt-get install -y postgresql-15" >&2
        exit 1
    fi
    if [ "$(id -u)" = 0 ] && ! id -u postgres >/dev/null 2>&1; then
        echo "the user postgres is missing (Debian's postgresql-15 creates it); reinstall postgresql-15" >&2
        exit 1
    fi
    # /var/tmp, not /tmp: on these machines /tmp is closed to other users, the server's among them.
    dir=$(mktemp -d /var/tmp/fieldlog-pg-XXXXXX)
    chmod 700 "$dir"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$password" >"$dir/password"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_server_user "$BIN/initdb" -D "$dir/data" -U fieldlog --pwfile="$dir/password" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; echo "initdb failed; see above" >&2; exit 1; }
    printf '%s\n' "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir" >"$dir/options"
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null ||
        { cat "$dir/server.log" >&2; echo "the test cluster did not start; see above" >&2; exit 1; }
    PGPASSWORD="$password" "$BIN/createdb" -h 127.0.0.1 -p "$port" -U fieldlog fieldlog
    echo "export FIELDLOG_TEST_POSTGRES=postgresql://fieldlog:$password@127.0.0.1:$port/fieldlog"
    echo "export FIELDLOG_TEST_PGDIR=$dir"
    ;;
pause | resume)
    # The server stopped (fast: open connections are cut), and started again on the same port:
    # the tests' "database restarted", in two steps so that a test acts while it is down.
    dir=${2:?name the cluster folder (FIELDLOG_TEST_PGDIR)}
    case "$dir" in /var/tmp/fieldlog-pg-*) ;; *) echo "$dir is not a test cluster folder" >&2; exit 1 ;; esac
    if [ "$1" = pause ]; then
        as_server_user "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    else
        as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null
    fi
    ;;
stop)
    dir=${2:?name the cluster folder (FIELDLOG_TEST_PGDIR)}
    case "$dir" in /var/tmp/fieldlog-pg-*) ;; *) echo "$dir is not a test cluster folder" >&2; exit 1 ;; esac
    if [ -d "$dir/data" ]; then as_server_user "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | pause DIR | resume DIR | stop DIR" >&2
    exit 64
    ;;
esac
