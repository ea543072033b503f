/*
 * lsm: the AppArmor and SELinux parts of a security context, checked
 * against what this node has before anything is created.
 *
 * AppArmor: a profile choice (RuntimeDefault, Unconfined, or a Localhost
 * profile by name) becomes the OCI spec's process.apparmorProfile, which
 * the runtime applies at exec. Only a Localhost profile names one: on a
 * node without AppArmor, or where that profile is not loaded, it is
 * CK_E_PRECONDITION naming what is missing (the kubelet would otherwise
 * run a workload without the confinement it was promised). RuntimeDefault
 * (and an unset choice) is cricket's own profile, cricket-default, loaded
 * through apparmor_parser the first time a node with AppArmor needs it (a
 * node that cannot load it refuses the container rather than running it
 * unconfined); on a node without AppArmor there is nothing to confine
 * with, and it runs without a profile, as Unconfined does everywhere.
 * Privileged containers and pods are not confined (their callers skip
 * this), as containerd and CRI-O do.
 *
 * SELinux: cricket does not label processes or mounts. Labels asked of a
 * node without SELinux are ignored, as containerd and CRI-O do; asked of a
 * node with SELinux they are CK_E_PRECONDITION rather than silently not
 * applied.
 */
#ifndef CK_OCI_LSM_H
#define CK_OCI_LSM_H

#include <stdbool.h>

#include "common/err.h"

typedef enum ck_apparmor_kind {
    CK_APPARMOR_RUNTIME_DEFAULT = 0, /* also what an unset choice means */
    CK_APPARMOR_UNCONFINED,
    CK_APPARMOR_LOCALHOST,
} ck_apparmor_kind;

typedef struct ck_apparmor_choice {
    ck_apparmor_kind kind;
    const char *name; /* CK_APPARMOR_LOCALHOST: the profile's name, without "localhost/" */
} ck_apparmor_choice;

/* The deprecated apparmor_profile string: "" or "runtime/default",
 * "unconfined", "localhost/<name>". field names it in errors. name points
 * into value. */
int ck_apparmor_choice_parse(const char *field, const char *value, ck_apparmor_choice *out, ck_err *err);

/* A Localhost reference ("<name>" or "localhost/<name>") as a choice; an
 * empty name or one with blanks or control characters is CK_E_INVALID. */
int ck_apparmor_localhost(const char *field, const char *ref, ck_apparmor_choice *out, ck_err *err);

#define CK_APPARMOR_DEFAULT_PROFILE "cricket-default"

/* The profile for process.apparmorProfile (*out NULL = none), checked
 * against this node (and the default profile loaded) as the header says. */
int ck_apparmor_profile_for(const ck_apparmor_choice *c, const char **out, ck_err *err);

/* apparmor_parser's path, or NULL when the node has none. */
const char *ck_apparmor_parser(void);

/* Runs apparmor_parser on cricket-default: load (or replace) it in the
 * kernel, or only compile it (load false: what a node without AppArmor can
 * still check). CK_E_PRECONDITION with the parser's words when it refuses. */
int ck_apparmor_default_compile(bool load, ck_err *err);

/* SELinux options were given (labelled): fine on a node without SELinux,
 * CK_E_PRECONDITION on one with it. field names them in the error. */
int ck_selinux_check(const char *field, bool labelled, ck_err *err);

#endif
