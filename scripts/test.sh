#!/usr/bin/env bash
# Installs what cricket needs, builds it with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test: the unit tests and the
# over-the-wire conformance suite (test/critest), which starts real daemons.
# Then the engineering checks, each a script of its own that ends with a
# one-line summary: scripts/lint.sh (format, clang-tidy, cppcheck, run first),
# scripts/valgrind.sh (critest against daemons under valgrind),
# scripts/fuzz.sh (every fuzz target for FUZZ_SECONDS, default 60) and
# scripts/coverage.sh (line coverage per folder); last the benchmark table
# in its tiny mode (bench/table.sh --tiny: it installs containerd, times
# nothing and fails only when a row got no number for either runtime, so
# the benchmark never rots; bench/store_bench runs small after the tests
# for the same reason).
# Run as root on Debian 12: sudo scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

scripts/lint.sh

build=build/asan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCK_SANITIZE=ON
cmake --build "$build" -j"$(nproc)"

# The optimized build warns about things the debug build cannot see
# (-Werror applies to both), so build it too.
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
cmake --build build/release -j"$(nproc)"

# The wire contract matches the published CRI (skips where the upstream
# proto is not on the machine).
scripts/check-proto-compat.sh

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$build" --output-on-failure --timeout 900
# The store benchmark, small and sanitized: it times nothing here, it only
# must not rot (nor leak).
store_dir=$(mktemp -d)
"$build/bench/store_bench" "$store_dir" 2 200
rm -rf "$store_dir"

scripts/valgrind.sh
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
scripts/coverage.sh
bench/table.sh --tiny
echo "test.sh: lint, ASan+UBSan build and tests, release build, valgrind, fuzz, coverage and the tiny benchmark all passed"
echo "steps: 7 passed, 0 failed"
