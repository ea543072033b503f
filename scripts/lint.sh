#!/usr/bin/env bash
# Formatting check, clang-tidy and cppcheck over every C file of ours.
#
# usage: scripts/lint.sh          check; exits 1 on any finding
#        scripts/lint.sh --fix    rewrite unformatted files with clang-format
#                                 (the same as: cmake --build build/asan --target format)
#
# "Ours" is every tracked or new (not ignored) *.c and *.h outside build/:
# new folders are picked up without editing this script. clang-tidy reads
# .clang-tidy and runs through build/lint/compile_commands.json (a clang
# configure of the whole project, tests included); the protobuf-c code that
# protoc-c generates into build/ is not ours and is not checked. cppcheck
# uses the same compile_commands.json. Prints one line per tool and a closing
# "lint: ..." summary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

our_files() {
    { git ls-files -- '*.c' '*.h'; git ls-files --others --exclude-standard -- '*.c' '*.h'; } | grep -v '^build' | sort -u
}

if [ "${1:-}" = "--fix" ]; then
    our_files | xargs clang-format -i
    echo "lint: formatted $(our_files | wc -l) files"
    exit 0
fi

failed=()

# 1. Formatting.
mapfile -t files < <(our_files)
unformatted=()
for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ "${#unformatted[@]}" -eq 0 ]; then
    echo "lint format: ok (${#files[@]} files)"
else
    echo "lint format: FAILED: ${#unformatted[@]} files are not formatted as .clang-format says:"
    printf '    %s\n' "${unformatted[@]}"
    echo "    fix with: scripts/lint.sh --fix   (or: cmake --build build/asan --target format)"
    failed+=(format)
fi

# 2. clang-tidy, through a clang configure of the project.
build=build/lint
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build" --target ck_cri_proto -j"$(nproc)" >/dev/null # the generated header our code includes
tidy_log=$build/clang-tidy.log
sources=$(grep -o '"file": *"[^"]*"' "$build/compile_commands.json" | sed 's/.*"\([^"]*\)"$/\1/' |
    grep "^$root/" | grep -vc "^$root/build" || true)
if run-clang-tidy -quiet -p "$build" -j "$(nproc)" "^$root/(?!build/)" >"$tidy_log" 2>&1 &&
    ! grep -qE '(warning|error): ' <(sed 's/\x1b\[[0-9;]*m//g' "$tidy_log" | grep "^$root/"); then
    echo "lint clang-tidy: ok ($sources files)"
else
    echo "lint clang-tidy: FAILED:"
    sed 's/\x1b\[[0-9;]*m//g' "$tidy_log" | grep -E "^$root/.*(warning|error): " | sort -u | sed "s|^$root/|    |"
    echo "    full output: $tidy_log"
    failed+=(clang-tidy)
fi

# 3. cppcheck. Each suppression says why it is there. It reads a copy of
# compile_commands.json without the sources generated into build/ (protobuf-c
# code, the embedded default config): they are not ours, and cppcheck refuses
# the whole project when one of them has not been generated yet.
cppcheck_log=$build/cppcheck.log
mkdir -p "$build/cppcheck"
python3 - "$build/compile_commands.json" "$build/cppcheck/compile_commands.json" "$root/build/" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))
json.dump([e for e in entries if not e["file"].startswith(sys.argv[3])], open(sys.argv[2], "w"), indent=1)
PY
cppcheck_args=(
    --project="$build/cppcheck/compile_commands.json"
    --enable=warning,performance,portability
    --inline-suppr --error-exitcode=1 --quiet -j "$(nproc)"
    --template='{file}:{line}: {severity}: {message} [{id}]'
    # Not ours: the protobuf-c code protoc-c generates into build/.
    -i "$root/build"
    # cppcheck reads our headers, not the system's.
    --suppress=missingIncludeSystem
    # ... so it is told what jansson's foreach macros are (see the file).
    --library=scripts/cppcheck/jansson.cfg
    # The generated header checks libprotobuf-c's version macros, which live in a
    # system header cppcheck does not read: give it the values of Debian 12's 1.4.1.
    -DPROTOBUF_C_VERSION_NUMBER=1004001 -DPROTOBUF_C_MIN_COMPILER_VERSION=1000000
    # cppcheck does not model __attribute__((cleanup)), so every _cleanup_free_
    # variable reads as a leak. Leaks are found at run time instead (LSan in every
    # test run, valgrind on the daemon, libFuzzer's leak check).
    --suppress=memleak
)
if cppcheck "${cppcheck_args[@]}" >"$cppcheck_log" 2>&1; then
    echo "lint cppcheck: ok"
else
    echo "lint cppcheck: FAILED:"
    grep -v '^Checking' "$cppcheck_log" | sed "s|^$root/||; s|^|    |"
    failed+=(cppcheck)
fi

if [ "${#failed[@]}" -eq 0 ]; then
    echo "lint: ok (format, clang-tidy, cppcheck)"
else
    echo "lint: FAILED: ${failed[*]}"
    exit 1
fi
