/*
 * fuzz_cri_request: every CRI request as it arrives off the wire, and our
 * validation of it.
 *
 * The first input byte picks the method (modulo the number of methods in the
 * table cri/methods.c builds from the proto, so all 41 RPCs of both services
 * are reached, and new ones as the proto grows); the rest is the message,
 * handed to ck_call_decode in a gRPC byte buffer as the server hands it,
 * decoded into a call's arena with the call's allocator. When the method's
 * handler is in `validated` below, it then runs on a call without a
 * transport, against services that hold nothing but memory, and its
 * response is encoded as the server would.
 *
 * Only handlers that validate and answer from memory may be listed: a
 * handler that acts (starts processes, mounts, writes files, talks to a
 * registry) gets its request check split into its own function, and that
 * function is what gets listed, so fuzzing never executes anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "common/log.h"
#include "config/config.h"
#include "cri/handlers.h"
#include "cri/methods.h"
#include "cri/services.h"
#include "netcni/netcni.h"

static const struct {
    const char *name;
    ck_unary_handler check;
} validated[] = {
    {"Version", ck_handle_version},
    {"RuntimeConfig", ck_handle_runtime_config},
    {"UpdateRuntimeConfig", ck_handle_update_runtime_config}, /* pod CIDR validation, kept in memory */
};

static const ck_method *methods;
static size_t n_methods;
static ck_services services;

static ck_unary_handler validation_of(const ck_method *m)
{
    for (size_t i = 0; i < sizeof(validated) / sizeof(validated[0]); i++)
        if (strcmp(validated[i].name, m->name) == 0)
            return validated[i].check;
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const bin_dirs[] = {"/nonexistent/cni/bin"};
    static ck_config *config;
    static ck_cni *cni;
    ck_err err;
    ck_err_clear(&err);
    ck_log_set_level(CK_LOG_ERROR);
    if (ck_config_defaults(&config, &err) < 0 || ck_cni_new("/nonexistent/cni/net.d", bin_dirs, 1, &cni, &err) < 0)
        abort();
    services.config = config;
    services.cni = cni;
    methods = ck_methods(&n_methods);
    return 0;
}

static void run_check(ck_call *call, const ck_method *m, const ProtobufCMessage *req)
{
    ck_unary_handler check = validation_of(m);
    if (check == NULL)
        return;
    ck_err err;
    ck_err_clear(&err);
    ProtobufCMessage *resp = NULL;
    if (check(call, req, &resp, &err) < 0) {
        if (err.kind == CK_E_NONE || err.msg[0] == '\0')
            abort(); /* a failure must say what and why */
        return;
    }
    if (resp == NULL || resp->descriptor != m->output)
        abort();
    size_t size = protobuf_c_message_get_packed_size(resp);
    uint8_t *out = malloc(size > 0 ? size : 1);
    if (out == NULL || protobuf_c_message_pack(resp, out) != size)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || n_methods == 0)
        return 0;
    const ck_method *m = &methods[data[0] % n_methods];
    ck_call call;
    ck_call_init(&call, NULL, NULL, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    call.method = m->path;
    call.name = m->name;
    call.svc = &services;
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data + 1, size - 1);
    grpc_byte_buffer *payload = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    ck_err err;
    ck_err_clear(&err);
    ProtobufCMessage *req = ck_call_decode(&call, m->input, payload, &err);
    grpc_byte_buffer_destroy(payload);
    if (req != NULL)
        run_check(&call, m, req);
    else if (err.kind != CK_E_INVALID)
        abort(); /* undecodable bytes are the client's fault, said as such */
    ck_arena_reset(&call.arena);
    return 0;
}
