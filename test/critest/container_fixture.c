/*
 * container_fixture: the suites' daemon, pods, container requests, the
 * container calls and the CRI log checks (container_fixture.h).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"
#include "test/critest/registry_fixture.h"

double crit_ctr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double crit_ctr_seconds(double seconds)
{
    return getenv("CRICKET_WRAPPER") != NULL ? seconds * 10.0 : seconds;
}

/* ---- the suite ---- */

void crit_ctr_pull(crit_ctr_suite *s, const char *image)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    crit_call_ok(s->client, &s->daemon, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor,
                 &r);
    crit_result_clear(&r);
}

int crit_ctr_suite_start(crit_ctr_suite *s, const char *tag, unsigned net_base, const char *extra_yaml)
{
    memset(s, 0, sizeof(*s));
    if (crit_registry_start() < 0)
        return -1;
    crit_pod_net_init(&s->net, tag, net_base);
    char cgroup_tag[32];
    snprintf(cgroup_tag, sizeof(cgroup_tag), "critest-%s", tag);
    crit_pod_cgroup_parent(s->cgroup_parent, sizeof(s->cgroup_parent), cgroup_tag);
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), "registries:\n  hosts:\n    \"%s\": {insecure: true}\n%s", crit_fx("PLAIN"),
             extra_yaml != NULL ? extra_yaml : "");
    if (crit_daemon_prepare_pods(&s->daemon, s->net.bridge, s->net.subnet, yaml) < 0)
        return -1;
    s->client = crit_daemon_start_and_connect(&s->daemon);
    if (s->client == NULL)
        return -1;
    snprintf(s->log_dir, sizeof(s->log_dir), "%s/podlogs", s->daemon.dir);
    if (mkdir(s->log_dir, 0755) < 0) {
        perror(s->log_dir);
        return -1;
    }
    snprintf(s->image, sizeof(s->image), "%s/library/busybox:latest", crit_fx("PLAIN"));
    crit_ctr_pull(s, s->image);
    return 0;
}

static void remove_leftover_pods(crit_ctr_suite *s)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    crit_result r;
    if (crit_call(s->client, RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor,
                  30000, &r) != GRPC_STATUS_OK) {
        crit_result_clear(&r);
        return;
    }
    const Runtime__V1__ListPodSandboxResponse *l = (const void *)r.response;
    for (size_t i = 0; i < l->n_items; i++) {
        Runtime__V1__StopPodSandboxRequest stop_req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
        Runtime__V1__RemovePodSandboxRequest remove_req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
        stop_req.pod_sandbox_id = remove_req.pod_sandbox_id = l->items[i]->id;
        crit_result ignored;
        crit_call(s->client, RUNTIME("StopPodSandbox"), &stop_req.base,
                  &runtime__v1__stop_pod_sandbox_response__descriptor, 60000, &ignored);
        crit_result_clear(&ignored);
        crit_call(s->client, RUNTIME("RemovePodSandbox"), &remove_req.base,
                  &runtime__v1__remove_pod_sandbox_response__descriptor, 60000, &ignored);
        crit_result_clear(&ignored);
    }
    crit_result_clear(&r);
}

int crit_ctr_suite_stop(crit_ctr_suite *s)
{
    if (s->client != NULL)
        remove_leftover_pods(s);
    int rc = crit_daemon_teardown(&s->daemon, s->client, 30000);
    s->client = NULL;
    crit_pod_net_remove(&s->net);
    crit_pod_cgroup_parent_remove(s->cgroup_parent);
    crit_registry_stop();
    return rc == 0 ? 0 : -1;
}

void crit_ctr_suite_restart(crit_ctr_suite *s)
{
    crit_close(s->client);
    s->client = NULL;
    assert_int_equal(crit_daemon_start(&s->daemon), 0);
    s->client = crit_connect(s->daemon.socket);
    assert_non_null(s->client);
}

/* ---- pods ---- */

typedef struct pod_kind {
    bool privileged;
    const char *handler;
    const char *hostname; /* set: pid CONTAINER, as the kubelet asks (no pause) */
} pod_kind;

static char *run_pod(crit_ctr_suite *s, const char *name, const pod_kind *k)
{
    crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, name, s->cgroup_parent);
    if (k->handler != NULL)
        req->runtime_handler = (char *)k->handler;
    pod.config.log_directory = s->log_dir;
    Runtime__V1__LinuxSandboxSecurityContext sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    sec.privileged = k->privileged;
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    if (k->hostname != NULL) {
        pod.config.hostname = (char *)k->hostname;
        ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
        sec.namespace_options = &ns;
    }
    pod.linux_config.security_context = &sec;
    return crit_pod_run(s->client, &s->daemon, req);
}

char *crit_ctr_run_pod(crit_ctr_suite *s, const char *name)
{
    return run_pod(s, name, &(pod_kind){0});
}

char *crit_ctr_run_pod_with_handler(crit_ctr_suite *s, const char *name, const char *handler)
{
    return run_pod(s, name, &(pod_kind){.handler = handler});
}

char *crit_ctr_run_privileged_pod(crit_ctr_suite *s, const char *name)
{
    return run_pod(s, name, &(pod_kind){.privileged = true});
}

char *crit_ctr_run_pod_without_pause(crit_ctr_suite *s, const char *name, const char *hostname)
{
    return run_pod(s, name, &(pod_kind){.hostname = hostname});
}

size_t crit_ctr_pods_listed(crit_ctr_suite *s)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    crit_result r;
    const Runtime__V1__ListPodSandboxResponse *l =
        crit_call_ok(s->client, &s->daemon, RUNTIME("ListPodSandbox"), &req.base,
                     &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    size_t n = l->n_items;
    crit_result_clear(&r);
    return n;
}

void crit_ctr_cleanup_pod(crit_ctr_suite *s, const char *pod)
{
    crit_pod_stop(s->client, &s->daemon, pod);
    crit_pod_remove(s->client, &s->daemon, pod);
}

size_t crit_ctr_processes_naming(const crit_ctr_suite *s, const char *needle, int sig)
{
    size_t found = 0;
    DIR *proc = opendir("/proc");
    assert_non_null(proc);
    struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
        char *end = NULL;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0' || pid == (long)s->daemon.pid)
            continue;
        char path[64], cmd[4096];
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        if (strstr(cmd, needle) == NULL)
            continue;
        found++;
        if (sig != 0)
            kill((pid_t)pid, sig);
    }
    closedir(proc);
    return found;
}

/* Processes whose command line names the daemon's directory: its
 * monitors and what they run. */
static size_t processes_of(const crit_ctr_suite *s)
{
    return crit_ctr_processes_naming(s, s->daemon.dir, 0);
}

/* What is left of the suite's containers, into why; false when nothing. */
static bool containers_left(const crit_ctr_suite *s, char *why, size_t size)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/containers", s->daemon.root);
    size_t rows = crit_dir_entries(dir);
    snprintf(dir, sizeof(dir), "%s/containers", s->daemon.state);
    size_t runs = crit_dir_entries(dir);
    snprintf(dir, sizeof(dir), "%s/runtime/runc", s->daemon.state);
    size_t runtime = crit_dir_entries(dir);
    size_t procs = processes_of(s);
    snprintf(why, size, "%zu container dirs, %zu run dirs, %zu runtime states, %zu processes", rows, runs, runtime,
             procs);
    return rows + runs + runtime + procs > 0;
}

void crit_ctr_wait_nothing_left(crit_ctr_suite *s)
{
    char why[256];
    double until = crit_ctr_now() + crit_ctr_seconds(30);
    while (containers_left(s, why, sizeof(why)) && crit_ctr_now() < until)
        usleep(100 * 1000);
    if (containers_left(s, why, sizeof(why))) {
        crit_daemon_dump_log(&s->daemon);
        fail_msg("left behind: %s", why);
    }
    crit_pod_wait_nothing_left(&s->daemon, &s->net, s->cgroup_parent);
}

/* ---- container requests ---- */

Runtime__V1__CreateContainerRequest *crit_ctr_init(crit_ctr_request *c, const crit_ctr_suite *s, const char *pod_id,
                                                   const char *name, const char *script)
{
    memset(c, 0, sizeof(*c));
    runtime__v1__create_container_request__init(&c->req);
    runtime__v1__container_config__init(&c->config);
    runtime__v1__container_metadata__init(&c->metadata);
    runtime__v1__image_spec__init(&c->image);
    runtime__v1__linux_container_config__init(&c->linux_config);
    runtime__v1__pod_sandbox_config__init(&c->pod_config);
    c->metadata.name = (char *)name;
    c->metadata.attempt = 2;
    c->image.image = (char *)s->image;
    c->config.metadata = &c->metadata;
    c->config.image = &c->image;
    c->config.linux = &c->linux_config;
    if (script != NULL) {
        c->command[0] = "sh";
        c->command[1] = "-c";
        c->command[2] = (char *)script;
        c->config.command = c->command;
        c->config.n_command = 3;
    }
    snprintf(c->log_path, sizeof(c->log_path), "%s.log", name);
    c->config.log_path = c->log_path;
    c->req.pod_sandbox_id = (char *)pod_id;
    c->req.config = &c->config;
    c->req.sandbox_config = &c->pod_config;
    return &c->req;
}

void crit_ctr_env(crit_ctr_request *c, const char *key, const char *value)
{
    size_t i = c->config.n_envs;
    assert_true(i < CRIT_CTR_MAX_ENV);
    runtime__v1__key_value__init(&c->env[i]);
    c->env[i].key = (char *)key;
    c->env[i].value = (ProtobufCBinaryData){strlen(value), (uint8_t *)value};
    c->envs[i] = &c->env[i];
    c->config.envs = c->envs;
    c->config.n_envs = i + 1;
}

void crit_ctr_label(crit_ctr_request *c, const char *key, const char *value)
{
    runtime__v1__container_config__labels_entry__init(&c->label);
    c->label.key = (char *)key;
    c->label.value = (char *)value;
    c->labels[0] = &c->label;
    c->config.labels = c->labels;
    c->config.n_labels = 1;
}

void crit_ctr_annotation(crit_ctr_request *c, const char *key, const char *value)
{
    runtime__v1__container_config__annotations_entry__init(&c->annotation);
    c->annotation.key = (char *)key;
    c->annotation.value = (char *)value;
    c->annotations[0] = &c->annotation;
    c->config.annotations = c->annotations;
    c->config.n_annotations = 1;
}

Runtime__V1__Mount *crit_ctr_mount(crit_ctr_request *c, const char *host_path, const char *container_path,
                                   bool readonly)
{
    size_t i = c->config.n_mounts;
    assert_true(i < CRIT_CTR_MAX_MOUNTS);
    runtime__v1__mount__init(&c->mount[i]);
    c->mount[i].host_path = (char *)host_path;
    c->mount[i].container_path = (char *)container_path;
    c->mount[i].readonly = readonly;
    c->mounts[i] = &c->mount[i];
    c->config.mounts = c->mounts;
    c->config.n_mounts = i + 1;
    return &c->mount[i];
}

/* ---- calls ---- */

grpc_status_code crit_ctr_create_code(crit_ctr_suite *s, const Runtime__V1__CreateContainerRequest *req, char *id,
                                      char *details, size_t size)
{
    crit_result r;
    grpc_status_code code = crit_call(s->client, RUNTIME("CreateContainer"), &req->base,
                                      &runtime__v1__create_container_response__descriptor, 60000, &r);
    if (code == GRPC_STATUS_OK && id != NULL)
        snprintf(id, 65, "%s", ((Runtime__V1__CreateContainerResponse *)r.response)->container_id);
    if (details != NULL)
        snprintf(details, size, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

char *crit_ctr_create(crit_ctr_suite *s, const Runtime__V1__CreateContainerRequest *req)
{
    crit_result r;
    Runtime__V1__CreateContainerResponse *resp =
        crit_call_ok(s->client, &s->daemon, RUNTIME("CreateContainer"), &req->base,
                     &runtime__v1__create_container_response__descriptor, &r);
    char *id = strdup(resp->container_id);
    crit_result_clear(&r);
    assert_non_null(id);
    assert_int_equal(strlen(id), 64);
    return id;
}

static const ProtobufCMessageDescriptor *empty_response_of(const char *rpc)
{
    if (strcmp(rpc, "StartContainer") == 0)
        return &runtime__v1__start_container_response__descriptor;
    if (strcmp(rpc, "StopContainer") == 0)
        return &runtime__v1__stop_container_response__descriptor;
    if (strcmp(rpc, "RemoveContainer") == 0)
        return &runtime__v1__remove_container_response__descriptor;
    return &runtime__v1__reopen_container_log_response__descriptor;
}

/* A call whose answer is empty: its status and details; with details NULL
 * anything but OK fails the test. */
static grpc_status_code empty_answer_call(crit_ctr_suite *s, const char *rpc, const ProtobufCMessage *req,
                                          char *details, size_t size)
{
    char method[128];
    snprintf(method, sizeof(method), "/runtime.v1.RuntimeService/%s", rpc);
    crit_result r;
    grpc_status_code code = crit_call(s->client, method, req, empty_response_of(rpc), 120000, &r);
    if (details != NULL)
        snprintf(details, size, "%s", r.details);
    if (code != GRPC_STATUS_OK && details == NULL) {
        crit_daemon_dump_log(&s->daemon);
        fail_msg("%s: status %d: %s", rpc, code, r.details);
    }
    crit_result_clear(&r);
    return code;
}

grpc_status_code crit_ctr_start_code(crit_ctr_suite *s, const char *id, char *details, size_t size)
{
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    return empty_answer_call(s, "StartContainer", &req.base, details, size);
}

grpc_status_code crit_ctr_stop_code(crit_ctr_suite *s, const char *id, int64_t timeout, char *details, size_t size)
{
    Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    req.timeout = timeout;
    return empty_answer_call(s, "StopContainer", &req.base, details, size);
}

grpc_status_code crit_ctr_remove_code(crit_ctr_suite *s, const char *id, char *details, size_t size)
{
    Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    return empty_answer_call(s, "RemoveContainer", &req.base, details, size);
}

grpc_status_code crit_ctr_reopen_code(crit_ctr_suite *s, const char *id, char *details, size_t size)
{
    Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
    req.container_id = (char *)id;
    return empty_answer_call(s, "ReopenContainerLog", &req.base, details, size);
}

void crit_ctr_start(crit_ctr_suite *s, const char *id)
{
    crit_ctr_start_code(s, id, NULL, 0);
}

void crit_ctr_stop(crit_ctr_suite *s, const char *id, int64_t timeout)
{
    crit_ctr_stop_code(s, id, timeout, NULL, 0);
}

Runtime__V1__ContainerStatus *crit_ctr_status(crit_ctr_suite *s, const char *id, bool verbose, crit_result *r)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = (char *)id;
    req.verbose = verbose;
    Runtime__V1__ContainerStatusResponse *resp =
        crit_call_ok(s->client, &s->daemon, RUNTIME("ContainerStatus"), &req.base,
                     &runtime__v1__container_status_response__descriptor, r);
    assert_non_null(resp->status);
    return resp->status;
}

int crit_ctr_state(crit_ctr_suite *s, const char *id)
{
    crit_result r;
    int st = (int)crit_ctr_status(s, id, false, &r)->state;
    crit_result_clear(&r);
    return st;
}

void crit_ctr_wait_state(crit_ctr_suite *s, const char *id, int want, double seconds)
{
    double until = crit_ctr_now() + crit_ctr_seconds(seconds);
    int st = crit_ctr_state(s, id);
    while (st != want && crit_ctr_now() < until) {
        usleep(50 * 1000);
        st = crit_ctr_state(s, id);
    }
    if (st != want) {
        crit_daemon_dump_log(&s->daemon);
        fail_msg("container %.12s: state %d, want %d after %.0f s", id, st, want, seconds);
    }
}

void crit_ctr_wait_exit(crit_ctr_suite *s, const char *id, int32_t code, const char *reason, double seconds)
{
    crit_ctr_wait_state(s, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, seconds);
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(s, id, false, &r);
    assert_int_equal(st->exit_code, code);
    assert_string_equal(st->reason, reason);
    crit_result_clear(&r);
}

pid_t crit_ctr_pid(crit_ctr_suite *s, const char *id)
{
    crit_result r;
    crit_ctr_status(s, id, true, &r);
    Runtime__V1__ContainerStatusResponse *resp = (Runtime__V1__ContainerStatusResponse *)r.response;
    assert_true(resp->n_info > 0);
    json_t *info = json_loads(resp->info[0]->value, 0, NULL);
    assert_non_null(info);
    pid_t pid = (pid_t)json_integer_value(json_object_get(info, "pid"));
    json_decref(info);
    crit_result_clear(&r);
    return pid;
}

int crit_ctr_exec_sh(crit_ctr_suite *s, const char *id, const char *script, char *out, size_t size)
{
    char *argv[] = {"sh", "-c", (char *)script};
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = (char *)id;
    req.cmd = argv;
    req.n_cmd = 3;
    req.timeout = 60;
    crit_result r;
    Runtime__V1__ExecSyncResponse *resp = crit_call_ok(s->client, &s->daemon, RUNTIME("ExecSync"), &req.base,
                                                       &runtime__v1__exec_sync_response__descriptor, &r);
    if (out != NULL)
        snprintf(out, size, "%.*s%.*s", (int)resp->stdout.len, (const char *)resp->stdout.data, (int)resp->stderr.len,
                 (const char *)resp->stderr.data);
    int code = resp->exit_code;
    crit_result_clear(&r);
    return code;
}

Runtime__V1__ListContainersResponse *crit_ctr_list(crit_ctr_suite *s, const Runtime__V1__ContainerFilter *f,
                                                   crit_result *r)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    req.filter = (Runtime__V1__ContainerFilter *)f;
    return crit_call_ok(s->client, &s->daemon, RUNTIME("ListContainers"), &req.base,
                        &runtime__v1__list_containers_response__descriptor, r);
}

bool crit_ctr_listed(const Runtime__V1__ListContainersResponse *l, const char *id)
{
    for (size_t i = 0; i < l->n_containers; i++)
        if (strcmp(l->containers[i]->id, id) == 0)
            return true;
    return false;
}

/* ---- the CRI log ---- */

void crit_ctr_log_path(const crit_ctr_suite *s, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.log", s->log_dir, name);
}

char *crit_ctr_read_file(const char *path)
{
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

bool crit_ctr_log_has(const char *path, const char *stream, const char *text)
{
    char *all = crit_ctr_read_file(path);
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(all, "\n", &save); line != NULL && !found; line = strtok_r(NULL, "\n", &save)) {
        char ts[64], st[16], tag[4];
        int off = 0;
        if (sscanf(line, "%63s %15s %3s %n", ts, st, tag, &off) == 3 && strcmp(st, stream) == 0 &&
            strcmp(line + off, text) == 0 && strlen(ts) == 30 && ts[29] == 'Z')
            found = true;
    }
    free(all);
    return found;
}

void crit_ctr_wait_log(const char *path, const char *stream, const char *text, double seconds)
{
    double until = crit_ctr_now() + crit_ctr_seconds(seconds);
    while (!crit_ctr_log_has(path, stream, text) && crit_ctr_now() < until)
        usleep(50 * 1000);
    if (!crit_ctr_log_has(path, stream, text)) {
        char *all = crit_ctr_read_file(path);
        fail_msg("%s has no %s record \"%s\"; it holds:\n%s", path, stream, text, all);
        free(all);
    }
}

/* ---- the host ---- */

char *crit_ctr_cgroup_file(pid_t pid, const char *controller, const char *file)
{
    char path[512], line[512], *found = NULL;
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL && found == NULL) {
        char *a = strchr(line, ':'), *b = a != NULL ? strchr(a + 1, ':') : NULL;
        if (b == NULL)
            continue;
        *b = '\0';
        b[strcspn(b + 1, "\n") + 1] = '\0';
        if (strcmp(a + 1, controller) == 0) {
            snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/%s", controller, b + 1, file);
            found = crit_ctr_read_file(path);
        }
    }
    fclose(f);
    assert_non_null(found);
    return found;
}
