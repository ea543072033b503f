#!/usr/bin/env bash
# Side-by-side benchmark of cricket and containerd's CRI plugin (Debian's
# containerd package) in the same run, on private sockets and directories:
# idle RSS after start, and sequential Version call latency (median of the
# per-run medians). Usage: bench/run.sh [CALLS] [RUNS]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
calls=${1:-1000}
runs=${2:-5}

bench_prepare cricket version_bench
bench_init cricket-bench
bench_start_cricket ckrun-c0 10.254.7.0/24
bench_start_containerd ckrun-d0 10.254.8.0/24
wait_socket "$work/cricket.sock"
wait_socket "$work/containerd.sock"
sleep 3 # let both settle before reading their idle memory

bench_header metric
bench_row "idle RSS (KiB)" "$(rss_kib "$cricket_pid")" "$(rss_kib "$containerd_pid")"
bench() { "$bench_bin/version_bench" "$1" "$calls" "$runs" | tee -a "$work/bench.txt" | field median_us | median_of; }
c_med=$(bench "$work/cricket.sock")
d_med=$(bench "$work/containerd.sock")
bench_row "Version, median of the medians of $runs x $calls (us)" "$c_med" "$d_med"
bench_row "RSS after the calls (KiB)" "$(rss_kib "$cricket_pid")" "$(rss_kib "$containerd_pid")"
cat "$work/bench.txt"
