/*
 * userns: mapping rules, pinned user namespaces and the host probe. See
 * userns.h.
 *
 * A user namespace is made by a short-lived child that unshares one and
 * waits on a pipe; the parent (privileged in the parent namespace) writes
 * its uid_map and gid_map, then bind-mounts /proc/<child>/ns/user onto the
 * pin file, and lets the child go. The child only makes system calls, as a
 * child of a threaded process must.
 */
#include "common/userns.h"

#include "common/nspin.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- mapping rules -------------------------------------------------------- */

int ck_userns_check_maps(const char *what, const ck_id_map *maps, size_t n, ck_err *err)
{
    if (n == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options: mode POD needs %s mappings", what);
    if (n > 1)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "userns_options: %zu %s mappings given, only one is supported (as the kubelet sends)", n,
                          what);
    /* One range: nothing can overlap. The kernel takes 32-bit ids, and
     * (uid_t)-1 is no id. */
    const ck_id_map *m = &maps[0];
    if (m->length == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options.%s[0]: length 0 maps nothing", what);
    if ((uint64_t)m->container_id + m->length > UINT32_MAX || (uint64_t)m->host_id + m->length > UINT32_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options.%s[0] {%u, %u, %u} goes past 2^32-2", what,
                          m->container_id, m->host_id, m->length);
    if (maps[0].container_id != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "userns_options.%s: container id 0 is not mapped (the pod's root)",
                          what);
    if (maps[0].host_id == 0)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "userns_options.%s: host id 0 is mapped, which would make the pod's root the host's", what);
    return 0;
}

/* ---- a child holding a new user namespace ------------------------------------- */

typedef struct holder {
    pid_t pid;
    int release; /* closing it lets the child exit */
} holder;

static void holder_end(holder *h)
{
    if (h->release >= 0)
        close(h->release);
    h->release = -1;
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    h->pid = -1;
}

static int write_map(pid_t pid, const char *file, const ck_id_map *m)
{
    char path[64], text[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int len = snprintf(text, sizeof(text), "%u %u %u\n", m->container_id, m->host_id, m->length);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, (size_t)len);
    int e = errno;
    close(fd);
    errno = e;
    return w == len ? 0 : -1;
}

/* A child in a new user namespace with these mappings, waiting. */
static int holder_start(const ck_id_map *uid, const ck_id_map *gid, holder *h, ck_err *err)
{
    h->pid = -1;
    h->release = -1;
    int ready[2], release[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "user namespace: pipe");
    if (pipe2(release, O_CLOEXEC) < 0) {
        int e = errno;
        close(ready[0]);
        close(ready[1]);
        return ck_err_set(err, CK_E_INTERNAL, e, "user namespace: pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        char c = unshare(CLONE_NEWUSER) == 0 ? 'k' : 'e';
        if (write(ready[1], &c, 1) != 1 || c != 'k')
            _exit(1);
        close(release[1]);
        ssize_t n = read(release[0], &c, 1); /* until the parent closes its end */
        _exit(n < 0 ? 1 : 0);
    }
    int e = errno;
    close(ready[1]);
    close(release[0]);
    h->pid = pid;
    h->release = release[1];
    if (pid < 0) {
        close(ready[0]);
        holder_end(h);
        return ck_err_set(err, CK_E_INTERNAL, e, "user namespace: fork");
    }
    char c = 0;
    ssize_t n;
    while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    if (n != 1 || c != 'k') {
        holder_end(h);
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "user namespace: the kernel refused to create one (unshare)");
    }
    if (write_map(pid, "uid_map", uid) < 0 || write_map(pid, "gid_map", gid) < 0) {
        e = errno;
        holder_end(h);
        return ck_err_set(err, CK_E_INTERNAL, e, "user namespace: write its id mappings");
    }
    return 0;
}

/* ---- pinned user namespaces ------------------------------------------------------ */

int ck_userns_create(const char *dir, const char *name, const ck_id_map *uid, const ck_id_map *gid, char *path_out,
                     size_t size, ck_err *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create user namespace dir %s", dir);
    if (snprintf(path_out, size, "%s/%s", dir, name) >= (int)size)
        return ck_err_set(err, CK_E_INTERNAL, 0, "user namespace path %s/%s is too long", dir, name);
    int fd = open(path_out, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return ck_err_set(err, errno == EEXIST ? CK_E_EXISTS : CK_E_INTERNAL, errno, "create %s", path_out);
    close(fd);
    holder h;
    if (holder_start(uid, gid, &h, err) < 0) {
        unlink(path_out);
        return -1;
    }
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)h.pid);
    int rc = 0;
    if (mount(ns, path_out, NULL, MS_BIND, NULL) < 0) {
        rc = ck_err_set(err, CK_E_INTERNAL, errno, "pin user namespace on %s", path_out);
        unlink(path_out);
    }
    holder_end(&h);
    return rc;
}

int ck_userns_remove(const char *path, ck_err *err)
{
    return ck_ns_unpin(path, "user namespace", err);
}

/* ---- the probe ------------------------------------------------------------------------ */

/* Every directory from / down to dir can be searched by anyone: a process
 * whose ids are a mapped range has no more than "other" rights on files of
 * the host's root. */
static bool reachable(const char *dir, char *why, size_t size)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len >= sizeof(path))
        len = sizeof(path) - 1;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && dir[i] != '/')
            continue;
        memcpy(path, dir, i);
        path[i] = '\0';
        struct stat st;
        if (stat(path, &st) < 0) {
            snprintf(why, size, "stat %s: %s", path, strerror(errno));
            return false;
        }
        if ((st.st_mode & S_IXOTH) == 0) {
            snprintf(why, size, "%s cannot be searched from a user namespace (mode %o; 0711 would do)", path,
                     (unsigned)(st.st_mode & 07777));
            return false;
        }
    }
    return true;
}

bool ck_userns_probe(const char *dir, char *why, size_t size)
{
    const ck_id_map probe = {0, 100000, 65536};
    holder h;
    ck_err e;
    ck_err_clear(&e);
    if (holder_start(&probe, &probe, &h, &e) < 0) {
        snprintf(why, size, "%s", e.msg);
        return false;
    }
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)h.pid);
    int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
    bool ok = false;
    int tree = nsfd < 0 ? -1 : open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) {
        snprintf(why, size, "open_tree %s: %s", dir, strerror(errno));
    } else {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)nsfd};
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
            snprintf(why, size, "the filesystem of %s takes no idmapped mount: %s", dir, strerror(errno));
        else
            ok = reachable(dir, why, size);
        close(tree);
    }
    if (nsfd >= 0)
        close(nsfd);
    holder_end(&h);
    return ok;
}
