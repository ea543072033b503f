#!/usr/bin/env bash
# Side-by-side pull benchmark: the multi-layer fixture image (gzip, plain
# and zstd layers, whiteouts) pulled and unpacked from the local registry
# fixture by cricket and by Debian's containerd (CRI plugin, overlayfs
# snapshotter) in the same run. Each run starts both daemons on fresh,
# empty directories, so every pull is cold (download + verify + unpack);
# the figure is the median over the runs, and the ratio cricket/containerd.
# Usage: bench/pull.sh [RUNS]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

scripts/install-deps.sh
dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target cricket pull_bench >/dev/null

work=$(mktemp -d /tmp/cricket-pullbench.XXXXXX)
pids=()
stop_daemons() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
cleanup() {
    stop_daemons
    test/fixtures/registry.sh stop "$work/fx" >/dev/null 2>&1 || true
    umount -R "$work"/run-*/containerd-root/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

test/fixtures/registry.sh start "$work/fx" >/dev/null
# shellcheck disable=SC1091
. "$work/fx/env"
image="$CK_FX_PLAIN/cricket/multi:1"

wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no socket $1" >&2; exit 1; }
ms_of() { sed -n 's/.* ms=\([0-9.]*\) .*/\1/p'; }
median_of() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$work/cricket.ms"
: >"$work/containerd.ms"
for i in $(seq "$runs"); do
    d="$work/run-$i"
    mkdir -p "$d/certs.d/$CK_FX_PLAIN"
    cat >"$d/cricket.yaml" <<YAML
registries:
  hosts:
    "$CK_FX_PLAIN": {insecure: true}
YAML
    cat >"$d/certs.d/$CK_FX_PLAIN/hosts.toml" <<TOML
server = "http://$CK_FX_PLAIN"
[host."http://$CK_FX_PLAIN"]
  capabilities = ["pull", "resolve"]
TOML
    cat >"$d/containerd.toml" <<TOML
version = 2
root = "$d/containerd-root"
state = "$d/containerd-state"
[grpc]
  address = "$d/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "$d/certs.d"
TOML
    build/release/daemon/cricket --config "$d/cricket.yaml" --listen "unix://$d/cricket.sock" \
        --root "$d/cricket-root" --state "$d/cricket-state" --log-level warn 2>"$d/cricket.log" &
    pids+=($!)
    containerd --config "$d/containerd.toml" --log-level warn 2>"$d/containerd.log" &
    pids+=($!)
    wait_socket "$d/cricket.sock"
    wait_socket "$d/containerd.sock"
    sleep 1
    build/release/bench/pull_bench "$d/cricket.sock" "$image" | tee -a "$work/all.txt" | ms_of >>"$work/cricket.ms"
    build/release/bench/pull_bench "$d/containerd.sock" "$image" | tee -a "$work/all.txt" | ms_of >>"$work/containerd.ms"
    stop_daemons
done
cat "$work/all.txt"
c=$(median_of <"$work/cricket.ms")
k=$(median_of <"$work/containerd.ms")
echo "pull_multilayer_median_ms cricket=$c containerd=$k ratio=$(awk -v a="$c" -v b="$k" 'BEGIN{printf "%.3f", a/b}') runs=$runs"
