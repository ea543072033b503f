#!/usr/bin/env python3
"""big_image: pushes COUNT multi-layer images of about MB megabytes each to
a registry fixture, as REPO:1 .. REPO:COUNT, for bench/table.sh's cold-pull
row. Each image's bytes differ from every other's (seeded by its tag), so
a runtime that pulled one has nothing cached for the next. Four gzip
layers of many files, half random (incompressible) and half text, so
download, verification, decompression and unpacking all cost something.

usage: big_image.py REGISTRY_URL REPO COUNT MB
"""
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from imagelib import DOCKER_LAYER_GZIP, Image, Registry, Tar, busybox_tar, sha256  # noqa: E402

LAYERS = 4
FILE_SIZE = 128 * 1024


def layer_tar(rng, layer, size):
    t = Tar().dir(f"data{layer}")
    text = b"cricket benchmark layer data, compressible like the text in real images\n" * (FILE_SIZE // 144)
    for i in range(max(1, size // FILE_SIZE)):
        body = rng.randbytes(FILE_SIZE // 2) + text[: FILE_SIZE // 2]
        t.file(f"data{layer}/f{i:05d}", body)
    return t.bytes()


def image(tag, megabytes):
    rng = random.Random(f"cricket-bench-{tag}")
    im = Image()
    im.layer(busybox_tar())
    for layer in range(LAYERS):
        tar = layer_tar(rng, layer, megabytes * 1024 * 1024 // LAYERS)
        # level 1: building must stay quick; the pull cost is in the size
        im.layers.append((DOCKER_LAYER_GZIP, gzip.compress(tar, compresslevel=1, mtime=0), sha256(tar)))
    im.config = {"Cmd": ["sh"], "Env": ["PATH=/bin"]}
    return im


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    url, repo, count, megabytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    reg = Registry(url)
    for tag in range(1, count + 1):
        im = image(tag, megabytes)
        reg.push_image(repo, str(tag), im)
        size = sum(len(b) for b in im.blobs())
        print(f"big_image repo={repo} tag={tag} layers={len(im.layers)} bytes={size}")


if __name__ == "__main__":
    main()
