#!/usr/bin/env bash
# Install into a temporary DESTDIR and check the layout: binary, systemd unit
# (which systemd-analyze verify accepts without a complaint), the commented
# default config and crictl.yaml, an install manifest listing them, and that a
# second install keeps an operator's edited config. Usage: test_install.sh BUILD_DIR
set -euo pipefail
build=$1
dest=$(mktemp -d /tmp/cricket-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$dest cmake --install "$build" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
bin=$dest$prefix/bin/cricket
unit=$dest$prefix/lib/systemd/system/cricket.service
for f in "$bin" "$unit" "$dest/etc/cricket/cricket.yaml" "$dest/etc/crictl.yaml"; do
    [ -f "$f" ] || fail "$f was not installed"
done
[ -x "$bin" ] || fail "$bin is not executable"
[ "$(stat -c %a "$dest/etc/cricket/cricket.yaml")" = 640 ] || fail "cricket.yaml mode $(stat -c %a "$dest/etc/cricket/cricket.yaml")"
for f in "$prefix/bin/cricket" "$prefix/lib/systemd/system/cricket.service" /etc/cricket/cricket.yaml /etc/crictl.yaml; do
    grep -qx "$f" "$build/install_manifest.txt" || fail "$f missing from install_manifest.txt"
done

# The installed config is the one `cricket config --default` prints, and it
# loads to the built-in defaults.
"$bin" config --default | cmp - "$dest/etc/cricket/cricket.yaml" || fail "config --default differs from the installed file"
: >"$dest/empty.yaml"
"$bin" config --config "$dest/etc/cricket/cricket.yaml" >"$dest/from-file.yaml"
"$bin" config --config "$dest/empty.yaml" >"$dest/from-defaults.yaml"
cmp "$dest/from-file.yaml" "$dest/from-defaults.yaml" || fail "the installed config does not load to the defaults"
grep -q "unix:///run/cricket/cricket.sock" "$dest/etc/crictl.yaml" || fail "crictl.yaml does not point at cricket"

# The unit passes systemd-analyze verify (pointed at the DESTDIR binary).
grep -q '^Type=notify' "$unit" && grep -q '^KillMode=process' "$unit" && grep -q '^Delegate=yes' "$unit" ||
    fail "unit lacks Type=notify, KillMode=process or Delegate=yes"
sed "s|^ExecStart=$prefix/bin/cricket|ExecStart=$bin|" "$unit" >"$dest/cricket.service"
out=$(systemd-analyze verify "$dest/cricket.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"

# A second install never overwrites the operator's files.
echo "log_level: debug" >"$dest/etc/cricket/cricket.yaml"
echo "runtime-endpoint: unix:///x.sock" >"$dest/etc/crictl.yaml"
DESTDIR=$dest cmake --install "$build" >/dev/null
[ "$(cat "$dest/etc/cricket/cricket.yaml")" = "log_level: debug" ] || fail "an existing cricket.yaml was overwritten"
[ "$(cat "$dest/etc/crictl.yaml")" = "runtime-endpoint: unix:///x.sock" ] || fail "an existing crictl.yaml was overwritten"
echo "install layout OK"
