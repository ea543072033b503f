/*
 * status: the one place where a domain error becomes a gRPC status code.
 * Handlers never choose codes themselves; they return a ck_err whose kind
 * says what went wrong, and the call wrapper maps it here.
 */
#ifndef CK_CRI_STATUS_H
#define CK_CRI_STATUS_H

#include <grpc/status.h>

#include "common/err.h"

grpc_status_code ck_status_from_errkind(ck_errkind kind);

/* "OK", "INVALID_ARGUMENT", ... as grpc spells them, for logs. */
const char *ck_status_name(grpc_status_code code);

#endif
