/*
 * call: one CRI call as a handler sees it. The server decodes the request
 * into the call's arena, hands it to the method's handler, and encodes what
 * the handler returns; everything a handler allocates for its answer comes
 * from the same arena (ck_call_alloc, ck_call_strdup, the call's protobuf
 * allocator) and is released in one go when the call ends. Handlers may also
 * point response fields at static strings: nothing in a response is freed
 * field by field.
 *
 * A handler runs on its own worker thread and may block (a pull, a stop with
 * a timeout); it learns that its caller went away, the deadline passed or the
 * daemon is shutting down from ck_call_done.
 */
#ifndef CK_CRI_CALL_H
#define CK_CRI_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "common/arena.h"
#include "common/cancel.h"
#include "common/err.h"

typedef struct ck_services ck_services;
typedef struct ck_cri_server ck_cri_server;

typedef struct ck_call {
    uint64_t id;
    const char *method;     /* "/runtime.v1.RuntimeService/Version" */
    const char *name;       /* "Version" */
    const ck_services *svc; /* the domains the handlers call */
    bool server_method;     /* a method of our services (not an unknown one) */

    /* What the handler works on ("pod 3f2a..."), for SIGUSR1 dumps and logs;
     * set with ck_call_set_object. */
    char object[160];
    struct timespec started;                   /* CLOCK_MONOTONIC */
    struct ck_call *active_prev, *active_next; /* the server's list of calls in flight */

    /* Transport, private to call.c and server.c. */
    ck_cri_server *server;
    grpc_call *grpc;
    grpc_completion_queue *cq; /* pluck queue bound to this call alone */
    gpr_timespec deadline;
    ck_arena arena;
    ck_arena kept; /* the call's own arena while a scratch one is in use */
    bool scratch;
    ProtobufCAllocator allocator;
    int client_cancelled; /* set by RECV_CLOSE_ON_SERVER */
    bool closed;          /* RECV_CLOSE_ON_SERVER has completed */
    bool sent_initial_metadata;
    bool observed;   /* counted in the metrics (ck_cri_server_observe_call) */
    bool has_packed; /* packed holds the answer (ck_call_reply_packed) */
    grpc_slice packed;
    char close_tag, send_tag; /* addresses used as completion tags */
} ck_call;

void *ck_call_alloc(ck_call *call, size_t size);
/* Names the object the call works on, for diagnostics (SIGUSR1, logs). */
void ck_call_set_object(ck_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ck_call_strdup(ck_call *call, const char *s);
/* For a stream that lives long: what is allocated between begin and end
 * (one message) is freed at end, so the call's memory does not grow with
 * every message. Not nested. */
void ck_call_scratch_begin(ck_call *call);
void ck_call_scratch_end(ck_call *call);
char *ck_call_printf(ck_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Unary handlers: the answer as bytes already packed (a serialized
 * response message of the method's type), sent instead of a response
 * message; the handler then returns 0 leaving *resp NULL. The call takes a
 * reference of its own, released with the call. */
void ck_call_reply_packed(ck_call *call, grpc_slice bytes);
/* msg packed into a new slice (unref it). */
grpc_slice ck_call_pack(const ProtobufCMessage *msg);

/* The server's kept answer of a kind (cri/packed_answer.h), or NULL when
 * the call has no server (unit tests). */
struct ck_packed_answer;
struct ck_packed_answer *ck_call_packed_answer(ck_call *call, int kind);

/* True once the client cancelled, the deadline passed or the server is
 * shutting down: a long handler stops and returns CK_E_CANCELLED. */
bool ck_call_done(ck_call *call);

/* ck_call_done as a domain sees it (common/cancel.h). */
ck_cancel ck_call_cancel(ck_call *call);

/* Streams only: waits up to timeout_ms for the call to end. Returns true if it ended. */
bool ck_call_wait_done(ck_call *call, int timeout_ms);

/* Streams only: sends one response message and waits until the transport
 * has taken it. Fails with CK_E_CANCELLED when the client is gone. */
int ck_call_send(ck_call *call, const ProtobufCMessage *msg, ck_err *err);

/* Items per message of the Stream* calls, so that thousands of pods,
 * containers or images never make one message near the 16 MiB limit. */
enum { CK_STREAM_BATCH = 256 };

/* Builds and sends (ck_call_send) the message holding items [from,
 * from + count) of a Stream* answer. */
typedef int (*ck_send_batch_fn)(ck_call *call, void *arg, size_t from, size_t count, ck_err *err);

/* Streams only: sends n items as messages of at most CK_STREAM_BATCH each,
 * in order; an empty list sends no message (the call ends OK). */
int ck_call_send_batches(ck_call *call, size_t n, ck_send_batch_fn send_batch, void *arg, ck_err *err);

/* Transport side, used by server.c. */
void ck_call_init(ck_call *call, ck_cri_server *server, grpc_call *grpc, grpc_completion_queue *cq,
                  gpr_timespec deadline);
int ck_call_start(ck_call *call, ck_err *err);
ProtobufCMessage *ck_call_decode(ck_call *call, const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *payload,
                                 ck_err *err);
/* Sends the response (may be NULL: then the packed answer, if any) and the
 * status from err (NULL or CK_E_NONE = OK). */
void ck_call_finish(ck_call *call, const ProtobufCMessage *response, const ck_err *err);
void ck_call_release(ck_call *call);

#endif
