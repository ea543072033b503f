/*
 * pod_bench: RunPodSandbox as the kubelet sends it, against any CRI runtime.
 *
 *   pod_bench SOCKET seq N     N pods one after the other (each stopped and
 *                              removed before the next): median and p90 ms
 *   pod_bench SOCKET par N     N pods at once, one thread each: wall ms;
 *                              the pods stay (measure the daemon's RSS)
 *   pod_bench SOCKET clean     stop and remove every pod
 *
 * Pods are named pod-bench-<mode>-<i> in namespace bench.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/critest/client.h"

static const char *sock;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs one pod; id_out gets its id. Returns 0 or -1 (message printed). */
static int run_pod(crit_client *c, const char *mode, int i, char *id_out, size_t size)
{
    char name[64], uid[64];
    snprintf(name, sizeof(name), "pod-bench-%s-%d", mode, i);
    snprintf(uid, sizeof(uid), "uid-bench-%s-%d", mode, i);
    Runtime__V1__PodSandboxMetadata meta = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
    meta.name = name;
    meta.namespace_ = "bench";
    meta.uid = uid;
    Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    cfg.metadata = &meta;
    cfg.hostname = name;
    cfg.log_directory = "/tmp";
    Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
    lx.cgroup_parent = "/pod-bench";
    cfg.linux = &lx;
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = &cfg;
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &req.base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, 120000, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(id_out, size, "%s", ((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
    else
        fprintf(stderr, "pod_bench: RunPodSandbox %s on %s: %d %s\n", name, sock, code, r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

static void remove_pod(crit_client *c, const char *id)
{
    crit_result r;
    Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    stop.pod_sandbox_id = (char *)id;
    crit_call(c, RUNTIME("StopPodSandbox"), &stop.base, &runtime__v1__stop_pod_sandbox_response__descriptor, 120000,
              &r);
    crit_result_clear(&r);
    Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rm.pod_sandbox_id = (char *)id;
    crit_call(c, RUNTIME("RemovePodSandbox"), &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor, 120000,
              &r);
    crit_result_clear(&r);
}

static int seq(int n)
{
    crit_client *c = crit_connect(sock);
    double *ms = calloc((size_t)n, sizeof(double));
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char id[128];
        double t0 = now_ms();
        if (run_pod(c, "seq", i, id, sizeof(id)) < 0)
            break;
        ms[ok++] = now_ms() - t0;
        remove_pod(c, id);
    }
    qsort(ms, (size_t)ok, sizeof(double), cmp_double);
    if (ok > 0)
        printf("pod_bench socket=%s mode=seq pods=%d median_ms=%.1f p90_ms=%.1f min_ms=%.1f\n", sock, ok,
               ms[(ok - 1) / 2], ms[(ok * 9 - 1) / 10], ms[0]);
    free(ms);
    crit_close(c);
    return ok == n ? 0 : 1;
}

typedef struct worker {
    int i;
    int rc;
} worker;

static void *par_one(void *arg)
{
    worker *w = arg;
    crit_client *c = crit_connect(sock);
    char id[128];
    w->rc = run_pod(c, "par", w->i, id, sizeof(id));
    crit_close(c);
    return NULL;
}

static int par(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    worker *w = calloc((size_t)n, sizeof(*w));
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        w[i].i = i;
        pthread_create(&t[i], NULL, par_one, &w[i]);
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        failed += w[i].rc != 0;
    }
    printf("pod_bench socket=%s mode=par pods=%d failed=%d wall_ms=%.1f\n", sock, n, failed, now_ms() - t0);
    free(t);
    free(w);
    return failed == 0 ? 0 : 1;
}

static int clean(void)
{
    crit_client *c = crit_connect(sock);
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    crit_result r;
    if (crit_call(c, RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor, 60000,
                  &r) == GRPC_STATUS_OK) {
        Runtime__V1__ListPodSandboxResponse *l = (void *)r.response;
        for (size_t i = 0; i < l->n_items; i++)
            remove_pod(c, l->items[i]->id);
    }
    crit_result_clear(&r);
    crit_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pod_bench SOCKET seq|par N | pod_bench SOCKET clean\n");
        return 2;
    }
    sock = argv[1];
    int n = 20;
    if (argc > 3) {
        char *end = NULL;
        long v = strtol(argv[3], &end, 10);
        if (end == argv[3] || *end != '\0' || v < 1 || v > 100000) {
            fprintf(stderr, "pod_bench: N must be a number from 1 to 100000, got \"%s\"\n", argv[3]);
            return 2;
        }
        n = (int)v;
    }
    grpc_init();
    int rc = strcmp(argv[2], "seq") == 0 ? seq(n) : strcmp(argv[2], "par") == 0 ? par(n) : clean();
    grpc_shutdown();
    return rc;
}
