/*
 * Conformance over the wire for pods under the conditions a real node
 * meets and the unit suites never do: names as long as critest's, client
 * text that would break the formats it is written into, processes killed
 * while the daemon is down, a reboot, a daemon killed in the middle of
 * parallel creations, a CNI DEL that keeps failing and a CNI ADD that hangs
 * while the kubelet retries. Each test is the regression test of one
 * defect of the hardening issue, and failed before its fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "store/store.h"
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
    crit_pod_net_init(&net, "ckf", 0);
    crit_pod_cgroup_parent(cgroup_parent, sizeof(cgroup_parent), "critest-faults");
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

/* Time bounds are the node's promises; under a tool (CRICKET_WRAPPER, as
 * scripts/valgrind.sh sets it) everything is slower and memory, not speed,
 * is what is checked, so the bounds stretch. */
static double bound_s(double seconds)
{
    const char *w = getenv("CRICKET_WRAPPER");
    return w != NULL && w[0] != '\0' ? seconds * 10 : seconds;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The request the kubelet would send for a pod named name in namespace ns
 * with the given uid (NULL: "uid-<name>"). Points into p. */
static Runtime__V1__RunPodSandboxRequest *pod_request(crit_pod_request *p, const char *name, const char *ns,
                                                      const char *uid)
{
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(p, name, cgroup_parent);
    if (ns != NULL)
        p->metadata.namespace_ = (char *)ns;
    if (uid != NULL)
        p->metadata.uid = (char *)uid;
    return req;
}

static grpc_status_code run_status(crit_client *c, const Runtime__V1__RunPodSandboxRequest *req, int timeout_ms,
                                   crit_result *r)
{
    return crit_call(c, RUNTIME("RunPodSandbox"), &req->base, &runtime__v1__run_pod_sandbox_response__descriptor,
                     timeout_ms, r);
}

static size_t list_count(void)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    crit_result r;
    Runtime__V1__ListPodSandboxResponse *l = crit_call_ok(client, &shared, RUNTIME("ListPodSandbox"), &req.base,
                                                          &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    size_t n = l->n_items;
    crit_result_clear(&r);
    return n;
}

static void remove_pod(char *id)
{
    crit_pod_remove(client, &shared, id);
    free(id);
}

static void assert_nothing_left(void)
{
    assert_int_equal(list_count(), 0);
    crit_pod_assert_nothing_left(&shared, &net, cgroup_parent);
}

/* The status's verbose "state_reason" (r holds the response). */
static const char *state_reason(const char *id, crit_result *r, int *state)
{
    Runtime__V1__PodSandboxStatusResponse *s = crit_pod_status(client, &shared, id, r, NULL);
    *state = s->status->state;
    static char reason[512];
    json_t *info = json_loads(s->info[0]->value, 0, NULL);
    assert_non_null(info);
    snprintf(reason, sizeof(reason), "%s", json_string_value(json_object_get(info, "state_reason")) ?: "");
    json_decref(info);
    return reason;
}

/* ---- 0: a pod without a hostname, named as critest names its pods ---- */

/* The hostname a process in the pause's UTS namespace sees. */
static void uts_hostname(pid_t pid, char *buf, size_t size)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t child = fork();
    if (child == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char host[256];
        if (fd < 0 || setns(fd, CLONE_NEWUTS) < 0 || gethostname(host, sizeof(host)) < 0)
            _exit(3);
        if (write(out[1], host, strlen(host)) < 0)
            _exit(4);
        _exit(0);
    }
    close(out[1]);
    ssize_t n = read(out[0], buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(out[0]);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_long_name_without_hostname_gets_the_nodes(void **state)
{
    (void)state;
    /* 68 characters, as critest's "create-PodSandbox-for-container-<uuid>". */
    const char *name = "create-PodSandbox-for-container-6a0b6a3c-9a57-4dc1-8e0e-2b0f1c5d7e88";
    assert_int_equal(strlen(name), 68);
    crit_pod_request p;
    char *id = crit_pod_run(client, &shared, pod_request(&p, name, NULL, NULL));
    char node[256], seen[256];
    assert_int_equal(gethostname(node, sizeof(node)), 0);
    uts_hostname(crit_pod_pause_pid(client, &shared, id), seen, sizeof(seen));
    assert_string_equal(seen, node);
    remove_pod(id);
    assert_nothing_left();
}

static void expect_invalid(const Runtime__V1__RunPodSandboxRequest *req, const char *needle)
{
    crit_result r;
    grpc_status_code code = run_status(client, req, 30000, &r);
    if (code != GRPC_STATUS_INVALID_ARGUMENT || strstr(r.details, needle) == NULL)
        fail_msg("want INVALID_ARGUMENT naming \"%s\", got status %d: %s", needle, code, r.details);
    crit_result_clear(&r);
}

static void test_bad_hostnames_refused_before_anything(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "h-0123456789012345678901234567890123456789012345678901234567890123", /* 66 */
        "with_underscore",
        "new\nline",
        "-starts-with-dash",
        "ends-with-dash-",
        "two..dots",
        "space inside",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        crit_pod_request p;
        Runtime__V1__RunPodSandboxRequest *req = pod_request(&p, "badhost", NULL, NULL);
        p.config.hostname = (char *)bad[i];
        expect_invalid(req, "hostname");
    }
    /* 63 characters in labels of at most 63 is fine. */
    crit_pod_request p;
    Runtime__V1__RunPodSandboxRequest *req = pod_request(&p, "goodhost", NULL, NULL);
    p.config.hostname = "web-0.Sub-domain.ns1";
    char *id = crit_pod_run(client, &shared, req);
    uts_hostname(crit_pod_pause_pid(client, &shared, id), (char[256]){0}, 256);
    remove_pod(id);
    assert_nothing_left();
}

/* ---- 5: client text that would change the format it is written into ---- */

static void test_client_text_checked_per_format(void **state)
{
    (void)state;
    Runtime__V1__DNSConfig dns;
    char *servers[1], *searches[1], *options[1];
    struct {
        const char *server, *search, *option;
        const char *needle;
    } cases[] = {
        {"10.0.0.10\nnameserver 6.6.6.6", "svc.cluster.local", "ndots:5", "dns_config.servers[0]"},
        {"not-an-ip", "svc.cluster.local", "ndots:5", "dns_config.servers[0]"},
        {"10.0.0.10", "svc.cluster.local options attempts:9", "ndots:5", "dns_config.searches[0]"},
        {"10.0.0.10", "svc.cluster.local", "ndots:5\nnameserver 6.6.6.6", "dns_config.options[0]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crit_pod_request p;
        Runtime__V1__RunPodSandboxRequest *req = pod_request(&p, "dns", NULL, NULL);
        runtime__v1__dnsconfig__init(&dns);
        servers[0] = (char *)cases[i].server;
        searches[0] = (char *)cases[i].search;
        options[0] = (char *)cases[i].option;
        dns.servers = servers;
        dns.n_servers = 1;
        dns.searches = searches;
        dns.n_searches = 1;
        dns.options = options;
        dns.n_options = 1;
        p.config.dns_config = &dns;
        expect_invalid(req, cases[i].needle);
    }
    /* A user namespace asked without its mappings is refused, never
     * silently replaced by the host's. */
    {
        crit_pod_request up;
        Runtime__V1__RunPodSandboxRequest *req = pod_request(&up, "userns", NULL, NULL);
        Runtime__V1__LinuxSandboxSecurityContext sc = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
        Runtime__V1__NamespaceOption no = RUNTIME__V1__NAMESPACE_OPTION__INIT;
        Runtime__V1__UserNamespace userns = RUNTIME__V1__USER_NAMESPACE__INIT;
        userns.mode = RUNTIME__V1__NAMESPACE_MODE__POD;
        no.userns_options = &userns;
        sc.namespace_options = &no;
        up.linux_config.security_context = &sc;
        crit_result r;
        assert_int_equal(run_status(client, req, 30000, &r), GRPC_STATUS_INVALID_ARGUMENT);
        assert_non_null(strstr(r.details, "userns_options"));
        crit_result_clear(&r);
    }
    /* CNI_ARGS: a ';' would hand host-local an IP= of the client's choosing. */
    crit_pod_request p;
    expect_invalid(pod_request(&p, "x;IP=10.99.0.5", NULL, NULL), "metadata.name");
    expect_invalid(pod_request(&p, "x", "ns;K8S_POD_NAME=y", NULL), "metadata.namespace");
    expect_invalid(pod_request(&p, "x", NULL, "uid=1"), "metadata.uid");
    assert_nothing_left();
}

/* ---- 4: name keys that two pods could share ---- */

static void test_underscored_names_are_different_pods(void **state)
{
    (void)state;
    crit_pod_request p1, p2;
    char *a = crit_pod_run(client, &shared, pod_request(&p1, "a_b", "c", "same-uid"));
    char *b = crit_pod_run(client, &shared, pod_request(&p2, "a", "b_c", "same-uid"));
    assert_string_not_equal(a, b);
    assert_int_equal(list_count(), 2);
    /* Each is still found again by its own retry. */
    char *a2 = crit_pod_run(client, &shared, pod_request(&p1, "a_b", "c", "same-uid"));
    assert_string_equal(a, a2);
    free(a2);
    remove_pod(a);
    remove_pod(b);
    assert_nothing_left();
}

/* ---- 2: a pod whose processes died while the daemon was down ---- */

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    p += strspn(p + 1, " ") + 1; /* the state letter */
    char *end = NULL;
    long ppid = strtol(p + 1, &end, 10);
    assert_true(end != p + 1 && ppid > 0);
    return (pid_t)ppid;
}

static void wait_gone(pid_t pid)
{
    for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
        usleep(20 * 1000);
}

static void restart_shared(void)
{
    crit_close(client);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
}

static void test_pause_killed_while_daemon_down_is_notready(void **state)
{
    (void)state;
    crit_pod_request p;
    char *id = crit_pod_run(client, &shared, pod_request(&p, "orphaned", NULL, NULL));
    pid_t pause = crit_pod_pause_pid(client, &shared, id);
    pid_t monitor = parent_of(pause);
    assert_true(monitor > 1);
    crit_daemon_kill(&shared);
    /* The OOM killer takes both: no exit file is written. */
    kill(monitor, SIGKILL);
    kill(pause, SIGKILL);
    wait_gone(pause);
    restart_shared();
    crit_result r;
    int st;
    const char *why = state_reason(id, &r, &st);
    assert_int_equal(st, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    assert_non_null(strstr(why, "is gone"));
    crit_result_clear(&r);
    /* Stats read nothing of whatever process has the pid now. */
    Runtime__V1__PodSandboxStatsRequest sreq = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    sreq.pod_sandbox_id = id;
    Runtime__V1__PodSandboxStatsResponse *stats =
        crit_call_ok(client, &shared, RUNTIME("PodSandboxStats"), &sreq.base,
                     &runtime__v1__pod_sandbox_stats_response__descriptor, &r);
    assert_true(stats->stats->linux == NULL || stats->stats->linux->process == NULL ||
                stats->stats->linux->process->process_count == NULL ||
                stats->stats->linux->process->process_count->value == 0);
    crit_result_clear(&r);
    /* The kubelet stops it: its network goes, at once. */
    double t0 = now_s();
    crit_pod_stop(client, &shared, id);
    assert_true(now_s() - t0 < bound_s(3.0));
    assert_int_equal(crit_pod_allocated_ips(&shared, net.prefix), 0);
    remove_pod(id);
    assert_nothing_left();
}

/* Rewrites the boot id in a pod's record, as if the pod was made in an
 * earlier boot (the daemon must be down). */
static void set_boot_id(const char *id, const char *boot)
{
    ck_store *st = NULL;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_store_open(shared.root, &st, &err), 0);
    ck_pod_record rec = {0};
    assert_int_equal(ck_store_pod_get(st, id, &rec, &err), 0);
    json_t *data = json_loads(rec.data, 0, NULL);
    assert_non_null(data);
    assert_non_null(json_object_get(data, "boot_id"));
    json_object_set_new(data, "boot_id", json_string(boot));
    free(rec.data);
    rec.data = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    assert_int_equal(ck_store_pod_put(st, &rec, &err), 0);
    ck_pod_record_clear(&rec);
    ck_store_close(st);
}

static void test_pod_from_another_boot_is_notready(void **state)
{
    (void)state;
    crit_pod_request p;
    char *id = crit_pod_run(client, &shared, pod_request(&p, "rebooted", NULL, NULL));
    pid_t pause = crit_pod_pause_pid(client, &shared, id);
    crit_daemon_kill(&shared);
    set_boot_id(id, "00000000-0000-0000-0000-000000000000");
    restart_shared();
    crit_result r;
    int st;
    const char *why = state_reason(id, &r, &st);
    assert_int_equal(st, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    assert_non_null(strstr(why, "rebooted"));
    crit_result_clear(&r);
    /* Here the "old" pause still runs: stopping the pod still ends it. */
    crit_pod_stop(client, &shared, id);
    wait_gone(pause);
    assert_int_not_equal(kill(pause, 0), 0);
    remove_pod(id);
    assert_nothing_left();
}

/* ---- 3: restart after a kill during parallel creations ---- */

enum { PARALLEL = 10 };

typedef struct creation {
    char name[32];
    char id[65]; /* set when RunPodSandbox answered OK */
    pthread_t thread;
} creation;

static atomic_int runs_acknowledged;

static void *create_one(void *arg)
{
    creation *c = arg;
    crit_client *cl = crit_connect(shared.socket);
    crit_pod_request p;
    crit_result r;
    if (run_status(cl, pod_request(&p, c->name, NULL, NULL), 30000, &r) == GRPC_STATUS_OK) {
        snprintf(c->id, sizeof(c->id), "%s", ((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
        atomic_fetch_add(&runs_acknowledged, 1);
    }
    crit_result_clear(&r);
    crit_close(cl);
    return NULL;
}

static bool listed_ready(const char *id)
{
    crit_result r;
    int st;
    state_reason(id, &r, &st);
    crit_result_clear(&r);
    return st == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
}

static void test_restart_after_kill_during_parallel_runs_is_quick(void **state)
{
    (void)state;
    /* Killed once the first pod, then half of them, have a directory (so
     * half-made pods are certainly left), and once half of the creations
     * were acknowledged (so there are pods the restart must keep). */
    static const struct {
        size_t dirs;
        int acknowledged;
    } kill_after[] = {{1, 0}, {PARALLEL / 2, 0}, {0, PARALLEL / 2}};
    char dirs[512];
    snprintf(dirs, sizeof(dirs), "%s/sandboxes", shared.root);
    for (size_t round = 0; round < sizeof(kill_after) / sizeof(kill_after[0]); round++) {
        atomic_store(&runs_acknowledged, 0);
        creation cs[PARALLEL];
        memset(cs, 0, sizeof(cs));
        for (int i = 0; i < PARALLEL; i++) {
            snprintf(cs[i].name, sizeof(cs[i].name), "par-%zu-%d", round, i);
            pthread_create(&cs[i].thread, NULL, create_one, &cs[i]);
        }
        for (int i = 0; i < 6000 && (crit_dir_entries(dirs) < kill_after[round].dirs ||
                                     atomic_load(&runs_acknowledged) < kill_after[round].acknowledged);
             i++)
            usleep(5 * 1000);
        crit_close(client);
        client = NULL;
        crit_daemon_kill(&shared);
        for (int i = 0; i < PARALLEL; i++)
            pthread_join(cs[i].thread, NULL);
        double t0 = now_s();
        assert_int_equal(crit_daemon_spawn(&shared), 0);
        while (!crit_version_ok(shared.socket) && now_s() - t0 < 60)
            usleep(20 * 1000);
        double took = now_s() - t0;
        client = crit_connect(shared.socket);
        assert_non_null(client);
        if (took > bound_s(2.0)) {
            crit_daemon_dump_log(&shared);
            fail_msg("round %zu: the restarted daemon first answered after %.2f s", round, took);
        }
        int acked = 0;
        for (int i = 0; i < PARALLEL; i++)
            acked += cs[i].id[0] != '\0';
        print_message("round %zu: killed with %zu half-made pods wanted, %d of %d creations acknowledged, "
                      "restarted daemon answered after %.2f s\n",
                      round, kill_after[round].dirs, acked, PARALLEL, took);
        if (acked < kill_after[round].acknowledged)
            fail_msg("round %zu: only %d creations were acknowledged before the kill", round, acked);
        /* Every pod whose creation was acknowledged is still there, ready. */
        for (int i = 0; i < PARALLEL; i++)
            if (cs[i].id[0] != '\0' && !listed_ready(cs[i].id))
                fail_msg("round %zu: acknowledged pod %s (%s) is not ready after the restart", round, cs[i].name,
                         cs[i].id);
        /* The kubelet cleans up: stop and remove every pod that is listed. */
        Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
        crit_result r;
        Runtime__V1__ListPodSandboxResponse *l = crit_call_ok(client, &shared, RUNTIME("ListPodSandbox"), &req.base,
                                                              &runtime__v1__list_pod_sandbox_response__descriptor, &r);
        for (size_t i = 0; i < l->n_items; i++)
            crit_pod_remove(client, &shared, l->items[i]->id);
        crit_result_clear(&r);
        /* The half-made ones are cleaned up after the daemon answers. */
        crit_pod_wait_nothing_left(&shared, &net, cgroup_parent);
        assert_int_equal(list_count(), 0);
    }
}

/* ---- 6: a rollback whose CNI DEL fails ---- */

static void test_failed_rollback_keeps_the_network_to_retry(void **state)
{
    (void)state;
    char path[512], fail[512], flaky[1024];
    snprintf(path, sizeof(path), "%s/00-flaky.conflist", shared.cni_dir);
    snprintf(fail, sizeof(fail), "%s/flaky-fail", shared.dir);
    snprintf(flaky, sizeof(flaky), "{\"type\":\"cktest-flaky\",\"failOn\":\"ADD,DEL\",\"failFile\":\"%s\"}", fail);
    crit_pod_write_bridge_conflist(&shared, &net, path, flaky);
    crit_write_text(fail, "");
    crit_pod_request p;
    crit_result r;
    assert_int_not_equal(run_status(client, pod_request(&p, "rollback", NULL, NULL), 60000, &r), GRPC_STATUS_OK);
    assert_non_null(strstr(r.details, "cktest-flaky: told to fail ADD"));
    crit_result_clear(&r);
    unlink(path);
    /* The chain's DEL keeps failing (bridge's own part may be undone): the
     * pod stays, NOTREADY, with what the next DEL needs. */
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__ListPodSandboxResponse *l = crit_call_ok(client, &shared, RUNTIME("ListPodSandbox"), &req.base,
                                                          &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    assert_int_equal(l->n_items, 1);
    assert_int_equal(l->items[0]->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
    char *id = strdup(l->items[0]->id);
    crit_result_clear(&r);
    json_t *rec;
    crit_pod_status(client, &shared, id, &r, &rec);
    assert_false(json_is_null(json_object_get(rec, "cni")));
    char netns[512];
    snprintf(netns, sizeof(netns), "%s", json_string_value(json_object_get(rec, "netns")));
    json_decref(rec);
    crit_result_clear(&r);
    assert_int_equal(access(netns, F_OK), 0);
    /* The plugin recovers; the kubelet stops and removes the pod it sees. */
    unlink(fail);
    crit_pod_stop(client, &shared, id);
    assert_int_equal(crit_pod_allocated_ips(&shared, net.prefix), 0);
    assert_int_equal(access(netns, F_OK), -1);
    remove_pod(id);
    assert_nothing_left();
    /* Its name is free again. */
    char *again = crit_pod_run(client, &shared, pod_request(&p, "rollback", NULL, NULL));
    remove_pod(again);
    assert_nothing_left();
}

/* ---- 9: kubelet retries of a creation that hangs ---- */

static void *run_hanging(void *arg)
{
    (void)arg;
    crit_client *c = crit_connect(shared.socket);
    crit_pod_request p;
    crit_result r;
    run_status(c, pod_request(&p, "hung", NULL, NULL), 120000, &r);
    crit_result_clear(&r);
    crit_close(c);
    return NULL;
}

/* How often needle appears in the shared daemon's log. */
static size_t log_count(const char *needle)
{
    FILE *f = fopen(shared.log, "re");
    if (f == NULL)
        return 0;
    size_t n = 0;
    char line[8192];
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static pid_t read_pid_file(const char *path)
{
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(path, "re");
        if (f != NULL) {
            char buf[32] = "";
            char *end = NULL;
            long pid = fgets(buf, sizeof(buf), f) != NULL ? strtol(buf, &end, 10) : 0;
            fclose(f);
            if (end != buf && pid > 0)
                return (pid_t)pid;
        }
        usleep(50 * 1000);
    }
    return 0;
}

static void test_retries_of_a_hung_creation_end_with_their_deadline(void **state)
{
    (void)state;
    char path[512], hang[512], pidfile[600], flaky[1024];
    snprintf(path, sizeof(path), "%s/00-hang.conflist", shared.cni_dir);
    snprintf(hang, sizeof(hang), "%s/hang", shared.dir);
    snprintf(pidfile, sizeof(pidfile), "%s.pid", hang);
    snprintf(flaky, sizeof(flaky), "{\"type\":\"cktest-flaky\",\"hangOn\":\"ADD\",\"hangFile\":\"%s\"}", hang);
    crit_pod_write_bridge_conflist(&shared, &net, path, flaky);
    crit_write_text(hang, "");
    pthread_t first;
    pthread_create(&first, NULL, run_hanging, NULL);
    pid_t plugin = read_pid_file(pidfile);
    assert_true(plugin > 0);
    /* The kubelet's retries, each with a short deadline: each call ends on
     * the daemon's side too, and says why. */
    static const char gave_up[] = "is still being created by an earlier call";
    size_t before = log_count(gave_up);
    for (int i = 0; i < 3; i++) {
        crit_pod_request p;
        crit_result r;
        grpc_status_code code = run_status(client, pod_request(&p, "hung", NULL, NULL), 700, &r);
        crit_result_clear(&r);
        assert_int_equal(code, GRPC_STATUS_DEADLINE_EXCEEDED);
    }
    /* Each of the three ended inside the daemon too (before the fix they
     * all still waited there, each holding a worker). */
    for (int i = 0; i < 100 && log_count(gave_up) < before + 3; i++)
        usleep(20 * 1000);
    if (log_count(gave_up) < before + 3) {
        crit_daemon_dump_log(&shared);
        fail_msg("%zu of 3 retries ended in the daemon after their deadline", log_count(gave_up) - before);
    }
    /* Unrelated calls answer meanwhile. */
    assert_true(crit_version_ok(shared.socket));
    assert_int_equal(list_count(), 0);
    kill(plugin, SIGKILL);
    pthread_join(first, NULL);
    unlink(path);
    unlink(hang);
    unlink(pidfile);
    assert_nothing_left();
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "critest_pod_faults: needs root (namespaces, mounts, runc); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_name_without_hostname_gets_the_nodes),
        cmocka_unit_test(test_bad_hostnames_refused_before_anything),
        cmocka_unit_test(test_client_text_checked_per_format),
        cmocka_unit_test(test_underscored_names_are_different_pods),
        cmocka_unit_test(test_pause_killed_while_daemon_down_is_notready),
        cmocka_unit_test(test_pod_from_another_boot_is_notready),
        cmocka_unit_test(test_restart_after_kill_during_parallel_runs_is_quick),
        cmocka_unit_test(test_failed_rollback_keeps_the_network_to_retry),
        cmocka_unit_test(test_retries_of_a_hung_creation_end_with_their_deadline),
    };
    grpc_init();
    int failed = cmocka_run_group_tests_name("critest_pod_faults", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed;
}
