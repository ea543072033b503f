/*
 * lsm: AppArmor and SELinux choices against this node (see lsm.h). The
 * node is read on every check, not cached: profiles are loaded and removed
 * while the daemon runs, and a check costs two small reads.
 */
#include "oci/lsm.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/spawn.h"

#define APPARMOR_ENABLED "/sys/module/apparmor/parameters/enabled"
#define APPARMOR_PROFILES "/sys/kernel/security/apparmor/profiles"
#define SELINUX_FS "/sys/fs/selinux/enforce"

static const char localhost_prefix[] = "localhost/";

int ck_apparmor_localhost(const char *field, const char *ref, ck_apparmor_choice *out, ck_err *err)
{
    if (strncmp(ref, localhost_prefix, sizeof(localhost_prefix) - 1) == 0)
        ref += sizeof(localhost_prefix) - 1;
    if (ref[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "%s: a Localhost AppArmor profile needs a profile name", field);
    for (const char *p = ref; *p != '\0'; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return ck_err_set(err, CK_E_INVALID, 0,
                              "%s: AppArmor profile name \"%s\" holds a blank or a control character", field, ref);
    *out = (ck_apparmor_choice){CK_APPARMOR_LOCALHOST, ref};
    return 0;
}

int ck_apparmor_choice_parse(const char *field, const char *value, ck_apparmor_choice *out, ck_err *err)
{
    if (value[0] == '\0' || strcmp(value, "runtime/default") == 0) {
        *out = (ck_apparmor_choice){CK_APPARMOR_RUNTIME_DEFAULT, NULL};
        return 0;
    }
    if (strcmp(value, "unconfined") == 0) {
        *out = (ck_apparmor_choice){CK_APPARMOR_UNCONFINED, NULL};
        return 0;
    }
    if (strncmp(value, localhost_prefix, sizeof(localhost_prefix) - 1) == 0)
        return ck_apparmor_localhost(field, value, out, err);
    return ck_err_set(err, CK_E_INVALID, 0,
                      "%s \"%s\" is not \"runtime/default\", \"unconfined\" or \"localhost/<profile>\"", field, value);
}

static bool apparmor_enabled(void)
{
    FILE *f = fopen(APPARMOR_ENABLED, "re");
    if (f == NULL)
        return false;
    int c = fgetc(f);
    fclose(f);
    return c == 'Y';
}

/* The kernel lists each loaded profile as "<name> (<mode>)". */
static int profile_loaded(const char *name, bool *loaded, ck_err *err)
{
    FILE *f = fopen(APPARMOR_PROFILES, "re");
    if (f == NULL)
        return ck_err_set(err, CK_E_INTERNAL, errno, "apparmor: cannot read %s", APPARMOR_PROFILES);
    char line[4096];
    size_t len = strlen(name);
    *loaded = false;
    while (!*loaded && fgets(line, sizeof(line), f) != NULL)
        *loaded = strncmp(line, name, len) == 0 && strncmp(line + len, " (", 2) == 0;
    fclose(f);
    return 0;
}

/* What RuntimeDefault confines to: the container may use the network,
 * its capabilities and its files, but not mount, not write the kernel's
 * knobs under /proc and /sys (its own /proc/<pid> and the cgroup tree
 * excepted), and not read the kernel's memory, firmware or security
 * settings; it signals and traces only its own kind. */
static const char default_profile[] =
    "abi <abi/3.0>,\n"
    "#include <tunables/global>\n"
    "\n"
    "profile " CK_APPARMOR_DEFAULT_PROFILE " flags=(attach_disconnected,mediate_deleted) {\n"
    "  #include <abstractions/base>\n"
    "  network,\n"
    "  capability,\n"
    "  file,\n"
    "  umount,\n"
    "  deny mount,\n"
    "  signal (receive) peer=unconfined,\n"
    "  signal (send,receive) peer=" CK_APPARMOR_DEFAULT_PROFILE ",\n"
    "  ptrace (trace,read,tracedby,readby) peer=" CK_APPARMOR_DEFAULT_PROFILE ",\n"
    "  deny @{PROC}/* w,\n"
    "  deny @{PROC}/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}/** w,\n"
    "  deny @{PROC}/sys/[^k]** w,\n"
    "  deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,\n"
    "  deny @{PROC}/sysrq-trigger rwklx,\n"
    "  deny @{PROC}/kcore rwklx,\n"
    "  deny /sys/[^f]*/** wklx,\n"
    "  deny /sys/f[^s]*/** wklx,\n"
    "  deny /sys/fs/[^c]*/** wklx,\n"
    "  deny /sys/fs/c[^g]*/** wklx,\n"
    "  deny /sys/fs/cg[^r]*/** wklx,\n"
    "  deny /sys/firmware/** rwklx,\n"
    "  deny /sys/kernel/security/** rwklx,\n"
    "}\n";

static const char *const parser_paths[] = {"/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"};

const char *ck_apparmor_parser(void)
{
    for (size_t i = 0; i < sizeof(parser_paths) / sizeof(parser_paths[0]); i++)
        if (access(parser_paths[i], X_OK) == 0)
            return parser_paths[i];
    return NULL;
}

/* The parser's last line says what it refused; the lines before it are
 * warnings (a node without AppArmor's cache interface has two). */
static const char *last_line(char *text)
{
    if (text == NULL)
        return "";
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    const char *nl = strrchr(text, '\n');
    return nl != NULL ? nl + 1 : text;
}

int ck_apparmor_default_compile(bool load, ck_err *err)
{
    const char *parser = ck_apparmor_parser();
    if (parser == NULL)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "apparmor: no apparmor_parser in /usr/sbin or /sbin");
    const char *argv[] = {parser, load ? "--replace" : "--skip-kernel-load", NULL};
    const ck_spawn_opts opts = {.input = default_profile, .timeout_ms = 30000, .output_cap = 4096};
    ck_spawn_result res;
    if (ck_spawn_run(argv, &opts, &res, err) < 0)
        return ck_err_wrap(err, "apparmor: run %s", parser);
    int rc = 0;
    if (res.status != 0)
        rc = ck_err_set(err, CK_E_PRECONDITION, 0, "apparmor: %s refused profile %s (exit %d): %.300s", parser,
                        CK_APPARMOR_DEFAULT_PROFILE, res.status, last_line(res.errout));
    ck_spawn_result_clear(&res);
    return rc;
}

/* Loaded once, and again should someone have removed it meanwhile: the
 * lock keeps two creations from running the parser at once. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;

static int ensure_default_loaded(ck_err *err)
{
    pthread_mutex_lock(&default_lock);
    bool loaded = false;
    int rc = profile_loaded(CK_APPARMOR_DEFAULT_PROFILE, &loaded, err);
    if (rc == 0 && !loaded) {
        rc = ck_apparmor_default_compile(true, err);
        if (rc == 0)
            ck_info("apparmor", "loaded the default profile %s", CK_APPARMOR_DEFAULT_PROFILE);
    }
    pthread_mutex_unlock(&default_lock);
    return rc;
}

int ck_apparmor_profile_for(const ck_apparmor_choice *c, const char **out, ck_err *err)
{
    *out = NULL;
    if (c->kind == CK_APPARMOR_UNCONFINED)
        return 0;
    if (c->kind == CK_APPARMOR_RUNTIME_DEFAULT) {
        if (!apparmor_enabled())
            return 0; /* nothing to confine with */
        if (ensure_default_loaded(err) < 0)
            return ck_err_wrap(err, "RuntimeDefault AppArmor profile");
        *out = CK_APPARMOR_DEFAULT_PROFILE;
        return 0;
    }
    if (!apparmor_enabled())
        return ck_err_set(err, CK_E_PRECONDITION, 0,
                          "apparmor: profile \"%s\" was asked for, but AppArmor is not enabled on this node", c->name);
    bool loaded = false;
    if (profile_loaded(c->name, &loaded, err) < 0)
        return -1;
    if (!loaded)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "apparmor: profile \"%s\" is not loaded on this node", c->name);
    *out = c->name;
    return 0;
}

int ck_selinux_check(const char *field, bool labelled, ck_err *err)
{
    if (!labelled || access(SELINUX_FS, F_OK) != 0)
        return 0;
    return ck_err_set(err, CK_E_PRECONDITION, 0,
                      "%s: this node runs SELinux, and cricket does not apply SELinux labels; the workload would run "
                      "without the label it asks for",
                      field);
}
