/*
 * probe: the bundle is a config.json and an empty rootfs; the host's
 * directories that hold `true` and its libraries are bind-mounted read-only
 * into it. The container gets new mount, pid, ipc, uts and network
 * namespaces and a cgroup of its own, as a pod's would, so a runtime that
 * cannot manage cgroups or namespaces here fails the probe the way it would
 * fail a pod. The runtime is run through common/spawn, as the daemon runs
 * it: clean environment, no descriptor of ours, its group killed after
 * PROBE_TIMEOUT_S.
 */
#include "oci/probe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/spawn.h"
#include "oci/spec.h"

enum { PROBE_TIMEOUT_S = 30 };

static const char *const host_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"};

enum { PROBE_MAX_MOUNTS = 8 };

/* /proc, and each host directory that holds `true` and its libraries,
 * read-only. */
static size_t probe_mounts(ck_oci_mount *m)
{
    static const char *const bind_ro[] = {"rbind", "ro", "nosuid", NULL};
    size_t n = 0;
    m[n++] = (ck_oci_mount){"/proc", "proc", "proc", NULL};
    for (size_t i = 0; i < sizeof(host_dirs) / sizeof(host_dirs[0]) && n < PROBE_MAX_MOUNTS; i++) {
        struct stat st;
        /* /bin may be a symlink to usr/bin (merged /usr): bind the real dir only. */
        if (lstat(host_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        m[n++] = (ck_oci_mount){host_dirs[i], "bind", host_dirs[i], bind_ro};
    }
    return n;
}

/* On a merged-/usr host /bin, /lib and /lib64 are symlinks into /usr: the
 * rootfs gets the same links, so the dynamic loader is where binaries expect it. */
static int link_host_symlinks(const char *rootfs, ck_err *err)
{
    for (size_t i = 0; i < sizeof(host_dirs) / sizeof(host_dirs[0]); i++) {
        char target[PATH_MAX], link[PATH_MAX];
        ssize_t n = readlink(host_dirs[i], target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        snprintf(link, sizeof(link), "%s%s", rootfs, host_dirs[i]);
        if (symlink(target, link) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "link %s in the probe rootfs", host_dirs[i]);
    }
    return 0;
}

int ck_oci_probe_bundle(const char *bundle, const char *cgroup_name, const char *const *args, ck_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/rootfs", bundle);
    if (mkdir(bundle, 0700) < 0 || mkdir(path, 0755) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create probe bundle %s", bundle);
    if (link_host_symlinks(path, err) < 0)
        return -1;
    static const char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    static const ck_oci_namespace namespaces[] = {
        {"pid", NULL}, {"mount", NULL}, {"ipc", NULL}, {"uts", NULL}, {"network", NULL}};
    ck_oci_mount mounts[PROBE_MAX_MOUNTS];
    ck_oci_spec spec = {
        .process = {.args = args, .env = env},
        .root_path = "rootfs",
        .root_readonly = true,
        .hostname = "cricket-check",
        .mounts = mounts,
        .n_mounts = probe_mounts(mounts),
        .namespaces = namespaces,
        .n_namespaces = sizeof(namespaces) / sizeof(namespaces[0]),
        .cgroups_path = cgroup_name,
    };
    if (ck_oci_spec_write(&spec, bundle, err) < 0)
        return ck_err_wrap(err, "probe spec");
    return 0;
}

/* The runtime's most telling line: the last non-empty one, with runc's and
 * crun's "level=error msg=" wrapping left as it is. */
static void last_line(const char *text, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *line = text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        if (len > 0)
            snprintf(out, cap, "%.*s", (int)len, line);
        line += len;
        if (*line == '\n')
            line++;
    }
}

/* Runs argv (through common/spawn, as the daemon runs the runtime) within
 * the probe's bound: its exit status, or -1 when it could not run or was
 * killed. why, when not NULL, gets its last line of stderr, else of stdout. */
static int run_bounded(const char *const argv[], char *why, size_t cap)
{
    ck_spawn_result res;
    ck_err err;
    ck_err_clear(&err);
    if (ck_spawn(argv, NULL, NULL, PROBE_TIMEOUT_S * 1000, &res, &err) < 0) {
        if (why != NULL)
            snprintf(why, cap, "%s", err.msg);
        return -1;
    }
    if (why != NULL) {
        last_line(res.errout, why, cap);
        if (why[0] == '\0')
            last_line(res.out, why, cap);
    }
    int status = res.timed_out ? -1 : res.status;
    ck_spawn_result_clear(&res);
    return status;
}

int ck_oci_probe_run(const ck_runtime_handler *handler, const char *work_dir, ck_err *err)
{
    char bundle[PATH_MAX], root[PATH_MAX], id[64];
    snprintf(id, sizeof(id), "cricket-check-%d-%s", (int)getpid(), handler->name);
    snprintf(bundle, sizeof(bundle), "%s/bundle-%s", work_dir, handler->name);
    snprintf(root, sizeof(root), "%s/root-%s", work_dir, handler->name);
    ck_err ignored;
    static const char *const args[] = {"true", NULL};
    if (ck_oci_probe_bundle(bundle, id, args, err) < 0) {
        ck_rm_rf(bundle, &ignored);
        return -1;
    }

    const char *run[] = {handler->path, "--root", root, "run", "--bundle", bundle, id, NULL};
    char why[512];
    int status = run_bounded(run, why, sizeof(why));
    /* Whatever happened, leave no container, state or cgroup behind. */
    const char *del[] = {handler->path, "--root", root, "delete", "--force", id, NULL};
    run_bounded(del, NULL, 0);
    if (ck_rm_rf(root, err) < 0 || ck_rm_rf(bundle, err) < 0)
        return ck_err_wrap(err, "clean up the %s probe", handler->name);

    if (status == 0)
        return 0;
    if (status < 0 && why[0] == '\0')
        snprintf(why, sizeof(why), "no answer within %d s", PROBE_TIMEOUT_S);
    return ck_err_set(err, CK_E_UNAVAILABLE, 0, "runtime %s (%s) cannot run a container here: %s", handler->name,
                      handler->path, why[0] != '\0' ? why : "it failed without a message");
}
