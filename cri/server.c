/*
 * server: listener, poller threads and shutdown of the CRI gRPC server.
 *
 * Every method of the table is registered with gRPC (payload read with the
 * initial batch) and always has one outstanding request; a catch-all
 * grpc_server_request_call takes any method we do not know and answers
 * UNIMPLEMENTED, so a newer client gets a clean status, never a hang. Each
 * outstanding request owns a pluck completion queue that becomes the call's
 * own queue once a call arrives (see call.c).
 *
 * Pollers: see server.h. Thread slots are joined either when a new thread
 * is started (reaping those that exited) or at stop.
 *
 * The socket: gRPC silently unlinks a unix socket path that another live
 * daemon serves, so before binding we take an exclusive flock on
 * "<socket>.lock" and refuse to start if it is held, and we refuse a socket
 * that still accepts connections (another program serving it).
 */
#include "cri/server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/stack.h"
#include "common/timeutil.h"
#include "cri/call.h"
#include "cri/methods.h"
#include "cri/packed_answer.h"
#include "cri/services.h"
#include "cri/status.h"

enum { DEFAULT_MIN_IDLE = 2, DEFAULT_MAX_IDLE = 8, DEFAULT_MAX_THREADS = 256 };

typedef struct thread_slot {
    pthread_t tid;
    bool used;
    bool finished;
} thread_slot;

struct ck_cri_server {
    grpc_server *grpc;
    grpc_completion_queue *cq;
    const ck_services *svc;
    const ck_method *methods;
    size_t n_methods;
    void **handles; /* gRPC's registration handle per method */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int idle, busy, threads, min_idle, max_idle, max_threads;
    thread_slot *slots;
    _Atomic bool stopping;
    bool shutdown_notified;
    char shutdown_tag;

    ck_metric *requests_total, *request_seconds;
    _Atomic uint64_t next_call_id;
    pthread_mutex_t active_mu; /* guards the list of calls in flight */
    ck_call *active;
    int lock_fd;
    char *socket_path;
    ck_packed_answer packed[CK_PACKED_KINDS]; /* the list answers kept */
};

/* One outstanding request: for a registered method, or the catch-all. */
typedef struct pending {
    const ck_method *method; /* NULL: catch-all */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details;
    grpc_completion_queue *call_cq;
} pending;

ck_packed_answer *ck_cri_server_packed_answer(ck_cri_server *srv, int kind)
{
    return kind >= 0 && kind < CK_PACKED_KINDS ? &srv->packed[kind] : NULL;
}

bool ck_cri_server_stopping(const ck_cri_server *srv)
{
    return atomic_load(&((ck_cri_server *)srv)->stopping);
}

static void pending_free(pending *p)
{
    if (p == NULL)
        return;
    grpc_metadata_array_destroy(&p->md);
    if (p->method == NULL)
        grpc_call_details_destroy(&p->details);
    if (p->payload != NULL)
        grpc_byte_buffer_destroy(p->payload);
    if (p->call_cq != NULL) {
        grpc_completion_queue_shutdown(p->call_cq);
        grpc_completion_queue_destroy(p->call_cq);
    }
    free(p);
}

static int arm(ck_cri_server *srv, const ck_method *method, void *handle, ck_err *err)
{
    pending *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ck_err_oom(err, "pending call");
    p->method = method;
    grpc_metadata_array_init(&p->md);
    p->call_cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call_error rc;
    if (method != NULL) {
        rc = grpc_server_request_registered_call(srv->grpc, handle, &p->call, &p->deadline, &p->md, &p->payload,
                                                 p->call_cq, srv->cq, p);
    } else {
        grpc_call_details_init(&p->details);
        rc = grpc_server_request_call(srv->grpc, &p->call, &p->details, &p->md, p->call_cq, srv->cq, p);
    }
    if (rc != GRPC_CALL_OK) {
        pending_free(p);
        return ck_err_set(err, CK_E_INTERNAL, 0, "request calls for %s: grpc error %d",
                          method != NULL ? method->path : "unknown methods", rc);
    }
    return 0;
}

static void *method_handle(ck_cri_server *srv, const ck_method *method)
{
    return method == NULL ? NULL : srv->handles[method - srv->methods];
}

static double elapsed_ms(const struct timespec *start)
{
    return ck_seconds_since(start) * 1e3;
}

/* Counts the call by method and status and records its latency. Unknown
 * methods are counted under one name: a client must not be able to grow the
 * registry without bound. */
void ck_cri_server_observe_call(ck_cri_server *srv, ck_call *call, int code)
{
    if (srv == NULL || call->observed || !ck_metrics_enabled())
        return;
    call->observed = true;
    double ms = elapsed_ms(&call->started);
    const char *method = call->server_method ? call->name : "unknown";
    const char *labels[] = {method, ck_status_name((grpc_status_code)code)};
    ck_metric_add(srv->requests_total, 1, labels);
    ck_metric_observe(srv->request_seconds, ms / 1e3, labels);
}

static void log_call(ck_cri_server *srv, ck_call *call, const ck_err *err, double ms)
{
    grpc_status_code code = err->kind == CK_E_NONE ? GRPC_STATUS_OK : ck_status_from_errkind(err->kind);
    ck_cri_server_observe_call(srv, call, code);
    ck_log_level level = CK_LOG_DEBUG;
    if (code == GRPC_STATUS_INTERNAL || code == GRPC_STATUS_UNKNOWN)
        level = CK_LOG_ERROR;
    else if (code != GRPC_STATUS_OK && code != GRPC_STATUS_NOT_FOUND && code != GRPC_STATUS_CANCELLED)
        level = CK_LOG_WARN;
    if (!ck_log_enabled(level))
        return;
    char fields[384];
    snprintf(fields, sizeof(fields), "rpc=%s call=%llu status=%s duration_ms=%.3f", call->name,
             (unsigned long long)call->id, ck_status_name(code), ms);
    if (code == GRPC_STATUS_OK)
        ck_log_fields(level, "cri", fields, "call done");
    else
        ck_log_fields(level, "cri", fields, "%s", err->msg);
}

static void active_add(ck_cri_server *srv, ck_call *call)
{
    pthread_mutex_lock(&srv->active_mu);
    call->active_prev = NULL;
    call->active_next = srv->active;
    if (srv->active != NULL)
        srv->active->active_prev = call;
    srv->active = call;
    pthread_mutex_unlock(&srv->active_mu);
}

static void active_remove(ck_cri_server *srv, ck_call *call)
{
    pthread_mutex_lock(&srv->active_mu);
    if (call->active_prev != NULL)
        call->active_prev->active_next = call->active_next;
    else
        srv->active = call->active_next;
    if (call->active_next != NULL)
        call->active_next->active_prev = call->active_prev;
    pthread_mutex_unlock(&srv->active_mu);
}

static void dispatch(ck_call *call, const ck_method *method, grpc_byte_buffer *payload, ck_err *err)
{
    if (method->unary == NULL && method->stream == NULL) {
        ck_err_set(err, CK_E_UNIMPLEMENTED, 0, "%s is not implemented by cricket %s", method->path, CK_VERSION);
        ck_call_finish(call, NULL, err);
        return;
    }
    ProtobufCMessage *req = ck_call_decode(call, method->input, payload, err);
    if (req == NULL) {
        ck_call_finish(call, NULL, err);
        return;
    }
    if (method->stream != NULL) {
        method->stream(call, req, err);
        ck_call_finish(call, NULL, err);
        return;
    }
    ProtobufCMessage *resp = NULL;
    if (method->unary(call, req, &resp, err) == 0 && resp == NULL && !call->has_packed)
        ck_err_set(err, CK_E_INTERNAL, 0, "%s: handler returned no response", method->name);
    ck_call_finish(call, err->kind == CK_E_NONE ? resp : NULL, err);
}

static void handle(ck_cri_server *srv, pending *p)
{
    ck_call call;
    ck_call_init(&call, srv, p->call, p->call_cq, p->deadline);
    clock_gettime(CLOCK_MONOTONIC, &call.started);
    call.id = atomic_fetch_add(&srv->next_call_id, 1) + 1;
    call.svc = srv->svc;
    char unknown[160];
    if (p->method != NULL) {
        call.method = p->method->path;
        call.name = p->method->name;
        call.server_method = true;
    } else {
        snprintf(unknown, sizeof(unknown), "%.*s", (int)GRPC_SLICE_LENGTH(p->details.method),
                 (const char *)GRPC_SLICE_START_PTR(p->details.method));
        call.method = unknown;
        call.name = unknown;
    }

    ck_err err;
    ck_err_clear(&err);
    active_add(srv, &call);
    if (ck_call_start(&call, &err) == 0) {
        if (p->method == NULL) {
            ck_err_set(&err, CK_E_UNIMPLEMENTED, 0, "unknown method %s", unknown);
            ck_call_finish(&call, NULL, &err);
        } else {
            dispatch(&call, p->method, p->payload, &err);
        }
    }
    active_remove(srv, &call);
    log_call(srv, &call, &err, elapsed_ms(&call.started));
    ck_call_release(&call);
    p->call = NULL;
}

static int spawn_poller(ck_cri_server *srv);

/* Called with mu held: joins the pollers that have exited (their slot's
 * finished is set as they leave, with nothing left to do but return), so
 * their stacks go back at once. */
static void join_finished(ck_cri_server *srv)
{
    for (int i = 0; i < srv->max_threads; i++) {
        thread_slot *s = &srv->slots[i];
        if (s->used && s->finished) {
            pthread_join(s->tid, NULL);
            s->used = false;
        }
    }
}

/* Called with mu held: a free slot, or -1. */
static int take_slot(ck_cri_server *srv)
{
    join_finished(srv);
    for (int i = 0; i < srv->max_threads; i++)
        if (!srv->slots[i].used)
            return i;
    return -1;
}

/* The stack a poller keeps mapped below its loop between calls. */
enum { POLLER_STACK_KEEP = 32 * 1024 };

/* A poller beyond min_idle that waited this long for a call exits. After
 * a burst the surplus ones (up to max_idle) stayed until the next burst,
 * each keeping its stack's pages and its malloc thread cache (glibc's
 * tcache: up to 7 free chunks of each size to 1 KB, ~230 KB when full,
 * pinning arena pages that malloc_trim cannot give back). Measured, 110
 * pods started at once, settled: 19 -> 13 threads, RSS 28.4 -> 27.8 MB.
 * Costs: the min_idle pollers wake every POLLER_IDLE_MS for nothing, and
 * the next burst starts its threads again (tens of microseconds each). */
enum { POLLER_IDLE_MS = 2000 };

typedef struct poller_arg {
    ck_cri_server *srv;
    int slot;
} poller_arg;

/* A poller leaving joins those that left before it: after a burst of calls
 * the surplus pollers exit together, and each held tens of kilobytes of
 * stack until the next spawn joined it (measured: 47 stacks, 1.7 MB, kept
 * after 50 pods started at once). At most the last one waits. */
static void poller_exit(ck_cri_server *srv, int slot)
{
    pthread_mutex_lock(&srv->mu);
    join_finished(srv);
    srv->threads--;
    srv->slots[slot].finished = true;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void *poller_main(void *arg)
{
    poller_arg a = *(poller_arg *)arg;
    free(arg);
    ck_cri_server *srv = a.srv;

    for (;;) {
        pthread_mutex_lock(&srv->mu);
        srv->idle++;
        pthread_mutex_unlock(&srv->mu);

        gpr_timespec until =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(POLLER_IDLE_MS, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(srv->cq, until, NULL);

        pthread_mutex_lock(&srv->mu);
        srv->idle--;
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            bool spare = srv->idle >= srv->min_idle;
            pthread_mutex_unlock(&srv->mu);
            if (!spare)
                continue;
            poller_exit(srv, a.slot);
            return NULL;
        }
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            pthread_mutex_unlock(&srv->mu);
            poller_exit(srv, a.slot);
            return NULL;
        }
        if (ev.tag == &srv->shutdown_tag) {
            srv->shutdown_notified = true;
            pthread_cond_broadcast(&srv->cv);
            pthread_mutex_unlock(&srv->mu);
            continue;
        }
        pending *p = ev.tag;
        if (!ev.success) {
            /* The server is shutting down: this request will get no call. */
            pthread_mutex_unlock(&srv->mu);
            pending_free(p);
            continue;
        }
        bool need_poller = srv->idle < srv->min_idle && srv->threads < srv->max_threads;
        pthread_mutex_unlock(&srv->mu);

        ck_err err;
        if (!atomic_load(&srv->stopping) && arm(srv, p->method, method_handle(srv, p->method), &err) < 0)
            ck_error("cri", "re-arm %s: %s", p->method ? p->method->path : "catch-all", err.msg);
        if (need_poller && spawn_poller(srv) < 0)
            ck_warn("cri", "no extra poller thread could be started; calls may queue");

        pthread_mutex_lock(&srv->mu);
        srv->busy++;
        pthread_mutex_unlock(&srv->mu);
        handle(srv, p);
        pending_free(p);
        /* A pod start's frames reach about 190 KB: each poller would keep
         * that much mapped for its whole life (8 pollers, 1.5 MB measured
         * after 110 pods), while what waiting for the next call uses stays. */
        ck_stack_release_unused(POLLER_STACK_KEEP);

        pthread_mutex_lock(&srv->mu);
        srv->busy--;
        pthread_cond_broadcast(&srv->cv);
        bool surplus = srv->idle >= srv->max_idle;
        pthread_mutex_unlock(&srv->mu);
        if (surplus) {
            poller_exit(srv, a.slot);
            return NULL;
        }
    }
}

static int spawn_poller(ck_cri_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    int slot = take_slot(srv);
    if (slot < 0 || srv->threads >= srv->max_threads) {
        pthread_mutex_unlock(&srv->mu);
        return -1;
    }
    poller_arg *arg = malloc(sizeof(*arg));
    if (arg == NULL) {
        pthread_mutex_unlock(&srv->mu);
        return -1;
    }
    arg->srv = srv;
    arg->slot = slot;
    /* Pollers block every signal: the daemon's main thread takes them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&srv->slots[slot].tid, NULL, poller_main, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(arg);
        pthread_mutex_unlock(&srv->mu);
        return -1;
    }
    srv->slots[slot].used = true;
    srv->slots[slot].finished = false;
    srv->threads++;
    pthread_mutex_unlock(&srv->mu);
    return 0;
}

/* Creates the socket's directory 0700 when missing (an existing one is left
 * as the operator made it). */
static int make_socket_dir(const char *socket_path, ck_err *err)
{
    _cleanup_free_ char *dir = strdup(socket_path);
    if (dir == NULL)
        return ck_err_oom(err, "socket dir");
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    if (ck_mkdir_p(dir, 0700, err) < 0)
        return ck_err_wrap(err, "socket directory");
    return 0;
}

static bool socket_is_live(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(addr.sun_path))
        return false;
    memcpy(addr.sun_path, path, len + 1);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
}

static int claim_socket(ck_cri_server *srv, const char *path, ck_err *err)
{
    struct sockaddr_un addr;
    if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path))
        return ck_err_set(err, CK_E_INVALID, 0, "socket path %s must be absolute and shorter than %zu bytes", path,
                          sizeof(addr.sun_path));
    if (make_socket_dir(path, err) < 0)
        return -1;

    char lock_path[PATH_MAX];
    snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
    srv->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (srv->lock_fd < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "open lock file %s", lock_path);
    if (flock(srv->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return ck_err_set(err, CK_E_EXISTS, 0, "another cricket is serving %s (lock %s is held)", path, lock_path);
        return ck_err_set(err, CK_E_INTERNAL, errno, "lock %s", lock_path);
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ck_err_set(err, CK_E_EXISTS, 0, "%s exists and is not a socket; refusing to replace it", path);
        if (socket_is_live(path))
            return ck_err_set(err, CK_E_EXISTS, 0, "%s is served by another process; refusing to replace it", path);
        if (unlink(path) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "remove stale socket %s", path);
        ck_info("cri", "removed stale socket %s left by an earlier run", path);
    }
    return 0;
}

static int bind_socket(ck_cri_server *srv, const char *path, ck_err *err)
{
    char addr[PATH_MAX + 8];
    snprintf(addr, sizeof(addr), "unix:%s", path);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    /* The socket is created by gRPC with the process umask: make it 0660 from
     * the start rather than fixing it after a window where others can connect. */
    mode_t old = umask(0117);
    int port = grpc_server_add_http2_port(srv->grpc, addr, creds);
    umask(old);
    grpc_server_credentials_release(creds);
    if (port == 0)
        return ck_err_set(err, CK_E_INTERNAL, 0, "listen on %s: gRPC could not bind it", addr);
    return 0;
}

static int register_methods(ck_cri_server *srv, ck_err *err)
{
    srv->methods = ck_methods(&srv->n_methods);
    srv->handles = calloc(srv->n_methods, sizeof(*srv->handles));
    if (srv->handles == NULL)
        return ck_err_oom(err, "method handles");
    for (size_t i = 0; i < srv->n_methods; i++) {
        const ck_method *m = &srv->methods[i];
        srv->handles[i] =
            grpc_server_register_method(srv->grpc, m->path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (srv->handles[i] == NULL)
            return ck_err_set(err, CK_E_INTERNAL, 0, "register method %s", m->path);
    }
    return 0;
}

static int arm_all(ck_cri_server *srv, ck_err *err)
{
    for (size_t i = 0; i < srv->n_methods; i++)
        if (arm(srv, &srv->methods[i], srv->handles[i], err) < 0)
            return -1;
    return arm(srv, NULL, NULL, err);
}

static void server_free(ck_cri_server *srv)
{
    if (srv->lock_fd >= 0)
        close(srv->lock_fd);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->active_mu);
    pthread_cond_destroy(&srv->cv);
    for (int i = 0; i < CK_PACKED_KINDS; i++)
        ck_packed_answer_free(&srv->packed[i]);
    free(srv->slots);
    free(srv->handles);
    free(srv->socket_path);
    free(srv);
}

static grpc_server *create_grpc_server(void)
{
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = CK_CRI_MAX_MESSAGE;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = CK_CRI_MAX_MESSAGE;
    grpc_channel_args channel_args = {.num_args = 2, .args = args};
    return grpc_server_create(&channel_args, NULL);
}

static bool calls_drained(const ck_cri_server *srv)
{
    return srv->shutdown_notified && srv->busy == 0;
}

/* Waits (mu held) until the server has shut down and no handler runs, or
 * until the absolute time `until` (NULL: no limit). */
static bool wait_drained(ck_cri_server *srv, const struct timespec *until)
{
    while (!calls_drained(srv)) {
        if (until == NULL)
            pthread_cond_wait(&srv->cv, &srv->mu);
        else if (pthread_cond_timedwait(&srv->cv, &srv->mu, until) == ETIMEDOUT)
            return calls_drained(srv);
    }
    return true;
}

/* With no poller running (a start that failed early), take the queue's
 * events here until the shutdown notification arrives. */
static void drain_without_pollers(ck_cri_server *srv)
{
    while (!srv->shutdown_notified) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        if (ev.tag == &srv->shutdown_tag)
            srv->shutdown_notified = true;
        else
            pending_free(ev.tag);
    }
}

/* Stops the transport and waits for every poller; used by stop and by a
 * start that fails half way. */
static void teardown(ck_cri_server *srv, bool started, int grace_ms)
{
    atomic_store(&srv->stopping, true);
    if (started) {
        grpc_server_shutdown_and_notify(srv->grpc, srv->cq, &srv->shutdown_tag);
        pthread_mutex_lock(&srv->mu);
        int threads = srv->threads;
        pthread_mutex_unlock(&srv->mu);
        if (threads == 0) {
            grpc_server_cancel_all_calls(srv->grpc);
            drain_without_pollers(srv);
        } else {
            struct timespec until = ck_time_after_ms(CLOCK_REALTIME, grace_ms);
            pthread_mutex_lock(&srv->mu);
            if (!wait_drained(srv, &until)) {
                ck_info("cri", "cancelling calls still running after %d ms", grace_ms);
                grpc_server_cancel_all_calls(srv->grpc);
                wait_drained(srv, NULL);
            }
            pthread_mutex_unlock(&srv->mu);
        }
    }
    grpc_server_destroy(srv->grpc);
    grpc_completion_queue_shutdown(srv->cq);
    pthread_mutex_lock(&srv->mu);
    int threads = srv->threads;
    pthread_mutex_unlock(&srv->mu);
    if (threads == 0) {
        for (;;) {
            grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            if (ev.type == GRPC_QUEUE_SHUTDOWN)
                break;
            if (ev.type == GRPC_OP_COMPLETE && ev.tag != &srv->shutdown_tag)
                pending_free(ev.tag);
        }
    }
    pthread_mutex_lock(&srv->mu);
    while (srv->threads > 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
    for (int i = 0; i < srv->max_threads; i++)
        if (srv->slots[i].used)
            pthread_join(srv->slots[i].tid, NULL);
    pthread_mutex_unlock(&srv->mu);
    grpc_completion_queue_destroy(srv->cq);
}

int ck_cri_server_start(const ck_cri_server_opts *opts, ck_cri_server **out, ck_err *err)
{
    ck_cri_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ck_err_oom(err, "cri server");
    srv->lock_fd = -1;
    srv->svc = opts->svc;
    srv->requests_total = ck_metric_counter("cricket_grpc_requests_total",
                                            "CRI calls handled, by method and gRPC status code", "method,code");
    srv->request_seconds = ck_metric_histogram(
        "cricket_grpc_request_duration_seconds", "Time to handle a CRI call, by method and gRPC status code",
        "method,code", ck_metrics_latency_buckets, ck_metrics_latency_buckets_len);
    srv->min_idle = opts->min_idle_pollers > 0 ? opts->min_idle_pollers : DEFAULT_MIN_IDLE;
    srv->max_idle = opts->max_idle_pollers > 0 ? opts->max_idle_pollers : DEFAULT_MAX_IDLE;
    srv->max_threads = opts->max_threads > 0 ? opts->max_threads : DEFAULT_MAX_THREADS;
    if (srv->max_idle < srv->min_idle)
        srv->max_idle = srv->min_idle;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->active_mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    for (int i = 0; i < CK_PACKED_KINDS; i++)
        ck_packed_answer_init(&srv->packed[i]);
    srv->slots = calloc((size_t)srv->max_threads, sizeof(*srv->slots));
    srv->socket_path = strdup(opts->socket_path);
    if (srv->slots == NULL || srv->socket_path == NULL) {
        server_free(srv);
        return ck_err_oom(err, "cri server");
    }
    if (claim_socket(srv, opts->socket_path, err) < 0) {
        server_free(srv);
        return -1;
    }

    srv->grpc = create_grpc_server();
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->grpc, srv->cq, NULL);
    if (register_methods(srv, err) < 0 || bind_socket(srv, opts->socket_path, err) < 0) {
        teardown(srv, false, 0);
        server_free(srv);
        return -1;
    }
    grpc_server_start(srv->grpc);
    if (chmod(opts->socket_path, 0660) < 0)
        ck_warn("cri", "chmod 0660 %s: %s", opts->socket_path, strerror(errno));
    if (arm_all(srv, err) < 0) {
        teardown(srv, true, 0);
        server_free(srv);
        return -1;
    }
    for (int i = 0; i < srv->min_idle; i++) {
        if (spawn_poller(srv) < 0) {
            teardown(srv, true, 0);
            server_free(srv);
            return ck_err_set(err, CK_E_INTERNAL, 0, "start poller threads");
        }
    }
    *out = srv;
    return 0;
}

void ck_cri_server_stop(ck_cri_server *srv, int grace_ms)
{
    if (srv == NULL)
        return;
    teardown(srv, true, grace_ms);
    /* gRPC removes the socket it created; make sure, without touching a path
     * that is no longer a socket. */
    struct stat st;
    if (lstat(srv->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(srv->socket_path);
    server_free(srv);
}

void ck_cri_server_dump_calls(ck_cri_server *srv)
{
    pthread_mutex_lock(&srv->active_mu);
    size_t n = 0;
    for (const ck_call *c = srv->active; c != NULL; c = c->active_next, n++) {
        double ms = elapsed_ms(&c->started);
        char fields[512];
        snprintf(fields, sizeof(fields), "rpc=%s call=%llu object=\"%s\" running_ms=%.1f", c->name,
                 (unsigned long long)c->id, c->object, ms);
        ck_log_fields(CK_LOG_INFO, "cri", fields, "call in flight");
    }
    pthread_mutex_unlock(&srv->active_mu);
    pthread_mutex_lock(&srv->mu);
    ck_info("cri", "%zu calls in flight; %d threads (%d idle, %d busy)", n, srv->threads, srv->idle, srv->busy);
    pthread_mutex_unlock(&srv->mu);
}
