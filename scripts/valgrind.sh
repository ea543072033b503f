#!/usr/bin/env bash
# Runs the over-the-wire conformance suites (test/critest) against daemons
# started under valgrind: memcheck with --leak-check=full, definite leaks
# counted as errors. Uses a non-sanitized debug build (preset valgrind:
# valgrind and ASan cannot share a process).
#
# usage: scripts/valgrind.sh
#        VALGRIND_SUITES="runtime pods" scripts/valgrind.sh   only those suites
#
# Every suite runs by default: runtime (RPC validation, config, status), ops
# (check, reload, metrics, the command line), images (pulls from real local
# registries, import, GC), pods (sandboxes, CNI, restart recovery),
# metrics_pods, pod_faults (bad client text, kills, reboots, failing and
# hanging CNI; its time bounds stretch under a wrapper), children (the
# environment and descriptors children get), containers (the container
# lifecycle, logs, ExecSync, events, resources, kill -9 with 20 running;
# about 80 s), container_stats (about 70 s), container_security
# (seccomp profiles read and checked, sysctls, groups; about 65 s) and
# streaming (exec, attach and port-forward over SPDY and WebSocket: the
# framers, zlib header blocks and the event loop; about 60 s; valgrind
# 3.19 has no pidfd_open, so its exec sessions find runc's end by polling)
# and streaming_tls (the same through HTTPS, plus the key pair checks,
# refused configurations and the self-signed certificate: libmicrohttpd's
# GnuTLS and our OpenSSL set-up; about 60 s).
# Measured on 2 cores: about 10 minutes in all, so each has SUITE_TIMEOUT (600 s) as a hang guard,
# not a budget. Should the job grow too slow for CI, drop metrics_pods first:
# the other four drive all of the daemon's own parsing and state.
#
# Only the daemon (and the cricket commands the suites run) is traced:
# --trace-children=no, so runc, the monitor, pause and CNI plugins it starts
# run natively, and --child-silent-after-fork=yes, so the short-lived child a
# thread forks before it execs one of them (or pins a namespace and _exits)
# is not reported: in a child of a threaded process the other threads'
# memory is unreachable by construction. Every cricket process writes
# build/valgrind/vg/<pid>.log.
# The run passes when the suites pass and every log is clean: no error
# reported (invalid reads and writes, uninitialised values, bad frees), and,
# for each process that exited, "ERROR SUMMARY: 0 errors" with 0 bytes
# definitely lost. A process a test kills on purpose with SIGKILL (restart
# recovery) never reaches the leak check; such runs are counted and named
# in the summary line, not passed off as checked. Suppressions
# (scripts/valgrind.supp) are only for one-time allocations inside
# third-party libraries, each with its reason. Prints one closing
# "valgrind: ..." line.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/valgrind
suites=${VALGRIND_SUITES:-runtime ops images pods metrics_pods pod_faults children containers container_stats container_security streaming streaming_tls}
timeout=${SUITE_TIMEOUT:-600}
cmake --preset valgrind >/dev/null
# shellcheck disable=SC2046 # one target per suite
cmake --build --preset valgrind --target cricket cricket-monitor cricket-pause cktest-flaky \
    $(for s in $suites; do echo "critest_$s"; done)

logs=$(pwd)/$build/vg
rm -rf "$logs"
mkdir -p "$logs"

export CRICKET_BIN=$(pwd)/$build/daemon/cricket
# Set here: a daemon without it executes itself again to set it (glibc's
# malloc thread cache off), and that exec would run it out of valgrind.
export GLIBC_TUNABLES=glibc.malloc.tcache_count=0
export CRICKET_WRAPPER="valgrind --trace-children=no --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --num-callers=30 --suppressions=$(pwd)/scripts/valgrind.supp --log-file=$logs/%p.log"

suite=0
regex="^critest_($(tr ' ' '|' <<<"$suites"))\$"
ctest --test-dir "$build" -R "$regex" --output-on-failure --timeout "$timeout" || suite=$?

runs=0
killed=0
bad=()
for log in "$logs"/*.log; do
    [ -e "$log" ] || continue
    runs=$((runs + 1))
    if grep -qE '^==[0-9]+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap|Argument .* of function)' "$log"; then
        bad+=("$log")
    elif ! grep -q 'ERROR SUMMARY: ' "$log"; then
        killed=$((killed + 1)) # ended by SIGKILL: errors would show above, leaks cannot
    elif ! grep -q 'ERROR SUMMARY: 0 errors' "$log" || grep -qE 'definitely lost: [1-9]' "$log"; then
        bad+=("$log")
    fi
done

for log in "${bad[@]}"; do
    echo "---- $log"
    grep -vE '^==[0-9]+== *$' "$log" | sed -n '1,80p' # sed reads it all: no SIGPIPE under pipefail
done

checked=$((runs - killed))
if [ "$suite" -eq 0 ] && [ "${#bad[@]}" -eq 0 ] && [ "$checked" -gt 0 ]; then
    echo "valgrind: ok: critest ($suites) passed, $checked cricket runs with 0 errors and 0 bytes definitely lost," \
        "$killed killed on purpose (no leak check)"
else
    echo "valgrind: FAILED: critest ($suites) exit $suite, $runs cricket runs, ${#bad[@]} with findings (logs in $logs)"
    exit 1
fi
