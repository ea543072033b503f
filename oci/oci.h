/*
 * oci: OCI runtime handlers (runc, crun, ...): whether a configured
 * handler's binary can be run, which Status reports as RuntimeReady. The
 * runtime spec is in spec.h, runtime invocation in runtime.h.
 */
#ifndef CK_OCI_OCI_H
#define CK_OCI_OCI_H

#include "common/err.h"
#include "config/config.h"

/* 0 when the handler's binary exists and is executable; else why not
 * (CK_E_UNAVAILABLE). */
int ck_oci_handler_check(const ck_runtime_handler *handler, ck_err *err);

#endif
