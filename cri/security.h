/*
 * security: the CRI's security profile choices (SecurityProfile and the
 * deprecated *_profile_path strings) as the plain C the domains take,
 * shared by RunPodSandbox and CreateContainer.
 */
#ifndef CK_CRI_SECURITY_H
#define CK_CRI_SECURITY_H

#include "cri/handlers.h"
#include "oci/seccomp.h"

/* The seccomp choice of a security context (may be NULL): its seccomp
 * profile when set (an unset type is RuntimeDefault), else the deprecated
 * seccomp_profile_path; neither is unconfined, as the CRI defines it. */
int ck_cri_container_seccomp(const Runtime__V1__LinuxContainerSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);
int ck_cri_pod_seccomp(const Runtime__V1__LinuxSandboxSecurityContext *sc, ck_seccomp_choice *out, ck_err *err);

#endif
