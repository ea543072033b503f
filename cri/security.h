/*
 * security: the CRI's security profile choices (SecurityProfile and the
 * deprecated *_profile_path strings) as the plain C the domains take,
 * shared by RunPodSandbox and CreateContainer.
 */
#ifndef CK_CRI_SECURITY_H
#define CK_CRI_SECURITY_H

#include "cri/handlers.h"
#include "common/userns.h"
#include "oci/seccomp.h"

/* The seccomp choice of a security context (may be NULL): its seccomp
 * profile when set (an unset type is RuntimeDefault), else the deprecated
 * seccomp_profile_path; neither is unconfined, as the CRI defines it. */
int ck_cri_container_seccomp(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);
int ck_cri_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);

/* userns_options (may be NULL: not given, NODE) as plain C; the mapping
 * arrays live in the call's arena. -1 when out of memory. */
int ck_cri_userns(ck_call *call, const Runtime__V1__UserNamespace *u, ck_userns_req *out);

#endif
