#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (address sanitizer and libFuzzer) and runs one of them.
# Usage: tools/fuzz.sh TARGET [SECONDS]     TARGET: commit, bundle, signature, sync-request, integration or hub
# New inputs that reach new code are kept in fuzz/corpus/TARGET (check them in); a crash is
# written to fuzz/artifacts/ and becomes a regression test by copying it into the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh commit|bundle|signature|sync-request|integration|hub [seconds]}
seconds=${2:-600}
./tools/install-deps.sh
echo "building fuzz-decoders with -sanitize=fuzzer,address (the first build takes about 10 minutes)"
(cd fuzz && swift build -c debug --scratch-path ../.build-fuzz -Xswiftc -sanitize=fuzzer,address --product fuzz-decoders)
mkdir -p fuzz/artifacts
echo "fuzzing $target for $seconds s; corpus fuzz/corpus/$target"
# The targets past the decoders keep a county in memory across inputs (and the hub's thread pools),
# which LeakSanitizer would report at every exit; they hunt traps and broken rules, not leaks.
leaks=1
if [ "$target" = integration ] || [ "$target" = hub ]; then leaks=0; fi
# Swift's own crash backtracer reads the stack in a way the address sanitizer reports as an error
# of its own; without it, a failed check prints just its message.
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=$leaks"
FIELDLOG_FUZZ_TARGET=$target exec .build-fuzz/debug/fuzz-decoders -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=fuzz/artifacts/"$target"- \
    -max_len=65536 -detect_leaks="$leaks" fuzz/corpus/"$target"
