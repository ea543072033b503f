/*
 * critest_containers: the container lifecycle over the wire, as the kubelet
 * drives it: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, ReopenContainerLog,
 * the CRI log file, pods with containers, and a daemon killed with
 * containers running. Real containers (runc, the busybox image from the
 * registry fixture); nothing mocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/pod_fixture.h"
#include "test/critest/registry_fixture.h"

static crit_daemon shared;
static crit_client *client;
static crit_pod_net net;
static char cgroup_parent[64];
static char log_dir[256];
static char image[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double time_scale(void)
{
    return getenv("CRICKET_WRAPPER") != NULL ? 10.0 : 1.0;
}

static void pull(const char *name)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)name;
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    crit_call_ok(client, &shared, IMAGE("PullImage"), &req.base, &runtime__v1__pull_image_response__descriptor, &r);
    crit_result_clear(&r);
}

static int start_shared(void **state)
{
    (void)state;
    if (crit_registry_start() < 0)
        return -1;
    crit_pod_net_init(&net, "ckt", 200);
    crit_pod_cgroup_parent(cgroup_parent, sizeof(cgroup_parent), "critest-ct");
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "registries:\n  hosts:\n    \"%s\": {insecure: true}\n", crit_fx("PLAIN"));
    if (crit_daemon_prepare_pods(&shared, net.bridge, net.subnet, yaml) < 0)
        return -1;
    client = crit_daemon_start_and_connect(&shared);
    if (client == NULL)
        return -1;
    snprintf(log_dir, sizeof(log_dir), "%s/podlogs", shared.dir);
    mkdir(log_dir, 0755);
    snprintf(image, sizeof(image), "%s/library/busybox:latest", crit_fx("PLAIN"));
    pull(image);
    return 0;
}

static int stop_shared(void **state)
{
    (void)state;
    int rc = crit_daemon_teardown(&shared, client, 30000);
    crit_pod_net_remove(&net);
    crit_pod_cgroup_parent_remove(cgroup_parent);
    crit_registry_stop();
    return rc == 0 ? 0 : -1;
}

/* ---- requests ------------------------------------------------------------------ */

static char *run_pod(const char *name)
{
    static crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, name, cgroup_parent);
    pod.config.log_directory = log_dir;
    return crit_pod_run(client, &shared, req);
}

/* One container request; the strings must outlive the call. */
typedef struct ctr_request {
    Runtime__V1__CreateContainerRequest req;
    Runtime__V1__ContainerConfig config;
    Runtime__V1__ContainerMetadata metadata;
    Runtime__V1__ImageSpec image;
    Runtime__V1__LinuxContainerConfig linux_config;
    Runtime__V1__PodSandboxConfig pod_config;
    char *command[8];
    Runtime__V1__KeyValue env[4];
    Runtime__V1__KeyValue *envs[4];
    Runtime__V1__ContainerConfig__LabelsEntry label;
    Runtime__V1__ContainerConfig__LabelsEntry *labels[1];
    char log_path[128];
} ctr_request;

/* A container named name running `sh -c script` (NULL: the image's
 * command), logging to <name>.log in the pod's log directory. */
static Runtime__V1__CreateContainerRequest *ctr_init(ctr_request *c, const char *pod_id, const char *name,
                                                     const char *script)
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
    c->image.image = image;
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

static void ctr_env(ctr_request *c, const char *key, const char *value)
{
    size_t i = c->config.n_envs;
    runtime__v1__key_value__init(&c->env[i]);
    c->env[i].key = (char *)key;
    c->env[i].value = (ProtobufCBinaryData){strlen(value), (uint8_t *)value};
    c->envs[i] = &c->env[i];
    c->config.envs = c->envs;
    c->config.n_envs = i + 1;
}

static void ctr_label(ctr_request *c, const char *key, const char *value)
{
    runtime__v1__container_config__labels_entry__init(&c->label);
    c->label.key = (char *)key;
    c->label.value = (char *)value;
    c->labels[0] = &c->label;
    c->config.labels = c->labels;
    c->config.n_labels = 1;
}

static grpc_status_code create_code(const Runtime__V1__CreateContainerRequest *req, char *id, char *details,
                                    size_t size)
{
    crit_result r;
    grpc_status_code code = crit_call(client, RUNTIME("CreateContainer"), &req->base,
                                      &runtime__v1__create_container_response__descriptor, 60000, &r);
    if (code == GRPC_STATUS_OK && id != NULL)
        snprintf(id, 65, "%s", ((Runtime__V1__CreateContainerResponse *)r.response)->container_id);
    if (details != NULL)
        snprintf(details, size, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

static char *create(const Runtime__V1__CreateContainerRequest *req)
{
    crit_result r;
    Runtime__V1__CreateContainerResponse *resp = crit_call_ok(client, &shared, RUNTIME("CreateContainer"), &req->base,
                                                              &runtime__v1__create_container_response__descriptor, &r);
    char *id = strdup(resp->container_id);
    crit_result_clear(&r);
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

static grpc_status_code simple(const char *rpc, const ProtobufCMessage *req, char *details, size_t size)
{
    char method[128];
    snprintf(method, sizeof(method), "/runtime.v1.RuntimeService/%s", rpc);
    crit_result r;
    grpc_status_code code = crit_call(client, method, req, empty_response_of(rpc), 120000, &r);
    if (details != NULL)
        snprintf(details, size, "%s", r.details);
    if (code != GRPC_STATUS_OK && details == NULL) {
        crit_daemon_dump_log(&shared);
        fail_msg("%s: status %d: %s", rpc, code, r.details);
    }
    crit_result_clear(&r);
    return code;
}

static grpc_status_code start_code(const char *id, char *details, size_t size)
{
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    return simple("StartContainer", &req.base, details, size);
}

static void start(const char *id)
{
    start_code(id, NULL, 0);
}

static grpc_status_code stop_code(const char *id, int64_t timeout, char *details, size_t size)
{
    Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    req.timeout = timeout;
    return simple("StopContainer", &req.base, details, size);
}

static grpc_status_code remove_code(const char *id, char *details, size_t size)
{
    Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    return simple("RemoveContainer", &req.base, details, size);
}

static grpc_status_code reopen_code(const char *id, char *details, size_t size)
{
    Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
    req.container_id = (char *)id;
    return simple("ReopenContainerLog", &req.base, details, size);
}

static Runtime__V1__ContainerStatus *status(const char *id, bool verbose, crit_result *r)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = (char *)id;
    req.verbose = verbose;
    Runtime__V1__ContainerStatusResponse *resp = crit_call_ok(client, &shared, RUNTIME("ContainerStatus"), &req.base,
                                                              &runtime__v1__container_status_response__descriptor, r);
    assert_non_null(resp->status);
    return resp->status;
}

static int state_of(const char *id)
{
    crit_result r;
    int st = (int)status(id, false, &r)->state;
    crit_result_clear(&r);
    return st;
}

/* Waits up to seconds for the container to reach state. */
static void wait_state(const char *id, int want, double seconds)
{
    double until = now_s() + seconds * time_scale();
    int st = state_of(id);
    while (st != want && now_s() < until) {
        usleep(50 * 1000);
        st = state_of(id);
    }
    if (st != want) {
        crit_daemon_dump_log(&shared);
        fail_msg("container %.12s: state %d, want %d after %.0f s", id, st, want, seconds);
    }
}

static Runtime__V1__ListContainersResponse *list(const Runtime__V1__ContainerFilter *f, crit_result *r)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    req.filter = (Runtime__V1__ContainerFilter *)f;
    return crit_call_ok(client, &shared, RUNTIME("ListContainers"), &req.base,
                        &runtime__v1__list_containers_response__descriptor, r);
}

static bool listed(const Runtime__V1__ListContainersResponse *l, const char *id)
{
    for (size_t i = 0; i < l->n_containers; i++)
        if (strcmp(l->containers[i]->id, id) == 0)
            return true;
    return false;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return strdup("");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* True when the CRI log at path holds a record of stream with exactly text. */
static bool log_has(const char *path, const char *stream, const char *text)
{
    char *all = read_file(path);
    bool found = false;
    for (char *line = strtok(all, "\n"); line != NULL && !found; line = strtok(NULL, "\n")) {
        char ts[64], st[16], tag[4];
        int off = 0;
        if (sscanf(line, "%63s %15s %3s %n", ts, st, tag, &off) == 3 && strcmp(st, stream) == 0 &&
            strcmp(line + off, text) == 0 && strlen(ts) == 30 && ts[29] == 'Z')
            found = true;
    }
    free(all);
    return found;
}

static void wait_log(const char *path, const char *stream, const char *text, double seconds)
{
    double until = now_s() + seconds * time_scale();
    while (!log_has(path, stream, text) && now_s() < until)
        usleep(50 * 1000);
    if (!log_has(path, stream, text)) {
        char *all = read_file(path);
        fail_msg("%s has no %s record \"%s\"; it holds:\n%s", path, stream, text, all);
    }
}

static void cleanup_pod(const char *pod)
{
    crit_pod_stop(client, &shared, pod);
    crit_pod_remove(client, &shared, pod);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_run_to_completion_with_logs(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-complete");
    ctr_request c;
    char *id = create(ctr_init(&c, pod, "complete", "echo hello World; echo oops >&2; printf part; exit 3"));
    crit_result r;
    Runtime__V1__ContainerStatus *s = status(id, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    assert_true(s->created_at > 0);
    assert_int_equal(s->started_at, 0);
    assert_string_equal(s->image->image, image);
    assert_true(strncmp(s->image_ref, "sha256:", 7) == 0 || strchr(s->image_ref, '@') != NULL);
    assert_string_equal(s->metadata->name, "complete");
    assert_int_equal(s->metadata->attempt, 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/complete.log", log_dir);
    assert_string_equal(s->log_path, path);
    crit_result_clear(&r);
    /* critest reads the log right after StartContainer: it exists already. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    start(id);
    wait_state(id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    s = status(id, false, &r);
    assert_int_equal(s->exit_code, 3);
    assert_string_equal(s->reason, "Error");
    assert_true(s->started_at >= s->created_at);
    assert_true(s->finished_at >= s->started_at);
    crit_result_clear(&r);
    wait_log(path, "stdout", "hello World", 10);
    wait_log(path, "stderr", "oops", 10);
    wait_log(path, "stdout", "part", 10);

    ctr_request ok;
    char *id2 = create(ctr_init(&ok, pod, "completes", "true"));
    start(id2);
    wait_state(id2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    s = status(id2, false, &r);
    assert_int_equal(s->exit_code, 0);
    assert_string_equal(s->reason, "Completed");
    crit_result_clear(&r);
    cleanup_pod(pod);
    free(id);
    free(id2);
    free(pod);
}

/* A process that is not root reads the image's files: the overlay's root
 * is 0755 (a 0700 upper dir made every non-root container fail). */
static void test_non_root_reads_its_rootfs(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-nobody");
    ctr_request c;
    ctr_init(&c, pod, "nobody", "id -u; ls /etc/passwd");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
    uid.value = 65534;
    sec.run_as_user = &uid;
    c.linux_config.security_context = &sec;
    char *id = create(&c.req);
    start(id);
    wait_state(id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char path[512];
    snprintf(path, sizeof(path), "%s/nobody.log", log_dir);
    wait_log(path, "stdout", "65534", 10);
    wait_log(path, "stdout", "/etc/passwd", 10);
    crit_result r;
    Runtime__V1__ContainerStatus *s = status(id, false, &r);
    assert_int_equal(s->exit_code, 0);
    assert_int_equal(s->user->linux->uid, 65534);
    crit_result_clear(&r);
    cleanup_pod(pod);
    free(id);
    free(pod);
}

static void test_env_args_and_workdir(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-env");
    ctr_request c;
    ctr_init(&c, pod, "env", "echo \"$FOO $PATH\"; pwd; echo \"$@\"");
    ctr_env(&c, "FOO", "bar baz");
    char *args[] = {"x", "one", "two"};
    c.config.args = args;
    c.config.n_args = 3;
    c.config.working_dir = "/etc";
    char *id = create(&c.req);
    start(id);
    wait_state(id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char path[512];
    snprintf(path, sizeof(path), "%s/env.log", log_dir);
    /* The image's PATH stays; the CRI's FOO is added. */
    wait_log(path, "stdout", "bar baz /bin", 10);
    wait_log(path, "stdout", "/etc", 10);
    wait_log(path, "stdout", "one two", 10);

    /* Without a command the image's Cmd runs: sh, which ends at once on
     * its closed stdin. */
    ctr_request img;
    char *id2 = create(ctr_init(&img, pod, "image-cmd", NULL));
    start(id2);
    wait_state(id2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    crit_result r;
    assert_int_equal(status(id2, false, &r)->exit_code, 0);
    crit_result_clear(&r);
    cleanup_pod(pod);
    free(id);
    free(id2);
    free(pod);
}

static void test_stop_waits_then_kills(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-stop");
    ctr_request a, b;
    char *polite = create(ctr_init(&a, pod, "polite", "trap 'exit 0' TERM; while true; do sleep 0.1; done"));
    char *stubborn = create(ctr_init(&b, pod, "stubborn", "trap '' TERM; while true; do sleep 0.1; done"));
    start(polite);
    start(stubborn);
    wait_state(polite, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10);
    crit_result r;
    Runtime__V1__ContainerStatus *s = status(polite, true, &r);
    assert_true(s->started_at > 0);
    Runtime__V1__ContainerStatusResponse *resp = (Runtime__V1__ContainerStatusResponse *)r.response;
    assert_int_equal(resp->n_info, 1);
    json_t *info = json_loads(resp->info[0]->value, 0, NULL);
    assert_non_null(info);
    assert_true(json_integer_value(json_object_get(info, "pid")) > 0);
    assert_non_null(json_object_get(json_object_get(info, "runtimeSpec"), "process"));
    json_decref(info);
    crit_result_clear(&r);

    double t0 = now_s();
    stop_code(polite, 60, NULL, 0);
    assert_true(now_s() - t0 < 10 * time_scale());
    assert_int_equal(state_of(polite), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    s = status(polite, false, &r);
    assert_int_equal(s->exit_code, 0);
    crit_result_clear(&r);

    t0 = now_s();
    stop_code(stubborn, 2, NULL, 0);
    double took = now_s() - t0;
    assert_true(took >= 1.9);
    assert_true(took < 10 * time_scale());
    s = status(stubborn, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 137);
    assert_string_equal(s->reason, "Error");
    crit_result_clear(&r);

    /* Idempotent: again, and for ids nobody knows. */
    assert_int_equal(stop_code(stubborn, 0, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(stop_code("0123456789abcdef", 0, NULL, 0), GRPC_STATUS_OK);
    cleanup_pod(pod);
    free(polite);
    free(stubborn);
    free(pod);
}

static void test_remove_in_every_state(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-remove");
    ctr_request a, b, c;
    char *created = create(ctr_init(&a, pod, "created", "sleep 1000"));
    char *running = create(ctr_init(&b, pod, "running", "sleep 1000"));
    char *exited = create(ctr_init(&c, pod, "exited", "true"));
    start(running);
    start(exited);
    wait_state(exited, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char rootfs[512];
    snprintf(rootfs, sizeof(rootfs), "%s/containers/%s/rootfs", shared.root, running);
    assert_int_equal(crit_mounts_under(rootfs), 1);
    const char *ids[] = {created, running, exited};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(remove_code(ids[i], NULL, 0), GRPC_STATUS_OK);
        assert_int_equal(remove_code(ids[i], NULL, 0), GRPC_STATUS_OK); /* idempotent */
        crit_result r;
        Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
        req.container_id = (char *)ids[i];
        assert_int_equal(crit_call(client, RUNTIME("ContainerStatus"), &req.base,
                                   &runtime__v1__container_status_response__descriptor, 10000, &r),
                         GRPC_STATUS_NOT_FOUND);
        crit_result_clear(&r);
    }
    assert_int_equal(crit_mounts_under(rootfs), 0);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/containers", shared.root);
    assert_int_equal(crit_dir_entries(dir), 0);
    snprintf(dir, sizeof(dir), "%s/containers", shared.state);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(remove_code("0123456789abcdef0123", NULL, 0), GRPC_STATUS_OK);
    cleanup_pod(pod);
    free(created);
    free(running);
    free(exited);
    free(pod);
}

static void test_bad_requests(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-bad");
    char details[1024];
    ctr_request c;
    ctr_init(&c, pod, "noimage", "true");
    c.image.image = "127.0.0.1:1/nothing/here:1";
    assert_int_equal(create_code(&c.req, NULL, details, sizeof(details)), GRPC_STATUS_NOT_FOUND);
    assert_non_null(strstr(details, "nothing/here"));

    ctr_init(&c, "ffffffffffffffffffff", "nopod", "true");
    assert_int_equal(create_code(&c.req, NULL, details, sizeof(details)), GRPC_STATUS_NOT_FOUND);

    ctr_init(&c, pod, "nometa", "true");
    c.config.metadata = NULL;
    assert_int_equal(create_code(&c.req, NULL, details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);

    assert_int_equal(start_code("ffffffffffffffffff", details, sizeof(details)), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(start_code("", details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);

    /* Started twice: the second is refused, the container unharmed. */
    char *id = create(ctr_init(&c, pod, "twice", "sleep 1000"));
    start(id);
    assert_int_equal(start_code(id, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(state_of(id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

    /* A stopped pod takes no new container. */
    crit_pod_stop(client, &shared, pod);
    assert_int_equal(state_of(id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    ctr_init(&c, pod, "late", "true");
    assert_int_equal(create_code(&c.req, NULL, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    crit_pod_remove(client, &shared, pod);
    free(id);
    free(pod);
}

static void test_retry_gets_same_container(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-retry");
    ctr_request c;
    char *a = create(ctr_init(&c, pod, "retried", "sleep 1000"));
    char *b = create(&c.req);
    assert_string_equal(a, b);
    start(a);
    /* Once it runs the name is taken: a new attempt must be asked for. */
    char details[1024];
    assert_int_equal(create_code(&c.req, NULL, details, sizeof(details)), GRPC_STATUS_ALREADY_EXISTS);
    c.metadata.attempt = 3;
    char *d = create(&c.req);
    assert_string_not_equal(a, d);
    cleanup_pod(pod);
    free(a);
    free(b);
    free(d);
    free(pod);
}

static void test_list_filters(void **state)
{
    (void)state;
    char *pod1 = run_pod("ctr-list1");
    char *pod2 = run_pod("ctr-list2");
    ctr_request a, b, c;
    ctr_init(&a, pod1, "one", "sleep 1000");
    ctr_label(&a, "app", "web");
    char *one = create(&a.req);
    char *two = create(ctr_init(&b, pod1, "two", "sleep 1000"));
    char *three = create(ctr_init(&c, pod2, "three", "sleep 1000"));
    start(one);

    crit_result r;
    Runtime__V1__ListContainersResponse *l = list(NULL, &r);
    assert_true(listed(l, one) && listed(l, two) && listed(l, three));
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    f.pod_sandbox_id = pod1;
    l = list(&f, &r);
    assert_int_equal(l->n_containers, 2);
    assert_true(listed(l, one) && listed(l, two));
    assert_string_equal(l->containers[0]->pod_sandbox_id, pod1);
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter fs = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    fs.state = &sv;
    l = list(&fs, &r);
    assert_true(listed(l, one) && !listed(l, two) && !listed(l, three));
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter fl = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerFilter__LabelSelectorEntry sel = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "app";
    sel.value = "web";
    Runtime__V1__ContainerFilter__LabelSelectorEntry *sels[] = {&sel};
    fl.label_selector = sels;
    fl.n_label_selector = 1;
    l = list(&fl, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, one);
    assert_int_equal(l->containers[0]->n_labels, 1);
    crit_result_clear(&r);
    sel.value = "db";
    l = list(&fl, &r);
    assert_int_equal(l->n_containers, 0);
    crit_result_clear(&r);

    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%.12s", three);
    Runtime__V1__ContainerFilter fi = RUNTIME__V1__CONTAINER_FILTER__INIT;
    fi.id = prefix;
    l = list(&fi, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, three);
    crit_result_clear(&r);
    cleanup_pod(pod1);
    cleanup_pod(pod2);
    free(one);
    free(two);
    free(three);
    free(pod1);
    free(pod2);
}

static void test_reopen_log(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-reopen");
    ctr_request c;
    char *id = create(ctr_init(&c, pod, "chatty", "while true; do echo hello World; sleep 0.2; done"));
    start(id);
    char path[512], moved[600];
    snprintf(path, sizeof(path), "%s/chatty.log", log_dir);
    snprintf(moved, sizeof(moved), "%s.new", path);
    wait_log(path, "stdout", "hello World", 10);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(reopen_code(id, NULL, 0), GRPC_STATUS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* there when the call returns */
    wait_log(path, "stdout", "hello World", 10);
    struct stat a, b;
    assert_int_equal(stat(moved, &a), 0);
    usleep(600 * 1000);
    assert_int_equal(stat(moved, &b), 0);
    assert_int_equal(a.st_size, b.st_size); /* nothing goes to the old file */

    stop_code(id, 0, NULL, 0);
    char details[1024];
    assert_int_equal(reopen_code(id, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    cleanup_pod(pod);
    free(id);
    free(pod);
}

static void test_pod_stop_and_remove_take_containers(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-pod");
    ctr_request a, b;
    char *one = create(ctr_init(&a, pod, "one", "sleep 1000"));
    char *two = create(ctr_init(&b, pod, "two", "trap '' TERM; sleep 1000"));
    start(one);
    start(two);
    crit_pod_stop(client, &shared, pod);
    assert_int_equal(state_of(one), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(state_of(two), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    crit_pod_remove(client, &shared, pod);
    crit_result r;
    Runtime__V1__ListContainersResponse *l = list(NULL, &r);
    assert_false(listed(l, one) || listed(l, two));
    crit_result_clear(&r);
    crit_pod_assert_nothing_left(&shared, &net, cgroup_parent);
    free(one);
    free(two);
    free(pod);
}

/* ExecSync of argv; the response stays in r. */
static grpc_status_code exec_sync(const char *id, const char *const *argv, int64_t timeout, crit_result *r)
{
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = (char *)id;
    size_t n = 0;
    while (argv[n] != NULL)
        n++;
    req.cmd = (char **)argv;
    req.n_cmd = n;
    req.timeout = timeout;
    return crit_call(client, RUNTIME("ExecSync"), &req.base, &runtime__v1__exec_sync_response__descriptor, 120000, r);
}

static void assert_output(const ProtobufCBinaryData *b, const char *want, size_t len)
{
    assert_int_equal(b->len, len);
    if (len > 0)
        assert_memory_equal(b->data, want, len);
}

static void test_exec_sync(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-exec");
    ctr_request c;
    char *id = create(ctr_init(&c, pod, "exec", "sleep 1000"));
    start(id);
    crit_result r;
    const char *echo[] = {"echo", "-n", "hello", NULL};
    assert_int_equal(exec_sync(id, echo, 30, &r), GRPC_STATUS_OK);
    Runtime__V1__ExecSyncResponse *e = (Runtime__V1__ExecSyncResponse *)r.response;
    assert_output(&e->stdout, "hello", 5);
    assert_output(&e->stderr, "", 0);
    assert_int_equal(e->exit_code, 0);
    crit_result_clear(&r);

    const char *mixed[] = {"sh", "-c", "printf 'a\\0b'; echo err >&2; exit 3", NULL};
    assert_int_equal(exec_sync(id, mixed, 30, &r), GRPC_STATUS_OK);
    e = (Runtime__V1__ExecSyncResponse *)r.response;
    assert_output(&e->stdout, "a\0b", 3);
    assert_output(&e->stderr, "err\n", 4);
    assert_int_equal(e->exit_code, 3);
    crit_result_clear(&r);

    /* The timeout is ours to enforce, and what timed out is gone when the
     * call returns. */
    const char *sleeper[] = {"sleep", "4321", NULL};
    double t0 = now_s();
    assert_int_equal(exec_sync(id, sleeper, 1, &r), GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_true(now_s() - t0 < 5 * time_scale());
    crit_result_clear(&r);
    const char *look[] = {"sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", NULL};
    assert_int_equal(exec_sync(id, look, 30, &r), GRPC_STATUS_OK);
    e = (Runtime__V1__ExecSyncResponse *)r.response;
    /* Not strndup: the bytes hold no NUL, and ASan checks strndup's
     * source as a whole string. */
    char *seen = calloc(1, e->stdout.len + 1);
    assert_non_null(seen);
    if (e->stdout.len > 0)
        memcpy(seen, e->stdout.data, e->stdout.len);
    assert_null(strstr(seen, "4321"));
    assert_non_null(strstr(seen, "sleep 1000"));
    free(seen);
    crit_result_clear(&r);

    const char *missing[] = {"/no/such/binary", NULL};
    assert_int_not_equal(exec_sync(id, missing, 30, &r), GRPC_STATUS_OK);
    crit_result_clear(&r);
    const char *none[] = {NULL};
    assert_int_equal(exec_sync(id, none, 30, &r), GRPC_STATUS_INVALID_ARGUMENT);
    crit_result_clear(&r);

    stop_code(id, 0, NULL, 0);
    assert_int_equal(exec_sync(id, echo, 30, &r), GRPC_STATUS_FAILED_PRECONDITION);
    crit_result_clear(&r);
    assert_int_equal(exec_sync("ffffffffffffffff", echo, 30, &r), GRPC_STATUS_NOT_FOUND);
    crit_result_clear(&r);
    cleanup_pod(pod);
    free(id);
    free(pod);
}

static int pid_of(const char *id)
{
    crit_result r;
    status(id, true, &r);
    Runtime__V1__ContainerStatusResponse *resp = (Runtime__V1__ContainerStatusResponse *)r.response;
    json_t *info = json_loads(resp->info[0]->value, 0, NULL);
    int pid = (int)json_integer_value(json_object_get(info, "pid"));
    json_decref(info);
    crit_result_clear(&r);
    return pid;
}

/* A v1 controller's file of pid's cgroup, as text. */
static char *cgroup_file(int pid, const char *controller, const char *file)
{
    char path[512], line[512], *found = NULL;
    snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
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
            found = read_file(path);
        }
    }
    fclose(f);
    assert_non_null(found);
    return found;
}

static void test_resources_in_the_cgroup(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-res");
    ctr_request c;
    ctr_init(&c, pod, "limited", "sleep 1000");
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = 32 << 20;
    res.cpu_shares = 256;
    c.linux_config.resources = &res;
    char *id = create(&c.req);
    start(id);
    int pid = pid_of(id);
    assert_true(pid > 0);
    char *limit = cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "33554432\n");
    free(limit);
    char *shares = cgroup_file(pid, "cpu", "cpu.shares");
    assert_string_equal(shares, "256\n");
    free(shares);

    Runtime__V1__LinuxContainerResources upd = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    upd.memory_limit_in_bytes = 64 << 20;
    upd.cpu_shares = 512;
    Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
    req.container_id = id;
    req.linux = &upd;
    crit_result r;
    crit_call_ok(client, &shared, RUNTIME("UpdateContainerResources"), &req.base,
                 &runtime__v1__update_container_resources_response__descriptor, &r);
    crit_result_clear(&r);
    limit = cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "67108864\n");
    free(limit);
    shares = cgroup_file(pid, "cpu", "cpu.shares");
    assert_string_equal(shares, "512\n");
    free(shares);
    Runtime__V1__ContainerStatusResponse *resp_status = NULL;
    Runtime__V1__ContainerStatus *s = status(id, false, &r);
    assert_non_null(s->resources);
    assert_int_equal(s->resources->linux->memory_limit_in_bytes, 64 << 20);
    assert_int_equal(s->resources->linux->cpu_shares, 512);
    crit_result_clear(&r);

    /* A partial update keeps the rest (containerd's rule: 0 = unchanged). */
    Runtime__V1__LinuxContainerResources quota = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    quota.cpu_quota = 30000;
    quota.cpu_period = 100000;
    req.linux = &quota;
    crit_call_ok(client, &shared, RUNTIME("UpdateContainerResources"), &req.base,
                 &runtime__v1__update_container_resources_response__descriptor, &r);
    crit_result_clear(&r);
    s = status(id, false, &r);
    assert_int_equal(s->resources->linux->memory_limit_in_bytes, 64 << 20);
    assert_int_equal(s->resources->linux->cpu_quota, 30000);
    crit_result_clear(&r);

    /* A limit the kernel refuses (below what the container uses) changes
     * nothing: not the cgroup, not the status, not the spec. */
    Runtime__V1__LinuxContainerResources tiny = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    tiny.memory_limit_in_bytes = 4096;
    req.linux = &tiny;
    assert_int_not_equal(crit_call(client, RUNTIME("UpdateContainerResources"), &req.base,
                                   &runtime__v1__update_container_resources_response__descriptor, 30000, &r),
                         GRPC_STATUS_OK);
    crit_result_clear(&r);
    limit = cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "67108864\n");
    free(limit);
    status(id, true, &r);
    resp_status = (Runtime__V1__ContainerStatusResponse *)r.response;
    assert_int_equal(resp_status->status->resources->linux->memory_limit_in_bytes, 64 << 20);
    json_t *info = json_loads(resp_status->info[0]->value, 0, NULL);
    json_t *mem = json_object_get(
        json_object_get(json_object_get(json_object_get(info, "runtimeSpec"), "linux"), "resources"), "memory");
    assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 64 << 20);
    json_decref(info);
    crit_result_clear(&r);
    req.linux = &upd;

    stop_code(id, 0, NULL, 0);
    assert_int_not_equal(crit_call(client, RUNTIME("UpdateContainerResources"), &req.base,
                                   &runtime__v1__update_container_resources_response__descriptor, 30000, &r),
                         GRPC_STATUS_OK);
    crit_result_clear(&r);
    cleanup_pod(pod);
    free(id);
    free(pod);
}

/* The next event of the stream for container id (others are skipped);
 * NULL after seconds. Free it with protobuf_c_message_free_unpacked. */
static Runtime__V1__ContainerEventResponse *next_event(crit_stream *s, const char *id, double seconds)
{
    double until = now_s() + seconds * time_scale();
    while (now_s() < until) {
        ProtobufCMessage *msg = NULL;
        int got = crit_stream_next(s, &runtime__v1__container_event_response__descriptor, 200, &msg);
        if (got < 0)
            return NULL;
        if (got == 0)
            continue;
        Runtime__V1__ContainerEventResponse *ev = (Runtime__V1__ContainerEventResponse *)msg;
        if (strcmp(ev->container_id, id) == 0)
            return ev;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    return NULL;
}

static void expect_event(crit_stream *s, const char *id, const char *pod, Runtime__V1__ContainerEventType type,
                         int state)
{
    Runtime__V1__ContainerEventResponse *ev = next_event(s, id, 15);
    if (ev == NULL) {
        fail_msg("no event %d for container %.12s", type, id);
        return;
    }
    assert_int_equal(ev->container_event_type, type);
    assert_true(ev->created_at > 0);
    assert_non_null(ev->pod_sandbox_status);
    assert_string_equal(ev->pod_sandbox_status->id, pod);
    bool seen = false;
    for (size_t i = 0; i < ev->n_containers_statuses; i++)
        if (strcmp(ev->containers_statuses[i]->id, id) == 0) {
            seen = true;
            assert_int_equal(ev->containers_statuses[i]->state, state);
        }
    assert_true(seen == (state >= 0));
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* Events come as things happen, with the pod's status and its containers'
 * statuses; an exit is told without anyone asking for a status. */
static void test_events(void **state)
{
    (void)state;
    char *pod = run_pod("ctr-events");
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    crit_stream *s = crit_stream_open(client, RUNTIME("GetContainerEvents"), &req.base, 120000);
    assert_non_null(s);
    usleep(200 * 1000);
    ctr_request c;
    char *id = create(ctr_init(&c, pod, "eventful", "sleep 1"));
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    start(id);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(remove_code(id, NULL, 0), GRPC_STATUS_OK);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT, -1);
    crit_stream_cancel(s);
    char details[256];
    crit_stream_finish(s, 5000, details, sizeof(details));
    crit_stream_free(s);
    cleanup_pod(pod);
    free(id);
    free(pod);
}

static void restart_shared(void)
{
    crit_close(client);
    assert_int_equal(crit_daemon_start(&shared), 0);
    client = crit_connect(shared.socket);
    assert_non_null(client);
}

static void test_kill_9_keeps_containers(void **state)
{
    (void)state;
    enum { N = 20 };
    char *pod = run_pod("ctr-kill");
    ctr_request c[N];
    char *ids[N];
    char name[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof(name[i]), "c%d", i);
        ids[i] = create(ctr_init(&c[i], pod, name[i], i == 0 ? "sleep 1; exit 7" : "sleep 1000"));
        start(ids[i]);
    }
    crit_daemon_kill(&shared);
    sleep(2); /* the first exits while nobody listens */
    restart_shared();
    crit_result r;
    Runtime__V1__ListContainersResponse *l = list(NULL, &r);
    for (int i = 0; i < N; i++)
        assert_true(listed(l, ids[i]));
    crit_result_clear(&r);
    Runtime__V1__ContainerStatus *s = status(ids[0], false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 7);
    crit_result_clear(&r);
    for (int i = 1; i < N; i++)
        assert_int_equal(state_of(ids[i]), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    /* Still fully managed: they stop and go. */
    assert_int_equal(stop_code(ids[1], 0, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(state_of(ids[1]), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    cleanup_pod(pod);
    crit_pod_assert_nothing_left(&shared, &net, cgroup_parent);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(pod);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_to_completion_with_logs),
        cmocka_unit_test(test_env_args_and_workdir),
        cmocka_unit_test(test_non_root_reads_its_rootfs),
        cmocka_unit_test(test_stop_waits_then_kills),
        cmocka_unit_test(test_remove_in_every_state),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_retry_gets_same_container),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_reopen_log),
        cmocka_unit_test(test_exec_sync),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_resources_in_the_cgroup),
        cmocka_unit_test(test_pod_stop_and_remove_take_containers),
        cmocka_unit_test(test_kill_9_keeps_containers),
    };
    int failed = cmocka_run_group_tests_name("critest_containers", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
