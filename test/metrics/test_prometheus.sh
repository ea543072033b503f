#!/usr/bin/env bash
# Metrics against the real tools: a daemon with metrics.address on loopback
# answers some CRI calls; promtool checks a scrape; a real Prometheus server
# scrapes cricket and answers a query for one of its series. Also measures
# the cost of metrics on a Version call (metrics on vs off, same run).
# Usage: test_prometheus.sh CRICKET_BIN VERSION_BENCH_BIN
set -euo pipefail
cricket=$1
bench=$2
work=$(mktemp -d /tmp/cricket-metrics.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in cricket prometheus; do
        [ -s "$work/$log.log" ] && { echo "--- $log.log:" >&2; tail -20 "$work/$log.log" >&2; }
    done
    exit 1
}

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    fail "no free port"
}
# wait_http URL [PID]: up to 60 s; a server (PID) that exited fails at once
wait_http() {
    for _ in $(seq 300); do
        curl -sf -o /dev/null "$1" && return 0
        [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && fail "$1: its server exited"
        sleep 0.2
    done
    fail "$1 never answered"
}

mport=$(free_port)
cat >"$work/cricket.yaml" <<YAML
listen: unix://$work/cricket.sock
root_dir: $work/root
state_dir: $work/state
cni:
  conf_dir: $work/net.d
metrics:
  address: 127.0.0.1:$mport
YAML
"$cricket" --config "$work/cricket.yaml" 2>"$work/cricket.log" &
pids+=($!)
wait_http "http://127.0.0.1:$mport/metrics"
"$bench" "$work/cricket.sock" 20 1 >/dev/null || fail "Version calls failed"

curl -sf "http://127.0.0.1:$mport/metrics" >"$work/scrape.txt"
grep -q '^cricket_grpc_requests_total{method="Version",code="OK"} 2[0-9]' "$work/scrape.txt" ||
    fail "no Version request count in the scrape"
grep -q '^cricket_build_info{version=' "$work/scrape.txt" || fail "no build info"
grep -q '^cricket_process_resident_memory_bytes [1-9]' "$work/scrape.txt" || fail "no RSS"
promtool check metrics <"$work/scrape.txt" || fail "promtool check metrics found problems"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/nope")" = 404 ] || fail "unknown path not 404"

# A real Prometheus server scrapes cricket and answers a query.
pport=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: cricket
    static_configs:
      - targets: ["127.0.0.1:$mport"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn 2>"$work/prometheus.log" &
pids+=($!)
wait_http "http://127.0.0.1:$pport/-/ready" "$!"
query="http://127.0.0.1:$pport/api/v1/query?query=cricket_grpc_requests_total%7Bmethod%3D%22Version%22%7D"
for _ in $(seq 60); do
    if curl -sf "$query" | grep -q '"method":"Version"'; then
        echo "prometheus answered: $(curl -sf "$query" | head -c 300)"
        break
    fi
    sleep 0.5
done
curl -sf "$query" | grep -q '"method":"Version"' || fail "Prometheus did not return cricket's series"

# Cost of metrics on a Version call: the same binary, metrics on (this
# daemon) and off (a second one), medians side by side.
"$cricket" --listen "unix://$work/off.sock" --root "$work/root-off" --state "$work/state-off" 2>"$work/off.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/off.sock" ] && break; sleep 0.1; done
on=$("$bench" "$work/cricket.sock" 1000 3 | sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' | sort -n | sed -n 2p)
off=$("$bench" "$work/off.sock" 1000 3 | sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' | sort -n | sed -n 2p)
echo "version_median_us metrics_on=$on metrics_off=$off"
echo "metrics OK"
