#!/usr/bin/env bash
# The benchmark table of issue 19: cricket and containerd's CRI plugin
# (Debian's containerd), both started once, side by side on private
# sockets, directories, bridges and subnets, every row run against both
# through our own C clients (bench/container_bench, bench/pull_bench):
#   1. RunPodSandbox + CreateContainer + StartContainer of one busybox
#      `sleep` pod, N one after the other: median and p90
#   2. N and BIG pods (each with its container) started at once: wall time;
#      Version calls meanwhile, in batches of 100: each batch's slowest call
#   3. stop+remove of those pods: wall time
#   4. ExecSync `true`: median of EXECS
#   5. ListContainers and ListPodSandbox with TOTAL created `sleep`
#      containers (in FILL pods): median and p99 of CALLS each, ROUNDS
#      rounds: the median of each figure
#   6. daemon RSS and PSS idle, with N and with BIG pods; the monitors' (cricket-
#      monitor) or shims' (containerd-shim-runc-v2) RSS and PSS (shared
#      pages divided among their sharers: what they really cost), summed and
#      per pod
#   7. the floor: `runc run` of a busybox bundle running `true`, median of
#      FLOOR, and pod+container start over it
#   8. cold pull+unpack of a multi-layer image of PULL_MB unpacked (300 MB;
#      about 160 MB of gzip blobs) from the loopback registry fixture, a
#      fresh image each round, the runtimes' order swapped each round, the
#      disk's dirty pages written out before each pull: median of ROUNDS
#   9. log writing: a container printing LOG_LINES lines of 60 bytes
#      (`yes | head`), from its start to its exit, LOG_ROUNDS one after the
#      other: median ms (the pipe's writer waits for the runtime's log
#      writer, so this is its throughput)
# The ratio column is cricket/containerd. A benchmark, not a test: with
# --tiny (what CI runs) everything is small and the only check is that
# every row got a number for both runtimes.
# Usage: bench/table.sh [--tiny]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

if [ "${1:-}" = --tiny ]; then
    tiny=1 n=2 big=3 execs=5 fill=2 total=10 calls=5 floor=3 rounds=1 pull_mb=4 settle_s=1 log_rounds=1 log_lines=1000
else
    tiny=0 n=20 big=110 execs=100 fill=10 total=1000 calls=200 floor=20 rounds=3 pull_mb=300 settle_s=11 log_rounds=5
    log_lines=500000
fi

bench_prepare cricket cricket-pause cricket-monitor container_bench pull_bench version_bench
bench_init cricket-table
bench_registry
python3 bench/big_image.py "http://$CK_FX_PLAIN" cricket/big "$rounds" "$pull_mb" >"$work/big.txt"
bench_images
bench_start_cricket cktab-c0 10.254.5.0/24
bench_start_containerd cktab-d0 10.254.6.0/24
bench_import
sleep 2

declare -A v # v[runtime.metric]
all="$work/all.txt"
log() { tee -a "$all"; }
say() { echo "table.sh: $*" >&2; }
with_image() { local s=$1; shift; "$bench_bin/container_bench" "$work/$s.sock" "$image" "$work/logs" "$@"; }
ctr_bench() { local s=$1; shift; "$bench_bin/container_bench" "$work/$s.sock" "$@"; }

memory() { # LABEL PODS: the daemons' and the helpers' RSS and PSS once settled
    # (cricket gives freed heap back every 10 s, Go's scavenger as lazily)
    sleep "$settle_s"
    snapshot
    for s in cricket containerd; do
        read -r count rss pss <<<"$(processes "${helper[$s]}")"
        v[$s.rss_$1]=$(rss_kib "${pid_of[$s]}")
        v[$s.pss_$1]=$(pss_kib "${pid_of[$s]}")
        v[$s.helpers_$1]=$count
        v[$s.helper_rss_$1]=$rss
        v[$s.helper_per_$1]=$((rss / $2))
        v[$s.helper_pss_$1]=$pss
        v[$s.helper_pss_per_$1]=$((pss / $2))
    done
}

declare -A pid_of=([cricket]=$cricket_pid [containerd]=$containerd_pid)
for s in cricket containerd; do
    v[$s.rss_idle]=$(rss_kib "${pid_of[$s]}")
    v[$s.pss_idle]=$(pss_kib "${pid_of[$s]}")
done

say "1. $n pods one after the other"
for s in cricket containerd; do
    line=$(with_image "$s" seq "$n" | log)
    for m in median p90 runp create start; do v[$s.seq_$m]=$(field "${m}_ms" <<<"$line"); done
done

# Version calls, batches of 100 one after the other, while the BIG pods
# start: the median over the batches of each batch's slowest call.
version_during() { # RUNTIME COMMAND...
    local s=$1 vb
    shift
    "$bench_bin/version_bench" "$work/$s.sock" 100 1000000 >"$work/version.$s" &
    vb=$!
    "$@"
    kill "$vb"
    wait "$vb" || true
    v[$s.version_p99]=$(field p99_us <"$work/version.$s" | median_of | awk '{printf "%.2f", $1/1000}')
    v[$s.version_batches]=$(wc -l <"$work/version.$s")
}

for size in "$n" "$big"; do
    say "2. $size pods at once"
    for s in cricket containerd; do
        if [ "$size" = "$big" ]; then
            version_during "$s" with_image "$s" par "$size" >"$work/par.$s"
        else
            with_image "$s" par "$size" >"$work/par.$s"
        fi
        v[$s.par_$size]=$(log <"$work/par.$s" | field wall_ms)
    done
    memory "$size" "$size"
    say "3. stop+remove of $size pods"
    for s in cricket containerd; do
        v[$s.clean_$size]=$(ctr_bench "$s" clean | log | field wall_ms)
    done
done

say "4. ExecSync true x $execs"
for s in cricket containerd; do
    line=$(with_image "$s" exec "$execs" | log)
    v[$s.exec_median]=$(field sync_median_ms <<<"$line")
    v[$s.exec_p90]=$(field sync_p90_ms <<<"$line")
done

say "5. lists with $total containers"
for s in cricket containerd; do
    line=$(with_image "$s" fill "$fill" "$total" 2 | log)
    v[$s.fill_s]=$(awk -v a="$(field pods_ms <<<"$line")" -v b="$(field creates_ms <<<"$line")" 'BEGIN{printf "%.1f", (a+b)/1000}')
done
# A p99 of one round is the second slowest call: one stall of the shared
# machine (or of the other daemon, busy after its own fill) sets it. So
# ROUNDS rounds, the runtimes' order swapped each round, and the median of
# each figure over them.
for r in $(seq "$rounds"); do
    order="cricket containerd"
    [ $((r % 2)) -eq 0 ] && order="containerd cricket"
    for s in $order; do
        line=$(ctr_bench "$s" list "$calls" | log)
        for m in median p99 pod_median pod_p99; do field "${m}_ms" <<<"$line" >>"$work/list_$m.$s"; done
    done
done
for s in cricket containerd; do
    for m in median p99 pod_median pod_p99; do v[$s.list_$m]=$(median_of <"$work/list_$m.$s"); done
done
memory fill "$total"
for s in cricket containerd; do
    v[$s.fill_clean_s]=$(ctr_bench "$s" clean | log | field wall_ms | awk '{printf "%.1f", $1/1000}')
done

say "9. log writing: $log_lines lines x $log_rounds"
for s in cricket containerd; do
    line=$(with_image "$s" logs "$log_rounds" "$log_lines" | log)
    v[$s.logs_ms]=$(field median_ms <<<"$line")
    v[$s.logs_rate]=$(field lines_per_s <<<"$line")
done
rm -f "$work"/logs/logger-*.log # 50 MB each

say "7. the floor: runc run x $floor"
bundle="$work/floor"
mkdir -p "$bundle" "$work/runc"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" "$work/busybox/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
spec["root"] = {"path": rootfs, "readonly": True}
spec["process"]["args"] = ["true"]
spec["process"]["terminal"] = False
spec["linux"]["cgroupsPath"] = "/ctr-bench/floor"
json.dump(spec, open(path, "w"))
PY
: >"$work/floor.ms"
for i in $(seq "$floor"); do
    t0=$(date +%s%N)
    runc --root "$work/runc" run --bundle "$bundle" "floor-$i" </dev/null
    echo "$(($(date +%s%N) - t0))" >>"$work/floor.ms"
done
floor_ms=$(median_of <"$work/floor.ms" | awk '{printf "%.1f", $1/1e6}')
echo "runc run floor: median_ms=$floor_ms of $floor" | log

say "8. cold pull of $pull_mb MB x $rounds"
log <"$work/big.txt"
for r in $(seq "$rounds"); do
    order="cricket containerd"
    [ $((r % 2)) -eq 0 ] && order="containerd cricket"
    for s in $order; do
        sync # the last pull's (and the image build's) dirty pages go out first: each pull is timed alone
        "$bench_bin/pull_bench" "$work/$s.sock" "$CK_FX_PLAIN/cricket/big:$r" | log | field ms >>"$work/pull.$s"
    done
done
for s in cricket containerd; do v[$s.pull]=$(median_of <"$work/pull.$s"); done
pull_blob_mb=$(field bytes <"$work/big.txt" | head -1 | awk '{printf "%d", $1/1048576}')

# --- the table ----------------------------------------------------------------
table() {
    bench_header "row (N=$n, BIG=$big)"
    r() { bench_row "$1" "${v[cricket.$2]:-}" "${v[containerd.$2]:-}"; }
    r "1. runp+create+start, sequential: median of $n (ms)" seq_median
    r "   p90 of $n (ms)" seq_p90
    r "   of which RunPodSandbox, median (ms)" seq_runp
    r "   of which CreateContainer, median (ms)" seq_create
    r "   of which StartContainer, median (ms)" seq_start
    r "2. $n pods+containers in parallel: wall (ms)" "par_$n"
    r "   $big pods+containers in parallel: wall (ms)" "par_$big"
    r "   Version during the $big: slowest of 100, median of batches (ms)" version_p99
    r "   batches of 100 Version calls during the $big" version_batches
    r "3. stop+remove of $n pods: wall (ms)" "clean_$n"
    r "   stop+remove of $big pods: wall (ms)" "clean_$big"
    r "4. ExecSync true: median of $execs (ms)" exec_median
    r "   p90 of $execs (ms)" exec_p90
    r "5. ListContainers, $total ctrs, $rounds x $calls calls: median (ms)" list_median
    r "   ListContainers p99 of a round, median of $rounds (ms)" list_p99
    r "   ListPodSandbox, $fill pods: median (ms)" list_pod_median
    r "   ListPodSandbox p99 of a round, median of $rounds (ms)" list_pod_p99
    r "   setup: $fill pods + $total creates, 2 in flight (s)" fill_s
    r "   teardown: stop+remove of them (s)" fill_clean_s
    r "6. daemon RSS idle (KiB)" rss_idle
    r "   daemon PSS idle (KiB)" pss_idle
    for size in "$n" "$big"; do
        r "   daemon RSS with $size pods (KiB)" "rss_$size"
        r "   daemon PSS with $size pods (KiB)" "pss_$size"
        r "   monitors/shims with $size pods: count" "helpers_$size"
        r "   monitors/shims with $size pods: RSS sum (KiB)" "helper_rss_$size"
        r "   monitors/shims with $size pods: RSS per pod+container (KiB)" "helper_per_$size"
        r "   monitors/shims with $size pods: PSS sum (KiB)" "helper_pss_$size"
        r "   monitors/shims with $size pods: PSS per pod+container (KiB)" "helper_pss_per_$size"
    done
    r "   daemon RSS with $total created containers (KiB)" rss_fill
    r "   monitors/shims with them: count" helpers_fill
    r "   monitors/shims with them: RSS sum (KiB)" helper_rss_fill
    bench_row "7. floor: runc run of the bundle, median of $floor (ms)" "$floor_ms" "$floor_ms"
    bench_row "   row 1 median over the floor (x)" \
        "$(awk -v a="${v[cricket.seq_median]}" -v f="$floor_ms" 'BEGIN{printf "%.2f", a/f}')" \
        "$(awk -v a="${v[containerd.seq_median]}" -v f="$floor_ms" 'BEGIN{printf "%.2f", a/f}')"
    r "8. cold pull+unpack of $pull_mb MB ($pull_blob_mb MB gzip), median of $rounds (ms)" pull
    r "9. log writing: $log_lines lines of 60 B, median of $log_rounds (ms)" logs_ms
    r "   lines per second" logs_rate
}
echo
cat "$all"
echo
table | tee "$work/table.txt"
# every row needs a number in both columns, above 0 but for the helpers of
# created containers: cricket runs none for a created container (its
# runtime create waits for StartContainer) nor for a pod without a pause
bad=$(awk '$0 !~ /^row/ {c = $(NF-2); d = $(NF-1); zero_ok = $0 ~ /shims with them/
    if (!(c ~ /^[0-9.]+$/ && d ~ /^[0-9.]+$/ && (zero_ok || (c > 0 && d > 0)))) print}' "$work/table.txt")
if [ -n "$bad" ]; then
    echo "table.sh: rows without a number for both runtimes:" >&2
    echo "$bad" >&2
    exit 1
fi
[ "$tiny" = 1 ] && echo "table.sh --tiny: every row has numbers for both runtimes"
exit 0
