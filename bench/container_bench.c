/*
 * container_bench: pods with containers as the kubelet asks for them,
 * against any CRI runtime (cricket or containerd's CRI plugin).
 *
 *   container_bench SOCKET IMAGE LOGDIR seq N
 *       N times, one after the other: RunPodSandbox + CreateContainer +
 *       StartContainer of one container running `sleep`; the pod is
 *       stopped and removed (not timed) before the next. Median, p90 and
 *       min ms of the three calls together, and the median of each call.
 *   container_bench SOCKET IMAGE LOGDIR par N
 *       N of those at once, one thread each: wall ms. Everything stays
 *       (measure the daemon's and the monitors' or shims' memory).
 *   container_bench SOCKET IMAGE LOGDIR fill PODS TOTAL THREADS
 *       PODS pods, then TOTAL containers created (not started) among them,
 *       THREADS requests in flight: setup wall time and median create ms.
 *   container_bench SOCKET IMAGE LOGDIR exec N
 *       one pod with one `sleep` container, then N ExecSync calls of
 *       `true`, then N streamed execs of `true` (Exec RPC, WebSocket
 *       v4.channel.k8s.io to the URL it returns, stdout only, until the
 *       exit status on the error channel): median and p90 ms of each. The
 *       pod is removed at the end.
 *   container_bench SOCKET IMAGE LOGDIR logs ROUNDS LINES
 *       one pod; ROUNDS times, one after the other, a container that
 *       prints LINES lines of 60 bytes (`yes | head`) and exits: the median
 *       ms from StartContainer's answer to the exit, and lines and MB per
 *       second. A pipe's writer waits for its reader, so this is how fast
 *       the runtime turns output into the CRI log. The pod is removed.
 *   container_bench SOCKET list K [containers]
 *       K ListContainers calls (no filter), one after the other: median,
 *       p90, p99 and min ms, and the number of containers each answer
 *       held; then (unless "containers", for a profile of that call alone)
 *       K ListPodSandbox calls: median and p99 ms, and pods.
 *   container_bench SOCKET clean
 *       stop (no grace) and remove every container, then every pod, four
 *       threads at a time: wall ms and how many of each there were.
 *
 * Pods are named ctr-bench-<mode>-<i> in namespace bench, under the cgroup
 * parent /ctr-bench. One line of key=value per mode on stdout, for
 * bench/table.sh and bench/containers.sh to read.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "streaming/websocket.h"
#include "test/critest/client.h"
#include "test/critest/stream_client.h"

#define CALL_MS 300000

static const char *sock;
static const char *image;
static const char *log_dir;

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

/* Sorts ms[0..n) and returns its median (the lower one for an even n). */
static double median(double *ms, int n)
{
    if (n <= 0)
        return 0;
    qsort(ms, (size_t)n, sizeof(double), cmp_double);
    return ms[(n - 1) / 2];
}

/* The 90th percentile of ms[0..n), sorted by median(). */
static double p90(const double *ms, int n)
{
    return n > 0 ? ms[(n * 9 - 1) / 10] : 0;
}

/* ---- requests ----------------------------------------------------------------- */

/* A pod's config; the kubelet sends it with RunPodSandbox and again with
 * every CreateContainer (containerd takes the log directory from there). */
typedef struct pod_request {
    Runtime__V1__PodSandboxMetadata meta;
    Runtime__V1__PodSandboxConfig cfg;
    Runtime__V1__LinuxPodSandboxConfig lx;
    Runtime__V1__LinuxSandboxSecurityContext sec;
    Runtime__V1__NamespaceOption ns;
    char name[64], uid[64];
} pod_request;

static void pod_init(pod_request *p, const char *mode, int i)
{
    snprintf(p->name, sizeof(p->name), "ctr-bench-%s-%d", mode, i);
    snprintf(p->uid, sizeof(p->uid), "uid-ctr-bench-%s-%d", mode, i);
    runtime__v1__pod_sandbox_metadata__init(&p->meta);
    p->meta.name = p->name;
    p->meta.namespace_ = "bench";
    p->meta.uid = p->uid;
    runtime__v1__linux_pod_sandbox_config__init(&p->lx);
    p->lx.cgroup_parent = "/ctr-bench";
    /* The pod's namespaces as the kubelet asks for a pod without
     * shareProcessNamespace: each container its own PID namespace. */
    runtime__v1__namespace_option__init(&p->ns);
    p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    runtime__v1__linux_sandbox_security_context__init(&p->sec);
    p->sec.namespace_options = &p->ns;
    p->lx.security_context = &p->sec;
    runtime__v1__pod_sandbox_config__init(&p->cfg);
    p->cfg.metadata = &p->meta;
    p->cfg.hostname = p->name;
    p->cfg.log_directory = (char *)log_dir;
    p->cfg.linux = &p->lx;
}

/* Runs the pod; id_out gets its id. Returns 0 or -1 (message printed). */
static int run_pod(crit_client *c, pod_request *p, char *id_out, size_t size)
{
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = &p->cfg;
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("RunPodSandbox"), &req.base,
                                      &runtime__v1__run_pod_sandbox_response__descriptor, CALL_MS, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(id_out, size, "%s", ((Runtime__V1__RunPodSandboxResponse *)r.response)->pod_sandbox_id);
    else
        fprintf(stderr, "container_bench: RunPodSandbox %s on %s: %d %s\n", p->name, sock, code, r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

static char *SLEEP_CMD[] = {"sleep", "3600"};

/* Creates container `name` running command (n_command words) in the pod. */
static int create_command(crit_client *c, const char *pod_id, pod_request *p, const char *name, char **command,
                          size_t n_command, char *id_out, size_t size)
{
    Runtime__V1__ContainerMetadata meta = RUNTIME__V1__CONTAINER_METADATA__INIT;
    meta.name = (char *)name;
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = (char *)image;
    /* A PID namespace of its own, as the kubelet asks unless the pod shares one. */
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    sec.namespace_options = &ns;
    Runtime__V1__LinuxContainerConfig lx = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
    lx.security_context = &sec;
    char log_path[96];
    snprintf(log_path, sizeof(log_path), "%s.log", name);
    Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
    cfg.metadata = &meta;
    cfg.image = &spec;
    cfg.command = command;
    cfg.n_command = n_command;
    cfg.log_path = log_path;
    cfg.linux = &lx;
    Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.pod_sandbox_id = (char *)pod_id;
    req.config = &cfg;
    req.sandbox_config = &p->cfg;
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("CreateContainer"), &req.base,
                                      &runtime__v1__create_container_response__descriptor, CALL_MS, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(id_out, size, "%s", ((Runtime__V1__CreateContainerResponse *)r.response)->container_id);
    else
        fprintf(stderr, "container_bench: CreateContainer %s in %s on %s: %d %s\n", name, p->name, sock, code,
                r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

/* Creates container `name` (busybox's `sleep 3600`) in the pod. */
static int create_container(crit_client *c, const char *pod_id, pod_request *p, const char *name, char *id_out,
                            size_t size)
{
    return create_command(c, pod_id, p, name, SLEEP_CMD, 2, id_out, size);
}

static int start_container(crit_client *c, const char *id)
{
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)id;
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("StartContainer"), &req.base,
                                      &runtime__v1__start_container_response__descriptor, CALL_MS, &r);
    if (code != GRPC_STATUS_OK)
        fprintf(stderr, "container_bench: StartContainer %.12s on %s: %d %s\n", id, sock, code, r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

static void remove_container(crit_client *c, const char *id)
{
    crit_result r;
    Runtime__V1__StopContainerRequest stop = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    stop.container_id = (char *)id;
    stop.timeout = 0;
    crit_call(c, RUNTIME("StopContainer"), &stop.base, &runtime__v1__stop_container_response__descriptor, CALL_MS, &r);
    crit_result_clear(&r);
    Runtime__V1__RemoveContainerRequest rm = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = (char *)id;
    crit_call(c, RUNTIME("RemoveContainer"), &rm.base, &runtime__v1__remove_container_response__descriptor, CALL_MS,
              &r);
    crit_result_clear(&r);
}

static void remove_pod(crit_client *c, const char *id)
{
    crit_result r;
    Runtime__V1__StopPodSandboxRequest stop = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    stop.pod_sandbox_id = (char *)id;
    crit_call(c, RUNTIME("StopPodSandbox"), &stop.base, &runtime__v1__stop_pod_sandbox_response__descriptor, CALL_MS,
              &r);
    crit_result_clear(&r);
    Runtime__V1__RemovePodSandboxRequest rm = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    rm.pod_sandbox_id = (char *)id;
    crit_call(c, RUNTIME("RemovePodSandbox"), &rm.base, &runtime__v1__remove_pod_sandbox_response__descriptor, CALL_MS,
              &r);
    crit_result_clear(&r);
}

/* RunPodSandbox + CreateContainer + StartContainer; ms[0..2] get each
 * call's time. Returns 0 or -1. */
static int run_one(crit_client *c, const char *mode, int i, char *pod_id, size_t size, double ms[3])
{
    pod_request p;
    pod_init(&p, mode, i);
    char ctr_id[128];
    double t0 = now_ms();
    if (run_pod(c, &p, pod_id, size) < 0)
        return -1;
    double t1 = now_ms();
    if (create_container(c, pod_id, &p, "sleep", ctr_id, sizeof(ctr_id)) < 0)
        return -1;
    double t2 = now_ms();
    if (start_container(c, ctr_id) < 0)
        return -1;
    double t3 = now_ms();
    ms[0] = t1 - t0;
    ms[1] = t2 - t1;
    ms[2] = t3 - t2;
    return 0;
}

/* ---- modes -------------------------------------------------------------------- */

static int seq(int n)
{
    crit_client *c = crit_connect(sock);
    double *all = calloc((size_t)n * 4, sizeof(double));
    size_t un = (size_t)n;
    double *runp = all + un, *create = all + 2 * un, *start = all + 3 * un;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char pod_id[128] = "";
        double ms[3];
        int rc = run_one(c, "seq", i, pod_id, sizeof(pod_id), ms);
        if (pod_id[0] != '\0')
            remove_pod(c, pod_id);
        if (rc < 0)
            break;
        all[ok] = ms[0] + ms[1] + ms[2];
        runp[ok] = ms[0];
        create[ok] = ms[1];
        start[ok] = ms[2];
        ok++;
    }
    double m = median(all, ok);
    if (ok > 0)
        printf("container_bench socket=%s mode=seq n=%d median_ms=%.1f p90_ms=%.1f min_ms=%.1f runp_ms=%.1f "
               "create_ms=%.1f start_ms=%.1f\n",
               sock, ok, m, p90(all, ok), all[0], median(runp, ok), median(create, ok), median(start, ok));
    free(all);
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
    char pod_id[128];
    double ms[3];
    w->rc = run_one(c, "par", w->i, pod_id, sizeof(pod_id), ms);
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
    printf("container_bench socket=%s mode=par n=%d failed=%d wall_ms=%.1f\n", sock, n, failed, now_ms() - t0);
    free(t);
    free(w);
    return failed == 0 ? 0 : 1;
}

/* fill: the pods first, then the creates handed out by one counter. */
typedef struct filler {
    int pods, total;
    pod_request *req;
    char (*ids)[128];
    atomic_int next;
    atomic_int failed;
    double *ms; /* per create, indexed like the counter */
} filler;

static void *fill_one(void *arg)
{
    filler *f = arg;
    crit_client *c = crit_connect(sock);
    for (int k; (k = atomic_fetch_add(&f->next, 1)) < f->total;) {
        int p = k % f->pods;
        char name[32], id[128];
        snprintf(name, sizeof(name), "c%d", k / f->pods);
        double t0 = now_ms();
        if (create_container(c, f->ids[p], &f->req[p], name, id, sizeof(id)) < 0) {
            atomic_fetch_add(&f->failed, 1);
            if (atomic_load(&f->failed) > 10)
                break;
            continue;
        }
        f->ms[k] = now_ms() - t0;
    }
    crit_close(c);
    return NULL;
}

static int fill(int pods, int total, int threads)
{
    filler f = {.pods = pods, .total = total};
    f.req = calloc((size_t)pods, sizeof(*f.req));
    f.ids = calloc((size_t)pods, sizeof(*f.ids));
    f.ms = calloc((size_t)total, sizeof(double));
    pthread_t *t = calloc((size_t)threads, sizeof(*t));
    double t0 = now_ms();
    crit_client *c = crit_connect(sock);
    int rc = 0;
    for (int i = 0; i < pods && rc == 0; i++) {
        pod_init(&f.req[i], "fill", i);
        rc = run_pod(c, &f.req[i], f.ids[i], sizeof(f.ids[i]));
    }
    crit_close(c);
    double t1 = now_ms();
    if (rc == 0) {
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, fill_one, &f);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
    }
    double t2 = now_ms();
    int failed = atomic_load(&f.failed);
    int created = 0;
    for (int k = 0; k < total; k++)
        if (f.ms[k] > 0)
            f.ms[created++] = f.ms[k];
    double m = median(f.ms, created);
    printf("container_bench socket=%s mode=fill pods=%d containers=%d failed=%d threads=%d pods_ms=%.0f "
           "creates_ms=%.0f create_median_ms=%.1f create_p90_ms=%.1f\n",
           sock, pods, created, failed, threads, t1 - t0, t2 - t1, m, p90(f.ms, created));
    free(t);
    free(f.ms);
    free(f.ids);
    free(f.req);
    return rc == 0 && failed == 0 ? 0 : 1;
}

/* ---- exec ------------------------------------------------------------------------ */

enum { STREAM_TIMEOUT_S = 60 };

static char *TRUE_CMD[] = {"true"};

/* ExecSync of `true`; 0 when it ran and exited 0. */
static int exec_sync_true(crit_client *c, const char *ctr_id)
{
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = (char *)ctr_id;
    req.cmd = TRUE_CMD;
    req.n_cmd = 1;
    req.timeout = STREAM_TIMEOUT_S;
    crit_result r;
    grpc_status_code code =
        crit_call(c, RUNTIME("ExecSync"), &req.base, &runtime__v1__exec_sync_response__descriptor, CALL_MS, &r);
    int exit_code = code == GRPC_STATUS_OK ? ((Runtime__V1__ExecSyncResponse *)r.response)->exit_code : -1;
    if (code != GRPC_STATUS_OK)
        fprintf(stderr, "container_bench: ExecSync %.12s on %s: %d %s\n", ctr_id, sock, code, r.details);
    else if (exit_code != 0)
        fprintf(stderr, "container_bench: ExecSync true in %.12s on %s exited %d\n", ctr_id, sock, exit_code);
    crit_result_clear(&r);
    return exit_code == 0 ? 0 : -1;
}

/* The Exec RPC for `true` with stdout only; url gets the URL to connect to. */
static int exec_true_url(crit_client *c, const char *ctr_id, char *url, size_t size)
{
    Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
    req.container_id = (char *)ctr_id;
    req.cmd = TRUE_CMD;
    req.n_cmd = 1;
    req.stdout = true;
    crit_result r;
    grpc_status_code code =
        crit_call(c, RUNTIME("Exec"), &req.base, &runtime__v1__exec_response__descriptor, CALL_MS, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(url, size, "%s", ((Runtime__V1__ExecResponse *)r.response)->url);
    else
        fprintf(stderr, "container_bench: Exec %.12s on %s: %d %s\n", ctr_id, sock, code, r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

/* Reads a v4.channel.k8s.io session to its end: status gets what came on
 * the error channel (3), *at_ms when it first came. 0 once a status came. */
static int stream_status(crit_http_conn *w, char *status, size_t size, double *at_ms)
{
    uint8_t msg[4096];
    size_t len = 0, have = 0;
    int op;
    status[0] = '\0';
    *at_ms = 0;
    while ((op = crit_ws_next(w, msg, sizeof(msg), &len)) >= 0 && op != CK_WS_CLOSE) {
        if (op != CK_WS_BINARY || len < 2 || msg[0] != 3)
            continue; /* stdout (empty for `true`) or a control frame */
        if (*at_ms == 0)
            *at_ms = now_ms();
        size_t k = len - 1 < size - 1 - have ? len - 1 : size - 1 - have;
        memcpy(status + have, msg + 1, k);
        have += k;
        status[have] = '\0';
    }
    return have > 0 ? 0 : -1;
}

/* One streamed exec of `true`: *ms gets the time from the Exec call to
 * the exit status. 0 when the status said Success. */
static int stream_true(crit_client *c, const char *ctr_id, double *ms)
{
    char url[512], status[1024];
    double t0 = now_ms(), at = 0;
    if (exec_true_url(c, ctr_id, url, sizeof(url)) < 0)
        return -1;
    crit_http_conn *w = malloc(sizeof(*w)); /* 70 KiB: not on the stack */
    if (w == NULL)
        return -1;
    ck_err err;
    int rc = crit_ws_connect(w, url, "v4.channel.k8s.io", STREAM_TIMEOUT_S, &err);
    if (rc < 0) {
        fprintf(stderr, "container_bench: exec on %s: %s\n", sock, err.msg);
    } else {
        rc = stream_status(w, status, sizeof(status), &at);
        close(w->fd);
        if (rc < 0 || strstr(status, "\"status\":\"Success\"") == NULL) {
            fprintf(stderr, "container_bench: exec of true at %s ended with \"%s\"\n", url, status);
            rc = -1;
        }
    }
    free(w);
    *ms = at - t0;
    return rc;
}

/* n execs of `true` (ExecSync, or streamed), one after the other, each's
 * ms into ms; returns how many succeeded before the first failure. */
static int exec_series(crit_client *c, const char *ctr_id, int n, bool streamed, double *ms)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms(), t = 0;
        if (streamed ? stream_true(c, ctr_id, &t) < 0 : exec_sync_true(c, ctr_id) < 0)
            break;
        ms[ok++] = streamed ? t : now_ms() - t0;
    }
    return ok;
}

static int exec_bench(int n)
{
    crit_client *c = crit_connect(sock);
    double *sync = calloc((size_t)n * 2, sizeof(double));
    double *streamed = sync + n;
    pod_request p;
    pod_init(&p, "exec", 0);
    char pod_id[128] = "", ctr_id[128];
    int sync_ok = 0, stream_ok = 0;
    if (run_pod(c, &p, pod_id, sizeof(pod_id)) == 0 &&
        create_container(c, pod_id, &p, "sleep", ctr_id, sizeof(ctr_id)) == 0 && start_container(c, ctr_id) == 0) {
        sync_ok = exec_series(c, ctr_id, n, false, sync);
        if (sync_ok == n)
            stream_ok = exec_series(c, ctr_id, n, true, streamed);
    }
    if (pod_id[0] != '\0')
        remove_pod(c, pod_id);
    double sync_median = median(sync, sync_ok), stream_median = median(streamed, stream_ok);
    printf("container_bench socket=%s mode=exec n=%d sync_ok=%d stream_ok=%d sync_median_ms=%.2f sync_p90_ms=%.2f "
           "stream_median_ms=%.2f stream_p90_ms=%.2f\n",
           sock, n, sync_ok, stream_ok, sync_median, p90(sync, sync_ok), stream_median, p90(streamed, stream_ok));
    free(sync);
    crit_close(c);
    return sync_ok == n && stream_ok == n ? 0 : 1;
}

/* ---- log writing ---------------------------------------------------------------- */

/* The container's state, or -1 when ContainerStatus fails. */
static int container_state(crit_client *c, const char *id)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = (char *)id;
    crit_result r;
    grpc_status_code code = crit_call(c, RUNTIME("ContainerStatus"), &req.base,
                                      &runtime__v1__container_status_response__descriptor, CALL_MS, &r);
    int state = -1;
    if (code == GRPC_STATUS_OK)
        state = (int)((Runtime__V1__ContainerStatusResponse *)r.response)->status->state;
    crit_result_clear(&r);
    return state;
}

/* A chatty container: `lines` lines of LOG_LINE on stdout, through a pipe
 * as an application's logger writes them. */
#define LOG_LINE "a log line of sixty bytes, as a web server writes them: 200"

/* Starts one container printing `lines` lines and waits for its exit:
 * the ms from StartContainer's answer to the exit seen, or -1. The runtime
 * writes every line into the CRI log before the pipe takes more, so this
 * is the log writer's throughput. */
static double log_round(crit_client *c, const char *pod_id, pod_request *p, int round, int lines)
{
    char script[256], name[32], id[128];
    snprintf(script, sizeof(script), "yes '%s' | head -n %d", LOG_LINE, lines);
    snprintf(name, sizeof(name), "logger-%d", round);
    char *command[] = {"sh", "-c", script};
    if (create_command(c, pod_id, p, name, command, 3, id, sizeof(id)) < 0)
        return -1;
    double ms = -1;
    if (start_container(c, id) == 0) {
        double t0 = now_ms();
        int state;
        while ((state = container_state(c, id)) == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
            usleep(2000);
        if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
            ms = now_ms() - t0;
        else
            fprintf(stderr, "container_bench: logger %.12s on %s: state %d\n", id, sock, state);
    }
    remove_container(c, id);
    return ms;
}

static int log_bench(int rounds, int lines)
{
    crit_client *c = crit_connect(sock);
    double *ms = calloc((size_t)rounds, sizeof(double));
    pod_request p;
    pod_init(&p, "logs", 0);
    char pod_id[128] = "";
    int ok = 0;
    if (ms != NULL && run_pod(c, &p, pod_id, sizeof(pod_id)) == 0) {
        for (int i = 0; i < rounds; i++) {
            double t = log_round(c, pod_id, &p, i, lines);
            if (t < 0)
                break;
            ms[ok++] = t;
        }
        remove_pod(c, pod_id);
    }
    double mb = (double)lines * (double)sizeof(LOG_LINE) / (1024.0 * 1024.0);
    double med = median(ms, ok);
    printf("container_bench socket=%s mode=logs rounds=%d ok=%d lines=%d median_ms=%.1f lines_per_s=%.0f "
           "mb_per_s=%.1f\n",
           sock, rounds, ok, lines, med, med > 0 ? lines / (med / 1000.0) : 0, med > 0 ? mb / (med / 1000.0) : 0);
    free(ms);
    crit_close(c);
    return ok == rounds ? 0 : 1;
}

/* The 99th percentile of ms[0..n), sorted by median(). */
static double p99(const double *ms, int n)
{
    return n > 0 ? ms[(n * 99 - 1) / 100] : 0;
}

/* One unfiltered ListContainers (pods false) or ListPodSandbox (pods
 * true): *items gets how many the answer held. 0, or -1 (message printed). */
static int list_once(crit_client *c, bool pods, size_t *items)
{
    crit_result r;
    grpc_status_code code;
    if (pods) {
        Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
        code = crit_call(c, RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor,
                         CALL_MS, &r);
        if (code == GRPC_STATUS_OK)
            *items = ((Runtime__V1__ListPodSandboxResponse *)r.response)->n_items;
    } else {
        Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
        code = crit_call(c, RUNTIME("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor,
                         CALL_MS, &r);
        if (code == GRPC_STATUS_OK)
            *items = ((Runtime__V1__ListContainersResponse *)r.response)->n_containers;
    }
    if (code != GRPC_STATUS_OK)
        fprintf(stderr, "container_bench: %s on %s: %d %s\n", pods ? "ListPodSandbox" : "ListContainers", sock, code,
                r.details);
    crit_result_clear(&r);
    return code == GRPC_STATUS_OK ? 0 : -1;
}

/* k calls of one list, one after the other, each's ms into ms; returns how
 * many succeeded before the first failure. */
static int list_series(crit_client *c, bool pods, int k, double *ms, size_t *items)
{
    int ok = 0;
    for (int i = 0; i < k; i++) {
        double t0 = now_ms();
        if (list_once(c, pods, items) < 0)
            break;
        ms[ok++] = now_ms() - t0;
    }
    return ok;
}

static int list(int k, bool pods_too)
{
    crit_client *c = crit_connect(sock);
    double *ctr_ms = calloc((size_t)k * 2, sizeof(double));
    double *pod_ms = ctr_ms + k;
    size_t ctrs = 0, pods = 0;
    int ctr_ok = list_series(c, false, k, ctr_ms, &ctrs);
    int pod_ok = ctr_ok == k && pods_too ? list_series(c, true, k, pod_ms, &pods) : 0;
    double ctr_median = median(ctr_ms, ctr_ok), pod_median = median(pod_ms, pod_ok);
    printf("container_bench socket=%s mode=list calls=%d containers=%zu median_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
           "min_ms=%.2f pods=%zu pod_median_ms=%.2f pod_p99_ms=%.2f\n",
           sock, ctr_ok, ctrs, ctr_median, p90(ctr_ms, ctr_ok), p99(ctr_ms, ctr_ok), ctr_ok > 0 ? ctr_ms[0] : 0, pods,
           pod_median, p99(pod_ms, pod_ok));
    free(ctr_ms);
    crit_close(c);
    return ctr_ok == k && (pod_ok == k || !pods_too) ? 0 : 1;
}

/* clean: a few threads take the containers, then the pods, by index. */
typedef struct cleaner {
    Runtime__V1__ListContainersResponse *ctrs;
    Runtime__V1__ListPodSandboxResponse *pods;
    atomic_int next;
} cleaner;

static void *clean_one(void *arg)
{
    cleaner *w = arg;
    crit_client *c = crit_connect(sock);
    for (int k; (k = atomic_fetch_add(&w->next, 1)) >= 0;) {
        if (w->ctrs != NULL && (size_t)k < w->ctrs->n_containers)
            remove_container(c, w->ctrs->containers[k]->id);
        else if (w->pods != NULL && (size_t)k < w->pods->n_items)
            remove_pod(c, w->pods->items[k]->id);
        else
            break;
    }
    crit_close(c);
    return NULL;
}

/* Stops and removes every container (or pod); returns how many there were. */
static size_t clean_all(crit_client *c, bool containers)
{
    cleaner w = {0};
    crit_result r;
    grpc_status_code code;
    if (containers) {
        Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
        code = crit_call(c, RUNTIME("ListContainers"), &req.base, &runtime__v1__list_containers_response__descriptor,
                         CALL_MS, &r);
        w.ctrs = code == GRPC_STATUS_OK ? (void *)r.response : NULL;
    } else {
        Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
        code = crit_call(c, RUNTIME("ListPodSandbox"), &req.base, &runtime__v1__list_pod_sandbox_response__descriptor,
                         CALL_MS, &r);
        w.pods = code == GRPC_STATUS_OK ? (void *)r.response : NULL;
    }
    if (code == GRPC_STATUS_OK) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, clean_one, &w);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    size_t n = w.ctrs != NULL ? w.ctrs->n_containers : w.pods != NULL ? w.pods->n_items : 0;
    crit_result_clear(&r);
    return n;
}

static int clean(void)
{
    crit_client *c = crit_connect(sock);
    double t0 = now_ms();
    size_t ctrs = clean_all(c, true);
    size_t pods = clean_all(c, false);
    printf("container_bench socket=%s mode=clean containers=%zu pods=%zu wall_ms=%.1f\n", sock, ctrs, pods,
           now_ms() - t0);
    crit_close(c);
    return 0;
}

static int number(const char *s, int max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > max) {
        fprintf(stderr, "container_bench: expected a number from 1 to %d, got \"%s\"\n", max, s);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: container_bench SOCKET IMAGE LOGDIR seq|par|exec N\n"
                        "       container_bench SOCKET IMAGE LOGDIR logs ROUNDS LINES\n"
                        "       container_bench SOCKET IMAGE LOGDIR fill PODS TOTAL THREADS\n"
                        "       container_bench SOCKET list K [containers] | container_bench SOCKET clean\n");
        return 2;
    }
    sock = argv[1];
    int rc = 2;
    grpc_init();
    if (strcmp(argv[2], "clean") == 0) {
        rc = clean();
    } else if (strcmp(argv[2], "list") == 0) {
        rc = list(argc > 3 ? number(argv[3], 100000) : 20, argc <= 4 || strcmp(argv[4], "containers") != 0);
    } else if (argc >= 6) {
        image = argv[2];
        log_dir = argv[3];
        const char *mode = argv[4];
        if (strcmp(mode, "seq") == 0)
            rc = seq(number(argv[5], 100000));
        else if (strcmp(mode, "par") == 0)
            rc = par(number(argv[5], 10000));
        else if (strcmp(mode, "exec") == 0)
            rc = exec_bench(number(argv[5], 100000));
        else if (strcmp(mode, "logs") == 0 && argc >= 7)
            rc = log_bench(number(argv[5], 1000), number(argv[6], 100000000));
        else if (strcmp(mode, "fill") == 0 && argc >= 8)
            rc = fill(number(argv[5], 10000), number(argv[6], 100000), number(argv[7], 64));
        else
            fprintf(stderr, "container_bench: unknown mode \"%s\" (or missing arguments)\n", mode);
    } else {
        fprintf(stderr, "container_bench: missing arguments (see the usage)\n");
    }
    grpc_shutdown();
    return rc;
}
