/*
 * The pause spec and cgroup paths (oci/spec.c), an image's USER resolved in
 * its rootfs (oci/user.c), and the CNI pieces that need no plugin run:
 * bandwidth quantities and IPs from a saved attachment.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cgroup.h"
#include "common/fs.h"
#include "common/spawn.h"
#include "netcni/cni.h"
#include "oci/spec.h"
#include "oci/user.h"

static void expect_path(ck_cgroup_driver d, const char *parent, const char *want)
{
    char buf[256];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_cgroups_path(d, parent, "abc", buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, want);
}

static void expect_bad_parent(ck_cgroup_driver d, const char *parent, const char *msg)
{
    char buf[256];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_cgroups_path(d, parent, "abc", buf, sizeof(buf), &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, msg));
}

/* Makes dir (under a cgroup hierarchy) and those above it. */
static void make_cgroup(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *slash = '/';
    }
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Where the cgroup of a cgroupsPath we give runc is, found without a
 * process in it: cgroupfs paths from the hierarchy's root, systemd slices
 * expanded as systemd places them (a-b.slice in a.slice) with the scope
 * prefix-name.scope. */
static void test_cgroup_dir_of_cgroups_path(void **state)
{
    (void)state;
    const char *controller = "memory", *root = "/sys/fs/cgroup/memory";
    if (access(root, F_OK) < 0) {
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
            skip();
        controller = "";
        root = "/sys/fs/cgroup";
    }
    char path[256], dir[512], want[512];
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_cgroups_path(CK_CGROUP_SYSTEMD, "cktest-a-b.slice", "abc", path, sizeof(path), &err), 0);
    assert_false(ck_cgroup_dir_of_path(path, controller, dir, sizeof(dir))); /* not made yet */
    snprintf(want, sizeof(want), "%s/cktest.slice/cktest-a.slice/cktest-a-b.slice/cricket-abc.scope", root);
    make_cgroup(want);
    bool found = ck_cgroup_dir_of_path(path, controller, dir, sizeof(dir));
    assert_int_equal(ck_oci_cgroups_path(CK_CGROUP_CGROUPFS, "/cktest-fs", "abc", path, sizeof(path), &err), 0);
    char fs_want[512], fs_dir[512];
    snprintf(fs_want, sizeof(fs_want), "%s/cktest-fs/cricket-abc", root);
    make_cgroup(fs_want);
    bool fs_found = ck_cgroup_dir_of_path(path, controller, fs_dir, sizeof(fs_dir));
    bool relative = ck_cgroup_dir_of_path("cktest-fs/cricket-abc", controller, fs_dir, sizeof(fs_dir));
    /* Removed before checking, so a failure leaves no cgroup behind. */
    const char *made[] = {"cktest.slice/cktest-a.slice/cktest-a-b.slice/cricket-abc.scope",
                          "cktest.slice/cktest-a.slice/cktest-a-b.slice",
                          "cktest.slice/cktest-a.slice",
                          "cktest.slice",
                          "cktest-fs/cricket-abc",
                          "cktest-fs"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, made[i]);
        rmdir(p);
    }
    assert_true(found);
    assert_string_equal(dir, want);
    assert_true(fs_found);
    assert_string_equal(fs_dir, fs_want);
    assert_false(relative);
}

/* A zombie's /proc/<pid>/cgroup names the roots of every hierarchy: it
 * has no cgroup of its own to report, and the host's must not pass for
 * it (a container's usage would read as the whole node's). */
static void test_zombie_has_no_cgroup(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
    for (int i = 0; i < 500 && strstr(stat, ") Z ") == NULL; i++) { /* until it is a zombie */
        FILE *f = fopen(path, "re");
        if (f == NULL || fgets(stat, sizeof(stat), f) == NULL)
            stat[0] = '\0';
        if (f != NULL)
            fclose(f);
        usleep(2000);
    }
    char dir[512];
    bool v1 = ck_cgroup_dir_of(child, "memory", false, dir, sizeof(dir));
    bool v2 = ck_cgroup_dir_of(child, "", false, dir, sizeof(dir));
    bool zombie = strstr(stat, ") Z ") != NULL;
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_true(zombie);
    assert_false(v1);
    assert_false(v2);
}

static void test_cgroups_paths(void **state)
{
    (void)state;
    expect_path(CK_CGROUP_CGROUPFS, "", "/cricket/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, NULL, "/cricket/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, "/kubepods/burstable/pod1", "/kubepods/burstable/pod1/cricket-abc");
    expect_path(CK_CGROUP_CGROUPFS, "/", "/cricket-abc");
    expect_bad_parent(CK_CGROUP_CGROUPFS, "kubepods", "must be an absolute path");
    expect_bad_parent(CK_CGROUP_CGROUPFS, "/a/../b", "must not contain");
    expect_path(CK_CGROUP_SYSTEMD, "kubepods-burstable-pod1.slice", "kubepods-burstable-pod1.slice:cricket:abc");
    expect_path(CK_CGROUP_SYSTEMD, "/kubepods.slice/kubepods-pod2.slice", "kubepods-pod2.slice:cricket:abc");
    expect_path(CK_CGROUP_SYSTEMD, "", "system.slice:cricket:abc");
    expect_bad_parent(CK_CGROUP_SYSTEMD, "/kubepods/pod1", "must be a systemd slice");
}

static json_t *write_and_load(const ck_pause_spec *spec)
{
    char dir[] = "/tmp/test-oci.XXXXXX";
    assert_non_null(mkdtemp(dir));
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_write_pause_spec(spec, dir, &err), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    assert_int_equal(ck_rm_rf(dir, &err), 0);
    return root;
}

static json_t *write_and_load_spec(const ck_oci_spec *spec)
{
    char dir[] = "/tmp/test-oci.XXXXXX";
    assert_non_null(mkdtemp(dir));
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_spec_write(spec, dir, &err), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    assert_int_equal(ck_rm_rf(dir, &err), 0);
    return root;
}

static bool has_ns(json_t *root, const char *type, const char **path)
{
    json_t *ns = json_object_get(json_object_get(root, "linux"), "namespaces");
    size_t i;
    json_t *e;
    json_array_foreach(ns, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0) {
            if (path != NULL)
                *path = json_string_value(json_object_get(e, "path"));
            return true;
        }
    }
    return false;
}

static json_t *mount_at(json_t *root, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(root, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return m;
    }
    return NULL;
}

/* The one builder, with what a container will ask of it: namespaces
 * joined by path, resources, capabilities, a tty; unset resources left out. */
static void test_spec_builder(void **state)
{
    (void)state;
    static const char *const args[] = {"/bin/sh", "-c", "sleep 1", NULL};
    static const char *const env[] = {"PATH=/bin", "A=b", NULL};
    static const char *const caps[] = {"CAP_CHOWN", "CAP_KILL", NULL};
    static const char *const ro[] = {"rbind", "ro", NULL};
    const ck_oci_mount mounts[] = {{"/data", "bind", "/srv/data", ro}, {"/proc", "proc", "proc", NULL}};
    const ck_oci_namespace ns[] = {{"network", "/run/netns/p1"}, {"ipc", "/proc/42/ns/ipc"}, {"mount", NULL}};
    const unsigned gids[] = {10, 20};
    ck_oci_spec spec = {
        .process = {.terminal = true,
                    .args = args,
                    .env = env,
                    .cwd = "/work",
                    .uid = 1000,
                    .gid = 100,
                    .additional_gids = gids,
                    .n_additional_gids = 2,
                    .no_new_privileges = true,
                    .oom_score_adj = 500,
                    .capabilities = caps},
        .root_path = "/r",
        .mounts = mounts,
        .n_mounts = 2,
        .namespaces = ns,
        .n_namespaces = 3,
        .cgroups_path = "/kubepods/pod1/cricket-c1",
        .resources =
            {.cpu_shares = 512, .cpu_quota = 50000, .cpu_period = 100000, .memory_limit = 64 << 20, .pids_limit = 100},
        .masked_paths = ck_oci_default_masked_paths,
    };
    json_t *root = write_and_load_spec(&spec);
    json_t *proc = json_object_get(root, "process");
    assert_true(json_is_true(json_object_get(proc, "terminal")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 2)), "sleep 1");
    assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/work");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 1000);
    assert_int_equal(json_array_size(json_object_get(json_object_get(proc, "user"), "additionalGids")), 2);
    assert_int_equal(json_integer_value(json_object_get(proc, "oomScoreAdj")), 500);
    json_t *c = json_object_get(proc, "capabilities");
    assert_int_equal(json_array_size(json_object_get(c, "bounding")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "effective")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "ambient")), 0);
    assert_false(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    assert_null(json_object_get(root, "hostname")); /* none asked: the UTS namespace's own */
    const char *path = NULL;
    assert_true(has_ns(root, "network", &path));
    assert_string_equal(path, "/run/netns/p1");
    assert_true(has_ns(root, "ipc", &path));
    assert_string_equal(path, "/proc/42/ns/ipc");
    assert_true(has_ns(root, "mount", &path));
    assert_null(path);
    assert_false(has_ns(root, "pid", NULL));
    json_t *data = mount_at(root, "/data");
    assert_non_null(data);
    assert_int_equal(json_array_size(json_object_get(data, "options")), 2);
    json_t *lx = json_object_get(root, "linux");
    assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/kubepods/pod1/cricket-c1");
    json_t *res = json_object_get(lx, "resources");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "shares")), 512);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")), 50000);
    assert_null(json_object_get(json_object_get(res, "cpu"), "cpus"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")), 64 << 20);
    assert_null(json_object_get(json_object_get(res, "memory"), "swap"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 100);
    assert_true(json_array_size(json_object_get(lx, "maskedPaths")) > 5);
    assert_int_equal(json_array_size(json_object_get(lx, "readonlyPaths")), 0);
    json_decref(root);
    /* Nothing asked of resources: an empty object, the cgroup's own values. */
    ck_oci_spec bare = {.process = {.args = args}, .root_path = "/r"};
    root = write_and_load_spec(&bare);
    assert_int_equal(json_object_size(json_object_get(json_object_get(root, "linux"), "resources")), 0);
    assert_null(json_object_get(json_object_get(root, "linux"), "cgroupsPath"));
    json_decref(root);
}

static void test_pause_spec_pod_namespaces(void **state)
{
    (void)state;
    ck_kv sysctls[] = {{"net.ipv4.ip_forward", "1"}};
    ck_kv ann[] = {{"io.kubernetes.cri.container-type", "sandbox"}};
    ck_pause_spec spec = {.rootfs = "/r",
                          .hostname = "h1",
                          .netns_path = "/run/x/netns/abc",
                          .shm_path = "/s/shm",
                          .hostname_file = "/s/hostname",
                          .hosts_file = "/s/hosts",
                          .resolv_file = "/s/resolv.conf",
                          .cgroup_parent = "/p",
                          .id = "abc",
                          .oom_score_adj = -998,
                          .sysctls = sysctls,
                          .n_sysctls = 1,
                          .annotations = ann,
                          .n_annotations = 1};
    json_t *root = write_and_load(&spec);
    const char *netns = NULL;
    assert_true(has_ns(root, "network", &netns));
    assert_string_equal(netns, "/run/x/netns/abc");
    assert_true(has_ns(root, "pid", NULL));
    assert_true(has_ns(root, "ipc", NULL));
    assert_true(has_ns(root, "uts", NULL));
    assert_true(has_ns(root, "mount", NULL));
    assert_string_equal(json_string_value(json_object_get(root, "hostname")), "h1");
    assert_true(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "root"), "path")), "/r");
    json_t *proc = json_object_get(root, "process");
    assert_int_equal(json_integer_value(json_object_get(proc, "oomScoreAdj")), -998);
    assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 0)), "/pause");
    json_t *lx = json_object_get(root, "linux");
    assert_string_equal(json_string_value(json_object_get(json_object_get(lx, "sysctl"), "net.ipv4.ip_forward")), "1");
    assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/p/cricket-abc");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "source")), "/s/shm");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/etc/resolv.conf"), "source")),
                        "/s/resolv.conf");
    assert_non_null(mount_at(root, "/dev/mqueue"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "annotations"), "io.kubernetes.cri.container-type")),
        "sandbox");
    json_decref(root);
}

static void test_pause_spec_host_namespaces(void **state)
{
    (void)state;
    ck_pause_spec spec = {.rootfs = "/r",
                          .hostname = "ignored",
                          .netns_path = NULL,
                          .host_ipc = true,
                          .host_pid = true,
                          .cgroup_parent = "",
                          .id = "abc"};
    json_t *root = write_and_load(&spec);
    assert_false(has_ns(root, "network", NULL));
    assert_false(has_ns(root, "uts", NULL));
    assert_false(has_ns(root, "pid", NULL));
    assert_false(has_ns(root, "ipc", NULL));
    assert_null(json_object_get(root, "hostname"));
    assert_null(mount_at(root, "/dev/mqueue"));
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "type")), "tmpfs");
    json_decref(root);
}

/* A pause image's process: its args, env, workdir and identity. */
static void test_pause_spec_image_process(void **state)
{
    (void)state;
    const char *args[] = {"/bin/sh", "-c", "sleep 1", NULL};
    const char *env[] = {"PATH=/bin", "A=b", NULL};
    unsigned gids[] = {10, 20};
    ck_pause_spec spec = {.rootfs = "/r",
                          .args = args,
                          .env = env,
                          .cwd = "/tmp",
                          .uid = 65534,
                          .gid = 100,
                          .additional_gids = gids,
                          .n_additional_gids = 2,
                          .cgroup_parent = "",
                          .id = "abc"};
    json_t *root = write_and_load(&spec);
    json_t *proc = json_object_get(root, "process");
    json_t *a = json_object_get(proc, "args");
    assert_int_equal(json_array_size(a), 3);
    assert_string_equal(json_string_value(json_array_get(a, 2)), "sleep 1");
    json_t *e = json_object_get(proc, "env");
    assert_int_equal(json_array_size(e), 2);
    assert_string_equal(json_string_value(json_array_get(e, 1)), "A=b");
    assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/tmp");
    json_t *u = json_object_get(proc, "user");
    assert_int_equal(json_integer_value(json_object_get(u, "uid")), 65534);
    assert_int_equal(json_integer_value(json_object_get(u, "gid")), 100);
    json_t *g = json_object_get(u, "additionalGids");
    assert_int_equal(json_array_size(g), 2);
    assert_int_equal(json_integer_value(json_array_get(g, 1)), 20);
    assert_true(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    json_decref(root);
}

static void write_in(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expect_user(const char *rootfs, const char *user, unsigned uid, unsigned gid, size_t n_groups)
{
    ck_oci_user u;
    ck_err err;
    ck_err_clear(&err);
    if (ck_oci_resolve_user(rootfs, user, &u, &err) < 0)
        fail_msg("user \"%s\": %s", user, err.msg);
    assert_int_equal(u.uid, uid);
    assert_int_equal(u.gid, gid);
    assert_int_equal(u.n_additional_gids, n_groups);
}

static void expect_user_error(const char *rootfs, const char *user, const char *msg)
{
    ck_oci_user u;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_oci_resolve_user(rootfs, user, &u, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("user \"%s\": got \"%s\", want \"%s\"", user, err.msg, msg);
}

/* USER as Docker reads it, from the image's own files; a symlink in the
 * image cannot make the lookup read the host's /etc/passwd. */
static void test_resolve_user(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-user.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char etc[600];
    snprintf(etc, sizeof(etc), "%s/etc", dir);
    assert_int_equal(mkdir(etc, 0755), 0);
    /* No files at all: numbers only. */
    expect_user(dir, "", 0, 0, 0);
    expect_user(dir, "1000", 1000, 0, 0);
    expect_user(dir, "1000:50", 1000, 50, 0);
    expect_user_error(dir, "app", "user \"app\" is not in the image's /etc/passwd");
    write_in(dir, "etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "# not an entry\n"
             "app:x:1001:1002:App:/home/app:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write_in(dir, "etc/group", "root:x:0:\napp:x:1002:\nwheel:x:10:root,app\naudio:x:29:app\nnogroup:x:65534:\n");
    expect_user(dir, "", 0, 0, 1);          /* root is in wheel */
    expect_user(dir, "app", 1001, 1002, 2); /* wheel and audio */
    expect_user(dir, "1001", 1001, 1002, 2);
    expect_user(dir, "app:audio", 1001, 29, 1); /* the primary group is not repeated */
    expect_user(dir, "nobody:7", 65534, 7, 0);
    expect_user(dir, "4242", 4242, 0, 0);
    expect_user_error(dir, "app:nogroup-here", "group \"nogroup-here\" is not in the image's /etc/group");
    expect_user_error(dir, ":10", "no user part");
    /* /etc/passwd a symlink to a host file where root would be found: it is
     * resolved inside the rootfs, where there is no such file. */
    char host[] = "/tmp/test-user-host.XXXXXX";
    assert_non_null(mkdtemp(host));
    write_in(host, "passwd", "root:x:0:0:root:/root:/bin/sh\n");
    char path[700], target[700];
    snprintf(path, sizeof(path), "%s/etc/passwd", dir);
    snprintf(target, sizeof(target), "%s/passwd", host);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(target, path), 0);
    expect_user_error(dir, "root", "user \"root\" is not in the image's /etc/passwd");
    /* A symlink loop is the image's fault, named as such. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("passwd", path), 0);
    expect_user_error(dir, "root", "etc/passwd");
    /* A FIFO in its place would block the open forever (no writer ever
     * comes): it is refused at once, as anything but a regular file is. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0644), 0);
    alarm(20);
    expect_user_error(dir, "root", "etc/passwd in");
    expect_user_error(dir, "root", "is not a regular file");
    alarm(0);
    assert_int_equal(unlink(target), 0);
    assert_int_equal(rmdir(host), 0);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_rm_rf(dir, &err), 0);
}

/* The same inode as path, opened from outside. */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The walk used where openat2 is missing keeps every link inside root. */
static void test_open_in_root_walk(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-walk.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[700], inside[700];
    snprintf(path, sizeof(path), "%s/etc", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/data", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_in(dir, "data/real", "x\n");
    snprintf(inside, sizeof(inside), "%s/data/real", dir);
    int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    /* An absolute target and a ".." climbing out both land in root. */
    snprintf(path, sizeof(path), "%s/etc/abs", dir);
    assert_int_equal(symlink("/data/real", path), 0);
    snprintf(path, sizeof(path), "%s/etc/up", dir);
    assert_int_equal(symlink("../../../../../data/real", path), 0);
    snprintf(path, sizeof(path), "%s/etc/dirlink", dir);
    assert_int_equal(symlink("/data", path), 0);
    const char *lands[] = {"data/real", "etc/abs", "etc/up", "etc/dirlink/real", "/etc/../../data/./real"};
    for (size_t i = 0; i < sizeof(lands) / sizeof(lands[0]); i++) {
        int fd = ck_oci_open_in_root_walk(root, lands[i], O_RDONLY | O_CLOEXEC);
        if (!same_file(fd, inside))
            fail_msg("%s did not open %s inside root", lands[i], inside);
        close(fd);
    }
    /* A link to a host file finds nothing: root has no such file. */
    snprintf(path, sizeof(path), "%s/etc/passwd", dir);
    assert_int_equal(symlink("/usr/lib/os-release", path), 0);
    assert_int_equal(access("/usr/lib/os-release", F_OK), 0);
    errno = 0;
    assert_int_equal(ck_oci_open_in_root_walk(root, "etc/passwd", O_RDONLY | O_CLOEXEC), -1);
    assert_int_equal(errno, ENOENT);
    snprintf(path, sizeof(path), "%s/etc/loop", dir);
    assert_int_equal(symlink("loop", path), 0);
    assert_int_equal(ck_oci_open_in_root_walk(root, "etc/loop", O_RDONLY | O_CLOEXEC), -1);
    assert_int_equal(errno, ELOOP);
    close(root);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_rm_rf(dir, &err), 0);
}

static void test_bandwidth_quantities(void **state)
{
    (void)state;
    assert_int_equal(ck_cni_parse_bandwidth("10M"), 10000000);
    assert_int_equal(ck_cni_parse_bandwidth("1Gi"), 1073741824LL);
    assert_int_equal(ck_cni_parse_bandwidth("500k"), 500000);
    assert_int_equal(ck_cni_parse_bandwidth("1.5M"), 1500000);
    assert_int_equal(ck_cni_parse_bandwidth("100"), 100);
    assert_int_equal(ck_cni_parse_bandwidth(""), -1);
    assert_int_equal(ck_cni_parse_bandwidth("M"), -1);
    assert_int_equal(ck_cni_parse_bandwidth("10X"), -1);
    assert_int_equal(ck_cni_parse_bandwidth("-1M"), -1);
    assert_int_equal(ck_cni_parse_bandwidth(NULL), -1);
}

static void test_attachment_ips_v4_first(void **state)
{
    (void)state;
    ck_cni_attachment a = {0};
    ck_cni_attachment_ips("{\"result\":{\"ips\":[{\"address\":\"fd00::5/64\"},{\"address\":\"10.1.2.3/24\"}]}}", &a);
    assert_int_equal(a.n_ips, 2);
    assert_string_equal(a.ips[0], "10.1.2.3");
    assert_string_equal(a.ips[1], "fd00::5");
    ck_cni_attachment_ips("not json", &a);
    assert_int_equal(a.n_ips, 0);
    ck_cni_attachment_ips("{\"result\":{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}}", &a);
    assert_int_equal(a.n_ips, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroups_paths),
        cmocka_unit_test(test_spec_builder),
        cmocka_unit_test(test_pause_spec_pod_namespaces),
        cmocka_unit_test(test_pause_spec_host_namespaces),
        cmocka_unit_test(test_pause_spec_image_process),
        cmocka_unit_test(test_resolve_user),
        cmocka_unit_test(test_open_in_root_walk),
        cmocka_unit_test(test_bandwidth_quantities),
        cmocka_unit_test(test_attachment_ips_v4_first),
        cmocka_unit_test(test_cgroup_dir_of_cgroups_path),
        cmocka_unit_test(test_zombie_has_no_cgroup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
