/*
 * seccomp_load: a Localhost profile, read from the node in the JSON format
 * Docker and the OCI spec share, checked whole and turned into a
 * ck_seccomp_profile for the spec. Every fault is CK_E_INVALID naming the
 * file and where in it the fault is ("syscalls[3].names[0] \"mkdri\" is
 * not a syscall libseccomp knows"), found before anything is created:
 * runc would otherwise fail later with a message the kubelet cannot place,
 * or skip an unknown name silently and leave the call open.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

#include <jansson.h>
#include <seccomp.h>

#include "oci/seccomp_internal.h"

typedef struct loader {
    const char *path;
    uint64_t caps;
    seccomp_build sb;
} loader;

static int bad(const loader *l, ck_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(const loader *l, ck_err *err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return ck_err_set(err, CK_E_INVALID, 0, "seccomp profile %s: %s", l->path, what);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static const char *const actions[] = {"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                      "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
                                      "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"};
static const char *const operators[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
static const char *const filter_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                           "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

/* The action at key of o: a string among actions. */
static int action_of(const loader *l, json_t *o, const char *key, const char *where, const char **out, ck_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return bad(l, err, "%s%s is missing or not a string", where, key);
    const char *a = json_string_value(v);
    if (strcmp(a, "SCMP_ACT_NOTIFY") == 0)
        return bad(l, err, "%s%s SCMP_ACT_NOTIFY needs a seccomp agent, and cricket runs none", where, key);
    if (!in_list(a, actions, sizeof(actions) / sizeof(actions[0])))
        return bad(l, err, "%s%s \"%s\" is not a seccomp action", where, key, a);
    *out = a;
    return 0;
}

/* An errno for key ("errnoRet", "defaultErrnoRet"), allowed only where the
 * action returns one. */
static int errno_of(const loader *l, json_t *o, const char *key, const char *action, const char *where, bool *has,
                    unsigned *out, ck_err *err)
{
    json_t *v = json_object_get(o, key);
    *has = false;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 4095)
        return bad(l, err, "%s%s is not an errno number", where, key);
    if (action == NULL || (strcmp(action, "SCMP_ACT_ERRNO") != 0 && strcmp(action, "SCMP_ACT_TRACE") != 0))
        return bad(l, err, "%s%s is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", where, key,
                   action != NULL ? action : "no action");
    *has = true;
    *out = (unsigned)json_integer_value(v);
    return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's "x86_64". */
static bool known_arch(const char *name)
{
    static const char prefix[] = "SCMP_ARCH_";
    char lower[32];
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || strlen(name + sizeof(prefix) - 1) >= sizeof(lower))
        return false;
    size_t i = 0;
    for (const char *p = name + sizeof(prefix) - 1; *p != '\0'; p++)
        lower[i++] = (char)tolower((unsigned char)*p);
    lower[i] = '\0';
    return seccomp_arch_resolve_name(lower) != 0;
}

/* A JSON array of strings, copied into the arena; each checked by valid
 * (may be NULL) and named in errors as where[i]. */
static int strings_of(loader *l, json_t *a, const char *where, bool (*valid)(const char *), const char *fault,
                      const char ***out, size_t *n, ck_err *err)
{
    if (!json_is_array(a))
        return bad(l, err, "%s is not an array", where);
    const char **v = ck_arena_alloc(l->sb.arena, (json_array_size(a) + 1) * sizeof(*v));
    if (v == NULL)
        return ck_err_oom(err, "seccomp profile");
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e))
            return bad(l, err, "%s[%zu] is not a string", where, i);
        if (valid != NULL && !valid(json_string_value(e)))
            return bad(l, err, "%s[%zu] \"%s\" %s", where, i, json_string_value(e), fault);
        if ((v[i] = ck_arena_strdup(l->sb.arena, json_string_value(e))) == NULL)
            return ck_err_oom(err, "seccomp profile");
    }
    *out = v;
    *n = json_array_size(a);
    return 0;
}

static bool known_syscall(const char *name)
{
    return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

static bool known_flag(const char *name)
{
    return in_list(name, filter_flags, sizeof(filter_flags) / sizeof(filter_flags[0]));
}

/* Docker's archMap: the entry of this host's native architecture gives it
 * and the ones its kernel also runs. */
static int architectures_from_map(loader *l, json_t *map, ck_seccomp_profile *out, ck_err *err)
{
    size_t n_host;
    const char *const *host = ck_seccomp_host_architectures(&n_host);
    size_t i;
    json_t *e;
    if (!json_is_array(map))
        return bad(l, err, "archMap is not an array");
    json_array_foreach(map, i, e)
    {
        json_t *arch = json_object_get(e, "architecture");
        if (!json_is_string(arch))
            return bad(l, err, "archMap[%zu].architecture is missing or not a string", i);
        if (n_host == 0 || strcmp(json_string_value(arch), host[0]) != 0)
            continue;
        const char **subs = NULL;
        size_t n_subs = 0;
        json_t *sub = json_object_get(e, "subArchitectures");
        if (sub != NULL && strings_of(l, sub, "archMap[].subArchitectures", known_arch, "is not an architecture", &subs,
                                      &n_subs, err) < 0)
            return -1;
        const char **all = ck_arena_alloc(l->sb.arena, (n_subs + 2) * sizeof(*all));
        if (all == NULL)
            return ck_err_oom(err, "seccomp profile");
        all[0] = host[0];
        for (size_t k = 0; k < n_subs; k++)
            all[k + 1] = subs[k];
        out->architectures = all;
        out->n_architectures = n_subs + 1;
    }
    return 0;
}

static int header(loader *l, json_t *root, ck_seccomp_profile *out, ck_err *err)
{
    if (action_of(l, root, "defaultAction", "", &out->default_action, err) < 0 ||
        errno_of(l, root, "defaultErrnoRet", out->default_action, "", &out->has_default_errno_ret,
                 &out->default_errno_ret, err) < 0)
        return -1;
    const char **v = NULL;
    json_t *arches = json_object_get(root, "architectures");
    if (arches != NULL && !json_is_null(arches)) {
        if (strings_of(l, arches, "architectures", known_arch, "is not an architecture libseccomp knows", &v,
                       &out->n_architectures, err) < 0)
            return -1;
        out->architectures = v;
    }
    json_t *map = json_object_get(root, "archMap");
    if (out->n_architectures == 0 && map != NULL && !json_is_null(map) && architectures_from_map(l, map, out, err) < 0)
        return -1;
    json_t *flags = json_object_get(root, "flags");
    if (flags != NULL && !json_is_null(flags)) {
        if (strings_of(l, flags, "flags", known_flag, "is not a seccomp filter flag runc takes", &v, &out->n_flags,
                       err) < 0)
            return -1;
        out->flags = v;
    }
    return 0;
}

static int arg_of(loader *l, json_t *a, const char *where, ck_seccomp_arg *out, ck_err *err)
{
    json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value");
    json_t *two = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
    if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
        return bad(l, err, "%s.index is not an argument index (0-5)", where);
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return bad(l, err, "%s.value is missing or not an unsigned integer", where);
    if (two != NULL && (!json_is_integer(two) || json_integer_value(two) < 0))
        return bad(l, err, "%s.valueTwo is not an unsigned integer", where);
    if (!json_is_string(op) || !in_list(json_string_value(op), operators, sizeof(operators) / sizeof(operators[0])))
        return bad(l, err, "%s.op is missing or not a comparison (SCMP_CMP_EQ, ...)", where);
    out->index = (unsigned)json_integer_value(index);
    out->value = (uint64_t)json_integer_value(value);
    out->value_two = two != NULL ? (uint64_t)json_integer_value(two) : 0;
    out->op = ck_arena_strdup(l->sb.arena, json_string_value(op));
    return out->op == NULL ? ck_err_oom(err, "seccomp profile") : 0;
}

static int args_of(loader *l, json_t *args, size_t i, ck_seccomp_rule *r, ck_err *err)
{
    if (args == NULL || json_is_null(args))
        return 0;
    if (!json_is_array(args))
        return bad(l, err, "syscalls[%zu].args is not an array", i);
    ck_seccomp_arg *v = ck_arena_alloc(l->sb.arena, (json_array_size(args) + 1) * sizeof(*v));
    if (v == NULL)
        return ck_err_oom(err, "seccomp profile");
    size_t k;
    json_t *a;
    json_array_foreach(args, k, a)
    {
        char where[64];
        snprintf(where, sizeof(where), "syscalls[%zu].args[%zu]", i, k);
        if (arg_of(l, a, where, &v[k], err) < 0)
            return -1;
    }
    r->args = v;
    r->n_args = json_array_size(args);
    return 0;
}

static int names_of(loader *l, json_t *s, size_t i, ck_seccomp_rule *r, ck_err *err)
{
    char where[48];
    json_t *names = json_object_get(s, "names"), *name = json_object_get(s, "name");
    if (names != NULL && name != NULL)
        return bad(l, err, "syscalls[%zu] has both \"name\" and \"names\"", i);
    snprintf(where, sizeof(where), "syscalls[%zu].names", i);
    if (name != NULL) {
        if (!json_is_string(name) || !known_syscall(json_string_value(name)))
            return bad(l, err, "syscalls[%zu].name \"%s\" is not a syscall libseccomp knows", i,
                       json_is_string(name) ? json_string_value(name) : "");
        const char **v = ck_arena_alloc(l->sb.arena, 2 * sizeof(*v));
        if (v == NULL || (v[0] = ck_arena_strdup(l->sb.arena, json_string_value(name))) == NULL)
            return ck_err_oom(err, "seccomp profile");
        r->names = v;
        r->n_names = 1;
        return 0;
    }
    const char **v = NULL;
    if (strings_of(l, names, where, known_syscall, "is not a syscall libseccomp knows", &v, &r->n_names, err) < 0)
        return -1;
    if (r->n_names == 0)
        return bad(l, err, "syscalls[%zu].names is empty", i);
    r->names = v;
    return 0;
}

/* ---- Docker's includes and excludes ---------------------------------------------- */

/* This host as Go names it, the name Docker's profiles use in "arches". */
static const char *go_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__powerpc64__)
    return "ppc64le";
#elif defined(__riscv)
    return "riscv64";
#else
    return "";
#endif
}

/* "CAP_SYS_ADMIN" or "sys_admin": its number, or -1. */
static int cap_number(const char *name)
{
    char lower[64] = "cap_";
    size_t n = strncasecmp(name, "cap_", 4) == 0 ? 0 : 4;
    for (const char *p = name; *p != '\0' && n < sizeof(lower) - 1; p++)
        lower[n++] = (char)tolower((unsigned char)*p);
    lower[n] = '\0';
    cap_value_t v;
    return cap_from_name(lower, &v) == 0 ? (int)v : -1;
}

/* For "caps": all (every_one) or any of the listed capabilities held;
 * for "arches": this host listed; "minKernel": this kernel at least. */
static int condition(loader *l, json_t *c, size_t i, const char *what, bool every_one, bool *holds, ck_err *err)
{
    *holds = every_one;
    if (c == NULL || json_is_null(c))
        return 0;
    if (!json_is_object(c))
        return bad(l, err, "syscalls[%zu].%s is not an object", i, what);
    size_t k;
    json_t *e;
    json_t *caps = json_object_get(c, "caps"), *arches = json_object_get(c, "arches");
    json_array_foreach(caps, k, e)
    {
        int cap = json_is_string(e) ? cap_number(json_string_value(e)) : -1;
        if (cap < 0)
            return bad(l, err, "syscalls[%zu].%s.caps[%zu] is not a capability", i, what, k);
        bool held = cap < 64 && (l->caps & (UINT64_C(1) << cap)) != 0;
        *holds = every_one ? (*holds && held) : (*holds || held);
    }
    bool listed = json_array_size(arches) == 0 && every_one;
    json_array_foreach(arches, k, e) listed |= json_is_string(e) && strcmp(json_string_value(e), go_arch()) == 0;
    *holds = every_one ? (*holds && listed) : (*holds || listed);
    json_t *min = json_object_get(c, "minKernel");
    unsigned major = 0, minor = 0;
    if (min != NULL && (!json_is_string(min) || ck_seccomp_parse_version(json_string_value(min), &major, &minor) < 0))
        return bad(l, err, "syscalls[%zu].%s.minKernel is not like \"4.8\"", i, what);
    if (min != NULL && every_one)
        *holds = *holds && ck_seccomp_kernel_at_least(major, minor);
    return 0;
}

/* ---- the whole file ---------------------------------------------------------------- */

/* Checked whatever its conditions say, kept only when they hold here. */
static int syscall_of(loader *l, json_t *s, size_t i, ck_err *err)
{
    char where[32];
    snprintf(where, sizeof(where), "syscalls[%zu].", i);
    if (!json_is_object(s))
        return bad(l, err, "syscalls[%zu] is not an object", i);
    ck_seccomp_rule r = {0};
    if (names_of(l, s, i, &r, err) < 0 || action_of(l, s, "action", where, &r.action, err) < 0 ||
        errno_of(l, s, "errnoRet", r.action, where, &r.has_errno_ret, &r.errno_ret, err) < 0 ||
        args_of(l, json_object_get(s, "args"), i, &r, err) < 0)
        return -1;
    if ((r.action = ck_arena_strdup(l->sb.arena, r.action)) == NULL)
        return ck_err_oom(err, "seccomp profile");
    bool included, excluded;
    if (condition(l, json_object_get(s, "includes"), i, "includes", true, &included, err) < 0 ||
        condition(l, json_object_get(s, "excludes"), i, "excludes", false, &excluded, err) < 0)
        return -1;
    if (!included || excluded)
        return 0;
    return ck_seccomp_build_push(&l->sb, &r, err);
}

static int profile_of(loader *l, json_t *root, ck_seccomp_profile *out, ck_err *err)
{
    if (!json_is_object(root))
        return bad(l, err, "not a JSON object");
    if (header(l, root, out, err) < 0)
        return -1;
    out->default_action = ck_arena_strdup(l->sb.arena, out->default_action);
    if (out->default_action == NULL)
        return ck_err_oom(err, "seccomp profile");
    json_t *syscalls = json_object_get(root, "syscalls");
    if (syscalls != NULL && !json_is_null(syscalls) && !json_is_array(syscalls))
        return bad(l, err, "syscalls is not an array");
    size_t i;
    json_t *s;
    json_array_foreach(syscalls, i, s) if (syscall_of(l, s, i, err) < 0) return -1;
    out->rules = l->sb.rules;
    out->n_rules = l->sb.n;
    return 0;
}

int ck_seccomp_load(const char *path, uint64_t caps, ck_arena *arena, ck_seccomp_profile *out, ck_err *err)
{
    loader l = {.path = path, .caps = caps, .sb = {.arena = arena}};
    memset(out, 0, sizeof(*out));
    if (path == NULL || path[0] != '/')
        return ck_err_set(err, CK_E_INVALID, 0, "seccomp profile \"%s\": a Localhost profile needs an absolute path",
                          path != NULL ? path : "");
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL && jerr.line < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "seccomp profile %s: cannot read it (%s)", path, jerr.text);
    if (root == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "seccomp profile %s: line %d: %s", path, jerr.line, jerr.text);
    int rc = profile_of(&l, root, out, err);
    json_decref(root);
    return rc;
}
