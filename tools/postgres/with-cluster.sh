#!/usr/bin/env bash
# Runs a command with a private PostgreSQL 15 cluster for the tests (cluster.sh): starts it, exports
# FIELDLOG_TEST_POSTGRES (its URL) and FIELDLOG_REQUIRE_POSTGRES=1 (so that the PostgreSQL tests
# fail rather than skip without it), runs the command, and stops the cluster whatever happens.
#
#   tools/postgres/with-cluster.sh swift test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "== a private PostgreSQL 15 cluster on a loopback port for the shared-store tests (tools/postgres/cluster.sh)"
exports=$("$here/cluster.sh" start)
eval "$exports"
trap '"$here/cluster.sh" stop "$FIELDLOG_TEST_PGDIR"' EXIT
export FIELDLOG_REQUIRE_POSTGRES=1
"$@"
