#include "cri/status.h"

grpc_status_code ck_status_from_errkind(ck_errkind kind)
{
    switch (kind) {
    case CK_E_NONE: return GRPC_STATUS_OK;
    case CK_E_INVALID: return GRPC_STATUS_INVALID_ARGUMENT;
    case CK_E_NOT_FOUND: return GRPC_STATUS_NOT_FOUND;
    case CK_E_EXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case CK_E_PRECONDITION: return GRPC_STATUS_FAILED_PRECONDITION;
    case CK_E_UNAVAILABLE: return GRPC_STATUS_UNAVAILABLE;
    case CK_E_INTERNAL: return GRPC_STATUS_INTERNAL;
    case CK_E_UNIMPLEMENTED: return GRPC_STATUS_UNIMPLEMENTED;
    case CK_E_CANCELLED: return GRPC_STATUS_CANCELLED;
    case CK_E_DEADLINE: return GRPC_STATUS_DEADLINE_EXCEEDED;
    case CK_E_EXHAUSTED: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case CK_E_PERMISSION: return GRPC_STATUS_PERMISSION_DENIED;
    }
    /* A kind added without a mapping is our bug, never the caller's. */
    return GRPC_STATUS_INTERNAL;
}

const char *ck_status_name(grpc_status_code code)
{
    switch (code) {
    case GRPC_STATUS_OK: return "OK";
    case GRPC_STATUS_CANCELLED: return "CANCELLED";
    case GRPC_STATUS_UNKNOWN: return "UNKNOWN";
    case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_NOT_FOUND: return "NOT_FOUND";
    case GRPC_STATUS_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case GRPC_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case GRPC_STATUS_ABORTED: return "ABORTED";
    case GRPC_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case GRPC_STATUS_INTERNAL: return "INTERNAL";
    case GRPC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case GRPC_STATUS_DATA_LOSS: return "DATA_LOSS";
    case GRPC_STATUS_UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
    }
}
