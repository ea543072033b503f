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
"""
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


def main():
    for target in ("config_yaml", "cri_request", "cni_config"):
        folder = os.path.join(CORPUS, target)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith("seed-"):
                    os.unlink(os.path.join(folder, name))
    config_seeds()
    cri_seeds()
    cni_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print("%s: %d seeds" % (target, len(os.listdir(os.path.join(CORPUS, target)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
