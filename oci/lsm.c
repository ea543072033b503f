/*
 * lsm: AppArmor and SELinux choices against this node (see lsm.h). The
 * node is read on every check, not cached: profiles are loaded and removed
 * while the daemon runs, and a check costs two small reads.
 */
#include "oci/lsm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int ck_apparmor_profile_for(const ck_apparmor_choice *c, const char **out, ck_err *err)
{
    *out = NULL;
    if (c->kind != CK_APPARMOR_LOCALHOST)
        return 0;
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
