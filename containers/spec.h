/*
 * spec: the OCI runtime spec (config.json) of a workload container, built
 * from CreateContainer's request, the image's config and the pod it joins,
 * the way containerd's CRI plugin builds it (its behaviour is what the
 * kubelet and the conformance suite expect):
 *
 *   process   Docker's rules for entrypoint/cmd against the CRI's command and
 *             args; image env then CRI env (a key keeps its first position),
 *             PATH and HOSTNAME defaults; the user resolved in the rootfs.
 *   mounts    runc's defaults, the pod's /etc files and /dev/shm, the CRI's
 *             binds (symlinks resolved, propagation checked against the
 *             host's mount table), the image's VOLUMEs; parents before
 *             children.
 *   linux     the pod's namespaces joined by path, resources, devices and
 *             their cgroup rules, capabilities bounded by the daemon's own
 *             bounding set, masked and read-only paths.
 *
 * The config is checked first (ck_container_config_check, also callable on
 * its own before anything is made); nothing here starts a process. The only
 * things written on the host are config.json, missing bind sources (made as
 * directories, as containerd does) and the image volumes' directories; the
 * read-only clones that recursive read-only mounts bind are the caller's.
 */
#ifndef CK_CONTAINERS_SPEC_H
#define CK_CONTAINERS_SPEC_H

#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "containers/containers.h"
#include "images/images.h"
#include "oci/user.h"
#include "sandbox/sandbox.h"

/* What the host is like. Zero (NULL) fields are read from the host itself;
 * tests set them to make a host of their choosing. */
typedef struct ck_container_host {
    uint64_t cap_bounding;  /* the daemon's bounding set; 0 = CapBnd of /proc/self/status */
    int cgroup_v2;          /* 1 = pure cgroup v2, -1 = v1 or hybrid, 0 = detect */
    int swap_controller;    /* 1 = memory+swap limits work, -1 = they do not, 0 = detect */
    int hugetlb_controller; /* 1 = hugepage limits work, -1 = they do not, 0 = detect */
    const char *mountinfo;  /* NULL = /proc/self/mountinfo: propagation checks of bind sources */
    const char *dev_dir;    /* NULL = /dev: every device in it goes to a privileged container */
} ck_container_host;

typedef struct ck_container_spec_in {
    const char *id;                 /* container id */
    const ck_container_config *cfg; /* the request */
    const ck_sandbox_context *pod;  /* its pod (ready) */
    const ck_image *image;          /* the image config */
    const char *rootfs;             /* the mounted overlay (absolute) */
    const char *bundle;             /* where config.json goes */
    const char *volumes_dir;        /* per-container dirs for the image's VOLUMEs (created here) */
    /* A staged mount i (ck_container_mount_staged) binds
     * <readonly_trees_dir>/<i>, the clone of its host path the caller
     * attached there (readonly_trees.c). */
    const char *readonly_trees_dir;
    ck_cgroup_driver cgroup_driver;
    /* pid namespace TARGET: the target container's, /proc/<its init>/ns/pid
     * (the caller finds it); NULL or "" = refused as unsupported. */
    const char *target_pid_ns;
    ck_container_host host;
} ck_container_spec_in;

typedef struct ck_container_spec_out {
    ck_oci_user user;        /* uid, gid and every supplemental gid (image's + CRI's) */
    int stop_signal;         /* the CRI's, else the image's StopSignal, else SIGTERM */
    char cgroups_path[1024]; /* what linux.cgroupsPath says */
} ck_container_spec_out;

/* Checks the request before anything is made: INVALID_ARGUMENT naming the
 * field and the fault; UNIMPLEMENTED for what cricket cannot do yet
 * (image volumes). */
int ck_container_config_check(const ck_container_config *cfg, ck_err *err);

/* The checks that need its pod, also before anything is made: its
 * userns_options, privileged, and each mount's uid/gid mappings
 * (INVALID_ARGUMENT naming the field). */
int ck_container_check_in_pod(const ck_container_config *cfg, const ck_sandbox_context *pod, ck_err *err);

/* Whether mount m is bound from a staged clone: recursive read-only, or a
 * volume of a pod with its own user namespace (idmapped through it). */
bool ck_container_mount_staged(const ck_mount_req *m, const ck_sandbox_context *pod);

/* The pod's /etc files every container binds (dest in the container, the
 * pod's file, and the name of its idmapped clone under the staged dir when
 * the pod has its own user namespace); an empty source is none. */
typedef struct ck_pod_file {
    const char *dest, *source, *staged_name;
} ck_pod_file;
enum { CK_POD_FILES = 3 };
void ck_container_pod_files(const ck_sandbox_context *pod, ck_pod_file out[CK_POD_FILES]);

/* Writes <bundle>/config.json (atomically, via ck_oci_spec_write). */
int ck_container_spec_write(const ck_container_spec_in *in, ck_container_spec_out *out, ck_err *err);

/* Parses "SIGTERM", "TERM", "15", "SIGRTMIN+3" (any case); -1 if not a signal. */
int ck_signal_parse(const char *name);

/* UpdateContainerResources: the cpu, memory and unified parts of
 * linux.resources in <bundle>/config.json become r's (checked and filled
 * as at creation: swap = memory limit unless given), and file (size bytes)
 * names a JSON file holding the new resources alone, for the runtime's
 * `update -r`. */
int ck_container_update_spec(const char *bundle, const ck_container_resources *r, char *file, size_t size, ck_err *err);

#endif
