/*
 * netns: creation, pinning and removal of network namespaces. See netns.h.
 */
#include "netcni/netns.h"

#include "common/nspin.h"
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
#include <unistd.h>

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

/* In a child that joined the pod's user namespace (common/nspin.h). */
static int owned_in_child(void *arg, int *e)
{
    (void)arg;
    return new_netns_lo_up(e);
}

static int owned_in_parent(void *arg, pid_t child, ck_err *err)
{
    const char *path = arg;
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)child);
    if (mount(ns, path, NULL, MS_BIND, NULL) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "pin netns on %s", path);
    return 0;
}

int ck_netns_create_in(const char *dir, const char *name, const char *userns_path, char *path_out, size_t size,
                       ck_err *err)
{
    if (userns_path == NULL || userns_path[0] == '\0')
        return ck_netns_create(dir, name, path_out, size, err);
    if (create_file(dir, name, path_out, size, err) < 0)
        return -1;
    static const char *const steps[] = {"", "unshare", "bring up lo"};
    ck_userns_work work = {owned_in_child, owned_in_parent, path_out, steps, 3, 0};
    char what[PATH_MAX * 2 + 64];
    snprintf(what, sizeof(what), "create netns %s in user namespace %s", path_out, userns_path);
    if (ck_ns_run_in_userns(userns_path, &work, what, err) < 0) {
        unlink(path_out);
        return -1;
    }
    return 0;
}

bool ck_netns_is_pinned(const char *path)
{
    return ck_ns_pinned(path);
}

int ck_netns_remove(const char *path, ck_err *err)
{
    return ck_ns_unpin(path, "netns", err);
}
