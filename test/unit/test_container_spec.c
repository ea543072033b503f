/*
 * The OCI spec of a workload container (containers/spec.c): each rule
 * containerd's CRI plugin follows, checked on the config.json written into
 * a temporary bundle, with a fake rootfs (its /etc/passwd and /etc/group),
 * fake pod files, a fake mount table and a chosen host (bounding set,
 * cgroup version).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/fs.h"
#include "containers/spec.h"

/* CapBnd of this project's machines: everything up to CHECKPOINT_RESTORE
 * but SYS_RESOURCE (bit 24). */
#define HOST_BOUNDING UINT64_C(0x000001fffeffffff)

typedef struct fixture {
    char dir[64];
    char rootfs[128], bundle[128], volumes[128], mountinfo[128];
    ck_sandbox_context pod;
    ck_container_config cfg;
    ck_image image;
    ck_container_spec_in in;
    ck_container_spec_out out;
} fixture;

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_dir(const char *dir, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_mkdir_p(path, 0755, &err), 0);
}

static char *image_entrypoint[] = {"/entry", "--flag"};
static char *image_cmd[] = {"serve", "--port=80"};
static char *image_env[] = {"PATH=/image/bin", "A=image", "B=image"};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-cspec.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->dir);
    snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->dir);
    snprintf(f->volumes, sizeof(f->volumes), "%s/volumes", f->dir);
    snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->dir);
    make_dir(f->dir, "rootfs/etc");
    make_dir(f->dir, "bundle");
    make_dir(f->dir, "pod/shm");
    write_file(f->dir, "rootfs/etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "app:x:1000:1000:App:/home/app:/bin/sh\n"
               "nobody:x:65534:65534:nobody:/:/bin/false\n");
    write_file(f->dir, "rootfs/etc/group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\nextra:x:50000:app,root\n");
    write_file(f->dir, "pod/hostname", "pod-host\n");
    write_file(f->dir, "pod/hosts", "127.0.0.1 localhost\n");
    write_file(f->dir, "pod/resolv.conf", "nameserver 10.0.0.10\n");
    /* The host's mount table as the propagation checks read it. */
    char mi[1024];
    snprintf(mi, sizeof(mi),
             "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
             "30 22 0:30 / %s/private rw,relatime - tmpfs tmpfs rw\n"
             "31 22 0:31 / %s/slave rw,relatime master:7 - tmpfs tmpfs rw\n"
             "32 22 0:32 / %s/with\\040space rw,relatime - tmpfs tmpfs rw\n",
             f->dir, f->dir, f->dir);
    write_file(f->dir, "mountinfo", mi);

    ck_sandbox_context *pod = &f->pod;
    snprintf(pod->id, sizeof(pod->id), "pod1");
    pod->ready = true;
    snprintf(pod->netns, sizeof(pod->netns), "/run/cricket/netns/pod1");
    snprintf(pod->ipc_ns, sizeof(pod->ipc_ns), "/proc/42/ns/ipc");
    snprintf(pod->uts_ns, sizeof(pod->uts_ns), "/proc/42/ns/uts");
    snprintf(pod->pid_ns, sizeof(pod->pid_ns), "/proc/42/ns/pid");
    pod->pause_pid = 42;
    snprintf(pod->cgroup_parent, sizeof(pod->cgroup_parent), "/kubepods/pod1");
    snprintf(pod->hostname, sizeof(pod->hostname), "pod-host");
    snprintf(pod->hostname_file, sizeof(pod->hostname_file), "%s/pod/hostname", f->dir);
    snprintf(pod->hosts_file, sizeof(pod->hosts_file), "%s/pod/hosts", f->dir);
    snprintf(pod->resolv_file, sizeof(pod->resolv_file), "%s/pod/resolv.conf", f->dir);
    snprintf(pod->shm_dir, sizeof(pod->shm_dir), "%s/pod/shm", f->dir);

    f->image = (ck_image){.id = "sha256:abc",
                          .user = "",
                          .env = image_env,
                          .n_env = 3,
                          .entrypoint = image_entrypoint,
                          .n_entrypoint = 2,
                          .cmd = image_cmd,
                          .n_cmd = 2,
                          .workdir = "",
                          .stop_signal = ""};
    f->cfg = (ck_container_config){.pod_id = "pod1",
                                   .name = "c1",
                                   .image = "busybox",
                                   .user_specified_image = "",
                                   .working_dir = "",
                                   .log_path = "",
                                   .stop_signal = "",
                                   .security = {.run_as_username = ""}};
    f->in = (ck_container_spec_in){.id = "c1id",
                                   .cfg = &f->cfg,
                                   .pod = &f->pod,
                                   .image = &f->image,
                                   .rootfs = f->rootfs,
                                   .bundle = f->bundle,
                                   .volumes_dir = f->volumes,
                                   .cgroup_driver = CK_CGROUP_CGROUPFS,
                                   .host = {.cap_bounding = HOST_BOUNDING,
                                            .cgroup_v2 = -1,
                                            .swap_controller = 1,
                                            .hugetlb_controller = 1,
                                            .mountinfo = f->mountinfo}};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_rm_rf(f->dir, &err), 0);
    free(f);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------- */

static json_t *spec_ok(fixture *f)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_container_spec_write(&f->in, &f->out, &err) < 0)
        fail_msg("spec: %s", err.msg);
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", f->bundle);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL)
        fail_msg("config.json: %s", jerr.text);
    assert_int_equal(unlink(path), 0); /* the next build must write its own */
    return root;
}

static void spec_fails(fixture *f, ck_errkind kind, const char *msg)
{
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_container_spec_write(&f->in, &f->out, &err), -1);
    if (err.kind != kind || strstr(err.msg, msg) == NULL)
        fail_msg("got %s \"%s\", want %s \"%s\"", ck_errkind_name(err.kind), err.msg, ck_errkind_name(kind), msg);
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", f->bundle);
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
}

static json_t *process_of(json_t *root)
{
    return json_object_get(root, "process");
}

static json_t *linux_of(json_t *root)
{
    return json_object_get(root, "linux");
}

/* The array's strings joined with spaces, for compact comparisons. */
static const char *joined(json_t *array, char *buf, size_t size)
{
    size_t i, n = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(array, i, v)
    {
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? " " : "", json_string_value(v));
        assert_true(n < size);
    }
    return buf;
}

static bool array_has(json_t *array, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static json_t *mount_at(json_t *root, const char *dest)
{
    size_t i;
    json_t *m;
    json_t *found = NULL;
    json_array_foreach(json_object_get(root, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0) {
            assert_null(found); /* never two mounts at one place */
            found = m;
        }
    }
    return found;
}

static size_t mount_index(json_t *root, const char *dest)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(root, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
            return i;
    }
    fail_msg("no mount at %s", dest);
    return 0;
}

static const char *mount_options(json_t *root, const char *dest, char *buf, size_t size)
{
    json_t *m = mount_at(root, dest);
    assert_non_null(m);
    return joined(json_object_get(m, "options"), buf, size);
}

static const char *ns_path(json_t *root, const char *type, bool *present)
{
    size_t i;
    json_t *e;
    *present = false;
    json_array_foreach(json_object_get(linux_of(root), "namespaces"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0) {
            *present = true;
            return json_string_value(json_object_get(e, "path"));
        }
    }
    return NULL;
}

static const char *env_value(json_t *root, const char *key)
{
    size_t i, klen = strlen(key);
    json_t *v;
    json_array_foreach(json_object_get(process_of(root), "env"), i, v)
    {
        const char *s = json_string_value(v);
        if (strncmp(s, key, klen) == 0 && s[klen] == '=')
            return s + klen + 1;
    }
    return NULL;
}

static json_t *caps_of(json_t *root)
{
    return json_object_get(json_object_get(process_of(root), "capabilities"), "bounding");
}

/* ---- process ----------------------------------------------------------------------- */

static void test_signal_parse(void **state)
{
    (void)state;
    assert_int_equal(ck_signal_parse("SIGTERM"), SIGTERM);
    assert_int_equal(ck_signal_parse("TERM"), SIGTERM);
    assert_int_equal(ck_signal_parse("sigkill"), SIGKILL);
    assert_int_equal(ck_signal_parse("15"), 15);
    assert_int_equal(ck_signal_parse("SIGQUIT"), SIGQUIT);
    assert_int_equal(ck_signal_parse("SIGRTMIN"), SIGRTMIN);
    assert_int_equal(ck_signal_parse("SIGRTMIN+3"), SIGRTMIN + 3);
    assert_int_equal(ck_signal_parse("RTMAX-1"), SIGRTMAX - 1);
    assert_int_equal(ck_signal_parse("SIGRTMAX+1"), -1);
    assert_int_equal(ck_signal_parse("SIGRTMIN-1"), -1);
    assert_int_equal(ck_signal_parse("0"), -1);
    assert_int_equal(ck_signal_parse("65"), -1);
    assert_int_equal(ck_signal_parse("SIGFOO"), -1);
    assert_int_equal(ck_signal_parse("SIG"), -1);
    assert_int_equal(ck_signal_parse(""), -1);
    assert_int_equal(ck_signal_parse(NULL), -1);
    assert_int_equal(ck_signal_parse("15x"), -1);
}

/* Docker's entrypoint/cmd rules against the CRI's command and args. */
static void test_args_rules(void **state)
{
    fixture *f = *state;
    static const char *const cmd_top[] = {"top"};
    static const char *const cmd_sh[] = {"sh", "-c"};
    static const char *const args_x[] = {"echo hi"};
    static char *empty_entry[] = {""};
    static const struct {
        const char *const *command;
        size_t n_command;
        const char *const *args;
        size_t n_args;
        bool image_has_entrypoint, image_entry_reset;
        const char *want;
    } cases[] = {
        {NULL, 0, NULL, 0, true, false, "/entry --flag serve --port=80"}, /* the image's whole */
        {cmd_top, 1, NULL, 0, true, false, "top"},                        /* command drops the image's cmd */
        {cmd_sh, 2, args_x, 1, true, false, "sh -c echo hi"},
        {NULL, 0, args_x, 1, true, false, "/entry --flag echo hi"}, /* args replace cmd only */
        {NULL, 0, NULL, 0, false, false, "serve --port=80"},        /* no entrypoint: the cmd */
        {NULL, 0, args_x, 1, false, false, "echo hi"},
        {NULL, 0, NULL, 0, false, true, "serve --port=80"}, /* ENTRYPOINT [""] is none */
    };
    char buf[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->cfg.command = (ck_strs){cases[i].command, cases[i].n_command};
        f->cfg.args = (ck_strs){cases[i].args, cases[i].n_args};
        f->image.entrypoint = cases[i].image_entry_reset ? empty_entry : image_entrypoint;
        f->image.n_entrypoint = cases[i].image_entry_reset ? 1 : cases[i].image_has_entrypoint ? 2 : 0;
        json_t *root = spec_ok(f);
        const char *got = joined(json_object_get(process_of(root), "args"), buf, sizeof(buf));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: args \"%s\", want \"%s\"", i, got, cases[i].want);
        json_decref(root);
    }
    /* Nothing anywhere: refused. */
    f->cfg.command = (ck_strs){NULL, 0};
    f->cfg.args = (ck_strs){NULL, 0};
    f->image.n_entrypoint = 0;
    f->image.n_cmd = 0;
    spec_fails(f, CK_E_INVALID, "no command specified");
}

static void test_env_and_cwd(void **state)
{
    fixture *f = *state;
    const ck_kv envs[] = {{"B", "cri"}, {"C", "cri"}, {"PATH", "/cri/bin"}};
    f->cfg.envs = (ck_kvs){envs, 3};
    json_t *root = spec_ok(f);
    char buf[512];
    /* Defaults first, the image's over them, the CRI's over both; a key
     * keeps its first position. */
    assert_string_equal(joined(json_object_get(process_of(root), "env"), buf, sizeof(buf)),
                        "PATH=/cri/bin HOSTNAME=pod-host A=image B=cri C=cri");
    assert_string_equal(json_string_value(json_object_get(process_of(root), "cwd")), "/");
    assert_false(json_is_true(json_object_get(process_of(root), "terminal")));
    json_decref(root);

    /* No PATH anywhere: the default. A terminal adds TERM. The image's
     * workdir, then the request's. */
    f->image.n_env = 0;
    f->cfg.envs = (ck_kvs){envs, 2};
    f->cfg.tty = true;
    f->image.workdir = "/srv";
    root = spec_ok(f);
    assert_string_equal(env_value(root, "PATH"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_string_equal(env_value(root, "TERM"), "xterm");
    assert_true(json_is_true(json_object_get(process_of(root), "terminal")));
    assert_string_equal(json_string_value(json_object_get(process_of(root), "cwd")), "/srv");
    json_decref(root);

    /* The user's own TERM stays; a host-network pod's HOSTNAME is the node's. */
    const ck_kv term[] = {{"TERM", "vt100"}};
    f->cfg.envs = (ck_kvs){term, 1};
    f->cfg.working_dir = "/work";
    f->pod.hostname[0] = '\0';
    root = spec_ok(f);
    assert_string_equal(env_value(root, "TERM"), "vt100");
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    assert_string_equal(env_value(root, "HOSTNAME"), host);
    assert_string_equal(json_string_value(json_object_get(process_of(root), "cwd")), "/work");
    json_decref(root);
}

static void expect_user(fixture *f, unsigned uid, unsigned gid, const char *groups)
{
    json_t *root = spec_ok(f);
    json_t *u = json_object_get(process_of(root), "user");
    assert_int_equal(json_integer_value(json_object_get(u, "uid")), uid);
    assert_int_equal(json_integer_value(json_object_get(u, "gid")), gid);
    char buf[256] = "", *p = buf;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(u, "additionalGids"), i, g)
    {
        p += snprintf(p, sizeof(buf) - (size_t)(p - buf), "%s%lld", i > 0 ? " " : "", json_integer_value(g));
    }
    if (strcmp(buf, groups) != 0)
        fail_msg("additionalGids \"%s\", want \"%s\"", buf, groups);
    /* What the caller records is what the spec says. */
    assert_int_equal(f->out.user.uid, uid);
    assert_int_equal(f->out.user.gid, gid);
    assert_int_equal(f->out.user.n_additional_gids, json_array_size(json_object_get(u, "additionalGids")));
    json_decref(root);
}

static void test_user_and_groups(void **state)
{
    fixture *f = *state;
    expect_user(f, 0, 0, "50000"); /* root, who /etc/group lists in "extra" */
    f->image.user = "app";
    expect_user(f, 1000, 1000, "10 50000");
    /* run_as_user overrides the image's USER; its groups come from passwd. */
    f->cfg.security.has_run_as_user = true;
    f->cfg.security.run_as_user = 65534;
    expect_user(f, 65534, 65534, "");
    f->cfg.security.run_as_user = 1000;
    f->cfg.security.has_run_as_group = true;
    f->cfg.security.run_as_group = 1002;
    expect_user(f, 1000, 1002, "10 50000");
    /* A name wins over a uid, and takes the group too. */
    f->cfg.security.run_as_username = "nobody";
    expect_user(f, 65534, 1002, "");
    /* Supplemental groups: added once, never the primary gid again. */
    f->cfg.security.run_as_username = "";
    f->cfg.security.has_run_as_group = false;
    const int64_t groups[] = {1234, 10, 1000, 5678, 1234};
    f->cfg.security.supplemental_groups = groups;
    f->cfg.security.n_supplemental_groups = 5;
    expect_user(f, 1000, 1000, "10 50000 1234 5678");
    /* Strict: the request's groups only, not the image's /etc/group. */
    f->cfg.security.supplemental_groups_policy = CK_GROUPS_STRICT;
    expect_user(f, 1000, 1000, "1234 10 5678");
    f->cfg.security.supplemental_groups_policy = 7;
    spec_fails(f, CK_E_INVALID, "supplemental_groups_policy 7 is neither Merge nor Strict");
    f->cfg.security.supplemental_groups_policy = CK_GROUPS_MERGE;
    /* A name the image does not know. */
    f->cfg.security.run_as_username = "ghost";
    spec_fails(f, CK_E_INVALID, "user \"ghost\" is not in the image's /etc/passwd");
}

/* ---- mounts ------------------------------------------------------------------------ */

static void test_default_and_pod_mounts(void **state)
{
    fixture *f = *state;
    char buf[256];
    json_t *root = spec_ok(f);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/proc"), "type")), "proc");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/pts"), "type")), "devpts");
    assert_non_null(mount_at(root, "/dev/mqueue"));
    assert_true(array_has(json_object_get(mount_at(root, "/sys"), "options"), "ro"));
    assert_true(array_has(json_object_get(mount_at(root, "/sys/fs/cgroup"), "options"), "ro"));
    /* The pod's /dev/shm and /etc files, writable with a writable rootfs. */
    json_t *shm = mount_at(root, "/dev/shm");
    assert_string_equal(json_string_value(json_object_get(shm, "type")), "bind");
    assert_string_equal(json_string_value(json_object_get(shm, "source")), f->pod.shm_dir);
    assert_string_equal(mount_options(root, "/etc/hosts", buf, sizeof(buf)), "rbind rprivate rw");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/etc/resolv.conf"), "source")),
                        f->pod.resolv_file);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/etc/hostname"), "source")),
                        f->pod.hostname_file);
    /* runc's defaults come before the binds over them. */
    assert_true(mount_index(root, "/dev") < mount_index(root, "/dev/shm"));
    json_decref(root);

    /* A read-only rootfs makes them read-only; host IPC means the host's
     * /dev/shm and no mqueue of its own; no shm dir: a tmpfs. */
    f->cfg.security.readonly_rootfs = true;
    f->pod.ns_ipc = CK_NS_NODE;
    root = spec_ok(f);
    assert_true(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    assert_string_equal(mount_options(root, "/etc/hosts", buf, sizeof(buf)), "rbind rprivate ro");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "source")), "/dev/shm");
    assert_null(mount_at(root, "/dev/mqueue"));
    json_decref(root);
    f->pod.ns_ipc = CK_NS_POD;
    f->pod.shm_dir[0] = '\0';
    f->pod.hostname_file[0] = '\0';
    snprintf(f->pod.hosts_file, sizeof(f->pod.hosts_file), "%s/pod/missing-hosts", f->dir);
    root = spec_ok(f);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "type")), "tmpfs");
    assert_null(mount_at(root, "/etc/hostname"));
    assert_null(mount_at(root, "/etc/hosts")); /* containerd skips a pod file that is not there */
    json_decref(root);
}

static void test_cri_mounts(void **state)
{
    fixture *f = *state;
    char src[256], link[256], missing[256], deep[256], buf[256];
    snprintf(src, sizeof(src), "%s/data", f->dir);
    snprintf(link, sizeof(link), "%s/data-link", f->dir);
    snprintf(missing, sizeof(missing), "%s/not/yet", f->dir);
    snprintf(deep, sizeof(deep), "%s/deep", f->dir);
    make_dir(f->dir, "data");
    make_dir(f->dir, "deep");
    assert_int_equal(symlink(src, link), 0);
    /* Children listed before parents; the request's /etc/hosts and
     * /dev/shm replace the pod's. */
    const ck_mount_req m[] = {
        {.container_path = "/data/deeper/x", .host_path = deep},
        {.container_path = "/data/", .host_path = link, .readonly = true, .selinux_relabel = true},
        {.container_path = "/missing", .host_path = missing},
        {.container_path = "/etc/hosts", .host_path = src},
        {.container_path = "/dev/shm", .host_path = src},
        {.container_path = "/sys", .host_path = src},
    };
    f->cfg.mounts = m;
    f->cfg.n_mounts = 6;
    json_t *root = spec_ok(f);
    json_t *data = mount_at(root, "/data");
    assert_non_null(data);
    assert_string_equal(json_string_value(json_object_get(data, "source")), src); /* the symlink resolved */
    assert_string_equal(json_string_value(json_object_get(data, "type")), "bind");
    assert_string_equal(mount_options(root, "/data", buf, sizeof(buf)), "rbind rprivate ro");
    assert_string_equal(mount_options(root, "/data/deeper/x", buf, sizeof(buf)), "rbind rprivate rw");
    assert_true(mount_index(root, "/data") < mount_index(root, "/data/deeper/x"));
    /* A missing host path is made a directory. */
    struct stat st;
    assert_int_equal(stat(missing, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/etc/hosts"), "source")), src);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "source")), src);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/sys"), "type")), "bind");
    assert_null(json_object_get(linux_of(root), "rootfsPropagation"));
    json_decref(root);

    /* A bound /dev replaces runc's /dev and everything under it. */
    const ck_mount_req dev[] = {{.container_path = "/dev", .host_path = src}};
    f->cfg.mounts = dev;
    f->cfg.n_mounts = 1;
    root = spec_ok(f);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev"), "type")), "bind");
    assert_null(mount_at(root, "/dev/pts"));
    assert_null(mount_at(root, "/dev/mqueue"));
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/dev/shm"), "source")), f->pod.shm_dir);
    json_decref(root);
}

/* A recursive read-only mount binds the clone the caller prepared at
 * <readonly_trees_dir>/<its index>, read-only on top as well; the host
 * path itself is neither resolved nor made. */
static void test_recursive_read_only_mounts(void **state)
{
    fixture *f = *state;
    char missing[256], buf[256], clone[320];
    snprintf(missing, sizeof(missing), "%s/not/made", f->dir);
    const ck_mount_req m[] = {
        {.container_path = "/plain", .host_path = f->dir},
        {.container_path = "/rro", .host_path = missing, .readonly = true, .recursive_read_only = true},
    };
    f->cfg.mounts = m;
    f->cfg.n_mounts = 2;
    spec_fails(f, CK_E_INTERNAL, "mount /rro: no staged clone of");
    f->in.readonly_trees_dir = "/run/x/rro";
    json_t *root = spec_ok(f);
    snprintf(clone, sizeof(clone), "%s/1", f->in.readonly_trees_dir);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/rro"), "source")), clone);
    assert_string_equal(mount_options(root, "/rro", buf, sizeof(buf)), "rbind rprivate ro");
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/plain"), "source")), f->dir);
    struct stat st;
    assert_int_equal(stat(missing, &st), -1);
    json_decref(root);
}

/* In a pod with its own user namespace every volume binds its staged
 * (idmapped) clone; Mount mappings must be the pod's and come in pairs,
 * and a pod without a user namespace takes none; propagation is refused
 * on such a volume. Each refusal names the field. */
static void test_user_namespace_volumes(void **state)
{
    fixture *f = *state;
    char buf[256], clone[320];
    const ck_id_map pod_map = {0, 1000, 100000}, other = {0, 5000, 100000};
    ck_mount_req m[] = {
        {.container_path = "/v", .host_path = f->dir},
        {.container_path = "/k",
         .host_path = f->dir,
         .readonly = true,
         .uid_mappings = &pod_map,
         .gid_mappings = &pod_map,
         .n_uid_mappings = 1,
         .n_gid_mappings = 1},
    };
    f->cfg.mounts = m;
    f->cfg.n_mounts = 2;
    spec_fails(f, CK_E_INVALID, "mounts[1] (/k): uid_mappings and gid_mappings need a pod with its own user namespace");
    f->pod.own_userns = true;
    snprintf(f->pod.userns, sizeof(f->pod.userns), "/run/x/userns/pod1");
    f->pod.uid_map = f->pod.gid_map = pod_map;
    spec_fails(f, CK_E_INTERNAL, "mount /v: no staged clone of");
    f->in.readonly_trees_dir = "/run/x/rro";
    json_t *root = spec_ok(f);
    snprintf(clone, sizeof(clone), "%s/0", f->in.readonly_trees_dir);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/v"), "source")), clone);
    snprintf(clone, sizeof(clone), "%s/1", f->in.readonly_trees_dir);
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/k"), "source")), clone);
    assert_string_equal(mount_options(root, "/k", buf, sizeof(buf)), "rbind rprivate ro");
    json_decref(root);
    m[1].uid_mappings = &other;
    spec_fails(f, CK_E_INVALID,
               "mounts[1] (/k): uid_mappings must be its pod's user namespace mapping {0, 1000, 100000}");
    m[1].uid_mappings = &pod_map;
    m[1].gid_mappings = &other;
    spec_fails(f, CK_E_INVALID, "mounts[1] (/k): gid_mappings must be its pod's");
    m[1].n_gid_mappings = 0;
    spec_fails(f, CK_E_INVALID, "mounts[1] (/k): gid_mappings is empty but uid_mappings is not");
    m[1].n_gid_mappings = 1;
    m[1].gid_mappings = &pod_map;
    m[0].propagation = CK_PROPAGATION_HOST_TO_CONTAINER;
    spec_fails(f, CK_E_INVALID, "mounts[0] (/v): a volume of a pod with its own user namespace");
    f->pod.own_userns = false;
}

static void test_mount_propagation(void **state)
{
    fixture *f = *state;
    char shared[256], slave[256], private[256], spaced[256], buf[256];
    snprintf(shared, sizeof(shared), "%s/shared", f->dir); /* on / (shared:1) */
    snprintf(slave, sizeof(slave), "%s/slave/sub", f->dir);
    snprintf(private, sizeof(private), "%s/private", f->dir);
    snprintf(spaced, sizeof(spaced), "%s/with space", f->dir);
    make_dir(f->dir, "shared");
    make_dir(f->dir, "slave/sub");
    make_dir(f->dir, "private");
    make_dir(f->dir, "with space");
    ck_mount_req m[] = {
        {.container_path = "/h2c", .host_path = slave, .propagation = CK_PROPAGATION_HOST_TO_CONTAINER},
    };
    f->cfg.mounts = m;
    f->cfg.n_mounts = 1;
    json_t *root = spec_ok(f);
    assert_string_equal(mount_options(root, "/h2c", buf, sizeof(buf)), "rbind rslave rw");
    assert_string_equal(json_string_value(json_object_get(linux_of(root), "rootfsPropagation")), "rslave");
    json_decref(root);
    /* rshared wins over rslave, whatever the order. */
    const ck_mount_req both[] = {
        {.container_path = "/bidi", .host_path = shared, .propagation = CK_PROPAGATION_BIDIRECTIONAL},
        {.container_path = "/h2c", .host_path = shared, .propagation = CK_PROPAGATION_HOST_TO_CONTAINER},
    };
    f->cfg.mounts = both;
    f->cfg.n_mounts = 2;
    root = spec_ok(f);
    assert_string_equal(mount_options(root, "/bidi", buf, sizeof(buf)), "rbind rshared rw");
    assert_string_equal(mount_options(root, "/h2c", buf, sizeof(buf)), "rbind rslave rw");
    assert_string_equal(json_string_value(json_object_get(linux_of(root), "rootfsPropagation")), "rshared");
    json_decref(root);
    /* Nothing would propagate from a private mount, nor back from a slave. */
    f->cfg.mounts = m;
    f->cfg.n_mounts = 1;
    m[0].host_path = private;
    spec_fails(f, CK_E_PRECONDITION, "needs a shared or slave mount");
    m[0].host_path = spaced; /* mountinfo's \040 read as a space */
    spec_fails(f, CK_E_PRECONDITION, "with space, which is private");
    m[0].host_path = slave;
    m[0].propagation = CK_PROPAGATION_BIDIRECTIONAL;
    spec_fails(f, CK_E_PRECONDITION, "BIDIRECTIONAL needs a shared mount");
}

static void test_image_volumes(void **state)
{
    fixture *f = *state;
    char *volumes[] = {"/var/lib/db", "cache", "/data/"};
    f->image.volumes = volumes;
    f->image.n_volumes = 3;
    char src[256], want[300], buf[256];
    snprintf(src, sizeof(src), "%s/data", f->dir);
    make_dir(f->dir, "data");
    const ck_mount_req m[] = {{.container_path = "/data", .host_path = src}};
    f->cfg.mounts = m;
    f->cfg.n_mounts = 1;
    json_t *root = spec_ok(f);
    json_t *db = mount_at(root, "/var/lib/db");
    assert_non_null(db);
    snprintf(want, sizeof(want), "%s/0", f->volumes);
    assert_string_equal(json_string_value(json_object_get(db, "source")), want);
    assert_string_equal(mount_options(root, "/var/lib/db", buf, sizeof(buf)), "rbind rprivate rw");
    struct stat st;
    assert_int_equal(stat(want, &st), 0);
    assert_non_null(mount_at(root, "/cache")); /* relative: under / */
    /* The request's mount covers the image's VOLUME. */
    assert_string_equal(json_string_value(json_object_get(mount_at(root, "/data"), "source")), src);
    snprintf(want, sizeof(want), "%s/2", f->volumes);
    assert_int_equal(access(want, F_OK), -1);
    json_decref(root);
}

/* ---- devices ----------------------------------------------------------------------- */

static json_t *device_at(json_t *root, const char *path)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(linux_of(root), "devices"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "path")), path) == 0)
            return d;
    }
    return NULL;
}

static bool has_rule(json_t *root, bool allow, const char *type, int major, int minor, const char *access)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(linux_of(root), "resources"), "devices"), i, r)
    {
        json_t *ma = json_object_get(r, "major"), *mi = json_object_get(r, "minor");
        if (json_is_true(json_object_get(r, "allow")) == allow &&
            strcmp(json_string_value(json_object_get(r, "type")), type) == 0 &&
            (major < 0 ? ma == NULL : json_integer_value(ma) == major) &&
            (minor < 0 ? mi == NULL : json_integer_value(mi) == minor) &&
            strcmp(json_string_value(json_object_get(r, "access")), access) == 0)
            return true;
    }
    return false;
}

static void test_devices(void **state)
{
    fixture *f = *state;
    char link[256];
    snprintf(link, sizeof(link), "%s/null-link", f->dir);
    assert_int_equal(symlink("/dev/null", link), 0);
    const ck_device_req d[] = {{.container_path = "/dev/mynull", .host_path = link, .permissions = "rw"},
                               {.container_path = "/dev/myzero", .host_path = "/dev/zero", .permissions = ""}};
    f->cfg.devices = d;
    f->cfg.n_devices = 2;
    json_t *root = spec_ok(f);
    json_t *dev = device_at(root, "/dev/mynull");
    assert_non_null(dev);
    assert_string_equal(json_string_value(json_object_get(dev, "type")), "c");
    assert_int_equal(json_integer_value(json_object_get(dev, "major")), 1);
    assert_int_equal(json_integer_value(json_object_get(dev, "minor")), 3);
    assert_int_equal(json_integer_value(json_object_get(dev, "fileMode")), 0666);
    assert_int_equal(json_array_size(json_object_get(linux_of(root), "devices")), 2);
    /* Deny all first, then the standard devices, then the requested ones. */
    json_t *rules = json_object_get(json_object_get(linux_of(root), "resources"), "devices");
    assert_false(json_is_true(json_object_get(json_array_get(rules, 0), "allow")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 0), "type")), "a");
    assert_true(has_rule(root, true, "c", 1, 3, "rwm"));
    assert_true(has_rule(root, true, "c", 136, -1, "rwm"));
    assert_true(has_rule(root, true, "c", -1, -1, "m"));
    assert_true(has_rule(root, true, "c", 1, 3, "rw"));
    assert_true(has_rule(root, true, "c", 1, 5, "rwm")); /* "" is every permission */
    json_decref(root);

    /* Not a device, not there. */
    const ck_device_req bad[] = {{.container_path = "/dev/x", .host_path = f->mountinfo, .permissions = "r"}};
    f->cfg.devices = bad;
    f->cfg.n_devices = 1;
    spec_fails(f, CK_E_INVALID, "is not a device");
    const ck_device_req gone[] = {{.container_path = "/dev/x", .host_path = "/dev/no-such-device"}};
    f->cfg.devices = gone;
    spec_fails(f, CK_E_INVALID, "/dev/no-such-device");
}

static void test_privileged(void **state)
{
    fixture *f = *state;
    f->cfg.security.privileged = true;
    spec_fails(f, CK_E_INVALID, "needs a privileged pod");
    f->pod.privileged = true;
    const ck_strs drop = {(const char *const[]){"ALL"}, 1};
    f->cfg.security.drop_capabilities = drop; /* ignored: privileged is everything */
    f->in.host.dev_dir = "/dev";
    f->in.host.cgroup_v2 = 1;
    json_t *root = spec_ok(f);
    /* Every capability of the daemon's bounding set, and no more. */
    assert_int_equal(json_array_size(caps_of(root)), 40);
    assert_true(array_has(caps_of(root), "CAP_SYS_ADMIN"));
    assert_false(array_has(caps_of(root), "CAP_SYS_RESOURCE"));
    /* The host's devices, all allowed; /proc and /sys not hidden. */
    json_t *null = device_at(root, "/dev/null");
    assert_non_null(null);
    assert_int_equal(json_integer_value(json_object_get(null, "minor")), 3);
    assert_null(device_at(root, "/dev/console"));
    assert_true(has_rule(root, true, "a", -1, -1, "rwm"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(linux_of(root), "resources"), "devices")), 1);
    assert_int_equal(json_array_size(json_object_get(linux_of(root), "maskedPaths")), 0);
    assert_int_equal(json_array_size(json_object_get(linux_of(root), "readonlyPaths")), 0);
    assert_true(array_has(json_object_get(mount_at(root, "/sys"), "options"), "rw"));
    assert_true(array_has(json_object_get(mount_at(root, "/sys/fs/cgroup"), "options"), "rw"));
    bool present;
    ns_path(root, "cgroup", &present);
    assert_false(present); /* privileged keeps the host's cgroup namespace, even on v2 */
    assert_null(json_object_get(linux_of(root), "seccomp"));
    json_decref(root);
    /* A privileged container ignores its profile, even one that is not there. */
    f->cfg.security.seccomp = (ck_seccomp_choice){CK_SECCOMP_LOCALHOST, "/nonexistent/profile.json"};
    root = spec_ok(f);
    assert_null(json_object_get(linux_of(root), "seccomp"));
    json_decref(root);
}

/* ---- seccomp ----------------------------------------------------------------------- */

/* Whether a rule of profile allows name, and with how many conditions. */
static bool seccomp_allows(json_t *profile, const char *name, size_t *n_args)
{
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
    {
        if (strcmp(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ALLOW") != 0 ||
            !array_has(json_object_get(rule, "names"), name))
            continue;
        if (n_args != NULL)
            *n_args = json_array_size(json_object_get(rule, "args"));
        return true;
    }
    return false;
}

static void test_seccomp(void **state)
{
    fixture *f = *state;
    /* No choice made: unconfined, as the CRI defines a nil profile. */
    json_t *root = spec_ok(f);
    assert_null(json_object_get(linux_of(root), "seccomp"));
    json_decref(root);

    f->cfg.security.seccomp = (ck_seccomp_choice){CK_SECCOMP_RUNTIME_DEFAULT, NULL};
    root = spec_ok(f);
    json_t *sc = json_object_get(linux_of(root), "seccomp");
    assert_non_null(sc);
    assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), 1);
    assert_true(json_array_size(json_object_get(sc, "architectures")) > 0);
    size_t n_args = 9;
    assert_true(seccomp_allows(sc, "read", &n_args));
    assert_int_equal(n_args, 0);
    /* Without CAP_SYS_ADMIN: no mount, clone only without namespace flags. */
    assert_false(seccomp_allows(sc, "mount", NULL));
    assert_false(seccomp_allows(sc, "unshare", NULL));
    assert_true(seccomp_allows(sc, "clone", &n_args));
    assert_int_equal(n_args, 1);
    assert_false(seccomp_allows(sc, "keyctl", NULL));
    assert_false(seccomp_allows(sc, "kexec_load", NULL));
    assert_true(seccomp_allows(sc, "chroot", NULL)); /* SYS_CHROOT is a default capability */
    json_decref(root);

    /* Adding SYS_ADMIN opens what it governs. */
    const ck_strs add = {(const char *const[]){"SYS_ADMIN"}, 1};
    f->cfg.security.add_capabilities = add;
    root = spec_ok(f);
    sc = json_object_get(linux_of(root), "seccomp");
    assert_true(seccomp_allows(sc, "mount", NULL));
    assert_true(seccomp_allows(sc, "clone", &n_args));
    assert_int_equal(n_args, 0);
    json_decref(root);

    /* Localhost: the file's rules; a missing file fails before anything is written. */
    char path[256];
    snprintf(path, sizeof(path), "%s/profile.json", f->dir);
    write_file(f->dir, "profile.json",
               "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
               "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
    f->cfg.security.seccomp = (ck_seccomp_choice){CK_SECCOMP_LOCALHOST, path};
    root = spec_ok(f);
    sc = json_object_get(linux_of(root), "seccomp");
    assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ALLOW");
    json_t *rule = json_array_get(json_object_get(sc, "syscalls"), 0);
    assert_true(array_has(json_object_get(rule, "names"), "mkdirat"));
    assert_int_equal(json_integer_value(json_object_get(rule, "errnoRet")), 13);
    json_decref(root);
    f->cfg.security.seccomp.path = "/nonexistent/profile.json";
    spec_fails(f, CK_E_INVALID, "seccomp profile /nonexistent/profile.json: cannot read it");
}

/* ---- namespaces -------------------------------------------------------------------- */

static void expect_ns(json_t *root, const char *type, bool want_present, const char *want_path)
{
    bool present;
    const char *path = ns_path(root, type, &present);
    if (present != want_present)
        fail_msg("namespace %s: present %d, want %d", type, present, want_present);
    if (want_path == NULL)
        assert_null(path);
    else
        assert_string_equal(path, want_path);
}

static void test_namespaces(void **state)
{
    fixture *f = *state;
    json_t *root = spec_ok(f);
    expect_ns(root, "mount", true, NULL);
    expect_ns(root, "network", true, "/run/cricket/netns/pod1");
    expect_ns(root, "uts", true, "/proc/42/ns/uts");
    expect_ns(root, "ipc", true, "/proc/42/ns/ipc");
    expect_ns(root, "pid", true, "/proc/42/ns/pid");
    expect_ns(root, "cgroup", false, NULL); /* cgroup v1: the host's, as containerd does */
    assert_null(json_object_get(root, "hostname"));
    assert_string_equal(json_string_value(json_object_get(linux_of(root), "cgroupsPath")),
                        "/kubepods/pod1/cricket-c1id");
    assert_string_equal(f->out.cgroups_path, "/kubepods/pod1/cricket-c1id");
    json_decref(root);

    f->pod.ns_network = CK_NS_NODE;
    f->pod.ns_ipc = CK_NS_NODE;
    f->cfg.security.ns_pid = CK_NS_CONTAINER;
    f->in.host.cgroup_v2 = 1;
    root = spec_ok(f);
    expect_ns(root, "network", false, NULL);
    expect_ns(root, "uts", false, NULL);
    expect_ns(root, "ipc", false, NULL);
    expect_ns(root, "pid", true, NULL);
    expect_ns(root, "cgroup", true, NULL);
    json_decref(root);

    f->cfg.security.ns_pid = CK_NS_NODE;
    root = spec_ok(f);
    expect_ns(root, "pid", false, NULL);
    json_decref(root);

    f->cfg.security.ns_pid = CK_NS_TARGET;
    f->cfg.security.ns_target_id = "other";
    spec_fails(f, CK_E_INVALID, "pid namespace TARGET (container other) is not supported");
    f->in.target_pid_ns = "/proc/77/ns/pid";
    root = spec_ok(f);
    expect_ns(root, "pid", true, "/proc/77/ns/pid");
    json_decref(root);

    f->pod.ready = false;
    spec_fails(f, CK_E_PRECONDITION, "pod pod1 is not ready");
    f->pod.ready = true;
    f->pod.ns_network = CK_NS_POD;
    f->pod.netns[0] = '\0';
    spec_fails(f, CK_E_PRECONDITION, "pod pod1 has no network namespace");
}

/* ---- security ---------------------------------------------------------------------- */

static void expect_caps(fixture *f, const char *want)
{
    char buf[1024];
    json_t *root = spec_ok(f);
    const char *got = joined(caps_of(root), buf, sizeof(buf));
    if (strcmp(got, want) != 0)
        fail_msg("caps \"%s\", want \"%s\"", got, want);
    json_t *c = json_object_get(process_of(root), "capabilities");
    assert_true(json_equal(json_object_get(c, "effective"), caps_of(root)));
    assert_true(json_equal(json_object_get(c, "permitted"), caps_of(root)));
    json_decref(root);
}

static void test_capabilities(void **state)
{
    fixture *f = *state;
    ck_container_security *sec = &f->cfg.security;
    expect_caps(f, "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP "
                   "CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP");
    sec->add_capabilities = (ck_strs){(const char *const[]){"NET_ADMIN", "cap_sys_time"}, 2};
    sec->drop_capabilities = (ck_strs){(const char *const[]){"CAP_NET_RAW", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER",
                                                             "FSETID", "SETGID", "SETUID", "SETPCAP"},
                                       9};
    expect_caps(f, "CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_SYS_CHROOT CAP_SYS_TIME CAP_MKNOD CAP_AUDIT_WRITE "
                   "CAP_SETFCAP");
    /* Drop ALL then add one: that one only. Add ALL then drop one: all but it. */
    sec->drop_capabilities = (ck_strs){(const char *const[]){"ALL"}, 1};
    sec->add_capabilities = (ck_strs){(const char *const[]){"NET_ADMIN"}, 1};
    expect_caps(f, "CAP_NET_ADMIN");
    sec->add_capabilities = (ck_strs){NULL, 0};
    expect_caps(f, "");
    sec->add_capabilities = (ck_strs){(const char *const[]){"all"}, 1};
    sec->drop_capabilities = (ck_strs){(const char *const[]){"SYS_ADMIN"}, 1};
    json_t *root = spec_ok(f);
    assert_int_equal(json_array_size(caps_of(root)), 39); /* the bounding set less SYS_ADMIN */
    assert_false(array_has(caps_of(root), "CAP_SYS_RESOURCE"));
    assert_true(array_has(caps_of(root), "CAP_CHECKPOINT_RESTORE"));
    json_decref(root);
    /* Outside the daemon's own set: no container can have it. */
    sec->drop_capabilities = (ck_strs){NULL, 0};
    sec->add_capabilities = (ck_strs){(const char *const[]){"SYS_RESOURCE"}, 1};
    spec_fails(f, CK_E_PRECONDITION, "CAP_SYS_RESOURCE is not in cricket's own bounding set");
    sec->add_capabilities = (ck_strs){(const char *const[]){"NET_MAGIC"}, 1};
    spec_fails(f, CK_E_INVALID, "add_capabilities[0] \"NET_MAGIC\" is not a capability");
}

static void test_paths_and_privileges(void **state)
{
    fixture *f = *state;
    json_t *root = spec_ok(f);
    json_t *lx = linux_of(root);
    assert_true(array_has(json_object_get(lx, "maskedPaths"), "/proc/kcore"));
    assert_true(array_has(json_object_get(lx, "readonlyPaths"), "/proc/sys"));
    assert_false(json_is_true(json_object_get(process_of(root), "noNewPrivileges")));
    assert_false(json_is_true(json_object_get(json_object_get(root, "root"), "readonly")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "root"), "path")), f->rootfs);
    json_decref(root);
    /* The request's lists replace the defaults, even empty ones. */
    ck_container_security *sec = &f->cfg.security;
    sec->has_masked_paths = true;
    sec->masked_paths = (ck_strs){(const char *const[]){"/bin/ls"}, 1};
    sec->has_readonly_paths = true;
    sec->readonly_paths = (ck_strs){NULL, 0};
    sec->no_new_privs = true;
    root = spec_ok(f);
    lx = linux_of(root);
    char buf[256];
    assert_string_equal(joined(json_object_get(lx, "maskedPaths"), buf, sizeof(buf)), "/bin/ls");
    assert_int_equal(json_array_size(json_object_get(lx, "readonlyPaths")), 0);
    assert_true(json_is_true(json_object_get(process_of(root), "noNewPrivileges")));
    json_decref(root);
}

/* ---- resources --------------------------------------------------------------------- */

static void test_resources(void **state)
{
    fixture *f = *state;
    const ck_hugepage_limit huge[] = {{"2MB", 4 << 20}, {"1GB", 0}};
    f->cfg.has_resources = true;
    f->cfg.resources = (ck_container_resources){.cpu_period = 100000,
                                                .cpu_quota = 50000,
                                                .cpu_shares = 256,
                                                .memory_limit_in_bytes = 15 << 20,
                                                .oom_score_adj = 999,
                                                .cpuset_cpus = "0-1",
                                                .cpuset_mems = "",
                                                .hugepages = huge,
                                                .n_hugepages = 2};
    json_t *root = spec_ok(f);
    json_t *res = json_object_get(linux_of(root), "resources");
    json_t *cpu = json_object_get(res, "cpu"), *mem = json_object_get(res, "memory");
    assert_int_equal(json_integer_value(json_object_get(cpu, "shares")), 256);
    assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 50000);
    assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 100000);
    assert_string_equal(json_string_value(json_object_get(cpu, "cpus")), "0-1");
    assert_null(json_object_get(cpu, "mems"));
    assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 15 << 20);
    assert_int_equal(json_integer_value(json_object_get(mem, "swap")), 15 << 20); /* no swap unless asked */
    json_t *h = json_object_get(res, "hugepageLimits");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "pageSize")), "2MB");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "limit")), 4 << 20);
    assert_null(json_object_get(res, "unified"));
    assert_int_equal(json_integer_value(json_object_get(process_of(root), "oomScoreAdj")), 999);
    json_decref(root);

    /* Swap equal to the limit is fine (the OOM test asks it); more is swap.
     * Without the hugetlb controller the limits are left out, as the
     * kubelet sends them for every page size. */
    f->cfg.resources.memory_swap_limit_in_bytes = 20 << 20;
    f->in.host.hugetlb_controller = -1;
    root = spec_ok(f);
    res = json_object_get(linux_of(root), "resources");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "swap")), 20 << 20);
    assert_null(json_object_get(res, "hugepageLimits"));
    json_decref(root);
    f->in.host.swap_controller = -1;
    root = spec_ok(f);
    res = json_object_get(linux_of(root), "resources");
    assert_null(json_object_get(json_object_get(res, "memory"), "swap"));
    json_decref(root);

    const ck_kv unified[] = {{"memory.high", "1000000"}};
    f->cfg.resources.unified = (ck_kvs){unified, 1};
    spec_fails(f, CK_E_PRECONDITION, "resources.unified (memory.high, ...) needs cgroup v2");
    f->in.host.cgroup_v2 = 1;
    root = spec_ok(f);
    res = json_object_get(linux_of(root), "resources");
    assert_string_equal(json_string_value(json_object_get(json_object_get(res, "unified"), "memory.high")), "1000000");
    json_decref(root);

    f->in.cgroup_driver = CK_CGROUP_SYSTEMD;
    spec_fails(f, CK_E_INVALID, "must be a systemd slice");
}

/* ---- annotations, stop signal ------------------------------------------------------ */

static void test_annotations_and_stop_signal(void **state)
{
    fixture *f = *state;
    const ck_kv ann[] = {{"team", "a"}, {"io.kubernetes.cri.container-type", "forged"}};
    f->cfg.annotations = (ck_kvs){ann, 2};
    json_t *root = spec_ok(f);
    json_t *a = json_object_get(root, "annotations");
    assert_string_equal(json_string_value(json_object_get(a, "team")), "a");
    assert_string_equal(json_string_value(json_object_get(a, "io.kubernetes.cri.container-type")), "container");
    assert_string_equal(json_string_value(json_object_get(a, "io.kubernetes.cri.sandbox-id")), "pod1");
    assert_string_equal(json_string_value(json_object_get(a, "io.kubernetes.cri.container-name")), "c1");
    assert_string_equal(json_string_value(json_object_get(a, "io.kubernetes.cri.image-name")), "busybox");
    assert_int_equal(f->out.stop_signal, SIGTERM);
    json_decref(root);

    f->image.stop_signal = "SIGQUIT";
    json_decref(spec_ok(f));
    assert_int_equal(f->out.stop_signal, SIGQUIT);
    f->cfg.stop_signal = "SIGUSR1";
    json_decref(spec_ok(f));
    assert_int_equal(f->out.stop_signal, SIGUSR1);
    f->cfg.stop_signal = "";
    f->image.stop_signal = "SIGNOPE";
    spec_fails(f, CK_E_INVALID, "the image's StopSignal \"SIGNOPE\" is not a signal");
}

/* ---- the request's checks ---------------------------------------------------------- */

static void expect_check_fails(const ck_container_config *cfg, ck_errkind kind, const char *msg)
{
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_container_config_check(cfg, &err), -1);
    if (err.kind != kind || strstr(err.msg, msg) == NULL)
        fail_msg("got %s \"%s\", want %s \"%s\"", ck_errkind_name(err.kind), err.msg, ck_errkind_name(kind), msg);
}

static void test_config_check(void **state)
{
    fixture *f = *state;
    ck_container_config c = f->cfg;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_container_config_check(&c, &err), 0);

    c.security.has_run_as_group = true;
    c.security.run_as_group = 1002;
    expect_check_fails(&c, CK_E_INVALID, "run_as_group is set without run_as_user or run_as_username");
    c.security.run_as_username = "app";
    assert_int_equal(ck_container_config_check(&c, &err), 0);
    c = f->cfg;
    c.security.has_run_as_user = true;
    c.security.run_as_user = -1;
    expect_check_fails(&c, CK_E_INVALID, "run_as_user -1 is not a valid uid");

    c = f->cfg;
    ck_mount_req m = {.container_path = "/data", .host_path = "/tmp", .readonly = false, .recursive_read_only = true};
    c.mounts = &m;
    c.n_mounts = 1;
    expect_check_fails(&c, CK_E_INVALID, "mounts[0] (/data): recursive_read_only needs readonly");
    m.readonly = true;
    m.propagation = CK_PROPAGATION_HOST_TO_CONTAINER;
    expect_check_fails(&c, CK_E_INVALID, "recursive_read_only needs propagation PRIVATE, not HOST_TO_CONTAINER");
    m.propagation = CK_PROPAGATION_BIDIRECTIONAL;
    expect_check_fails(&c, CK_E_INVALID, "not BIDIRECTIONAL");
    m.propagation = CK_PROPAGATION_PRIVATE;
    assert_int_equal(ck_container_config_check(&c, &err), 0);
    m.recursive_read_only = false;
    m.container_path = "data";
    expect_check_fails(&c, CK_E_INVALID, "mounts[0].container_path \"data\" must be an absolute path");
    m.container_path = "/data";
    m.host_path = "";
    expect_check_fails(&c, CK_E_INVALID, "mounts[0] (/data): host_path is empty");
    m.host_path = "/tmp";
    m.image = "busybox";
    expect_check_fails(&c, CK_E_UNIMPLEMENTED, "image volumes");

    c = f->cfg;
    ck_device_req d = {.container_path = "/dev/x", .host_path = "/dev/null", .permissions = "rwx"};
    c.devices = &d;
    c.n_devices = 1;
    expect_check_fails(&c, CK_E_INVALID, "devices[0] (/dev/x): permissions \"rwx\" are not a subset of \"rwm\"");

    c = f->cfg;
    c.has_resources = true;
    c.resources.memory_limit_in_bytes = 100;
    c.resources.memory_swap_limit_in_bytes = 50;
    expect_check_fails(&c, CK_E_INVALID, "memory_swap_limit_in_bytes 50 is below memory_limit_in_bytes 100");
    c.resources.memory_swap_limit_in_bytes = 0;
    c.resources.oom_score_adj = 1001;
    expect_check_fails(&c, CK_E_INVALID, "oom_score_adj 1001 is outside");
    c.resources.oom_score_adj = 0;
    const ck_hugepage_limit huge = {"2M", 1};
    c.resources.hugepages = &huge;
    c.resources.n_hugepages = 1;
    expect_check_fails(&c, CK_E_INVALID, "hugepage_limits[0].page_size \"2M\"");

    c = f->cfg;
    c.working_dir = "relative";
    expect_check_fails(&c, CK_E_INVALID, "working_dir \"relative\" must be an absolute path");
    c = f->cfg;
    c.stop_signal = "SIGWHAT";
    expect_check_fails(&c, CK_E_INVALID, "stop_signal \"SIGWHAT\" is not a signal");
    c = f->cfg;
    const ck_kv env[] = {{"A=B", "c"}};
    c.envs = (ck_kvs){env, 1};
    expect_check_fails(&c, CK_E_INVALID, "envs[0]: key \"A=B\"");
    c = f->cfg;
    c.security.has_masked_paths = true;
    c.security.masked_paths = (ck_strs){(const char *const[]){"proc/kcore"}, 1};
    expect_check_fails(&c, CK_E_INVALID, "masked_paths[0] \"proc/kcore\" must be an absolute path");
    c = f->cfg;
    c.security.ns_pid = CK_NS_TARGET;
    c.security.ns_target_id = "";
    expect_check_fails(&c, CK_E_INVALID, "pid TARGET needs a target_id");

    /* ck_container_spec_write checks too, before writing anything. */
    f->cfg.working_dir = "relative";
    spec_fails(f, CK_E_INVALID, "working_dir");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_parse),
        cmocka_unit_test_setup_teardown(test_args_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_and_cwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_and_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_and_pod_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cri_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursive_read_only_mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_namespace_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_propagation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_privileged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seccomp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_and_privileges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_annotations_and_stop_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
