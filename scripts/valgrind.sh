#!/usr/bin/env bash
# Runs the over-the-wire conformance suite (test/critest) against daemons
# started under valgrind: memcheck with --leak-check=full, definite leaks
# counted as errors. Uses a non-sanitized debug build (preset valgrind:
# valgrind and ASan cannot share a process).
#
# usage: scripts/valgrind.sh
#
# Every daemon the suite starts writes build/valgrind/vg/<pid>.log. The run
# passes when the suite passes and every log says 0 errors and 0 bytes
# definitely lost. Suppressions (scripts/valgrind.supp) are only for one-time
# allocations inside third-party libraries, each with its reason. Prints one
# closing "valgrind: ..." line.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/valgrind
cmake --preset valgrind >/dev/null
cmake --build --preset valgrind --target cricket critest_runtime

logs=$(pwd)/$build/vg
rm -rf "$logs"
mkdir -p "$logs"

export CRICKET_BIN=$(pwd)/$build/daemon/cricket
export CRICKET_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
--show-leak-kinds=definite --num-callers=30 --suppressions=$(pwd)/scripts/valgrind.supp --log-file=$logs/%p.log"

suite=0
ctest --test-dir "$build" -R '^critest_' --output-on-failure --timeout 1200 || suite=$?

daemons=0
bad=()
for log in "$logs"/*.log; do
    [ -e "$log" ] || continue
    daemons=$((daemons + 1))
    # --quiet: a clean run leaves an empty log; anything in it is a finding.
    if [ -s "$log" ]; then
        bad+=("$log")
    fi
done

for log in "${bad[@]}"; do
    echo "---- $log"
    head -80 "$log"
done

if [ "$suite" -eq 0 ] && [ "${#bad[@]}" -eq 0 ] && [ "$daemons" -gt 0 ]; then
    echo "valgrind: ok: critest passed, $daemons daemon runs with 0 errors and 0 bytes definitely lost"
else
    echo "valgrind: FAILED: critest exit $suite, $daemons daemon runs, ${#bad[@]} with findings (logs in $logs)"
    exit 1
fi
