#include "test/critest/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/critest/client.h"

static const char *cricket_bin(void)
{
    const char *env = getenv("CRICKET_BIN");
    return env != NULL ? env : CK_CRICKET_BIN;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int prepare(crit_daemon *d, const char *network_yaml, const char *extra_yaml);

int crit_daemon_prepare(crit_daemon *d, const char *extra_yaml)
{
    return prepare(d, "  default_network:\n    install: false\n", extra_yaml);
}

int crit_daemon_prepare_pods(crit_daemon *d, const char *bridge, const char *subnet, const char *extra_yaml)
{
    char net[512];
    snprintf(net, sizeof(net), "  default_network:\n    install: true\n    bridge: %s\n    subnet: %s\n", bridge,
             subnet);
    return prepare(d, net, extra_yaml);
}

static int prepare(crit_daemon *d, const char *network_yaml, const char *extra_yaml)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->dir, sizeof(d->dir), "/tmp/critest.XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        return -1;
    /* Searchable (not listable), as /var/lib is: the root filesystems of a
     * pod with its own user namespace are reached from inside it. */
    if (chmod(d->dir, 0711) < 0)
        return -1;
    snprintf(d->socket, sizeof(d->socket), "%s/run/cricket.sock", d->dir);
    snprintf(d->root, sizeof(d->root), "%s/root", d->dir);
    snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
    snprintf(d->cni_dir, sizeof(d->cni_dir), "%s/net.d", d->dir);
    snprintf(d->config, sizeof(d->config), "%s/cricket.yaml", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/cricket.log", d->dir);
    if (mkdir(d->cni_dir, 0755) < 0)
        return -1;
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "listen: unix://%s\n"
             "root_dir: %s\n"
             "state_dir: %s\n"
             "log_level: debug\n"
             "cni:\n"
             "  conf_dir: %s\n"
             "  bin_dirs: [/usr/lib/cni, /opt/cni/bin, " CK_CRITEST_CNI_BIN "]\n"
             "%s"
             "%s",
             d->socket, d->root, d->state, d->cni_dir, network_yaml, extra_yaml != NULL ? extra_yaml : "");
    return write_file(d->config, yaml);
}

static void exec_cricket(const char *const *args, int out_fd)
{
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    const char *argv[64];
    int n = 0;
    const char *wrapper_env = getenv("CRICKET_WRAPPER");
    char *wrapper = wrapper_env != NULL ? strdup(wrapper_env) : NULL;
    char *save = NULL;
    for (char *tok = wrapper != NULL ? strtok_r(wrapper, " ", &save) : NULL; tok != NULL && n < 40;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    argv[n++] = cricket_bin();
    for (int i = 0; args[i] != NULL && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

bool crit_version_ok(const char *socket)
{
    crit_client *c = crit_connect(socket);
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    crit_result r;
    grpc_status_code code =
        crit_call(c, RUNTIME("Version"), &req.base, &runtime__v1__version_response__descriptor, 2000, &r);
    crit_result_clear(&r);
    crit_close(c);
    return code == GRPC_STATUS_OK;
}

int crit_daemon_spawn(crit_daemon *d)
{
    int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        const char *args[] = {"--config", d->config, NULL};
        exec_cricket(args, fd);
    }
    close(fd);
    if (pid < 0)
        return -1;
    d->pid = pid;
    return 0;
}

int crit_daemon_start(crit_daemon *d)
{
    if (crit_daemon_spawn(d) < 0)
        return -1;
    pid_t pid = d->pid;
    /* Up to 60 s: under valgrind the start is slow. */
    for (int i = 0; i < 600; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->pid = 0;
            crit_daemon_dump_log(d);
            return -1;
        }
        if (access(d->socket, F_OK) == 0 && crit_version_ok(d->socket))
            return 0;
        usleep(100 * 1000);
    }
    crit_daemon_dump_log(d);
    return -1;
}

crit_client *crit_daemon_start_and_connect(crit_daemon *d)
{
    if (crit_daemon_start(d) < 0)
        return NULL;
    return crit_connect(d->socket);
}

int crit_run_cricket(const char *const *args, char *out, size_t size)
{
    char path[] = "/tmp/critest-out.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    pid_t pid = fork();
    if (pid == 0)
        exec_cricket(args, fd);
    int status = -1;
    waitpid(pid, &status, 0);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int crit_daemon_stop(crit_daemon *d, int timeout_ms)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(20 * 1000);
    }
    crit_daemon_kill(d);
    return -1;
}

void crit_daemon_kill(crit_daemon *d)
{
    if (d->pid <= 0)
        return; /* kill(0) would hit our own process group */
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int crit_mounts_each(const char *dir, void (*fn)(const char *point, void *arg), void *arg)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return -1;
    size_t len = strlen(dir);
    char line[8192], point[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, dir, len) == 0) {
            n++;
            if (fn != NULL)
                fn(point, arg);
        }
    fclose(f);
    return n;
}

/* Detaching a mount detaches those below it too, so the rest fail with
 * EINVAL, which is fine. */
static void detach_below(const char *point, void *dir)
{
    if (point[strlen(dir)] == '/')
        umount2(point, MNT_DETACH);
}

void crit_daemon_cleanup(crit_daemon *d)
{
    if (d->pid > 0)
        crit_daemon_stop(d, 5000);
    if (d->dir[0] != '\0') {
        /* What is still mounted: volumes of a test that failed before its
         * own clean-up, pins of pods a killed daemon left. Left there, the
         * mounts would outlive the suite and keep its directory. */
        crit_mounts_each(d->dir, detach_below, d->dir);
        nftw(d->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

int crit_daemon_teardown(crit_daemon *d, crit_client *c, int timeout_ms)
{
    crit_close(c);
    int rc = crit_daemon_stop(d, timeout_ms);
    if (rc != 0)
        crit_daemon_dump_log(d);
    crit_daemon_cleanup(d);
    return rc;
}

void crit_daemon_dump_log(const crit_daemon *d)
{
    FILE *f = fopen(d->log, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- cricket log %s ----\n", d->log);
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

bool crit_daemon_log_contains(const crit_daemon *d, const char *needle)
{
    FILE *f = fopen(d->log, "r");
    if (f == NULL)
        return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}
