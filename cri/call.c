/*
 * call: the gRPC batches of one call, driven synchronously on the worker
 * thread that handles it. Each call has a pluck completion queue of its own,
 * so a worker waits for its own batches without seeing anybody else's.
 *
 * Order of operations: RECV_CLOSE_ON_SERVER first (it completes when the
 * client cancels, and after we send the status otherwise), then for a stream
 * SEND_INITIAL_METADATA with the first message, SEND_MESSAGE per message, and
 * finally SEND_STATUS_FROM_SERVER, with any response message and the initial
 * metadata if not sent yet, in one batch.
 */
#include "cri/call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include "cri/server.h"
#include "cri/status.h"

static void *arena_pb_alloc(void *data, size_t size)
{
    return ck_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
    /* Released with the arena when the call ends. */
    (void)data;
    (void)ptr;
}

void ck_call_init(ck_call *call, ck_cri_server *server, grpc_call *grpc, grpc_completion_queue *cq,
                  gpr_timespec deadline)
{
    memset(call, 0, sizeof(*call));
    call->server = server;
    call->grpc = grpc;
    call->cq = cq;
    call->deadline = deadline;
    call->arena = (ck_arena)CK_ARENA_INIT;
    call->allocator.alloc = arena_pb_alloc;
    call->allocator.free = arena_pb_free;
    call->allocator.allocator_data = &call->arena;
}

void ck_call_set_object(ck_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->object, sizeof(call->object), fmt, ap);
    va_end(ap);
}

void *ck_call_alloc(ck_call *call, size_t size)
{
    return ck_arena_alloc(&call->arena, size);
}

void ck_call_scratch_begin(ck_call *call)
{
    call->kept = call->arena;
    call->arena = (ck_arena)CK_ARENA_INIT;
    call->scratch = true;
}

void ck_call_scratch_end(ck_call *call)
{
    if (!call->scratch)
        return;
    ck_arena_reset(&call->arena);
    call->arena = call->kept;
    call->scratch = false;
}

char *ck_call_strdup(ck_call *call, const char *s)
{
    return ck_arena_strdup(&call->arena, s);
}

char *ck_call_printf(ck_call *call, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    if ((size_t)n < sizeof(buf))
        return ck_arena_strdup(&call->arena, buf);
    char *out = ck_arena_alloc(&call->arena, (size_t)n + 1);
    if (out == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

static grpc_call_error start_batch(ck_call *call, const grpc_op *ops, size_t n, void *tag)
{
    return grpc_call_start_batch(call->grpc, ops, n, tag, NULL);
}

/* Waits for tag on the call's queue until deadline; true if it completed
 * (success or not), false on timeout. */
static bool wait_tag(ck_call *call, void *tag, gpr_timespec deadline, bool *success)
{
    grpc_event ev = grpc_completion_queue_pluck(call->cq, tag, deadline, NULL);
    if (ev.type != GRPC_OP_COMPLETE)
        return false;
    if (success != NULL)
        *success = ev.success != 0;
    return true;
}

int ck_call_start(ck_call *call, ck_err *err)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &call->client_cancelled;
    grpc_call_error rc = start_batch(call, &op, 1, &call->close_tag);
    if (rc != GRPC_CALL_OK)
        return ck_err_set(err, CK_E_INTERNAL, 0, "start call %s: grpc error %d", call->method, rc);
    return 0;
}

ProtobufCMessage *ck_call_decode(ck_call *call, const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *payload,
                                 ck_err *err)
{
    if (payload == NULL) {
        ck_err_set(err, CK_E_INVALID, 0, "%s: the request carries no message", call->name);
        return NULL;
    }
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, payload)) {
        ck_err_set(err, CK_E_INVALID, 0, "%s: the request message cannot be read", call->name);
        return NULL;
    }
    grpc_slice bytes = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(desc, &call->allocator, GRPC_SLICE_LENGTH(bytes), GRPC_SLICE_START_PTR(bytes));
    size_t len = GRPC_SLICE_LENGTH(bytes);
    grpc_slice_unref(bytes);
    if (msg == NULL)
        ck_err_set(err, CK_E_INVALID, 0, "%s: the request (%zu bytes) is not a valid %s message", call->name, len,
                   desc->name);
    return msg;
}

grpc_slice ck_call_pack(const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(size);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    return slice;
}

static grpc_byte_buffer *encode(const ProtobufCMessage *msg)
{
    grpc_slice slice = ck_call_pack(msg);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

void ck_call_reply_packed(ck_call *call, grpc_slice bytes)
{
    if (call->has_packed)
        grpc_slice_unref(call->packed);
    call->packed = grpc_slice_ref(bytes);
    call->has_packed = true;
}

struct ck_packed_answer *ck_call_packed_answer(ck_call *call, int kind)
{
    return call->server != NULL ? ck_cri_server_packed_answer(call->server, kind) : NULL;
}

bool ck_call_done(ck_call *call)
{
    if (call->closed)
        return true;
    if (ck_cri_server_stopping(call->server))
        return true;
    if (gpr_time_cmp(gpr_now(call->deadline.clock_type), call->deadline) >= 0)
        return true;
    if (wait_tag(call, &call->close_tag, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL))
        call->closed = true;
    return call->closed;
}

static bool call_done(void *arg)
{
    return ck_call_done(arg);
}

ck_cancel ck_call_cancel(ck_call *call)
{
    return (ck_cancel){.done = call_done, .arg = call};
}

bool ck_call_wait_done(ck_call *call, int timeout_ms)
{
    if (ck_call_done(call))
        return true;
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    if (wait_tag(call, &call->close_tag, until, NULL))
        call->closed = true;
    return ck_call_done(call);
}

int ck_call_send(ck_call *call, const ProtobufCMessage *msg, ck_err *err)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!call->sent_initial_metadata) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->sent_initial_metadata = true;
    }
    grpc_byte_buffer *bb = encode(msg);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    grpc_call_error rc = start_batch(call, ops, n, &call->send_tag);
    if (rc != GRPC_CALL_OK) {
        grpc_byte_buffer_destroy(bb);
        return ck_err_set(err, CK_E_INTERNAL, 0, "%s: send message: grpc error %d", call->name, rc);
    }
    /* A reader that stops reading holds us here (flow control); check every
     * second whether it is gone, and cancel so the send completes. */
    bool ok = false;
    for (;;) {
        gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(1, GPR_TIMESPAN));
        if (wait_tag(call, &call->send_tag, until, &ok))
            break;
        if (ck_call_done(call))
            grpc_call_cancel(call->grpc, NULL);
    }
    grpc_byte_buffer_destroy(bb);
    if (!ok)
        return ck_err_set(err, CK_E_CANCELLED, 0, "%s: the client went away", call->name);
    return 0;
}

void ck_call_finish(ck_call *call, const ProtobufCMessage *response, const ck_err *err)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    grpc_status_code code = err != NULL ? ck_status_from_errkind(err->kind) : GRPC_STATUS_OK;
    /* A handler gives up the same way whether the client left or its
     * deadline passed; the client is told which (critest checks that a
     * pull past its deadline answers DEADLINE_EXCEEDED). */
    if (code == GRPC_STATUS_CANCELLED && gpr_time_cmp(gpr_now(call->deadline.clock_type), call->deadline) >= 0)
        code = GRPC_STATUS_DEADLINE_EXCEEDED;

    if (!call->sent_initial_metadata) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        call->sent_initial_metadata = true;
    }
    grpc_byte_buffer *bb = NULL;
    if (code == GRPC_STATUS_OK && response != NULL)
        bb = encode(response);
    else if (code == GRPC_STATUS_OK && call->has_packed)
        bb = grpc_raw_byte_buffer_create(&call->packed, 1);
    if (bb != NULL) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    grpc_slice details = grpc_slice_from_copied_string(code == GRPC_STATUS_OK ? "" : err->msg);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = &details;

    ck_cri_server_observe_call(call->server, call, code);
    if (start_batch(call, ops, n, &call->send_tag) == GRPC_CALL_OK)
        wait_tag(call, &call->send_tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    grpc_slice_unref(details);
    if (bb != NULL)
        grpc_byte_buffer_destroy(bb);
}

void ck_call_release(ck_call *call)
{
    /* After the status went out the close op completes promptly. */
    if (!call->closed)
        wait_tag(call, &call->close_tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    call->closed = true;
    if (call->grpc != NULL)
        grpc_call_unref(call->grpc);
    call->grpc = NULL;
    if (call->has_packed)
        grpc_slice_unref(call->packed);
    call->has_packed = false;
    ck_call_scratch_end(call);
    ck_arena_reset(&call->arena);
}

int ck_call_send_batches(ck_call *call, size_t n, ck_send_batch_fn send_batch, void *arg, ck_err *err)
{
    for (size_t from = 0; from < n; from += CK_STREAM_BATCH) {
        size_t count = n - from < CK_STREAM_BATCH ? n - from : CK_STREAM_BATCH;
        if (send_batch(call, arg, from, count, err) < 0)
            return -1;
    }
    return 0;
}
