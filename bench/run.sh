#!/usr/bin/env bash
# Side-by-side benchmark of cricket and containerd's CRI plugin (Debian's
# containerd package) in the same run, on private sockets and directories:
# idle RSS after start, and sequential Version call latency (median of the
# per-run medians). Usage: bench/run.sh [CALLS] [RUNS]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-1000}
runs=${2:-5}

scripts/install-deps.sh
dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target cricket version_bench >/dev/null

work=$(mktemp -d /tmp/cricket-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

build/release/daemon/cricket --listen "unix://$work/cricket.sock" --root "$work/cricket-root" \
    --state "$work/cricket-state" --log-level warn 2>"$work/cricket.log" &
pids+=($!); cricket_pid=$!

cat >"$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd-root"
state = "$work/containerd-state"
[grpc]
  address = "$work/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
TOML
containerd --config "$work/containerd.toml" --log-level warn 2>"$work/containerd.log" &
pids+=($!); containerd_pid=$!

wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no socket $1" >&2; exit 1; }
wait_socket "$work/cricket.sock"
wait_socket "$work/containerd.sock"
sleep 3 # let both settle before reading their idle memory

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
c_rss=$(rss_kib "$cricket_pid"); d_rss=$(rss_kib "$containerd_pid")
echo "idle_rss_kib cricket=$c_rss containerd=$d_rss ratio=$(awk -v a="$c_rss" -v b="$d_rss" 'BEGIN{printf "%.3f", a/b}')"

median_of() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bench() { build/release/bench/version_bench "$1" "$calls" "$runs" | tee -a "$work/bench.txt" | sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' | median_of; }
c_med=$(bench "$work/cricket.sock")
d_med=$(bench "$work/containerd.sock")
cat "$work/bench.txt"
echo "version_median_us cricket=$c_med containerd=$d_med ratio=$(awk -v a="$c_med" -v b="$d_med" 'BEGIN{printf "%.3f", a/b}')"
c_rss=$(rss_kib "$cricket_pid"); d_rss=$(rss_kib "$containerd_pid")
echo "rss_after_calls_kib cricket=$c_rss containerd=$d_rss"
