#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/ from what the tests already know.

usage: fuzz/make-seeds.py   (from anywhere; rewrites the seeds it owns, named
seed-*, and leaves other files in the corpus folders alone)

- config_yaml: test/fixtures/config/*.yaml, and every YAML text the unit tests
  load (the first string argument of load_ok(...) and expect_invalid(...) in
  test/unit/test_config.c: the valid examples and each bad case).
- cri_request: for every RPC of cri/api.proto, in the order cri/methods.c
  builds its table, the method's index byte followed by an empty request, and
  for the RPCs with known examples (EXAMPLES below, protobuf text format),
  the examples encoded with protoc --encode.
- cni_config: the network configurations of CNI_EXAMPLES below (valid .conf
  and .conflist, and the broken ones the conformance suite writes).
- image_reference: every reference test/unit/test_reference.c expects to
  parse or to be refused, and REF_EXAMPLES below.
- image_manifest: manifests, indexes and configs built with the fixture
  library (test/fixtures/imagelib.py) the image tests push, each behind the
  selector byte fuzz_image_manifest.c reads, and the broken ones it refuses.
- layer_tar: small layers built with the same library: plain, gzip and
  zstd, whiteouts, links, xattrs, a device node, and every escape the
  unpacker must refuse ("..", absolute names, links out of the layer).
- cni_result: ADD results of CNI_RESULTS below, as bridge and host-local
  print them, and malformed ones.
- image_user: every USER test/unit/test_oci.c resolves or refuses, each with
  no files, with the passwd and group files that test writes, and with a
  few broken ones ("USER\0PASSWD\0GROUP", as fuzz_image_user.c reads it).
- auth_challenge: every WWW-Authenticate header test/unit/test_challenge.c
  parses or refuses.
- spdy_frames: a read-size byte, then SPDY/3.1 connections: the client
  SYN_STREAMs of exec and port-forward (header blocks compressed as
  spdystream does, with the dictionary read from streaming/spdy.c), DATA
  with and without FIN, every control frame, an unknown type, and the bad
  frames test/unit/test_spdy.c refuses (SPDY/2, stream 0, oversized, bad
  zlib, upper-case or duplicate names, a decompression bomb).
- websocket_frames: a read-size byte and a protocol byte, then masked
  client frames: RFC 6455's examples, a fragmented message with pings
  between fragments, close, channel messages in binary, v5 close and base64,
  and the bad frames test/unit/test_websocket.c refuses.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

EXAMPLES = {
    "UpdateRuntimeConfig": [
        ("ipv4", 'runtime_config { network_config { pod_cidr: "10.244.1.0/24" } }'),
        ("dual-stack", 'runtime_config { network_config { pod_cidr: "10.244.1.0/24,fd00:10:244:1::/64" } }'),
        ("empty-cidr", 'runtime_config { network_config { pod_cidr: "" } }'),
        ("bad-prefix", 'runtime_config { network_config { pod_cidr: "10.244.1.0/33" } }'),
        ("not-a-cidr", 'runtime_config { network_config { pod_cidr: "not-a-cidr" } }'),
        ("three", 'runtime_config { network_config { pod_cidr: "10.0.0.0/8,10.1.0.0/16,fd00::/64" } }'),
        ("commas", 'runtime_config { network_config { pod_cidr: ",,," } }'),
        ("no-network", 'runtime_config { }'),
    ],
    "Version": [("kubelet", 'version: "0.1.0"')],
    "Status": [("verbose", "verbose: true")],
    "RunPodSandbox": [
        ("pod", 'config { metadata { name: "nginx" uid: "u1" namespace: "default" attempt: 1 } '
                'hostname: "nginx" log_directory: "/var/log/pods/u1" '
                'labels { key: "app" value: "nginx" } '
                'linux { cgroup_parent: "/kubepods" security_context { namespace_options { network: POD } } } } '
                'runtime_handler: "runc"'),
    ],
    "CreateContainer": [
        ("container", 'pod_sandbox_id: "abc" config { metadata { name: "c" } image { image: "busybox" } '
                      'command: "sleep" args: "3600" envs { key: "A" value: "b" } '
                      'mounts { container_path: "/data" host_path: "/tmp" readonly: true } } '
                      'sandbox_config { metadata { name: "nginx" uid: "u1" namespace: "default" } }'),
    ],
    "PullImage": [("busybox", 'image { image: "docker.io/library/busybox:1.36" } '
                              'auth { username: "u" password: "p" server_address: "docker.io" }')],
    "ExecSync": [("echo", 'container_id: "abc" cmd: "echo" cmd: "hi" timeout: 5')],
    "ListContainers": [("filter", 'filter { state { state: CONTAINER_RUNNING } '
                                  'label_selector { key: "app" value: "nginx" } }')],
}

CNI_EXAMPLES = {
    "bridge.conflist": '{"cniVersion":"1.0.0","name":"critest","plugins":[{"type":"bridge","bridge":"crit0",'
                       '"isGateway":true,"ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":'
                       '"10.88.0.0/16"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}',
    "bridge-only.conflist": '{"cniVersion":"1.0.0","name":"critest","plugins":[{"type":"bridge"}]}',
    "single.conf": '{"cniVersion":"0.4.0","name":"net","type":"bridge","bridge":"cni0"}',
    "broken.conflist": "{ not json",
    "missing-plugin.conflist": '{"cniVersion":"1.0.0","name":"critest","plugins":[{"type":"no-such-plugin"}]}',
    "empty-plugins.conflist": '{"cniVersion":"1.0.0","name":"critest","plugins":[]}',
    "no-name.conf": '{"cniVersion":"1.0.0","type":"bridge"}',
    "no-type.conflist": '{"name":"n","plugins":[{"bridge":"x"}]}',
    "duplicate-key.conf": '{"name":"a","name":"b","type":"bridge"}',
    "path-type.conf": '{"name":"a","type":"../../bin/sh"}',
    "not-object.conf": '[1,2,3]',
}


REF_EXAMPLES = [
    "busybox", "busybox:1.36", "docker.io/library/busybox:latest", "index.docker.io/library/busybox:1",
    "quay.io/ns/app:v1.2-rc_3", "127.0.0.1:5000/ns/name:tag", "localhost:5000/a/b/c", "[::1]:5000/app",
    "registry.k8s.io/pause:3.10", "busybox@sha256:" + "0123456789abcdef" * 4,
    "host:5000/x:tag@sha256:" + "fedcba9876543210" * 4, "busybox@sha512:" + "00" * 64, "Busybox", "a//b",
    "sha256:" + "ab" * 32, "x" * 300,
]

CNI_RESULTS = {
    "bridge.json": {"cniVersion": "1.0.0",
                    "interfaces": [{"name": "crit0", "mac": "aa:bb:cc:dd:ee:01"},
                                   {"name": "veth1", "mac": "aa:bb:cc:dd:ee:02"},
                                   {"name": "eth0", "mac": "aa:bb:cc:dd:ee:03", "sandbox": "/run/netns/x"}],
                    "ips": [{"interface": 2, "address": "10.88.0.5/16", "gateway": "10.88.0.1"}],
                    "routes": [{"dst": "0.0.0.0/0"}], "dns": {}},
    "dual-stack.json": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}],
                        "ips": [{"interface": 0, "address": "fd00:10:88::5/64"},
                                {"interface": 0, "address": "10.88.0.6/24"}]},
    "host-local.json": {"cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.1.2.3/24"}]},
    "empty.json": {},
    "ips-not-list.json": {"ips": {"address": "10.0.0.1/8"}},
    "no-prefix.json": {"ips": [{"address": "10.0.0.1"}]},
    "bad-address.json": {"ips": [{"address": "10.0.0.300/8"}]},
    "bad-prefix.json": {"ips": [{"address": "10.0.0.1/33"}]},
    "bad-interface.json": {"interfaces": [], "ips": [{"interface": 3, "address": "10.0.0.1/8"}]},
    "many.json": {"ips": [{"address": "10.0.0.%d/8" % i} for i in range(8)]},
    "not-object.json": [1, 2],
}


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def c_string_args(source, funcs):
    """First argument of each call to funcs: adjacent C string literals joined and unescaped."""
    literal = r'"(?:[^"\\]|\\.)*"'
    pattern = re.compile(r'\b(?:%s)\(\s*((?:%s\s*)+)' % ("|".join(funcs), literal))
    for m in pattern.finditer(source):
        parts = re.findall(literal, m.group(1))
        text = "".join(p[1:-1] for p in parts)
        yield text.encode("latin-1").decode("unicode_escape").encode()


def config_seeds():
    fixtures = os.path.join(ROOT, "test", "fixtures", "config")
    for name in sorted(os.listdir(fixtures)):
        with open(os.path.join(fixtures, name), "rb") as f:
            write("config_yaml", "fixture-" + name, f.read())
    with open(os.path.join(ROOT, "test", "unit", "test_config.c")) as f:
        source = f.read()
    for i, text in enumerate(c_string_args(source, ["load_ok", "expect_invalid"])):
        write("config_yaml", "unit-%03d.yaml" % i, text)


def rpc_order():
    with open(os.path.join(ROOT, "cri", "api.proto")) as f:
        proto = f.read()
    methods = []
    for service in ("RuntimeService", "ImageService"):
        body = re.search(r"service %s \{(.*?)\n\}" % service, proto, re.S).group(1)
        methods += re.findall(r"^\s*rpc (\w+)\((\w+)\)", body, re.M)
    return methods


def cri_seeds():
    for index, (method, request) in enumerate(rpc_order()):
        write("cri_request", "%02d-%s-empty" % (index, method), bytes([index]))
        for label, text in EXAMPLES.get(method, []):
            encoded = subprocess.run(
                ["protoc", "--proto_path=" + os.path.join(ROOT, "cri"),
                 "--encode=runtime.v1." + request, "api.proto"],
                input=text.encode(), stdout=subprocess.PIPE, check=True).stdout
            write("cri_request", "%02d-%s-%s" % (index, method, label), bytes([index]) + encoded)


def cni_seeds():
    for name, text in CNI_EXAMPLES.items():
        write("cni_config", name, text.encode())


def reference_seeds():
    with open(os.path.join(ROOT, "test", "unit", "test_reference.c")) as f:
        source = f.read()
    texts = list(c_string_args(source, ["expect", "expect_invalid"])) + [r.encode() for r in REF_EXAMPLES]
    for i, text in enumerate(texts):
        write("image_reference", "%03d" % i, text)


def imagelib():
    sys.path.insert(0, os.path.join(ROOT, "test", "fixtures"))
    import imagelib as lib  # noqa: E402 (the fixture library lives with the tests)
    return lib


def manifest_seeds():
    lib = imagelib()
    small = lib.Tar().dir("etc").file("etc/hostname", "cricket\n").bytes()
    docker = lib.Image().layer(small).layer(lib.Tar().file("a", "b").bytes(), "none")
    docker.config = {"User": "1000:1000", "Env": ["PATH=/bin"], "Entrypoint": ["/bin/sh"], "Cmd": ["-c", "true"],
                     "WorkingDir": "/", "StopSignal": "SIGINT", "Volumes": {"/data": {}},
                     "Labels": {"a": "b", "n": 1}}
    oci = lib.Image(oci=True, arch="arm64", variant="v8").layer(small)
    body, _ = docker.manifest()
    write("image_manifest", "docker-manifest", b"\x00" + body)
    body, _ = oci.manifest()
    write("image_manifest", "oci-manifest-typed", b"\x01" + body)
    m = json.loads(body)
    del m["mediaType"]
    write("image_manifest", "oci-manifest-untyped", b"\x03" + json.dumps(m).encode())
    entries = []
    for arch, variant in (("amd64", None), ("arm64", "v8"), ("arm", "v7"), ("s390x", None)):
        plat = {"os": "linux", "architecture": arch}
        if variant:
            plat["variant"] = variant
        entries.append({"mediaType": lib.OCI_MANIFEST, "size": 100, "digest": "sha256:" + "%02x" % len(entries) * 32,
                        "platform": plat})
    index = {"schemaVersion": 2, "mediaType": lib.OCI_INDEX, "manifests": entries}
    write("image_manifest", "oci-index", b"\x00" + json.dumps(index).encode())
    index["mediaType"] = lib.DOCKER_LIST
    write("image_manifest", "docker-list", b"\x02" + json.dumps(index).encode())
    write("image_manifest", "config-2-layers", bytes([4 | (2 << 3)]) + docker.config_blob())
    write("image_manifest", "config-1-layer", bytes([4 | (1 << 3)]) + oci.config_blob())
    write("image_manifest", "config-wrong-count", bytes([4 | (3 << 3)]) + oci.config_blob())
    bad = {
        "schema1": {"schemaVersion": 1, "name": "x", "fsLayers": []},
        "unknown-type": {"schemaVersion": 2, "mediaType": "text/plain"},
        "layers-not-list": {"schemaVersion": 2, "mediaType": lib.OCI_MANIFEST,
                            "config": {"digest": "sha256:" + "00" * 32, "size": 1}, "layers": {}},
        "bad-digest": {"schemaVersion": 2, "mediaType": lib.OCI_MANIFEST,
                       "config": {"digest": "sha256:abc", "size": 1}, "layers": []},
        "negative-size": {"schemaVersion": 2, "mediaType": lib.OCI_MANIFEST,
                          "config": {"digest": "sha256:" + "00" * 32, "size": -1}, "layers": []},
        "bad-layer-type": {"schemaVersion": 2, "mediaType": lib.OCI_MANIFEST,
                           "config": {"digest": "sha256:" + "00" * 32, "size": 1},
                           "layers": [{"digest": "sha256:" + "11" * 32, "size": 1, "mediaType": "text/html"}]},
        "index-no-match": {"schemaVersion": 2, "mediaType": lib.OCI_INDEX,
                           "manifests": [{"digest": "sha256:" + "22" * 32, "platform": {"os": "windows"}}]},
    }
    for name, doc in bad.items():
        write("image_manifest", name, b"\x00" + json.dumps(doc).encode())
    write("image_manifest", "not-json", b"\x00{ nope")
    write("image_manifest", "config-not-object", b"\x04[]")


def unpack_seeds():
    lib = imagelib()
    T = lib.Tar
    plain = (T().dir("etc").file("etc/hostname", "cricket\n").symlink("etc/link", "hostname")
             .hardlink("etc/hard", "etc/hostname").file("bin/suid", "x", 0o4755, uid=1000, gid=1000)
             .file("etc/attr", "x", xattrs={"user.k": "v"}).bytes())
    write("layer_tar", "plain.tar", plain)
    write("layer_tar", "plain.tar.gz", lib.compress(plain, "gzip"))
    if lib.zstd_available():
        write("layer_tar", "plain.tar.zst", lib.compress(plain, "zstd"))
    write("layer_tar", "whiteouts.tar",
          T().dir("a").file("a/.wh.gone", "").file("b/.wh..wh..opq", "").file("b/kept", "k").bytes())
    write("layer_tar", "device.tar", T().chardev("dev/null", 1, 3).chardev("dev/wh", 0, 0).bytes())
    write("layer_tar", "dotdot.tar", T().file("../escape", "x").bytes())
    write("layer_tar", "absolute.tar", T().file("/abs/escape", "x").bytes())
    write("layer_tar", "symlink-out.tar", T().symlink("out", "/").file("out/escape", "x").bytes())
    write("layer_tar", "symlink-up.tar", T().symlink("up", "..").file("up/escape", "x").bytes())
    write("layer_tar", "hardlink-out.tar", T().hardlink("h", "../x").bytes())
    write("layer_tar", "bad-whiteout.tar", T().file("a/.wh..", "").bytes())
    write("layer_tar", "whiteout-through-link.tar", T().symlink("l", "/").file("l/.wh.x", "").bytes())
    write("layer_tar", "empty", b"")
    write("layer_tar", "garbage", b"\x1f\x8b\x08garbage")


def cni_result_seeds():
    for name, doc in CNI_RESULTS.items():
        write("cni_result", name, json.dumps(doc).encode())
    write("cni_result", "not-json", b"ok")


def user_seeds():
    source = open(os.path.join(ROOT, "test", "unit", "test_oci.c")).read()
    literal = r'"(?:[^"\\]|\\.)*"'

    def unescape(text):
        return text.encode("latin-1").decode("unicode_escape").encode()

    users = [unescape(m.group(1)[1:-1])
             for m in re.finditer(r'expect_user(?:_error)?\(dir,\s*(%s)' % literal, source)]
    files = {}
    for m in re.finditer(r'write_in\(dir,\s*"etc/(passwd|group)",\s*((?:%s\s*)+)' % literal, source):
        files[m.group(1)] = b"".join(unescape(p[1:-1]) for p in re.findall(literal, m.group(2)))
    broken = [b"app:x:1001\napp::99999999999:1:::\n::0:0\n", b"wheel:x:10:app,,app,\n:x::\n"]
    for i, user in enumerate(users):
        write("image_user", "nofiles-%02d" % i, user)
        write("image_user", "files-%02d" % i, user + b"\0" + files["passwd"] + b"\0" + files["group"])
    write("image_user", "broken-passwd", b"app\0" + broken[0] + b"\0" + files["group"])
    write("image_user", "broken-group", b"app:wheel\0" + files["passwd"] + b"\0" + broken[1])


def challenge_seeds():
    source = open(os.path.join(ROOT, "test", "unit", "test_challenge.c")).read()
    for i, header in enumerate(c_string_args(source, ["parse_ok", "expect_invalid"])):
        write("auth_challenge", "unit-%02d" % i, header)


def spdy_dictionary():
    """The SPDY/3 dictionary, read from its C string literal in streaming/spdy.c."""
    source = open(os.path.join(ROOT, "streaming", "spdy.c")).read()
    body = source.split("ck_spdy_dictionary[] =", 1)[1].split(";", 1)[0]
    literal = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    return literal.encode("latin-1").decode("unicode_escape").encode("latin-1")


def spdy_seeds():
    import struct
    import zlib
    dictionary = spdy_dictionary()
    assert len(dictionary) == 1423

    def control(ftype, payload, flags=0, version=3):
        return struct.pack(">HHI", 0x8000 | version, ftype, flags << 24 | len(payload)) + payload

    def data(sid, payload, flags=0):
        return struct.pack(">II", sid, flags << 24 | len(payload)) + payload

    def raw_block(pairs):
        return struct.pack(">I", len(pairs)) + b"".join(
            struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v for n, v in pairs)

    class Client:
        def __init__(self):
            self.z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=dictionary)

        def block(self, raw):
            return self.z.compress(raw) + self.z.flush(zlib.Z_SYNC_FLUSH)

        def syn(self, sid, pairs, flags=0):
            return control(1, struct.pack(">IIBB", sid, 0, 0, 0) + self.block(raw_block(pairs)), flags)

    c = Client()
    session = (c.syn(1, [(b"streamtype", b"error")]) + c.syn(3, [(b"streamtype", b"stdin")]) +
               c.syn(5, [(b"streamtype", b"stdout")]) + c.syn(7, [(b"streamtype", b"resize")]) +
               data(3, b"ls -l\n") + data(7, b'{"Width":80,"Height":24}') + data(3, b"", 1) +
               control(6, struct.pack(">I", 1)) + control(9, struct.pack(">II", 0, 65536)))
    c = Client()
    portforward = (c.syn(1, [(b"port", b"8080"), (b"requestid", b"0"), (b"streamtype", b"error")]) +
                   c.syn(3, [(b"port", b"8080"), (b"requestid", b"0"), (b"streamtype", b"data")]) +
                   data(3, b"GET / HTTP/1.0\r\n\r\n", 1) + control(3, struct.pack(">II", 1, 5)))
    c = Client()
    control_frames = (control(4, struct.pack(">IBBHI", 1, 0, 0, 4, 100), 1) + control(7, struct.pack(">II", 5, 0)) +
                      control(10, b"credential") + control(8, struct.pack(">I", 1) + c.block(raw_block(
                          [(b"x-stream-protocol-version", b"v4.channel.k8s.io\0v3.channel.k8s.io")]))) +
                      control(2, struct.pack(">I", 1) + c.block(raw_block([]))))
    good = {"exec-session": session, "portforward": portforward, "control-frames": control_frames,
            "big-data": data(1, bytes(range(256)) * 64, 1)}
    bomb = Client().syn(1, [(b"a", b"\0" * (1 << 20))])
    bad = {"spdy2": control(1, bytes(10), version=2), "data-stream-0": data(0, b"x"),
           "oversized": struct.pack(">HHI", 0x8003, 1, 0x10001), "garbage-block": control(1, bytes(10) + b"\xde\xad"),
           "upper-case": Client().syn(1, [(b"streamType", b"error")]),
           "duplicate": Client().syn(1, [(b"port", b"1"), (b"port", b"2")]), "bomb": bomb,
           "rst-short": control(3, struct.pack(">I", 1)), "settings-count": control(4, struct.pack(">II", 2, 4))}
    for name, frames in list(good.items()) + list(bad.items()):
        write("spdy_frames", name, b"\x00" + frames)
    for size in (1, 7, 64):
        write("spdy_frames", "exec-session-reads-%d" % size, bytes([size]) + session)


def websocket_seeds():
    import struct
    mask = b"\x37\xfa\x21\x3d"

    def frame(opcode, payload, fin=True, masked=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        bit = 0x80 if masked else 0
        if len(payload) < 126:
            head += bytes([bit | len(payload)])
        elif len(payload) <= 0xffff:
            head += bytes([bit | 126]) + struct.pack(">H", len(payload))
        else:
            head += bytes([bit | 127]) + struct.pack(">Q", len(payload))
        if not masked:
            return head + payload
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    rfc = frame(1, b"Hello") + frame(10, b"Hello")
    fragments = (frame(2, b"\x00Hel", fin=False) + frame(9, b"ping") + frame(0, b"", fin=False) + frame(10, b"") +
                 frame(0, b"lo\n") + frame(8, b"\x03\xe8bye"))
    exec_v5 = frame(2, b"\x00ls\n") + frame(2, b"\x04" + b'{"Width":80,"Height":24}') + frame(2, b"\xff\x00")
    base64 = frame(1, b"0bHMK") + frame(1, b"4eyJXaWR0aCI6ODB9") + frame(1, b"0bH*K")
    large = frame(2, b"\x00" + bytes(range(256)) * 300)
    seeds = {"rfc-examples": (0x00, rfc), "fragments": (0x00, fragments), "exec-v5": (0x05, exec_v5),
             "exec-base64": (0x02, base64), "large": (0x00, large), "small-limit": (0x80, large),
             "unmasked": (0x00, frame(1, b"Hello", masked=False)), "opcode-3": (0x00, frame(3, b"")),
             "rsv1": (0x00, bytes([0xc1, 0x80]) + mask), "long-ping": (0x00, bytes([0x89, 0xfe, 0, 126]) + mask),
             "fragmented-ping": (0x00, frame(9, b"", fin=False)), "lone-continuation": (0x00, frame(0, b"x")),
             "close-1005": (0x00, frame(8, b"\x03\xed")), "after-close": (0x00, frame(8, b"") + frame(9, b"")),
             "interleaved": (0x00, frame(1, b"a", fin=False) + frame(2, b"b"))}
    for name, (protocol, frames) in seeds.items():
        write("websocket_frames", name, bytes([0, protocol]) + frames)
    for size in (1, 3, 100):
        write("websocket_frames", "fragments-reads-%d" % size, bytes([size, 0x03]) + fragments)


def main():
    for target in ("config_yaml", "cri_request", "cni_config", "image_reference", "image_manifest", "layer_tar",
                   "cni_result", "image_user", "auth_challenge", "spdy_frames", "websocket_frames"):
        folder = os.path.join(CORPUS, target)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith("seed-"):
                    os.unlink(os.path.join(folder, name))
    config_seeds()
    cri_seeds()
    cni_seeds()
    reference_seeds()
    manifest_seeds()
    unpack_seeds()
    cni_result_seeds()
    user_seeds()
    challenge_seeds()
    spdy_seeds()
    websocket_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print("%s: %d seeds" % (target, len(os.listdir(os.path.join(CORPUS, target)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
