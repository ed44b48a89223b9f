#!/usr/bin/env bash
# The convergence property for many more seeds than make test runs: 5 replicas, 2,000 random
# operations per seed, exchanged in random order with duplicates and relays.
# Usage: tools/soak/convergence-seeds.sh [FIRST-LAST]   (default 21-220)
set -euo pipefail
cd "$(dirname "$0")/../.."
range=${1:-21-220}
./tools/install-deps.sh
swift build -c release -Xswiftc -enable-testing --build-tests
echo "convergence soak: seeds $range"
FIELDLOG_CONVERGENCE_SEEDS=$range swift test -c release -Xswiftc -enable-testing --skip-build --filter randomOperationsConverge
