/*
 * Conformance over the wire for pod sandboxes: a real daemon with its own
 * state, CNI conf dir, bridge and subnet (never a host bridge), real runc and
 * real CNI plugins. What the pod sees is checked from inside: through the
 * pause process's /proc entry and its pinned network namespace. Network
 * traffic goes only to 127.0.0.1 and to the pods this test created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"
#include "test/critest/pod_fixture.h"

static crit_daemon shared;
static crit_client *client;
static crit_pod_net net;
static char cgroup_parent[64];

static int start_shared(void **state)
{
    (void)state;
    crit_pod_net_init(&net, "ckt", 200);
    crit_pod_cgroup_parent(cgroup_parent, sizeof(cgroup_parent), "critest");
    if (crit_daemon_prepare_pods(&shared, net.bridge, net.subnet, NULL) < 0)
        return -1;
    client = crit_daemon_start_and_connect(&shared);
    return client != NULL ? 0 : -1;
}

static int stop_shared(void **state)
{
    (void)state;
    int rc = crit_daemon_teardown(&shared, client, 15000);
    crit_pod_net_remove(&net);
    crit_pod_cgroup_parent_remove(cgroup_parent);
    return rc == 0 ? 0 : -1;
}

static grpc_status_code call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                             crit_result *r)
{
    return crit_call(client, method, req, desc, 60000, r);
}

static void *call_ok(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                     crit_result *r)
{
    return crit_call_ok(client, &shared, method, req, desc, r);
}

typedef struct pod_opts {
    const char *name;
    const char *hostname;
    bool host_network;
    bool host_pid, host_ipc;
    bool share_pid; /* pid POD: a pause process (else CONTAINER, as the kubelet asks: none) */
    int32_t host_port, container_port;
    const char *sysctl_key, *sysctl_value;
    const char *sysctl2_key, *sysctl2_value;
    bool dns;
    const char *ingress; /* kubernetes.io/ingress-bandwidth */
} pod_opts;

static Runtime__V1__LinuxSandboxSecurityContext sc;
static Runtime__V1__NamespaceOption nso;
static Runtime__V1__DNSConfig dns;
static Runtime__V1__PortMapping pm, *pms[1];
static Runtime__V1__PodSandboxConfig__LabelsEntry label, *labels[1];
static Runtime__V1__PodSandboxConfig__AnnotationsEntry annot, bw, *annots[2];
static Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry sysctl, sysctl2, *sysctls[2];
static char *servers[] = {"10.96.0.10"}, *searches[] = {"ns1.svc.cluster.local", "svc.cluster.local"},
            *options[] = {"ndots:5"};

static Runtime__V1__RunPodSandboxRequest *build(const pod_opts *o)
{
    static crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, o->name, cgroup_parent);
    Runtime__V1__PodSandboxConfig *config = &pod.config;
    Runtime__V1__LinuxPodSandboxConfig *lx = &pod.linux_config;
    runtime__v1__linux_sandbox_security_context__init(&sc);
    runtime__v1__namespace_option__init(&nso);
    config->hostname = (char *)(o->hostname != NULL ? o->hostname : "");
    nso.network = o->host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
    nso.pid = o->host_pid    ? RUNTIME__V1__NAMESPACE_MODE__NODE
              : o->share_pid ? RUNTIME__V1__NAMESPACE_MODE__POD
                             : RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    nso.ipc = o->host_ipc ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
    sc.namespace_options = &nso;
    lx->security_context = &sc;
    runtime__v1__pod_sandbox_config__labels_entry__init(&label);
    label.key = "app";
    label.value = (char *)o->name;
    labels[0] = &label;
    config->labels = labels;
    config->n_labels = 1;
    runtime__v1__pod_sandbox_config__annotations_entry__init(&annot);
    annot.key = "critest/annotation";
    annot.value = "kept";
    annots[0] = &annot;
    config->annotations = annots;
    config->n_annotations = 1;
    if (o->ingress != NULL) {
        runtime__v1__pod_sandbox_config__annotations_entry__init(&bw);
        bw.key = "kubernetes.io/ingress-bandwidth";
        bw.value = (char *)o->ingress;
        annots[1] = &bw;
        config->n_annotations = 2;
    }
    if (o->dns) {
        runtime__v1__dnsconfig__init(&dns);
        dns.servers = servers;
        dns.n_servers = 1;
        dns.searches = searches;
        dns.n_searches = 2;
        dns.options = options;
        dns.n_options = 1;
        config->dns_config = &dns;
    }
    if (o->host_port > 0) {
        runtime__v1__port_mapping__init(&pm);
        pm.host_port = o->host_port;
        pm.container_port = o->container_port;
        pm.protocol = RUNTIME__V1__PROTOCOL__TCP;
        pms[0] = &pm;
        config->port_mappings = pms;
        config->n_port_mappings = 1;
    }
    if (o->sysctl_key != NULL) {
        runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(&sysctl);
        sysctl.key = (char *)o->sysctl_key;
        sysctl.value = (char *)o->sysctl_value;
        sysctls[0] = &sysctl;
        lx->sysctls = sysctls;
        lx->n_sysctls = 1;
    }
    if (o->sysctl2_key != NULL) {
        runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(&sysctl2);
        sysctl2.key = (char *)o->sysctl2_key;
        sysctl2.value = (char *)o->sysctl2_value;
        sysctls[lx->n_sysctls++] = &sysctl2;
        lx->sysctls = sysctls;
    }
    return req;
}

static char *run_pod(const pod_opts *o)
{
    return crit_pod_run(client, &shared, build(o));
}

/* Status with verbose info; *record gets the record JSON. */
static Runtime__V1__PodSandboxStatusResponse *status(const char *id, crit_result *r, json_t **record)
{
    return crit_pod_status(client, &shared, id, r, record);
}

static pid_t pause_pid(const char *id)
{
    return crit_pod_pause_pid(client, &shared, id);
}

static void stop_pod(const char *id)
{
    crit_pod_stop(client, &shared, id);
}

static void remove_pod(const char *id)
{
    crit_pod_remove(client, &shared, id);
}

static size_t list_count(void)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    crit_result r;
    Runtime__V1__ListPodSandboxResponse *l =
        call_ok(RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    size_t n = l->n_items;
    crit_result_clear(&r);
    return n;
}

static void read_file(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The pod IPs the shared daemon's network has handed out. */
static size_t allocated_ips(void)
{
    return crit_pod_allocated_ips(&shared, net.prefix);
}

static size_t veths_on_bridge(void)
{
    return crit_pod_veths(&net);
}

static void assert_nothing_left(void)
{
    crit_pod_assert_nothing_left(&shared, &net, cgroup_parent);
}

/* The end of most tests: their last pod goes (id is freed), and nothing of
 * any pod may be left after it. */
static void remove_last_pod(char *id)
{
    remove_pod(id);
    free(id);
    assert_nothing_left();
}

static char *netns_of(const char *id)
{
    crit_result r;
    json_t *rec;
    status(id, &r, &rec);
    char *path = strdup(json_string_value(json_object_get(rec, "netns")));
    json_decref(rec);
    crit_result_clear(&r);
    return path;
}

static void enter_netns(const char *netns)
{
    if (netns == NULL)
        return;
    int fd = open(netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
        _exit(3);
    close(fd);
}

/* A child in netns that accepts one TCP connection on port and sends msg.
 * Returns once it listens. */
static pid_t serve_once(const char *netns, int port, const char *msg)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(15);
        enter_netns(netns);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
            _exit(4);
        if (write(ready[1], "x", 1) != 1)
            _exit(5);
        int c = accept(s, NULL, NULL);
        if (c < 0 || write(c, msg, strlen(msg)) < 0)
            _exit(6);
        close(c);
        _exit(0);
    }
    close(ready[1]);
    char x;
    assert_int_equal(read(ready[0], &x, 1), 1);
    close(ready[0]);
    return pid;
}

/* Connects from netns (NULL: ours) to ip:port and reads what comes back. */
static void fetch(const char *netns, const char *ip, int port, char *buf, size_t size)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(15);
        enter_netns(netns);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, ip, &a.sin_addr);
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
            _exit(7);
        char b[64];
        ssize_t n = read(s, b, sizeof(b));
        if (n > 0 && write(out[1], b, (size_t)n) < 0)
            _exit(8);
        _exit(0);
    }
    close(out[1]);
    ssize_t n = read(out[0], buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(out[0]);
    waitpid(pid, NULL, 0);
}

/* The first line `nsenter <args>` prints into buf. */
static void nsenter_path_line(const char *args, char *buf, size_t size)
{
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "nsenter %s", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    buf[0] = '\0';
    assert_non_null(fgets(buf, (int)size, p));
    pclose(p);
}

/* The first line `nsenter -t pid <args>` prints into buf. */
static void nsenter_line(pid_t pid, const char *args, char *buf, size_t size)
{
    char all[256];
    snprintf(all, sizeof(all), "-t %d %s", (int)pid, args);
    nsenter_path_line(all, buf, size);
}

static void test_lifecycle_and_status_fields(void **state)
{
    (void)state;
    pod_opts o = {.name = "life",
                  .hostname = "life-host",
                  .share_pid = true,
                  .dns = true,
                  .sysctl_key = "net.ipv4.ip_unprivileged_port_start",
                  .sysctl_value = "81"};
    char *id = run_pod(&o);
    crit_result r;
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, &rec);
    assert_string_equal(s->status->id, id);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    assert_string_equal(s->status->metadata->name, "life");
    assert_string_equal(s->status->metadata->namespace_, "critest");
    assert_string_equal(s->status->metadata->uid, "uid-life");
    assert_true(s->status->created_at > 0);
    assert_true(llabs(s->status->created_at - (int64_t)time(NULL) * 1000000000) < 60LL * 1000000000);
    assert_non_null(strstr(s->status->network->ip, net.prefix));
    assert_int_equal(strncmp(s->status->network->ip, net.prefix, strlen(net.prefix)), 0);
    assert_int_equal(s->status->linux->namespaces->options->network, RUNTIME__V1__NAMESPACE_MODE__POD);
    assert_int_equal(s->status->n_labels, 1);
    assert_string_equal(s->status->labels[0]->key, "app");
    assert_string_equal(s->status->labels[0]->value, "life");
    assert_int_equal(s->status->n_annotations, 1);
    assert_string_equal(s->status->annotations[0]->value, "kept");
    assert_string_equal(s->status->runtime_handler, "runc");
    char ip[64];
    snprintf(ip, sizeof(ip), "%s", s->status->network->ip);
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pause_pid"));
    json_decref(rec);
    crit_result_clear(&r);

    /* From inside the pod. */
    char path[128], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/root/etc/resolv.conf", (int)pid);
    read_file(path, buf, sizeof(buf));
    assert_string_equal(buf,
                        "search ns1.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    snprintf(path, sizeof(path), "/proc/%d/root/etc/hostname", (int)pid);
    read_file(path, buf, sizeof(buf));
    assert_string_equal(buf, "life-host\n");
    snprintf(path, sizeof(path), "/proc/%d/root/etc/hosts", (int)pid);
    read_file(path, buf, sizeof(buf));
    char want[128];
    snprintf(want, sizeof(want), "%s\tlife-host\n", ip);
    assert_non_null(strstr(buf, want));
    nsenter_line(pid, "-u hostname", buf, sizeof(buf));
    assert_string_equal(buf, "life-host\n");
    nsenter_line(pid, "-n cat /proc/sys/net/ipv4/ip_unprivileged_port_start", buf, sizeof(buf));
    assert_string_equal(buf, "81\n");
    /* pid 1 of its own pid namespace, in its own /dev/shm tmpfs. */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    read_file(path, buf, sizeof(buf));
    assert_non_null(strstr(buf, "NSpid:"));
    assert_non_null(strstr(strstr(buf, "NSpid:"), "\t1\n"));
    snprintf(path, sizeof(path), "/proc/%d/root/pause", (int)pid);
    assert_int_equal(access(path, X_OK), 0);
    /* oom_score_adj: -998 where the host allows it, else clamped to the
     * daemon's own value (logged), never a failed pod. */
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    read_file(path, buf, sizeof(buf));
    char own[32];
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)shared.pid);
    read_file(path, own, sizeof(own));
    if (crit_daemon_log_contains(&shared, "oom_score_adj -998 requested"))
        assert_string_equal(buf, own);
    else
        assert_string_equal(buf, "-998\n");

    /* By id prefix too; a list finds it with its label. */
    char pre[13];
    snprintf(pre, sizeof(pre), "%.12s", id);
    s = status(pre, &r, NULL);
    assert_string_equal(s->status->id, id);
    crit_result_clear(&r);
    assert_int_equal(list_count(), 1);

    stop_pod(id);
    s = status(id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    crit_result_clear(&r);
    assert_int_equal(kill(pid, 0), -1);
    stop_pod(id); /* idempotent */
    remove_pod(id);
    remove_pod(id); /* idempotent */
    stop_pod("0123456789abcdef-unknown");
    remove_pod("0123456789abcdef-unknown");
    Runtime__V1__PodSandboxStatusRequest sreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    sreq.pod_sandbox_id = id;
    assert_int_equal(
        call(RUNTIME("PodSandboxStatus"), &sreq.base, &runtime__v1__pod_sandbox_status_response__descriptor, &r),
        GRPC_STATUS_NOT_FOUND);
    crit_result_clear(&r);
    assert_int_equal(list_count(), 0);
    assert_nothing_left();
    free(id);
}

/* CNI ADD runs beside the pause's creation, except for a pod whose sysctls
 * name its interface: the runtime can set those only once CNI made it. A
 * slow first plugin makes sure the interface comes late. */
static void test_interface_sysctl_waits_for_the_network(void **state)
{
    (void)state;
    char path[PATH_MAX], conf[2048];
    snprintf(path, sizeof(path), "%s/00-slow.conflist", shared.cni_dir);
    snprintf(
        conf, sizeof(conf),
        "{\"cniVersion\":\"1.0.0\",\"name\":\"cricket\",\"plugins\":[{\"type\":\"cktest-flaky\",\"delayMs\":1500},"
        "{\"type\":\"bridge\",\"bridge\":\"%s\",\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s\"}]],"
        "\"dataDir\":\"%s/cni/networks\"}}]}",
        net.bridge, net.subnet, shared.state);
    crit_write_text(path, conf);
    pod_opts o = {
        .name = "ifsysctl", .share_pid = true, .sysctl_key = "net.ipv4.conf.eth0.accept_local", .sysctl_value = "1"};
    char *id = run_pod(&o);
    unlink(path);
    crit_result r;
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, &rec);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pause_pid"));
    json_decref(rec);
    crit_result_clear(&r);
    char buf[64];
    nsenter_line(pid, "-n cat /proc/sys/net/ipv4/conf/eth0/accept_local", buf, sizeof(buf));
    assert_string_equal(buf, "1\n");
    remove_last_pod(id);
}

static void test_list_filters(void **state)
{
    (void)state;
    pod_opts a = {.name = "fa"}, b = {.name = "fb"};
    char *ida = run_pod(&a), *idb = run_pod(&b);
    stop_pod(idb);
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__PodSandboxFilter f = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
    Runtime__V1__PodSandboxStateValue sv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
    req.filter = &f;
    sv.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
    f.state = &sv;
    crit_result r;
    Runtime__V1__ListPodSandboxResponse *l =
        call_ok(RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    assert_int_equal(l->n_items, 1);
    assert_string_equal(l->items[0]->id, ida);
    crit_result_clear(&r);
    f.state = NULL;
    Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT,
                                                      *sels[1] = {&sel};
    sel.key = "app";
    sel.value = "fb";
    f.label_selector = sels;
    f.n_label_selector = 1;
    l = call_ok(RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    assert_int_equal(l->n_items, 1);
    assert_string_equal(l->items[0]->id, idb);
    assert_int_equal(l->items[0]->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    crit_result_clear(&r);
    f.n_label_selector = 0;
    char pre[9];
    snprintf(pre, sizeof(pre), "%.8s", ida);
    f.id = pre;
    l = call_ok(RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    assert_int_equal(l->n_items, 1);
    assert_string_equal(l->items[0]->id, ida);
    crit_result_clear(&r);
    remove_pod(ida);
    free(ida);
    remove_last_pod(idb);
}

/* Runs `ping` in a's netns against b's IP: traffic only between our pods. */
static void test_two_pods_reach_each_other(void **state)
{
    (void)state;
    pod_opts a = {.name = "pa"}, b = {.name = "pb"};
    char *ida = run_pod(&a), *idb = run_pod(&b);
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s = status(idb, &r, NULL);
    char ipb[64];
    snprintf(ipb, sizeof(ipb), "%s", s->status->network->ip);
    crit_result_clear(&r);
    assert_int_equal(strncmp(ipb, net.prefix, strlen(net.prefix)), 0);
    /* b listens on 8080 inside its netns; a connects from its netns. */
    char *nsa = netns_of(ida), *nsb = netns_of(idb);
    pid_t server = serve_once(nsb, 8080, "from-b");
    char buf[64];
    fetch(nsa, ipb, 8080, buf, sizeof(buf));
    waitpid(server, NULL, 0);
    assert_string_equal(buf, "from-b");
    free(nsa);
    free(nsb);
    remove_pod(ida);
    free(ida);
    remove_last_pod(idb);
}

static void test_port_mapping_from_localhost(void **state)
{
    (void)state;
    int port = 20000 + (int)(getpid() % 20000);
    pod_opts o = {.name = "ports", .host_port = port, .container_port = 8081};
    char *id = run_pod(&o);
    char *ns = netns_of(id);
    pid_t server = serve_once(ns, 8081, "mapped");
    char buf[64];
    fetch(NULL, "127.0.0.1", port, buf, sizeof(buf));
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    free(ns);
    assert_string_equal(buf, "mapped");
    char cmd[256];
    FILE *p;
    remove_pod(id);
    /* portmap's DEL removed its rules for this pod. */
    snprintf(cmd, sizeof(cmd), "iptables-save -t nat | grep -c 'dport %d' ", port);
    p = popen(cmd, "r");
    assert_non_null(fgets(buf, sizeof(buf), p));
    pclose(p);
    assert_string_equal(buf, "0\n");
    assert_nothing_left();
    free(id);
}

/* The bandwidth annotation reaches the bandwidth plugin: a token bucket on
 * the pod's host-side veth. */
static void test_bandwidth_annotation(void **state)
{
    (void)state;
    pod_opts o = {.name = "bw", .ingress = "1M"};
    char *id = run_pod(&o);
    crit_result r;
    json_t *rec;
    status(id, &r, &rec);
    const char *veth = NULL;
    size_t i;
    json_t *ifc;
    json_array_foreach(json_object_get(json_object_get(json_object_get(rec, "cni"), "result"), "interfaces"), i, ifc)
    {
        const char *name = json_string_value(json_object_get(ifc, "name"));
        if (json_object_get(ifc, "sandbox") == NULL && strncmp(name, "veth", 4) == 0)
            veth = name;
    }
    assert_non_null(veth);
    char cmd[256], buf[1024] = "";
    snprintf(cmd, sizeof(cmd), "tc qdisc show dev %s", veth);
    FILE *p = popen(cmd, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = '\0';
    pclose(p);
    json_decref(rec);
    crit_result_clear(&r);
    assert_non_null(strstr(buf, "tbf"));
    assert_non_null(strstr(buf, "rate 1Mbit"));
    remove_last_pod(id);
}

static void test_host_network_pod(void **state)
{
    (void)state;
    pod_opts o = {.name = "hostnet", .share_pid = true};
    o.host_network = true;
    char *id = run_pod(&o);
    crit_result r;
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, &rec);
    assert_int_equal(s->status->linux->namespaces->options->network, RUNTIME__V1__NAMESPACE_MODE__NODE);
    assert_string_equal(s->status->network->ip, "");
    assert_string_equal(json_string_value(json_object_get(rec, "netns")), "");
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pause_pid"));
    json_decref(rec);
    crit_result_clear(&r);
    char a[64], b[64], path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    ssize_t n = readlink(path, a, sizeof(a) - 1);
    assert_true(n > 0);
    a[n] = '\0';
    n = readlink("/proc/self/ns/net", b, sizeof(b) - 1);
    b[n] = '\0';
    assert_string_equal(a, b);
    assert_int_equal(veths_on_bridge(), 0);
    remove_last_pod(id);
}

/* The new node got the default network, and Status says so. */
static void test_status_reports_default_network(void **state)
{
    (void)state;
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    req.verbose = true;
    crit_result r;
    Runtime__V1__StatusResponse *s =
        call_ok(RUNTIME("Status"), &req.base, &runtime__v1__status_response__descriptor, &r);
    bool net_ready = false;
    for (size_t i = 0; i < s->status->n_conditions; i++)
        if (strcmp(s->status->conditions[i]->type, "NetworkReady") == 0)
            net_ready = s->status->conditions[i]->status;
    assert_true(net_ready);
    json_t *cfg = json_loads(s->info[0]->value, 0, NULL);
    char want[512];
    snprintf(want, sizeof(want), "%s/10-cricket.conflist", shared.cni_dir);
    assert_string_equal(json_string_value(json_object_get(cfg, "cni_default_network_written")), want);
    assert_string_equal(json_string_value(json_object_get(cfg, "cni_config_file")), want);
    json_decref(cfg);
    crit_result_clear(&r);
    /* The file holds the test's own bridge and subnet. */
    FILE *f = fopen(want, "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, net.bridge));
    assert_non_null(strstr(text, net.subnet));
}

static bool same_ns(pid_t pid, const char *type)
{
    char a[64], b[64], path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, type);
    ssize_t n = readlink(path, a, sizeof(a) - 1);
    assert_true(n > 0);
    a[n] = '\0';
    snprintf(path, sizeof(path), "/proc/self/ns/%s", type);
    n = readlink(path, b, sizeof(b) - 1);
    assert_true(n > 0);
    b[n] = '\0';
    return strcmp(a, b) == 0;
}

/* Where a pod without a pause pins its namespace of type ("ipc", "uts"). */
static void pin_of(const char *id, const char *type, char *buf, size_t size)
{
    snprintf(buf, size, "%s/sandboxes/%s/%s", shared.state, id, type);
}

/* Whether the namespace file at path (a pin, /proc/<pid>/ns/...) is the
 * test's own of that type; -1 when path is no namespace. */
static int host_ns_at(const char *path, const char *type)
{
    struct stat a, b;
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/ns/%s", type);
    if (stat(path, &a) < 0 || stat(self, &b) < 0 || a.st_dev != b.st_dev)
        return -1;
    return a.st_ino == b.st_ino;
}

static void test_host_pid_and_ipc_pod(void **state)
{
    (void)state;
    pod_opts o = {.name = "hostpid", .host_pid = true, .host_ipc = true};
    char *id = run_pod(&o);
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, NULL);
    assert_int_equal(s->status->linux->namespaces->options->pid, RUNTIME__V1__NAMESPACE_MODE__NODE);
    assert_int_equal(s->status->linux->namespaces->options->ipc, RUNTIME__V1__NAMESPACE_MODE__NODE);
    assert_int_equal(s->status->linux->namespaces->options->network, RUNTIME__V1__NAMESPACE_MODE__POD);
    crit_result_clear(&r);
    /* No pause (its containers do not share a PID namespace): the host's
     * IPC is not pinned, its own UTS is. */
    char pin[PATH_MAX];
    pin_of(id, "ipc", pin, sizeof(pin));
    assert_int_equal(access(pin, F_OK), -1);
    pin_of(id, "uts", pin, sizeof(pin));
    assert_int_equal(host_ns_at(pin, "uts"), 0);
    char *netns = netns_of(id);
    assert_int_equal(host_ns_at(netns, "net"), 0);
    free(netns);
    remove_pod(id);
    free(id);
    /* The default pod (pid CONTAINER here): own IPC and UTS, pinned. */
    pod_opts d = {.name = "ownns"};
    id = run_pod(&d);
    pin_of(id, "ipc", pin, sizeof(pin));
    assert_int_equal(host_ns_at(pin, "ipc"), 0);
    pin_of(id, "uts", pin, sizeof(pin));
    assert_int_equal(host_ns_at(pin, "uts"), 0);
    remove_pod(id);
    free(id);
    /* A pod whose containers share its PID namespace: a pause, its init,
     * in the pod's own namespaces. */
    pod_opts p = {.name = "sharedpid", .share_pid = true};
    id = run_pod(&p);
    pid_t pid = pause_pid(id);
    assert_false(same_ns(pid, "pid"));
    assert_false(same_ns(pid, "ipc"));
    assert_false(same_ns(pid, "uts"));
    pin_of(id, "ipc", pin, sizeof(pin));
    assert_int_equal(access(pin, F_OK), -1);
    remove_last_pod(id);
}

/* A pod whose containers have their own PID namespaces (the kubelet's
 * default) runs no pause: its IPC and UTS namespaces are pinned, with the
 * hostname and sysctls a pause would have had, an interface's sysctl set
 * once CNI made it. Stats read its network from its netns; stop removes
 * the pins. */
static void test_pod_without_pause(void **state)
{
    (void)state;
    pod_opts o = {.name = "nopause",
                  .hostname = "nopause-host",
                  .sysctl_key = "kernel.shm_rmid_forced",
                  .sysctl_value = "1",
                  .sysctl2_key = "net.ipv4.conf.eth0.accept_local",
                  .sysctl2_value = "1"};
    char *id = run_pod(&o);
    crit_result r;
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, &rec);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    assert_int_equal(json_integer_value(json_object_get(rec, "pause_pid")), 0);
    assert_true(json_is_true(json_object_get(rec, "pinned")));
    /* The verbose record is whole: the CNI attachment too, which the
     * parse kept for lists goes without. */
    assert_true(json_is_object(json_object_get(rec, "cni")));
    char *netns = strdup(json_string_value(json_object_get(rec, "netns")));
    json_decref(rec);
    crit_result_clear(&r);
    char ipc[PATH_MAX], uts[PATH_MAX], args[PATH_MAX + 128], buf[256];
    pin_of(id, "ipc", ipc, sizeof(ipc));
    pin_of(id, "uts", uts, sizeof(uts));
    assert_int_equal(host_ns_at(ipc, "ipc"), 0);
    assert_int_equal(host_ns_at(uts, "uts"), 0);
    snprintf(args, sizeof(args), "--uts=%s hostname", uts);
    nsenter_path_line(args, buf, sizeof(buf));
    assert_string_equal(buf, "nopause-host\n");
    snprintf(args, sizeof(args), "--ipc=%s cat /proc/sys/kernel/shm_rmid_forced", ipc);
    nsenter_path_line(args, buf, sizeof(buf));
    assert_string_equal(buf, "1\n");
    snprintf(args, sizeof(args), "--net=%s cat /proc/sys/net/ipv4/conf/eth0/accept_local", netns);
    nsenter_path_line(args, buf, sizeof(buf));
    assert_string_equal(buf, "1\n");

    /* Stats: the pod's eth0 as its netns sees it. */
    Runtime__V1__PodSandboxStatsRequest sreq = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    sreq.pod_sandbox_id = id;
    Runtime__V1__PodSandboxStatsResponse *st =
        call_ok(RUNTIME("PodSandboxStats"), &sreq.base, &runtime__v1__pod_sandbox_stats_response__descriptor, &r);
    assert_non_null(st->stats->linux->network);
    assert_non_null(st->stats->linux->network->default_interface);
    assert_string_equal(st->stats->linux->network->default_interface->name, "eth0");
    crit_result_clear(&r);

    stop_pod(id);
    s = status(id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    crit_result_clear(&r);
    assert_int_equal(host_ns_at(ipc, "ipc"), -1);
    assert_int_equal(host_ns_at(uts, "uts"), -1);
    free(netns);
    remove_last_pod(id);
}

/* A pod without a pause survives a daemon kill; its pins unmounted while
 * the daemon is down (what a reboot does) read NOTREADY, saying why. */
static void test_pod_without_pause_after_restart(void **state)
{
    (void)state;
    pod_opts o = {.name = "pinned"};
    char *id = run_pod(&o);
    crit_close(client);
    crit_daemon_kill(&shared);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    crit_result_clear(&r);
    crit_close(client);
    crit_daemon_kill(&shared);
    char ipc[PATH_MAX];
    pin_of(id, "ipc", ipc, sizeof(ipc));
    assert_int_equal(umount2(ipc, MNT_DETACH), 0);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    json_t *rec;
    s = status(id, &r, &rec);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    json_decref(rec);
    crit_result_clear(&r);
    assert_true(crit_daemon_log_contains(&shared, "was unmounted: NOTREADY"));
    remove_last_pod(id);
}

/* A sysctl the kernel refuses fails the pod with the sysctl named, and the
 * pins, netns and network made before it are gone: in the IPC namespace
 * (set while pinning) and in the network's (set after ADD). */
static void test_pod_without_pause_refused_sysctl(void **state)
{
    (void)state;
    const char *keys[] = {"kernel.shm_rmid_forced", "net.ipv4.ip_unprivileged_port_start"};
    for (size_t i = 0; i < 2; i++) {
        pod_opts o = {.name = "badsysctl", .sysctl_key = keys[i], .sysctl_value = "not-a-number"};
        crit_result r;
        uint8_t buf[4096];
        size_t len = protobuf_c_message_pack(&build(&o)->base, buf);
        assert_int_equal(crit_call_raw(client, RUNTIME("RunPodSandbox"), buf, len,
                                       &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r),
                         GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(r.details, keys[i]));
        crit_result_clear(&r);
        assert_int_equal(list_count(), 0);
        assert_nothing_left();
    }
}

/* pause.pin_namespaces: false runs a pause for every pod. */
static void test_pin_namespaces_off(void **state)
{
    (void)state;
    crit_pod_net own;
    crit_pod_net_init(&own, "ckq", 101);
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare_pods(&d, own.bridge, own.subnet, "pause:\n  pin_namespaces: false\n"), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    pod_opts o = {.name = "withpause"};
    char *id = crit_pod_run(c, &d, build(&o));
    assert_true(crit_pod_pause_pid(c, &d, id) > 0);
    crit_pod_remove(c, &d, id);
    free(id);
    crit_pod_assert_nothing_left(&d, &own, cgroup_parent);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
    crit_pod_net_remove(&own);
}

static const Runtime__V1__RuntimeCondition *network_ready(crit_result *r)
{
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    Runtime__V1__StatusResponse *s =
        call_ok(RUNTIME("Status"), &req.base, &runtime__v1__status_response__descriptor, r);
    for (size_t i = 0; i < s->status->n_conditions; i++)
        if (strcmp(s->status->conditions[i]->type, "NetworkReady") == 0)
            return s->status->conditions[i];
    fail();
    return NULL;
}

static void *run_pod_expect_fail(void *arg)
{
    (void)arg;
    crit_client *c = crit_connect(shared.socket);
    pod_opts o = {.name = "crashed"};
    crit_result r;
    uint8_t buf[4096];
    size_t len = protobuf_c_message_pack(&build(&o)->base, buf);
    crit_call_raw(c, RUNTIME("RunPodSandbox"), buf, len, &runtime__v1__run_pod_sandbox_response__descriptor, 20000, &r);
    crit_result_clear(&r);
    crit_close(c);
    return NULL;
}

/* The daemon is killed (-9) in the middle of CNI ADD: bridge already made
 * the veth and host-local gave an IP. The restarted daemon finds the
 * half-created pod and undoes all of it, DEL included. */
static void test_crash_during_add_is_undone(void **state)
{
    (void)state;
    char path[512], hang[512], pidfile[600], flaky[1024];
    snprintf(path, sizeof(path), "%s/00-hang.conflist", shared.cni_dir);
    snprintf(hang, sizeof(hang), "%s/hang", shared.dir);
    snprintf(pidfile, sizeof(pidfile), "%s.pid", hang);
    snprintf(flaky, sizeof(flaky), "{\"type\":\"cktest-flaky\",\"hangOn\":\"ADD\",\"hangFile\":\"%s\"}", hang);
    crit_pod_write_bridge_conflist(&shared, &net, path, flaky);
    crit_write_text(hang, "");
    pthread_t t;
    pthread_create(&t, NULL, run_pod_expect_fail, NULL);
    pid_t plugin = 0;
    for (int i = 0; i < 200 && plugin == 0; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f != NULL) {
            char buf[32] = "";
            if (fgets(buf, sizeof(buf), f) != NULL) {
                char *end = NULL;
                long v = strtol(buf, &end, 10);
                if (end != buf && v > 0 && v <= INT32_MAX)
                    plugin = (pid_t)v;
            }
            fclose(f);
        }
        usleep(50 * 1000);
    }
    assert_true(plugin > 0);
    assert_int_equal(allocated_ips(), 1);
    assert_int_equal(veths_on_bridge(), 1);
    crit_daemon_kill(&shared);
    kill(plugin, SIGKILL);
    pthread_join(t, NULL);
    unlink(path);
    unlink(hang);
    unlink(pidfile);
    crit_close(client);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    assert_int_equal(list_count(), 0);
    crit_pod_wait_nothing_left(&shared, &net, cgroup_parent); /* cleaned up after the daemon answers */
    /* Its name is free again. */
    pod_opts o = {.name = "crashed"};
    char *id = run_pod(&o);
    remove_last_pod(id);
}

/* A CNI 1.1 network: Status asks its plugins (STATUS) and reports what a
 * failing one says. */
static void test_cni_status_command(void **state)
{
    (void)state;
    char path[512], fail[512], conf[512];
    snprintf(path, sizeof(path), "%s/00-status.conflist", shared.cni_dir);
    snprintf(fail, sizeof(fail), "%s/status-fail", shared.dir);
    snprintf(conf, sizeof(conf),
             "{\"cniVersion\":\"1.1.0\",\"name\":\"statusnet\",\"plugins\":[{\"type\":\"cktest-flaky\","
             "\"failOn\":\"STATUS\",\"failFile\":\"%s\"}]}",
             fail);
    crit_write_text(path, conf);
    crit_result r;
    assert_true(network_ready(&r)->status);
    crit_result_clear(&r);
    crit_write_text(fail, "");
    const Runtime__V1__RuntimeCondition *c = network_ready(&r);
    assert_false(c->status);
    assert_string_equal(c->reason, "NetworkPluginNotReady");
    assert_non_null(strstr(c->message, "cktest-flaky: told to fail STATUS"));
    crit_result_clear(&r);
    unlink(fail);
    unlink(path);
    assert_true(network_ready(&r)->status);
    crit_result_clear(&r);
}

/* CNI DEL fails while the pod stops: stop and remove report the plugin's
 * error and keep the pod (no leaked IP is forgotten); after a kill -9 and
 * a restart with the plugin healthy again, recovery runs the DEL. */
static void test_failed_del_retried_at_restart(void **state)
{
    (void)state;
    char path[512], fail[512], flaky[1024];
    snprintf(path, sizeof(path), "%s/00-flaky.conflist", shared.cni_dir);
    snprintf(fail, sizeof(fail), "%s/flaky-fail", shared.dir);
    snprintf(flaky, sizeof(flaky), "{\"type\":\"cktest-flaky\",\"failFile\":\"%s\"}", fail);
    crit_pod_write_bridge_conflist(&shared, &net, path, flaky);
    pod_opts o = {.name = "flaky"};
    char *id = run_pod(&o);
    unlink(path); /* DEL must use the saved config, not conf_dir */
    assert_int_equal(allocated_ips(), 1);
    crit_write_text(fail, "");

    crit_result r;
    Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    stop.pod_sandbox_id = id;
    assert_int_not_equal(
        call(RUNTIME("StopPodSandbox"), &stop.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &r),
        GRPC_STATUS_OK);
    assert_non_null(strstr(r.details, "cktest-flaky: told to fail DEL"));
    crit_result_clear(&r);
    Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rm.pod_sandbox_id = id;
    assert_int_not_equal(
        call(RUNTIME("RemovePodSandbox"), &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor, &r),
        GRPC_STATUS_OK);
    crit_result_clear(&r);
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, &rec);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    assert_false(json_is_null(json_object_get(rec, "cni")));
    char netns[512];
    snprintf(netns, sizeof(netns), "%s", json_string_value(json_object_get(rec, "netns")));
    json_decref(rec);
    crit_result_clear(&r);
    assert_int_equal(access(netns, F_OK), 0); /* kept until DEL succeeds */

    crit_close(client);
    crit_daemon_kill(&shared);
    unlink(fail);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    crit_pod_wait_network_gone(client, &shared, id); /* recovery's DEL, after the daemon answers */
    s = status(id, &r, &rec);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    assert_true(json_is_null(json_object_get(rec, "cni")));
    assert_string_equal(json_string_value(json_object_get(rec, "netns")), "");
    json_decref(rec);
    crit_result_clear(&r);
    assert_int_equal(access(netns, F_OK), -1);
    assert_int_equal(allocated_ips(), 0);
    remove_last_pod(id);
}

/* The chosen network's second plugin fails after bridge made a veth and
 * host-local gave an IP: the error names the plugin's message, and the
 * whole chain is deleted. */
static void test_failing_plugin_leaves_nothing(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/00-failing.conflist", shared.cni_dir);
    crit_pod_write_bridge_conflist(&shared, &net, path, "{\"type\":\"tuning\",\"sysctl\":{\"net.no.such.key\":\"1\"}}");
    crit_result r;
    pod_opts o = {.name = "failing"};
    grpc_status_code code =
        call(RUNTIME("RunPodSandbox"), &build(&o)->base, &runtime__v1__run_pod_sandbox_response__descriptor, &r);
    unlink(path);
    assert_int_not_equal(code, GRPC_STATUS_OK);
    assert_non_null(strstr(r.details, "CNI plugin tuning ADD failed"));
    assert_non_null(strstr(r.details, "/proc/sys/net/no/such/key"));
    crit_result_clear(&r);
    assert_int_equal(list_count(), 0);
    assert_nothing_left();
    /* The name is free again: the same pod now runs. */
    char *id = run_pod(&o);
    remove_last_pod(id);
}

static void test_broken_config_clear_error(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, NULL), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/10-broken.conflist", d.cni_dir);
    crit_write_text(path, "{\"cniVersion\":\"1.0.0\",\"name\":\"broken\",\"plugins\":[{\"type\":\"no-such-plugin\"}]}");
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    crit_result r;
    pod_opts o = {.name = "broken"};
    assert_int_equal(crit_call(c, RUNTIME("RunPodSandbox"), &build(&o)->base,
                               &runtime__v1__run_pod_sandbox_response__descriptor, 30000, &r),
                     GRPC_STATUS_UNAVAILABLE);
    assert_non_null(strstr(r.details, "no-such-plugin"));
    crit_result_clear(&r);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/netns", d.state);
    assert_int_equal(crit_dir_entries(dir), 0);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d.root);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(crit_mounts_under(d.dir), 0);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
}

/* A retry with the same metadata gets the same pod, not "name reserved";
 * another attempt number is a different pod. */
static void test_retry_returns_same_pod(void **state)
{
    (void)state;
    pod_opts o = {.name = "retry"};
    char *id1 = run_pod(&o);
    char *id2 = run_pod(&o);
    assert_string_equal(id1, id2);
    assert_int_equal(list_count(), 1);
    free(id2);
    remove_last_pod(id1);
}

static void test_restart_keeps_pods(void **state)
{
    (void)state;
    pod_opts o = {.name = "survivor", .share_pid = true};
    char *id = run_pod(&o);
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s = status(id, &r, NULL);
    char ip[64];
    snprintf(ip, sizeof(ip), "%s", s->status->network->ip);
    crit_result_clear(&r);
    pid_t pid = pause_pid(id);
    /* kill -9: nothing is shut down cleanly. */
    crit_close(client);
    crit_daemon_kill(&shared);
    assert_int_equal(kill(pid, 0), 0);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    s = status(id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    assert_string_equal(s->status->network->ip, ip);
    crit_result_clear(&r);
    assert_int_equal(pause_pid(id), pid);
    /* The pause process dies while the daemon runs: NOTREADY. */
    kill(pid, SIGKILL);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
        usleep(20 * 1000);
    usleep(300 * 1000);
    s = status(id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    crit_result_clear(&r);
    remove_last_pod(id);
}

static void test_stats_stream_and_update(void **state)
{
    (void)state;
    pod_opts o = {.name = "stats", .share_pid = true};
    char *id = run_pod(&o);
    crit_result r;
    Runtime__V1__PodSandboxStatsRequest req = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    req.pod_sandbox_id = id;
    Runtime__V1__PodSandboxStatsResponse *st =
        call_ok(RUNTIME("PodSandboxStats"), &req.base, &runtime__v1__pod_sandbox_stats_response__descriptor, &r);
    assert_string_equal(st->stats->attributes->id, id);
    assert_string_equal(st->stats->attributes->metadata->name, "stats");
    const Runtime__V1__LinuxPodSandboxStats *l = st->stats->linux;
    assert_non_null(l);
    assert_int_equal(l->process->process_count->value, 1); /* the pause process alone */
    assert_true(l->memory->usage_bytes->value > 0);
    assert_true(l->cpu->usage_core_nano_seconds->value > 0);
    assert_non_null(l->network->default_interface);
    assert_string_equal(l->network->default_interface->name, "eth0");
    crit_result_clear(&r);

    Runtime__V1__ListPodSandboxStatsRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT;
    Runtime__V1__ListPodSandboxStatsResponse *ls = call_ok(
        RUNTIME("ListPodSandboxStats"), &lreq.base, &runtime__v1__list_pod_sandbox_stats_response__descriptor, &r);
    assert_int_equal(ls->n_stats, 1);
    crit_result_clear(&r);

    /* The streamed listing: one batch with our pod, then the end. */
    Runtime__V1__StreamPodSandboxesRequest sreq = RUNTIME__V1__STREAM_POD_SANDBOXES_REQUEST__INIT;
    crit_stream *s = crit_stream_open(client, RUNTIME("StreamPodSandboxes"), &sreq.base, 10000);
    ProtobufCMessage *msg = NULL;
    assert_int_equal(crit_stream_next(s, &runtime__v1__stream_pod_sandboxes_response__descriptor, 10000, &msg), 1);
    Runtime__V1__StreamPodSandboxesResponse *batch = (void *)msg;
    assert_int_equal(batch->n_pod_sandboxes, 1);
    assert_string_equal(batch->pod_sandboxes[0]->id, id);
    protobuf_c_message_free_unpacked(msg, NULL);
    assert_int_equal(crit_stream_next(s, &runtime__v1__stream_pod_sandboxes_response__descriptor, 10000, &msg), -1);
    char details[256];
    assert_int_equal(crit_stream_finish(s, 10000, details, sizeof(details)), GRPC_STATUS_OK);
    crit_stream_free(s);
    /* A filter that matches nothing: no message, the stream ends OK (as
     * every Stream* call answers an empty list). */
    Runtime__V1__PodSandboxFilter none = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
    none.id = "0000000000000000";
    sreq.filter = &none;
    s = crit_stream_open(client, RUNTIME("StreamPodSandboxes"), &sreq.base, 10000);
    assert_int_equal(crit_stream_next(s, &runtime__v1__stream_pod_sandboxes_response__descriptor, 10000, &msg), -1);
    assert_int_equal(crit_stream_finish(s, 10000, details, sizeof(details)), GRPC_STATUS_OK);
    crit_stream_free(s);

    Runtime__V1__UpdatePodSandboxResourcesRequest ureq = RUNTIME__V1__UPDATE_POD_SANDBOX_RESOURCES_REQUEST__INIT;
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = 256 << 20;
    ureq.pod_sandbox_id = id;
    ureq.resources = &res;
    call_ok(RUNTIME("UpdatePodSandboxResources"), &ureq.base,
            &runtime__v1__update_pod_sandbox_resources_response__descriptor, &r);
    crit_result_clear(&r);
    json_t *rec;
    status(id, &r, &rec);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "resources"), "memory_limit_in_bytes")),
                     256 << 20);
    json_decref(rec);
    crit_result_clear(&r);
    ureq.pod_sandbox_id = "ffffffffffffffffffff-unknown";
    assert_int_equal(call(RUNTIME("UpdatePodSandboxResources"), &ureq.base,
                          &runtime__v1__update_pod_sandbox_resources_response__descriptor, &r),
                     GRPC_STATUS_NOT_FOUND);
    crit_result_clear(&r);
    remove_last_pod(id);
}

typedef struct racer {
    crit_client *c;
    char id[65];
    grpc_status_code code;
} racer;

static void *race_run(void *arg)
{
    racer *rc = arg;
    pod_opts o = {.name = "racer"};
    static pthread_mutex_t build_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&build_mu);
    Runtime__V1__RunPodSandboxRequest *req = build(&o);
    uint8_t buf[4096];
    size_t len = protobuf_c_message_pack(&req->base, buf);
    pthread_mutex_unlock(&build_mu);
    crit_result r;
    rc->code = crit_call_raw(rc->c, RUNTIME("RunPodSandbox"), buf, len,
                             &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r);
    if (rc->code == GRPC_STATUS_OK)
        snprintf(rc->id, sizeof(rc->id), "%s", ((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
    crit_result_clear(&r);
    return NULL;
}

/* Two identical calls at once, as a kubelet retry racing its first call:
 * both get the same pod. */
static void test_concurrent_retry_same_pod(void **state)
{
    (void)state;
    racer a = {.c = crit_connect(shared.socket)}, b = {.c = crit_connect(shared.socket)};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race_run, &a);
    pthread_create(&tb, NULL, race_run, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    crit_close(a.c);
    crit_close(b.c);
    assert_int_equal(a.code, GRPC_STATUS_OK);
    assert_int_equal(b.code, GRPC_STATUS_OK);
    assert_string_equal(a.id, b.id);
    assert_int_equal(list_count(), 1);
    remove_pod(a.id);
    assert_nothing_left();
}

static void test_runtime_handlers(void **state)
{
    (void)state;
    crit_result r;
    pod_opts o = {.name = "handler"};
    Runtime__V1__RunPodSandboxRequest *req = build(&o);
    req->runtime_handler = "no-such-handler";
    assert_int_equal(call(RUNTIME("RunPodSandbox"), &req->base, &runtime__v1__run_pod_sandbox_response__descriptor, &r),
                     GRPC_STATUS_NOT_FOUND);
    assert_non_null(strstr(r.details, "no-such-handler"));
    crit_result_clear(&r);
    assert_nothing_left();
    /* crun, where installed: it runs the pause here, or (on this project's
     * hybrid-cgroup machines) fails with crun's own message and leaves
     * nothing behind. */
    if (access("/usr/bin/crun", X_OK) == 0) {
        req = build(&o);
        req->runtime_handler = "crun";
        grpc_status_code code =
            call(RUNTIME("RunPodSandbox"), &req->base, &runtime__v1__run_pod_sandbox_response__descriptor, &r);
        if (code == GRPC_STATUS_OK) {
            char *id = strdup(((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
            crit_result_clear(&r);
            crit_result st;
            assert_string_equal(status(id, &st, NULL)->status->runtime_handler, "crun");
            crit_result_clear(&st);
            remove_pod(id);
            free(id);
        } else {
            assert_non_null(strstr(r.details, "crun"));
            crit_result_clear(&r);
        }
        assert_int_equal(list_count(), 0);
        assert_nothing_left();
    }
}

/* The verbose status's network_check: result (and message). */
static void network_check(const char *id, char *result, size_t rsize, char *message, size_t msize)
{
    Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    req.pod_sandbox_id = (char *)id;
    req.verbose = true;
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s =
        call_ok(RUNTIME("PodSandboxStatus"), &req.base, &runtime__v1__pod_sandbox_status_response__descriptor, &r);
    assert_int_equal(s->n_info, 1);
    json_t *info = json_loads(s->info[0]->value, 0, NULL);
    assert_non_null(info);
    json_t *check = json_object_get(info, "network_check");
    snprintf(result, rsize, "%s", json_string_value(json_object_get(check, "result")) ?: "(none)");
    snprintf(message, msize, "%s", json_string_value(json_object_get(check, "message")) ?: "");
    json_decref(info);
    crit_result_clear(&r);
}

/* A verbose status runs CNI CHECK with the configuration the pod was set up
 * with: ok while the attachment is intact, failed with the plugin's words
 * once the pod's interface no longer matches what ADD set up, skipped without
 * a pod network. The broken pod still stops and is removed cleanly. The
 * interface is changed, not deleted: the bridge plugin's DEL learns the
 * addresses whose masquerade rules it removes from that interface, so a pod
 * without one would leave its rule in the host's NAT table. */
static void test_network_check_in_verbose_status(void **state)
{
    (void)state;
    pod_opts o = {.name = "checked"};
    char *id = run_pod(&o);
    assert_int_equal(crit_pod_masquerade_rules(&net), 1); /* the NAT check sees what ipMasq adds */
    char result[32], message[1024];
    network_check(id, result, sizeof(result), message, sizeof(message));
    if (strcmp(result, "ok") != 0)
        fail_msg("healthy pod: %s", message);
    char *netns = netns_of(id);
    crit_sh("nsenter --net=%s ip link set dev eth0 address 02:00:00:00:00:01", netns);
    free(netns);
    network_check(id, result, sizeof(result), message, sizeof(message));
    assert_string_equal(result, "failed");
    if (strstr(message, "CNI plugin bridge CHECK failed") == NULL || strstr(message, "eth0") == NULL)
        fail_msg("check message: %s", message);

    /* With a bandwidth limit, the bandwidth plugin checks its qdisc too. */
    pod_opts b = {.name = "checked-bw", .ingress = "1M"};
    char *bid = run_pod(&b);
    network_check(bid, result, sizeof(result), message, sizeof(message));
    if (strcmp(result, "ok") != 0)
        fail_msg("pod with a bandwidth limit: %s", message);
    remove_pod(bid);
    free(bid);

    pod_opts h = {.name = "checked-host", .host_network = true};
    char *hid = run_pod(&h);
    network_check(hid, result, sizeof(result), message, sizeof(message));
    assert_string_equal(result, "skipped");
    stop_pod(id);
    network_check(id, result, sizeof(result), message, sizeof(message));
    assert_string_equal(result, "skipped"); /* stopped: nothing attached */
    remove_pod(id);
    remove_pod(hid);
    free(id);
    free(hid);
    assert_nothing_left();
}

/* A dual-stack default network (subnet "v4,v6"): each pod gets an IPv4 and
 * an IPv6 address from host-local; PodSandboxStatus reports the IPv4 one as
 * ip and the IPv6 one as additional_ips; both are on the pod's eth0 and both
 * are released at removal. The daemon has its own bridge and a ULA prefix
 * no host interface uses. */
static void test_dual_stack_pod(void **state)
{
    (void)state;
    unsigned n = (unsigned)getpid();
    crit_pod_net dual; /* its own bridge, and the IPv4 half of the subnets */
    crit_pod_net_init(&dual, "ckd", 100);
    char v6[48], subnets[96];
    /* Non-zero groups, so the address prints with this very prefix. */
    snprintf(v6, sizeof(v6), "fd63:%x:%x::", 0x1000 + (n >> 16) % 0xe000, 0x1000 + (n & 0xfff));
    snprintf(subnets, sizeof(subnets), "%s,%s/64", dual.subnet, v6);
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare_pods(&d, dual.bridge, subnets, NULL), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    pod_opts o = {.name = "dual"};
    char *id = crit_pod_run(c, &d, build(&o));
    crit_result r;

    Runtime__V1__PodSandboxStatusRequest sreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    sreq.pod_sandbox_id = id;
    assert_int_equal(crit_call(c, RUNTIME("PodSandboxStatus"), &sreq.base,
                               &runtime__v1__pod_sandbox_status_response__descriptor, 10000, &r),
                     GRPC_STATUS_OK);
    const Runtime__V1__PodSandboxNetworkStatus *network =
        ((Runtime__V1__PodSandboxStatusResponse *)r.response)->status->network;
    char ip4[64], ip6[64];
    assert_int_equal(network->n_additional_ips, 1);
    snprintf(ip4, sizeof(ip4), "%s", network->ip);
    snprintf(ip6, sizeof(ip6), "%s", network->additional_ips[0]->ip);
    crit_result_clear(&r);
    if (strncmp(ip4, dual.prefix, strlen(dual.prefix)) != 0 || strncmp(ip6, v6, strlen(v6)) != 0 ||
        strchr(ip4, '/') != NULL || strchr(ip6, '/') != NULL)
        fail_msg("pod IPs %s and %s, want them in %s", ip4, ip6, subnets);
    assert_int_equal(crit_pod_allocated_ips(&d, dual.prefix), 1);
    assert_int_equal(crit_pod_allocated_ips(&d, v6), 1);

    /* Both addresses are on the pod's eth0. */
    char netns[512], cmd[700], buf[4096] = "";
    snprintf(netns, sizeof(netns), "%s/netns/%s", d.state, id);
    snprintf(cmd, sizeof(cmd), "nsenter --net=%s ip addr show dev eth0", netns);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(buf, 1, sizeof(buf) - 1, p);
    buf[len] = '\0';
    pclose(p);
    char want4[80], want6[80];
    snprintf(want4, sizeof(want4), "inet %s/24", ip4);
    snprintf(want6, sizeof(want6), "inet6 %s/64", ip6);
    if (strstr(buf, want4) == NULL || strstr(buf, want6) == NULL)
        fail_msg("eth0 lacks %s or %s:\n%s", want4, want6, buf);

    crit_pod_remove(c, &d, id);
    free(id);
    assert_int_equal(crit_pod_allocated_ips(&d, dual.prefix), 0);
    assert_int_equal(crit_pod_allocated_ips(&d, v6), 0);
    assert_int_equal(crit_mounts_under(d.dir), 0);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
    crit_pod_net_remove(&dual);
}

/* Processes whose command line holds needle (a marker argument). */
static size_t processes_with(const char *needle)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[len] = '\0';
        n += strstr(buf, needle) != NULL;
    }
    closedir(d);
    return n;
}

/* A runtime handler whose `create` never returns (a script waiting for a
 * sleeping child, as a runtime waits for its helpers): the monitor kills
 * the runtime's whole process group after the handler's create_timeout,
 * RunPodSandbox fails with DEADLINE_EXCEEDED naming the bound, and nothing
 * is left, not even the sleeping child. */
static void test_hung_runtime_create_is_killed(void **state)
{
    (void)state;
    char dir[] = "/tmp/critest-hung.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[128];
    snprintf(script, sizeof(script), "%s/hung-runtime", dir);
    crit_write_text(script, "#!/bin/sh\n"
                            "# create (and run, the pause's) never ends; every other verb succeeds\n"
                            "for a in \"$@\"; do case \"$a\" in create|run) sleep 987654; exit 0;; esac; done\n"
                            "exit 0\n");
    assert_int_equal(chmod(script, 0755), 0);
    const char *runc = access("/usr/sbin/runc", X_OK) == 0 ? "/usr/sbin/runc" : "/usr/bin/runc";
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "default_runtime: runc\n"
             "runtimes:\n"
             "  runc: {path: %s}\n"
             "  hung: {path: %s, create_timeout: 2}\n",
             runc, script);
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, yaml), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    pod_opts o = {.name = "hung", .host_network = true, .share_pid = true}; /* a pause: the runtime runs */
    Runtime__V1__RunPodSandboxRequest *req = build(&o);
    req->runtime_handler = "hung";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &req->base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (code != GRPC_STATUS_DEADLINE_EXCEEDED || strstr(r.details, "run did not finish within 2 s: killed") == NULL)
        fail_msg("got %d \"%s\"", code, r.details);
    crit_result_clear(&r);
    assert_true(secs >= 2.0 && secs < 12.0);
    assert_int_equal(processes_with("sleep 987654"), 0);
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/sandboxes", d.root);
    assert_int_equal(crit_dir_entries(sub), 0);
    snprintf(sub, sizeof(sub), "%s/sandboxes", d.state);
    assert_int_equal(crit_dir_entries(sub), 0);
    assert_int_equal(crit_mounts_under(d.dir), 0);
    Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    assert_int_equal(crit_call(c, RUNTIME("ListPodSandbox"), &lreq.base,
                               &runtime__v1__list_pod_sandbox_response__descriptor, 10000, &r),
                     GRPC_STATUS_OK);
    assert_int_equal(((Runtime__V1__ListPodSandboxResponse *)r.response)->n_items, 0);
    crit_result_clear(&r);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
    unlink(script);
    rmdir(dir);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "critest_pods: needs root (namespaces, mounts, CNI); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_reports_default_network),
        cmocka_unit_test(test_lifecycle_and_status_fields),
        cmocka_unit_test(test_interface_sysctl_waits_for_the_network),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_two_pods_reach_each_other),
        cmocka_unit_test(test_port_mapping_from_localhost),
        cmocka_unit_test(test_bandwidth_annotation),
        cmocka_unit_test(test_host_network_pod),
        cmocka_unit_test(test_host_pid_and_ipc_pod),
        cmocka_unit_test(test_pod_without_pause),
        cmocka_unit_test(test_pod_without_pause_after_restart),
        cmocka_unit_test(test_pod_without_pause_refused_sysctl),
        cmocka_unit_test(test_pin_namespaces_off),
        cmocka_unit_test(test_failing_plugin_leaves_nothing),
        cmocka_unit_test(test_broken_config_clear_error),
        cmocka_unit_test(test_retry_returns_same_pod),
        cmocka_unit_test(test_restart_keeps_pods),
        cmocka_unit_test(test_failed_del_retried_at_restart),
        cmocka_unit_test(test_cni_status_command),
        cmocka_unit_test(test_crash_during_add_is_undone),
        cmocka_unit_test(test_stats_stream_and_update),
        cmocka_unit_test(test_concurrent_retry_same_pod),
        cmocka_unit_test(test_runtime_handlers),
        cmocka_unit_test(test_hung_runtime_create_is_killed),
        cmocka_unit_test(test_network_check_in_verbose_status),
        cmocka_unit_test(test_dual_stack_pod),
    };
    grpc_init();
    int failed = cmocka_run_group_tests_name("critest_pods", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed;
}
