#!/usr/bin/env bash
# Installs every build, test and run-time dependency of cricket from Debian 12's packages.
# Idempotent: a machine that already has them is left as it is. Must run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root (apt-get install)" >&2
    exit 1
fi

packages=(
    # build
    build-essential cmake pkg-config git
    # transport and messages
    libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
    # domains
    libsqlite3-dev libjansson-dev libyaml-dev libcurl4-openssl-dev libssl-dev
    libarchive-dev libseccomp-dev libcap-dev libmicrohttpd-dev zlib1g-dev
    # tests
    libcmocka-dev valgrind clang libclang-rt-14-dev
    # operations: systemd-analyze for the unit test
    systemd
    # metrics: the real Prometheus server and promtool, and curl for the test
    prometheus curl
    # lint and coverage (scripts/lint.sh, scripts/coverage.sh)
    clang-format clang-tidy cppcheck gcovr
    # run time: OCI runtimes and CNI plugins
    runc crun containernetworking-plugins iproute2 iptables
    # AppArmor's parser: loads cricket-default on nodes with AppArmor (and
    # compiles it in the unit tests on nodes without)
    apparmor
    # image tests: the registry fixture (test/fixtures/registry.sh)
    docker-registry busybox-static apache2-utils openssl python3 curl zstd
    # test_unpack: a small ext4 of its own, on a loop device (mkfs.ext4, mount)
    e2fsprogs mount
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
