/*
 * netns: creation, pinning and removal of network namespaces. See netns.h.
 */
#include "netcni/netns.h"

#include "common/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* A new network namespace for the calling thread (or child), its loopback
 * up: 0, or the failed step (1 unshare, 2 bring up lo) with errno saved in
 * *e. Only system calls: it also runs in a child forked from threads. */
static int new_netns_lo_up(int *e)
{
    if (unshare(CLONE_NEWNET) < 0) {
        *e = errno;
        return 1;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0; /* no IPv4 here: there is no loopback to bring up either */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            *e = errno;
            rc = 2;
        }
    }
    close(s);
    return rc;
}

/* The namespace is made on a thread of its own (common/thread.h), not in a
 * forked child, which cost several milliseconds of CPU on each pod start;
 * the thread pins it by bind-mounting its own /proc/thread-self/ns/net. */
typedef struct pin_job {
    const char *path;
    int step; /* 0 done; 1 unshare, 2 bring up lo, 3 bind mount */
    int errno_;
} pin_job;

static void *pin_thread(void *arg)
{
    pin_job *j = arg;
    j->step = new_netns_lo_up(&j->errno_);
    /* "none": a bind mount has no type (the kernel ignores it), but valgrind
     * checks the pointer now that this runs in the daemon, not a child. */
    if (j->step == 0 && mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND, NULL) < 0) {
        j->errno_ = errno;
        j->step = 3;
    }
    return NULL; /* the thread ends; the bind mount keeps the namespace */
}

static int create_file(const char *dir, const char *name, char *path_out, size_t size, ck_err *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create netns dir %s", dir);
    if (snprintf(path_out, size, "%s/%s", dir, name) >= (int)size)
        return ck_err_set(err, CK_E_INTERNAL, 0, "netns path %s/%s is too long", dir, name);
    int fd = open(path_out, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return ck_err_set(err, errno == EEXIST ? CK_E_EXISTS : CK_E_INTERNAL, errno, "create netns file %s", path_out);
    close(fd);
    return 0;
}

int ck_netns_create(const char *dir, const char *name, char *path_out, size_t size, ck_err *err)
{
    if (create_file(dir, name, path_out, size, err) < 0)
        return -1;
    pin_job job = {.path = path_out};
    int rc = ck_thread_run_small(pin_thread, &job);
    if (rc != 0) {
        unlink(path_out);
        return ck_err_set(err, CK_E_INTERNAL, rc, "create netns %s: start its thread", path_out);
    }
    if (job.step != 0) {
        umount2(path_out, MNT_DETACH);
        unlink(path_out);
        static const char *const steps[] = {"", "unshare", "bring up lo", "bind mount"};
        return ck_err_set(err, CK_E_INTERNAL, job.errno_, "create netns %s: %s failed", path_out, steps[job.step]);
    }
    return 0;
}

/* In the child: joins the user namespace, makes the network namespace, says
 * so on ready and waits for the parent (which pins it: the child, in the
 * pod's user namespace, may not mount in the host's mount namespace) to
 * close release. */
static int owned_child(int userns, int ready, int release, int release_w)
{
    close(release_w); /* or the read below would wait for itself */
    if (setns(userns, CLONE_NEWUSER) < 0)
        return 1;
    int e = 0;
    int rc = new_netns_lo_up(&e);
    char c = 'k';
    if (rc != 0)
        c = rc == 1 ? (char)'1' : (char)'2'; /* unshare or lo failed */
    if (write(ready, &c, 1) != 1 || rc != 0)
        return rc != 0 ? rc : 1;
    ssize_t n = read(release, &c, 1);
    return n < 0 ? 1 : 0;
}

static int reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

int ck_netns_create_in(const char *dir, const char *name, const char *userns_path, char *path_out, size_t size,
                       ck_err *err)
{
    if (userns_path == NULL || userns_path[0] == '\0')
        return ck_netns_create(dir, name, path_out, size, err);
    int userns = open(userns_path, O_RDONLY | O_CLOEXEC);
    if (userns < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open user namespace %s", userns_path);
    int ready[2] = {-1, -1}, release[2] = {-1, -1};
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++)
            if (ready[i] >= 0)
                close(ready[i]);
        close(userns);
        return ck_err_set(err, CK_E_INTERNAL, e, "create netns: pipe");
    }
    pid_t pid = create_file(dir, name, path_out, size, err) < 0 ? -2 : fork();
    if (pid == 0)
        _exit(owned_child(userns, ready[1], release[0], release[1]));
    int e = errno;
    close(userns);
    close(ready[1]);
    close(release[0]);
    char c = 0;
    ssize_t n = 0;
    if (pid > 0)
        while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
        }
    close(ready[0]);
    int rc = 0;
    if (pid == -2) {
        rc = -1;
    } else if (pid < 0) {
        rc = ck_err_set(err, CK_E_INTERNAL, e, "create netns: fork");
    } else if (n != 1 || c != 'k') {
        rc = ck_err_set(err, CK_E_INTERNAL, 0, "create netns %s in user namespace %s: %s failed", path_out, userns_path,
                        c == '1'   ? "unshare"
                        : c == '2' ? "bring up lo"
                                   : "joining it");
    } else {
        char ns[64];
        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
        if (mount(ns, path_out, NULL, MS_BIND, NULL) < 0)
            rc = ck_err_set(err, CK_E_INTERNAL, errno, "pin netns on %s", path_out);
    }
    close(release[1]);
    if (pid > 0)
        reap(pid);
    if (rc < 0 && pid != -2)
        unlink(path_out);
    return rc;
}

bool ck_netns_is_pinned(const char *path)
{
    struct statfs fs;
    return statfs(path, &fs) == 0 && (unsigned long)fs.f_type == (unsigned long)NSFS_MAGIC;
}

int ck_netns_remove(const char *path, ck_err *err)
{
    for (int i = 0; i < 8 && ck_netns_is_pinned(path); i++) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            return ck_err_set(err, CK_E_INTERNAL, errno, "unmount netns %s", path);
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return ck_err_set(err, CK_E_INTERNAL, errno, "remove netns %s", path);
    return 0;
}
