/*
 * metrics: libmicrohttpd serves the exposition from its own thread; each
 * scrape runs the collectors, renders the registry, and hands the buffer to
 * the response. Only GET /metrics answers; anything else gets 404 or 405.
 */
#include "daemon/metrics.h"

#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/listen_addr.h"
#include "common/log.h"
#include "common/metrics.h"
#include "store/store.h"

struct ck_metrics_server {
    struct MHD_Daemon *mhd;
    ck_store *store;
    ck_metric *rss, *fds, *threads, *pods, *containers, *build;
};

/* ---- collectors ---------------------------------------------------------- */

static double status_field_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return 0;
    char line[256];
    double v = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtod(line + n + 1, NULL);
    fclose(f);
    return v;
}

static double count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* States by their stored values: the CRI's PodSandboxState (plus the
 * sandbox domain's CREATING, for a RunPodSandbox under way) and ContainerState. */
static const char *const pod_states[] = {"ready", "notready", "creating"};
static const char *const container_states[] = {"created", "running", "exited", "unknown"};

static void collect_objects(ck_metrics_server *srv)
{
    double pods[3] = {0}, containers[4] = {0};
    ck_err err;
    ck_pod_record *p = NULL;
    size_t np = 0;
    if (ck_store_pod_list(srv->store, &p, &np, &err) == 0) {
        for (size_t i = 0; i < np; i++)
            if (p[i].state >= 0 && p[i].state < 3)
                pods[p[i].state]++;
        ck_pod_records_free(p, np);
    }
    ck_container_record *c = NULL;
    size_t nc = 0;
    if (ck_store_container_list(srv->store, &c, &nc, &err) == 0) {
        for (size_t i = 0; i < nc; i++)
            if (c[i].state >= 0 && c[i].state < 4)
                containers[c[i].state]++;
        ck_container_records_free(c, nc);
    }
    for (size_t i = 0; i < 3; i++)
        ck_metric_set(srv->pods, pods[i], (const char *const[]){pod_states[i]});
    for (size_t i = 0; i < 4; i++)
        ck_metric_set(srv->containers, containers[i], (const char *const[]){container_states[i]});
}

static void collect(void *ctx)
{
    ck_metrics_server *srv = ctx;
    ck_metric_set(srv->rss, status_field_kib("VmRSS") * 1024, NULL);
    ck_metric_set(srv->threads, status_field_kib("Threads"), NULL);
    ck_metric_set(srv->fds, count_fds(), NULL);
    ck_metric_set(srv->build, 1, (const char *const[]){CK_VERSION, "v1"});
    collect_objects(srv);
}

static void define_families(ck_metrics_server *srv)
{
    srv->rss = ck_metric_gauge("cricket_process_resident_memory_bytes", "Resident memory of the daemon", NULL);
    srv->fds = ck_metric_gauge("cricket_process_open_fds", "Open file descriptors of the daemon", NULL);
    srv->threads = ck_metric_gauge("cricket_process_threads", "Threads of the daemon", NULL);
    srv->pods = ck_metric_gauge("cricket_pods", "Pod sandboxes by state", "state");
    srv->containers = ck_metric_gauge("cricket_containers", "Containers by state", "state");
    srv->build = ck_metric_gauge("cricket_build_info", "The running cricket's version and CRI API", "version,cri_api");
}

/* ---- HTTP ----------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)state;
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    size_t len = 0;
    char *text = ck_metrics_render(&len);
    if (text == NULL)
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* "host:port" or "[v6]:port" to a socket address for binding. */
static int resolve(const char *address, struct addrinfo **out, ck_err *err)
{
    char host[256];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof(host))
        return ck_err_set(err, CK_E_INVALID, 0, "metrics.address %s is not host:port", address);
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    return ck_listen_addr("metrics.address", host, colon + 1, false, out, err);
}

int ck_metrics_server_start(const char *address, ck_store *store, ck_metrics_server **out, ck_err *err)
{
    ck_metrics_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return ck_err_oom(err, "metrics server");
    srv->store = store;
    struct addrinfo *ai = NULL;
    if (resolve(address, &ai, err) < 0) {
        free(srv);
        return -1;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG; /* select() stops at fd 1023 */
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (srv->mhd == NULL) {
        free(srv);
        return ck_err_set(err, CK_E_UNAVAILABLE, 0,
                          "serve metrics on %s: cannot bind (in use, or not an address "
                          "of this host)",
                          address);
    }
    define_families(srv);
    ck_metrics_add_collector(collect, srv);
    ck_metrics_enable(true);
    ck_info("metrics", "serving Prometheus metrics on http://%s/metrics", address);
    *out = srv;
    return 0;
}

void ck_metrics_server_stop(ck_metrics_server *srv)
{
    if (srv == NULL)
        return;
    ck_metrics_enable(false);
    MHD_stop_daemon(srv->mhd);
    free(srv);
}
