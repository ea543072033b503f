/*
 * config: the node's configuration, from YAML over embedded defaults.
 *
 * The story of a load:
 *
 *   1. ck_config_defaults builds the embedded configuration. The runtime
 *      handlers are the runc and crun binaries found in the usual sbin/bin
 *      directories; default_runtime is runc if found, else crun if found,
 *      else "runc" (a node without a runtime still starts, and reports itself
 *      not ready later).
 *   2. The file is read whole (at most CONFIG_MAX_SIZE bytes) and libyaml's
 *      event parser turns it into a small tree of ynodes, each carrying the
 *      1-based line where it starts. Building our own tree rather than using
 *      libyaml's document loader lets us refuse aliases at the line where
 *      they are written (libyaml's loader silently resolves them), refuse a
 *      second document, and bound the nesting depth.
 *   3. The tree is walked against the schema: tables of `field`s, one per
 *      mapping, say which keys exist, where each value lives in the
 *      ck_config (an offset), its type, and which check its text must pass.
 *      A walk keeps the dotted key path of the node it is at, so every error
 *      reads "<file>:<line>: <key.path>: <what is wrong>". Values are applied
 *      straight onto the defaults copy; `runtimes`, lists and registry hosts
 *      replace what was there rather than merge with it.
 *   4. Cross-field rules settle last: when the file replaces `runtimes`
 *      without naming `default_runtime` and the default is not among them,
 *      the first handler listed becomes the default; a `default_runtime`
 *      the file names must exist (unless no runtime is configured at all).
 *      ck_config_validate then re-checks everything as a safety net.
 *
 * The same schema tables drive ck_config_validate (for configurations changed
 * after loading, e.g. by command-line flags) and ck_config_emit, which prints
 * every key in schema order through libyaml's emitter, so what is printed
 * always reads back to the same configuration.
 *
 * Null-ish values: a plain empty value, `~` or `null` where a mapping or a
 * sequence is expected means an empty one (`pause:` with its keys commented
 * out is fine); where a string is expected it means the empty string, which
 * optional strings (runtime root, pause image, registry credentials...)
 * take as "unset" (NULL) and required strings refuse.
 *
 * Loading is all-or-nothing: the working copy is freed on any error and the
 * caller's *out is untouched.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "common/parse.h"

#define CONFIG_MAX_SIZE ((size_t)1024 * 1024) /* a node config is a few hundred bytes */
#define CONFIG_MAX_DEPTH 32                   /* the schema is 4 levels deep */
#define KEYPATH_MAX 512
#define WHY_MAX 512

/* ---- string lists and freeing ------------------------------------------ */

static void strv_clear(ck_strv *v)
{
    for (size_t i = 0; i < v->len; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->len = 0;
}

static int strv_push(ck_strv *v, const char *s, ck_err *err)
{
    _cleanup_free_ char *copy = strdup(s);
    if (copy == NULL)
        return ck_err_oom(err, "config string");
    char **items = realloc(v->items, (v->len + 1) * sizeof(*items));
    if (items == NULL)
        return ck_err_oom(err, "config list");
    v->items = items;
    v->items[v->len++] = ck_steal_ptr(&copy);
    return 0;
}

static void runtime_clear(ck_runtime_handler *rt)
{
    free(rt->name);
    free(rt->path);
    free(rt->type);
    free(rt->root);
    strv_clear(&rt->extra_args);
}

static void host_clear(ck_registry_host *h)
{
    free(h->host);
    strv_clear(&h->mirrors);
    free(h->ca_file);
    free(h->username);
    free(h->password);
    free(h->auth);
    free(h->identity_token);
}

static void runtimes_clear(ck_config *cfg)
{
    for (size_t i = 0; i < cfg->n_runtimes; i++)
        runtime_clear(&cfg->runtimes[i]);
    free(cfg->runtimes);
    cfg->runtimes = NULL;
    cfg->n_runtimes = 0;
}

static void hosts_clear(ck_config *cfg)
{
    for (size_t i = 0; i < cfg->registries.n_hosts; i++)
        host_clear(&cfg->registries.hosts[i]);
    free(cfg->registries.hosts);
    cfg->registries.hosts = NULL;
    cfg->registries.n_hosts = 0;
}

void ck_config_free(ck_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->source_path);
    free(cfg->listen);
    free(cfg->root_dir);
    free(cfg->state_dir);
    free(cfg->default_runtime);
    runtimes_clear(cfg);
    free(cfg->cni.conf_dir);
    strv_clear(&cfg->cni.bin_dirs);
    free(cfg->cni.default_network.bridge);
    free(cfg->cni.default_network.subnet);
    free(cfg->streaming.address);
    free(cfg->streaming.tls_cert_file);
    free(cfg->streaming.tls_key_file);
    strv_clear(&cfg->registries.ca_dirs);
    hosts_clear(cfg);
    free(cfg->pause.image);
    free(cfg->metrics.address);
    free(cfg);
}

static void config_freep(ck_config **cfg)
{
    ck_config_free(*cfg);
}

int ck_config_set_string(char **field, const char *value, ck_err *err)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return ck_err_oom(err, "config string");
    free(*field);
    *field = copy;
    return 0;
}

/* ---- lookups ------------------------------------------------------------ */

const ck_runtime_handler *ck_config_find_runtime(const ck_config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_runtimes; i++)
        if (cfg->runtimes[i].name != NULL && strcmp(cfg->runtimes[i].name, name) == 0)
            return &cfg->runtimes[i];
    return NULL;
}

const ck_registry_host *ck_config_find_registry(const ck_config *cfg, const char *host)
{
    if (cfg == NULL || host == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->registries.n_hosts; i++)
        if (cfg->registries.hosts[i].host != NULL && strcmp(cfg->registries.hosts[i].host, host) == 0)
            return &cfg->registries.hosts[i];
    return NULL;
}

#define UNIX_SCHEME "unix://"

const char *ck_config_listen_path(const ck_config *cfg)
{
    size_t n = strlen(UNIX_SCHEME);
    if (cfg == NULL || cfg->listen == NULL || strncmp(cfg->listen, UNIX_SCHEME, n) != 0)
        return NULL;
    return cfg->listen + n;
}

/* ---- embedded defaults --------------------------------------------------- */

static const char *const runtime_search_dirs[] = {
    "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};

/* Sets *out to the first executable regular file named name in the search
 * directories, or NULL when there is none. */
static int find_binary(const char *name, char **out, ck_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof(runtime_search_dirs) / sizeof(runtime_search_dirs[0]); i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", runtime_search_dirs[i], name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
            return ck_config_set_string(out, path, err);
    }
    return 0;
}

/* A new zeroed entry at the end of cfg->runtimes, or NULL when out of memory. */
static ck_runtime_handler *runtimes_append(ck_config *cfg)
{
    ck_runtime_handler *arr = realloc(cfg->runtimes, (cfg->n_runtimes + 1) * sizeof(*arr));
    if (arr == NULL)
        return NULL;
    cfg->runtimes = arr;
    memset(&arr[cfg->n_runtimes], 0, sizeof(arr[0]));
    arr[cfg->n_runtimes].create_timeout = CK_CONFIG_DEFAULT_CREATE_TIMEOUT;
    return &arr[cfg->n_runtimes++];
}

static ck_registry_host *hosts_append(ck_config *cfg)
{
    ck_registry_host *arr = realloc(cfg->registries.hosts, (cfg->registries.n_hosts + 1) * sizeof(*arr));
    if (arr == NULL)
        return NULL;
    cfg->registries.hosts = arr;
    memset(&arr[cfg->registries.n_hosts], 0, sizeof(arr[0]));
    return &arr[cfg->registries.n_hosts++];
}

static int add_default_runtime(ck_config *cfg, const char *name, ck_err *err)
{
    _cleanup_free_ char *path = NULL;
    if (find_binary(name, &path, err) < 0)
        return -1;
    if (path == NULL)
        return 0;
    ck_runtime_handler *rt = runtimes_append(cfg);
    if (rt == NULL)
        return ck_err_oom(err, "runtime handler");
    rt->path = ck_steal_ptr(&path);
    if (ck_config_set_string(&rt->name, name, err) < 0 || ck_config_set_string(&rt->type, "oci", err) < 0)
        return -1;
    return 0;
}

static int set_default_values(ck_config *cfg, ck_err *err)
{
    cfg->log_level = CK_LOG_INFO;
    cfg->cgroup_driver = CK_CGROUP_CGROUPFS;
    cfg->streaming.port = 0;
    cfg->images.pull_progress_timeout = 60;
    cfg->images.max_concurrent_downloads = 3;
    cfg->cni.default_network.install = true;
    cfg->pause.pin_namespaces = true;
    if (ck_config_set_string(&cfg->listen, CK_CONFIG_DEFAULT_LISTEN, err) < 0 ||
        ck_config_set_string(&cfg->root_dir, CK_CONFIG_DEFAULT_ROOT, err) < 0 ||
        ck_config_set_string(&cfg->state_dir, CK_CONFIG_DEFAULT_STATE, err) < 0 ||
        ck_config_set_string(&cfg->cni.conf_dir, CK_CONFIG_DEFAULT_CNI_CONF_DIR, err) < 0 ||
        strv_push(&cfg->cni.bin_dirs, "/opt/cni/bin", err) < 0 ||
        strv_push(&cfg->cni.bin_dirs, "/usr/lib/cni", err) < 0 ||
        ck_config_set_string(&cfg->cni.default_network.bridge, CK_CONFIG_DEFAULT_CNI_BRIDGE, err) < 0 ||
        ck_config_set_string(&cfg->cni.default_network.subnet, CK_CONFIG_DEFAULT_CNI_SUBNET, err) < 0 ||
        ck_config_set_string(&cfg->streaming.address, "127.0.0.1", err) < 0)
        return -1;
    return 0;
}

int ck_config_defaults(ck_config **out, ck_err *err)
{
    _cleanup_(config_freep) ck_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return ck_err_oom(err, "config");
    if (set_default_values(cfg, err) < 0 || add_default_runtime(cfg, "runc", err) < 0 ||
        add_default_runtime(cfg, "crun", err) < 0)
        return -1;
    const char *def = cfg->n_runtimes > 0 ? cfg->runtimes[0].name : "runc";
    if (ck_config_set_string(&cfg->default_runtime, def, err) < 0)
        return -1;
    *out = ck_steal_ptr(&cfg);
    return 0;
}

/* ---- value checks, shared by loading and validation ----------------------- */

typedef enum check_kind {
    CHK_ANY,      /* any text, even empty */
    CHK_NONEMPTY, /* any text but the empty string */
    CHK_ABSPATH,  /* "/..." */
    CHK_LISTEN,   /* "unix:///..." */
    CHK_MIRROR,   /* "http://x" or "https://x" */
    CHK_HOST,     /* a registry host[:port]: no scheme, path or blanks */
    CHK_OCI_TYPE, /* "oci", the only runtime type */
    CHK_HOSTPORT, /* "host:port" or "[v6]:port" with a numeric port */
    CHK_IFNAME,   /* a Linux interface name: 1-15 of [A-Za-z0-9_.-] */
    CHK_CIDR,     /* "address/prefix", IPv4 or IPv6 */
    CHK_SUBNETS,  /* a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma (dual stack) */
} check_kind;

static bool ifname_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool cidr_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL || slash == s || slash - s >= 46)
        return false;
    char addr[46];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    unsigned char bin[16];
    int max = inet_pton(AF_INET, addr, bin) == 1 ? 32 : inet_pton(AF_INET6, addr, bin) == 1 ? 128 : -1;
    const char *p = slash + 1;
    if (max < 0 || *p == '\0' || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
        return false;
    int64_t bits;
    return ck_parse_i64(p, 0, max, &bits, NULL) == 0;
}

static bool subnets_valid(const char *s)
{
    const char *comma = strchr(s, ',');
    if (comma == NULL)
        return cidr_valid(s);
    char first[64];
    if (comma - s >= (ptrdiff_t)sizeof(first) || strchr(comma + 1, ',') != NULL)
        return false;
    memcpy(first, s, (size_t)(comma - s));
    first[comma - s] = '\0';
    bool v6_first = strchr(first, ':') != NULL, v6_second = strchr(comma + 1, ':') != NULL;
    return cidr_valid(first) && cidr_valid(comma + 1) && v6_first != v6_second;
}

static bool has_prefix_and_more(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && s[n] != '\0';
}

static bool parse_port(const char *s, unsigned *out);

/* "host:port", "[v6]:port": a host without blanks or slashes and a port 1..65535. */
static bool valid_hostport(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || strpbrk(s, "/ \t\r\n") != NULL)
        return false;
    if (s[0] == '[' && colon[-1] != ']')
        return false;
    unsigned port = 0;
    return parse_port(colon + 1, &port) && port > 0;
}

/* True if s passes the check; otherwise false with the reason in why. */
static bool check_string(check_kind kind, const char *s, char *why, size_t cap)
{
    switch (kind) {
    case CHK_ANY: return true;
    case CHK_NONEMPTY:
        if (s[0] != '\0')
            return true;
        snprintf(why, cap, "must not be empty");
        return false;
    case CHK_ABSPATH:
        if (s[0] == '/')
            return true;
        snprintf(why, cap, "must be an absolute path, got \"%s\"", s);
        return false;
    case CHK_LISTEN:
        if (has_prefix_and_more(s, UNIX_SCHEME) && s[strlen(UNIX_SCHEME)] == '/')
            return true;
        snprintf(why, cap, "must be unix:// followed by an absolute path, got \"%s\"", s);
        return false;
    case CHK_MIRROR:
        if (has_prefix_and_more(s, "https://") || has_prefix_and_more(s, "http://"))
            return true;
        snprintf(why, cap, "must be an http:// or https:// URL, got \"%s\"", s);
        return false;
    case CHK_HOST:
        if (s[0] != '\0' && strpbrk(s, "/ \t\r\n") == NULL)
            return true;
        snprintf(why, cap, "must be a registry host[:port], got \"%s\"", s);
        return false;
    case CHK_OCI_TYPE:
        if (strcmp(s, "oci") == 0)
            return true;
        snprintf(why, cap, "must be \"oci\", got \"%s\"", s);
        return false;
    case CHK_HOSTPORT:
        if (valid_hostport(s))
            return true;
        snprintf(why, cap, "must be host:port (e.g. 127.0.0.1:9099), got \"%s\"", s);
        return false;
    case CHK_IFNAME:
        if (ifname_valid(s))
            return true;
        snprintf(why, cap, "must be a network interface name (1-15 of letters, digits, _ . -), got \"%s\"", s);
        return false;
    case CHK_CIDR:
        if (cidr_valid(s))
            return true;
        snprintf(why, cap, "must be an IPv4 or IPv6 address/prefix, got \"%s\"", s);
        return false;
    case CHK_SUBNETS:
        if (subnets_valid(s))
            return true;
        snprintf(why, cap,
                 "must be an IPv4 or IPv6 address/prefix, or one of each separated by a comma (dual stack), "
                 "got \"%s\"",
                 s);
        return false;
    }
    snprintf(why, cap, "unknown check");
    return false;
}

/* Why default_runtime names no configured handler; false when it does (or
 * when no handler is configured at all: the daemon reports not-ready then). */
static bool default_runtime_missing(const ck_config *cfg, char *why, size_t cap)
{
    if (cfg->n_runtimes == 0 || ck_config_find_runtime(cfg, cfg->default_runtime) != NULL)
        return false;
    size_t len = (size_t)snprintf(why, cap, "no runtime handler named \"%s\" (configured:", cfg->default_runtime);
    for (size_t i = 0; i < cfg->n_runtimes && len < cap; i++)
        len += (size_t)snprintf(why + len, cap - len, " %s", cfg->runtimes[i].name);
    if (len < cap)
        snprintf(why + len, cap - len, ")");
    return true;
}

static const char *cgroup_driver_name(ck_cgroup_driver d)
{
    return d == CK_CGROUP_SYSTEMD ? "systemd" : "cgroupfs";
}

static bool parse_bool(const char *s, bool *out)
{
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
        *out = true;
    else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
        *out = false;
    else
        return false;
    return true;
}

static bool parse_port(const char *s, unsigned *out)
{
    if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno != 0 || v > 65535)
        return false;
    *out = (unsigned)v;
    return true;
}

/* ---- the schema ------------------------------------------------------------ */

typedef enum field_type {
    F_STR,        /* char *: a scalar passing `check` */
    F_STRV,       /* ck_strv: a sequence of scalars, each passing `check` */
    F_BOOL,       /* bool: true/false/yes/no */
    F_PORT,       /* unsigned: 0..65535 */
    F_UINT,       /* unsigned: min..max */
    F_LOG_LEVEL,  /* ck_log_level */
    F_LOG_FORMAT, /* ck_log_format */
    F_CGROUP,     /* ck_cgroup_driver */
    F_MAP,        /* a nested mapping described by `sub`, members of the same object */
    F_NAMED,      /* a mapping of name -> entry, described by `named` */
} field_type;

typedef struct named_map named_map;

typedef struct field {
    const char *key;
    field_type type;
    size_t offset;           /* of the member in the object the table describes */
    check_kind check;        /* F_STR, and each item of F_STRV */
    bool optional;           /* F_STR: empty or absent means unset (NULL) */
    bool required;           /* F_STR in a named entry: the key must be given */
    const char *fallback;    /* F_STR in a named entry: the value when not given */
    const struct field *sub; /* F_MAP */
    const named_map *named;  /* F_NAMED */
    unsigned min, max;       /* F_UINT */
} field;

/* A mapping whose keys are names the operator chooses (runtime handlers,
 * registry hosts); each entry is a struct in a ck_config array. */
struct named_map {
    const field *fields;
    check_kind name_check;
    size_t name_offset; /* of the entry's name member */
    size_t (*count)(const ck_config *cfg);
    void *(*at)(const ck_config *cfg, size_t i);
    void *(*append)(ck_config *cfg);
    void (*clear)(ck_config *cfg);
};

#define MEMBER(obj, off, T) ((T *)(void *)((char *)(obj) + (off)))
#define CMEMBER(obj, off, T) ((T const *)(const void *)((const char *)(obj) + (off)))

static size_t runtimes_count(const ck_config *cfg)
{
    return cfg->n_runtimes;
}
static void *runtimes_at(const ck_config *cfg, size_t i)
{
    return &cfg->runtimes[i];
}
static void *runtimes_append_entry(ck_config *cfg)
{
    return runtimes_append(cfg);
}
static size_t hosts_count(const ck_config *cfg)
{
    return cfg->registries.n_hosts;
}
static void *hosts_at(const ck_config *cfg, size_t i)
{
    return &cfg->registries.hosts[i];
}
static void *hosts_append_entry(ck_config *cfg)
{
    return hosts_append(cfg);
}

#define RT(m) offsetof(ck_runtime_handler, m)
static const field runtime_fields[] = {
    {"path", F_STR, RT(path), CHK_ABSPATH, .required = true},
    {"type", F_STR, RT(type), CHK_OCI_TYPE, .fallback = "oci"},
    {"root", F_STR, RT(root), CHK_ABSPATH, .optional = true},
    {"extra_args", F_STRV, RT(extra_args), CHK_ANY},
    {"create_timeout", F_UINT, RT(create_timeout), .min = 1, .max = 3600},
    {NULL},
};

#define RH(m) offsetof(ck_registry_host, m)
static const field host_fields[] = {
    {"mirrors", F_STRV, RH(mirrors), CHK_MIRROR},
    {"insecure", F_BOOL, RH(insecure)},
    {"ca_file", F_STR, RH(ca_file), CHK_ABSPATH, .optional = true},
    {"username", F_STR, RH(username), CHK_ANY, .optional = true},
    {"password", F_STR, RH(password), CHK_ANY, .optional = true},
    {"auth", F_STR, RH(auth), CHK_ANY, .optional = true},
    {"identity_token", F_STR, RH(identity_token), CHK_ANY, .optional = true},
    {NULL},
};

static const named_map runtimes_map = {
    runtime_fields, CHK_NONEMPTY, RT(name), runtimes_count, runtimes_at, runtimes_append_entry, runtimes_clear,
};

static const named_map hosts_map = {
    host_fields, CHK_HOST, RH(host), hosts_count, hosts_at, hosts_append_entry, hosts_clear,
};

#define CF(m) offsetof(ck_config, m)
static const field cni_default_network_fields[] = {
    {"install", F_BOOL, CF(cni.default_network.install)},
    {"bridge", F_STR, CF(cni.default_network.bridge), CHK_IFNAME},
    {"subnet", F_STR, CF(cni.default_network.subnet), CHK_SUBNETS},
    {NULL},
};

static const field cni_fields[] = {
    {"conf_dir", F_STR, CF(cni.conf_dir), CHK_ABSPATH},
    {"bin_dirs", F_STRV, CF(cni.bin_dirs), CHK_ABSPATH},
    {"default_network", F_MAP, .sub = cni_default_network_fields},
    {NULL},
};

static const field streaming_fields[] = {
    {"address", F_STR, CF(streaming.address), CHK_NONEMPTY},
    {"port", F_PORT, CF(streaming.port)},
    {"tls", F_BOOL, CF(streaming.tls)},
    {"tls_cert_file", F_STR, CF(streaming.tls_cert_file), CHK_ABSPATH, .optional = true},
    {"tls_key_file", F_STR, CF(streaming.tls_key_file), CHK_ABSPATH, .optional = true},
    {NULL},
};

static const field registries_fields[] = {
    {"ca_dirs", F_STRV, CF(registries.ca_dirs), CHK_ABSPATH},
    {"hosts", F_NAMED, .named = &hosts_map},
    {NULL},
};

static const field pause_fields[] = {
    {"image", F_STR, CF(pause.image), CHK_NONEMPTY, .optional = true},
    {"pin_namespaces", F_BOOL, CF(pause.pin_namespaces)},
    {NULL},
};

static const field metrics_fields[] = {
    {"address", F_STR, CF(metrics.address), CHK_HOSTPORT, .optional = true},
    {NULL},
};

static const field images_fields[] = {
    {"pull_progress_timeout", F_UINT, CF(images.pull_progress_timeout), .min = 1, .max = 3600},
    {"max_concurrent_downloads", F_UINT, CF(images.max_concurrent_downloads), .min = 1, .max = 64},
    {"allow_device_nodes", F_BOOL, CF(images.allow_device_nodes)},
    {NULL},
};

static const field top_fields[] = {
    {"listen", F_STR, CF(listen), CHK_LISTEN},
    {"root_dir", F_STR, CF(root_dir), CHK_ABSPATH},
    {"state_dir", F_STR, CF(state_dir), CHK_ABSPATH},
    {"log_level", F_LOG_LEVEL, CF(log_level)},
    {"log_format", F_LOG_FORMAT, CF(log_format)},
    {"cgroup_driver", F_CGROUP, CF(cgroup_driver)},
    {"default_runtime", F_STR, CF(default_runtime), CHK_NONEMPTY},
    {"runtimes", F_NAMED, .named = &runtimes_map},
    {"cni", F_MAP, .sub = cni_fields},
    {"streaming", F_MAP, .sub = streaming_fields},
    {"registries", F_MAP, .sub = registries_fields},
    {"pause", F_MAP, .sub = pause_fields},
    {"metrics", F_MAP, .sub = metrics_fields},
    {"images", F_MAP, .sub = images_fields},
    {NULL},
};

/* ---- dotted key paths ------------------------------------------------------ */

typedef struct keypath {
    char buf[KEYPATH_MAX];
    size_t len;
} keypath;

/* Appends piece (truncating when the path is full); returns the mark to pop
 * back to. */
static size_t kp_append(keypath *kp, const char *piece)
{
    size_t mark = kp->len;
    size_t n = strnlen(piece, sizeof(kp->buf) - 1 - kp->len);
    memcpy(kp->buf + kp->len, piece, n);
    kp->len += n;
    kp->buf[kp->len] = '\0';
    return mark;
}

/* Appends ".key" (or "key" at the top); an empty key shows as "". */
static size_t kp_push(keypath *kp, const char *key)
{
    size_t mark = kp->len;
    if (kp->len > 0)
        kp_append(kp, ".");
    kp_append(kp, key[0] != '\0' ? key : "\"\"");
    return mark;
}

static size_t kp_push_index(keypath *kp, size_t i)
{
    char piece[32];
    snprintf(piece, sizeof(piece), "[%zu]", i);
    return kp_append(kp, piece);
}

static void kp_pop(keypath *kp, size_t mark)
{
    kp->len = mark;
    kp->buf[mark] = '\0';
}

/* ---- the YAML tree ---------------------------------------------------------- */

typedef enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP } ynode_kind;

typedef struct ynode {
    ynode_kind kind;
    size_t line;         /* 1-based line where the node starts */
    bool plain;          /* a scalar written without quotes: only those can be null */
    char *value;         /* scalar text, NUL-terminated */
    size_t len;          /* its length; an embedded NUL makes it differ from strlen */
    struct ynode **kids; /* sequence items; mapping keys and values, alternating */
    size_t n;
} ynode;

static void ynode_free(ynode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        ynode_free(n->kids[i]);
    free(n->kids);
    free(n->value);
    free(n);
}

static void ynode_freep(ynode **n)
{
    ynode_free(*n);
}

static int ynode_add(ynode *parent, ynode *kid)
{
    ynode **kids = realloc(parent->kids, (parent->n + 1) * sizeof(*kids));
    if (kids == NULL)
        return -1;
    parent->kids = kids;
    parent->kids[parent->n++] = kid;
    return 0;
}

static bool is_null(const ynode *n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL"};
    if (n->kind != Y_SCALAR || !n->plain)
        return false;
    if (n->len == 0)
        return true;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(n->value, nulls[i]) == 0)
            return true;
    return false;
}

/* A key's text, with a null key read as "". */
static const char *key_text(const ynode *key)
{
    return is_null(key) ? "" : key->value;
}

/* How a node looks in an error: "a mapping", "a sequence" or its quoted text. */
static const char *describe(const ynode *n, char *buf, size_t cap)
{
    if (n->kind == Y_MAP)
        return "a mapping";
    if (n->kind == Y_SEQ)
        return "a sequence";
    snprintf(buf, cap, "\"%.200s\"", n->value);
    return buf;
}

/* Finds the value of key in a mapping node, NULL when absent. */
static const ynode *map_get(const ynode *map, const char *key)
{
    for (size_t i = 0; map->kind == Y_MAP && i + 1 < map->n; i += 2)
        if (map->kids[i]->kind == Y_SCALAR && strcmp(key_text(map->kids[i]), key) == 0)
            return map->kids[i + 1];
    return NULL;
}

/* ---- reading the file into a tree ------------------------------------------ */

typedef struct loader {
    const char *file;
    const char *text;
    size_t text_len;
    yaml_parser_t parser;
    keypath kp;
    ck_err *err;
} loader;

/* Records "<file>:<line>: <key.path>: <what>" (no path at the top level). */
__attribute__((format(printf, 3, 4))) static int fail(loader *ld, size_t line, const char *fmt, ...)
{
    char what[CK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ld->kp.len == 0)
        return ck_err_set(ld->err, CK_E_INVALID, 0, "%s:%zu: %s", ld->file, line, what);
    return ck_err_set(ld->err, CK_E_INVALID, 0, "%s:%zu: %s: %s", ld->file, line, ld->kp.buf, what);
}

#ifdef __clang_analyzer__
/* The analyzer does not follow variadic calls: fail always returns -1. */
/* clang-format off */
#define fail(...) ({ fail(__VA_ARGS__); -1; })
/* clang-format on */
#endif

static size_t line_at_offset(const loader *ld, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset && i < ld->text_len; i++)
        line += ld->text[i] == '\n';
    return line;
}

static int syntax_error(loader *ld)
{
    const yaml_parser_t *p = &ld->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return ck_err_oom(ld->err, "YAML parser");
    size_t line = p->error == YAML_READER_ERROR ? line_at_offset(ld, p->problem_offset) : p->problem_mark.line + 1;
    return ck_err_set(ld->err, CK_E_INVALID, 0, "%s:%zu: %s", ld->file, line,
                      p->problem != NULL ? p->problem : "invalid YAML");
}

static int next_event(loader *ld, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ld->parser, ev))
        return syntax_error(ld);
    return 0;
}

static ynode *ynode_new(ynode_kind kind, size_t line)
{
    ynode *n = calloc(1, sizeof(*n));
    if (n != NULL) {
        n->kind = kind;
        n->line = line;
    }
    return n;
}

static int read_scalar(loader *ld, const yaml_event_t *ev, ynode **out)
{
    _cleanup_(ynode_freep) ynode *n = ynode_new(Y_SCALAR, ev->start_mark.line + 1);
    if (n == NULL || (n->value = malloc(ev->data.scalar.length + 1)) == NULL)
        return ck_err_oom(ld->err, "YAML scalar");
    memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
    n->value[ev->data.scalar.length] = '\0';
    n->len = ev->data.scalar.length;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    *out = ck_steal_ptr(&n);
    return 0;
}

static int read_node(loader *ld, const yaml_event_t *ev, unsigned depth, ynode **out);

/* Reads the items of a sequence or mapping until its end event. */
static int read_children(loader *ld, ynode_kind kind, yaml_event_type_t end, size_t line, unsigned depth, ynode **out)
{
    if (depth >= CONFIG_MAX_DEPTH)
        return fail(ld, line, "nested deeper than %d levels", CONFIG_MAX_DEPTH);
    _cleanup_(ynode_freep) ynode *node = ynode_new(kind, line);
    if (node == NULL)
        return ck_err_oom(ld->err, "YAML node");
    for (;;) {
        _cleanup_(yaml_event_delete) yaml_event_t ev = {0};
        _cleanup_(ynode_freep) ynode *kid = NULL;
        if (next_event(ld, &ev) < 0)
            return -1;
        if (ev.type == end)
            break;
        if (read_node(ld, &ev, depth + 1, &kid) < 0)
            return -1;
        if (ynode_add(node, kid) < 0)
            return ck_err_oom(ld->err, "YAML node");
        kid = NULL;
    }
    *out = ck_steal_ptr(&node);
    return 0;
}

static int read_node(loader *ld, const yaml_event_t *ev, unsigned depth, ynode **out)
{
    size_t line = ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return read_scalar(ld, ev, out);
    case YAML_SEQUENCE_START_EVENT: return read_children(ld, Y_SEQ, YAML_SEQUENCE_END_EVENT, line, depth, out);
    case YAML_MAPPING_START_EVENT: return read_children(ld, Y_MAP, YAML_MAPPING_END_EVENT, line, depth, out);
    case YAML_ALIAS_EVENT:
        return fail(ld, line, "aliases are not supported (*%s)", (const char *)ev->data.alias.anchor);
    default: return fail(ld, line, "unexpected YAML event %d", (int)ev->type);
    }
}

/* Reads the single document of the stream; *root stays NULL for an empty
 * stream. On failure *root may hold a partial tree for the caller to free. */
static int read_tree(loader *ld, ynode **root)
{
    _cleanup_(yaml_event_delete) yaml_event_t stream = {0};
    _cleanup_(yaml_event_delete) yaml_event_t doc = {0};
    _cleanup_(yaml_event_delete) yaml_event_t first = {0};
    _cleanup_(yaml_event_delete) yaml_event_t doc_end = {0};
    _cleanup_(yaml_event_delete) yaml_event_t after = {0};

    if (next_event(ld, &stream) < 0 || next_event(ld, &doc) < 0)
        return -1;
    if (doc.type == YAML_STREAM_END_EVENT)
        return 0;
    if (next_event(ld, &first) < 0 || read_node(ld, &first, 0, root) < 0)
        return -1;
    if (next_event(ld, &doc_end) < 0 || next_event(ld, &after) < 0)
        return -1;
    if (after.type == YAML_DOCUMENT_START_EVENT)
        return fail(ld, after.start_mark.line + 1, "only one YAML document is allowed");
    return 0;
}

/* ---- applying the tree to a configuration ----------------------------------- */

/* The text of a scalar node (null reads as ""), or an error naming what was
 * expected instead. */
static int scalar_text(loader *ld, const ynode *n, const char *expected, const char **out)
{
    char buf[256];
    if (n->kind != Y_SCALAR)
        return fail(ld, n->line, "must be %s, got %s", expected, describe(n, buf, sizeof(buf)));
    if (strlen(n->value) != n->len)
        return fail(ld, n->line, "must not contain a NUL character");
    *out = is_null(n) ? "" : n->value;
    return 0;
}

/* Checks that n is a mapping (null counts as an empty one) whose keys are
 * distinct strings. */
static int expect_map(loader *ld, const ynode *n)
{
    char buf[256];
    if (is_null(n))
        return 0;
    if (n->kind != Y_MAP)
        return fail(ld, n->line, "must be a mapping, got %s", describe(n, buf, sizeof(buf)));
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        const ynode *key = n->kids[i];
        const char *name;
        if (key->kind != Y_SCALAR)
            return fail(ld, key->line, "keys must be strings, got %s", describe(key, buf, sizeof(buf)));
        if (scalar_text(ld, key, "a string", &name) < 0)
            return -1;
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(key_text(n->kids[j]), name) != 0)
                continue;
            kp_push(&ld->kp, name);
            return fail(ld, key->line, "duplicate key (first at line %zu)", n->kids[j]->line);
        }
    }
    return 0;
}

static int unknown_key(loader *ld, const ynode *key, const field *fields)
{
    char known[WHY_MAX] = "";
    size_t len = 0;
    for (const field *f = fields; f->key != NULL && len < sizeof(known); f++)
        len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", len ? ", " : "", f->key);
    return fail(ld, key->line, "unknown key (known keys: %s)", known);
}

static int load_fields(loader *ld, const ynode *map, const field *fields, void *obj);
static int load_named(loader *ld, const ynode *map, const named_map *nm, ck_config *cfg);

static int load_str(loader *ld, const field *f, const ynode *v, void *obj)
{
    const char *s = NULL;
    char why[WHY_MAX];
    char **dst = MEMBER(obj, f->offset, char *);
    if (scalar_text(ld, v, "a string", &s) < 0)
        return -1;
    if (f->optional && s[0] == '\0')
        return ck_config_set_string(dst, NULL, ld->err);
    if (!check_string(f->check, s, why, sizeof(why)))
        return fail(ld, v->line, "%s", why);
    return ck_config_set_string(dst, s, ld->err);
}

static int load_item(loader *ld, check_kind check, const ynode *item, ck_strv *list)
{
    const char *s = NULL;
    char why[WHY_MAX];
    if (scalar_text(ld, item, "a string", &s) < 0)
        return -1;
    if (!check_string(check, s, why, sizeof(why)))
        return fail(ld, item->line, "%s", why);
    return strv_push(list, s, ld->err);
}

static int load_strv(loader *ld, const field *f, const ynode *v, void *obj)
{
    _cleanup_(strv_clear) ck_strv list = {0};
    char buf[256];
    if (!is_null(v) && v->kind != Y_SEQ)
        return fail(ld, v->line, "must be a sequence, got %s", describe(v, buf, sizeof(buf)));
    for (size_t i = 0; !is_null(v) && i < v->n; i++) {
        size_t mark = kp_push_index(&ld->kp, i);
        int r = load_item(ld, f->check, v->kids[i], &list);
        kp_pop(&ld->kp, mark);
        if (r < 0)
            return -1;
    }
    ck_strv *dst = MEMBER(obj, f->offset, ck_strv);
    strv_clear(dst);
    *dst = list;
    list = (ck_strv){0};
    return 0;
}

static int load_bool(loader *ld, const ynode *v, bool *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, "true or false", &s) < 0)
        return -1;
    if (!parse_bool(s, out))
        return fail(ld, v->line, "must be true or false, got \"%s\"", s);
    return 0;
}

#define PORT_EXPECTED "an integer from 0 to 65535"

static int load_port(loader *ld, const ynode *v, unsigned *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, PORT_EXPECTED, &s) < 0)
        return -1;
    if (!parse_port(s, out))
        return fail(ld, v->line, "must be " PORT_EXPECTED ", got \"%s\"", s);
    return 0;
}

static int load_uint(loader *ld, const field *f, const ynode *v, unsigned *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, "an integer", &s) < 0)
        return -1;
    unsigned long n = 0;
    errno = 0;
    if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s))
        n = strtoul(s, NULL, 10);
    if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || errno != 0 || n < f->min || n > f->max)
        return fail(ld, v->line, "must be an integer from %u to %u, got \"%s\"", f->min, f->max, s);
    *out = (unsigned)n;
    return 0;
}

#define LOG_LEVEL_EXPECTED "one of debug, info, warn, error"

static int load_log_level(loader *ld, const ynode *v, ck_log_level *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, LOG_LEVEL_EXPECTED, &s) < 0)
        return -1;
    if (ck_log_level_parse(s, out) < 0)
        return fail(ld, v->line, "must be " LOG_LEVEL_EXPECTED ", got \"%s\"", s);
    return 0;
}

#define LOG_FORMAT_EXPECTED "text or json"

static int load_log_format(loader *ld, const ynode *v, ck_log_format *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, LOG_FORMAT_EXPECTED, &s) < 0)
        return -1;
    if (ck_log_format_parse(s, out) < 0)
        return fail(ld, v->line, "must be " LOG_FORMAT_EXPECTED ", got \"%s\"", s);
    return 0;
}

#define CGROUP_EXPECTED "cgroupfs or systemd"

static int load_cgroup(loader *ld, const ynode *v, ck_cgroup_driver *out)
{
    const char *s = NULL;
    if (scalar_text(ld, v, CGROUP_EXPECTED, &s) < 0)
        return -1;
    if (strcmp(s, "cgroupfs") == 0)
        *out = CK_CGROUP_CGROUPFS;
    else if (strcmp(s, "systemd") == 0)
        *out = CK_CGROUP_SYSTEMD;
    else
        return fail(ld, v->line, "must be " CGROUP_EXPECTED ", got \"%s\"", s);
    return 0;
}

static int load_value(loader *ld, const field *f, const ynode *v, void *obj)
{
    switch (f->type) {
    case F_STR: return load_str(ld, f, v, obj);
    case F_STRV: return load_strv(ld, f, v, obj);
    case F_BOOL: return load_bool(ld, v, MEMBER(obj, f->offset, bool));
    case F_PORT: return load_port(ld, v, MEMBER(obj, f->offset, unsigned));
    case F_UINT: return load_uint(ld, f, v, MEMBER(obj, f->offset, unsigned));
    case F_LOG_LEVEL: return load_log_level(ld, v, MEMBER(obj, f->offset, ck_log_level));
    case F_LOG_FORMAT: return load_log_format(ld, v, MEMBER(obj, f->offset, ck_log_format));
    case F_CGROUP: return load_cgroup(ld, v, MEMBER(obj, f->offset, ck_cgroup_driver));
    case F_MAP: return load_fields(ld, v, f->sub, obj);
    case F_NAMED: return load_named(ld, v, f->named, obj);
    }
    return fail(ld, v->line, "unknown field type %d", (int)f->type);
}

static const field *find_field(const field *fields, const char *key)
{
    for (const field *f = fields; f->key != NULL; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

/* Applies a mapping described by fields onto obj. */
static int load_fields(loader *ld, const ynode *map, const field *fields, void *obj)
{
    if (expect_map(ld, map) < 0)
        return -1;
    for (size_t i = 0; map->kind == Y_MAP && i + 1 < map->n; i += 2) {
        const ynode *key = map->kids[i];
        const field *f = find_field(fields, key_text(key));
        size_t mark = kp_push(&ld->kp, key_text(key));
        int r = f != NULL ? load_value(ld, f, map->kids[i + 1], obj) : unknown_key(ld, key, fields);
        kp_pop(&ld->kp, mark);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* After a named entry's keys: required keys present, fallbacks filled in. */
static int finish_entry(loader *ld, const field *fields, void *entry, size_t line)
{
    for (const field *f = fields; f->key != NULL; f++) {
        if (f->type != F_STR)
            continue;
        char **s = MEMBER(entry, f->offset, char *);
        if (*s != NULL)
            continue;
        if (f->required)
            return fail(ld, line, "missing required key \"%s\"", f->key);
        if (f->fallback != NULL && ck_config_set_string(s, f->fallback, ld->err) < 0)
            return -1;
    }
    return 0;
}

static int load_entry(loader *ld, const named_map *nm, const ynode *key, const ynode *val, ck_config *cfg)
{
    char why[WHY_MAX];
    const char *name = key_text(key);
    if (!check_string(nm->name_check, name, why, sizeof(why)))
        return fail(ld, key->line, "%s", why);
    void *entry = nm->append(cfg);
    if (entry == NULL)
        return ck_err_oom(ld->err, "config entry");
    if (ck_config_set_string(MEMBER(entry, nm->name_offset, char *), name, ld->err) < 0 ||
        load_fields(ld, val, nm->fields, entry) < 0)
        return -1;
    return finish_entry(ld, nm->fields, entry, key->line);
}

/* Replaces the named entries (runtimes, registry hosts) with the mapping's. */
static int load_named(loader *ld, const ynode *map, const named_map *nm, ck_config *cfg)
{
    if (expect_map(ld, map) < 0)
        return -1;
    nm->clear(cfg);
    for (size_t i = 0; map->kind == Y_MAP && i + 1 < map->n; i += 2) {
        size_t mark = kp_push(&ld->kp, key_text(map->kids[i]));
        int r = load_entry(ld, nm, map->kids[i], map->kids[i + 1], cfg);
        kp_pop(&ld->kp, mark);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* A file that replaces `runtimes` without naming `default_runtime` gets its
 * first handler as the default when the old default is gone; a named one
 * must exist. */
static int settle_default_runtime(loader *ld, const ynode *root, ck_config *cfg)
{
    char why[WHY_MAX];
    if (cfg->n_runtimes == 0 || !default_runtime_missing(cfg, why, sizeof(why)))
        return 0; /* (the first test is default_runtime_missing's own, said here for runtimes[0] below) */
    const ynode *given = root != NULL ? map_get(root, "default_runtime") : NULL;
    if (given == NULL)
        return ck_config_set_string(&cfg->default_runtime, cfg->runtimes[0].name, ld->err);
    kp_push(&ld->kp, "default_runtime");
    return fail(ld, given->line, "%s", why);
}

/* A key pair turns TLS on unless the file says tls: false. */
static void settle_streaming_tls(const ynode *root, ck_config *cfg)
{
    if (cfg->streaming.tls_cert_file == NULL || cfg->streaming.tls_key_file == NULL)
        return;
    const ynode *streaming = root != NULL && root->kind == Y_MAP ? map_get(root, "streaming") : NULL;
    const ynode *given = streaming != NULL && streaming->kind == Y_MAP ? map_get(streaming, "tls") : NULL;
    if (given == NULL)
        cfg->streaming.tls = true;
}

static int apply_tree(loader *ld, const ynode *root, ck_config *cfg)
{
    char buf[256];
    if (root != NULL && !is_null(root)) {
        if (root->kind != Y_MAP)
            return fail(ld, root->line, "the top level must be a mapping, got %s", describe(root, buf, sizeof(buf)));
        if (load_fields(ld, root, top_fields, cfg) < 0)
            return -1;
    }
    if (settle_default_runtime(ld, root, cfg) < 0)
        return -1;
    settle_streaming_tls(root, cfg);
    if (ck_config_validate(cfg, ld->err) < 0)
        return ck_err_wrap(ld->err, "%s", ld->file);
    return 0;
}

/* Parses text (the contents of file) onto cfg. */
static int apply_text(const char *file, const char *text, size_t len, ck_config *cfg, ck_err *err)
{
    loader ld = {.file = file, .text = text, .text_len = len, .err = err};
    _cleanup_(ynode_freep) ynode *root = NULL;
    if (!yaml_parser_initialize(&ld.parser))
        return ck_err_oom(err, "YAML parser");
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
    int r = read_tree(&ld, &root);
    yaml_parser_delete(&ld.parser);
    if (r < 0)
        return -1;
    return apply_tree(&ld, root, cfg);
}

static int errno_fail(int *errnum, int value)
{
    *errnum = value;
    return -1;
}

/* Reads a whole file (at most CONFIG_MAX_SIZE bytes); on failure returns -1
 * with *errnum set. *text is never NULL on success, even for an empty file. */
static int read_text(const char *file, char **text, size_t *len, int *errnum)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    size_t cap = 0, n = 0;
    if (fd < 0)
        return errno_fail(errnum, errno);
    for (;;) {
        if (n == cap) {
            if (cap > CONFIG_MAX_SIZE)
                return errno_fail(errnum, EFBIG);
            cap = cap == 0 ? 4096 : (cap * 2 > CONFIG_MAX_SIZE ? CONFIG_MAX_SIZE + 1 : cap * 2);
            char *bigger = realloc(buf, cap);
            if (bigger == NULL)
                return errno_fail(errnum, ENOMEM);
            buf = bigger;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno_fail(errnum, errno);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *text = ck_steal_ptr(&buf);
    *len = n;
    return 0;
}

static int read_error(const char *file, int errnum, ck_err *err)
{
    ck_errkind kind = CK_E_INTERNAL;
    if (errnum == ENOENT || errnum == ENOTDIR)
        kind = CK_E_NOT_FOUND;
    else if (errnum == EACCES || errnum == EPERM)
        kind = CK_E_PERMISSION;
    else if (errnum == EFBIG || errnum == EISDIR)
        kind = CK_E_INVALID;
    return ck_err_set(err, kind, errnum, "read config file %s", file);
}

int ck_config_load(const char *path, ck_config **out, ck_err *err)
{
    const char *file = path != NULL ? path : CK_CONFIG_DEFAULT_PATH;
    _cleanup_free_ char *text = NULL;
    _cleanup_(config_freep) ck_config *cfg = NULL;
    size_t len = 0;
    int errnum = 0;

    if (read_text(file, &text, &len, &errnum) < 0) {
        if (path == NULL && errnum == ENOENT)
            return ck_config_defaults(out, err);
        return read_error(file, errnum, err);
    }
    if (ck_config_defaults(&cfg, err) < 0 || apply_text(file, text, len, cfg, err) < 0 ||
        ck_config_set_string(&cfg->source_path, file, err) < 0)
        return -1;
    *out = ck_steal_ptr(&cfg);
    return 0;
}

int ck_config_load_text(const char *name, const char *text, size_t len, ck_config **out, ck_err *err)
{
    _cleanup_(config_freep) ck_config *cfg = NULL;
    if (len > CONFIG_MAX_SIZE)
        return ck_err_set(err, CK_E_INVALID, EFBIG, "read config file %s", name);
    if (ck_config_defaults(&cfg, err) < 0 || apply_text(name, text, len, cfg, err) < 0)
        return -1;
    *out = ck_steal_ptr(&cfg);
    return 0;
}

/* ---- validation ----------------------------------------------------------- */

typedef struct validator {
    keypath kp;
    ck_err *err;
} validator;

__attribute__((format(printf, 2, 3))) static int invalid(validator *v, const char *fmt, ...)
{
    char what[CK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return ck_err_set(v->err, CK_E_INVALID, 0, "%s: %s", v->kp.buf, what);
}

#ifdef __clang_analyzer__
/* The analyzer does not follow variadic calls: invalid always returns -1. */
/* clang-format off */
#define invalid(...) ({ invalid(__VA_ARGS__); -1; })
/* clang-format on */
#endif

static int validate_str(validator *v, const field *f, const char *s)
{
    char why[WHY_MAX];
    if (s == NULL || (f->optional && s[0] == '\0'))
        return f->optional ? 0 : invalid(v, "must be set");
    if (!check_string(f->check, s, why, sizeof(why)))
        return invalid(v, "%s", why);
    return 0;
}

static int validate_strv(validator *v, const field *f, const ck_strv *list)
{
    for (size_t i = 0; i < list->len; i++) {
        size_t mark = kp_push_index(&v->kp, i);
        int r = validate_str(v, f, list->items[i]);
        kp_pop(&v->kp, mark);
        if (r < 0)
            return -1;
    }
    return 0;
}

static int validate_fields(validator *v, const field *fields, const void *obj);

static int validate_named(validator *v, const named_map *nm, const ck_config *cfg)
{
    char why[WHY_MAX];
    for (size_t i = 0; i < nm->count(cfg); i++) {
        const char *name = *CMEMBER(nm->at(cfg, i), nm->name_offset, char *);
        size_t mark = kp_push(&v->kp, name != NULL ? name : "");
        int r = 0;
        if (name == NULL || !check_string(nm->name_check, name, why, sizeof(why)))
            r = invalid(v, "%s", name == NULL ? "has no name" : why);
        for (size_t j = 0; r == 0 && j < i; j++)
            if (strcmp(name, *CMEMBER(nm->at(cfg, j), nm->name_offset, char *)) == 0)
                r = invalid(v, "duplicate name");
        if (r == 0)
            r = validate_fields(v, nm->fields, nm->at(cfg, i));
        kp_pop(&v->kp, mark);
        if (r < 0)
            return -1;
    }
    return 0;
}

static int validate_value(validator *v, const field *f, const void *obj)
{
    unsigned port;
    ck_log_level level;
    ck_log_format format;
    ck_cgroup_driver driver;
    switch (f->type) {
    case F_STR: return validate_str(v, f, *CMEMBER(obj, f->offset, char *));
    case F_STRV: return validate_strv(v, f, CMEMBER(obj, f->offset, ck_strv));
    case F_BOOL: return 0;
    case F_PORT:
        port = *CMEMBER(obj, f->offset, unsigned);
        return port <= 65535 ? 0 : invalid(v, "must be " PORT_EXPECTED ", got %u", port);
    case F_UINT:
        port = *CMEMBER(obj, f->offset, unsigned);
        return port >= f->min && port <= f->max
                   ? 0
                   : invalid(v, "must be an integer from %u to %u, got %u", f->min, f->max, port);
    case F_LOG_LEVEL:
        level = *CMEMBER(obj, f->offset, ck_log_level);
        return level >= CK_LOG_DEBUG && level <= CK_LOG_ERROR
                   ? 0
                   : invalid(v, "must be " LOG_LEVEL_EXPECTED ", got %d", (int)level);
    case F_LOG_FORMAT:
        format = *CMEMBER(obj, f->offset, ck_log_format);
        return format == CK_LOG_TEXT || format == CK_LOG_JSON
                   ? 0
                   : invalid(v, "must be " LOG_FORMAT_EXPECTED ", got %d", (int)format);
    case F_CGROUP:
        driver = *CMEMBER(obj, f->offset, ck_cgroup_driver);
        return driver == CK_CGROUP_CGROUPFS || driver == CK_CGROUP_SYSTEMD
                   ? 0
                   : invalid(v, "must be " CGROUP_EXPECTED ", got %d", (int)driver);
    case F_MAP: return validate_fields(v, f->sub, obj);
    case F_NAMED: return validate_named(v, f->named, obj);
    }
    return invalid(v, "unknown field type %d", (int)f->type);
}

static int validate_fields(validator *v, const field *fields, const void *obj)
{
    for (const field *f = fields; f->key != NULL; f++) {
        size_t mark = kp_push(&v->kp, f->key);
        int r = validate_value(v, f, obj);
        kp_pop(&v->kp, mark);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The certificate and its key come together: one alone is a mistake. */
static int validate_tls_pair(const ck_config *cfg, ck_err *err)
{
    bool cert = cfg->streaming.tls_cert_file != NULL, key = cfg->streaming.tls_key_file != NULL;
    if (cert == key)
        return 0;
    return ck_err_set(err, CK_E_INVALID, 0, "streaming.%s: must be set with streaming.%s (give both, or neither)",
                      cert ? "tls_key_file" : "tls_cert_file", cert ? "tls_cert_file" : "tls_key_file");
}

int ck_config_validate(const ck_config *cfg, ck_err *err)
{
    validator v = {.err = err};
    char why[WHY_MAX];
    if (validate_fields(&v, top_fields, cfg) < 0)
        return -1;
    if (default_runtime_missing(cfg, why, sizeof(why)))
        return ck_err_set(err, CK_E_INVALID, 0, "default_runtime: %s", why);
    return validate_tls_pair(cfg, err);
}

/* ---- emitting ----------------------------------------------------------------- */

typedef struct emitter {
    yaml_emitter_t em;
    bool failed;
    const char *bad; /* the string libyaml refused, when it refused one */
} emitter;

static void put_event(emitter *e, yaml_event_t *ev, int initialized, const char *text)
{
    if (e->failed)
        return;
    if (!initialized) {
        e->failed = true;
        e->bad = text;
        return;
    }
    /* The emitter owns the event from here, success or not. */
    if (!yaml_emitter_emit(&e->em, ev))
        e->failed = true;
}

static void put_scalar(emitter *e, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    int ok = !e->failed &&
             yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)strlen(s), 1, 1, style);
    put_event(e, &ev, ok, s);
}

/* Whether a plain s would read as something other than a string to a YAML
 * 1.1 reader (null, a boolean, a number): those are written quoted. */
static bool looks_typed(const char *s)
{
    static const char *const words[] = {"~",   "null", "true", "false", "yes",   "no",  "on",
                                        "off", "y",    "n",    ".inf",  "-.inf", ".nan"};
    if (s[0] == '\0')
        return true;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    char *end;
    strtod(s, &end);
    return end != s && *end == '\0';
}

static void put_string(emitter *e, const char *s)
{
    if (s == NULL)
        s = "";
    put_scalar(e, s, looks_typed(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
}

static void put_map_start(emitter *e)
{
    yaml_event_t ev;
    int ok = !e->failed && yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    put_event(e, &ev, ok, NULL);
}

static void put_map_end(emitter *e)
{
    yaml_event_t ev;
    int ok = !e->failed && yaml_mapping_end_event_initialize(&ev);
    put_event(e, &ev, ok, NULL);
}

static void put_strv(emitter *e, const ck_strv *list)
{
    yaml_event_t ev;
    int ok = !e->failed && yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);
    put_event(e, &ev, ok, NULL);
    for (size_t i = 0; i < list->len; i++)
        put_string(e, list->items[i]);
    ok = !e->failed && yaml_sequence_end_event_initialize(&ev);
    put_event(e, &ev, ok, NULL);
}

static void put_fields(emitter *e, const field *fields, const void *obj);

static void put_named(emitter *e, const named_map *nm, const ck_config *cfg)
{
    put_map_start(e);
    for (size_t i = 0; i < nm->count(cfg); i++) {
        put_string(e, *CMEMBER(nm->at(cfg, i), nm->name_offset, char *));
        put_fields(e, nm->fields, nm->at(cfg, i));
    }
    put_map_end(e);
}

static void put_value(emitter *e, const field *f, const void *obj)
{
    char num[32];
    switch (f->type) {
    case F_STR: put_string(e, *CMEMBER(obj, f->offset, char *)); return;
    case F_STRV: put_strv(e, CMEMBER(obj, f->offset, ck_strv)); return;
    case F_BOOL: put_scalar(e, *CMEMBER(obj, f->offset, bool) ? "true" : "false", YAML_PLAIN_SCALAR_STYLE); return;
    case F_PORT:
    case F_UINT:
        snprintf(num, sizeof(num), "%u", *CMEMBER(obj, f->offset, unsigned));
        put_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
        return;
    case F_LOG_LEVEL:
        put_scalar(e, ck_log_level_name(*CMEMBER(obj, f->offset, ck_log_level)), YAML_PLAIN_SCALAR_STYLE);
        return;
    case F_LOG_FORMAT:
        put_scalar(e, *CMEMBER(obj, f->offset, ck_log_format) == CK_LOG_JSON ? "json" : "text",
                   YAML_PLAIN_SCALAR_STYLE);
        return;
    case F_CGROUP:
        put_scalar(e, cgroup_driver_name(*CMEMBER(obj, f->offset, ck_cgroup_driver)), YAML_PLAIN_SCALAR_STYLE);
        return;
    case F_MAP: put_fields(e, f->sub, obj); return;
    case F_NAMED: put_named(e, f->named, obj); return;
    }
}

static void put_fields(emitter *e, const field *fields, const void *obj)
{
    put_map_start(e);
    for (const field *f = fields; f->key != NULL; f++) {
        put_scalar(e, f->key, YAML_PLAIN_SCALAR_STYLE);
        put_value(e, f, obj);
    }
    put_map_end(e);
}

static void put_stream(emitter *e, const ck_config *cfg)
{
    yaml_event_t ev;
    int ok = !e->failed && yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    put_event(e, &ev, ok, NULL);
    ok = !e->failed && yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    put_event(e, &ev, ok, NULL);
    put_fields(e, top_fields, cfg);
    ok = !e->failed && yaml_document_end_event_initialize(&ev, 1);
    put_event(e, &ev, ok, NULL);
    ok = !e->failed && yaml_stream_end_event_initialize(&ev);
    put_event(e, &ev, ok, NULL);
}

static int emit_error(const emitter *e, ck_err *err)
{
    if (e->em.error == YAML_MEMORY_ERROR)
        return ck_err_oom(err, "YAML emitter");
    if (e->em.error == YAML_WRITER_ERROR)
        return ck_err_set(err, CK_E_INTERNAL, errno, "write config: %s", e->em.problem);
    if (e->em.error != YAML_NO_ERROR)
        return ck_err_set(err, CK_E_INTERNAL, 0, "emit config: %s", e->em.problem);
    if (e->bad != NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "emit config: cannot encode \"%.64s\" (not UTF-8?)", e->bad);
    return ck_err_oom(err, "YAML event");
}

int ck_config_emit(const ck_config *cfg, FILE *out, ck_err *err)
{
    emitter e = {0};
    if (!yaml_emitter_initialize(&e.em))
        return ck_err_oom(err, "YAML emitter");
    yaml_emitter_set_output_file(&e.em, out);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_emitter_set_width(&e.em, -1);
    put_stream(&e, cfg);
    if (!e.failed && !yaml_emitter_flush(&e.em))
        e.failed = true;
    int r = e.failed ? emit_error(&e, err) : 0;
    yaml_emitter_delete(&e.em);
    if (r == 0 && (fflush(out) != 0 || ferror(out)))
        return ck_err_set(err, CK_E_INTERNAL, errno, "write config");
    return r;
}

/* ---- reload: what may change without a restart ------------------------- */

static bool str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool strv_same(const ck_strv *a, const ck_strv *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    return true;
}

static int strv_copy(ck_strv *dst, const ck_strv *src, ck_err *err)
{
    strv_clear(dst);
    for (size_t i = 0; i < src->len; i++)
        if (strv_push(dst, src->items[i], err) < 0)
            return -1;
    return 0;
}

static bool runtimes_same(const ck_config *a, const ck_config *b)
{
    if (a->n_runtimes != b->n_runtimes)
        return false;
    for (size_t i = 0; i < a->n_runtimes; i++) {
        const ck_runtime_handler *x = &a->runtimes[i], *y = &b->runtimes[i];
        if (!str_same(x->name, y->name) || !str_same(x->path, y->path) || !str_same(x->type, y->type) ||
            !str_same(x->root, y->root) || !strv_same(&x->extra_args, &y->extra_args) ||
            x->create_timeout != y->create_timeout)
            return false;
    }
    return true;
}

static int runtimes_copy(ck_config *dst, const ck_config *src, ck_err *err)
{
    runtimes_clear(dst);
    for (size_t i = 0; i < src->n_runtimes; i++) {
        const ck_runtime_handler *s = &src->runtimes[i];
        ck_runtime_handler *d = runtimes_append(dst);
        if (d == NULL)
            return ck_err_oom(err, "runtime handler");
        if (ck_config_set_string(&d->name, s->name, err) < 0 || ck_config_set_string(&d->path, s->path, err) < 0 ||
            ck_config_set_string(&d->type, s->type, err) < 0 || ck_config_set_string(&d->root, s->root, err) < 0 ||
            strv_copy(&d->extra_args, &s->extra_args, err) < 0)
            return -1;
        d->create_timeout = s->create_timeout;
    }
    return 0;
}

typedef struct keep_list {
    char *buf;
    size_t cap, len;
} keep_list;

static void note_key(keep_list *kl, const char *key)
{
    if (kl->cap == 0 || kl->len >= kl->cap - 1)
        return;
    int n = snprintf(kl->buf + kl->len, kl->cap - kl->len, "%s%s", kl->len > 0 ? ", " : "", key);
    if (n > 0)
        kl->len += (size_t)n;
}

/* Keeps running's string in *next_field when they differ, noting the key. */
static int keep_str(char **next_field, const char *running, const char *key, keep_list *kl, ck_err *err)
{
    if (str_same(*next_field, running))
        return 0;
    note_key(kl, key);
    return ck_config_set_string(next_field, running, err);
}

static int keep_strv(ck_strv *next_field, const ck_strv *running, const char *key, keep_list *kl, ck_err *err)
{
    if (strv_same(next_field, running))
        return 0;
    note_key(kl, key);
    return strv_copy(next_field, running, err);
}

static void keep_uint(unsigned *next_field, unsigned running, const char *key, keep_list *kl)
{
    if (*next_field != running) {
        note_key(kl, key);
        *next_field = running;
    }
}

static void keep_bool(bool *next_field, bool running, const char *key, keep_list *kl)
{
    if (*next_field != running) {
        note_key(kl, key);
        *next_field = running;
    }
}

int ck_config_keep_restart_only(ck_config *next, const ck_config *running, char *changed, size_t cap, ck_err *err)
{
    keep_list kl = {changed, cap, 0};
    if (cap > 0)
        changed[0] = '\0';
    unsigned driver = (unsigned)next->cgroup_driver;
    keep_uint(&driver, (unsigned)running->cgroup_driver, "cgroup_driver", &kl);
    next->cgroup_driver = (ck_cgroup_driver)driver;
    keep_uint(&next->streaming.port, running->streaming.port, "streaming.port", &kl);
    keep_bool(&next->streaming.tls, running->streaming.tls, "streaming.tls", &kl);
    keep_bool(&next->cni.default_network.install, running->cni.default_network.install, "cni.default_network.install",
              &kl);
    /* A running pod's record says which it is; a change would apply to new
     * pods only, and is kept for a restart like pause.image. */
    keep_bool(&next->pause.pin_namespaces, running->pause.pin_namespaces, "pause.pin_namespaces", &kl);
    if (keep_str(&next->listen, running->listen, "listen", &kl, err) < 0 ||
        keep_str(&next->root_dir, running->root_dir, "root_dir", &kl, err) < 0 ||
        keep_str(&next->state_dir, running->state_dir, "state_dir", &kl, err) < 0 ||
        keep_str(&next->default_runtime, running->default_runtime, "default_runtime", &kl, err) < 0 ||
        keep_str(&next->cni.conf_dir, running->cni.conf_dir, "cni.conf_dir", &kl, err) < 0 ||
        keep_strv(&next->cni.bin_dirs, &running->cni.bin_dirs, "cni.bin_dirs", &kl, err) < 0 ||
        keep_str(&next->cni.default_network.bridge, running->cni.default_network.bridge, "cni.default_network.bridge",
                 &kl, err) < 0 ||
        keep_str(&next->cni.default_network.subnet, running->cni.default_network.subnet, "cni.default_network.subnet",
                 &kl, err) < 0 ||
        keep_str(&next->streaming.address, running->streaming.address, "streaming.address", &kl, err) < 0 ||
        keep_str(&next->streaming.tls_cert_file, running->streaming.tls_cert_file, "streaming.tls_cert_file", &kl,
                 err) < 0 ||
        keep_str(&next->streaming.tls_key_file, running->streaming.tls_key_file, "streaming.tls_key_file", &kl, err) <
            0 ||
        keep_str(&next->pause.image, running->pause.image, "pause.image", &kl, err) < 0 ||
        keep_str(&next->metrics.address, running->metrics.address, "metrics.address", &kl, err) < 0)
        return -1;
    if (!runtimes_same(next, running)) {
        note_key(&kl, "runtimes");
        if (runtimes_copy(next, running, err) < 0)
            return -1;
    }
    return 0;
}
