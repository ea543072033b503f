#!/usr/bin/env bash
# Containers, cricket vs containerd's CRI plugin (Debian's containerd) in the
# same run, each on private sockets, directories, bridge and subnet, both
# running the same busybox image, built here from /bin/busybox and imported
# offline (no registry traffic):
#   1. RunPodSandbox + CreateContainer + StartContainer of one `sleep`
#      container, one pod after another: median and p90 of N (default 20)
#   2. N of those at once: wall time
#   3. with those N pods running: the daemon's RSS, and the per-container
#      helpers: cricket-monitor processes vs containerd-shim-runc-v2
#   4. ListContainers with TOTAL (default 1000) created (not started)
#      containers in 10 pods: median of 20 calls; with the time and memory
#      it took to have them (neither runtime makes a process before
#      StartContainer) and the time to remove them all
# 1-3 are repeated ROUNDS times (default 3, order of the runtimes swapped
# each round), 4 is set up once and measured ROUNDS times; the table shows
# the median over the rounds and the ratio cricket/containerd.
# bench/table.sh is the one table of issue 19; this script keeps the
# breakdown (rounds, the created containers' processes, streamed exec).
# With `exec` first, instead: one running `sleep` container per runtime and
# round, N (default 100) ExecSync calls of `true`, then N streamed execs of
# `true` (Exec RPC, WebSocket v4.channel.k8s.io, stdout only, timed from
# the Exec call to the exit status on the error channel): median and p90.
# Usage: bench/containers.sh [N] [ROUNDS] [TOTAL]   (as root)
#        bench/containers.sh exec [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
mode=containers
if [ "${1:-}" = exec ]; then
    mode="exec"
    shift
fi
n=${1:-$([ "$mode" = exec ] && echo 100 || echo 20)}
rounds=${2:-3}
total=${3:-1000}
fill_pods=10
list_calls=20

bench_prepare cricket cricket-pause cricket-monitor container_bench
bench=$bench_bin/container_bench
bench_init cricket-ctrbench
bench_images
bench_start_cricket ckctr-c0 10.254.3.0/24
bench_start_containerd ckctr-d0 10.254.4.0/24
bench_import
sleep 2

# --- measuring ----------------------------------------------------------------
declare -A pid_of=([cricket]=$cricket_pid [containerd]=$containerd_pid)
record() { echo "$3" >>"$work/m.$1.$2"; } # RUNTIME METRIC VALUE
all="$work/all.txt"
row() { # METRIC LABEL: the medians over the rounds
    bench_row "$2" "$(median_of <"$work/m.cricket.$1")" "$(median_of <"$work/m.containerd.$1")"
}
order_of_round() { # ROUND: the runtimes, swapped every other round
    if [ $(($1 % 2)) -eq 0 ]; then echo containerd cricket; else echo cricket containerd; fi
}

if [ "$mode" = exec ]; then
    for r in $(seq "$rounds"); do
        for s in $(order_of_round "$r"); do
            line=$("$bench" "$work/$s.sock" "$image" "$work/logs" exec "$n" | tee -a "$all")
            for m in sync_median sync_p90 stream_median stream_p90; do
                record "$s" "$m" "$(field "${m}_ms" <<<"$line")"
            done
        done
    done
    echo
    cat "$all"
    echo
    echo "medians over $rounds rounds (N=$n execs of each kind per round, one container per runtime and round)"
    bench_header metric
    row sync_median "ExecSync true: median of $n (ms)"
    row sync_p90 "ExecSync true: p90 of $n (ms)"
    row stream_median "Exec true, WebSocket v4, call to status: median (ms)"
    row stream_p90 "Exec true, WebSocket v4, call to status: p90 (ms)"
    exit 0
fi

for r in $(seq "$rounds"); do
    order=$(order_of_round "$r")
    for s in $order; do
        line=$("$bench" "$work/$s.sock" "$image" "$work/logs" seq "$n" | tee -a "$all")
        record "$s" seq_median "$(field median_ms <<<"$line")"
        record "$s" seq_p90 "$(field p90_ms <<<"$line")"
        record "$s" runp "$(field runp_ms <<<"$line")"
        record "$s" create "$(field create_ms <<<"$line")"
        record "$s" start "$(field start_ms <<<"$line")"
    done
    for s in $order; do
        line=$("$bench" "$work/$s.sock" "$image" "$work/logs" par "$n" | tee -a "$all")
        record "$s" par_wall "$(field wall_ms <<<"$line")"
    done
    sleep 2
    snapshot
    for s in $order; do
        read -r count rss pss <<<"$(processes "${helper[$s]}")"
        d=$(rss_kib "${pid_of[$s]}")
        echo "rss round=$r runtime=$s daemon_kib=$d helpers=$count helpers_rss_kib=$rss helpers_pss_kib=$pss" >>"$all"
        record "$s" daemon_rss "$d"
        record "$s" helpers "$count"
        record "$s" helper_rss "$rss"
        record "$s" helper_rss_per "$((rss / n))"
        record "$s" helper_pss_per "$((pss / n))"
    done
    for s in $order; do "$bench" "$work/$s.sock" clean; done
done

for s in cricket containerd; do
    line=$("$bench" "$work/$s.sock" "$image" "$work/logs" fill "$fill_pods" "$total" 2 | tee -a "$all")
    record "$s" fill_s "$(awk -v a="$(field pods_ms <<<"$line")" -v b="$(field creates_ms <<<"$line")" 'BEGIN{printf "%.1f", (a+b)/1000}')"
    record "$s" fill_create "$(field create_median_ms <<<"$line")"
    record "$s" listed "$(field containers <<<"$line")"
    sleep 2
    record "$s" fill_daemon_rss "$(rss_kib "${pid_of[$s]}")"
    snapshot
    read -r count rss pss <<<"$(processes "${helper[$s]}")"
    echo "fill runtime=$s helpers=$count helpers_rss_kib=$rss helpers_pss_kib=$pss" >>"$all"
    record "$s" fill_helpers "$count"
    record "$s" fill_helper_rss "$rss"
    # Neither runtime makes a process before StartContainer: both 0.
    read -r count rss pss <<<"$(processes "runc:[2:INIT]" "${helper[$s]}")"
    echo "fill runtime=$s runc_init=$count runc_init_rss_kib=$rss runc_init_pss_kib=$pss" >>"$all"
    record "$s" fill_inits "$count"
    record "$s" fill_init_rss "$rss"
    record "$s" fill_init_pss "$pss"
done
for r in $(seq "$rounds"); do
    for s in cricket containerd; do
        line=$("$bench" "$work/$s.sock" list "$list_calls" | tee -a "$all")
        record "$s" list_median "$(field median_ms <<<"$line")"
        record "$s" list_p90 "$(field p90_ms <<<"$line")"
    done
done
for s in cricket containerd; do
    t0=$(date +%s.%N)
    "$bench" "$work/$s.sock" clean
    record "$s" clean_s "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"
done

# --- the table ----------------------------------------------------------------
echo
cat "$all"
echo
echo "medians over $rounds rounds (N=$n, TOTAL=$total in $fill_pods pods, $list_calls ListContainers per round)"
bench_header metric
row seq_median "runp+create+start, sequential: median of $n (ms)"
row seq_p90 "runp+create+start, sequential: p90 of $n (ms)"
row runp "  of which RunPodSandbox, median (ms)"
row create "  of which CreateContainer, median (ms)"
row start "  of which StartContainer, median (ms)"
row par_wall "$n x runp+create+start in parallel: wall (ms)"
row daemon_rss "daemon RSS with $n pods x 1 container (KiB)"
row helpers "helper processes (monitors / shims)"
row helper_rss "helpers' RSS, sum (KiB)"
row helper_rss_per "helpers' RSS per pod+container (KiB)"
row helper_pss_per "helpers' PSS per pod+container (KiB)"
row listed "containers created for ListContainers"
row fill_s "  setup: $fill_pods pods + creates, 2 in flight (s)"
row fill_create "  CreateContainer median during setup (ms)"
row fill_daemon_rss "  daemon RSS with them (KiB)"
row fill_helpers "  helper processes with them"
row fill_helper_rss "  helpers' RSS with them, sum (KiB)"
row fill_inits "  runc init processes held by created containers"
row fill_init_rss "  their RSS, sum (KiB)"
row fill_init_pss "  their PSS, sum (KiB)"
row list_median "ListContainers, median of $list_calls (ms)"
row list_p90 "ListContainers, p90 of $list_calls (ms)"
row clean_s "  teardown of them: stop+remove all (s)"
