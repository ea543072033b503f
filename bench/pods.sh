#!/usr/bin/env bash
# Pod sandboxes, cricket vs containerd's CRI plugin in the same run, each on
# private sockets, directories, bridge and subnet:
#   - RunPodSandbox latency, one pod after another (median of N, default 20)
#   - N pods started at once (wall time)
#   - the daemon's RSS with those N pods running
# containerd gets its pause image from a local archive built from our
# cricket-pause binary (no registry traffic). Usage: bench/pods.sh [N] (root)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}

scripts/install-deps.sh
dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target cricket cricket-pause cricket-monitor pod_bench >/dev/null

work=$(mktemp -d /tmp/cricket-podbench.XXXXXX)
pids=()
cleanup() {
    for s in cricket containerd; do
        [ -S "$work/$s.sock" ] && build/release/bench/pod_bench "$work/$s.sock" clean >/dev/null 2>&1 || true
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip link del ckbench-c0 2>/dev/null || true
    ip link del ckbench-d0 2>/dev/null || true
    rmdir /sys/fs/cgroup/*/pod-bench 2>/dev/null || true
    umount -R "$work/containerd-state" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- a pause image for containerd, from the same static binary ------------
img="$work/pause-image"
mkdir -p "$img/rootfs"
cp build/release/daemon/cricket-pause "$img/rootfs/pause"
tar -C "$img/rootfs" -cf "$img/layer.tar" pause
diff_id=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
cat >"$img/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
JSON
echo '[{"Config":"config.json","RepoTags":["cricket.local/pause:bench"],"Layers":["layer.tar"]}]' >"$img/manifest.json"
tar -C "$img" -cf "$work/pause.tar" manifest.json config.json layer.tar

# --- cricket ----------------------------------------------------------------
mkdir -p "$work/cricket-net.d"
cat >"$work/cricket.yaml" <<YAML
listen: unix://$work/cricket.sock
root_dir: $work/cricket-root
state_dir: $work/cricket-state
log_level: warn
cni:
  conf_dir: $work/cricket-net.d
  bin_dirs: [/usr/lib/cni]
  default_network:
    bridge: ckbench-c0
    subnet: 10.254.1.0/24
YAML
build/release/daemon/cricket --config "$work/cricket.yaml" 2>"$work/cricket.log" &
pids+=($!); cricket_pid=$!

# --- containerd -------------------------------------------------------------
mkdir -p "$work/containerd-net.d"
cat >"$work/containerd-net.d/10-bench.conflist" <<JSON
{"cniVersion":"1.0.0","name":"bench","plugins":[
 {"type":"bridge","bridge":"ckbench-d0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.254.2.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],
          "dataDir":"$work/containerd-ipam"}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
JSON
cat >"$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd-root"
state = "$work/containerd-state"
[grpc]
  address = "$work/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  sandbox_image = "cricket.local/pause:bench"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$work/containerd-net.d"
TOML
containerd --config "$work/containerd.toml" --log-level warn 2>"$work/containerd.log" &
pids+=($!); containerd_pid=$!

wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no socket $1" >&2; exit 1; }
wait_socket "$work/cricket.sock"
wait_socket "$work/containerd.sock"
ctr --address "$work/containerd.sock" -n k8s.io images import "$work/pause.tar" >/dev/null
sleep 2

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
echo "idle_rss_kib cricket=$(rss_kib $cricket_pid) containerd=$(rss_kib $containerd_pid)"
for s in cricket containerd; do build/release/bench/pod_bench "$work/$s.sock" seq "$n"; done
for s in cricket containerd; do build/release/bench/pod_bench "$work/$s.sock" par "$n"; done
sleep 1
c_rss=$(rss_kib $cricket_pid); d_rss=$(rss_kib $containerd_pid)
# containerd's pods also cost one containerd-shim per pod; cricket's one monitor per pod.
shim_kib=$(ps -C containerd-shim-runc-v2 -o rss= | awk '{s+=$1} END {print s+0}')
mon_kib=$(ps -C cricket-monitor -o rss= | awk '{s+=$1} END {print s+0}')
echo "rss_with_${n}_pods_kib cricket=$c_rss containerd=$d_rss (helpers: cricket-monitor total=$mon_kib, containerd-shim total=$shim_kib)"
