#!/usr/bin/env bash
# Installs what cricket needs, builds it (release) and runs the daemon in the
# foreground with its embedded defaults (or the flags given, e.g. --config F).
# Run as root on Debian 12: sudo scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCK_TESTS=OFF
cmake --build build/release -j"$(nproc)"
exec build/release/daemon/cricket "$@"
