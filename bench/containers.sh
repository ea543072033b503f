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
#      it took to have them (cricket's created containers each hold a
#      monitor and a `runc init`) and the time to remove them all
# 1-3 are repeated ROUNDS times (default 3, order of the runtimes swapped
# each round), 4 is set up once and measured ROUNDS times; the table shows
# the median over the rounds and the ratio containerd/cricket.
# With `exec` first, instead: one running `sleep` container per runtime and
# round, N (default 100) ExecSync calls of `true`, then N streamed execs of
# `true` (Exec RPC, WebSocket v4.channel.k8s.io, stdout only, timed from
# the Exec call to the exit status on the error channel): median and p90.
# Usage: bench/containers.sh [N] [ROUNDS] [TOTAL]   (as root)
#        bench/containers.sh exec [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=containers
if [ "${1:-}" = exec ]; then
    mode=exec
    shift
fi
n=${1:-$([ "$mode" = exec ] && echo 100 || echo 20)}
rounds=${2:-3}
total=${3:-1000}
fill_pods=10
list_calls=20

scripts/install-deps.sh >/dev/null
dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd >/dev/null

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target cricket cricket-pause cricket-monitor container_bench >/dev/null
bench=build/release/bench/container_bench

work=$(mktemp -d /tmp/cricket-ctrbench.XXXXXX)
pids=()
# Processes our two daemons left behind (monitors, shims), by pid: those
# whose command line names our private directory.
# (grep says 2 when a process left while it read: not an error here.)
our_strays() { { grep -alsF "$work" /proc/[0-9]*/cmdline || true; } | cut -d/ -f3; }
cleanup() {
    set +e
    for s in cricket containerd; do
        [ -S "$work/$s.sock" ] && timeout 600 "$bench" "$work/$s.sock" clean >/dev/null 2>&1
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    for p in $(our_strays); do kill -9 "$p" 2>/dev/null; done
    ip link del ckctr-c0 2>/dev/null
    ip link del ckctr-d0 2>/dev/null
    # deepest mounts first
    awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    for d in /sys/fs/cgroup/*/ctr-bench /sys/fs/cgroup/ctr-bench; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

# --- images: busybox (both), pause (containerd) -----------------------------
docker_archive() { # DIR TAG ENTRY_JSON: DIR/rootfs -> DIR.tar
    local dir=$1 tag=$2 config=$3 diff_id
    tar -C "$dir/rootfs" -cf "$dir/layer.tar" .
    diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
    cat >"$dir/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":$config,"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
JSON
    echo "[{\"Config\":\"config.json\",\"RepoTags\":[\"$tag\"],\"Layers\":[\"layer.tar\"]}]" >"$dir/manifest.json"
    tar -C "$dir" -cf "$dir.tar" manifest.json config.json layer.tar
}
image=cricket.local/busybox:bench
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
    bridge: ckctr-c0
    subnet: 10.254.3.0/24
YAML
build/release/daemon/cricket --config "$work/cricket.yaml" 2>"$work/cricket.log" &
pids+=($!)
cricket_pid=$!

# --- containerd -------------------------------------------------------------
mkdir -p "$work/containerd-net.d"
cat >"$work/containerd-net.d/10-bench.conflist" <<JSON
{"cniVersion":"1.0.0","name":"bench","plugins":[
 {"type":"bridge","bridge":"ckctr-d0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.254.4.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],
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
pids+=($!)
containerd_pid=$!

wait_socket() {
    for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "no socket $1" >&2
    exit 1
}
wait_socket "$work/cricket.sock"
wait_socket "$work/containerd.sock"
build/release/daemon/cricket --config "$work/cricket.yaml" image import "$work/busybox.tar" >/dev/null
for t in pause busybox; do
    ctr --address "$work/containerd.sock" -n k8s.io images import "$work/$t.tar" >/dev/null
done
sleep 2

# --- measuring ----------------------------------------------------------------
declare -A pid_of=([cricket]=$cricket_pid [containerd]=$containerd_pid)
# The per-pod or per-container helpers: one cricket-monitor per pod and per
# container, one containerd-shim-runc-v2 per pod (kernel names: 15 chars).
declare -A helper=([cricket]=cricket-monitor [containerd]=containerd-shim)
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
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
record() { echo "$3" >>"$work/m.$1.$2"; } # RUNTIME METRIC VALUE
all="$work/all.txt"
row() { # METRIC LABEL
    local c d
    c=$(median_of <"$work/m.cricket.$1")
    d=$(median_of <"$work/m.containerd.$1")
    printf '%-58s %12s %12s %8s\n' "$2" "$c" "$d" "$(awk -v c="$c" -v d="$d" 'BEGIN{if (c > 0 && d > 0) printf "%.2f", d/c; else print "-"}')"
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
    printf '%-58s %12s %12s %8s\n' metric cricket containerd "ctrd/ck"
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
    # cricket's created containers each hold a `runc init` under their
    # monitor; containerd makes no process before StartContainer.
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
printf '%-58s %12s %12s %8s\n' metric cricket containerd "ctrd/ck"
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
