/*
 * probe: can this runtime handler run a container on this host? Runs a
 * throw-away container (the host's /usr, /bin, /lib read-only, `true` as its
 * process) with the handler's own binary, under a private --root, and reports
 * the runtime's own words when it fails. Used by `cricket check`.
 */
#ifndef CK_OCI_PROBE_H
#define CK_OCI_PROBE_H

#include "common/err.h"
#include "config/config.h"

/* 0 when a container ran and exited 0; otherwise CK_E_UNAVAILABLE with the
 * runtime's first error line. work_dir is a private empty directory the
 * probe may use (and leaves empty). */
int ck_oci_probe_run(const ck_runtime_handler *handler, const char *work_dir, ck_err *err);

/* Writes such a bundle at bundle (a new directory) whose process runs args
 * (looked up in the host's PATH), in a cgroup named cgroup_name: what the
 * probe runs, and what tests of the monitor run. */
int ck_oci_probe_bundle(const char *bundle, const char *cgroup_name, const char *const *args, ck_err *err);

#endif
