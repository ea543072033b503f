/*
 * check: a list of findings, each with a status (ok, warn, fail, info), what
 * was found, and for anything short of ok, the fix. Only a failure of what
 * pods cannot do without (the default runtime) makes the exit status 1;
 * everything else is advice.
 *
 * The probes run real things: a container through each runtime, an overlay
 * mount, an idmapped mount, a negative oom_score_adj in a child process, a
 * request to each registry mirror. Each cleans up after itself.
 */
#include "daemon/check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <linux/magic.h>

#include "netcni/netcni.h"
#include "oci/oci.h"
#include "oci/probe.h"

typedef enum finding_status { FIND_OK, FIND_INFO, FIND_WARN, FIND_FAIL } finding_status;

typedef struct findings {
    json_t *list;
    bool can_run_pods;
} findings;

static const char *status_name(finding_status s)
{
    static const char *const names[] = {"ok", "info", "warn", "fail"};
    return names[s];
}

static void add(findings *f, finding_status st, const char *name, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(findings *f, finding_status st, const char *name, const char *fix, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_array_append_new(f->list, json_pack("{s:s, s:s, s:s, s:s?}", "check", name, "status", status_name(st),
                                             "detail", detail, "fix", st == FIND_OK ? NULL : fix));
}

/* ---- runtimes ------------------------------------------------------------ */

static void check_runtimes(const ck_config *cfg, findings *f)
{
    if (cfg->n_runtimes == 0) {
        add(f, FIND_FAIL, "runtime", "apt-get install runc (or crun), or configure runtimes: in the config file",
            "no OCI runtime found (looked for runc and crun)");
        return;
    }
    char work[] = "/tmp/cricket-check.XXXXXX";
    if (mkdtemp(work) == NULL) {
        add(f, FIND_FAIL, "runtime", "make /tmp writable", "cannot create a work directory: %s", strerror(errno));
        return;
    }
    for (size_t i = 0; i < cfg->n_runtimes; i++) {
        const ck_runtime_handler *h = &cfg->runtimes[i];
        bool is_default = strcmp(h->name, cfg->default_runtime) == 0;
        char name[128];
        snprintf(name, sizeof(name), "runtime %s%s", h->name, is_default ? " (default)" : "");
        ck_err err;
        ck_err_clear(&err);
        if (ck_oci_handler_check(h, &err) == 0 && ck_oci_probe_run(h, work, &err) == 0) {
            add(f, FIND_OK, name, NULL, "%s ran a test container", h->path);
            f->can_run_pods |= is_default;
            continue;
        }
        const char *fix = strstr(err.msg, "hybrid") != NULL
                              ? "this runtime needs a unified (v2) or legacy (v1) cgroup layout: use runc on this "
                                "host, or boot with systemd.unified_cgroup_hierarchy=1"
                              : "install a working build of this runtime, or set default_runtime to one that works";
        add(f, is_default ? FIND_FAIL : FIND_WARN, name, fix, "%s", err.msg);
    }
    rmdir(work);
}

/* ---- kernel and host ---------------------------------------------------- */

static void check_cgroups(findings *f)
{
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) < 0) {
        add(f, FIND_FAIL, "cgroups", "mount cgroupfs or cgroup2 at /sys/fs/cgroup", "/sys/fs/cgroup: %s",
            strerror(errno));
        return;
    }
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
        add(f, FIND_OK, "cgroups", NULL, "cgroup v2, unified hierarchy");
        return;
    }
    struct statfs unified;
    bool hybrid = statfs("/sys/fs/cgroup/unified", &unified) == 0 && unified.f_type == CGROUP2_SUPER_MAGIC;
    add(f, FIND_INFO, "cgroups", hybrid ? "runc works with it; crun does not: prefer a unified (v2) host" : "",
        "cgroup v1 %s", hybrid ? "in hybrid mode (v2 mounted at /sys/fs/cgroup/unified)" : "(legacy hierarchy)");
}

static void check_overlay(findings *f)
{
    char dir[] = "/tmp/cricket-overlay.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        add(f, FIND_WARN, "overlayfs", "make /tmp writable", "cannot create a test directory: %s", strerror(errno));
        return;
    }
    char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX], opts[4 * PATH_MAX];
    snprintf(lower, sizeof(lower), "%s/l", dir);
    snprintf(upper, sizeof(upper), "%s/u", dir);
    snprintf(work, sizeof(work), "%s/w", dir);
    snprintf(merged, sizeof(merged), "%s/m", dir);
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    int rc = -1, saved = 0;
    if (mkdir(lower, 0755) == 0 && mkdir(upper, 0755) == 0 && mkdir(work, 0755) == 0 && mkdir(merged, 0755) == 0) {
        rc = mount("overlay", merged, "overlay", 0, opts);
        saved = errno;
        if (rc == 0)
            umount2(merged, MNT_DETACH);
    }
    char wd[PATH_MAX];
    snprintf(wd, sizeof(wd), "%s/work", work);
    rmdir(wd);
    rmdir(lower), rmdir(upper), rmdir(work), rmdir(merged), rmdir(dir);
    if (rc == 0)
        add(f, FIND_OK, "overlayfs", NULL, "an overlay mount works in /tmp");
    else
        add(f, FIND_FAIL, "overlayfs", "modprobe overlay; image layers need overlayfs", "overlay mount failed: %s",
            strerror(saved));
}

/* A user namespace to map mounts through: a child that unshares one and
 * waits. Returns its ns fd (and pid to reap), or -1. */
static int userns_fd(pid_t *child)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (unshare(CLONE_NEWUSER) < 0)
            _exit(1);
        close(pipefd[1]);
        ssize_t n = read(pipefd[0], &c, 1); /* wait for the parent to finish */
        _exit(n < 0 ? 1 : 0);
    }
    close(pipefd[0]);
    if (pid < 0) {
        close(pipefd[1]);
        return -1;
    }
    *child = pid;
    char path[64];
    int fd = -1;
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        /* The map can be written once the child has unshared. */
        int m = open(path, O_WRONLY | O_CLOEXEC);
        if (m >= 0 && write(m, "0 100000 65536", 14) == 14) {
            close(m);
            snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
            m = open(path, O_WRONLY | O_CLOEXEC);
            if (m >= 0 && write(m, "0 100000 65536", 14) == 14) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
            }
        }
        if (m >= 0)
            close(m);
        if (fd < 0)
            usleep(10000);
        snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    }
    close(pipefd[1]);
    return fd;
}

static void check_idmapped_mounts(findings *f)
{
    char dir[] = "/tmp/cricket-idmap.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return;
    pid_t child = -1;
    int ns = userns_fd(&child);
    int rc = -1, saved = 0;
    if (ns >= 0) {
        int tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        saved = errno;
        if (tree >= 0) {
            struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
            rc = mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
            saved = errno;
            close(tree);
        }
        close(ns);
    } else {
        saved = errno;
    }
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    rmdir(dir);
    if (rc == 0)
        add(f, FIND_OK, "idmapped mounts", NULL, "supported (pods with hostUsers: false can map their volumes)");
    else
        add(f, FIND_WARN, "idmapped mounts", "a kernel of 5.12 or later with idmapped mounts for the filesystem",
            "not available: %s", strerror(saved));
}

static void check_oom_score_adj(findings *f)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        _exit(fd >= 0 && write(fd, "-999", 4) == 4 ? 0 : 1);
    }
    int status = 1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        add(f, FIND_OK, "oom_score_adj", NULL, "negative values are allowed");
    else
        add(f, FIND_WARN, "oom_score_adj",
            "grant CAP_SYS_RESOURCE to cricket to protect pods from the OOM killer; until then cricket clamps",
            "negative values are refused here (no CAP_SYS_RESOURCE): the kubelet's -998 for sandboxes is clamped "
            "to the daemon's own value");
}

static void check_lsm(findings *f)
{
    bool apparmor = access("/sys/kernel/security/apparmor", FIND_OK) == 0;
    bool selinux = access("/sys/fs/selinux/enforce", FIND_OK) == 0;
    if (!apparmor && !selinux)
        add(f, FIND_INFO, "security modules", "",
            "neither AppArmor nor SELinux is active: pods that ask for a profile "
            "run without one");
    else
        add(f, FIND_OK, "security modules", NULL, "%s%s%s active", apparmor ? "AppArmor" : "",
            apparmor && selinux ? " and " : "", selinux ? "SELinux" : "");
}

/* ---- cricket's own surroundings ------------------------------------------ */

static void check_cni(const ck_config *cfg, findings *f)
{
    ck_cni *cni = NULL;
    ck_err err;
    if (ck_cni_new(cfg->cni.conf_dir, (const char *const *)cfg->cni.bin_dirs.items, cfg->cni.bin_dirs.len, &cni, &err) <
        0) {
        add(f, FIND_WARN, "cni", "", "%s", err.msg);
        return;
    }
    ck_cni_status st;
    ck_cni_status_get(cni, &st);
    ck_cni_free(cni);
    if (st.ready)
        add(f, FIND_OK, "cni", NULL, "network %s from %s, plugins installed", st.network, st.config_file);
    else
        add(f, FIND_WARN, "cni",
            "put a network configuration in cni.conf_dir and its plugins in cni.bin_dirs "
            "(Debian: apt-get install containernetworking-plugins)",
            "%s", st.message);
}

static void check_socket(const ck_config *cfg, findings *f)
{
    const char *path = ck_config_listen_path(cfg);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path != NULL ? path : "");
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir)
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) < 0) {
        add(f, FIND_INFO, "socket", "", "%s does not exist yet; cricket creates it with mode 0700", dir);
    } else if ((st.st_mode & 0077) != 0 && st.st_uid == 0) {
        add(f, FIND_WARN, "socket", "chmod 0700 the directory, or choose a listen path in a root-only directory",
            "%s has mode %04o: other users can reach the socket's directory", dir, (unsigned)(st.st_mode & 07777));
    } else {
        add(f, FIND_OK, "socket", NULL, "%s has mode %04o", dir, (unsigned)(st.st_mode & 07777));
    }
    if (path != NULL && stat(path, &st) == 0 && (st.st_mode & 0007) != 0)
        add(f, FIND_WARN, "socket", "restart cricket: it creates the socket 0660",
            "%s is accessible to every user (mode %04o)", path, (unsigned)(st.st_mode & 07777));
}

static size_t discard(char *ptr, size_t size, size_t n, void *data)
{
    (void)ptr;
    (void)data;
    return size * n;
}

static void check_mirror(findings *f, const char *host, const char *mirror, bool insecure)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return;
    char url[1024];
    snprintf(url, sizeof(url), "%s/v2/", mirror);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    char name[300];
    snprintf(name, sizeof(name), "registry mirror %s", mirror);
    /* Any HTTP answer from /v2/ (200, or 401 asking for a token) means a registry is there. */
    if (rc == CURLE_OK && (code == 200 || code == 401))
        add(f, FIND_OK, name, NULL, "for %s: answers (HTTP %ld)", host, code);
    else if (rc == CURLE_OK)
        add(f, FIND_WARN, name, "check the mirror URL", "for %s: HTTP %ld from %s", host, code, url);
    else
        add(f, FIND_WARN, name, "check the mirror URL and the network; pulls fall back to the registry itself",
            "for %s: unreachable: %s", host, curl_easy_strerror(rc));
}

static void check_registries(const ck_config *cfg, findings *f)
{
    for (size_t i = 0; i < cfg->registries.n_hosts; i++) {
        const ck_registry_host *h = &cfg->registries.hosts[i];
        for (size_t m = 0; m < h->mirrors.len; m++)
            check_mirror(f, h->host, h->mirrors.items[m], h->insecure);
    }
}

/* ---- output -------------------------------------------------------------- */

static void print_text(const findings *f, FILE *out)
{
    size_t i;
    json_t *item;
    json_array_foreach(f->list, i, item)
    {
        const char *st = json_string_value(json_object_get(item, "status"));
        fprintf(out, "[%-4s] %s: %s\n", st, json_string_value(json_object_get(item, "check")),
                json_string_value(json_object_get(item, "detail")));
        const char *fix = json_string_value(json_object_get(item, "fix"));
        if (fix != NULL && fix[0] != '\0')
            fprintf(out, "       fix: %s\n", fix);
    }
    fprintf(out, "%s\n", f->can_run_pods ? "this node can run pods" : "this node cannot run pods (see [fail] above)");
}

int ck_check_host(const ck_config *cfg, bool json, FILE *out)
{
    findings f = {.list = json_array(), .can_run_pods = false};
    if (f.list == NULL)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    check_runtimes(cfg, &f);
    check_cgroups(&f);
    check_overlay(&f);
    check_idmapped_mounts(&f);
    check_oom_score_adj(&f);
    check_lsm(&f);
    check_cni(cfg, &f);
    check_socket(cfg, &f);
    check_registries(cfg, &f);
    curl_global_cleanup();
    if (json) {
        json_t *root = json_pack("{s:b, s:O}", "can_run_pods", f.can_run_pods, "checks", f.list);
        json_dumpf(root, out, JSON_INDENT(2));
        fputc('\n', out);
        json_decref(root);
    } else {
        print_text(&f, out);
    }
    json_decref(f.list);
    return f.can_run_pods ? 0 : 1;
}
