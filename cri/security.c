/*
 * security: SecurityProfile to ck_seccomp_choice and ck_apparmor_choice.
 * A seccomp Localhost reference is the profile's absolute path on the
 * node, an AppArmor one the profile's name; a "localhost/" in front of
 * either, as the deprecated fields and some clients write it, is taken
 * off. The new field wins over the deprecated one when both are set.
 */
#include "cri/security.h"

#include <string.h>

static int seccomp_choice(const Runtime__V1__SecurityProfile *profile, const char *legacy_path, const char *field,
                          ck_seccomp_choice *out, ck_err *err)
{
    static const char prefix[] = "localhost/";
    if (profile == NULL)
        return ck_seccomp_choice_parse(field, legacy_path, out, err);
    switch (profile->profile_type) {
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault:
        *out = (ck_seccomp_choice){CK_SECCOMP_RUNTIME_DEFAULT, NULL};
        return 0;
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined:
        *out = (ck_seccomp_choice){CK_SECCOMP_UNCONFINED, NULL};
        return 0;
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost: {
        const char *ref = profile->localhost_ref != NULL ? profile->localhost_ref : "";
        if (strncmp(ref, prefix, sizeof(prefix) - 1) == 0)
            ref += sizeof(prefix) - 1;
        if (ref[0] != '/')
            return ck_err_set(err, CK_E_INVALID, 0,
                              "seccomp: a Localhost profile needs localhost_ref to be an absolute path, not \"%s\"",
                              ref);
        *out = (ck_seccomp_choice){CK_SECCOMP_LOCALHOST, ref};
        return 0;
    }
    default:
        return ck_err_set(err, CK_E_INVALID, 0, "seccomp: profile_type %d is not a profile type",
                          (int)profile->profile_type);
    }
}

static int apparmor_choice(const Runtime__V1__SecurityProfile *profile, const char *field, ck_apparmor_choice *out,
                           ck_err *err)
{
    switch (profile->profile_type) {
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault:
        *out = (ck_apparmor_choice){CK_APPARMOR_RUNTIME_DEFAULT, NULL};
        return 0;
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined:
        *out = (ck_apparmor_choice){CK_APPARMOR_UNCONFINED, NULL};
        return 0;
    case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost:
        return ck_apparmor_localhost(field, profile->localhost_ref != NULL ? profile->localhost_ref : "", out, err);
    default:
        return ck_err_set(err, CK_E_INVALID, 0, "%s: profile_type %d is not a profile type", field,
                          (int)profile->profile_type);
    }
}

static bool selinux_labelled(const Runtime__V1__SELinuxOption *o)
{
    if (o == NULL)
        return false;
    const char *parts[] = {o->user, o->role, o->type, o->level};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (parts[i] != NULL && parts[i][0] != '\0')
            return true;
    return false;
}

bool ck_cri_container_selinux_labelled(const Runtime__V1__LinuxContainerSecurityContext *sc)
{
    return sc != NULL && selinux_labelled(sc->selinux_options);
}

bool ck_cri_pod_selinux_labelled(const Runtime__V1__LinuxSandboxSecurityContext *sc)
{
    return sc != NULL && selinux_labelled(sc->selinux_options);
}

int ck_cri_pod_apparmor(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_apparmor_choice *out, ck_err *err)
{
    *out = (ck_apparmor_choice){CK_APPARMOR_RUNTIME_DEFAULT, NULL};
    if (sc == NULL || sc->apparmor == NULL)
        return 0;
    return apparmor_choice(sc->apparmor, "linux.security_context.apparmor", out, err);
}

/* The deprecated fields are still read, for clients older than `seccomp`
 * and `apparmor`. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
int ck_cri_container_seccomp(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_seccomp_choice *out, ck_err *err)
{
    *out = (ck_seccomp_choice){CK_SECCOMP_UNCONFINED, NULL};
    if (sc == NULL)
        return 0;
    return seccomp_choice(sc->seccomp, sc->seccomp_profile_path, "security_context.seccomp_profile_path", out, err);
}

int ck_cri_container_apparmor(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_apparmor_choice *out,
                              ck_err *err)
{
    *out = (ck_apparmor_choice){CK_APPARMOR_RUNTIME_DEFAULT, NULL};
    if (sc == NULL)
        return 0;
    if (sc->apparmor != NULL)
        return apparmor_choice(sc->apparmor, "security_context.apparmor", out, err);
    return ck_apparmor_choice_parse("security_context.apparmor_profile",
                                    sc->apparmor_profile != NULL ? sc->apparmor_profile : "", out, err);
}

int ck_cri_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_seccomp_choice *out, ck_err *err)
{
    *out = (ck_seccomp_choice){CK_SECCOMP_UNCONFINED, NULL};
    if (sc == NULL)
        return 0;
    return seccomp_choice(sc->seccomp, sc->seccomp_profile_path, "linux.security_context.seccomp_profile_path", out,
                          err);
}
#pragma GCC diagnostic pop

const ck_id_map *ck_cri_id_maps(ck_call *call, Runtime__V1__IDMapping *const *in, size_t n)
{
    ck_id_map *m = ck_call_alloc(call, (n + 1) * sizeof(*m));
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        m[i] = (ck_id_map){in[i]->container_id, in[i]->host_id, in[i]->length};
    return m;
}

int ck_cri_userns(ck_call *call, const Runtime__V1__UserNamespace *u, ck_userns_req *out)
{
    *out = (ck_userns_req){.given = false, .mode = RUNTIME__V1__NAMESPACE_MODE__NODE};
    if (u == NULL)
        return 0;
    out->given = true;
    out->mode = (int)u->mode;
    out->uids = ck_cri_id_maps(call, u->uids, u->n_uids);
    out->gids = ck_cri_id_maps(call, u->gids, u->n_gids);
    out->n_uids = u->n_uids;
    out->n_gids = u->n_gids;
    return out->uids != NULL && out->gids != NULL ? 0 : -1;
}
