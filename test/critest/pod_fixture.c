/*
 * pod_fixture: host resources, request base and checked pod calls of the
 * pod suites (see pod_fixture.h). Nothing here keeps state between calls:
 * the suite owns its daemon, client and names.
 */
#include "test/critest/pod_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

void crit_sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    /* clang 14's analyzer loses the va_start above here (as in streaming/server.c). */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    (void)rc;
}

void crit_pod_net_init(crit_pod_net *net, const char *tag, unsigned base)
{
    unsigned n = (unsigned)getpid();
    snprintf(net->bridge, sizeof(net->bridge), "%s%u", tag, n % 100000);
    snprintf(net->prefix, sizeof(net->prefix), "10.%u.%u.", base + (n / 250) % 50, n % 250);
    snprintf(net->subnet, sizeof(net->subnet), "%s0/24", net->prefix);
}

void crit_pod_net_remove(const crit_pod_net *net)
{
    crit_sh("ip link del %s 2>/dev/null", net->bridge);
}

void crit_pod_cgroup_parent(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "/%s-%d", tag, (int)getpid());
}

void crit_pod_cgroup_parent_remove(const char *parent)
{
    /* Below each v1 controller, and at the v2 root. */
    crit_sh("rmdir /sys/fs/cgroup/*%s /sys/fs/cgroup%s 2>/dev/null", parent, parent);
}

Runtime__V1__RunPodSandboxRequest *crit_pod_request_init(crit_pod_request *p, const char *name,
                                                         const char *cgroup_parent)
{
    runtime__v1__run_pod_sandbox_request__init(&p->req);
    runtime__v1__pod_sandbox_config__init(&p->config);
    runtime__v1__pod_sandbox_metadata__init(&p->metadata);
    runtime__v1__linux_pod_sandbox_config__init(&p->linux_config);
    snprintf(p->uid, sizeof(p->uid), "uid-%s", name);
    p->metadata.name = (char *)name;
    p->metadata.namespace_ = "critest";
    p->metadata.uid = p->uid;
    p->config.metadata = &p->metadata;
    p->config.log_directory = "/tmp";
    p->linux_config.cgroup_parent = (char *)cgroup_parent;
    p->config.linux = &p->linux_config;
    p->req.config = &p->config;
    return &p->req;
}

void *crit_call_ok(crit_client *c, const crit_daemon *d, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *desc, crit_result *r)
{
    grpc_status_code code = crit_call(c, method, req, desc, 60000, r);
    if (code != GRPC_STATUS_OK) {
        crit_daemon_dump_log(d);
        fail_msg("%s: status %d: %s", method, code, r->details);
    }
    return r->response;
}

char *crit_pod_run(crit_client *c, const crit_daemon *d, const Runtime__V1__RunPodSandboxRequest *req)
{
    crit_result r;
    Runtime__V1__RunPodSandboxResponse *resp = crit_call_ok(c, d, RUNTIME("RunPodSandbox"), &req->base,
                                                            &runtime__v1__run_pod_sandbox_response__descriptor, &r);
    char *id = strdup(resp->pod_sandbox_id);
    crit_result_clear(&r);
    assert_int_equal(strlen(id), 64);
    return id;
}

grpc_status_code crit_pod_run_status(crit_client *c, const Runtime__V1__RunPodSandboxRequest *req, char **id,
                                     char *details, size_t size)
{
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &req->base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r);
    if (code == GRPC_STATUS_OK && id != NULL)
        *id = strdup(((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
    if (details != NULL)
        snprintf(details, size, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

void crit_pod_stop(crit_client *c, const crit_daemon *d, const char *id)
{
    Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    req.pod_sandbox_id = (char *)id;
    crit_result r;
    crit_call_ok(c, d, RUNTIME("StopPodSandbox"), &req.base, &runtime__v1__stop_pod_sandbox_response__descriptor, &r);
    crit_result_clear(&r);
}

void crit_pod_remove(crit_client *c, const crit_daemon *d, const char *id)
{
    Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    req.pod_sandbox_id = (char *)id;
    crit_result r;
    crit_call_ok(c, d, RUNTIME("RemovePodSandbox"), &req.base, &runtime__v1__remove_pod_sandbox_response__descriptor,
                 &r);
    crit_result_clear(&r);
}

Runtime__V1__PodSandboxStatusResponse *crit_pod_status(crit_client *c, const crit_daemon *d, const char *id,
                                                       crit_result *r, json_t **record)
{
    Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    req.pod_sandbox_id = (char *)id;
    req.verbose = true;
    Runtime__V1__PodSandboxStatusResponse *s = crit_call_ok(c, d, RUNTIME("PodSandboxStatus"), &req.base,
                                                            &runtime__v1__pod_sandbox_status_response__descriptor, r);
    if (record != NULL) {
        assert_int_equal(s->n_info, 1);
        json_t *info = json_loads(s->info[0]->value, 0, NULL);
        assert_non_null(info);
        *record = json_incref(json_object_get(info, "record"));
        json_decref(info);
    }
    return s;
}

pid_t crit_pod_pause_pid(crit_client *c, const crit_daemon *d, const char *id)
{
    crit_result r;
    json_t *record;
    crit_pod_status(c, d, id, &r, &record);
    pid_t pid = (pid_t)json_integer_value(json_object_get(record, "pause_pid"));
    json_decref(record);
    crit_result_clear(&r);
    assert_true(pid > 0);
    return pid;
}

size_t crit_dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

void crit_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

size_t crit_mounts_under(const char *dir)
{
    int n = crit_mounts_each(dir, NULL, NULL);
    assert_true(n >= 0);
    return (size_t)n;
}

size_t crit_pod_allocated_ips(const crit_daemon *d, const char *prefix)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/cni/networks/cricket", d->state);
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(dh);
    return n;
}

size_t crit_pod_veths(const crit_pod_net *net)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/net/%s/brif", net->bridge);
    return crit_dir_entries(path);
}

size_t crit_pod_masquerade_rules(const crit_pod_net *net)
{
    char line[1024];
    FILE *p = popen("iptables -w 10 -t nat -S POSTROUTING", "r"); /* -w: waits while a plugin holds the lock */
    assert_non_null(p);
    char source[64];
    snprintf(source, sizeof(source), "-s %s", net->prefix);
    size_t n = 0;
    while (fgets(line, sizeof(line), p) != NULL)
        n += strstr(line, source) != NULL;
    assert_int_equal(pclose(p), 0);
    return n;
}

/* What crit_pod_assert_nothing_left checks, as a count of what is left. */
static size_t pod_leftovers(const crit_daemon *d, const crit_pod_net *net)
{
    char dir[512];
    size_t n = crit_pod_allocated_ips(d, net->prefix) + crit_mounts_under(d->dir) + crit_pod_veths(net) +
               crit_pod_masquerade_rules(net);
    snprintf(dir, sizeof(dir), "%s/netns", d->state);
    n += crit_dir_entries(dir);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->root);
    n += crit_dir_entries(dir);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->state);
    return n + crit_dir_entries(dir);
}

void crit_pod_wait_nothing_left(const crit_daemon *d, const crit_pod_net *net, const char *cgroup_parent)
{
    for (int i = 0; i < 300 && pod_leftovers(d, net) > 0; i++)
        usleep(100 * 1000);
    crit_pod_assert_nothing_left(d, net, cgroup_parent);
}

void crit_pod_wait_network_gone(crit_client *c, const crit_daemon *d, const char *id)
{
    for (int i = 0; i < 300; i++) {
        crit_result r;
        json_t *rec = NULL;
        crit_pod_status(c, d, id, &r, &rec);
        bool gone = json_is_null(json_object_get(rec, "cni"));
        json_decref(rec);
        crit_result_clear(&r);
        if (gone)
            return;
        usleep(100 * 1000);
    }
    fail_msg("pod %s: its network is still set up after 30 s", id);
}

void crit_pod_assert_nothing_left(const crit_daemon *d, const crit_pod_net *net, const char *cgroup_parent)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/netns", d->state);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(crit_pod_allocated_ips(d, net->prefix), 0);
    assert_int_equal(crit_mounts_under(d->dir), 0);
    assert_int_equal(crit_pod_veths(net), 0);
    assert_int_equal(crit_pod_masquerade_rules(net), 0);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->root);
    assert_int_equal(crit_dir_entries(dir), 0);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->state);
    assert_int_equal(crit_dir_entries(dir), 0);
    /* No pause cgroup is left under the pods' parent. */
    snprintf(dir, sizeof(dir), "/sys/fs/cgroup/pids%s", cgroup_parent);
    size_t left = 0;
    DIR *dh = opendir(dir);
    struct dirent *e;
    while (dh != NULL && (e = readdir(dh)) != NULL)
        left += strncmp(e->d_name, "cricket-", 8) == 0;
    if (dh != NULL)
        closedir(dh);
    assert_int_equal(left, 0);
}

void crit_pod_write_bridge_conflist(const crit_daemon *d, const crit_pod_net *net, const char *path,
                                    const char *then_plugin)
{
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "{\"cniVersion\":\"1.0.0\",\"name\":\"cricket\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"%s\","
             "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s\"}]],\"dataDir\":\"%s/cni/networks\"}},"
             "%s]}",
             net->bridge, net->subnet, d->state, then_plugin);
    crit_write_text(path, conf);
}
