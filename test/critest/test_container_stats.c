/*
 * critest_container_stats: container stats over the wire, as the kubelet
 * and critest read them: ContainerStats, ListContainerStats with and
 * without filters, StreamContainerStats, and the containers of
 * PodSandboxStats. Real containers (runc, the busybox image from the
 * registry fixture) that burn CPU and write files; nothing mocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"

static crit_ctr_suite S;

static int start_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_start(&S, "cks", 100, NULL); /* second octets 100-149: 10.x with x <= 255 */
}

static int stop_suite(void **state)
{
    (void)state;
    return crit_ctr_suite_stop(&S);
}

/* ---- stats calls ------------------------------------------------------------------ */

static grpc_status_code stats_code(const char *id, crit_result *r)
{
    Runtime__V1__ContainerStatsRequest req = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    req.container_id = (char *)id;
    return crit_call(S.client, RUNTIME("ContainerStats"), &req.base, &runtime__v1__container_stats_response__descriptor,
                     30000, r);
}

/* ContainerStats of id, which must answer; r holds it until cleared. The
 * parts critest reads without checking are there. */
static Runtime__V1__ContainerStats *stats(const char *id, crit_result *r)
{
    Runtime__V1__ContainerStatsRequest req = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    req.container_id = (char *)id;
    Runtime__V1__ContainerStatsResponse *resp = crit_call_ok(S.client, &S.daemon, RUNTIME("ContainerStats"), &req.base,
                                                             &runtime__v1__container_stats_response__descriptor, r);
    Runtime__V1__ContainerStats *s = resp->stats;
    assert_non_null(s);
    assert_non_null(s->attributes);
    assert_non_null(s->attributes->metadata);
    assert_non_null(s->cpu);
    assert_non_null(s->memory);
    assert_non_null(s->writable_layer);
    assert_string_equal(s->attributes->id, id);
    return s;
}

static Runtime__V1__ListContainerStatsResponse *list_stats(const Runtime__V1__ContainerStatsFilter *f, crit_result *r)
{
    Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    req.filter = (Runtime__V1__ContainerStatsFilter *)f;
    return crit_call_ok(S.client, &S.daemon, RUNTIME("ListContainerStats"), &req.base,
                        &runtime__v1__list_container_stats_response__descriptor, r);
}

static const Runtime__V1__ContainerStats *find(Runtime__V1__ContainerStats *const *items, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (items[i]->attributes != NULL && strcmp(items[i]->attributes->id, id) == 0)
            return items[i];
    return NULL;
}

static uint64_t value_of(const Runtime__V1__UInt64Value *v)
{
    assert_non_null(v);
    return v->value;
}

/* A created or exited container: attributes and timestamps, no usage. */
static void assert_no_usage(const Runtime__V1__ContainerStats *s)
{
    assert_non_null(s->cpu);
    assert_non_null(s->memory);
    assert_true(s->cpu->timestamp > 0);
    assert_true(s->memory->timestamp > 0);
    assert_int_equal(value_of(s->cpu->usage_core_nano_seconds), 0);
    assert_null(s->cpu->usage_nano_cores);
    assert_int_equal(value_of(s->memory->working_set_bytes), 0);
    assert_null(s->swap);
}

/* ---- tests ------------------------------------------------------------------------ */

/* A container that burns CPU, then writes 1 MiB and sleeps: its CPU time
 * grows, a rate appears once a second has passed between samples, its
 * memory is seen, and its writable layer grows by the file. */
static void test_running_container_usage(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "cks-usage");
    char script[256];
    snprintf(script, sizeof(script),
             "timeout %d sh -c 'while true; do :; done'; dd if=/dev/zero of=/grow bs=1024 count=1024; sleep 1000",
             (int)crit_ctr_seconds(4));
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "container-for-stats-burner", script);
    c.metadata.attempt = 4;
    crit_ctr_annotation(&c, "note", "hot");
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);

    crit_result ra, rb;
    Runtime__V1__ContainerStats *a = stats(id, &ra);
    assert_string_equal(a->attributes->metadata->name, "container-for-stats-burner");
    assert_int_equal(a->attributes->metadata->attempt, 4);
    assert_int_equal(a->attributes->n_annotations, 1);
    assert_string_equal(a->attributes->annotations[0]->key, "note");
    assert_string_equal(a->attributes->annotations[0]->value, "hot");
    assert_true(a->cpu->timestamp > 0);
    assert_true(a->memory->timestamp > 0);
    assert_true(a->writable_layer->timestamp > 0);
    assert_non_null(a->writable_layer->fs_id);
    assert_true(strlen(a->writable_layer->fs_id->mountpoint) > 0);
    assert_true(value_of(a->memory->working_set_bytes) > 0);
    assert_true(value_of(a->memory->usage_bytes) >= value_of(a->memory->working_set_bytes));
    uint64_t written_before = value_of(a->writable_layer->used_bytes);

    usleep(1200 * 1000);
    Runtime__V1__ContainerStats *b = stats(id, &rb);
    uint64_t cpu_a = value_of(a->cpu->usage_core_nano_seconds);
    uint64_t cpu_b = value_of(b->cpu->usage_core_nano_seconds);
    assert_true(cpu_a > 0);
    assert_true(cpu_b > cpu_a);
    assert_true(b->cpu->timestamp > a->cpu->timestamp);
    /* More than a second since the last sample: a rate, and a busy loop's
     * is well above a tenth of a core. */
    assert_non_null(b->cpu->usage_nano_cores);
    assert_true(b->cpu->usage_nano_cores->value > 100000000);
    crit_result_clear(&ra);
    crit_result_clear(&rb);

    /* The file lands in the upper dir once the burn ends. */
    double until = crit_ctr_now() + crit_ctr_seconds(30);
    const uint64_t mib = (uint64_t)1 << 20;
    uint64_t written = written_before;
    while (written < written_before + mib && crit_ctr_now() < until) {
        usleep(200 * 1000);
        Runtime__V1__ContainerStats *s = stats(id, &ra);
        written = value_of(s->writable_layer->used_bytes);
        assert_true(value_of(s->writable_layer->inodes_used) > 0);
        crit_result_clear(&ra);
    }
    if (written < written_before + mib)
        fail_msg("writable layer: %llu bytes before the write, %llu after", (unsigned long long)written_before,
                 (unsigned long long)written);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_list_and_filters(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "cks-list");
    crit_ctr_request c[4];
    char *ids[4];
    char name[4][32];
    for (int i = 0; i < 4; i++) {
        snprintf(name[i], sizeof(name[i]), "stats-%d", i);
        crit_ctr_init(&c[i], &S, pod, name[i], "sleep 1000");
        if (i == 1)
            crit_ctr_label(&c[i], "foo", "bar");
        ids[i] = crit_ctr_create(&S, &c[i].req);
        if (i < 3)
            crit_ctr_start(&S, ids[i]); /* the fourth stays created */
    }

    /* No filter (critest c11, c12): every container, the created one too,
     * as containerd lists them. */
    crit_result r;
    Runtime__V1__ListContainerStatsResponse *l = list_stats(NULL, &r);
    for (int i = 0; i < 4; i++)
        assert_non_null(find(l->stats, l->n_stats, ids[i]));
    assert_true(value_of(find(l->stats, l->n_stats, ids[0])->memory->working_set_bytes) > 0);
    assert_no_usage(find(l->stats, l->n_stats, ids[3]));
    crit_result_clear(&r);

    /* Labels (critest c13). */
    Runtime__V1__ContainerStatsFilter fl = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    Runtime__V1__ContainerStatsFilter__LabelSelectorEntry sel =
        RUNTIME__V1__CONTAINER_STATS_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "foo";
    sel.value = "bar";
    Runtime__V1__ContainerStatsFilter__LabelSelectorEntry *sels[] = {&sel};
    fl.label_selector = sels;
    fl.n_label_selector = 1;
    l = list_stats(&fl, &r);
    assert_int_equal(l->n_stats, 1);
    assert_string_equal(l->stats[0]->attributes->id, ids[1]);
    assert_int_equal(l->stats[0]->attributes->n_labels, 1);
    assert_string_equal(l->stats[0]->attributes->labels[0]->value, "bar");
    crit_result_clear(&r);
    sel.value = "baz";
    l = list_stats(&fl, &r);
    assert_int_equal(l->n_stats, 0);
    crit_result_clear(&r);

    /* An id prefix (critest c10 gives the full id), and the pod. */
    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%.12s", ids[2]);
    Runtime__V1__ContainerStatsFilter fi = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    fi.id = prefix;
    l = list_stats(&fi, &r);
    assert_int_equal(l->n_stats, 1);
    assert_string_equal(l->stats[0]->attributes->id, ids[2]);
    crit_result_clear(&r);
    fi.id = ids[2];
    l = list_stats(&fi, &r);
    assert_int_equal(l->n_stats, 1);
    crit_result_clear(&r);
    Runtime__V1__ContainerStatsFilter fp = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
    fp.pod_sandbox_id = pod;
    l = list_stats(&fp, &r);
    assert_int_equal(l->n_stats, 4);
    crit_result_clear(&r);

    /* The same list on a stream. */
    Runtime__V1__StreamContainerStatsRequest sreq = RUNTIME__V1__STREAM_CONTAINER_STATS_REQUEST__INIT;
    sreq.filter = &fp;
    crit_stream *s = crit_stream_open(S.client, RUNTIME("StreamContainerStats"), &sreq.base, 30000);
    size_t streamed = 0, streamed_mine = 0;
    ProtobufCMessage *msg = NULL;
    while (crit_stream_next(s, &runtime__v1__stream_container_stats_response__descriptor, 30000, &msg) == 1) {
        Runtime__V1__StreamContainerStatsResponse *batch = (void *)msg;
        for (size_t i = 0; i < 4; i++)
            streamed_mine += find(batch->container_stats, batch->n_container_stats, ids[i]) != NULL;
        streamed += batch->n_container_stats;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    char details[256];
    assert_int_equal(crit_stream_finish(s, 10000, details, sizeof(details)), GRPC_STATUS_OK);
    crit_stream_free(s);
    assert_int_equal(streamed, 4);
    assert_int_equal(streamed_mine, 4);

    /* A created and an exited container answer ContainerStats with their
     * attributes, zero usage and timestamps. */
    Runtime__V1__ContainerStats *one = stats(ids[3], &r);
    assert_string_equal(one->attributes->metadata->name, "stats-3");
    assert_no_usage(one);
    crit_result_clear(&r);
    crit_ctr_stop(&S, ids[0], 0);
    assert_no_usage(stats(ids[0], &r));
    crit_result_clear(&r);

    crit_ctr_cleanup_pod(&S, pod);
    for (int i = 0; i < 4; i++)
        free(ids[i]);
    free(pod);
}

static void test_unknown_and_empty_ids(void **state)
{
    (void)state;
    crit_result r;
    assert_int_equal(stats_code("0123456789abcdef0123", &r), GRPC_STATUS_NOT_FOUND);
    assert_non_null(strstr(r.details, "0123456789abcdef0123"));
    crit_result_clear(&r);
    assert_int_equal(stats_code("", &r), GRPC_STATUS_INVALID_ARGUMENT);
    crit_result_clear(&r);
    /* A removed container is unknown too. */
    char *pod = crit_ctr_run_pod(&S, "cks-gone");
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "gone", "sleep 1000"));
    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(stats_code(id, &r), GRPC_STATUS_NOT_FOUND);
    crit_result_clear(&r);
    free(id);
    free(pod);
}

static const Runtime__V1__PodSandboxStats *pod_stats(const char *pod, crit_result *r)
{
    Runtime__V1__PodSandboxStatsRequest req = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    req.pod_sandbox_id = (char *)pod;
    Runtime__V1__PodSandboxStatsResponse *resp =
        crit_call_ok(S.client, &S.daemon, RUNTIME("PodSandboxStats"), &req.base,
                     &runtime__v1__pod_sandbox_stats_response__descriptor, r);
    assert_non_null(resp->stats);
    assert_non_null(resp->stats->linux);
    return resp->stats;
}

/* The kubelet takes container stats from PodSandboxStats.linux.containers. */
static void test_pod_stats_hold_containers(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "cks-pod");
    char *other = crit_ctr_run_pod(&S, "cks-other");
    crit_ctr_request a, b, o;
    char *one = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "one", "sleep 1000"));
    char *two = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "two", "sleep 1000"));
    char *elsewhere = crit_ctr_create(&S, crit_ctr_init(&o, &S, other, "elsewhere", "sleep 1000"));
    crit_ctr_start(&S, one);
    crit_ctr_start(&S, elsewhere);

    crit_result r;
    const Runtime__V1__PodSandboxStats *ps = pod_stats(pod, &r);
    const Runtime__V1__LinuxPodSandboxStats *l = ps->linux;
    assert_int_equal(l->n_containers, 2);
    const Runtime__V1__ContainerStats *s1 = find(l->containers, l->n_containers, one);
    const Runtime__V1__ContainerStats *s2 = find(l->containers, l->n_containers, two);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_string_equal(s1->attributes->metadata->name, "one");
    assert_true(s1->cpu->timestamp > 0);
    assert_true(value_of(s1->memory->working_set_bytes) > 0);
    assert_no_usage(s2);
    crit_result_clear(&r);

    /* ListPodSandboxStats sends the same entries. */
    Runtime__V1__ListPodSandboxStatsRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT;
    Runtime__V1__ListPodSandboxStatsResponse *ls =
        crit_call_ok(S.client, &S.daemon, RUNTIME("ListPodSandboxStats"), &lreq.base,
                     &runtime__v1__list_pod_sandbox_stats_response__descriptor, &r);
    bool seen = false;
    for (size_t i = 0; i < ls->n_stats; i++)
        if (strcmp(ls->stats[i]->attributes->id, other) == 0) {
            assert_int_equal(ls->stats[i]->linux->n_containers, 1);
            assert_string_equal(ls->stats[i]->linux->containers[0]->attributes->id, elsewhere);
            seen = true;
        }
    assert_true(seen);
    crit_result_clear(&r);

    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_cleanup_pod(&S, other);
    free(one);
    free(two);
    free(elsewhere);
    free(pod);
    free(other);
}

/* ---- metrics ---- */

/* The descriptor of name in a ListMetricDescriptors answer, or NULL. */
static const Runtime__V1__MetricDescriptor *descriptor(const Runtime__V1__ListMetricDescriptorsResponse *d,
                                                       const char *name)
{
    for (size_t i = 0; i < d->n_descriptors; i++)
        if (strcmp(d->descriptors[i]->name, name) == 0)
            return d->descriptors[i];
    return NULL;
}

/* Every sample has a descriptor, a timestamp and one label value per key. */
static void assert_described(const Runtime__V1__ListMetricDescriptorsResponse *d, Runtime__V1__Metric *const *m,
                             size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Runtime__V1__MetricDescriptor *desc = descriptor(d, m[i]->name);
        if (desc == NULL) {
            fail_msg("metric %s has no descriptor", m[i]->name);
            return;
        }
        assert_int_equal(m[i]->n_label_values, desc->n_label_keys);
        assert_true(m[i]->timestamp > 0);
        assert_non_null(m[i]->value);
    }
}

static const Runtime__V1__Metric *sample(Runtime__V1__Metric *const *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i]->name, name) == 0)
            return m[i];
    return NULL;
}

/* ListMetricDescriptors and ListPodSandboxMetrics (the kubelet's
 * /metrics/cadvisor from the runtime): a running container's CPU and
 * memory, labelled with its id, name and image; the pod's network
 * counters per interface; a created container only its last-seen time;
 * the streamed variant says the same. */
static void test_pod_sandbox_metrics(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "cks-metrics");
    crit_ctr_request a, b;
    /* It burns until it has had over a second of CPU, however busy the
     * machine (a fixed wall time gave it less under load). */
    char *hot = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "metrics-hot", "while true; do :; done"));
    char *idle = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "metrics-idle", "sleep 1000"));
    crit_ctr_start(&S, hot);
    for (int polls = 0;; polls++) {
        crit_result rs;
        uint64_t used = value_of(stats(hot, &rs)->cpu->usage_core_nano_seconds);
        crit_result_clear(&rs);
        if (used >= UINT64_C(1200000000))
            break;
        if (polls * 0.2 > crit_ctr_seconds(60))
            fail_msg("container %s used only %llu ns of CPU in %.0f s", hot, (unsigned long long)used, polls * 0.2);
        usleep(200 * 1000);
    }

    Runtime__V1__ListMetricDescriptorsRequest dreq = RUNTIME__V1__LIST_METRIC_DESCRIPTORS_REQUEST__INIT;
    crit_result rd;
    Runtime__V1__ListMetricDescriptorsResponse *d =
        crit_call_ok(S.client, &S.daemon, RUNTIME("ListMetricDescriptors"), &dreq.base,
                     &runtime__v1__list_metric_descriptors_response__descriptor, &rd);
    const Runtime__V1__MetricDescriptor *cpu = descriptor(d, "container_cpu_usage_seconds_total");
    assert_non_null(cpu);
    assert_int_equal(cpu->n_label_keys, 3);
    assert_string_equal(cpu->label_keys[0], "id");

    Runtime__V1__ListPodSandboxMetricsRequest mreq = RUNTIME__V1__LIST_POD_SANDBOX_METRICS_REQUEST__INIT;
    crit_result rm;
    Runtime__V1__ListPodSandboxMetricsResponse *m =
        crit_call_ok(S.client, &S.daemon, RUNTIME("ListPodSandboxMetrics"), &mreq.base,
                     &runtime__v1__list_pod_sandbox_metrics_response__descriptor, &rm);
    const Runtime__V1__PodSandboxMetrics *pm = NULL;
    for (size_t i = 0; i < m->n_pod_metrics; i++)
        if (strcmp(m->pod_metrics[i]->pod_sandbox_id, pod) == 0)
            pm = m->pod_metrics[i];
    if (pm == NULL) {
        fail_msg("pod %s has no metrics", pod);
        return;
    }
    assert_described(d, pm->metrics, pm->n_metrics);
    const Runtime__V1__Metric *rx = sample(pm->metrics, pm->n_metrics, "container_network_receive_bytes_total");
    assert_non_null(rx);
    assert_string_equal(rx->label_values[0], pod);
    assert_string_equal(rx->label_values[3], "eth0");
    assert_int_equal(rx->metric_type, RUNTIME__V1__METRIC_TYPE__COUNTER);
    assert_int_equal(pm->n_container_metrics, 2);
    for (size_t i = 0; i < pm->n_container_metrics; i++) {
        const Runtime__V1__ContainerMetrics *cm = pm->container_metrics[i];
        assert_described(d, cm->metrics, cm->n_metrics);
        const Runtime__V1__Metric *used = sample(cm->metrics, cm->n_metrics, "container_cpu_usage_seconds_total");
        const Runtime__V1__Metric *ws = sample(cm->metrics, cm->n_metrics, "container_memory_working_set_bytes");
        assert_non_null(sample(cm->metrics, cm->n_metrics, "container_last_seen"));
        if (strcmp(cm->container_id, hot) == 0) {
            assert_non_null(used);
            assert_true(used->value->value >= 1); /* it burnt over 1.2 s of CPU */
            assert_string_equal(used->label_values[0], hot);
            assert_string_equal(used->label_values[1], "metrics-hot");
            assert_string_equal(used->label_values[2], S.image);
            assert_non_null(ws);
            assert_true(ws->value->value > 0);
            assert_int_equal(ws->metric_type, RUNTIME__V1__METRIC_TYPE__GAUGE);
            assert_non_null(sample(cm->metrics, cm->n_metrics, "container_start_time_seconds"));
        } else {
            assert_string_equal(cm->container_id, idle);
            assert_null(used); /* created, never started: nothing measured */
            assert_null(sample(cm->metrics, cm->n_metrics, "container_start_time_seconds"));
        }
    }
    size_t listed_pods = m->n_pod_metrics;
    crit_result_clear(&rm);
    crit_result_clear(&rd);

    Runtime__V1__StreamPodSandboxMetricsRequest sreq = RUNTIME__V1__STREAM_POD_SANDBOX_METRICS_REQUEST__INIT;
    crit_stream *st = crit_stream_open(S.client, RUNTIME("StreamPodSandboxMetrics"), &sreq.base, 30000);
    assert_non_null(st);
    size_t streamed = 0;
    ProtobufCMessage *msg = NULL;
    while (crit_stream_next(st, &runtime__v1__stream_pod_sandbox_metrics_response__descriptor, 10000, &msg) == 1) {
        streamed += ((Runtime__V1__StreamPodSandboxMetricsResponse *)msg)->n_pod_sandbox_metrics;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    assert_int_equal(crit_stream_finish(st, 10000, NULL, 0), GRPC_STATUS_OK);
    crit_stream_free(st);
    assert_int_equal(streamed, listed_pods);

    crit_ctr_cleanup_pod(&S, pod);
    free(hot);
    free(idle);
    free(pod);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_container_usage), cmocka_unit_test(test_list_and_filters),
        cmocka_unit_test(test_unknown_and_empty_ids),   cmocka_unit_test(test_pod_stats_hold_containers),
        cmocka_unit_test(test_pod_sandbox_metrics),
    };
    int failed = cmocka_run_group_tests_name("critest_container_stats", tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
