# shellcheck shell=bash
# bench/lib.sh: what every benchmark shares, sourced from the repository's
# root after `set -euo pipefail`: the build, a private work directory, the
# images (busybox for both runtimes, a pause image for containerd, both
# built here and imported offline), cricket and Debian's containerd (CRI
# plugin) each on its own socket, directories, bridge and subnet, the
# measurements of processes, and a cleanup that runs however the script
# ends (normally, on error, on Ctrl-C or SIGTERM) and removes pods,
# containers, processes, bridges, mounts, cgroups, the registry fixture and
# the work directory.
#
#   bench_prepare TARGET...        deps, containerd, release build of TARGETs
#   bench_init PREFIX              $work, the cleanup traps
#   bench_registry                 the registry fixture ($CK_FX_PLAIN)
#   bench_images                   $work/busybox.tar and $work/pause.tar
#   bench_start_cricket BRIDGE SUBNET      $cricket_pid, $work/cricket.sock
#   bench_start_containerd BRIDGE SUBNET   $containerd_pid, $work/containerd.sock
#   bench_import                   both images into both runtimes
#
# Pods are made under the cgroup parent /ctr-bench by container_bench.

bench_bin=build/release/bench
image=cricket.local/busybox:bench
pids=()
bridges=()
subnets=()
registry_dir=

bench_prepare() {
    scripts/install-deps.sh >/dev/null
    dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q "install ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd >/dev/null
    cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build/release -j"$(nproc)" --target "$@" >/dev/null
}

bench_init() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    trap bench_cleanup EXIT
    # an interrupted run still cleans up: exit runs the EXIT trap
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Processes our two daemons left behind (monitors, shims, runc), by pid:
# those whose command line names our private directory.
# (grep says 2 when a process left while it read: not an error here.)
our_strays() { { grep -alsF "$work" /proc/[0-9]*/cmdline || true; } | cut -d/ -f3; }

bench_cleanup() {
    set +e
    trap - INT TERM
    for s in cricket containerd; do
        [ -S "$work/$s.sock" ] && timeout 600 "$bench_bin/container_bench" "$work/$s.sock" clean >/dev/null 2>&1
    done
    if [ -d "$work/runc" ]; then
        for id in $(runc --root "$work/runc" list -q 2>/dev/null); do
            runc --root "$work/runc" delete -f "$id" 2>/dev/null
        done
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    for p in $(our_strays); do kill -9 "$p" 2>/dev/null; done
    bench_forget_pods
    for b in "${bridges[@]}"; do ip link del "$b" 2>/dev/null; done
    # deepest mounts first
    awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    [ -n "$registry_dir" ] && test/fixtures/registry.sh stop "$registry_dir" >/dev/null 2>&1
    rm -rf "$work"
}

# What pods leave behind when their daemon died before it could remove them
# (a crash, or a signal sent to our whole process group): their processes
# (by cgroup), the netns containerd pinned in /var/run/netns, and the NAT
# rules of the CNI bridge plugin, found by our subnets.
bench_forget_pods() {
    local d ns sub prefix rule chain
    for _ in $(seq 50); do
        for d in /sys/fs/cgroup/*/ctr-bench /sys/fs/cgroup/ctr-bench; do
            [ -d "$d" ] || continue
            find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | xargs -r kill -9 2>/dev/null
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        compgen -G "/sys/fs/cgroup/*/ctr-bench" >/dev/null || [ -d /sys/fs/cgroup/ctr-bench ] || break
        sleep 0.1
    done
    for sub in "${subnets[@]}"; do
        prefix=${sub%0/*}
        for ns in /var/run/netns/cni-*; do
            [ -e "$ns" ] && ip -n "${ns##*/}" -4 -o addr show 2>/dev/null | grep -qF " $prefix" &&
                ip netns del "${ns##*/}" 2>/dev/null
        done
        iptables -t nat -S POSTROUTING 2>/dev/null | grep -F -- "-s $prefix" | while read -r rule; do
            chain=${rule##* -j }
            eval "iptables -t nat ${rule/#-A/-D}" 2>/dev/null
            iptables -t nat -F "$chain" 2>/dev/null
            iptables -t nat -X "$chain" 2>/dev/null
        done
    done
}

bench_registry() {
    registry_dir="$work/fx"
    test/fixtures/registry.sh start "$registry_dir" >/dev/null
    # shellcheck disable=SC1091
    . "$registry_dir/env"
}

docker_archive() { # DIR TAG CONFIG_JSON: DIR/rootfs -> DIR.tar
    local dir=$1 tag=$2 config=$3 diff_id
    tar -C "$dir/rootfs" -cf "$dir/layer.tar" .
    diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
    cat >"$dir/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":$config,"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
JSON
    echo "[{\"Config\":\"config.json\",\"RepoTags\":[\"$tag\"],\"Layers\":[\"layer.tar\"]}]" >"$dir/manifest.json"
    tar -C "$dir" -cf "$dir.tar" manifest.json config.json layer.tar
}

bench_images() {
    mkdir -p "$work/busybox/rootfs"/{bin,etc,proc,sys,dev,tmp}
    cp /bin/busybox "$work/busybox/rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -s busybox "$work/busybox/rootfs/bin/$a"
    done
    docker_archive "$work/busybox" "$image" '{"Env":["PATH=/bin"],"Cmd":["sh"]}'
    mkdir -p "$work/pause/rootfs"
    cp build/release/daemon/cricket-pause "$work/pause/rootfs/pause"
    docker_archive "$work/pause" cricket.local/pause:bench '{"Entrypoint":["/pause"]}'
    mkdir -p "$work/logs"
}

# bench_conflist BRIDGE SUBNET IPAM_DIR: the one network both runtimes get
# (bridge with masquerade, host-local, portmap), so the table compares the
# runtimes, not their default networks (cricket's adds bandwidth).
bench_conflist() {
    cat <<JSON
{"cniVersion":"1.0.0","name":"bench","plugins":[
 {"type":"bridge","bridge":"$1","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"$2"}]],"routes":[{"dst":"0.0.0.0/0"}],
          "dataDir":"$3"}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
JSON
}

bench_start_cricket() { # BRIDGE SUBNET
    bridges+=("$1")
    subnets+=("$2")
    mkdir -p "$work/cricket-net.d"
    bench_conflist "$1" "$2" "$work/cricket-ipam" >"$work/cricket-net.d/10-bench.conflist"
    cat >"$work/cricket.yaml" <<YAML
listen: unix://$work/cricket.sock
root_dir: $work/cricket-root
state_dir: $work/cricket-state
log_level: warn
cni:
  conf_dir: $work/cricket-net.d
  bin_dirs: [/usr/lib/cni]
  default_network:
    bridge: $1
    subnet: $2
YAML
    if [ -n "$registry_dir" ]; then
        printf 'registries:\n  hosts:\n    "%s": {insecure: true}\n' "$CK_FX_PLAIN" >>"$work/cricket.yaml"
    fi
    # its own session, as the shims and monitors have: a Ctrl-C in the
    # terminal reaches this script, which still removes the pods through it
    setsid build/release/daemon/cricket --config "$work/cricket.yaml" 2>"$work/cricket.log" &
    pids+=($!)
    # shellcheck disable=SC2034 # for the sourcing script
    cricket_pid=$!
}

bench_start_containerd() { # BRIDGE SUBNET
    bridges+=("$1")
    subnets+=("$2")
    mkdir -p "$work/containerd-net.d" "$work/certs.d"
    bench_conflist "$1" "$2" "$work/containerd-ipam" >"$work/containerd-net.d/10-bench.conflist"
    if [ -n "$registry_dir" ]; then
        mkdir -p "$work/certs.d/$CK_FX_PLAIN"
        cat >"$work/certs.d/$CK_FX_PLAIN/hosts.toml" <<TOML
server = "http://$CK_FX_PLAIN"
[host."http://$CK_FX_PLAIN"]
  capabilities = ["pull", "resolve"]
TOML
    fi
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
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$work/certs.d"
TOML
    setsid containerd --config "$work/containerd.toml" --log-level warn 2>"$work/containerd.log" &
    pids+=($!)
    # shellcheck disable=SC2034 # for the sourcing script
    containerd_pid=$!
}

wait_socket() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "no socket $1" >&2
    exit 1
}

bench_import() {
    wait_socket "$work/cricket.sock"
    wait_socket "$work/containerd.sock"
    build/release/daemon/cricket --config "$work/cricket.yaml" image import "$work/busybox.tar" >/dev/null
    for t in pause busybox; do
        ctr --address "$work/containerd.sock" -n k8s.io images import "$work/$t.tar" >/dev/null
    done
}

# --- measuring ------------------------------------------------------------------
# The per-pod or per-container helpers: one cricket-monitor per pod and per
# container, one containerd-shim-runc-v2 per pod (kernel names: 15 chars).
# shellcheck disable=SC2034 # for the sourcing script
declare -A helper=([cricket]=cricket-monitor [containerd]=containerd-shim)
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# snapshot: $work/ours (pids whose command line names our private directory)
# and $work/procs ("pid name ppid rss_kib pss_kib" of every process), each
# read in one pass.
snapshot() {
    { echo 0; our_strays; } >"$work/ours"
    { grep -sHE '^(Name|PPid|VmRSS|Pss):' /proc/[0-9]*/status /proc/[0-9]*/smaps_rollup || true; } |
        awk '{
            i = index($0, ":"); split(substr($0, 1, i - 1), f, "/"); rest = substr($0, i + 1)
            j = index(rest, ":"); k = substr(rest, 1, j - 1); v = substr(rest, j + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
            p = f[3]; seen[p] = 1
            if (k == "Name") name[p] = v; else if (k == "PPid") pp[p] = v; else if (k == "VmRSS") rss[p] = v + 0; else if (k == "Pss") pss[p] = v + 0
        } END { for (p in seen) printf "%s %s %s %d %d\n", p, name[p], pp[p], rss[p], pss[p] }' >"$work/procs"
}
# processes NAME [PARENT]: "count rss_kib pss_kib" of our processes called
# NAME, or (with PARENT) of the processes called NAME whose parent is one of
# ours called PARENT. Names are the kernel's 15-character ones.
processes() {
    awk -v n="$1" -v pn="${2:-}" 'NR == FNR { ours[$1] = 1; next }
        { name[$1] = $2; pp[$1] = $3; rss[$1] = $4; pss[$1] = $5 }
        END {
            for (p in name) {
                if (name[p] != n) continue
                if (pn == "" ? !(p in ours) : !((pp[p] in ours) && name[pp[p]] == pn)) continue
                c++; r += rss[p]; s += pss[p]
            }
            printf "%d %d %d\n", c, r, s
        }' "$work/ours" "$work/procs"
}
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p"; }
median_of() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
# bench_row LABEL CRICKET CONTAINERD: one table line, with cricket/containerd
bench_row() {
    printf '%-60s %12s %12s %8s\n' "$1" "$2" "$3" "$(awk -v c="$2" -v d="$3" 'BEGIN{if (c > 0 && d > 0) printf "%.2f", c/d; else print "-"}')"
}
bench_header() { printf '%-60s %12s %12s %8s\n' "$1" cricket containerd "ck/ctrd"; }
