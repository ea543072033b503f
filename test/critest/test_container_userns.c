/*
 * critest_container_userns: user namespaces for pods (userns_options) over
 * the wire, checked from inside real containers. Status advertises them for
 * every handler; a POD-mode pod's container sees its uid and gid mappings,
 * its root owns and writes its root filesystem (stored on the host as the
 * mapped id), and the pod's /etc files and volumes stay readable; NODE mode
 * is the host's user namespace; every request the runtime cannot honour
 * (two mappings, CONTAINER, TARGET, an unmapped root, mappings on NODE, a
 * container asking for another namespace than its pod's) is
 * INVALID_ARGUMENT and leaves nothing; removing a pod leaves no mount and
 * no pinned namespace. A POD-mode pod whose containers have their own PID
 * namespaces runs no pause: its pinned IPC and UTS namespaces are owned by
 * its user namespace, and a sysctl the kernel refuses in them is
 * INVALID_ARGUMENT. The volumes of a POD-mode pod are idmapped through
 * its user namespace (the host's root owns them inside, what the container
 * writes is the host's root's on disk), recursive read-only ones stay so
 * at depth, Mount.uid_mappings/gid_mappings other than the pod's are
 * refused, and a filesystem that takes no idmap is FAILED_PRECONDITION.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"

static crit_ctr_suite S;

static int start_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_start(&S, "cku", 150, NULL);
}

static int stop_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_stop(&S);
}

/* ---- requests ---- */

/* userns_options of mode with up to two uid (and the same gid) mappings. */
typedef struct userns_opts {
    Runtime__V1__LinuxSandboxSecurityContext pod_sc;
    Runtime__V1__LinuxContainerSecurityContext ctr_sc;
    Runtime__V1__NamespaceOption no;
    Runtime__V1__UserNamespace u;
    Runtime__V1__IDMapping map[2];
    Runtime__V1__IDMapping *maps[2];
} userns_opts;

static void userns_init(userns_opts *o, Runtime__V1__NamespaceMode mode, size_t n, const uint32_t (*m)[3])
{
    runtime__v1__linux_sandbox_security_context__init(&o->pod_sc);
    runtime__v1__linux_container_security_context__init(&o->ctr_sc);
    runtime__v1__namespace_option__init(&o->no);
    runtime__v1__user_namespace__init(&o->u);
    o->u.mode = mode;
    for (size_t i = 0; i < n; i++) {
        runtime__v1__idmapping__init(&o->map[i]);
        o->map[i].container_id = m[i][0];
        o->map[i].host_id = m[i][1];
        o->map[i].length = m[i][2];
        o->maps[i] = &o->map[i];
    }
    o->u.uids = o->u.gids = o->maps;
    o->u.n_uids = o->u.n_gids = n;
    o->no.userns_options = &o->u;
    o->pod_sc.namespace_options = &o->no;
    o->ctr_sc.namespace_options = &o->no;
}

static const uint32_t kubelet_map[1][3] = {{0, 1000, 100000}};

/* RunPodSandbox with the suite's parent and log dir and these options. */
static grpc_status_code run_pod(const char *name, userns_opts *o, char **id, char *details, size_t size)
{
    crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, name, S.cgroup_parent);
    pod.config.log_directory = S.log_dir;
    pod.linux_config.security_context = o != NULL ? &o->pod_sc : NULL;
    return crit_pod_run_status(S.client, req, id, details, size);
}

/* A container of pod running script to its end with these options; its
 * CRI log path in log (size) and its id (free it). */
static char *run_to_end(const char *pod, const char *name, userns_opts *o, const char *script, char *log, size_t size)
{
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, name, script);
    c.linux_config.security_context = o != NULL ? &o->ctr_sc : NULL;
    char *id = crit_ctr_create(&S, req);
    crit_ctr_start(&S, id);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 60);
    crit_ctr_log_path(&S, name, log, size);
    return id;
}

/* The three numbers of a uid_map line ("0 1000 100000", blank-padded) and
 * nothing after them: 0, or -1. */
static int three_numbers(const char *s, unsigned long v[3])
{
    for (int i = 0; i < 3; i++) {
        char *end = NULL;
        v[i] = strtoul(s, &end, 10);
        if (end == s)
            return -1;
        s = end;
    }
    return s[strspn(s, " \t\n")] == '\0' ? 0 : -1;
}

/* True when the CRI log holds a stdout line whose words are a, b and c
 * (uid_map's columns are padded with blanks). */
static bool log_has_triple(const char *log, unsigned a, unsigned b, unsigned c)
{
    char *text = crit_ctr_read_file(log);
    bool found = false;
    for (char *line = strtok(text, "\n"); line != NULL && !found; line = strtok(NULL, "\n")) {
        char *rest = strstr(line, " stdout F ");
        unsigned long v[3];
        found = rest != NULL && three_numbers(rest + 10, v) == 0 && v[0] == a && v[1] == b && v[2] == c;
    }
    free(text);
    return found;
}

static size_t entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static size_t pinned_user_namespaces(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/userns", S.daemon.state);
    return entries_in(dir);
}

/* ---- Status ---- */

static void test_status_advertises_user_namespaces(void **state)
{
    (void)state;
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    crit_result r;
    const Runtime__V1__StatusResponse *st =
        crit_call_ok(S.client, &S.daemon, RUNTIME("Status"), &req.base, &runtime__v1__status_response__descriptor, &r);
    assert_true(st->n_runtime_handlers >= 2);
    bool default_listed = false;
    for (size_t i = 0; i < st->n_runtime_handlers; i++) {
        assert_non_null(st->runtime_handlers[i]->features);
        if (!st->runtime_handlers[i]->features->user_namespaces)
            fail_msg("handler \"%s\" does not advertise user namespaces", st->runtime_handlers[i]->name);
        default_listed |= st->runtime_handlers[i]->name[0] == '\0';
    }
    assert_true(default_listed);
    crit_result_clear(&r);
}

/* ---- POD ---- */

static void test_pod_mode_maps_root_and_owns_rootfs(void **state)
{
    (void)state;
    userns_opts o;
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    char *pod = NULL, details[512];
    if (run_pod("userns-pod", &o, &pod, details, sizeof(details)) != GRPC_STATUS_OK)
        fail_msg("RunPodSandbox with userns POD: %s", details);
    assert_int_equal(pinned_user_namespaces(), 1);
    char log[512];
    char *id = run_to_end(pod, "maps", &o, "cat /proc/self/uid_map /proc/self/gid_map", log, sizeof(log));
    if (!log_has_triple(log, 0, 1000, 100000)) {
        char *text = crit_ctr_read_file(log);
        fail_msg("uid_map in the container's log:\n%s", text);
    }
    /* Root owns its rootfs: it writes there, and sees its file as its own;
     * the pod's /etc files and the image's stay readable. */
    char *w = run_to_end(pod, "writes", &o,
                         "touch /x && mkdir /d && echo $(stat -c '%u %g' / /x /d) && cat /etc/hosts /etc/resolv.conf "
                         "/etc/hostname /etc/passwd >/dev/null && echo readable",
                         log, sizeof(log));
    crit_ctr_wait_log(log, "stdout", "0 0 0 0 0 0", 10);
    crit_ctr_wait_log(log, "stdout", "readable", 10);
    /* On the host the new file is the mapped id's, and nothing of the
     * host's root. */
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/containers/%s/upper/x", S.daemon.root, w);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1000);
    /* Its dirs are open to the pod's root group only, not to every host
     * user (its shm and files lie below). */
    char dirs[2][512];
    snprintf(dirs[0], sizeof(dirs[0]), "%s/containers/%s", S.daemon.root, w);
    snprintf(dirs[1], sizeof(dirs[1]), "%s/sandboxes/%s", S.daemon.root, pod);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(stat(dirs[i], &st), 0);
        if ((st.st_mode & 07777) != 0710 || st.st_uid != 0 || st.st_gid != 1000)
            fail_msg("%s is %o %u:%u, not 0710 0:1000", dirs[i], st.st_mode & 07777, st.st_uid, st.st_gid);
    }
    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(pinned_user_namespaces(), 0);
    crit_ctr_wait_nothing_left(&S);
    free(w);
    free(id);
    free(pod);
}

/* The inode of the user namespace that owns the namespace pinned at path. */
static ino_t owner_of(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    int owner = ioctl(fd, NS_GET_USERNS);
    assert_true(owner >= 0);
    struct stat st;
    assert_int_equal(fstat(owner, &st), 0);
    close(owner);
    close(fd);
    return st.st_ino;
}

/* RunPodSandbox of a pod with its own user namespace and pid mode
 * CONTAINER (o's, shared with its containers), hostname owned-host and
 * kernel.shm_rmid_forced set to shm_rmid_forced. */
static grpc_status_code run_pinned_pod(userns_opts *o, const char *shm_rmid_forced, char **id, char *details,
                                       size_t size)
{
    o->no.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, "userns-pinned", S.cgroup_parent);
    pod.config.log_directory = S.log_dir;
    pod.config.hostname = "owned-host";
    pod.linux_config.security_context = &o->pod_sc;
    Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry sysctl, *sysctls[1] = {&sysctl};
    runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(&sysctl);
    sysctl.key = "kernel.shm_rmid_forced";
    sysctl.value = (char *)shm_rmid_forced;
    pod.linux_config.sysctls = sysctls;
    pod.linux_config.n_sysctls = 1;
    return crit_pod_run_status(S.client, req, id, details, size);
}

/* A pod with its own user namespace whose containers have their own PID
 * namespaces runs no pause: its IPC and UTS namespaces are pinned and
 * owned by its user namespace, hold its hostname and IPC sysctl, and its
 * container (root in that user namespace) joins them. A sysctl value the
 * kernel refuses there is INVALID_ARGUMENT naming it, and leaves nothing. */
static void test_pod_without_pause_owns_its_namespaces(void **state)
{
    (void)state;
    userns_opts o;
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    char *pod = NULL, details[512];
    if (run_pinned_pod(&o, "1", &pod, details, sizeof(details)) != GRPC_STATUS_OK)
        fail_msg("RunPodSandbox with userns POD, pid CONTAINER: %s", details);

    char userns[512], ipc[512], uts[512];
    snprintf(userns, sizeof(userns), "%s/userns/%s", S.daemon.state, pod);
    snprintf(ipc, sizeof(ipc), "%s/sandboxes/%s/ipc", S.daemon.state, pod);
    snprintf(uts, sizeof(uts), "%s/sandboxes/%s/uts", S.daemon.state, pod);
    struct stat us, is;
    assert_int_equal(stat(userns, &us), 0);
    assert_int_equal(stat(ipc, &is), 0);
    assert_true(owner_of(ipc) == us.st_ino);
    assert_true(owner_of(uts) == us.st_ino);

    char log[512];
    char *id = run_to_end(pod, "owned", &o,
                          "hostname; cat /proc/sys/kernel/shm_rmid_forced; readlink /proc/self/ns/ipc; "
                          "cat /proc/self/uid_map",
                          log, sizeof(log));
    char ipc_link[64];
    snprintf(ipc_link, sizeof(ipc_link), "ipc:[%lu]", (unsigned long)is.st_ino);
    crit_ctr_wait_log(log, "stdout", "owned-host", 10);
    crit_ctr_wait_log(log, "stdout", ipc_link, 10);
    if (!log_has_triple(log, 0, 1000, 100000)) {
        char *text = crit_ctr_read_file(log);
        fail_msg("uid_map in the container's log:\n%s", text);
    }
    char *text = crit_ctr_read_file(log);
    if (strstr(text, "stdout F 1\n") == NULL)
        fail_msg("kernel.shm_rmid_forced in the container's log:\n%s", text);
    free(text);

    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(pinned_user_namespaces(), 0);
    assert_int_equal(stat(ipc, &is), -1);
    assert_int_equal(stat(uts, &is), -1);
    crit_ctr_wait_nothing_left(&S);
    free(id);
    free(pod);

    size_t before = crit_ctr_pods_listed(&S);
    pod = NULL;
    grpc_status_code code = run_pinned_pod(&o, "not-a-number", &pod, details, sizeof(details));
    if (code != GRPC_STATUS_INVALID_ARGUMENT || strstr(details, "kernel.shm_rmid_forced=not-a-number") == NULL)
        fail_msg("a refused sysctl: status %d \"%s\", want INVALID_ARGUMENT naming it", (int)code, details);
    assert_int_equal(crit_ctr_pods_listed(&S), before);
    assert_int_equal(pinned_user_namespaces(), 0);
    crit_ctr_wait_nothing_left(&S);
    free(pod);
}

/* ---- NODE ---- */

static void test_node_mode_is_the_hosts(void **state)
{
    (void)state;
    userns_opts o;
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__NODE, 0, NULL);
    char *pod = NULL, details[512];
    if (run_pod("userns-node", &o, &pod, details, sizeof(details)) != GRPC_STATUS_OK)
        fail_msg("RunPodSandbox with userns NODE: %s", details);
    assert_int_equal(pinned_user_namespaces(), 0);
    char log[512];
    char *id = run_to_end(pod, "node", &o, "cat /proc/self/uid_map", log, sizeof(log));
    unsigned long v[3] = {0};
    char *host = crit_ctr_read_file("/proc/self/uid_map");
    assert_int_equal(three_numbers(host, v), 0);
    free(host);
    unsigned a = (unsigned)v[0], b = (unsigned)v[1], c = (unsigned)v[2];
    if (!log_has_triple(log, a, b, c)) {
        char *text = crit_ctr_read_file(log);
        fail_msg("the host's uid_map (%u %u %u) is not the container's:\n%s", a, b, c, text);
    }
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

/* ---- refusals ---- */

static void expect_pod_refused(const char *what, userns_opts *o, const char *needle)
{
    size_t before = crit_ctr_pods_listed(&S);
    char details[512] = "";
    char *id = NULL;
    grpc_status_code code = run_pod("userns-bad", o, &id, details, sizeof(details));
    if (code != GRPC_STATUS_INVALID_ARGUMENT || strstr(details, needle) == NULL)
        fail_msg("%s: status %d \"%s\", want INVALID_ARGUMENT naming \"%s\"", what, (int)code, details, needle);
    assert_int_equal(crit_ctr_pods_listed(&S), before);
    assert_int_equal(pinned_user_namespaces(), 0);
    free(id);
}

static void test_refused_user_namespaces(void **state)
{
    (void)state;
    userns_opts o;
    static const uint32_t two[2][3] = {{0, 1000, 100000}, {0, 2000, 100000}};
    static const uint32_t unmapped_root[1][3] = {{1, 1000, 100000}};
    static const uint32_t empty[1][3] = {{0, 1000, 0}};
    static const uint32_t host_root[1][3] = {{0, 0, 65536}};
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 2, two);
    expect_pod_refused("two mappings", &o, "only one");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, unmapped_root);
    expect_pod_refused("container id 0 unmapped", &o, "container id 0 is not mapped");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, empty);
    expect_pod_refused("an empty mapping", &o, "length 0");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, host_root);
    expect_pod_refused("the host's root mapped", &o, "host id 0");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 0, NULL);
    expect_pod_refused("POD without mappings", &o, "needs uids mappings");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__NODE, 1, kubelet_map);
    expect_pod_refused("mappings on NODE", &o, "takes no uid or gid mappings");
    /* The host's network, pid or ipc namespace with a user namespace of
     * the pod's own (Kubernetes forbids hostNetwork/hostPID/hostIPC with
     * hostUsers: false). */
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    o.no.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
    expect_pod_refused("host network", &o, "namespace_options.network: NODE");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    o.no.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
    expect_pod_refused("host pid", &o, "namespace_options.pid: NODE");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    o.no.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
    expect_pod_refused("host ipc", &o, "namespace_options.ipc: NODE");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__CONTAINER, 0, NULL);
    expect_pod_refused("CONTAINER", &o, "CONTAINER is not supported");
    userns_init(&o, RUNTIME__V1__NAMESPACE_MODE__TARGET, 0, NULL);
    expect_pod_refused("TARGET", &o, "TARGET is not supported");
    crit_ctr_wait_nothing_left(&S);
}

/* A container lives in its pod's user namespace: asking for the host's, or
 * for other mappings, is refused before anything is made. */
static void test_container_must_match_its_pod(void **state)
{
    (void)state;
    userns_opts pod_o, node_o, other_o;
    static const uint32_t other[1][3] = {{0, 5000, 100000}};
    userns_init(&pod_o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    userns_init(&node_o, RUNTIME__V1__NAMESPACE_MODE__NODE, 0, NULL);
    userns_init(&other_o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, other);
    char *pod = NULL, details[512];
    if (run_pod("userns-match", &pod_o, &pod, details, sizeof(details)) != GRPC_STATUS_OK)
        fail_msg("RunPodSandbox with userns POD: %s", details);
    userns_opts *wrong[] = {&node_o, &other_o};
    const char *needles[] = {"is not its pod's", "must be its pod's"};
    for (size_t i = 0; i < 2; i++) {
        crit_ctr_request c;
        Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, "mismatch", "true");
        c.linux_config.security_context = &wrong[i]->ctr_sc;
        grpc_status_code code = crit_ctr_create_code(&S, req, NULL, details, sizeof(details));
        if (code != GRPC_STATUS_INVALID_ARGUMENT || strstr(details, needles[i]) == NULL)
            fail_msg("container %zu: status %d \"%s\"", i, (int)code, details);
    }
    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    free(pod);
}

/* ---- volumes ---- */

/* "<suite dir>/<name>", made anew as an empty directory (0755, root's). */
static void host_dir(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", S.daemon.dir, name);
    assert_int_equal(mkdir(buf, 0755), 0);
}

static void host_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* The staged clones on the host: mounts under <state>/containers. */
static size_t staged_clones_on_host(void)
{
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/containers/", S.daemon.state);
    return crit_mounts_under(dir);
}

/* A pod with the kubelet's mappings, its id (free it). */
static char *run_userns_pod(const char *name, userns_opts *o)
{
    userns_init(o, RUNTIME__V1__NAMESPACE_MODE__POD, 1, kubelet_map);
    char *pod = NULL, details[512];
    if (run_pod(name, o, &pod, details, sizeof(details)) != GRPC_STATUS_OK)
        fail_msg("RunPodSandbox with userns POD: %s", details);
    return pod;
}

static void set_mappings(Runtime__V1__Mount *m, Runtime__V1__IDMapping **uids, size_t n_uids,
                         Runtime__V1__IDMapping **gids, size_t n_gids)
{
    m->uidmappings = uids;
    m->n_uidmappings = n_uids;
    m->gidmappings = gids;
    m->n_gidmappings = n_gids;
}

/* A host dir the host's root owns, with a 0600 file of root's, is the
 * container root's inside (stat says 0, it reads the file); a file the
 * container writes is the host's root's on disk (the idmap undoes the
 * pod's mapping both ways); the kubelet's own mappings on a Mount (the
 * pod's) are honoured the same; a recursive read-only volume is read-only
 * at depth too. No clone stays mounted on the host once created. */
static void test_pod_volumes_are_idmapped(void **state)
{
    (void)state;
    char dir[256], rro[256], sub[300], path[400];
    host_dir("uv-vol", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);
    host_file(path, "s3cret\n", 0600);
    host_dir("uv-rro", rro, sizeof(rro));
    snprintf(sub, sizeof(sub), "%s/tmpfs", rro);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(mount("cku", sub, "tmpfs", 0, "size=1m"), 0);

    userns_opts o;
    char *pod = run_userns_pod("userns-vol", &o);
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "vol", "sleep 1000");
    c.linux_config.security_context = &o.ctr_sc;
    crit_ctr_mount(&c, dir, "/mnt", false);
    Runtime__V1__Mount *k = crit_ctr_mount(&c, dir, "/kubelet", false);
    set_mappings(k, o.maps, 1, o.maps, 1);
    crit_ctr_mount(&c, rro, "/ro", true)->recursive_read_only = true;
    /* A file volume, as the kubelet's termination-log is: the host's
     * root's 0644 file, written by the container's root. */
    char log_file[300];
    snprintf(log_file, sizeof(log_file), "%s/termination-log", rro);
    host_file(log_file, "", 0644);
    crit_ctr_mount(&c, log_file, "/dev/termination-log", false);
    char *id = crit_ctr_create(&S, &c.req);
    assert_int_equal(staged_clones_on_host(), 0);
    crit_ctr_start(&S, id);

    char out[512];
    assert_int_equal(crit_ctr_exec_sh(&S, id, "stat -c '%u %g' /mnt /mnt/secret /kubelet/secret", out, sizeof(out)), 0);
    assert_string_equal(out, "0 0\n0 0\n0 0\n");
    /* The pod's /etc files are the container root's too, as in any pod. */
    assert_int_equal(
        crit_ctr_exec_sh(&S, id, "stat -c '%u %g' /etc/hosts /etc/hostname /etc/resolv.conf", out, sizeof(out)), 0);
    assert_string_equal(out, "0 0\n0 0\n0 0\n");
    assert_int_equal(crit_ctr_exec_sh(&S, id, "cat /mnt/secret", out, sizeof(out)), 0);
    assert_string_equal(out, "s3cret\n");
    assert_int_equal(crit_ctr_exec_sh(&S, id, "echo w >/mnt/written && mkdir /kubelet/d", out, sizeof(out)), 0);
    struct stat st;
    snprintf(path, sizeof(path), "%s/written", dir);
    assert_int_equal(stat(path, &st), 0);
    if (st.st_uid != 0 || st.st_gid != 0)
        fail_msg("%s is %u:%u on the host, not the host's root's", path, st.st_uid, st.st_gid);
    snprintf(path, sizeof(path), "%s/d", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 0);
    /* Recursive read-only and idmapped: read-only at depth, ids mapped. */
    assert_int_not_equal(crit_ctr_exec_sh(&S, id, "touch /ro/tmpfs/x", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Read-only file system"));
    assert_int_not_equal(crit_ctr_exec_sh(&S, id, "touch /ro/x", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Read-only file system"));
    assert_int_equal(crit_ctr_exec_sh(&S, id, "stat -c %u /ro/tmpfs", out, sizeof(out)), 0);
    assert_string_equal(out, "0\n");
    assert_int_equal(crit_ctr_exec_sh(&S, id, "echo done >/dev/termination-log", out, sizeof(out)), 0);
    char *written = crit_ctr_read_file(log_file);
    assert_string_equal(written, "done\n");
    free(written);

    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(umount2(sub, MNT_DETACH), 0);
    crit_ctr_wait_nothing_left(&S);
    assert_int_equal(staged_clones_on_host(), 0);
    free(id);
    free(pod);
}

/* A CreateContainer that must fail with code naming needle, and leave no
 * container and no clone behind. */
static void expect_container_refused(const char *what, crit_ctr_suite *s, Runtime__V1__CreateContainerRequest *req,
                                     grpc_status_code want, const char *needle)
{
    char details[512] = "";
    grpc_status_code code = crit_ctr_create_code(s, req, NULL, details, sizeof(details));
    if (code != want || strstr(details, needle) == NULL)
        fail_msg("%s: status %d \"%s\", want %d naming \"%s\"", what, (int)code, details, (int)want, needle);
    assert_int_equal(staged_clones_on_host(), 0);
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(s, NULL, &r);
    assert_int_equal(l->n_containers, 0);
    crit_result_clear(&r);
}

/* Mount mappings cricket cannot honour are INVALID_ARGUMENT naming the
 * field, before anything is made: others than the pod's, one of the two
 * alone, or any on a pod without a user namespace of its own. */
static void test_mount_mappings_refused(void **state)
{
    (void)state;
    char dir[256];
    host_dir("uv-maps", dir, sizeof(dir));
    userns_opts o, other;
    static const uint32_t other_map[1][3] = {{0, 5000, 100000}};
    userns_init(&other, RUNTIME__V1__NAMESPACE_MODE__POD, 1, other_map);
    char *pod = run_userns_pod("userns-maps", &o);
    struct {
        const char *what;
        Runtime__V1__IDMapping **uids, **gids;
        size_t n_uids, n_gids;
        const char *needle;
    } cases[] = {
        {"other uid mappings", other.maps, o.maps, 1, 1, "uid_mappings must be its pod's"},
        {"other gid mappings", o.maps, other.maps, 1, 1, "gid_mappings must be its pod's"},
        {"two uid mappings", o.maps, o.maps, 2, 1, "uid_mappings must be its pod's"},
        {"uid mappings alone", o.maps, NULL, 1, 0, "gid_mappings is empty"},
    };
    o.maps[1] = &other.map[0];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crit_ctr_request c;
        crit_ctr_init(&c, &S, pod, "maps", "true");
        c.linux_config.security_context = &o.ctr_sc;
        set_mappings(crit_ctr_mount(&c, dir, "/mnt", false), cases[i].uids, cases[i].n_uids, cases[i].gids,
                     cases[i].n_gids);
        expect_container_refused(cases[i].what, &S, &c.req, GRPC_STATUS_INVALID_ARGUMENT, cases[i].needle);
    }
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);

    char *plain = crit_ctr_run_pod(&S, "userns-maps-node");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, plain, "maps", "true");
    set_mappings(crit_ctr_mount(&c, dir, "/mnt", false), o.maps, 1, o.maps, 1);
    expect_container_refused("mappings without a user namespace", &S, &c.req, GRPC_STATUS_INVALID_ARGUMENT,
                             "need a pod with its own user namespace");
    crit_ctr_cleanup_pod(&S, plain);
    crit_ctr_wait_nothing_left(&S);
    free(plain);
}

/* A volume on a filesystem that takes no idmapped mount (ramfs) is
 * FAILED_PRECONDITION naming the host path, and nothing is left. */
static void test_volume_that_cannot_be_idmapped(void **state)
{
    (void)state;
    char dir[256];
    host_dir("uv-ramfs", dir, sizeof(dir));
    assert_int_equal(mount("cku", dir, "ramfs", 0, NULL), 0);
    userns_opts o;
    char *pod = run_userns_pod("userns-ramfs", &o);
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "ramfs", "true");
    c.linux_config.security_context = &o.ctr_sc;
    crit_ctr_mount(&c, dir, "/mnt", false);
    expect_container_refused("ramfs volume", &S, &c.req, GRPC_STATUS_FAILED_PRECONDITION, dir);
    char details[512] = "";
    crit_ctr_init(&c, &S, pod, "ramfs", "true");
    c.linux_config.security_context = &o.ctr_sc;
    crit_ctr_mount(&c, dir, "/mnt", false);
    (void)crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details));
    assert_non_null(strstr(details, "cannot be idmapped"));
    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(umount2(dir, MNT_DETACH), 0);
    crit_ctr_wait_nothing_left(&S);
    free(pod);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_advertises_user_namespaces),
        cmocka_unit_test(test_pod_mode_maps_root_and_owns_rootfs),
        cmocka_unit_test(test_pod_without_pause_owns_its_namespaces),
        cmocka_unit_test(test_node_mode_is_the_hosts),
        cmocka_unit_test(test_refused_user_namespaces),
        cmocka_unit_test(test_container_must_match_its_pod),
        cmocka_unit_test(test_pod_volumes_are_idmapped),
        cmocka_unit_test(test_mount_mappings_refused),
        cmocka_unit_test(test_volume_that_cannot_be_idmapped),
    };
    int failed = cmocka_run_group_tests_name("critest_container_userns", tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
