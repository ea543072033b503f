/*
 * Conformance over the wire for a configured pause image (pause.image): a
 * real daemon whose pods run their pause process from an image pulled from
 * the registry fixture (test/fixtures/registry.sh, which this suite starts
 * and stops). The fixture's cricket/pause:1 is busybox plus a marker layer,
 * running `sh -c "trap 'exit 0' TERM; sleep 1000000 & wait"` as nobody in
 * /tmp with PAUSE_FIXTURE=1 in its environment; what the pod runs is checked
 * from the host through the pause process's /proc entry. Network traffic
 * goes only to 127.0.0.1 and to the pods this test created.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"
#include "test/critest/pod_fixture.h"
#include "test/critest/registry_fixture.h"

static crit_daemon shared;
static crit_client *client;
static crit_pod_net net;
static char cgroup_parent[64];

/* A pods daemon whose pause.image is image on the plain fixture registry. */
static int prepare_daemon(crit_daemon *d, const char *image)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "registries:\n"
             "  hosts:\n"
             "    \"%s\": {insecure: true}\n"
             "pause:\n"
             "  image: %s/%s\n",
             crit_fx("PLAIN"), crit_fx("PLAIN"), image);
    return crit_daemon_prepare_pods(d, net.bridge, net.subnet, yaml);
}

static int start_shared(void **state)
{
    (void)state;
    if (crit_registry_start() < 0)
        return -1;
    crit_pod_net_init(&net, "ckp", 150);
    crit_pod_cgroup_parent(cgroup_parent, sizeof(cgroup_parent), "critest-pi");
    if (prepare_daemon(&shared, "cricket/pause:1") < 0)
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
    crit_registry_stop();
    return rc == 0 ? 0 : -1;
}

/* ---- calls ------------------------------------------------------------------------ */

static Runtime__V1__RunPodSandboxRequest *build(const char *name)
{
    static crit_pod_request pod;
    return crit_pod_request_init(&pod, name, cgroup_parent);
}

static char *run_pod(const char *name)
{
    return crit_pod_run(client, &shared, build(name));
}

/* The pod's record (verbose status) and state. */
static json_t *record_of(const char *id, int *state)
{
    crit_result r;
    json_t *rec;
    Runtime__V1__PodSandboxStatusResponse *s = crit_pod_status(client, &shared, id, &r, &rec);
    if (state != NULL)
        *state = s->status->state;
    crit_result_clear(&r);
    return rec;
}

static grpc_status_code remove_image(crit_client *c, const char *name, char *details, size_t size)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)name;
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    grpc_status_code code =
        crit_call(c, IMAGE("RemoveImage"), &req.base, &runtime__v1__remove_image_response__descriptor, 30000, &r);
    snprintf(details, size, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

/* ImageStatus: whether the image is here, and pinned. */
static bool image_present(crit_client *c, const crit_daemon *d, const char *name, bool *pinned)
{
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)name;
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = &spec;
    crit_result r;
    Runtime__V1__ImageStatusResponse *s =
        crit_call_ok(c, d, IMAGE("ImageStatus"), &req.base, &runtime__v1__image_status_response__descriptor, &r);
    bool here = s->image != NULL;
    if (here && pinned != NULL)
        *pinned = s->image->pinned;
    crit_result_clear(&r);
    return here;
}

/* ---- what the host sees ------------------------------------------------------------ */

static size_t read_bytes(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

static void assert_nothing_left(const crit_daemon *d)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/netns", d->state);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(crit_mounts_under(d->dir), 0);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->root);
    assert_int_equal(crit_dir_entries(dir), 0);
    snprintf(dir, sizeof(dir), "%s/sandboxes", d->state);
    assert_int_equal(crit_dir_entries(dir), 0);
}

static void wait_gone(pid_t pid)
{
    for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
        usleep(20 * 1000);
    assert_int_equal(kill(pid, 0), -1);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* The first pod pulls the pause image (pinned, so the kubelet's image GC
 * keeps it); the pause process is the image's command, with its
 * environment, user and workdir, on a read-only overlay of both layers. */
static void test_pod_runs_the_pause_image(void **state)
{
    (void)state;
    char image[600];
    snprintf(image, sizeof(image), "%s/cricket/pause:1", crit_fx("PLAIN"));
    assert_false(image_present(client, &shared, image, NULL));
    char *id = run_pod("imaged");
    bool pinned = false;
    assert_true(image_present(client, &shared, image, &pinned));
    assert_true(pinned);

    json_t *rec = record_of(id, NULL);
    assert_string_equal(json_string_value(json_object_get(rec, "image")), crit_fx("PAUSE_ID"));
    char rootfs[512];
    snprintf(rootfs, sizeof(rootfs), "%s/sandboxes/%s/rootfs", shared.root, id);
    assert_string_equal(json_string_value(json_object_get(rec, "rootfs")), rootfs);
    json_decref(rec);
    assert_int_equal(crit_mounts_under(rootfs), 1);

    pid_t pid = crit_pod_pause_pid(client, &shared, id);
    char path[128], buf[4096], exe[512];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    assert_string_equal(exe, "/bin/busybox");
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    size_t len = read_bytes(path, buf, sizeof(buf));
    const char want[] = "/bin/sh\0-c\0trap 'exit 0' TERM; sleep 1000000 & wait";
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    len = read_bytes(path, buf, sizeof(buf));
    bool found = false;
    for (size_t off = 0; off < len; off += strlen(buf + off) + 1)
        found |= strcmp(buf + off, "PAUSE_FIXTURE=1") == 0;
    assert_true(found);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    read_bytes(path, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\nUid:\t65534\t65534\t65534\t65534\n"));
    assert_non_null(strstr(buf, "\nGid:\t65534\t65534\t65534\t65534\n"));
    /* Both layers, seen from inside; the root is read-only there. */
    snprintf(path, sizeof(path), "/proc/%d/root/etc/pause-fixture", (int)pid);
    read_bytes(path, buf, sizeof(buf));
    assert_string_equal(buf, "layer two\n");
    snprintf(path, sizeof(path), "/proc/%d/root/bin/busybox", (int)pid);
    assert_int_equal(access(path, X_OK), 0);
    snprintf(path, sizeof(path), "/proc/%d/root/tmp/written", (int)pid);
    assert_int_equal(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
    assert_int_equal(errno, EROFS);
    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
    n = readlink(path, exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    assert_string_equal(exe, "/tmp");

    /* In use: the image cannot be removed under the pod. */
    char details[1024];
    assert_int_equal(remove_image(client, image, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    assert_non_null(strstr(details, "in use"));

    /* A second pod shares the pulled image, with its own mount. */
    char *id2 = run_pod("imaged-2");
    assert_int_equal(crit_mounts_under(rootfs), 1);
    char rootfs2[512];
    snprintf(rootfs2, sizeof(rootfs2), "%s/sandboxes/%s/rootfs", shared.root, id2);
    assert_int_equal(crit_mounts_under(rootfs2), 1);

    /* Stop: the pause process exits at SIGTERM and the mount goes. */
    crit_pod_stop(client, &shared, id);
    wait_gone(pid);
    assert_int_equal(crit_mounts_under(rootfs), 0);
    crit_pod_stop(client, &shared, id); /* idempotent */
    crit_pod_remove(client, &shared, id);
    free(id);
    crit_pod_remove(client, &shared, id2); /* remove without a stop first */
    assert_int_equal(crit_mounts_under(rootfs2), 0);
    free(id2);
    assert_nothing_left(&shared);
    /* Nothing uses the image now: it can go (and is pulled again later). */
    assert_int_equal(remove_image(client, image, details, sizeof(details)), GRPC_STATUS_OK);
    assert_false(image_present(client, &shared, image, NULL));
}

/* A kill -9 of the daemon leaves the pod and its mount; the restarted
 * daemon finds them (one mount, not two), keeps the image in use, and
 * stops and removes the pod cleanly. */
static void test_restart_keeps_the_mount(void **state)
{
    (void)state;
    char *id = run_pod("survivor");
    pid_t pid = crit_pod_pause_pid(client, &shared, id);
    char rootfs[512];
    snprintf(rootfs, sizeof(rootfs), "%s/sandboxes/%s/rootfs", shared.root, id);
    assert_int_equal(crit_mounts_under(rootfs), 1);
    crit_close(client);
    crit_daemon_kill(&shared);
    assert_int_equal(kill(pid, 0), 0);
    client = crit_daemon_start_and_connect(&shared);
    assert_non_null(client);
    int state_now = -1;
    json_decref(record_of(id, &state_now));
    assert_int_equal(state_now, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
    assert_int_equal(crit_pod_pause_pid(client, &shared, id), pid);
    assert_int_equal(crit_mounts_under(rootfs), 1);
    char image[600], details[1024];
    snprintf(image, sizeof(image), "%s/cricket/pause:1", crit_fx("PLAIN"));
    assert_int_equal(remove_image(client, image, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    crit_pod_stop(client, &shared, id);
    wait_gone(pid);
    assert_int_equal(crit_mounts_under(rootfs), 0);
    crit_pod_remove(client, &shared, id);
    free(id);
    assert_nothing_left(&shared);
}

/* A pause image the registry does not have: RunPodSandbox fails naming the
 * image and the registry's answer, and leaves nothing. */
static void test_missing_pause_image(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(prepare_daemon(&d, "cricket/no-such-pause:1"), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &build("unpullable")->base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r);
    assert_int_equal(code, GRPC_STATUS_NOT_FOUND);
    if (strstr(r.details, "pause image") == NULL || strstr(r.details, "cricket/no-such-pause:1") == NULL ||
        strstr(r.details, "manifest unknown") == NULL)
        fail_msg("unclear error: %s", r.details);
    crit_result_clear(&r);
    Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    Runtime__V1__ListPodSandboxResponse *l = crit_call_ok(c, &d, RUNTIME("ListPodSandbox"), &lreq.base,
                                                          &runtime__v1__list_pod_sandbox_response__descriptor, &r);
    assert_int_equal(l->n_items, 0);
    crit_result_clear(&r);
    assert_nothing_left(&d);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/layers", d.root);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
}

/* The image is pulled and mounted, then a later step fails: the user it
 * names does not exist, or its command does not (runc create fails). The
 * error says why and the mount is undone with everything else. */
static void broken_pause_image(const char *image, grpc_status_code want, const char *why)
{
    crit_daemon d;
    assert_int_equal(prepare_daemon(&d, image), 0);
    crit_client *c = crit_daemon_start_and_connect(&d);
    assert_non_null(c);
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &build("broken")->base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, 60000, &r);
    if (code != want || strstr(r.details, why) == NULL)
        fail_msg("%s: got %d \"%s\", want %d with \"%s\"", image, code, r.details, want, why);
    crit_result_clear(&r);
    assert_nothing_left(&d);
    char name[600];
    snprintf(name, sizeof(name), "%s/%s", crit_fx("PLAIN"), image);
    assert_true(image_present(c, &d, name, NULL)); /* pulled, and no longer in use */
    char details[1024];
    assert_int_equal(remove_image(c, name, details, sizeof(details)), GRPC_STATUS_OK);
    assert_int_equal(crit_daemon_teardown(&d, c, 15000), 0);
}

static void test_failure_after_mount_unmounts(void **state)
{
    (void)state;
    broken_pause_image("cricket/pause:ghost", GRPC_STATUS_INVALID_ARGUMENT,
                       "user \"ghost\" is not in the image's /etc/passwd");
    broken_pause_image("cricket/pause:noexec", GRPC_STATUS_INTERNAL, "/no/such/pause");
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "critest_pause_image: needs root (namespaces, mounts, CNI); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_runs_the_pause_image),
        cmocka_unit_test(test_restart_keeps_the_mount),
        cmocka_unit_test(test_missing_pause_image),
        cmocka_unit_test(test_failure_after_mount_unmounts),
    };
    grpc_init();
    int failed = cmocka_run_group_tests_name("critest_pause_image", tests, start_shared, stop_shared);
    grpc_shutdown();
    return failed;
}
