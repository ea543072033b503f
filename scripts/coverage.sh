#!/usr/bin/env bash
# Builds with gcc --coverage (preset coverage), runs every test (unit,
# over-the-wire conformance suite, fuzz corpus replays), and prints line
# coverage per top-level folder of our code (tests, benchmarks, fuzz drivers
# and the generated protobuf-c code are not counted).
#
# usage: scripts/coverage.sh         prints the table and a closing "coverage: ..." line
#        COVERAGE_MIN=70 scripts/coverage.sh   also fails when a folder is below 70 %
#
# An HTML report for reading line by line lands in build/coverage/html/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/coverage
cmake --preset coverage >/dev/null
cmake --build --preset coverage
find "$build" -name '*.gcda' -delete

tests=0
ctest --test-dir "$build" --output-on-failure --timeout 900 || tests=$?

summary=$build/coverage.json
mkdir -p "$build/html"
gcovr --root . --object-directory "$build" \
    --exclude 'build/' --exclude 'test/' --exclude 'bench/' --exclude 'fuzz/' \
    --json-summary "$summary" --html-details "$build/html/index.html" >/dev/null

status=0
python3 - "$summary" "${COVERAGE_MIN:-0}" <<'PY' || status=$?
import json, sys
data = json.load(open(sys.argv[1]))
minimum = float(sys.argv[2])
folders = {}
for f in data["files"]:
    top = f["filename"].split("/")[0] if "/" in f["filename"] else "."
    total, covered = folders.get(top, (0, 0))
    folders[top] = (total + f["line_total"], covered + f["line_covered"])
low = []
print("%-12s %8s %8s %7s" % ("folder", "lines", "covered", "cover"))
for top in sorted(folders):
    total, covered = folders[top]
    pct = 100.0 * covered / total if total else 100.0
    print("%-12s %8d %8d %6.1f%%" % (top + "/", total, covered, pct))
    if pct < minimum:
        low.append("%s/ %.1f%%" % (top, pct))
total = sum(t for t, _ in folders.values())
covered = sum(c for _, c in folders.values())
line = "coverage: %.1f%% of %d lines" % (100.0 * covered / total if total else 100.0, total)
if low:
    print(line + "; below %g%%: %s" % (minimum, ", ".join(low)))
    sys.exit(1)
print(line)
PY
if [ "$tests" -ne 0 ]; then
    echo "coverage: tests FAILED (ctest exit $tests)"
    exit 1
fi
exit "$status"
