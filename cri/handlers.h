/*
 * handlers: one file per RPC (runtime_<rpc>.c, image_<rpc>.c). Each decodes
 * nothing itself: it gets the request already decoded, validates it, calls
 * the domain, and builds its answer in the call's arena.
 */
#ifndef CK_CRI_HANDLERS_H
#define CK_CRI_HANDLERS_H

#include "cri/api.pb-c.h"
#include "cri/call.h"
#include "cri/methods.h"

/* Allocates a response message of type T from the call's arena and runs its
 * protoc-c initializer. NULL when out of memory. */
#define CK_NEW(call, T, init) ((T *)ck_pb_new((call), sizeof(T), (void (*)(void *))(init)))

static inline void *ck_pb_new(ck_call *call, size_t size, void (*init)(void *))
{
    void *m = ck_call_alloc(call, size);
    if (m != NULL)
        init(m);
    return m;
}

/* A UInt64Value holding v, from the call's arena; NULL when out of memory. */
static inline Runtime__V1__UInt64Value *ck_pb_u64(ck_call *call, uint64_t v)
{
    Runtime__V1__UInt64Value *x = CK_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    if (x != NULL)
        x->value = v;
    return x;
}

int ck_handle_version(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_runtime_config(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_update_runtime_config(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_image_fs_info(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_pull_image(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_images(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_image_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_remove_image(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stream_images(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_get_container_events(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_run_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stop_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_remove_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_pod_sandbox_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_pod_sandbox(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stream_pod_sandboxes(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_pod_sandbox_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_pod_sandbox_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stream_pod_sandbox_stats(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_update_pod_sandbox_resources(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                           ck_err *err);

int ck_handle_create_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_start_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stop_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_remove_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_container_status(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_containers(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stream_containers(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_update_container_resources(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                         ck_err *err);
int ck_handle_exec_sync(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_exec(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_attach(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_port_forward(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_reopen_container_log(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_checkpoint_container(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_container_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_container_stats(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_stream_container_stats(ck_call *call, const ProtobufCMessage *req, ck_err *err);
int ck_handle_list_metric_descriptors(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp, ck_err *err);
int ck_handle_list_pod_sandbox_metrics(ck_call *call, const ProtobufCMessage *req, ProtobufCMessage **resp,
                                       ck_err *err);
int ck_handle_stream_pod_sandbox_metrics(ck_call *call, const ProtobufCMessage *req, ck_err *err);

#endif
