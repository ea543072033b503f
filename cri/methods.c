/*
 * methods: the table is built once from the protoc-c service descriptors, so
 * every RPC of cri/api.proto is registered whether or not cricket implements
 * it yet, and a new RPC in the proto cannot be forgotten. protoc-c does not
 * record which RPCs are server-streaming; the list below does, and a unit
 * test checks it against the proto.
 */
#include "cri/methods.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cri/handlers.h"

typedef struct handler_entry {
    const char *name;
    ck_unary_handler unary;
    ck_stream_handler stream;
} handler_entry;

static const handler_entry implemented[] = {
    {"Version", ck_handle_version, NULL},
    {"Status", ck_handle_status, NULL},
    {"RuntimeConfig", ck_handle_runtime_config, NULL},
    {"UpdateRuntimeConfig", ck_handle_update_runtime_config, NULL},
    {"GetContainerEvents", NULL, ck_handle_get_container_events},
    {"ImageFsInfo", ck_handle_image_fs_info, NULL},
    {"RunPodSandbox", ck_handle_run_pod_sandbox, NULL},
    {"StopPodSandbox", ck_handle_stop_pod_sandbox, NULL},
    {"RemovePodSandbox", ck_handle_remove_pod_sandbox, NULL},
    {"PodSandboxStatus", ck_handle_pod_sandbox_status, NULL},
    {"ListPodSandbox", ck_handle_list_pod_sandbox, NULL},
    {"StreamPodSandboxes", NULL, ck_handle_stream_pod_sandboxes},
    {"PodSandboxStats", ck_handle_pod_sandbox_stats, NULL},
    {"ListPodSandboxStats", ck_handle_list_pod_sandbox_stats, NULL},
    {"StreamPodSandboxStats", NULL, ck_handle_stream_pod_sandbox_stats},
    {"UpdatePodSandboxResources", ck_handle_update_pod_sandbox_resources, NULL},
    {"CreateContainer", ck_handle_create_container, NULL},
    {"StartContainer", ck_handle_start_container, NULL},
    {"StopContainer", ck_handle_stop_container, NULL},
    {"RemoveContainer", ck_handle_remove_container, NULL},
    {"ContainerStatus", ck_handle_container_status, NULL},
    {"ListContainers", ck_handle_list_containers, NULL},
    {"StreamContainers", NULL, ck_handle_stream_containers},
    {"ReopenContainerLog", ck_handle_reopen_container_log, NULL},
    {"CheckpointContainer", ck_handle_checkpoint_container, NULL},
    {"ExecSync", ck_handle_exec_sync, NULL},
    {"Exec", ck_handle_exec, NULL},
    {"Attach", ck_handle_attach, NULL},
    {"PortForward", ck_handle_port_forward, NULL},
    {"UpdateContainerResources", ck_handle_update_container_resources, NULL},
    {"ContainerStats", ck_handle_container_stats, NULL},
    {"ListContainerStats", ck_handle_list_container_stats, NULL},
    {"StreamContainerStats", NULL, ck_handle_stream_container_stats},
    {"ListMetricDescriptors", ck_handle_list_metric_descriptors, NULL},
    {"ListPodSandboxMetrics", ck_handle_list_pod_sandbox_metrics, NULL},
    {"StreamPodSandboxMetrics", NULL, ck_handle_stream_pod_sandbox_metrics},
    {"PullImage", ck_handle_pull_image, NULL},
    {"ListImages", ck_handle_list_images, NULL},
    {"ImageStatus", ck_handle_image_status, NULL},
    {"RemoveImage", ck_handle_remove_image, NULL},
    {"StreamImages", NULL, ck_handle_stream_images},
};

static const char *const server_streaming[] = {
    "StreamPodSandboxes", "StreamContainers",        "StreamContainerStats", "StreamPodSandboxStats",
    "GetContainerEvents", "StreamPodSandboxMetrics", "StreamImages",
};

enum { MAX_METHODS = 64 };

static ck_method table[MAX_METHODS];
static size_t table_len;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static bool is_streaming(const char *name)
{
    for (size_t i = 0; i < sizeof(server_streaming) / sizeof(server_streaming[0]); i++)
        if (strcmp(server_streaming[i], name) == 0)
            return true;
    return false;
}

static void add_service(const ProtobufCServiceDescriptor *svc)
{
    for (unsigned i = 0; i < svc->n_methods && table_len < MAX_METHODS; i++) {
        const ProtobufCMethodDescriptor *md = &svc->methods[i];
        ck_method *m = &table[table_len++];
        snprintf(m->path, sizeof(m->path), "/%s/%s", svc->name, md->name);
        m->name = md->name;
        m->input = md->input;
        m->output = md->output;
        m->server_streaming = is_streaming(md->name);
        for (size_t h = 0; h < sizeof(implemented) / sizeof(implemented[0]); h++) {
            if (strcmp(implemented[h].name, md->name) == 0) {
                m->unary = m->server_streaming ? NULL : implemented[h].unary;
                m->stream = m->server_streaming ? implemented[h].stream : NULL;
            }
        }
    }
}

static void build_table(void)
{
    add_service(&runtime__v1__runtime_service__descriptor);
    add_service(&runtime__v1__image_service__descriptor);
}

const ck_method *ck_methods(size_t *count)
{
    pthread_once(&table_once, build_table);
    *count = table_len;
    return table;
}
