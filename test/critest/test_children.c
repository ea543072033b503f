/*
 * Conformance over the wire for what the daemon hands its children (OCI
 * runtimes, monitors, CNI plugins): a daemon started as systemd's
 * Type=notify unit starts it, with NOTIFY_SOCKET pointing at a datagram
 * socket this suite binds and WATCHDOG_USEC set, must still run pods. runc
 * acts on NOTIFY_SOCKET (it binds its own socket in its state dir and makes
 * `start` wait for the container to send READY), so the daemon's children
 * must never see it; the daemon itself must still speak to the socket
 * (READY=1). The monitor that outlives the call is read from /proc, and the
 * pod network ends with cktest-flaky recording what a CNI plugin is given:
 * neither has systemd's per-service variables or a descriptor of the
 * daemon's above 2.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"
#include "test/critest/pod_fixture.h"

/* What a test that fails midway leaves: teardown removes the pod, then
 * stops the daemon. */
static crit_daemon daemon_;
static crit_client *client_;
static char *pod_id;
static crit_pod_net net;
static char cgroup_parent[64];

static int setup(void **state)
{
    (void)state;
    crit_pod_net_init(&net, "ckc", 50);
    crit_pod_cgroup_parent(cgroup_parent, sizeof(cgroup_parent), "critest-children");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pod_id != NULL && client_ != NULL) {
        crit_result r;
        Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
        stop.pod_sandbox_id = pod_id;
        crit_call(client_, RUNTIME("StopPodSandbox"), &stop.base, &runtime__v1__stop_pod_sandbox_response__descriptor,
                  30000, &r);
        crit_result_clear(&r);
        Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
        rm.pod_sandbox_id = pod_id;
        crit_call(client_, RUNTIME("RemovePodSandbox"), &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor,
                  30000, &r);
        crit_result_clear(&r);
    }
    free(pod_id);
    pod_id = NULL;
    crit_close(client_);
    client_ = NULL;
    if (daemon_.dir[0] != '\0')
        crit_daemon_cleanup(&daemon_);
    crit_pod_net_remove(&net);
    crit_pod_cgroup_parent_remove(cgroup_parent);
    return 0;
}

/* A datagram socket bound at path, as systemd's notify socket is. */
static int notify_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) < (int)sizeof(sa.sun_path));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* True once a datagram holding line arrives within timeout_ms. */
static bool notified(int fd, const char *line, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char msg[1024];
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
        if (n <= 0)
            continue;
        msg[n] = '\0';
        for (char *save = NULL, *l = strtok_r(msg, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
            if (strcmp(l, line) == 0)
                return true;
    }
    return false;
}

static pid_t parent_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may hold spaces */
    assert_non_null(p);
    /* ") S 1234 ...": the state, then the parent's pid */
    char *end;
    long ppid = strtol(p + 3, &end, 10);
    assert_true(end != p + 3 && ppid > 0);
    return (pid_t)ppid;
}

/* Fails the test when the environment of pid has one of systemd's
 * per-service variables. */
static void assert_clean_environment(pid_t pid)
{
    char path[64], buf[65536];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (size_t off = 0; off < n; off += strlen(buf + off) + 1) {
        const char *var = buf + off;
        if (strncmp(var, "NOTIFY_SOCKET=", 14) == 0 || strncmp(var, "WATCHDOG_", 9) == 0 ||
            strncmp(var, "LISTEN_", 7) == 0)
            fail_msg("process %d inherited %s", (int)pid, var);
    }
}

/* The pod network: bridge and host-local as the default one would be, then
 * cktest-flaky recording what a plugin is given into record. */
static void write_recording_network(const crit_daemon *d, const char *record)
{
    char path[512], conf[2048];
    snprintf(path, sizeof(path), "%s/00-record.conflist", d->cni_dir);
    snprintf(conf, sizeof(conf),
             "{\"cniVersion\":\"1.0.0\",\"name\":\"cricket\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"%s\","
             "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s\"}]],\"dataDir\":\"%s/cni/networks\"}},"
             "{\"type\":\"cktest-flaky\",\"recordFile\":\"%s\"}]}",
             net.bridge, net.subnet, d->state, record);
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_true(fputs(conf, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* What the recording plugin was given: no service variable, no descriptor
 * above 2 ("fds:" with nothing after it). */
static void assert_plugin_was_clean(const char *record)
{
    FILE *f = fopen(record, "re");
    assert_non_null(f);
    char line[8192];
    bool fds_seen = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "NOTIFY_SOCKET=", 14) == 0 || strncmp(line, "WATCHDOG_", 9) == 0 ||
            strncmp(line, "LISTEN_", 7) == 0)
            fail_msg("the CNI plugin inherited %s", line);
        if (strncmp(line, "fds:", 4) == 0) {
            fds_seen = true;
            if (strcmp(line, "fds:\n") != 0)
                fail_msg("the CNI plugin held descriptors above 2:%s", line + 4);
        }
    }
    fclose(f);
    assert_true(fds_seen);
}

/* Fails the test when pid holds a descriptor above 2 other than allowed
 * (a path it may hold open, NULL for none). */
static void assert_no_descriptor_above_2(pid_t pid, const char *allowed)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        long fd = strtol(e->d_name, NULL, 10);
        if (fd > 2) {
            char link[256] = "", target[64];
            snprintf(target, sizeof(target), "%s/%s", path, e->d_name);
            ssize_t n = readlink(target, link, sizeof(link) - 1);
            link[n > 0 ? n : 0] = '\0';
            if (allowed != NULL && strcmp(link, allowed) == 0)
                continue;
            closedir(d);
            fail_msg("process %d holds descriptor %ld (%s)", (int)pid, fd, link);
        }
    }
    closedir(d);
}

static void set_service_environment(const char *notify_path)
{
    assert_int_equal(setenv("NOTIFY_SOCKET", notify_path, 1), 0);
    assert_int_equal(setenv("WATCHDOG_USEC", "60000000", 1), 0);
    assert_int_equal(setenv("LISTEN_FDNAMES", "critest", 1), 0);
}

static void clear_service_environment(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("LISTEN_FDNAMES");
}

/* The shipped unit's situation: a pod runs, is READY, stops and goes, and
 * the daemon itself told the notify socket it was ready. */
static void test_pod_runs_under_notify_socket(void **state)
{
    (void)state;
    crit_daemon *d = &daemon_;
    assert_int_equal(crit_daemon_prepare_pods(d, net.bridge, net.subnet, NULL), 0);
    char notify_path[256];
    snprintf(notify_path, sizeof(notify_path), "%s/notify.sock", d->dir);
    int notify = notify_socket(notify_path);
    char record[256];
    snprintf(record, sizeof(record), "%s/cni-record", d->dir);
    write_recording_network(d, record);
    set_service_environment(notify_path);
    crit_client *c = client_ = crit_daemon_start_and_connect(d);
    clear_service_environment(); /* only the daemon has them */
    assert_non_null(c);
    assert_true(notified(notify, "READY=1", 10000));

    crit_pod_request pod;
    const char *id = pod_id = crit_pod_run(c, d, crit_pod_request_init(&pod, "under-systemd", cgroup_parent));
    crit_result r;
    Runtime__V1__PodSandboxStatusResponse *s = crit_pod_status(c, d, id, &r, NULL);
    assert_int_equal(s->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    crit_result_clear(&r);
    assert_plugin_was_clean(record);

    /* The pause process's parent is its monitor, started by the daemon. */
    pid_t monitor = parent_of(crit_pod_pause_pid(c, d, id));
    assert_true(monitor > 1);
    assert_clean_environment(monitor);
    /* Its only descriptor of its own: the liveness lock on its run
     * directory (containers/monitor/protocol.h, 5), nothing of the daemon's. */
    char run_dir[512];
    snprintf(run_dir, sizeof(run_dir), "%s/sandboxes/%s", d->state, id);
    assert_no_descriptor_above_2(monitor, run_dir);

    crit_pod_stop(c, d, id);
    crit_pod_remove(c, d, id);
    free(pod_id);
    pod_id = NULL;
    close(notify);
    client_ = NULL;
    assert_int_equal(crit_daemon_teardown(d, c, 15000), 0);
    memset(d, 0, sizeof(*d));
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "critest_children: needs root (namespaces, mounts, CNI); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_runs_under_notify_socket),
    };
    grpc_init();
    int failed = cmocka_run_group_tests_name("critest_children", tests, setup, teardown);
    grpc_shutdown();
    return failed;
}
