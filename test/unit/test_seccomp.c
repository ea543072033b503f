/*
 * oci/seccomp: the RuntimeDefault tables and Localhost profiles. Each
 * profile is also compiled with libseccomp the way runc compiles
 * linux.seccomp (architectures, then every name of every rule with its
 * conditions), so a name, an operator or a pair of rules runc would refuse
 * fails here first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>
#include <seccomp.h>

#include "oci/seccomp.h"

#define ALL_CAPS (~UINT64_C(0))
/* containerd's default capability set, as containers/spec.c grants it. */
#define DEFAULT_CAPS                                                                                          \
    ((UINT64_C(1) << CAP_CHOWN) | (UINT64_C(1) << CAP_DAC_OVERRIDE) | (UINT64_C(1) << CAP_FSETID) |           \
     (UINT64_C(1) << CAP_FOWNER) | (UINT64_C(1) << CAP_MKNOD) | (UINT64_C(1) << CAP_NET_RAW) |                \
     (UINT64_C(1) << CAP_SETGID) | (UINT64_C(1) << CAP_SETUID) | (UINT64_C(1) << CAP_SETFCAP) |               \
     (UINT64_C(1) << CAP_SETPCAP) | (UINT64_C(1) << CAP_NET_BIND_SERVICE) | (UINT64_C(1) << CAP_SYS_CHROOT) | \
     (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_AUDIT_WRITE))

static uint32_t action_value(const char *action, bool has_errno, unsigned errno_ret)
{
    if (strcmp(action, "SCMP_ACT_ALLOW") == 0)
        return SCMP_ACT_ALLOW;
    if (strcmp(action, "SCMP_ACT_ERRNO") == 0)
        return SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
    if (strcmp(action, "SCMP_ACT_LOG") == 0)
        return SCMP_ACT_LOG;
    if (strcmp(action, "SCMP_ACT_KILL") == 0 || strcmp(action, "SCMP_ACT_KILL_THREAD") == 0)
        return SCMP_ACT_KILL;
    if (strcmp(action, "SCMP_ACT_KILL_PROCESS") == 0)
        return SCMP_ACT_KILL_PROCESS;
    if (strcmp(action, "SCMP_ACT_TRAP") == 0)
        return SCMP_ACT_TRAP;
    if (strcmp(action, "SCMP_ACT_TRACE") == 0)
        return SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
    fail_msg("action %s", action);
    return 0;
}

static enum scmp_compare op_value(const char *op)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
               {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE},
               {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE},
               {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(op, ops[i].name) == 0)
            return ops[i].op;
    fail_msg("operator %s", op);
    return SCMP_CMP_EQ;
}

/* runc's compilation: a name this libseccomp resolves to nothing is a
 * failure here (runc would skip it, leaving the call to the default). */
static void compile(const ck_seccomp_profile *p)
{
    scmp_filter_ctx ctx = seccomp_init(action_value(p->default_action, p->has_default_errno_ret, p->default_errno_ret));
    assert_non_null(ctx);
    for (size_t i = 0; i < p->n_architectures; i++) {
        char lower[32];
        size_t k = 0;
        for (const char *c = p->architectures[i] + strlen("SCMP_ARCH_"); *c != '\0' && k < sizeof(lower) - 1; c++)
            lower[k++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        lower[k] = '\0';
        uint32_t arch = seccomp_arch_resolve_name(lower);
        assert_int_not_equal(arch, 0);
        int rc = seccomp_arch_add(ctx, arch);
        assert_true(rc == 0 || rc == -EEXIST);
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const ck_seccomp_rule *r = &p->rules[i];
        struct scmp_arg_cmp cmp[6];
        assert_true(r->n_args <= 6);
        for (size_t a = 0; a < r->n_args; a++)
            cmp[a] = (struct scmp_arg_cmp){r->args[a].index, op_value(r->args[a].op), r->args[a].value,
                                           r->args[a].value_two};
        for (size_t n = 0; n < r->n_names; n++) {
            int nr = seccomp_syscall_resolve_name(r->names[n]);
            if (nr == __NR_SCMP_ERROR)
                fail_msg("rule %zu: libseccomp does not know %s", i, r->names[n]);
            int rc = seccomp_rule_add_array(ctx, action_value(r->action, r->has_errno_ret, r->errno_ret), nr,
                                            (unsigned)r->n_args, cmp);
            if (rc < 0 && rc != -EEXIST)
                fail_msg("rule %zu (%s): %s", i, r->names[n], strerror(-rc));
        }
    }
    seccomp_release(ctx);
}

static bool allows(const ck_seccomp_profile *p, const char *name)
{
    for (size_t i = 0; i < p->n_rules; i++)
        for (size_t n = 0; n < p->rules[i].n_names; n++)
            if (strcmp(p->rules[i].names[n], name) == 0 && strcmp(p->rules[i].action, "SCMP_ACT_ALLOW") == 0)
                return true;
    return false;
}

static void test_runtime_default(void **state)
{
    (void)state;
    ck_arena arena = CK_ARENA_INIT;
    ck_err err;
    ck_err_clear(&err);
    ck_seccomp_profile p;
    assert_int_equal(ck_seccomp_runtime_default(DEFAULT_CAPS, &arena, &p, &err), 0);
    compile(&p);
    assert_true(allows(&p, "openat"));
    assert_true(allows(&p, "chroot"));
    assert_false(allows(&p, "mount"));
    assert_false(allows(&p, "unshare"));
    assert_false(allows(&p, "sethostname"));
    assert_false(allows(&p, "keyctl"));
    assert_false(allows(&p, "add_key"));
    assert_false(allows(&p, "kexec_load"));
    assert_false(allows(&p, "io_uring_setup"));
    assert_false(allows(&p, "userfaultfd"));
    assert_false(allows(&p, "reboot"));
    assert_false(allows(&p, "clone3")); /* ENOSYS, so libc falls back to clone */
    /* Every capability: each governed call opens, and the whole still compiles. */
    ck_seccomp_profile all;
    assert_int_equal(ck_seccomp_runtime_default(ALL_CAPS, &arena, &all, &err), 0);
    compile(&all);
    assert_true(allows(&all, "mount"));
    assert_true(allows(&all, "clone3"));
    assert_true(allows(&all, "reboot"));
    assert_true(allows(&all, "ptrace"));
    assert_false(allows(&all, "kexec_load")); /* not even then */
    ck_arena_reset(&arena);
}

static void test_choice_parse(void **state)
{
    (void)state;
    ck_seccomp_choice c;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_seccomp_choice_parse("f", "", &c, &err), 0);
    assert_int_equal(c.kind, CK_SECCOMP_UNCONFINED);
    assert_int_equal(ck_seccomp_choice_parse("f", "unconfined", &c, &err), 0);
    assert_int_equal(c.kind, CK_SECCOMP_UNCONFINED);
    assert_int_equal(ck_seccomp_choice_parse("f", "runtime/default", &c, &err), 0);
    assert_int_equal(c.kind, CK_SECCOMP_RUNTIME_DEFAULT);
    assert_int_equal(ck_seccomp_choice_parse("f", "docker/default", &c, &err), 0);
    assert_int_equal(c.kind, CK_SECCOMP_RUNTIME_DEFAULT);
    assert_int_equal(ck_seccomp_choice_parse("f", "localhost//var/lib/p.json", &c, &err), 0);
    assert_int_equal(c.kind, CK_SECCOMP_LOCALHOST);
    assert_string_equal(c.path, "/var/lib/p.json");
    assert_int_equal(ck_seccomp_choice_parse("f", "localhost/p.json", &c, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_int_equal(ck_seccomp_choice_parse("f", "strict", &c, &err), -1);
    assert_non_null(strstr(err.msg, "f \"strict\""));
}

/* ---- Localhost profiles ------------------------------------------------------------ */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test-seccomp.XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static const char *profile_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void load_ok(const char *text, uint64_t caps, ck_arena *arena, ck_seccomp_profile *p)
{
    ck_err err;
    ck_err_clear(&err);
    if (ck_seccomp_load(profile_file("ok.json", text), caps, arena, p, &err) < 0)
        fail_msg("load: %s", err.msg);
    compile(p);
}

static void load_fails(const char *text, const char *want)
{
    ck_arena arena = CK_ARENA_INIT;
    ck_seccomp_profile p;
    ck_err err;
    ck_err_clear(&err);
    const char *path = profile_file("bad.json", text);
    assert_int_equal(ck_seccomp_load(path, ALL_CAPS, &arena, &p, &err), -1);
    if (err.kind != CK_E_INVALID || strstr(err.msg, want) == NULL || strstr(err.msg, path) == NULL)
        fail_msg("got %s \"%s\", want \"%s\" naming %s", ck_errkind_name(err.kind), err.msg, want, path);
    /* The check before creation says the same. */
    ck_seccomp_choice c = {CK_SECCOMP_LOCALHOST, path};
    ck_err_clear(&err);
    assert_int_equal(ck_seccomp_check(&c, &err), -1);
    assert_non_null(strstr(err.msg, want));
    ck_arena_reset(&arena);
}

static void test_localhost(void **state)
{
    (void)state;
    ck_arena arena = CK_ARENA_INIT;
    ck_seccomp_profile p;
    /* critest's own: no architectures, no errnoRet. */
    load_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"sethostname\"],"
            "\"action\":\"SCMP_ACT_ERRNO\"}]}",
            ALL_CAPS, &arena, &p);
    assert_string_equal(p.default_action, "SCMP_ACT_ALLOW");
    assert_int_equal(p.n_architectures, 0);
    assert_int_equal(p.n_rules, 1);
    assert_false(p.rules[0].has_errno_ret);
    /* The older "name", args, errnoRet, architectures, flags. */
    load_ok("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
            "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
            "\"syscalls\":[{\"name\":\"read\",\"action\":\"SCMP_ACT_ALLOW\"},"
            "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":8,"
            "\"op\":\"SCMP_CMP_EQ\"}]},{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}",
            ALL_CAPS, &arena, &p);
    assert_true(p.has_default_errno_ret);
    assert_int_equal(p.default_errno_ret, 38);
    assert_int_equal(p.n_architectures, 2);
    assert_int_equal(p.n_flags, 1);
    assert_int_equal(p.n_rules, 3);
    assert_string_equal(p.rules[0].names[0], "read");
    assert_int_equal(p.rules[1].args[0].value, 8);
    assert_int_equal(p.rules[2].errno_ret, 13);
    /* Docker's includes and excludes, against the container's capabilities. */
    const char *conditional = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
                              "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\","
                              "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                              "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\","
                              "\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
                              "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                              "\"includes\":{\"minKernel\":\"3.0\"}}]}";
    load_ok(conditional, DEFAULT_CAPS, &arena, &p);
    assert_false(allows(&p, "mount"));
    assert_true(allows(&p, "clone"));
    assert_true(allows(&p, "read"));
    load_ok(conditional, DEFAULT_CAPS | (UINT64_C(1) << CAP_SYS_ADMIN), &arena, &p);
    assert_true(allows(&p, "mount"));
    assert_false(allows(&p, "clone"));
    ck_arena_reset(&arena);
}

static void test_localhost_faults(void **state)
{
    (void)state;
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",\"mkdri\"],"
               "\"action\":\"SCMP_ACT_ERRNO\"}]}",
               "syscalls[0].names[1] \"mkdri\" is not a syscall libseccomp knows");
    load_fails(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"nope\",\"action\":\"SCMP_ACT_ERRNO\"}]}",
        "syscalls[0].name \"nope\"");
    load_fails("{\"defaultAction\":\"SCMP_ACT_MAYBE\"}", "defaultAction \"SCMP_ACT_MAYBE\" is not a seccomp action");
    load_fails("{\"syscalls\":[]}", "defaultAction is missing");
    load_fails("{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "needs a seccomp agent");
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
               "architectures[0] \"SCMP_ARCH_Z80\"");
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
               "\"SCMP_ACT_ALLOW\",\"errnoRet\":1}]}",
               "syscalls[0].errnoRet is only allowed with SCMP_ACT_ERRNO");
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
               "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
               "syscalls[0].args[0].index");
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
               "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"EQ\"}]}]}",
               "syscalls[0].args[0].op");
    load_fails("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_ERRNO\"}]}",
               "syscalls[0].names is empty");
    load_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\",", "line 1");
    load_fails("[1, 2]", "not a JSON object");
    /* A file that is not there. */
    ck_arena arena = CK_ARENA_INIT;
    ck_seccomp_profile p;
    ck_err err;
    ck_err_clear(&err);
    assert_int_equal(ck_seccomp_load("/nonexistent/p.json", 0, &arena, &p, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "seccomp profile /nonexistent/p.json: cannot read it"));
    assert_int_equal(ck_seccomp_load("relative.json", 0, &arena, &p, &err), -1);
    assert_non_null(strstr(err.msg, "absolute path"));
    ck_arena_reset(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_default),
        cmocka_unit_test(test_choice_parse),
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_localhost_faults),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
