/*
 * client: each call uses its own pluck completion queue, so calls from many
 * threads never see each other's events.
 */
#include "test/critest/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

struct crit_client {
    grpc_channel *channel;
};

crit_client *crit_connect(const char *socket_path)
{
    crit_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    char target[4200];
    snprintf(target, sizeof(target), "unix:%s", socket_path);
    grpc_arg args[1];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = 64 * 1024 * 1024;
    grpc_channel_args chargs = {.num_args = 1, .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    return c;
}

void crit_close(crit_client *c)
{
    if (c == NULL)
        return;
    grpc_channel_destroy(c->channel);
    free(c);
}

static gpr_timespec deadline_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_byte_buffer *bytes_buffer(const void *bytes, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer(bytes, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = malloc(size ? size : 1);
    protobuf_c_message_pack(msg, buf);
    grpc_byte_buffer *bb = bytes_buffer(buf, size);
    free(buf);
    return bb;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, bb);
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

static void destroy_cq(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
}

static grpc_status_code unary(crit_client *c, const char *method, grpc_byte_buffer *req,
                              const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, crit_result *out)
{
    memset(out, 0, sizeof(*out));
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method_slice, NULL,
                                               deadline_ms(timeout_ms), NULL);
    grpc_slice_unref(method_slice);

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details;
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    if (grpc_call_start_batch(call, ops, 6, ops, NULL) != GRPC_CALL_OK) {
        out->code = GRPC_STATUS_INTERNAL;
    } else {
        grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        out->code = status;
        snprintf(out->details, sizeof(out->details), "%.*s", (int)GRPC_SLICE_LENGTH(details),
                 (const char *)GRPC_SLICE_START_PTR(details));
        grpc_slice_unref(details);
        if (resp != NULL && status == GRPC_STATUS_OK && resp_desc != NULL)
            out->response = unpack(resp_desc, resp);
    }
    if (resp != NULL)
        grpc_byte_buffer_destroy(resp);
    grpc_byte_buffer_destroy(req);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_call_unref(call);
    destroy_cq(cq);
    return out->code;
}

grpc_status_code crit_call(crit_client *c, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, crit_result *out)
{
    return unary(c, method, pack(req), resp_desc, timeout_ms, out);
}

grpc_status_code crit_call_raw(crit_client *c, const char *method, const void *bytes, size_t len,
                               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, crit_result *out)
{
    return unary(c, method, bytes_buffer(bytes, len), resp_desc, timeout_ms, out);
}

void crit_result_clear(crit_result *r)
{
    if (r->response != NULL)
        protobuf_c_message_free_unpacked(r->response, NULL);
    r->response = NULL;
}

struct crit_stream {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    bool recv_pending, ended, status_started, md_requested;
    grpc_byte_buffer *recv;
    char status_tag, recv_tag, send_tag;
};

crit_stream *crit_stream_open(crit_client *c, const char *method, const ProtobufCMessage *req, int timeout_ms)
{
    crit_stream *s = calloc(1, sizeof(*s));
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    s->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, method_slice, NULL,
                                       deadline_ms(timeout_ms), NULL);
    grpc_slice_unref(method_slice);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);

    grpc_byte_buffer *bb = pack(req);
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    grpc_call_start_batch(s->call, ops, 3, &s->send_tag, NULL);
    grpc_completion_queue_pluck(s->cq, &s->send_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_byte_buffer_destroy(bb);

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    ops[0].data.recv_status_on_client.status = &s->status;
    ops[0].data.recv_status_on_client.status_details = &s->details;
    grpc_call_start_batch(s->call, ops, 1, &s->status_tag, NULL);
    s->status_started = true;
    return s;
}

static void start_recv(crit_stream *s, bool first)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    size_t n = 0;
    if (first) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &s->recv;
    grpc_call_start_batch(s->call, ops, n, &s->recv_tag, NULL);
    s->recv_pending = true;
}

int crit_stream_next(crit_stream *s, const ProtobufCMessageDescriptor *desc, int timeout_ms, ProtobufCMessage **msg)
{
    if (s->ended)
        return -1;
    if (!s->recv_pending) {
        start_recv(s, !s->md_requested);
        s->md_requested = true;
    }
    grpc_event ev = grpc_completion_queue_pluck(s->cq, &s->recv_tag, deadline_ms(timeout_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT)
        return 0;
    s->recv_pending = false;
    if (!ev.success || s->recv == NULL) {
        s->ended = true;
        return -1;
    }
    *msg = unpack(desc, s->recv);
    grpc_byte_buffer_destroy(s->recv);
    s->recv = NULL;
    return 1;
}

void crit_stream_cancel(crit_stream *s)
{
    grpc_call_cancel(s->call, NULL);
}

grpc_status_code crit_stream_finish(crit_stream *s, int timeout_ms, char *details, size_t size)
{
    if (s->recv_pending) {
        grpc_completion_queue_pluck(s->cq, &s->recv_tag, deadline_ms(timeout_ms), NULL);
        s->recv_pending = false;
        if (s->recv != NULL)
            grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
    }
    grpc_event ev = grpc_completion_queue_pluck(s->cq, &s->status_tag, deadline_ms(timeout_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT)
        return GRPC_STATUS_DEADLINE_EXCEEDED;
    s->status_started = false;
    if (details != NULL)
        snprintf(details, size, "%.*s", (int)GRPC_SLICE_LENGTH(s->details),
                 (const char *)GRPC_SLICE_START_PTR(s->details));
    grpc_slice_unref(s->details);
    return s->status;
}

void crit_stream_free(crit_stream *s)
{
    if (s == NULL)
        return;
    if (s->status_started) {
        grpc_call_cancel(s->call, NULL);
        crit_stream_finish(s, 5000, NULL, 0);
    }
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_call_unref(s->call);
    destroy_cq(s->cq);
    free(s);
}
