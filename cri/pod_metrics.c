/*
 * pod_metrics: what ListMetricDescriptors, ListPodSandboxMetrics and
 * StreamPodSandboxMetrics answer (each RPC in its own runtime_*.c file):
 * the cAdvisor-named metrics the kubelet serves on /metrics/cadvisor when
 * it takes pod and container stats from the runtime. One table below
 * describes every metric and says where its value comes from, so the
 * descriptors and the samples cannot disagree; only metrics cricket really
 * measures are described (containerd lists ~70 names, many never filled).
 *
 * Values are what the stats RPCs read (containers' cgroups, the pod's
 * network namespace through its pause process). A Metric carries a
 * UInt64Value, so the *_seconds_total counters are whole seconds, as CRI-O
 * sends them. Label values follow the descriptor's keys: id, name, image
 * (CRI-O's base keys); a pod's own samples name the pod and, for network
 * counters, the interface.
 */
#include "cri/pod_metrics.h"

#include <string.h>

#include "containers/containers.h"
#include "cri/pod_view.h"
#include "cri/services.h"

/* ---- the table ---- */

typedef enum metric_scope { SCOPE_CONTAINER, SCOPE_POD_NETWORK } metric_scope;

typedef struct metric_def {
    const char *name, *help;
    metric_scope scope;
    Runtime__V1__MetricType type;
} metric_def;

enum {
    M_CPU_USAGE,
    M_MEMORY_USAGE,
    M_MEMORY_WORKING_SET,
    M_MEMORY_RSS,
    M_MEMORY_SWAP,
    M_START_TIME,
    M_LAST_SEEN,
    M_RX_BYTES,
    M_TX_BYTES,
    M_RX_ERRORS,
    M_TX_ERRORS,
    M_COUNT
};

static const metric_def metrics[M_COUNT] = {
    [M_CPU_USAGE] = {"container_cpu_usage_seconds_total", "Cumulative CPU time consumed in seconds.", SCOPE_CONTAINER,
                     RUNTIME__V1__METRIC_TYPE__COUNTER},
    [M_MEMORY_USAGE] = {"container_memory_usage_bytes",
                        "Current memory usage in bytes, including all memory regardless of when it was accessed.",
                        SCOPE_CONTAINER, RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_MEMORY_WORKING_SET] = {"container_memory_working_set_bytes", "Current working set in bytes.", SCOPE_CONTAINER,
                              RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_MEMORY_RSS] = {"container_memory_rss", "Size of RSS in bytes.", SCOPE_CONTAINER,
                      RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_MEMORY_SWAP] = {"container_memory_swap", "Container swap usage in bytes.", SCOPE_CONTAINER,
                       RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_START_TIME] = {"container_start_time_seconds", "Start time of the container since unix epoch in seconds.",
                      SCOPE_CONTAINER, RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_LAST_SEEN] = {"container_last_seen", "Last time a container was seen by the exporter.", SCOPE_CONTAINER,
                     RUNTIME__V1__METRIC_TYPE__GAUGE},
    [M_RX_BYTES] = {"container_network_receive_bytes_total", "Cumulative count of bytes received.", SCOPE_POD_NETWORK,
                    RUNTIME__V1__METRIC_TYPE__COUNTER},
    [M_TX_BYTES] = {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.",
                    SCOPE_POD_NETWORK, RUNTIME__V1__METRIC_TYPE__COUNTER},
    [M_RX_ERRORS] = {"container_network_receive_errors_total",
                     "Cumulative count of errors encountered while receiving.", SCOPE_POD_NETWORK,
                     RUNTIME__V1__METRIC_TYPE__COUNTER},
    [M_TX_ERRORS] = {"container_network_transmit_errors_total",
                     "Cumulative count of errors encountered while transmitting.", SCOPE_POD_NETWORK,
                     RUNTIME__V1__METRIC_TYPE__COUNTER},
};

static char *container_keys[] = {"id", "name", "image"};
static char *network_keys[] = {"id", "name", "image", "interface"};

/* ---- descriptors ---- */

int ck_pod_metric_descriptors(ck_call *call, Runtime__V1__MetricDescriptor ***out, size_t *n_out, ck_err *err)
{
    Runtime__V1__MetricDescriptor *d = ck_call_alloc(call, M_COUNT * sizeof(*d));
    Runtime__V1__MetricDescriptor **list = ck_call_alloc(call, M_COUNT * sizeof(*list));
    if (d == NULL || list == NULL)
        return ck_err_oom(err, "metric descriptors");
    for (size_t i = 0; i < M_COUNT; i++) {
        runtime__v1__metric_descriptor__init(&d[i]);
        d[i].name = (char *)metrics[i].name;
        d[i].help = (char *)metrics[i].help;
        bool network = metrics[i].scope == SCOPE_POD_NETWORK;
        d[i].label_keys = network ? network_keys : container_keys;
        d[i].n_label_keys = network ? 4 : 3;
        list[i] = &d[i];
    }
    *out = list;
    *n_out = M_COUNT;
    return 0;
}

/* ---- samples ---- */

/* Room for the samples of one pod or container, appended with add(). */
typedef struct samples {
    ck_call *call;
    Runtime__V1__Metric **items;
    size_t n;
    int64_t timestamp_ns;
} samples;

static int add(samples *s, int which, uint64_t value, char **labels, size_t n_labels, ck_err *err)
{
    Runtime__V1__Metric *m = CK_NEW(s->call, Runtime__V1__Metric, runtime__v1__metric__init);
    Runtime__V1__UInt64Value *v = CK_NEW(s->call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    char **copy = ck_call_alloc(s->call, n_labels * sizeof(*copy));
    if (m == NULL || v == NULL || copy == NULL)
        return ck_err_oom(err, metrics[which].name);
    memcpy(copy, labels, n_labels * sizeof(*copy));
    v->value = value;
    m->name = (char *)metrics[which].name;
    m->timestamp = s->timestamp_ns;
    m->metric_type = metrics[which].type;
    m->label_values = copy;
    m->n_label_values = n_labels;
    m->value = v;
    s->items[s->n++] = m;
    return 0;
}

static int begin(samples *s, ck_call *call, int64_t timestamp_ns, ck_err *err)
{
    *s = (samples){.call = call, .timestamp_ns = timestamp_ns};
    s->items = ck_call_alloc(call, M_COUNT * sizeof(*s->items));
    return s->items == NULL ? ck_err_oom(err, "metrics") : 0;
}

enum { NS_PER_S = 1000000000 };

/* The samples of one container; a container that is not running has only
 * its times (nothing else is measured for it). */
static Runtime__V1__ContainerMetrics *container_samples(ck_call *call, const ck_container_stats *st, ck_err *err)
{
    Runtime__V1__ContainerMetrics *cm =
        CK_NEW(call, Runtime__V1__ContainerMetrics, runtime__v1__container_metrics__init);
    if (cm == NULL) {
        ck_err_oom(err, "container metrics");
        return NULL;
    }
    samples s;
    if (begin(&s, call, st->timestamp_ns, err) < 0)
        return NULL;
    /* The stats are freed before the answer is sent: the labels are copies. */
    const ck_container_view *v = &st->view;
    char *labels[] = {ck_call_strdup(call, v->id), ck_call_strdup(call, v->name),
                      ck_call_strdup(call, v->image != NULL ? v->image : "")};
    if (labels[0] == NULL || labels[1] == NULL || labels[2] == NULL) {
        ck_err_oom(err, "container metrics");
        return NULL;
    }
    int rc = 0;
    if (st->running)
        rc = (add(&s, M_CPU_USAGE, st->cpu_usage_ns / NS_PER_S, labels, 3, err) < 0 ||
              add(&s, M_MEMORY_USAGE, st->memory_usage, labels, 3, err) < 0 ||
              add(&s, M_MEMORY_WORKING_SET, st->memory_working_set, labels, 3, err) < 0 ||
              add(&s, M_MEMORY_RSS, st->memory_rss, labels, 3, err) < 0 ||
              (st->has_swap && add(&s, M_MEMORY_SWAP, st->swap_usage, labels, 3, err) < 0))
                 ? -1
                 : 0;
    if (rc == 0 && v->started_at_ns > 0)
        rc = add(&s, M_START_TIME, (uint64_t)(v->started_at_ns / NS_PER_S), labels, 3, err);
    if (rc == 0)
        rc = add(&s, M_LAST_SEEN, (uint64_t)(st->timestamp_ns / NS_PER_S), labels, 3, err);
    if (rc < 0)
        return NULL;
    cm->container_id = labels[0];
    cm->metrics = s.items;
    cm->n_metrics = s.n;
    return cm;
}

/* The pod's own samples: its network counters, labelled with the pod. */
static int pod_samples(ck_call *call, const ck_sandbox_view *pod, Runtime__V1__PodSandboxMetrics *pm, ck_err *err)
{
    ck_sandbox_stats st;
    if (ck_sandbox_stats_get(call->svc->sandboxes, pod->id, &st, err) < 0)
        return -1;
    samples s;
    if (begin(&s, call, st.timestamp_ns, err) < 0)
        return -1;
    if (st.iface[0] != '\0') {
        /* The views are freed before the answer is sent: the labels are copies. */
        char *labels[] = {ck_call_strdup(call, pod->id), ck_call_strdup(call, pod->name), "",
                          ck_call_strdup(call, st.iface)};
        if (labels[0] == NULL || labels[1] == NULL || labels[3] == NULL)
            return ck_err_oom(err, "pod metrics");
        if (add(&s, M_RX_BYTES, st.rx_bytes, labels, 4, err) < 0 ||
            add(&s, M_TX_BYTES, st.tx_bytes, labels, 4, err) < 0 ||
            add(&s, M_RX_ERRORS, st.rx_errors, labels, 4, err) < 0 ||
            add(&s, M_TX_ERRORS, st.tx_errors, labels, 4, err) < 0)
            return -1;
    }
    pm->metrics = s.items;
    pm->n_metrics = s.n;
    return 0;
}

static int containers_of(ck_call *call, const char *pod_id, Runtime__V1__PodSandboxMetrics *pm, ck_err *err)
{
    ck_container_filter f = {.pod_id = pod_id};
    ck_container_stats *stats = NULL;
    size_t n = 0;
    if (ck_container_stats_list(call->svc->containers, &f, &stats, &n, err) < 0)
        return -1;
    int rc = 0;
    if ((pm->container_metrics = ck_call_alloc(call, (n + 1) * sizeof(*pm->container_metrics))) == NULL)
        rc = ck_err_oom(err, "container metrics");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Runtime__V1__ContainerMetrics *cm = container_samples(call, &stats[i], err);
        if (cm == NULL)
            rc = -1;
        else
            pm->container_metrics[pm->n_container_metrics++] = cm;
    }
    ck_container_stats_free(stats, n);
    return rc;
}

/* The metrics of every READY pod; a pod removed meanwhile is left out. */
int ck_pod_metrics_collect(ck_call *call, Runtime__V1__PodSandboxMetrics ***out, size_t *n_out, ck_err *err)
{
    ck_sandbox_filter f = {.has_state = true, .state = CK_SANDBOX_READY};
    ck_sandbox_view *pods = NULL;
    size_t n = 0;
    if (ck_sandbox_list(call->svc->sandboxes, &f, &pods, &n, err) < 0)
        return -1;
    int rc = 0;
    *n_out = 0;
    if ((*out = ck_call_alloc(call, (n + 1) * sizeof(**out))) == NULL)
        rc = ck_err_oom(err, "pod metrics");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Runtime__V1__PodSandboxMetrics *pm =
            CK_NEW(call, Runtime__V1__PodSandboxMetrics, runtime__v1__pod_sandbox_metrics__init);
        char *id = ck_call_strdup(call, pods[i].id);
        if (pm == NULL || id == NULL) {
            rc = ck_err_oom(err, "pod metrics");
            break;
        }
        pm->pod_sandbox_id = id;
        ck_err one;
        ck_err_clear(&one);
        if (pod_samples(call, &pods[i], pm, &one) < 0 || containers_of(call, id, pm, &one) < 0) {
            if (one.kind != CK_E_NOT_FOUND) /* removed meanwhile: skip */
                rc = ck_err_copy(err, &one);
            continue;
        }
        (*out)[(*n_out)++] = pm;
    }
    ck_sandbox_views_free(pods, n);
    return rc;
}
