#!/usr/bin/env bash
# Builds the libFuzzer targets (preset fuzz: clang, ASan+UBSan) and runs every
# target registered in fuzz/CMakeLists.txt for SECONDS each (default 60), at
# most FUZZ_JOBS (default 2) at once.
#
# usage: scripts/fuzz.sh [SECONDS | MINUTESm]   e.g. scripts/fuzz.sh 30m: 30 minutes each
#        FUZZ_TARGETS="cri_request" scripts/fuzz.sh 600   runs only those
#
# Each run starts from fuzz/corpus/NAME and fuzz/regressions/NAME and grows a
# working corpus in build/fuzz/work/NAME (kept between runs, never written
# into the repository). A crash, hang (-timeout, default 10 s per input) or
# leak stops that target and leaves the input in build/fuzz/artifacts/NAME/:
# copy it to fuzz/regressions/NAME/ once fixed, so ctest replays it on every
# run. Prints one line per target (executions, exec/s, coverage) and a
# closing "fuzz: N passed, N failed" line; exits 1 if any target found
# something.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
case $seconds in
*m) seconds=$((${seconds%m} * 60)) ;;
esac
jobs=${FUZZ_JOBS:-2}
timeout=${FUZZ_TIMEOUT:-10}
build=build/fuzz

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

mapfile -t targets < <(if [ -n "${FUZZ_TARGETS:-}" ]; then tr ' ' '\n' <<<"$FUZZ_TARGETS"; else cat "$build/fuzz/targets.txt"; fi | sed '/^$/d')

run_one() {
    local name=$1 work=$build/work/$1 artifacts=$build/artifacts/$1 log=$build/logs/$1.log
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    local dirs=("$work" "fuzz/corpus/$name")
    [ -d "fuzz/regressions/$name" ] && dirs+=("fuzz/regressions/$name")
    local rc=0
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${dirs[@]}" >"$log" 2>&1 || rc=$?
    local execs speed cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$({ grep -oE 'cov: [0-9]+' "$log" || true; } | tail -1 | cut -d' ' -f2)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $name: ok, ${execs:-?} executions in ${seconds}s (${speed:-?} exec/s), ${cov:-?} edges"
    else
        echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions: see $log and $artifacts/"
        { grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" || tail -3 "$log"; } | head -5 | sed 's/^/    /'
        return 1
    fi
}

passed=0
failed=0
pids=()
names=()
reap() {
    local i=$1
    if wait "${pids[$i]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
for name in "${targets[@]}"; do
    if [ "${#pids[@]}" -ge "$jobs" ]; then
        reap 0
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
    run_one "$name" &
    pids+=($!)
    names+=("$name")
done
for i in "${!pids[@]}"; do
    reap "$i"
done

echo "fuzz: $passed passed, $failed failed (${#targets[@]} targets, ${seconds}s each)"
[ "$failed" -eq 0 ]
