/*
 * store_bench: the store under the write load of pods starting at once.
 * WRITERS threads each put pod rows, one commit each, as fast as the store
 * takes them, while one reader gets one row every 0.2 ms, READS times: the
 * kubelet's status and list calls during a burst of pod starts. Prints the
 * writers' commits per second and the reads' latency (median, p90, p99,
 * max). A commit returns only once it is on disk, so this is what the
 * disk's fsync latency does to readers and writers (see "Durability" in
 * store/store.c).
 *
 *   store_bench DIR [WRITERS [READS]]     (DIR: a fresh directory, removed
 *                                          by the caller)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/parse.h"
#include "store/store.h"

enum { MAX_WRITERS = 16, MAX_READS = 10000000, READ_EVERY_US = 200 };

typedef struct writer {
    pthread_t thread;
    int index;
    long commits;
    char failure[CK_ERR_MSG_MAX];
} writer;

static ck_store *store;
static atomic_bool stop;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static ck_pod_record pod(const char *id)
{
    return (ck_pod_record){
        .id = (char *)id, .name = "web", .ns = "default", .uid = (char *)id, .state = 1, .data = "{}"};
}

static void *write_pods(void *arg)
{
    writer *w = arg;
    ck_err err = {0};
    char id[64];
    while (!atomic_load(&stop)) {
        snprintf(id, sizeof(id), "w%d-%ld", w->index, w->commits);
        ck_pod_record rec = pod(id);
        if (ck_store_pod_put(store, &rec, &err) < 0) {
            snprintf(w->failure, sizeof(w->failure), "%s", err.msg);
            return NULL;
        }
        w->commits++;
    }
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* reads gets of one row, READ_EVERY_US apart, each's ms into ms. */
static int read_pods(double *ms, int reads, ck_err *err)
{
    for (int i = 0; i < reads; i++) {
        ck_pod_record got;
        double start = now_ms();
        if (ck_store_pod_get(store, "reader", &got, err) < 0)
            return -1;
        ms[i] = now_ms() - start;
        ck_pod_record_clear(&got);
        nanosleep(&(struct timespec){.tv_nsec = READ_EVERY_US * 1000L}, NULL);
    }
    return 0;
}

static int run(int n_writers, int reads, double *ms)
{
    ck_err err = {0};
    ck_pod_record reader = pod("reader");
    if (ck_store_pod_put(store, &reader, &err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.msg);
        return 1;
    }
    writer writers[MAX_WRITERS] = {0};
    int started = 0;
    double start = now_ms();
    for (; started < n_writers; started++) {
        writers[started].index = started;
        if (pthread_create(&writers[started].thread, NULL, write_pods, &writers[started]) != 0)
            break;
    }
    int rc = 0;
    if (started < n_writers) {
        fprintf(stderr, "store_bench: could not start writer %d\n", started);
        rc = 1;
    } else if (read_pods(ms, reads, &err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.msg);
        rc = 1;
    }
    atomic_store(&stop, true);
    long commits = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(writers[i].thread, NULL);
        commits += writers[i].commits;
        if (writers[i].failure[0] != '\0') {
            fprintf(stderr, "store_bench: writer %d: %s\n", i, writers[i].failure);
            rc = 1;
        }
    }
    double elapsed_s = (now_ms() - start) / 1e3;
    if (rc != 0)
        return rc;
    qsort(ms, (size_t)reads, sizeof(*ms), by_value);
    printf("store_bench writers=%d commits=%ld commits_per_s=%.0f reads=%d read_median_ms=%.3f read_p90_ms=%.3f "
           "read_p99_ms=%.3f read_max_ms=%.3f\n",
           n_writers, commits, (double)commits / elapsed_s, reads, ms[reads / 2], ms[reads * 9 / 10],
           ms[reads * 99 / 100], ms[reads - 1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: store_bench DIR [WRITERS [READS]]\n");
        return 2;
    }
    ck_err err = {0};
    int64_t n_writers = 4, reads = 3000;
    if ((argc > 2 && ck_parse_i64(argv[2], 1, MAX_WRITERS, &n_writers, &err) < 0) ||
        (argc > 3 && ck_parse_i64(argv[3], 1, MAX_READS, &reads, &err) < 0)) {
        fprintf(stderr, "store_bench: WRITERS is 1 to %d, READS 1 to %d: %s\n", MAX_WRITERS, MAX_READS, err.msg);
        return 2;
    }
    double *ms = calloc((size_t)reads, sizeof(*ms));
    if (ms == NULL) {
        fprintf(stderr, "store_bench: out of memory\n");
        return 1;
    }
    if (ck_store_open(argv[1], &store, &err) < 0) {
        fprintf(stderr, "store_bench: %s\n", err.msg);
        free(ms);
        return 1;
    }
    int rc = run((int)n_writers, (int)reads, ms);
    ck_store_close(store);
    free(ms);
    return rc;
}
