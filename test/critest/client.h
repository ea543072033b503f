/*
 * client: a CRI client on gRPC's C core and the same generated code as the
 * daemon, used by the conformance suite to talk to a real daemon over its
 * socket, as the kubelet does.
 */
#ifndef CK_CRITEST_CLIENT_H
#define CK_CRITEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "cri/api.pb-c.h"

typedef struct crit_client crit_client;

typedef struct crit_result {
    grpc_status_code code;
    char details[1024];
    ProtobufCMessage *response; /* freed by crit_result_clear */
} crit_result;

crit_client *crit_connect(const char *socket_path);
void crit_close(crit_client *c);

/* One unary call; returns the status code and, on OK, the decoded response. */
grpc_status_code crit_call(crit_client *c, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, crit_result *out);
/* The same with raw request bytes (for malformed input). */
grpc_status_code crit_call_raw(crit_client *c, const char *method, const void *bytes, size_t len,
                               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, crit_result *out);
void crit_result_clear(crit_result *r);

/* Server streams. */
typedef struct crit_stream crit_stream;
crit_stream *crit_stream_open(crit_client *c, const char *method, const ProtobufCMessage *req, int timeout_ms);
/* Waits up to timeout_ms for the next message. Returns 1 with *msg (free with
 * protobuf_c_message_free_unpacked), 0 on timeout, -1 when the stream ended. */
int crit_stream_next(crit_stream *s, const ProtobufCMessageDescriptor *desc, int timeout_ms, ProtobufCMessage **msg);
void crit_stream_cancel(crit_stream *s);
/* Waits for the final status; returns its code. */
grpc_status_code crit_stream_finish(crit_stream *s, int timeout_ms, char *details, size_t size);
void crit_stream_free(crit_stream *s);

#define RUNTIME(m) "/runtime.v1.RuntimeService/" m
#define IMAGE(m) "/runtime.v1.ImageService/" m

#endif
