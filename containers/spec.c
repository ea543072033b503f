/*
 * spec: a workload container's config.json. One build gathers every piece
 * into a ck_oci_spec whose strings and arrays live in an arena, released
 * at once when config.json is written (or the build fails): the request,
 * the image and the pod are only read.
 *
 * Order of the steps: the request is checked whole first (a malformed one
 * changes nothing on the host); then the identity (the user's groups come
 * from the rootfs), the process, the mounts (bind sources may be created,
 * as containerd does), devices, namespaces, resources and security.
 */
#include "containers/spec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/parse.h"
#include "oci/runtime.h"
#include "oci/spec.h"
#include "oci/user.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- signals ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    int num;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* "RTMIN", "RTMIN+3", "RTMAX-2": real-time signals as Docker names them. */
static int parse_realtime(const char *s)
{
    int base;
    if (strncmp(s, "RTMIN", 5) == 0)
        base = SIGRTMIN;
    else if (strncmp(s, "RTMAX", 5) == 0)
        base = SIGRTMAX;
    else
        return -1;
    s += 5;
    if (*s == '\0')
        return base;
    if ((*s != '+' && *s != '-') || s[1] == '\0' || strspn(s + 1, "0123456789") != strlen(s + 1) || strlen(s + 1) > 2)
        return -1;
    int n = (int)strtol(s + 1, NULL, 10); /* at most two digits, checked above */
    int sig = *s == '+' ? base + n : base - n;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

int ck_signal_parse(const char *name)
{
    char up[32];
    if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(up))
        return -1;
    size_t i = 0;
    for (; name[i] != '\0'; i++)
        up[i] = (char)toupper((unsigned char)name[i]);
    up[i] = '\0';
    if (strspn(up, "0123456789") == i) {
        if (i > 2)
            return -1;
        int n = (int)strtol(up, NULL, 10);
        return n >= 1 && n <= SIGRTMAX ? n : -1;
    }
    const char *s = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
    for (size_t k = 0; k < sizeof(signal_names) / sizeof(signal_names[0]); k++)
        if (strcmp(s, signal_names[k].name) == 0)
            return signal_names[k].num;
    return parse_realtime(s);
}

/* ---- capabilities ------------------------------------------------------------------ */

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};
enum { N_CAPS = sizeof(cap_names) / sizeof(cap_names[0]) };

/* containerd's (and Docker's) default set for an unprivileged container. */
static const char *const default_caps[] = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID",  "FOWNER",           "MKNOD",      "NET_RAW", "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",    "AUDIT_WRITE"};

static bool is_all(const char *name)
{
    return strcasecmp(name, "ALL") == 0;
}

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin": its number, or -1. */
static int cap_index(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (int i = 0; i < (int)N_CAPS; i++)
        if (strcasecmp(name, cap_names[i]) == 0)
            return i;
    return -1;
}

static bool strs_have_all(const ck_strs *s)
{
    for (size_t i = 0; i < s->len; i++)
        if (is_all(s->items[i]))
            return true;
    return false;
}

/* The daemon's own bounding set: a container can never hold more. */
static int read_cap_bounding(uint64_t *out, ck_err *err)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open /proc/self/status");
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "CapBnd:", 7) == 0)
            return ck_parse_u64(line + 7, 16, out, err) < 0 ? ck_err_wrap(err, "CapBnd of /proc/self/status") : 0;
    return ck_err_set(err, CK_E_INTERNAL, 0, "/proc/self/status has no CapBnd line");
}

/* ---- checks of the request ------------------------------------------------------- */

static int check_user(const ck_container_security *sec, ck_err *err)
{
    bool has_user = sec->has_run_as_user || (sec->run_as_username != NULL && sec->run_as_username[0] != '\0');
    if (sec->has_run_as_group && !has_user)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "security_context.run_as_group is set without run_as_user or run_as_username");
    if (sec->has_run_as_user && (sec->run_as_user < 0 || sec->run_as_user > UINT32_MAX - 1))
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.run_as_user %lld is not a valid uid",
                          (long long)sec->run_as_user);
    if (sec->has_run_as_group && (sec->run_as_group < 0 || sec->run_as_group > UINT32_MAX - 1))
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.run_as_group %lld is not a valid gid",
                          (long long)sec->run_as_group);
    if (sec->run_as_username != NULL && strchr(sec->run_as_username, ':') != NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.run_as_username \"%s\" must not contain ':'",
                          sec->run_as_username);
    if (sec->supplemental_groups_policy != CK_GROUPS_MERGE && sec->supplemental_groups_policy != CK_GROUPS_STRICT)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "security_context.supplemental_groups_policy %d is neither Merge nor Strict",
                          sec->supplemental_groups_policy);
    if (sec->n_supplemental_groups > CK_OCI_MAX_GROUPS)
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.supplemental_groups has %zu groups, at most %d",
                          sec->n_supplemental_groups, CK_OCI_MAX_GROUPS);
    for (size_t i = 0; i < sec->n_supplemental_groups; i++)
        if (sec->supplemental_groups[i] < 0 || sec->supplemental_groups[i] > UINT32_MAX - 1)
            return ck_err_set(err, CK_E_INVALID, 0, "security_context.supplemental_groups[%zu] %lld is not a valid gid",
                              i, (long long)sec->supplemental_groups[i]);
    return 0;
}

static int check_capabilities(const char *field, const ck_strs *names, ck_err *err)
{
    for (size_t i = 0; i < names->len; i++)
        if (!is_all(names->items[i]) && cap_index(names->items[i]) < 0)
            return ck_err_set(err, CK_E_INVALID, 0, "security_context.capabilities.%s[%zu] \"%s\" is not a capability",
                              field, i, names->items[i]);
    return 0;
}

static int check_paths(const char *field, const ck_strs *paths, ck_err *err)
{
    for (size_t i = 0; i < paths->len; i++)
        if (paths->items[i][0] != '/')
            return ck_err_set(err, CK_E_INVALID, 0, "security_context.%s[%zu] \"%s\" must be an absolute path", field,
                              i, paths->items[i]);
    return 0;
}

/* A privileged container runs without a profile (the CRI's rule), so only
 * an unprivileged one needs what its profiles name. */
static int check_lsm(const ck_container_security *sec, ck_err *err)
{
    const char *profile = NULL;
    if (!sec->privileged && ck_apparmor_profile_for(&sec->apparmor, &profile, err) < 0)
        return ck_err_wrap(err, "security_context.apparmor");
    return ck_selinux_check("security_context.selinux_options", sec->selinux_labelled, err);
}

static int check_security(const ck_container_security *sec, ck_err *err)
{
    if (check_user(sec, err) < 0 || check_capabilities("add_capabilities", &sec->add_capabilities, err) < 0 ||
        (!sec->privileged && ck_seccomp_check(&sec->seccomp, err) < 0) || check_lsm(sec, err) < 0 ||
        check_capabilities("drop_capabilities", &sec->drop_capabilities, err) < 0 ||
        check_paths("masked_paths", &sec->masked_paths, err) < 0 ||
        check_paths("readonly_paths", &sec->readonly_paths, err) < 0)
        return -1;
    if (sec->ns_pid < CK_NS_POD || sec->ns_pid > CK_NS_TARGET)
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.namespace_options.pid %d is not a namespace mode",
                          sec->ns_pid);
    if (sec->ns_pid == CK_NS_TARGET && (sec->ns_target_id == NULL || sec->ns_target_id[0] == '\0'))
        return ck_err_set(err, CK_E_INVALID, 0, "security_context.namespace_options: pid TARGET needs a target_id");
    return 0;
}

static bool same_map(const ck_id_map *given, size_t n, const ck_id_map *pod)
{
    return n == 1 && given->container_id == pod->container_id && given->host_id == pod->host_id &&
           given->length == pod->length;
}

/* A container lives in its pod's user namespace: userns_options, when
 * given, must say the pod's mode and mappings (the kubelet sends the
 * pod's). */
static int check_userns(const ck_userns_req *u, const ck_sandbox_context *pod, ck_err *err)
{
    static const char *const modes[] = {"POD", "CONTAINER", "NODE", "TARGET"};
    if (!u->given)
        return 0;
    int pod_mode = pod->own_userns ? CK_NS_POD : CK_NS_NODE;
    if (u->mode != pod_mode)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "security_context.namespace_options.userns_options: mode %s is not its pod's (%s)",
                          u->mode >= 0 && u->mode <= 3 ? modes[u->mode] : "unknown", modes[pod_mode]);
    if (u->mode == CK_NS_POD &&
        (!same_map(u->uids, u->n_uids, &pod->uid_map) || !same_map(u->gids, u->n_gids, &pod->gid_map)))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "security_context.namespace_options.userns_options: the uid and gid mappings must be its "
                          "pod's ({%u, %u, %u})",
                          pod->uid_map.container_id, pod->uid_map.host_id, pod->uid_map.length);
    if (u->mode == CK_NS_NODE && (u->n_uids > 0 || u->n_gids > 0))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "security_context.namespace_options.userns_options: mode NODE takes no mappings");
    return 0;
}

static int check_mount(size_t i, const ck_mount_req *m, ck_err *err)
{
    if (m->container_path == NULL || m->container_path[0] != '/')
        return ck_err_set(err, CK_E_INVALID, 0, "mounts[%zu].container_path \"%s\" must be an absolute path", i,
                          m->container_path != NULL ? m->container_path : "");
    if (m->image != NULL && m->image[0] != '\0')
        return ck_err_set(err, CK_E_UNIMPLEMENTED, 0, "mounts[%zu] (%s): image volumes are not supported yet", i,
                          m->container_path);
    if (m->host_path == NULL || m->host_path[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "mounts[%zu] (%s): host_path is empty", i, m->container_path);
    if (m->propagation < CK_PROPAGATION_PRIVATE || m->propagation > CK_PROPAGATION_BIDIRECTIONAL)
        return ck_err_set(err, CK_E_INVALID, 0, "mounts[%zu] (%s): propagation %d is not a propagation mode", i,
                          m->container_path, m->propagation);
    if ((m->n_uid_mappings == 0) != (m->n_gid_mappings == 0))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "mounts[%zu] (%s): %s is empty but %s is not: an idmapped mount takes both", i,
                          m->container_path, m->n_uid_mappings == 0 ? "uid_mappings" : "gid_mappings",
                          m->n_uid_mappings == 0 ? "gid_mappings" : "uid_mappings");
    if (!m->recursive_read_only)
        return 0;
    if (!m->readonly)
        return ck_err_set(err, CK_E_INVALID, 0, "mounts[%zu] (%s): recursive_read_only needs readonly", i,
                          m->container_path);
    if (m->propagation != CK_PROPAGATION_PRIVATE)
        return ck_err_set(
            err, CK_E_INVALID, 0, "mounts[%zu] (%s): recursive_read_only needs propagation PRIVATE, not %s", i,
            m->container_path, m->propagation == CK_PROPAGATION_BIDIRECTIONAL ? "BIDIRECTIONAL" : "HOST_TO_CONTAINER");
    return 0;
}

/* The volumes of a pod with its own user namespace are idmapped through it
 * (staged by readonly_trees.c: runc 1.1.5 ignores mounts[].uidMappings), so
 * the host's ids 0..length-1 on disk are the container's 0..length-1, as the
 * rootfs's are. Peers: the kubelet (1.27 and later) sends the pod's own
 * mappings on every volume of such a pod and containerd and CRI-O hand them
 * to the OCI runtime as they are; a request without them (crictl, an older
 * kubelet) gets the same idmap here, since a volume the container's root
 * sees as nobody's is no use to it. Mappings cricket can honour are the
 * pod's alone (the idmap goes through the pod's pinned namespace, and runc
 * 1.2 itself refuses idmapped mounts whose mappings differ from a
 * container's user namespace); on a pod without a user namespace they are
 * refused too, never ignored. An idmapped clone is private, so a volume
 * asking for mount propagation cannot be one. */
static int check_mount_in_pod(size_t i, const ck_mount_req *m, const ck_sandbox_context *pod, ck_err *err)
{
    if (m->n_uid_mappings > 0 && !pod->own_userns)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "mounts[%zu] (%s): uid_mappings and gid_mappings need a pod with its own user namespace "
                          "(userns_options POD), and pod %s has none",
                          i, m->container_path, pod->id);
    if (!pod->own_userns)
        return 0;
    const ck_id_map *u = &pod->uid_map, *g = &pod->gid_map;
    if (m->n_uid_mappings > 0 && !same_map(m->uid_mappings, m->n_uid_mappings, u))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "mounts[%zu] (%s): uid_mappings must be its pod's user namespace mapping {%u, %u, %u}", i,
                          m->container_path, u->container_id, u->host_id, u->length);
    if (m->n_gid_mappings > 0 && !same_map(m->gid_mappings, m->n_gid_mappings, g))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "mounts[%zu] (%s): gid_mappings must be its pod's user namespace mapping {%u, %u, %u}", i,
                          m->container_path, g->container_id, g->host_id, g->length);
    if (m->propagation != CK_PROPAGATION_PRIVATE)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "mounts[%zu] (%s): a volume of a pod with its own user namespace is an idmapped private "
                          "clone and takes propagation PRIVATE only",
                          i, m->container_path);
    return 0;
}

bool ck_container_mount_staged(const ck_mount_req *m, const ck_sandbox_context *pod)
{
    return m->recursive_read_only || pod->own_userns;
}

int ck_container_check_in_pod(const ck_container_config *cfg, const ck_sandbox_context *pod, ck_err *err)
{
    if (check_userns(&cfg->security.userns, pod, err) < 0)
        return -1;
    if (cfg->security.privileged && !pod->privileged)
        return ck_err_set(err, CK_E_INVALID, 0, "a privileged container needs a privileged pod, and pod %s is not",
                          pod->id);
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (check_mount_in_pod(i, &cfg->mounts[i], pod, err) < 0)
            return -1;
    return 0;
}

static int check_device(size_t i, const ck_device_req *d, ck_err *err)
{
    if (d->container_path == NULL || d->container_path[0] != '/')
        return ck_err_set(err, CK_E_INVALID, 0, "devices[%zu].container_path \"%s\" must be an absolute path", i,
                          d->container_path != NULL ? d->container_path : "");
    if (d->host_path == NULL || d->host_path[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "devices[%zu] (%s): host_path is empty", i, d->container_path);
    const char *p = d->permissions != NULL ? d->permissions : "";
    if (strspn(p, "rwm") != strlen(p) || strlen(p) > 3)
        return ck_err_set(err, CK_E_INVALID, 0, "devices[%zu] (%s): permissions \"%s\" are not a subset of \"rwm\"", i,
                          d->container_path, p);
    return 0;
}

static bool valid_page_size(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    return digits > 0 && s[digits] != '\0' && strchr("KMGTP", s[digits]) != NULL && strcmp(s + digits + 1, "B") == 0;
}

static int check_resources(const ck_container_resources *r, ck_err *err)
{
    if (r->cpu_shares < 0 || r->cpu_period < 0 || r->memory_limit_in_bytes < 0)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "resources: cpu_shares, cpu_period and memory_limit_in_bytes must not "
                          "be negative");
    if (r->memory_swap_limit_in_bytes < -1)
        return ck_err_set(err, CK_E_INVALID, 0, "resources.memory_swap_limit_in_bytes %lld is neither -1 nor a size",
                          (long long)r->memory_swap_limit_in_bytes);
    /* The CRI's swap limit counts memory plus swap, as cgroup v1's memsw does. */
    if (r->memory_swap_limit_in_bytes > 0 && r->memory_limit_in_bytes > 0 &&
        r->memory_swap_limit_in_bytes < r->memory_limit_in_bytes)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "resources.memory_swap_limit_in_bytes %lld is below memory_limit_in_bytes %lld (it counts "
                          "memory plus swap)",
                          (long long)r->memory_swap_limit_in_bytes, (long long)r->memory_limit_in_bytes);
    if (r->oom_score_adj < -1000 || r->oom_score_adj > 1000)
        return ck_err_set(err, CK_E_INVALID, 0, "resources.oom_score_adj %lld is outside [-1000, 1000]",
                          (long long)r->oom_score_adj);
    for (size_t i = 0; i < r->n_hugepages; i++)
        if (r->hugepages[i].page_size == NULL || !valid_page_size(r->hugepages[i].page_size))
            return ck_err_set(err, CK_E_INVALID, 0,
                              "resources.hugepage_limits[%zu].page_size \"%s\" is not like \"2MB\"", i,
                              r->hugepages[i].page_size != NULL ? r->hugepages[i].page_size : "");
    for (size_t i = 0; i < r->unified.len; i++)
        if (r->unified.items[i].key[0] == '\0' || strchr(r->unified.items[i].key, '/') != NULL)
            return ck_err_set(err, CK_E_INVALID, 0, "resources.unified key \"%s\" is not a cgroup file name",
                              r->unified.items[i].key);
    return 0;
}

static int check_process(const ck_container_config *cfg, ck_err *err)
{
    if (cfg->working_dir != NULL && cfg->working_dir[0] != '\0' && cfg->working_dir[0] != '/')
        return ck_err_set(err, CK_E_INVALID, 0, "working_dir \"%s\" must be an absolute path", cfg->working_dir);
    for (size_t i = 0; i < cfg->envs.len; i++) {
        const char *key = cfg->envs.items[i].key;
        if (key == NULL || key[0] == '\0' || strchr(key, '=') != NULL)
            return ck_err_set(err, CK_E_INVALID, 0, "envs[%zu]: key \"%s\" is empty or contains '='", i,
                              key != NULL ? key : "");
    }
    if (cfg->stop_signal != NULL && cfg->stop_signal[0] != '\0' && ck_signal_parse(cfg->stop_signal) < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "stop_signal \"%s\" is not a signal", cfg->stop_signal);
    return 0;
}

int ck_container_config_check(const ck_container_config *cfg, ck_err *err)
{
    if (check_process(cfg, err) < 0 || check_security(&cfg->security, err) < 0 ||
        (cfg->has_resources && check_resources(&cfg->resources, err) < 0))
        return -1;
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (check_mount(i, &cfg->mounts[i], err) < 0)
            return -1;
    for (size_t i = 0; i < cfg->n_devices; i++)
        if (check_device(i, &cfg->devices[i], err) < 0)
            return -1;
    return 0;
}

/* ---- the build ------------------------------------------------------------------- */

typedef struct ptr_list {
    const char **items;
    size_t len, cap;
} ptr_list;

typedef struct build {
    ck_arena arena;
    const ck_container_spec_in *in;
    const ck_container_config *cfg;
    const ck_container_security *sec;
    const ck_image *image;
    ck_container_host host; /* every field known (detected where the caller left it zero) */
    ck_oci_spec spec;
    ck_oci_resources *res;
    ck_oci_user user;
    uint64_t caps; /* the capability set granted (bit n = capability n) */
} build;

/* Appends to a growing list of strings held in the arena (a NULL item
 * terminates it for ck_oci_spec). */
static int list_push(build *b, ptr_list *l, const char *item, ck_err *err)
{
    if (l->len + 2 > l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        const char **items = ck_arena_alloc(&b->arena, cap * sizeof(*items));
        if (items == NULL)
            return ck_err_oom(err, "spec list");
        if (l->len > 0)
            memcpy(items, l->items, l->len * sizeof(*items));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = item;
    l->items[l->len] = NULL;
    return 0;
}

static char *b_printf(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *b_printf(build *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *copy = ck_arena_strdup(&b->arena, s);
    free(s);
    return copy;
}

/* "/a//b/./c/../d/" -> "/a/b/d": how container paths are compared. */
static char *clean_path(build *b, const char *path)
{
    size_t len = strlen(path);
    char *out = ck_arena_alloc(&b->arena, len + 2);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    const char *p = path;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        size_t seg = strcspn(p, "/");
        if (seg == 0 || (seg == 1 && p[0] == '.')) {
            p += seg;
            continue;
        }
        if (seg == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the slash before the dropped part */
        } else {
            out[n++] = '/';
            memcpy(out + n, p, seg);
            n += seg;
        }
        p += seg;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return out;
}

/* ---- host facts ------------------------------------------------------------------ */

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static bool v2_has_hugetlb(void)
{
    char line[1024] = "";
    _cleanup_fclose_ FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL)
        return false;
    for (char *save = NULL, *w = strtok_r(line, " \n", &save); w != NULL; w = strtok_r(NULL, " \n", &save))
        if (strcmp(w, "hugetlb") == 0)
            return true;
    return false;
}

/* containerd's checks: cgroup v2 when its root holds cgroup.controllers
 * (the hybrid layout has it only below, in unified/); swap when v1 offers
 * memsw; hugepages when the hierarchy in use has the hugetlb controller. */
static int learn_host(build *b, ck_err *err)
{
    ck_container_host *h = &b->host;
    *h = b->in->host;
    if (h->cap_bounding == 0 && read_cap_bounding(&h->cap_bounding, err) < 0)
        return -1;
    if (h->cgroup_v2 == 0)
        h->cgroup_v2 = file_exists("/sys/fs/cgroup/cgroup.controllers") ? 1 : -1;
    if (h->swap_controller == 0)
        h->swap_controller =
            h->cgroup_v2 > 0 || file_exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") ? 1 : -1;
    if (h->hugetlb_controller == 0)
        h->hugetlb_controller = (h->cgroup_v2 > 0 ? v2_has_hugetlb() : file_exists("/sys/fs/cgroup/hugetlb")) ? 1 : -1;
    if (h->mountinfo == NULL)
        h->mountinfo = "/proc/self/mountinfo";
    if (h->dev_dir == NULL)
        h->dev_dir = "/dev";
    return 0;
}

/* ---- identity -------------------------------------------------------------------- */

/* The USER string ck_oci_resolve_user reads: the CRI's name or uid (the
 * name wins, as in containerd), with the CRI's group; else the image's. */
static int user_string(const build *b, char *buf, size_t size, ck_err *err)
{
    const ck_container_security *sec = b->sec;
    int n;
    if (sec->run_as_username != NULL && sec->run_as_username[0] != '\0')
        n = snprintf(buf, size, "%s", sec->run_as_username);
    else if (sec->has_run_as_user)
        n = snprintf(buf, size, "%lld", (long long)sec->run_as_user);
    else
        n = snprintf(buf, size, "%s", b->image->user != NULL ? b->image->user : "");
    if (n >= 0 && (size_t)n < size && sec->has_run_as_group)
        n += snprintf(buf + n, size - (size_t)n, ":%lld", (long long)sec->run_as_group);
    if (n < 0 || (size_t)n >= size)
        return ck_err_set(err, CK_E_INVALID, 0, "user \"%.60s...\" is too long", buf);
    return 0;
}

static bool has_gid(const ck_oci_user *u, uint32_t gid)
{
    if (u->gid == gid)
        return true;
    for (size_t i = 0; i < u->n_additional_gids; i++)
        if (u->additional_gids[i] == gid)
            return true;
    return false;
}

/* uid and gid, the groups of the image's /etc/group that list the user,
 * then the CRI's supplemental groups (each gid once). */
static int resolve_user(build *b, ck_err *err)
{
    char user[320];
    if (user_string(b, user, sizeof(user), err) < 0)
        return -1;
    if (ck_oci_resolve_user(b->in->rootfs, user, &b->user, err) < 0)
        return ck_err_wrap(err, "resolve the container's user");
    if (b->sec->supplemental_groups_policy == CK_GROUPS_STRICT)
        b->user.n_additional_gids = 0; /* the image's /etc/group does not count */
    for (size_t i = 0; i < b->sec->n_supplemental_groups; i++) {
        uint32_t gid = (uint32_t)b->sec->supplemental_groups[i];
        if (has_gid(&b->user, gid))
            continue;
        if (b->user.n_additional_gids == CK_OCI_MAX_GROUPS)
            return ck_err_set(err, CK_E_INVALID, 0, "user %s: more than %d supplemental groups", user,
                              CK_OCI_MAX_GROUPS);
        b->user.additional_gids[b->user.n_additional_gids++] = gid;
    }
    ck_oci_process *p = &b->spec.process;
    p->uid = b->user.uid;
    p->gid = b->user.gid;
    p->additional_gids = b->user.additional_gids;
    p->n_additional_gids = b->user.n_additional_gids;
    return 0;
}

/* ---- process --------------------------------------------------------------------- */

/* Docker's rules: the CRI's command replaces the entrypoint and drops the
 * image's cmd; the CRI's args replace the cmd. An entrypoint of one empty
 * string means none (how an image resets its base's). */
static int process_args(build *b, ck_err *err)
{
    const ck_container_config *cfg = b->cfg;
    const ck_image *img = b->image;
    ptr_list args = {0};
    bool image_entry = cfg->command.len == 0 && !(img->n_entrypoint == 1 && img->entrypoint[0][0] == '\0');
    if (cfg->command.len > 0) {
        for (size_t i = 0; i < cfg->command.len; i++)
            if (list_push(b, &args, cfg->command.items[i], err) < 0)
                return -1;
    } else if (image_entry) {
        for (size_t i = 0; i < img->n_entrypoint; i++)
            if (list_push(b, &args, img->entrypoint[i], err) < 0)
                return -1;
    }
    if (cfg->args.len > 0) {
        for (size_t i = 0; i < cfg->args.len; i++)
            if (list_push(b, &args, cfg->args.items[i], err) < 0)
                return -1;
    } else if (cfg->command.len == 0) {
        for (size_t i = 0; i < img->n_cmd; i++)
            if (list_push(b, &args, img->cmd[i], err) < 0)
                return -1;
    }
    if (args.len == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "no command specified: neither the request nor the image %s has one",
                          cfg->image);
    b->spec.process.args = args.items;
    return 0;
}

static size_t env_key_len(const char *kv)
{
    return strcspn(kv, "=");
}

/* Sets KEY=value: an existing KEY keeps its position and, unless
 * keep_existing, takes the new value. */
static int env_set(build *b, ptr_list *env, const char *kv, bool keep_existing, ck_err *err)
{
    size_t klen = env_key_len(kv);
    for (size_t i = 0; i < env->len; i++)
        if (env_key_len(env->items[i]) == klen && strncmp(env->items[i], kv, klen) == 0) {
            if (!keep_existing)
                env->items[i] = kv;
            return 0;
        }
    return list_push(b, env, kv, err);
}

/* PATH and HOSTNAME defaults, the image's env over them, the CRI's over
 * that; TERM with a terminal unless set. */
static int process_env(build *b, ck_err *err)
{
    ptr_list env = {0};
    char host[256] = "";
    const char *hostname = b->in->pod->hostname;
    if (hostname[0] == '\0') {
        if (gethostname(host, sizeof(host) - 1) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "gethostname");
        hostname = host;
    }
    const char *hostname_kv = b_printf(b, "HOSTNAME=%s", hostname);
    if (hostname_kv == NULL)
        return ck_err_oom(err, "env");
    if (env_set(b, &env, DEFAULT_PATH_ENV, false, err) < 0 || env_set(b, &env, hostname_kv, false, err) < 0)
        return -1;
    for (size_t i = 0; i < b->image->n_env; i++)
        if (env_set(b, &env, b->image->env[i], false, err) < 0)
            return -1;
    for (size_t i = 0; i < b->cfg->envs.len; i++) {
        const ck_kv *kv = &b->cfg->envs.items[i];
        const char *s = b_printf(b, "%s=%s", kv->key, kv->value != NULL ? kv->value : "");
        if (s == NULL)
            return ck_err_oom(err, "env");
        if (env_set(b, &env, s, false, err) < 0)
            return -1;
    }
    if (b->cfg->tty && env_set(b, &env, "TERM=xterm", true, err) < 0)
        return -1;
    b->spec.process.env = env.items;
    return 0;
}

static int process_cwd(build *b, ck_err *err)
{
    const char *wd = b->cfg->working_dir;
    if (wd == NULL || wd[0] == '\0')
        wd = b->image->workdir;
    if (wd == NULL || wd[0] == '\0')
        wd = "/";
    /* An image's relative WorkingDir is relative to /, as Docker reads it. */
    b->spec.process.cwd = clean_path(b, wd);
    return b->spec.process.cwd == NULL ? ck_err_oom(err, "cwd") : 0;
}

static int process(build *b, ck_err *err)
{
    if (process_args(b, err) < 0 || process_env(b, err) < 0 || process_cwd(b, err) < 0)
        return -1;
    b->spec.process.terminal = b->cfg->tty;
    b->spec.process.no_new_privileges = b->sec->no_new_privs;
    int adj = b->cfg->has_resources ? (int)b->cfg->resources.oom_score_adj : 0;
    b->spec.process.oom_score_adj = ck_oci_allowed_oom_score_adj(adj);
    return 0;
}

/* ---- mounts ---------------------------------------------------------------------- */

/* What /proc/self/mountinfo says of the mount holding a path. */
typedef struct mount_info {
    char point[PATH_MAX];
    bool shared, slave;
} mount_info;

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (const char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static bool path_under(const char *path, const char *point)
{
    size_t n = strlen(point);
    if (strcmp(point, "/") == 0)
        return true;
    return strncmp(path, point, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* One mountinfo line: "id parent maj:min root point opts [optional...] - fs src super". */
static bool parse_mountinfo_line(char *line, mount_info *m)
{
    char *save = NULL;
    char *f = strtok_r(line, " \n", &save);
    for (int i = 0; f != NULL && i < 4; i++)
        f = strtok_r(NULL, " \n", &save);
    if (f == NULL || snprintf(m->point, sizeof(m->point), "%s", f) >= (int)sizeof(m->point))
        return false;
    unescape_octal(m->point);
    m->shared = m->slave = false;
    (void)strtok_r(NULL, " \n", &save); /* per-mount options */
    for (f = strtok_r(NULL, " \n", &save); f != NULL && strcmp(f, "-") != 0; f = strtok_r(NULL, " \n", &save)) {
        m->shared |= strncmp(f, "shared:", 7) == 0;
        m->slave |= strncmp(f, "master:", 7) == 0;
    }
    return true;
}

/* The mount path lies on: the deepest mount point above it, the last
 * listed when mounts are stacked (the one on top). */
static int find_mount(const char *mountinfo, const char *path, mount_info *out, ck_err *err)
{
    _cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
    if (f == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open %s", mountinfo);
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    size_t best = 0;
    bool found = false;
    mount_info m;
    while (getline(&line, &cap, f) > 0) {
        if (!parse_mountinfo_line(line, &m) || !path_under(path, m.point) || (found && strlen(m.point) < best))
            continue;
        best = strlen(m.point);
        *out = m;
        found = true;
    }
    if (!found)
        return ck_err_set(err, CK_E_INTERNAL, 0, "no mount in %s holds %s", mountinfo, path);
    return 0;
}

/* BIDIRECTIONAL needs the source on a shared mount, HOST_TO_CONTAINER on
 * a shared or slave one: otherwise nothing would propagate. */
static int check_propagation(build *b, const ck_mount_req *m, const char *source, ck_err *err)
{
    mount_info info;
    if (find_mount(b->host.mountinfo, source, &info, err) < 0)
        return ck_err_wrap(err, "mount %s", m->container_path);
    if (m->propagation == CK_PROPAGATION_BIDIRECTIONAL && !info.shared)
        return ck_err_set(err, CK_E_PRECONDITION, 0,
                          "mount %s: propagation BIDIRECTIONAL needs a shared mount, but %s is on %s, which is not "
                          "shared",
                          m->container_path, source, info.point);
    if (m->propagation == CK_PROPAGATION_HOST_TO_CONTAINER && !info.shared && !info.slave)
        return ck_err_set(err, CK_E_PRECONDITION, 0,
                          "mount %s: propagation HOST_TO_CONTAINER needs a shared or slave mount, but %s is on %s, "
                          "which is private",
                          m->container_path, source, info.point);
    return 0;
}

/* A missing host path is made a directory (as containerd does); symlinks
 * are resolved, so the runtime binds what the kubelet meant. */
static char *bind_source(build *b, const ck_mount_req *m, ck_err *err)
{
    struct stat st;
    if (stat(m->host_path, &st) < 0) {
        if (errno != ENOENT) {
            ck_err_set(err, CK_E_INTERNAL, errno, "mount %s: stat host path %s", m->container_path, m->host_path);
            return NULL;
        }
        if (ck_mkdir_p(m->host_path, 0755, err) < 0) {
            ck_err_wrap(err, "mount %s: create the missing host path", m->container_path);
            return NULL;
        }
    }
    _cleanup_free_ char *real = realpath(m->host_path, NULL);
    if (real == NULL) {
        ck_err_set(err, CK_E_INTERNAL, errno, "mount %s: resolve host path %s", m->container_path, m->host_path);
        return NULL;
    }
    char *copy = ck_arena_strdup(&b->arena, real);
    if (copy == NULL)
        ck_err_oom(err, "mount source");
    return copy;
}

static const char *const *bind_options(build *b, const char *propagation, bool readonly, bool noexec)
{
    const char **o = ck_arena_alloc(&b->arena, 8 * sizeof(*o));
    if (o == NULL)
        return NULL;
    size_t n = 0;
    o[n++] = "rbind"; /* recursive: submounts of the source are seen too */
    o[n++] = propagation;
    o[n++] = readonly ? "ro" : "rw";
    if (noexec) {
        o[n++] = "nosuid";
        o[n++] = "nodev";
        o[n++] = "noexec";
    }
    o[n] = NULL;
    return o;
}

/* A recursive read-only mount, and any volume of a pod with its own user
 * namespace, binds its staged clone (read-only all the way down and/or
 * idmapped: an rbind copies each mount's flags and idmap); any other the
 * host path. */
static int cri_bind(build *b, size_t i, const ck_mount_req *m, ck_oci_mount *out, ck_err *err)
{
    bool staged = ck_container_mount_staged(m, b->in->pod);
    if (staged && b->in->readonly_trees_dir == NULL)
        return ck_err_set(err, CK_E_INTERNAL, 0, "mount %s: no staged clone of %s was prepared", m->container_path,
                          m->host_path);
    const char *source = staged ? b_printf(b, "%s/%zu", b->in->readonly_trees_dir, i) : bind_source(b, m, err);
    if (source == NULL)
        return staged ? ck_err_oom(err, "mount source") : -1;
    const char *propagation = "rprivate";
    if (m->propagation != CK_PROPAGATION_PRIVATE && check_propagation(b, m, source, err) < 0)
        return -1;
    if (m->propagation == CK_PROPAGATION_BIDIRECTIONAL) {
        propagation = "rshared";
        b->spec.rootfs_propagation = "rshared";
    } else if (m->propagation == CK_PROPAGATION_HOST_TO_CONTAINER) {
        propagation = "rslave";
        if (b->spec.rootfs_propagation == NULL)
            b->spec.rootfs_propagation = "rslave";
    }
    /* "ro" applies to the top mount only; submounts keep their own mode
     * (a recursive read-only source has them read-only already). */
    const char *const *options = bind_options(b, propagation, m->readonly, false);
    const char *dest = clean_path(b, m->container_path);
    if (options == NULL || dest == NULL)
        return ck_err_oom(err, "mount");
    *out = (ck_oci_mount){dest, "bind", source, options};
    return 0;
}

typedef struct mount_list {
    ck_oci_mount *items;
    size_t len;
} mount_list;

static bool has_dest(const mount_list *l, const char *dest)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].destination, dest) == 0)
            return true;
    return false;
}

/* A pod file bound in unless the request mounts something there, or the
 * pod has none (containerd skips what does not exist). */
static int pod_bind(build *b, mount_list *l, const char *dest, const char *source, bool readonly, bool noexec,
                    ck_err *err)
{
    if (source == NULL || source[0] == '\0' || has_dest(l, dest))
        return 0;
    const char *const *options = bind_options(b, "rprivate", readonly, noexec);
    if (options == NULL)
        return ck_err_oom(err, "mount");
    l->items[l->len++] = (ck_oci_mount){dest, "bind", source, options};
    return 0;
}

void ck_container_pod_files(const ck_sandbox_context *pod, ck_pod_file out[CK_POD_FILES])
{
    out[0] = (ck_pod_file){"/etc/hostname", pod->hostname_file, "etc-hostname"};
    out[1] = (ck_pod_file){"/etc/hosts", pod->hosts_file, "etc-hosts"};
    out[2] = (ck_pod_file){"/etc/resolv.conf", pod->resolv_file, "etc-resolv.conf"};
}

/* In a pod with its own user namespace the /etc files are bound from their
 * idmapped clones (staged when the file exists), so they are the
 * container root's as in any other pod: containerd idmaps them too. */
static const char *pod_file_source(build *b, const ck_pod_file *f)
{
    if (!b->in->pod->own_userns || b->in->readonly_trees_dir == NULL || f->source[0] == '\0')
        return f->source;
    return b_printf(b, "%s/%s", b->in->readonly_trees_dir, f->staged_name);
}

static int pod_binds(build *b, mount_list *l, ck_err *err)
{
    const ck_sandbox_context *pod = b->in->pod;
    /* The /etc files follow the rootfs: writable unless it is read-only. */
    bool ro = b->sec->readonly_rootfs;
    ck_pod_file files[CK_POD_FILES];
    ck_container_pod_files(pod, files);
    for (size_t i = 0; i < CK_POD_FILES; i++) {
        /* The pod's file says whether it is bound: its idmapped clone is
         * staged from it only when the container starts. */
        if (files[i].source[0] == '\0' || !file_exists(files[i].source))
            continue;
        const char *source = pod_file_source(b, &files[i]);
        if (source == NULL)
            return ck_err_oom(err, "mount source");
        if (pod_bind(b, l, files[i].dest, source, ro, false, err) < 0)
            return -1;
    }
    /* Host IPC shares the host's POSIX shared memory too. */
    const char *shm = pod->ns_ipc == CK_NS_NODE ? "/dev/shm" : pod->shm_dir;
    if (shm[0] == '\0' || !file_exists(shm))
        return 0;
    return pod_bind(b, l, "/dev/shm", shm, false, pod->ns_ipc != CK_NS_NODE, err);
}

/* A volume starts as the image has that path (containerd's and Docker's
 * copy-up): its owner, mode and content, read inside the rootfs so a
 * symlink in the image never leads out of it (in a pod with its own user
 * namespace the rootfs shows the mapped owners, so the copy has them too).
 * 1 when seeded; 0 when the image lacks the path or it is not a directory
 * there, and the volume stays an empty directory. */
static int seed_volume(const char *rootfs, const char *dest, const char *source, ck_err *err)
{
    _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open rootfs %s", rootfs);
    _cleanup_close_ int from = ck_oci_open_in_root(root, dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (from < 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? 0
                   : ck_err_set(err, CK_E_INTERNAL, errno, "open %s in the image", dest);
    _cleanup_close_ int to = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (to < 0 || fstat(from, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open volume %s", source);
    if (ck_copy_dir_contents(from, to, err) < 0)
        return ck_err_wrap(err, "copy %s from the image", dest);
    if (fchown(to, st.st_uid, st.st_gid) < 0 || fchmod(to, st.st_mode & 07777) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "set owner and mode of volume %s", source);
    return 1;
}

/* An image VOLUME the request does not cover gets a per-container
 * directory seeded from the image. */
static int volume_binds(build *b, mount_list *l, ck_err *err)
{
    for (size_t i = 0; i < b->image->n_volumes; i++) {
        const char *dest = clean_path(b, b_printf(b, "/%s", b->image->volumes[i]) ?: "/");
        const char *source = b_printf(b, "%s/%zu", b->in->volumes_dir, i);
        if (dest == NULL || source == NULL)
            return ck_err_oom(err, "volume");
        if (strcmp(dest, "/") == 0 || has_dest(l, dest))
            continue;
        int seeded = ck_mkdir_p(source, 0755, err) < 0 ? -1 : seed_volume(b->in->rootfs, dest, source, err);
        if (seeded < 0)
            return ck_err_wrap(err, "image volume %s", dest);
        /* An empty one, in the pod's user namespace, is its root's, as the rootfs is. */
        if (seeded == 0 && b->in->pod->own_userns &&
            chown(source, b->in->pod->uid_map.host_id, b->in->pod->gid_map.host_id) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "image volume %s: give %s to the container's root", dest,
                              source);
        const char *const *options = bind_options(b, "rprivate", false, false);
        if (options == NULL)
            return ck_err_oom(err, "mount");
        l->items[l->len++] = (ck_oci_mount){dest, "bind", source, options};
    }
    return 0;
}

static size_t path_depth(const char *path)
{
    size_t n = 0;
    for (const char *p = path; *p != '\0'; p++)
        n += *p == '/';
    return strcmp(path, "/") == 0 ? 0 : n;
}

/* Parents before children, else the order given (a stable insertion sort),
 * so a mount is never hidden by one over its parent. */
static void sort_by_depth(mount_list *l)
{
    for (size_t i = 1; i < l->len; i++) {
        ck_oci_mount m = l->items[i];
        size_t d = path_depth(m.destination);
        size_t j = i;
        for (; j > 0 && path_depth(l->items[j - 1].destination) > d; j--)
            l->items[j] = l->items[j - 1];
        l->items[j] = m;
    }
}

/* runc's usual mounts, less those a bind replaces (and all of /dev's when
 * /dev itself is bound). */
static size_t default_mounts(build *b, const mount_list *binds, ck_oci_mount *out)
{
    static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    static const char *const pts_o[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL};
    static const char *const shm_o[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL};
    static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys_ro[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", "rw", NULL};
    static const char *const cg_ro[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
    static const char *const cg_rw[] = {"nosuid", "noexec", "nodev", "relatime", "rw", NULL};
    bool priv = b->sec->privileged;
    const ck_oci_mount all[] = {
        {"/proc", "proc", "proc", proc_o},
        {"/dev", "tmpfs", "tmpfs", dev_o},
        {"/dev/pts", "devpts", "devpts", pts_o},
        {"/dev/shm", "tmpfs", "shm", shm_o},
        {"/dev/mqueue", "mqueue", "mqueue", mq_o},
        {"/sys", "sysfs", "sysfs", priv ? sys_rw : sys_ro},
        {"/sys/fs/cgroup", "cgroup", "cgroup", priv ? cg_rw : cg_ro},
    };
    bool dev_bound = has_dest(binds, "/dev");
    size_t n = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *d = all[i].destination;
        if (has_dest(binds, d) || (dev_bound && strncmp(d, "/dev/", 5) == 0))
            continue;
        /* mqueue belongs to an IPC namespace of the container's own. */
        if (strcmp(d, "/dev/mqueue") == 0 && b->in->pod->ns_ipc == CK_NS_NODE)
            continue;
        out[n++] = all[i];
    }
    return n;
}

enum { N_DEFAULT_MOUNTS = 7, N_POD_MOUNTS = 4 };

static int mounts(build *b, ck_err *err)
{
    const ck_container_config *cfg = b->cfg;
    size_t cap = cfg->n_mounts + N_POD_MOUNTS + b->image->n_volumes;
    mount_list binds = {ck_arena_alloc(&b->arena, (cap + 1) * sizeof(ck_oci_mount)), 0};
    ck_oci_mount *all = ck_arena_alloc(&b->arena, (cap + N_DEFAULT_MOUNTS) * sizeof(ck_oci_mount));
    if (binds.items == NULL || all == NULL)
        return ck_err_oom(err, "mounts");
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        if (cri_bind(b, i, &cfg->mounts[i], &binds.items[binds.len], err) < 0)
            return -1;
        binds.len++;
    }
    if (pod_binds(b, &binds, err) < 0 || volume_binds(b, &binds, err) < 0)
        return -1;
    sort_by_depth(&binds);
    size_t n = default_mounts(b, &binds, all);
    memcpy(all + n, binds.items, binds.len * sizeof(*all));
    b->spec.mounts = all;
    b->spec.n_mounts = n + binds.len;
    return 0;
}

/* ---- devices --------------------------------------------------------------------- */

typedef struct device_list {
    ck_oci_device *items;
    size_t len, cap;
    ck_oci_device_rule *rules;
    size_t n_rules, rules_cap;
} device_list;

static int device_push(build *b, device_list *l, const ck_oci_device *d, ck_err *err)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].path, d->path) == 0) {
            l->items[i] = *d; /* a request for a path replaces the host's device there */
            return 0;
        }
    if (l->len == l->cap) {
        size_t cap = l->cap == 0 ? 32 : l->cap * 2;
        ck_oci_device *items = ck_arena_alloc(&b->arena, cap * sizeof(*items));
        if (items == NULL)
            return ck_err_oom(err, "devices");
        if (l->len > 0)
            memcpy(items, l->items, l->len * sizeof(*items));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = *d;
    return 0;
}

static int rule_push(build *b, device_list *l, ck_oci_device_rule r, ck_err *err)
{
    if (l->n_rules == l->rules_cap) {
        size_t cap = l->rules_cap == 0 ? 16 : l->rules_cap * 2;
        ck_oci_device_rule *rules = ck_arena_alloc(&b->arena, cap * sizeof(*rules));
        if (rules == NULL)
            return ck_err_oom(err, "device rules");
        if (l->n_rules > 0)
            memcpy(rules, l->rules, l->n_rules * sizeof(*rules));
        l->rules = rules;
        l->rules_cap = cap;
    }
    l->rules[l->n_rules++] = r;
    return 0;
}

/* The device and, with access, a cgroup rule allowing it (FIFOs need
 * none: the device cgroup knows char and block devices only). */
static int add_device(build *b, device_list *l, const ck_oci_device *dev, const char *access, ck_err *err)
{
    if (device_push(b, l, dev, err) < 0)
        return -1;
    if (access == NULL || dev->type == 'p')
        return 0;
    return rule_push(b, l, (ck_oci_device_rule){true, dev->type, dev->major, dev->minor, access}, err);
}

/* The device node at host path, as the container will see it at cpath;
 * 0 when path is no device (nothing filled). */
static int device_from(build *b, const char *path, const char *cpath, ck_oci_device *d, ck_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return ck_err_set(err, errno == ENOENT ? CK_E_NOT_FOUND : CK_E_INTERNAL, errno, "stat device %s", path);
    char type = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p' : '\0';
    if (type == '\0')
        return 0;
    const char *p = ck_arena_strdup(&b->arena, cpath);
    if (p == NULL)
        return ck_err_oom(err, "device");
    *d = (ck_oci_device){p, type, major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777, st.st_uid, st.st_gid};
    return 1;
}

/* Every device under dir, each at the same place under cdir, as
 * containerd's HostDevices walks /dev (pseudo-terminals, shm, mqueue and
 * the console are the container's own; FIFOs are no devices here). */
static int walk_devices(build *b, const char *dir, const char *cdir, int depth, device_list *l, const char *access,
                        ck_err *err)
{
    static const char *const skip[] = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", "console"};
    if (depth > 8)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "read device directory %s", dir);
    int rc = 0;
    for (struct dirent *e = readdir(d); e != NULL && rc == 0; e = readdir(d)) {
        bool skipped = e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0);
        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]) && !skipped; i++)
            skipped = strcmp(e->d_name, skip[i]) == 0;
        if (skipped)
            continue;
        char *path = b_printf(b, "%s/%s", dir, e->d_name);
        char *cpath = b_printf(b, "%s/%s", strcmp(cdir, "/") == 0 ? "" : cdir, e->d_name);
        if (path == NULL || cpath == NULL) {
            rc = ck_err_oom(err, "devices");
            break;
        }
        struct stat st;
        bool is_dir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
        if (is_dir) {
            rc = walk_devices(b, path, cpath, depth + 1, l, access, err);
            continue;
        }
        ck_oci_device dev;
        ck_err e_dev;
        ck_err_clear(&e_dev);
        int found = device_from(b, path, cpath, &dev, &e_dev);
        if (found < 0 && e_dev.kind == CK_E_NOT_FOUND) /* gone meanwhile */
            continue;
        if (found < 0)
            rc = ck_err_copy(err, &e_dev);
        else if (found > 0 && dev.type != 'p')
            rc = add_device(b, l, &dev, access, err);
    }
    closedir(d);
    return rc;
}

/* A requested device: its host path resolved; a directory gives every
 * device below it. */
static int cri_device(build *b, const ck_device_req *req, device_list *l, ck_err *err)
{
    const char *access = req->permissions != NULL && req->permissions[0] != '\0' ? req->permissions : "rwm";
    _cleanup_free_ char *real = realpath(req->host_path, NULL);
    if (real == NULL)
        return ck_err_set(err, CK_E_INVALID, errno, "device %s: host path %s", req->container_path, req->host_path);
    struct stat st;
    if (stat(real, &st) < 0)
        return ck_err_set(err, CK_E_INVALID, errno, "device %s: stat %s", req->container_path, real);
    const char *cpath = clean_path(b, req->container_path);
    if (cpath == NULL)
        return ck_err_oom(err, "device");
    if (S_ISDIR(st.st_mode))
        return walk_devices(b, real, cpath, 0, l, access, err) < 0 ? ck_err_wrap(err, "device %s", req->container_path)
                                                                   : 0;
    ck_oci_device dev;
    int found = device_from(b, real, cpath, &dev, err);
    if (found < 0)
        return ck_err_wrap(err, "device %s", req->container_path);
    if (found == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "device %s: host path %s is not a device", req->container_path, real);
    return add_device(b, l, &dev, access, err);
}

/* Deny everything, then what any container needs: mknod of anything
 * (using a node is another matter), and the standard devices runc
 * creates (null, zero, full, tty, random, urandom, the ptmx and pts). */
static int default_device_rules(build *b, device_list *l, ck_err *err)
{
    static const struct {
        char type;
        int major, minor;
        const char *access;
    } rules[] = {
        {'c', -1, -1, "m"}, {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"}, {'c', 1, 5, "rwm"}, {'c', 1, 7, "rwm"},
        {'c', 5, 0, "rwm"}, {'c', 1, 8, "rwm"}, {'c', 1, 9, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 136, -1, "rwm"},
    };
    if (rule_push(b, l, (ck_oci_device_rule){false, 'a', -1, -1, "rwm"}, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rule_push(b, l, (ck_oci_device_rule){true, rules[i].type, rules[i].major, rules[i].minor, rules[i].access},
                      err) < 0)
            return -1;
    return 0;
}

static int devices(build *b, ck_err *err)
{
    device_list l = {0};
    if (b->sec->privileged) {
        /* Every host device, and the cgroup allows them all. */
        if (walk_devices(b, b->host.dev_dir, "/dev", 0, &l, NULL, err) < 0 ||
            rule_push(b, &l, (ck_oci_device_rule){true, 'a', -1, -1, "rwm"}, err) < 0)
            return ck_err_wrap(err, "devices of a privileged container");
    } else if (default_device_rules(b, &l, err) < 0) {
        return -1;
    }
    for (size_t i = 0; i < b->cfg->n_devices; i++)
        if (cri_device(b, &b->cfg->devices[i], &l, err) < 0)
            return -1;
    b->spec.devices = l.items;
    b->spec.n_devices = l.len;
    b->res->device_rules = l.rules;
    b->res->n_device_rules = l.n_rules;
    return 0;
}

/* ---- namespaces ------------------------------------------------------------------ */

static int join(build *b, ck_oci_namespace *ns, size_t *n, const char *type, const char *path, ck_err *err)
{
    if (path == NULL || path[0] == '\0')
        return ck_err_set(err, CK_E_PRECONDITION, 0, "pod %s has no %s namespace to join", b->in->pod->id, type);
    ns[(*n)++] = (ck_oci_namespace){type, path};
    return 0;
}

static int pid_namespace(build *b, ck_oci_namespace *ns, size_t *n, ck_err *err)
{
    switch (b->sec->ns_pid) {
    case CK_NS_NODE: return 0;
    case CK_NS_CONTAINER: ns[(*n)++] = (ck_oci_namespace){"pid", NULL}; return 0;
    case CK_NS_TARGET:
        if (b->in->target_pid_ns == NULL || b->in->target_pid_ns[0] == '\0')
            return ck_err_set(err, CK_E_INVALID, 0, "pid namespace TARGET (container %s) is not supported",
                              b->sec->ns_target_id);
        return join(b, ns, n, "pid", b->in->target_pid_ns, err);
    default:
        if (b->in->pod->pinned)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "pid namespace POD: pod %s was made without a shared PID namespace (its pid mode is "
                              "not POD), so there is none to join",
                              b->in->pod->id);
        return join(b, ns, n, "pid", b->in->pod->pid_ns, err);
    }
}

/* The pod's network, IPC and UTS namespaces (the host's with a host
 * network or host IPC), its PID namespace unless the container asks
 * otherwise, a mount namespace of its own; a cgroup namespace of its own
 * only on cgroup v2 and unprivileged, as containerd does. */
static int namespaces(build *b, ck_err *err)
{
    const ck_sandbox_context *pod = b->in->pod;
    ck_oci_namespace *ns = ck_arena_alloc(&b->arena, 8 * sizeof(*ns));
    if (ns == NULL)
        return ck_err_oom(err, "namespaces");
    size_t n = 0;
    /* The pod's user namespace first: the others the pod made inside it. */
    if (pod->own_userns) {
        if (join(b, ns, &n, "user", pod->userns, err) < 0)
            return -1;
        b->spec.uid_map = &pod->uid_map;
        b->spec.gid_map = &pod->gid_map;
    }
    ns[n++] = (ck_oci_namespace){"mount", NULL};
    if (pod->ns_network != CK_NS_NODE &&
        (join(b, ns, &n, "network", pod->netns, err) < 0 || join(b, ns, &n, "uts", pod->uts_ns, err) < 0))
        return -1;
    if (pod->ns_ipc != CK_NS_NODE && join(b, ns, &n, "ipc", pod->ipc_ns, err) < 0)
        return -1;
    if (pid_namespace(b, ns, &n, err) < 0)
        return -1;
    if (b->host.cgroup_v2 > 0 && !b->sec->privileged)
        ns[n++] = (ck_oci_namespace){"cgroup", NULL};
    b->spec.namespaces = ns;
    b->spec.n_namespaces = n;
    return 0;
}

/* ---- resources ------------------------------------------------------------------- */

static int hugepages(build *b, const ck_container_resources *r, ck_err *err)
{
    static int warned;
    if (r->n_hugepages == 0)
        return 0;
    /* The kubelet sends a limit for every page size the node has; without
     * the controller runc would refuse them all (containerd's default
     * tolerates this too). */
    if (b->host.hugetlb_controller < 0) {
        if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
            ck_warn("containers", "hugepage limits ignored: the hugetlb cgroup controller is missing (logged once)");
        return 0;
    }
    ck_oci_hugepage_limit *h = ck_arena_alloc(&b->arena, r->n_hugepages * sizeof(*h));
    if (h == NULL)
        return ck_err_oom(err, "hugepages");
    for (size_t i = 0; i < r->n_hugepages; i++)
        h[i] = (ck_oci_hugepage_limit){r->hugepages[i].page_size, r->hugepages[i].limit};
    b->res->hugepages = h;
    b->res->n_hugepages = r->n_hugepages;
    return 0;
}

static int resources(build *b, ck_err *err)
{
    if (!b->cfg->has_resources)
        return 0;
    const ck_container_resources *r = &b->cfg->resources;
    ck_oci_resources *o = b->res;
    o->cpu_shares = r->cpu_shares > 0 ? (uint64_t)r->cpu_shares : 0;
    o->cpu_quota = r->cpu_quota;
    o->cpu_period = r->cpu_period > 0 ? (uint64_t)r->cpu_period : 0;
    o->cpuset_cpus = r->cpuset_cpus;
    o->cpuset_mems = r->cpuset_mems;
    o->memory_limit = r->memory_limit_in_bytes;
    /* No swap beyond the memory limit unless asked: swap = limit. */
    if (b->host.swap_controller > 0)
        o->memory_swap = r->memory_swap_limit_in_bytes != 0 ? r->memory_swap_limit_in_bytes : r->memory_limit_in_bytes;
    if (r->unified.len > 0 && b->host.cgroup_v2 < 0)
        return ck_err_set(err, CK_E_PRECONDITION, 0,
                          "resources.unified (%s, ...) needs cgroup v2, and this host uses cgroup v1",
                          r->unified.items[0].key);
    o->unified = r->unified.items;
    o->n_unified = r->unified.len;
    return hugepages(b, r, err);
}

/* ---- security -------------------------------------------------------------------- */

/* containerd's order: ALL added, ALL dropped, then each named add and
 * drop; privileged is everything. "Everything" is the daemon's own
 * bounding set: more would make runc fail. */
static int capabilities(build *b, ck_err *err)
{
    const ck_container_security *sec = b->sec;
    uint64_t bounding = b->host.cap_bounding, set = 0;
    if (sec->privileged) {
        set = bounding;
    } else {
        for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
            set |= UINT64_C(1) << cap_index(default_caps[i]);
        if (strs_have_all(&sec->add_capabilities))
            set = bounding;
        if (strs_have_all(&sec->drop_capabilities))
            set = 0;
        for (size_t i = 0; i < sec->add_capabilities.len; i++) {
            const char *name = sec->add_capabilities.items[i];
            int c = is_all(name) ? -1 : cap_index(name);
            if (c >= 0 && !(bounding & (UINT64_C(1) << c)))
                return ck_err_set(err, CK_E_PRECONDITION, 0,
                                  "capability CAP_%s is not in cricket's own bounding set, so no container can have it",
                                  cap_names[c]);
            if (c >= 0)
                set |= UINT64_C(1) << c;
        }
        for (size_t i = 0; i < sec->drop_capabilities.len; i++) {
            const char *name = sec->drop_capabilities.items[i];
            int c = is_all(name) ? -1 : cap_index(name);
            if (c >= 0)
                set &= ~(UINT64_C(1) << c);
        }
        set &= bounding;
    }
    b->caps = set;
    /* Never NULL: an empty set is an empty list. */
    const char **caps = ck_arena_alloc(&b->arena, (N_CAPS + 1) * sizeof(*caps));
    if (caps == NULL)
        return ck_err_oom(err, "capabilities");
    size_t n = 0;
    for (int c = 0; c < (int)N_CAPS; c++)
        if ((set & (UINT64_C(1) << c)) && (caps[n++] = b_printf(b, "CAP_%s", cap_names[c])) == NULL)
            return ck_err_oom(err, "capabilities");
    b->spec.process.capabilities = caps;
    return 0;
}

/* The request's list replaces the defaults when given (even empty). */
static const char *const *path_list(build *b, bool given, const ck_strs *paths, const char *const *defaults)
{
    if (!given)
        return defaults;
    const char **out = ck_arena_alloc(&b->arena, (paths->len + 1) * sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < paths->len; i++)
        out[i] = paths->items[i];
    return out;
}

/* After the capabilities: RuntimeDefault opens what they allow. */
static int seccomp(build *b, ck_err *err)
{
    if (ck_seccomp_profile_for(&b->sec->seccomp, b->caps, &b->arena, &b->spec.seccomp, err) < 0)
        return ck_err_wrap(err, "seccomp");
    return 0;
}

static int security(build *b, ck_err *err)
{
    const ck_container_security *sec = b->sec;
    b->spec.root_readonly = sec->readonly_rootfs;
    if (sec->privileged) /* nothing hidden from a privileged container, nothing filtered */
        return capabilities(b, err);
    b->spec.masked_paths = path_list(b, sec->has_masked_paths, &sec->masked_paths, ck_oci_default_masked_paths);
    b->spec.readonly_paths = path_list(b, sec->has_readonly_paths, &sec->readonly_paths, ck_oci_default_readonly_paths);
    if (b->spec.masked_paths == NULL || b->spec.readonly_paths == NULL)
        return ck_err_oom(err, "masked paths");
    if (ck_apparmor_profile_for(&sec->apparmor, &b->spec.process.apparmor_profile, err) < 0)
        return ck_err_wrap(err, "security_context.apparmor");
    return capabilities(b, err) < 0 ? -1 : seccomp(b, err);
}

/* ---- annotations and the rest ---------------------------------------------------- */

static int annotations(build *b, ck_err *err)
{
    const ck_kvs *req = &b->cfg->annotations;
    ck_kv *a = ck_arena_alloc(&b->arena, (req->len + 4) * sizeof(*a));
    if (a == NULL)
        return ck_err_oom(err, "annotations");
    size_t n = 0;
    for (size_t i = 0; i < req->len; i++)
        a[n++] = req->items[i];
    /* Ours last: the JSON object keeps the last value of a key. */
    a[n++] = (ck_kv){"io.kubernetes.cri.container-type", "container"};
    a[n++] = (ck_kv){"io.kubernetes.cri.container-name", b->cfg->name};
    a[n++] = (ck_kv){"io.kubernetes.cri.sandbox-id", b->in->pod->id};
    a[n++] = (ck_kv){"io.kubernetes.cri.image-name", b->cfg->image};
    b->spec.annotations = a;
    b->spec.n_annotations = n;
    return 0;
}

static int stop_signal(build *b, int *out, ck_err *err)
{
    const char *s = b->cfg->stop_signal;
    const char *from = "stop_signal";
    if (s == NULL || s[0] == '\0') {
        s = b->image->stop_signal;
        from = "the image's StopSignal";
    }
    if (s == NULL || s[0] == '\0') {
        *out = SIGTERM;
        return 0;
    }
    *out = ck_signal_parse(s);
    if (*out < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "%s \"%s\" is not a signal", from, s);
    return 0;
}

static int build_spec(build *b, ck_container_spec_out *out, ck_err *err)
{
    const ck_container_spec_in *in = b->in;
    b->res = &b->spec.resources;
    b->spec.root_path = in->rootfs;
    if (learn_host(b, err) < 0 || stop_signal(b, &out->stop_signal, err) < 0 || resolve_user(b, err) < 0 ||
        process(b, err) < 0 || mounts(b, err) < 0 || devices(b, err) < 0 || namespaces(b, err) < 0 ||
        resources(b, err) < 0 || security(b, err) < 0 || annotations(b, err) < 0)
        return -1;
    if (ck_oci_cgroups_path(in->cgroup_driver, in->pod->cgroup_parent, in->id, out->cgroups_path,
                            sizeof(out->cgroups_path), err) < 0)
        return -1;
    b->spec.cgroups_path = out->cgroups_path;
    if (ck_oci_spec_write(&b->spec, in->bundle, err) < 0)
        return -1;
    out->user = b->user;
    return 0;
}

int ck_container_update_spec(const char *bundle, const ck_container_resources *r, char *file, size_t size, ck_err *err)
{
    static const ck_sandbox_context no_pod;
    ck_container_config cfg = {.has_resources = true, .resources = *r};
    ck_container_spec_in in = {.cfg = &cfg, .pod = &no_pod};
    build b = {.arena = CK_ARENA_INIT, .in = &in, .cfg = &cfg, .sec = &cfg.security};
    b.res = &b.spec.resources;
    int rc = -1;
    if (learn_host(&b, err) == 0 && resources(&b, err) == 0)
        rc = ck_oci_spec_update_resources(bundle, b.res, file, size, err);
    ck_arena_reset(&b.arena);
    return rc;
}

int ck_container_spec_write(const ck_container_spec_in *in, ck_container_spec_out *out, ck_err *err)
{
    static const ck_image no_image = {.user = "", .workdir = "", .stop_signal = ""};
    memset(out, 0, sizeof(*out));
    if (ck_container_config_check(in->cfg, err) < 0)
        return -1;
    if (!in->pod->ready)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "pod %s is not ready", in->pod->id);
    if (ck_container_check_in_pod(in->cfg, in->pod, err) < 0)
        return -1;
    build b = {.arena = CK_ARENA_INIT,
               .in = in,
               .cfg = in->cfg,
               .sec = &in->cfg->security,
               .image = in->image != NULL ? in->image : &no_image};
    int rc = build_spec(&b, out, err);
    ck_arena_reset(&b.arena);
    if (rc < 0)
        return ck_err_wrap(err, "spec of container %s", in->id);
    return 0;
}
