/*
 * nspin: see nspin.h.
 */
#include "common/nspin.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

bool ck_ns_pinned(const char *path)
{
    struct statfs fs;
    return statfs(path, &fs) == 0 && (unsigned long)fs.f_type == (unsigned long)NSFS_MAGIC;
}

int ck_ns_unpin(const char *path, const char *what, ck_err *err)
{
    /* A pin mounted twice (a crash between two attempts) needs two. */
    for (int i = 0; i < 8 && ck_ns_pinned(path); i++) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            return ck_err_set(err, CK_E_INTERNAL, errno, "unmount %s %s", what, path);
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return ck_err_set(err, CK_E_INTERNAL, errno, "remove %s %s", what, path);
    return 0;
}

/* What the child reports on the ready pipe. */
typedef struct child_report {
    int step; /* 0 done; -1 joining the user namespace; else in_child's */
    int errno_;
} child_report;

/* In the child: joins the user namespace, does the work, reports, and
 * waits for the parent to close release (its in_parent done). */
static int child_main(int userns, const ck_userns_work *work, int ready, int release, int release_w)
{
    close(release_w); /* or the read below would wait for itself */
    child_report r = {0, 0};
    /* Its root: what the kernel lets write some of the namespace's files
     * (IPC sysctls), where the host's root, unmapped there, is "other". */
    if (setns(userns, CLONE_NEWUSER) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        r = (child_report){-1, errno};
    else
        r.step = work->in_child(work->arg, &r.errno_);
    if (write(ready, &r, sizeof(r)) != (ssize_t)sizeof(r) || r.step != 0)
        return 1;
    char c;
    return read(release, &c, 1) < 0 ? 1 : 0;
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

static int report_error(const ck_userns_work *work, const child_report *r, const char *what, ck_err *err)
{
    const char *step = r->step == -1                            ? "joining the user namespace"
                       : r->step > 0 && r->step < work->n_steps ? work->steps[r->step]
                                                                : "its child";
    bool invalid = work->invalid_from > 0 && r->step >= work->invalid_from;
    return ck_err_set(err, invalid ? CK_E_INVALID : CK_E_INTERNAL, r->errno_, "%s: %s failed", what, step);
}

int ck_ns_run_in_userns(const char *userns_path, const ck_userns_work *work, const char *what, ck_err *err)
{
    int userns = open(userns_path, O_RDONLY | O_CLOEXEC);
    if (userns < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "%s: open user namespace %s", what, userns_path);
    int ready[2] = {-1, -1}, release[2] = {-1, -1};
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0) {
        int e = errno;
        if (ready[0] >= 0) {
            close(ready[0]);
            close(ready[1]);
        }
        close(userns);
        return ck_err_set(err, CK_E_INTERNAL, e, "%s: pipe", what);
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_main(userns, work, ready[1], release[0], release[1]));
    int e = errno;
    close(userns);
    close(ready[1]);
    close(release[0]);
    child_report r = {-2, 0};
    ssize_t n = 0;
    if (pid > 0)
        while ((n = read(ready[0], &r, sizeof(r))) < 0 && errno == EINTR) {
        }
    close(ready[0]);
    int rc = 0;
    if (pid < 0)
        rc = ck_err_set(err, CK_E_INTERNAL, e, "%s: fork", what);
    else if (n != (ssize_t)sizeof(r) || r.step != 0)
        rc = report_error(work, &r, what, err);
    else
        rc = work->in_parent(work->arg, pid, err);
    close(release[1]);
    if (pid > 0)
        reap(pid);
    return rc;
}
