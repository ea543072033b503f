#!/usr/bin/env bash
# Proves that cri/api.proto (cricket's own rendering of CRI v1) describes the
# same wire contract as the published Kubernetes CRI proto.
#
# usage: scripts/check-proto-compat.sh [UPSTREAM_API_PROTO]
#
# Without an argument, the upstream file is read from a local bare mirror of
# kubernetes/cri-api ($CRI_API_MIRROR, default /work/.mirror/kubernetes+cri-api/repo)
# at tag $CRI_API_TAG (default v0.36.3, Kubernetes 1.36). If neither is there,
# the check is skipped (exit 0): CI machines have no mirror.
#
# Steps: strip from a temp copy of upstream what protoc 3.21 rejects or only Go
# generators use (gogoproto import/options, debug_redact); compile both files
# with protoc --descriptor_set_out (no source info); compare the decoded
# descriptors with scripts/proto-compat.py. Exit 0 when identical, 1 on any
# difference (printed), 2 on usage or tool errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
ours="$root/cri/api.proto"
mirror=${CRI_API_MIRROR:-/work/.mirror/kubernetes+cri-api/repo}
tag=${CRI_API_TAG:-v0.36.3}
upstream_path=pkg/apis/runtime/v1/api.proto

if [ $# -gt 1 ]; then
    echo "usage: $0 [UPSTREAM_API_PROTO]" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/upstream"

if [ $# -eq 1 ]; then
    if [ ! -r "$1" ]; then
        echo "check-proto-compat: cannot read $1" >&2
        exit 2
    fi
    cp "$1" "$tmp/upstream.orig"
    source_desc="$1"
elif [ -e "$mirror" ]; then
    if ! git -C "$mirror" show "$tag:$upstream_path" >"$tmp/upstream.orig"; then
        echo "check-proto-compat: $tag:$upstream_path not found in $mirror" >&2
        exit 2
    fi
    source_desc="$mirror $tag:$upstream_path"
else
    echo "skip: no upstream proto given"
    exit 0
fi

for tool in protoc python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-proto-compat: $tool not found" >&2
        exit 2
    fi
done

echo "upstream: $source_desc"
echo "cricket:  $ours"

python3 "$here/proto-compat.py" strip "$tmp/upstream.orig" "$tmp/upstream/api.proto"

# Same file name (api.proto) on both sides, so descriptor names match.
protoc --proto_path="$tmp/upstream" --descriptor_set_out="$tmp/upstream.pb" api.proto
protoc --proto_path="$root/cri" --descriptor_set_out="$tmp/cricket.pb" api.proto

if python3 "$here/proto-compat.py" compare "$tmp/upstream.pb" "$tmp/cricket.pb"; then
    echo "check-proto-compat: OK"
else
    echo "check-proto-compat: FAILED: cri/api.proto differs from upstream" >&2
    exit 1
fi
