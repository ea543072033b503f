/*
 * cricket-pause: the infra process of a pod. It is pid 1 of the pod's pid
 * namespace (when the pod has one), holds the pod's IPC and UTS namespaces
 * open, and does nothing else: it reaps every child that exits (orphans of
 * the pod reparent to it) and exits 0 when asked to stop with SIGTERM or
 * SIGINT. Statically linked, so the pod's root filesystem is a directory
 * holding this one file.
 *
 * All signals it cares about are blocked and taken synchronously with
 * sigwaitinfo: no handler runs at an arbitrary point.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_all(void)
{
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid <= 0)
            return;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("cricket-pause\n");
        return 0;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
        perror("cricket-pause: sigprocmask");
        return 1;
    }
    /* Outside a pid namespace of its own (host pid pods), still reap what
     * the pod leaves behind. */
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            perror("cricket-pause: sigwaitinfo");
            return 1;
        }
        if (sig == SIGCHLD) {
            reap_all();
            continue;
        }
        reap_all();
        return 0;
    }
}
