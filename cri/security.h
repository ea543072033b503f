/*
 * security: the CRI's security profile choices (SecurityProfile and the
 * deprecated *_profile_path strings, AppArmor, SELinux labels, user
 * namespace options) as the plain C the domains take, shared by
 * RunPodSandbox and CreateContainer.
 */
#ifndef CK_CRI_SECURITY_H
#define CK_CRI_SECURITY_H

#include "common/userns.h"
#include "cri/handlers.h"
#include "oci/lsm.h"
#include "oci/seccomp.h"

/* The seccomp choice of a security context (may be NULL): its seccomp
 * profile when set (an unset type is RuntimeDefault), else the deprecated
 * seccomp_profile_path; neither is unconfined, as the CRI defines it. */
int ck_cri_container_seccomp(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);
int ck_cri_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);

/* The AppArmor choice: the `apparmor` profile when set, else (containers)
 * the deprecated apparmor_profile string; neither is RuntimeDefault. */
int ck_cri_container_apparmor(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_apparmor_choice *out,
                              ck_err *err);
int ck_cri_pod_apparmor(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_apparmor_choice *out, ck_err *err);

/* Whether any part of the SELinux label (user, role, type, level) is given. */
bool ck_cri_container_selinux_labelled(const Runtime__V1__LinuxContainerSecurityContext *sc);
bool ck_cri_pod_selinux_labelled(const Runtime__V1__LinuxSandboxSecurityContext *sc);

/* userns_options (may be NULL: not given, NODE) as plain C; the mapping
 * arrays live in the call's arena. -1 when out of memory. */
int ck_cri_userns(ck_call *call, const Runtime__V1__UserNamespace *u, ck_userns_req *out);
/* IDMapping triples in plain C, allocated on the call; NULL when out of
 * memory. */
const ck_id_map *ck_cri_id_maps(ck_call *call, Runtime__V1__IDMapping *const *in, size_t n);

#endif
