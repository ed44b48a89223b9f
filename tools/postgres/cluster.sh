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
# The backup and failover of docs/operations.md, for the test that follows that runbook:
#   tools/postgres/cluster.sh archive DIR        # WAL archiving on, into DIR/wal (a restart)
#   tools/postgres/cluster.sh basebackup DIR     # pg_basebackup -Ft -z -X stream into DIR/base
#   tools/postgres/cluster.sh restore DIR        # a new cluster from DIR/base and DIR/wal; prints its exports, as start does
#   tools/postgres/cluster.sh standby DIR        # a new cluster streaming from DIR (pg_basebackup -R); prints its exports
#   tools/postgres/cluster.sh synchronous DIR    # DIR's commits wait for a standby (synchronous_standby_names = '*')
#   tools/postgres/cluster.sh promote DIR        # the standby DIR becomes a primary (pg_ctl promote)
#   tools/postgres/cluster.sh crash DIR          # the server stops as if its machine died (immediate: the WAL not yet archived stays behind)
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
    # From /, which the server's user may enter (the caller's folder may be closed to it).
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# A test cluster's folder, checked.
cluster_dir() {
    case "$1" in /var/tmp/fieldlog-pg-*) ;; *) echo "$1 is not a test cluster folder" >&2; exit 1 ;; esac
    printf '%s\n' "$1"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port of a cluster folder, from its options.
port_of() { sed -n 's/.* -p \([0-9]*\) .*/\1/p' "$1/options"; }

# A new cluster folder holding a copy of $1's password: its data folder is made by the caller.
new_dir() {
    local dir
    dir=$(mktemp -d /var/tmp/fieldlog-pg-XXXXXX)
    chmod 700 "$dir"
    cp "$1/password" "$dir/password"
    printf '%s\n' "$dir"
}

# Starts the cluster of folder $1 on a new port (archiving off: only the first cluster archives),
# and prints its exports.
start_copy() {
    local dir=$1 port
    port=$(free_port)
    printf '%s\n' "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c archive_mode=off" >"$dir/options"
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
    chmod 700 "$dir/data"
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$(cat "$dir/options")" start >/dev/null ||
        { cat "$dir/server.log" >&2; echo "the copied cluster did not start; see above" >&2; exit 1; }
    echo "export FIELDLOG_TEST_POSTGRES=postgresql://fieldlog:$(cat "$dir/password")@127.0.0.1:$port/fieldlog"
    echo "export FIELDLOG_TEST_PGDIR=$dir"
}

case "${1:-}" in
archive)
    dir=$(cluster_dir "${2:?name the cluster folder}")
    as_server_user mkdir -p "$dir/wal"
    PGPASSWORD=$(cat "$dir/password") "$BIN/psql" -h 127.0.0.1 -p "$(port_of "$dir")" -U fieldlog -d fieldlog -qAt \
        -c "ALTER SYSTEM SET archive_mode = on" \
        -c "ALTER SYSTEM SET archive_command = 'test ! -f $dir/wal/%f && cp %p $dir/wal/%f'" >/dev/null
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -m fast -o "$(cat "$dir/options")" restart >/dev/null
    ;;
basebackup)
    dir=$(cluster_dir "${2:?name the cluster folder}")
    as_server_user rm -rf "$dir/base"
    as_server_user env PGPASSWORD="$(cat "$dir/password")" "$BIN/pg_basebackup" \
        -h 127.0.0.1 -p "$(port_of "$dir")" -U fieldlog -D "$dir/base" -Ft -z -X stream >"$dir/basebackup.log" 2>&1 ||
        { cat "$dir/basebackup.log" >&2; echo "pg_basebackup failed; see above" >&2; exit 1; }
    ;;
restore)
    # docs/operations.md, "Backups", step 3: the base backup unpacked into an empty data folder
    # (its WAL into pg_wal), restore_command reading the archive, recovery.signal.
    from=$(cluster_dir "${2:?name the cluster folder that was backed up}")
    dir=$(new_dir "$from")
    mkdir -m 700 "$dir/data"
    tar -xzf "$from/base/base.tar.gz" -C "$dir/data"
    tar -xzf "$from/base/pg_wal.tar.gz" -C "$dir/data/pg_wal"
    echo "restore_command = 'cp $from/wal/%f %p'" >>"$dir/data/postgresql.auto.conf"
    touch "$dir/data/recovery.signal"
    exports=$(start_copy "$dir")
    # The server takes read-only connections while it replays the archive: the hub processes
    # start only once it has replayed it all and serves writes.
    port=$(port_of "$dir")
    for _ in $(seq 1 600); do
        state=$(PGPASSWORD=$(cat "$dir/password") "$BIN/psql" -h 127.0.0.1 -p "$port" -U fieldlog -d fieldlog -qAt \
            -c "SELECT pg_is_in_recovery()" 2>/dev/null || true)
        [ "$state" = f ] && break
        sleep 0.1
    done
    [ "$state" = f ] || { echo "the restored cluster did not finish its recovery within 60 s" >&2; exit 1; }
    printf '%s\n' "$exports"
    ;;
standby)
    # docs/operations.md, "A streaming standby", step 1.
    from=$(cluster_dir "${2:?name the primary cluster folder}")
    dir=$(new_dir "$from")
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_server_user env PGPASSWORD="$(cat "$from/password")" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$(port_of "$from")" \
        -U fieldlog -D "$dir/data" -X stream -R >"$dir/basebackup.log" 2>&1 ||
        { cat "$dir/basebackup.log" >&2; echo "pg_basebackup failed; see above" >&2; exit 1; }
    start_copy "$dir"
    ;;
synchronous)
    dir=$(cluster_dir "${2:?name the primary cluster folder}")
    PGPASSWORD=$(cat "$dir/password") "$BIN/psql" -h 127.0.0.1 -p "$(port_of "$dir")" -U fieldlog -d fieldlog -qAt \
        -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
    ;;
crash)
    dir=$(cluster_dir "${2:?name the cluster folder}")
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
promote)
    dir=$(cluster_dir "${2:?name the standby cluster folder}")
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -w promote >/dev/null
    ;;
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
    echo "usage: $0 start | pause DIR | resume DIR | stop DIR | archive DIR | basebackup DIR | restore DIR | standby DIR | synchronous DIR | promote DIR | crash DIR" >&2
    exit 64
    ;;
esac
