/*
 * readonly_trees: the mounts runc 1.1.5 cannot make itself, staged by
 * cricket as clones of their host paths (common/mount.c ck_mount_tree):
 *  - the CRI's recursive read-only mounts (KEP-3857): runc binds with "ro"
 *    on the top mount only, so the clone is read-only at every depth;
 *  - every volume of a pod with its own user namespace (KEP-127): runc
 *    ignores mounts[].uidMappings, so the clone is idmapped through the
 *    pod's pinned user namespace (the host's 0 on disk is the container's
 *    0, as for its rootfs; see check_mount_in_pod in spec.c for the rules);
 *  - both at once for a recursive read-only volume of such a pod;
 *  - the pod's /etc files (hostname, hosts, resolv.conf) in such a pod,
 *    idmapped, at <run_dir>/rro/etc-<name>, so the container's root owns
 *    them as in any other pod.
 * Each clone is attached at <run_dir>/rro/<index of the mount in the
 * request> just before the runtime's `run` (StartContainer), and the spec
 * binds that instead of the host path (ck_container_mount_staged says
 * which mounts). CreateContainer makes each clone and lets it go
 * unattached: a host path that cannot be idmapped is refused there.
 *
 * The clones are needed only while runc builds the container's mount
 * namespace, which holds copies of its own: they are detached once the
 * runtime's `run` returned, whatever it said, and on every way out that
 * skips it (RemoveContainer, the restart after a start cut short), always before the run dir is removed, as removing files under
 * a still-attached clone would walk into the host's directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mount.h"
#include "containers/containers_internal.h"
#include "containers/spec.h"

void ct_readonly_trees_dir(const char *run_dir, char *out, size_t size)
{
    snprintf(out, size, "%s/rro", run_dir);
}

/* The mount point matches the source: a directory, or an empty file. */
static int make_mount_point(const char *source, const char *target, ck_err *err)
{
    struct stat st;
    if (stat(source, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "stat %s", source);
    if (S_ISDIR(st.st_mode))
        return mkdir(target, 0700) < 0 ? ck_err_set(err, CK_E_INTERNAL, errno, "create %s", target) : 0;
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", target);
    close(fd);
    return 0;
}

/* target NULL: the clone is made and let go (a check). */
static int stage_one(const ck_mount_req *m, const char *target, const ck_mount_tree_attrs *attrs, ck_err *err)
{
    struct stat st;
    /* A missing host path is made a directory, as for any bind. */
    if (stat(m->host_path, &st) < 0) {
        if (errno != ENOENT)
            return ck_err_set(err, CK_E_INTERNAL, errno, "stat host path %s", m->host_path);
        if (ck_mkdir_p(m->host_path, 0755, err) < 0)
            return ck_err_wrap(err, "create the missing host path");
    }
    if (target == NULL)
        return ck_mount_tree_check(m->host_path, attrs, err);
    if (make_mount_point(m->host_path, target, err) < 0 || ck_mount_tree(m->host_path, target, attrs, err) < 0)
        return -1;
    return 0;
}

static const char *what_staged(const ck_mount_tree_attrs *attrs)
{
    if (attrs->userns_fd < 0)
        return "recursive read-only";
    return attrs->readonly ? "idmapped recursive read-only" : "idmapped";
}

static int stage_all(const ck_container_config *cfg, const ck_sandbox_context *pod, int userns, const char *dir,
                     ck_err *err)
{
    bool made = false;
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const ck_mount_req *m = &cfg->mounts[i];
        if (!ck_container_mount_staged(m, pod))
            continue;
        if (dir != NULL && !made && mkdir(dir, 0700) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", dir);
        made = true;
        char target[PATH_MAX + 32];
        snprintf(target, sizeof(target), "%s/%zu", dir != NULL ? dir : "", i);
        const ck_mount_tree_attrs attrs = {.readonly = m->recursive_read_only, .userns_fd = userns};
        if (stage_one(m, dir != NULL ? target : NULL, &attrs, err) < 0)
            return ck_err_wrap(err, "mount %s (host path %s): %s", m->container_path, m->host_path,
                               what_staged(&attrs));
    }
    return 0;
}

/* The pod's /etc files, idmapped as its volumes are: each one that exists
 * (a pod may have no resolv.conf). */
static int stage_pod_files(const ck_sandbox_context *pod, int userns, const char *dir, ck_err *err)
{
    ck_pod_file files[CK_POD_FILES];
    ck_container_pod_files(pod, files);
    const ck_mount_tree_attrs attrs = {.readonly = false, .userns_fd = userns};
    for (size_t i = 0; i < CK_POD_FILES; i++) {
        if (files[i].source[0] == '\0' || access(files[i].source, F_OK) < 0)
            continue;
        if (dir == NULL) {
            if (ck_mount_tree_check(files[i].source, &attrs, err) < 0)
                return ck_err_wrap(err, "%s of pod %s: idmapped", files[i].dest, pod->id);
            continue;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return ck_err_set(err, CK_E_INTERNAL, errno, "create %s", dir);
        char target[PATH_MAX + 32];
        snprintf(target, sizeof(target), "%s/%s", dir, files[i].staged_name);
        if (make_mount_point(files[i].source, target, err) < 0 ||
            ck_mount_tree(files[i].source, target, &attrs, err) < 0)
            return ck_err_wrap(err, "%s of pod %s: idmapped", files[i].dest, pod->id);
    }
    return 0;
}

int ct_readonly_trees_stage(const ck_container_config *cfg, const ck_sandbox_context *pod, const char *run_dir,
                            ck_err *err)
{
    char buf[PATH_MAX];
    const char *dir = NULL;
    if (run_dir != NULL) {
        ct_readonly_trees_dir(run_dir, buf, sizeof(buf));
        dir = buf;
    }
    _cleanup_close_ int userns = -1;
    if (pod->own_userns) {
        userns = open(pod->userns, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "open the user namespace of pod %s at %s", pod->id,
                              pod->userns);
    }
    if (stage_all(cfg, pod, userns, dir, err) < 0)
        return -1;
    return pod->own_userns ? stage_pod_files(pod, userns, dir, err) : 0;
}

int ct_readonly_trees_check(const ck_container_config *cfg, const ck_sandbox_context *pod, ck_err *err)
{
    return ct_readonly_trees_stage(cfg, pod, NULL, err);
}

int ct_readonly_trees_release(const char *run_dir, ck_err *err)
{
    char dir[PATH_MAX];
    ct_readonly_trees_dir(run_dir, dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : ck_err_set(err, CK_E_INTERNAL, errno, "open %s", dir);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char target[PATH_MAX + 256];
        snprintf(target, sizeof(target), "%s/%s", dir, e->d_name);
        if (ck_mount_detach(target, err) < 0)
            rc = -1;
        else if (remove(target) < 0)
            rc = ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", target);
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) < 0)
        rc = ck_err_set(err, CK_E_INTERNAL, errno, "remove %s", dir);
    return rc;
}
