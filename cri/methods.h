/*
 * methods: the table of every RPC of runtime.v1.RuntimeService and
 * runtime.v1.ImageService, built from the service descriptors protoc-c
 * generates from cri/api.proto, with the handler of each method that cricket
 * implements. A method without a handler answers UNIMPLEMENTED naming it.
 */
#ifndef CK_CRI_METHODS_H
#define CK_CRI_METHODS_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "cri/call.h"

typedef int (*ck_unary_handler)(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
typedef int (*ck_stream_handler)(ck_call *call, const ProtobufCMessage *req, ck_err *err);

typedef struct ck_method {
    char path[128];   /* "/runtime.v1.RuntimeService/Version" */
    const char *name; /* "Version" */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    bool server_streaming;
    ck_unary_handler unary;   /* NULL when not implemented (or streaming) */
    ck_stream_handler stream; /* NULL when not implemented (or unary) */
} ck_method;

/* Every method of both services; the array is static and lives forever. */
const ck_method *ck_methods(size_t *count);

#endif
