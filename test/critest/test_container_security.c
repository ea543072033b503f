/*
 * critest_container_security: security contexts over the wire, checked
 * from inside real containers: seccomp (RuntimeDefault installs a filter
 * that blocks namespace creation, unconfined and nil install none, a
 * Localhost profile denies what it names, a privileged container ignores
 * its profile, the pod's profile confines the pause), bad profiles refused
 * before anything exists, no_new_privs, the pod's sysctls (namespaced
 * ones only, never those of a namespace shared with the host, never one
 * the kernel lacks), SupplementalGroupsPolicy Merge and Strict with
 * ContainerStatus.user, AppArmor and SELinux against what this node has,
 * and a setuid binary that raises privileges only without no_new_privs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"
#include "test/critest/registry_fixture.h"

static crit_ctr_suite S;
static char groups_image[256]; /* USER 1000, in the image's group 50000 */

static int start_suite(void **state)
{
    (void)state;
    if (crit_ctr_suite_start(&S, "ckx", 150, NULL) < 0)
        return -1;
    snprintf(groups_image, sizeof(groups_image), "%s/cricket/groups:1", crit_fx("PLAIN"));
    crit_ctr_pull(&S, groups_image);
    return 0;
}

static int stop_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_stop(&S);
}

/* ---- helpers ---- */

static Runtime__V1__SecurityProfile profile(Runtime__V1__SecurityProfile__ProfileType type, const char *ref)
{
    Runtime__V1__SecurityProfile p = RUNTIME__V1__SECURITY_PROFILE__INIT;
    p.profile_type = type;
    p.localhost_ref = (char *)(ref != NULL ? ref : "");
    return p;
}

/* A profile file in the suite's directory: its path (static). */
static const char *profile_file(const char *name, const char *text)
{
    static char path[4][300];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 300, "%s/%s", S.daemon.dir, name);
    crit_write_text(p, text);
    return p;
}

/* A pod with the suite's parent and log directory and the given security
 * context and sysctls; RunPodSandbox's status, and its id when OK. */
static grpc_status_code run_pod(const char *name, Runtime__V1__LinuxSandboxSecurityContext *sec, const char *sysctl,
                                const char *value, char **id, char *details, size_t size)
{
    crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, name, S.cgroup_parent);
    pod.config.log_directory = S.log_dir;
    pod.linux_config.security_context = sec;
    Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry entry = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT;
    Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *entries[] = {&entry};
    if (sysctl != NULL) {
        entry.key = (char *)sysctl;
        entry.value = (char *)value;
        pod.linux_config.sysctls = entries;
        pod.linux_config.n_sysctls = 1;
    }
    return crit_pod_run_status(S.client, req, id, details, size);
}

static size_t containers_listed(void)
{
    crit_result r;
    const Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
    size_t n = l->n_containers;
    crit_result_clear(&r);
    return n;
}

/* A container of pod running `sleep 600` with security context sec, started. */
static char *start_with(const char *pod, const char *name, Runtime__V1__LinuxContainerSecurityContext *sec)
{
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, name, "sleep 600");
    c.linux_config.security_context = sec;
    char *id = crit_ctr_create(&S, req);
    crit_ctr_start(&S, id);
    return id;
}

/* The value of a /proc/self/status line ("Seccomp", "NoNewPrivs") in the container. */
static int status_field(const char *id, const char *pid, const char *field)
{
    char script[128], out[256];
    snprintf(script, sizeof(script), "sed -n 's/^%s:[[:space:]]*//p' /proc/%s/status", field, pid);
    assert_int_equal(crit_ctr_exec_sh(&S, id, script, out, sizeof(out)), 0);
    char *end = NULL;
    long v = strtol(out, &end, 10);
    if (end == out || *end != '\n')
        fail_msg("%s of /proc/%s/status: \"%s\"", field, pid, out);
    return (int)v;
}

/* ---- seccomp ---- */

/* The deprecated field, which older kubelets still send. */
static void set_legacy_path(Runtime__V1__LinuxContainerSecurityContext *sec, char *value)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    sec->seccomp_profile_path = value;
#pragma GCC diagnostic pop
}

static void test_seccomp_runtime_default_and_unconfined(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "seccomp-modes");
    Runtime__V1__SecurityProfile def = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
    Runtime__V1__SecurityProfile unconfined = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined, NULL);
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.seccomp = &def;
    char *confined = start_with(pod, "confined", &sec);
    sec.seccomp = &unconfined;
    char *free_one = start_with(pod, "unconfined", &sec);
    sec.seccomp = NULL;
    char *nil = start_with(pod, "nil", &sec);
    set_legacy_path(&sec, "runtime/default");
    char *legacy = start_with(pod, "legacy", &sec);

    assert_int_equal(status_field(confined, "self", "Seccomp"), 2);
    assert_int_equal(status_field(legacy, "self", "Seccomp"), 2);
    assert_int_equal(status_field(free_one, "self", "Seccomp"), 0);
    assert_int_equal(status_field(nil, "self", "Seccomp"), 0); /* nil is unconfined, as the CRI defines it */
    /* A new user namespace needs no capability, so only the filter stops it. */
    char out[512];
    assert_int_not_equal(crit_ctr_exec_sh(&S, confined, "unshare -U true 2>&1", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Operation not permitted"));
    if (crit_ctr_exec_sh(&S, free_one, "unshare -U true 2>&1", out, sizeof(out)) != 0)
        fail_msg("unconfined: unshare -U failed: %s", out);
    /* Everyday work still runs under the filter (clone3 falls back to clone). */
    assert_int_equal(
        crit_ctr_exec_sh(&S, confined, "mkdir /tmp/d && echo x >/tmp/d/f && (cat /tmp/d/f | wc -l)", out, sizeof(out)),
        0);
    crit_ctr_cleanup_pod(&S, pod);
    free(confined);
    free(free_one);
    free(nil);
    free(legacy);
    free(pod);
}

static void test_seccomp_localhost(void **state)
{
    (void)state;
    const char *deny_mkdir = profile_file("deny-mkdir.json", "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
                                                             "[{\"names\":[\"mkdir\",\"mkdirat\"],"
                                                             "\"action\":\"SCMP_ACT_ERRNO\"}]}");
    char *pod = crit_ctr_run_pod(&S, "seccomp-localhost");
    Runtime__V1__SecurityProfile local = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, deny_mkdir);
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.seccomp = &local;
    char *id = start_with(pod, "deny-mkdir", &sec);
    char out[512];
    assert_int_not_equal(crit_ctr_exec_sh(&S, id, "mkdir /tmp/x 2>&1", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Operation not permitted"));
    assert_int_equal(crit_ctr_exec_sh(&S, id, "touch /tmp/file", NULL, 0), 0);
    assert_int_equal(status_field(id, "self", "Seccomp"), 2);
    /* The deprecated field, as "localhost/<absolute path>". */
    char legacy_path[400];
    snprintf(legacy_path, sizeof(legacy_path), "localhost/%s", deny_mkdir);
    sec.seccomp = NULL;
    set_legacy_path(&sec, legacy_path);
    char *legacy = start_with(pod, "deny-mkdir-legacy", &sec);
    assert_int_not_equal(crit_ctr_exec_sh(&S, legacy, "mkdir /tmp/x 2>&1", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Operation not permitted"));
    crit_ctr_cleanup_pod(&S, pod);
    free(legacy);
    free(id);
    free(pod);
}

static void expect_refused(const char *pod, const char *path, const char *fault)
{
    Runtime__V1__SecurityProfile local = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, path);
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.seccomp = &local;
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, "refused", "sleep 600");
    c.linux_config.security_context = &sec;
    char details[1024];
    assert_int_equal(crit_ctr_create_code(&S, req, NULL, details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
    if (strstr(details, path) == NULL || strstr(details, fault) == NULL)
        fail_msg("details \"%s\" name neither %s nor \"%s\"", details, path, fault);
    assert_int_equal(containers_listed(), 0);
}

static void test_seccomp_bad_profiles(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "seccomp-bad");
    expect_refused(pod,
                   profile_file("unknown.json", "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":"
                                                "[{\"names\":[\"mkdri\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"),
                   "\"mkdri\" is not a syscall");
    expect_refused(pod, "/nonexistent/profile.json", "cannot read it");
    expect_refused(pod, profile_file("broken.json", "{\"defaultAction\": "), "line 1");
    expect_refused(pod, profile_file("action.json", "{\"defaultAction\":\"SCMP_ACT_SOMETIMES\"}"),
                   "is not a seccomp action");
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);
}

static void test_seccomp_privileged_ignores_profile(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_privileged_pod(&S, "seccomp-privileged");
    Runtime__V1__SecurityProfile local =
        profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, "/nonexistent/profile.json");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.privileged = true;
    sec.seccomp = &local;
    char *id = start_with(pod, "privileged", &sec);
    assert_int_equal(status_field(id, "self", "Seccomp"), 0);
    assert_int_equal(crit_ctr_exec_sh(&S, id, "hostname ANewHostName", NULL, 0), 0);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_pod_seccomp(void **state)
{
    (void)state;
    Runtime__V1__SecurityProfile def = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
    Runtime__V1__LinuxSandboxSecurityContext sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    sec.seccomp = &def;
    char *pod = NULL;
    assert_int_equal(run_pod("pod-seccomp", &sec, NULL, NULL, &pod, NULL, 0), GRPC_STATUS_OK);
    /* The pause is pid 1 of the pod's PID namespace. */
    char *id = start_with(pod, "sees-pause", NULL);
    assert_int_equal(status_field(id, "1", "Seccomp"), 2);
    assert_int_equal(status_field(id, "self", "Seccomp"), 0); /* the container chose nothing */
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);

    /* A bad pod profile: refused before anything exists. */
    Runtime__V1__SecurityProfile bad =
        profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, "/nonexistent/pod-profile.json");
    sec.seccomp = &bad;
    char details[1024];
    assert_int_equal(run_pod("pod-seccomp-bad", &sec, NULL, NULL, NULL, details, sizeof(details)),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(details, "/nonexistent/pod-profile.json"));
    assert_int_equal(crit_ctr_pods_listed(&S), 0);
}

/* ---- no_new_privs ---- */

static void test_no_new_privs(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "nnp");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.no_new_privs = true;
    char *on = start_with(pod, "nnp-on", &sec);
    sec.no_new_privs = false;
    char *off = start_with(pod, "nnp-off", &sec);
    assert_int_equal(status_field(on, "self", "NoNewPrivs"), 1);
    assert_int_equal(status_field(off, "self", "NoNewPrivs"), 0);
    crit_ctr_cleanup_pod(&S, pod);
    free(on);
    free(off);
    free(pod);
}

/* A container of user 1000 running a setuid-root copy of cktest-euid from
 * a volume: what it prints. */
static void setuid_euid(const char *pod, const char *name, bool no_new_privs, const char *dir, char *out, size_t size)
{
    Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
    uid.value = 1000;
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.run_as_user = &uid;
    sec.no_new_privs = no_new_privs;
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, name, "sleep 600");
    c.linux_config.security_context = &sec;
    crit_ctr_mount(&c, dir, "/suid", false);
    char *id = crit_ctr_create(&S, req);
    crit_ctr_start(&S, id);
    /* stderr dropped: a coverage build's copy complains there that it cannot
     * write its counters from inside the container. */
    assert_int_equal(crit_ctr_exec_sh(&S, id, "/suid/euid 2>/dev/null", out, size), 0);
    free(id);
}

static void test_setuid_only_without_no_new_privs(void **state)
{
    (void)state;
    char dir[300], bin[400], cmd[900], out[128];
    snprintf(dir, sizeof(dir), "%s/suid", S.daemon.dir);
    snprintf(bin, sizeof(bin), "%s/euid", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", CKTEST_EUID, bin);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chown(bin, 0, 0), 0);
    assert_int_equal(chmod(bin, 04755), 0);

    char *pod = crit_ctr_run_pod(&S, "suid");
    setuid_euid(pod, "suid-raises", false, dir, out, sizeof(out));
    assert_string_equal(out, "uid=1000 euid=0\n");
    setuid_euid(pod, "suid-nnp", true, dir, out, sizeof(out));
    assert_string_equal(out, "uid=1000 euid=1000\n");
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);
}

static void expect_create_refused(const char *pod, const char *name, Runtime__V1__LinuxContainerSecurityContext *sec,
                                  grpc_status_code want, const char *what)
{
    size_t before = containers_listed();
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, name, "sleep 600");
    c.linux_config.security_context = sec;
    char details[1024];
    assert_int_equal(crit_ctr_create_code(&S, req, NULL, details, sizeof(details)), want);
    if (strstr(details, what) == NULL)
        fail_msg("details \"%s\" do not name \"%s\"", details, what);
    assert_int_equal(containers_listed(), before);
}

/* ---- capabilities, masked and read-only paths, devices, users ---- */

/* A /proc/self/status capability mask ("CapBnd", "CapEff") of the container's exec. */
static void expect_caps(const char *id, const char *field, const char *want)
{
    char script[128], out[64];
    snprintf(script, sizeof(script), "sed -n 's/^%s:[[:space:]]*//p' /proc/self/status", field);
    assert_int_equal(crit_ctr_exec_sh(&S, id, script, out, sizeof(out)), 0);
    char expected[40];
    snprintf(expected, sizeof(expected), "%s\n", want);
    if (strcmp(out, expected) != 0)
        fail_msg("%s of container %s: %s, want %s", field, id, out, want);
}

/* The test's own bounding set: the daemon it started has the same. */
static void own_bounding_set(char out[40])
{
    FILE *f = fopen("/proc/self/status", "re");
    assert_non_null(f);
    char line[256];
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "CapBnd: %39s", out) == 1)
            break;
    fclose(f);
    assert_true(out[0] != '\0');
}

/* The default set is containerd's 14; add and drop take names with or
 * without CAP_ and ALL; privileged is the daemon's own bounding set; an
 * unknown name is refused before anything exists. */
static void test_capabilities(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "caps");
    char *plain = start_with(pod, "caps-default", NULL);
    expect_caps(plain, "CapBnd", "00000000a80425fb");
    expect_caps(plain, "CapEff", "00000000a80425fb");

    Runtime__V1__Capability caps = RUNTIME__V1__CAPABILITY__INIT;
    char *add[] = {"NET_ADMIN"}, *add_prefixed[] = {"CAP_CHOWN"}, *all[] = {"ALL"};
    caps.add_capabilities = add;
    caps.n_add_capabilities = 1;
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.capabilities = &caps;
    char *added = start_with(pod, "caps-add", &sec);
    expect_caps(added, "CapEff", "00000000a80435fb");
    caps.drop_capabilities = all;
    caps.n_drop_capabilities = 1;
    caps.add_capabilities = add_prefixed;
    char *dropped = start_with(pod, "caps-drop-all", &sec);
    expect_caps(dropped, "CapBnd", "0000000000000001");

    char *unknown[] = {"NOT_A_CAPABILITY"};
    caps.add_capabilities = unknown;
    caps.drop_capabilities = NULL;
    caps.n_drop_capabilities = 0;
    expect_create_refused(pod, "caps-unknown", &sec, GRPC_STATUS_INVALID_ARGUMENT, "NOT_A_CAPABILITY");
    crit_ctr_cleanup_pod(&S, pod);
    free(plain);
    free(added);
    free(dropped);
    free(pod);

    pod = crit_ctr_run_privileged_pod(&S, "caps-privileged");
    Runtime__V1__LinuxContainerSecurityContext priv = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    priv.privileged = true;
    char *p = start_with(pod, "caps-privileged", &priv);
    char own[40];
    own_bounding_set(own);
    expect_caps(p, "CapBnd", own);
    expect_caps(p, "CapEff", own);
    crit_ctr_cleanup_pod(&S, pod);
    free(p);
    free(pod);
}

/* What /proc/mounts says in the container: the options of path's mount,
 * "" when nothing is mounted there. */
static void mount_options(const char *id, const char *path, char *out, size_t size)
{
    char script[256];
    snprintf(script, sizeof(script), "awk '$2==\"%s\"{o=$4} END{print o}' /proc/mounts", path);
    assert_int_equal(crit_ctr_exec_sh(&S, id, script, out, size), 0);
}

static bool read_only(const char *options)
{
    return strncmp(options, "ro,", 3) == 0 || strcmp(options, "ro\n") == 0;
}

/* The default masked paths hide what they name (a file reads empty, a
 * directory is an empty tmpfs), the read-only ones are mounted read-only,
 * a privileged container has neither, a writable /sys, and sees the
 * host's devices. */
static void test_masked_and_readonly_paths_and_devices(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "masked");
    char *plain = start_with(pod, "masked-default", NULL);
    char out[256];
    assert_int_equal(
        crit_ctr_exec_sh(&S, plain, "wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l", out, sizeof(out)), 0);
    assert_string_equal(out, "0\n0\n");
    /* The defaults this kernel has (some build without /proc/sysrq-trigger). */
    static const char *const ro_paths[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"};
    for (size_t i = 0; i < sizeof(ro_paths) / sizeof(ro_paths[0]); i++) {
        if (access(ro_paths[i], F_OK) != 0)
            continue;
        mount_options(plain, ro_paths[i], out, sizeof(out));
        if (!read_only(out))
            fail_msg("%s in an unprivileged container is mounted \"%s\", not read-only", ro_paths[i], out);
    }
    assert_int_equal(crit_ctr_exec_sh(&S, plain, "test -e /dev/kmsg", NULL, 0), 1);
    crit_ctr_cleanup_pod(&S, pod);
    free(plain);
    free(pod);

    pod = crit_ctr_run_privileged_pod(&S, "masked-privileged");
    Runtime__V1__LinuxContainerSecurityContext priv = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    priv.privileged = true;
    char *p = start_with(pod, "masked-privileged", &priv);
    mount_options(p, "/proc/timer_list", out, sizeof(out));
    assert_string_equal(out, "\n");
    mount_options(p, "/proc/sys", out, sizeof(out));
    if (read_only(out))
        fail_msg("/proc/sys of a privileged container is read-only (%s)", out);
    mount_options(p, "/sys", out, sizeof(out));
    if (read_only(out))
        fail_msg("/sys of a privileged container is read-only (%s)", out);
    /* An unprivileged neighbour's /sys stays read-only (its own mount). */
    char *neighbour = start_with(pod, "masked-neighbour", NULL);
    mount_options(neighbour, "/sys", out, sizeof(out));
    if (!read_only(out))
        fail_msg("/sys of an unprivileged container in a privileged pod is \"%s\"", out);
    free(neighbour);
    assert_int_equal(crit_ctr_exec_sh(&S, p, "test -c /dev/kmsg", NULL, 0), 0);
    crit_ctr_cleanup_pod(&S, pod);
    free(p);
    free(pod);
}

/* A user name the image does not know is refused, never uid 0. */
static void test_unknown_username_refused(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "username");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.run_as_username = "no-such-user";
    expect_create_refused(pod, "username-unknown", &sec, GRPC_STATUS_INVALID_ARGUMENT, "no-such-user");
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);
}

/* ---- AppArmor and SELinux ---- */

static bool node_has(const char *path, char want)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    int c = fgetc(f);
    fclose(f);
    return want == 0 || c == want;
}

static void set_legacy_apparmor(Runtime__V1__LinuxContainerSecurityContext *sec, char *value)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    sec->apparmor_profile = value;
#pragma GCC diagnostic pop
}

/* A Localhost AppArmor profile this node cannot apply (no AppArmor here, or
 * no such profile loaded) is FAILED_PRECONDITION naming it, from either
 * field, for a pod and for a container; the default and unconfined run. */
static void test_apparmor_against_the_node(void **state)
{
    (void)state;
    const char *fault =
        node_has("/sys/module/apparmor/parameters/enabled", 'Y') ? "is not loaded" : "AppArmor is not enabled";
    char *pod = crit_ctr_run_pod(&S, "apparmor");
    Runtime__V1__SecurityProfile missing =
        profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost, "localhost/cricket-no-such-profile");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.apparmor = &missing;
    expect_create_refused(pod, "aa-field", &sec, GRPC_STATUS_FAILED_PRECONDITION, fault);
    expect_create_refused(pod, "aa-field", &sec, GRPC_STATUS_FAILED_PRECONDITION, "cricket-no-such-profile");
    sec.apparmor = NULL;
    set_legacy_apparmor(&sec, "localhost/cricket-no-such-profile");
    expect_create_refused(pod, "aa-legacy", &sec, GRPC_STATUS_FAILED_PRECONDITION, fault);
    set_legacy_apparmor(&sec, "bogus");
    expect_create_refused(pod, "aa-bad", &sec, GRPC_STATUS_INVALID_ARGUMENT, "apparmor_profile");

    /* The new field wins over the deprecated one. */
    Runtime__V1__SecurityProfile unconfined = profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined, NULL);
    sec.apparmor = &unconfined;
    set_legacy_apparmor(&sec, "localhost/cricket-no-such-profile");
    char *a = start_with(pod, "aa-unconfined", &sec);
    Runtime__V1__SecurityProfile runtime_default =
        profile(RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault, NULL);
    sec.apparmor = &runtime_default;
    set_legacy_apparmor(&sec, "");
    char *b = start_with(pod, "aa-default", &sec);
    crit_ctr_cleanup_pod(&S, pod);
    free(a);
    free(b);
    free(pod);

    /* A privileged container runs without a profile, whatever it names. */
    pod = crit_ctr_run_privileged_pod(&S, "apparmor-privileged");
    sec.apparmor = &missing;
    sec.privileged = true;
    char *p = start_with(pod, "aa-privileged", &sec);
    crit_ctr_cleanup_pod(&S, pod);
    free(p);
    free(pod);

    Runtime__V1__LinuxSandboxSecurityContext pod_sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    pod_sec.apparmor = &missing;
    char details[1024];
    assert_int_equal(run_pod("apparmor-pod", &pod_sec, NULL, NULL, NULL, details, sizeof(details)),
                     GRPC_STATUS_FAILED_PRECONDITION);
    if (strstr(details, fault) == NULL)
        fail_msg("details \"%s\" do not say \"%s\"", details, fault);
    assert_int_equal(crit_ctr_pods_listed(&S), 0);
}

/* SELinux labels are ignored on a node without SELinux (as containerd and
 * CRI-O do) and refused on one with it, since cricket does not label. */
static void test_selinux_against_the_node(void **state)
{
    (void)state;
    bool selinux = node_has("/sys/fs/selinux/enforce", 0);
    Runtime__V1__SELinuxOption label = RUNTIME__V1__SELINUX_OPTION__INIT;
    label.level = "s0:c4,c5";
    label.type = "svirt_lxc_net_t";
    Runtime__V1__LinuxSandboxSecurityContext pod_sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    pod_sec.selinux_options = &label;
    char *pod = NULL, details[1024];
    grpc_status_code code = run_pod("selinux", &pod_sec, NULL, NULL, &pod, details, sizeof(details));
    if (selinux) {
        assert_int_equal(code, GRPC_STATUS_FAILED_PRECONDITION);
        assert_non_null(strstr(details, "SELinux"));
        return;
    }
    assert_int_equal(code, GRPC_STATUS_OK);
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.selinux_options = &label;
    char *id = start_with(pod, "labelled", &sec);
    assert_int_equal(crit_ctr_exec_sh(&S, id, "touch /foo", NULL, 0), 0);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

/* ---- sysctls ---- */

static void expect_sysctl_refused(const char *name, Runtime__V1__LinuxSandboxSecurityContext *sec, const char *sysctl,
                                  const char *fault)
{
    char details[1024];
    assert_int_equal(run_pod(name, sec, sysctl, "1", NULL, details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
    if (strstr(details, sysctl) == NULL || strstr(details, fault) == NULL)
        fail_msg("details \"%s\" name neither %s nor \"%s\"", details, sysctl, fault);
    assert_int_equal(crit_ctr_pods_listed(&S), 0);
}

static void test_sysctls(void **state)
{
    (void)state;
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    Runtime__V1__LinuxSandboxSecurityContext sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    sec.namespace_options = &ns;
    expect_sysctl_refused("sysctl-node", &sec, "vm.swappiness", "is not namespaced");
    expect_sysctl_refused("sysctl-uts", &sec, "kernel.hostname", "is not namespaced");
    ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
    expect_sysctl_refused("sysctl-hostnet", &sec, "net.ipv4.ip_forward", "the host's network");
    ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
    ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
    expect_sysctl_refused("sysctl-hostipc", &sec, "kernel.shm_rmid_forced", "shares the host's");
    ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
    expect_sysctl_refused("sysctl-typo", &sec, "net.ipv4.no_such_sysctl", "does not exist");
    expect_sysctl_refused("sysctl-typo-ipc", &sec, "fs.mqueue.no_such_sysctl", "does not exist");

    /* Namespaced ones of the pod's own namespaces are set. */
    ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
    char *pod = NULL;
    assert_int_equal(run_pod("sysctl-net", &sec, "net.ipv4.ip_unprivileged_port_start", "1", &pod, NULL, 0),
                     GRPC_STATUS_OK);
    char *id = start_with(pod, "reads-sysctl", NULL);
    char out[64];
    assert_int_equal(crit_ctr_exec_sh(&S, id, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start", out, sizeof(out)),
                     0);
    assert_string_equal(out, "1\n");
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);

    /* One of the pod's own interface, which exists only once its network is made. */
    assert_int_equal(run_pod("sysctl-iface", &sec, "net.ipv4.conf.eth0.arp_ignore", "1", &pod, NULL, 0),
                     GRPC_STATUS_OK);
    id = start_with(pod, "reads-iface-sysctl", NULL);
    assert_int_equal(crit_ctr_exec_sh(&S, id, "cat /proc/sys/net/ipv4/conf/eth0/arp_ignore", out, sizeof(out)), 0);
    assert_string_equal(out, "1\n");
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

/* ---- supplemental groups ---- */

static void expect_groups(int policy, const char *want_id, const int64_t *want, size_t n_want)
{
    char *pod = crit_ctr_run_pod(&S, policy == RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict ? "strict" : "merge");
    Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
    uid.value = 1000;
    int64_t groups[] = {1234};
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.run_as_user = &uid;
    sec.supplemental_groups = groups;
    sec.n_supplemental_groups = 1;
    sec.supplemental_groups_policy = (Runtime__V1__SupplementalGroupsPolicy)policy;
    crit_ctr_request c;
    Runtime__V1__CreateContainerRequest *req = crit_ctr_init(&c, &S, pod, "groups", "sleep 600");
    c.image.image = groups_image;
    c.linux_config.security_context = &sec;
    char *id = crit_ctr_create(&S, req);
    crit_ctr_start(&S, id);
    char out[128];
    assert_int_equal(crit_ctr_exec_sh(&S, id, "id -G", out, sizeof(out)), 0);
    assert_string_equal(out, want_id);
    crit_result r;
    const Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, id, false, &r);
    assert_non_null(st->user);
    assert_non_null(st->user->linux);
    assert_int_equal(st->user->linux->uid, 1000);
    assert_int_equal(st->user->linux->gid, 1000);
    assert_int_equal(st->user->linux->n_supplemental_groups, n_want);
    for (size_t i = 0; i < n_want; i++) {
        bool found = false;
        for (size_t k = 0; k < n_want; k++)
            found |= st->user->linux->supplemental_groups[k] == want[i];
        if (!found)
            fail_msg("ContainerStatus.user lacks group %lld", (long long)want[i]);
    }
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_supplemental_groups_policy(void **state)
{
    (void)state;
    const int64_t merged[] = {1000, 1234, 50000}, strict[] = {1000, 1234};
    expect_groups(RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge, "1000 1234 50000\n", merged, 3);
    expect_groups(RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict, "1000 1234\n", strict, 2);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seccomp_runtime_default_and_unconfined),
        cmocka_unit_test(test_seccomp_localhost),
        cmocka_unit_test(test_seccomp_bad_profiles),
        cmocka_unit_test(test_seccomp_privileged_ignores_profile),
        cmocka_unit_test(test_pod_seccomp),
        cmocka_unit_test(test_no_new_privs),
        cmocka_unit_test(test_setuid_only_without_no_new_privs),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_masked_and_readonly_paths_and_devices),
        cmocka_unit_test(test_unknown_username_refused),
        cmocka_unit_test(test_apparmor_against_the_node),
        cmocka_unit_test(test_selinux_against_the_node),
        cmocka_unit_test(test_sysctls),
        cmocka_unit_test(test_supplemental_groups_policy),
    };
    int failed = cmocka_run_group_tests_name("critest_container_security", tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
