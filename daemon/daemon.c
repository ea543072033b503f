/*
 * daemon: start-up, the signal loop, reload and shutdown.
 *
 * Start-up order: logging, signals blocked in every thread (the main thread
 * takes them with sigtimedwait), state directories, the state store, the
 * domains, and last the CRI socket, so a client that can connect finds
 * everything ready; only then READY=1 goes to systemd.
 *
 * Signals: SIGTERM/SIGINT stop; SIGHUP reloads what can change safely (log
 * level and format, registry configuration, a CNI rescan) atomically, a
 * broken file being refused with file:line while the old configuration
 * stays; SIGUSR1 logs every call in flight. The loop wakes on its own to ping
 * the systemd watchdog when one is set.
 *
 * Shutdown: event streams are told to end, the server stops accepting,
 * in-flight calls get a grace period and are then cancelled, the socket is
 * removed, the store is closed. Containers are not touched: they outlive the
 * daemon.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "containers/containers.h"
#include "containers/events.h"
#include "cri/server.h"
#include "cri/services.h"
#include "common/metrics.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "images/images.h"
#include "netcni/cni.h"
#include "netcni/netcni.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "streaming/server.h"

enum { SHUTDOWN_GRACE_MS = 5000, MAX_RELOADS_KEPT = 1024 };

typedef struct daemon {
    const ck_options *opt;
    ck_config *cfg;                       /* the configuration in force */
    ck_config *retired[MAX_RELOADS_KEPT]; /* earlier ones: handlers may still hold them */
    size_t n_retired;
    ck_store *store;
    ck_cni *cni;
    ck_event_hub *events;
    ck_images *images;
    ck_sandboxes *sandboxes;
    ck_containers *containers;
    ck_services svc;
    ck_cri_server *server;
    ck_metrics_server *metrics;
    ck_streaming *streaming;
} daemon_t;

static int apply_overrides(ck_config *cfg, const ck_options *opt, ck_err *err)
{
    if (opt->listen != NULL) {
        char buf[4200];
        const char *value = opt->listen;
        if (opt->listen[0] == '/') {
            snprintf(buf, sizeof(buf), "unix://%s", opt->listen);
            value = buf;
        }
        if (ck_config_set_string(&cfg->listen, value, err) < 0)
            return -1;
    }
    if (opt->root != NULL && ck_config_set_string(&cfg->root_dir, opt->root, err) < 0)
        return -1;
    if (opt->state != NULL && ck_config_set_string(&cfg->state_dir, opt->state, err) < 0)
        return -1;
    if (opt->log_level != NULL && ck_log_level_parse(opt->log_level, &cfg->log_level) < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "--log-level: unknown level \"%s\" (debug, info, warn, error)",
                          opt->log_level);
    if (ck_config_validate(cfg, err) < 0)
        return ck_err_wrap(err, "command-line overrides");
    return 0;
}

int ck_daemon_load_config(const ck_options *opt, ck_config **out, ck_err *err)
{
    ck_config *cfg = NULL;
    if (ck_config_load(opt->config_path, &cfg, err) < 0)
        return -1;
    if (apply_overrides(cfg, opt, err) < 0) {
        ck_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

static int make_dir(const char *path, mode_t mode, ck_err *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", path);
    return 0;
}

static void apply_logging(const ck_config *cfg)
{
    ck_log_set_level(cfg->log_level);
    ck_log_set_format(cfg->log_format);
}

/* A new node runs pods without any set-up: an empty conf_dir gets the
 * default bridge network (see cni.default_network). */
static int install_default_network(daemon_t *d, ck_err *err)
{
    const ck_config *cfg = d->cfg;
    if (!cfg->cni.default_network.install)
        return 0;
    char ipam[4200];
    snprintf(ipam, sizeof(ipam), "%s/cni/networks", cfg->state_dir);
    if (ck_cni_install_default(d->cni, cfg->cni.default_network.bridge, cfg->cni.default_network.subnet, ipam, err) < 0)
        return ck_err_wrap(err, "install the default CNI network");
    return 0;
}

static int start_domains(daemon_t *d, ck_err *err)
{
    const ck_config *cfg = d->cfg;
    ck_notify_status("opening state in %s", cfg->root_dir);
    /* The root dir is searchable (0711, as containerd's): the root
     * filesystems below are reached from inside pods with their own user
     * namespace; nothing in it can be listed. An existing one keeps the
     * mode its owner gave it (the user namespace probe then says why pods
     * cannot have one). */
    if (make_dir(cfg->root_dir, 0711, err) < 0 || make_dir(cfg->state_dir, 0700, err) < 0)
        return -1;
    if (ck_store_open(cfg->root_dir, &d->store, err) < 0)
        return ck_err_wrap(err, "open state store");
    if (ck_cni_new(cfg->cni.conf_dir, (const char *const *)cfg->cni.bin_dirs.items, cfg->cni.bin_dirs.len, &d->cni,
                   err) < 0)
        return -1;
    d->events = ck_event_hub_new();
    if (d->events == NULL)
        return ck_err_oom(err, "event hub");
    d->svc.config = cfg;
    d->svc.store = d->store;
    d->svc.cni = d->cni;
    if (ck_images_open(cfg, d->store, &d->images, err) < 0)
        return -1;
    ck_images_gc(d->images);
    if (install_default_network(d, err) < 0)
        return -1;
    if (ck_sandboxes_new(cfg, d->store, d->cni, d->images, &d->sandboxes, err) < 0)
        return ck_err_wrap(err, "pod sandboxes");
    if (ck_containers_new(cfg, d->store, d->images, d->sandboxes, d->events, &d->containers, err) < 0)
        return ck_err_wrap(err, "containers");
    d->svc.containers = d->containers;
    d->svc.events = d->events;
    d->svc.images = d->images;
    d->svc.sandboxes = d->sandboxes;
    const ck_streaming_options so = {.address = cfg->streaming.address,
                                     .port = cfg->streaming.port,
                                     .tls = cfg->streaming.tls,
                                     .tls_cert_file = cfg->streaming.tls_cert_file,
                                     .tls_key_file = cfg->streaming.tls_key_file};
    if (ck_streaming_start(&so, d->containers, &d->streaming, err) < 0)
        return ck_err_wrap(err, "streaming server");
    d->svc.streaming = d->streaming;
    if (cfg->metrics.address != NULL && ck_metrics_server_start(cfg->metrics.address, d->store, &d->metrics, err) < 0)
        return -1;
    return 0;
}

/* The metrics endpoint goes first (no scrape runs collectors over freed
 * domains) and the registry last (no domain records into freed families);
 * the streaming server before the containers its exec sessions use. */
static void stop_domains(daemon_t *d)
{
    ck_metrics_server_stop(d->metrics);
    ck_streaming_stop(d->streaming); /* its sessions use the containers */
    ck_containers_free(d->containers);
    ck_sandboxes_free(d->sandboxes);
    ck_event_hub_free(d->events);
    ck_images_free(d->images);
    ck_cni_free(d->cni);
    ck_store_close(d->store);
    ck_metrics_reset();
}

/* SIGHUP: all or nothing. A file that does not load leaves everything as it
 * was; one that loads is published whole, with the keys that need a restart
 * kept as running. */
static void reload(daemon_t *d)
{
    ck_err err;
    ck_err_clear(&err);
    ck_config *next = NULL;
    if (ck_daemon_load_config(d->opt, &next, &err) < 0) {
        ck_error("daemon", "reload refused, the running configuration stays: %s", err.msg);
        return;
    }
    char changed[512];
    if (ck_config_keep_restart_only(next, d->cfg, changed, sizeof(changed), &err) < 0) {
        ck_error("daemon", "reload refused, the running configuration stays: %s", err.msg);
        ck_config_free(next);
        return;
    }
    if (d->n_retired == MAX_RELOADS_KEPT) {
        ck_error("daemon", "reload refused: %d reloads in one run; restart cricket", MAX_RELOADS_KEPT);
        ck_config_free(next);
        return;
    }
    if (changed[0] != '\0')
        ck_warn("daemon", "reload: these keys need a restart and keep their running values: %s", changed);
    d->retired[d->n_retired++] = d->cfg;
    d->cfg = next;
    atomic_store(&d->svc.config, next);
    ck_images_set_config(d->images, next);
    apply_logging(next);
    ck_cni_status st;
    ck_cni_status_get(d->cni, &st); /* rescan now, so the log says what the node has */
    ck_info("daemon", "configuration reloaded from %s (log_level %s, %zu registry hosts, CNI %s)",
            next->source_path != NULL ? next->source_path : "built-in defaults", ck_log_level_name(next->log_level),
            next->registries.n_hosts, st.ready ? st.config_file : "not ready");
}

/* glibc gives each thread that finds the arenas busy a new one, up to 8
 * per core: after 110 pods started at once the daemon had 16, each keeping
 * the pages its few long-lived chunks pin after malloc_trim. Two arenas:
 * 110 pods settled, 24.8 -> 24.1 MB RSS (20 pods: 22.8 -> 22.5 MB). Two
 * keep two pollers from queueing on one lock; the calls spend their time
 * in runc and the kernel, not in malloc. Set before the first thread. */
enum { ARENAS_MAX = 2 };

static void limit_arenas(void)
{
    if (mallopt(M_ARENA_MAX, ARENAS_MAX) != 1)
        ck_warn("daemon", "mallopt(M_ARENA_MAX, %d) refused: the heap may hold more after bursts", ARENAS_MAX);
}

/* glibc's per-thread cache (tcache) keeps up to 7 free chunks of each
 * small size for every thread that freed them, out of malloc_trim's reach,
 * pinning the arena pages around them: 110 pods started at once and
 * settled, 25.4 -> 24.0 MB RSS (heap 2.4 -> 1.4 MB) without it. The
 * daemon's hot paths spend their time in runc, the plugins and the
 * kernel, not in malloc. Children inherit the setting: the monitors are
 * ours, runc and the plugins are Go. */
static const char TCACHE_TUNABLE[] = "glibc.malloc.tcache_count";

/* What to execute to run this binary again: the path /proc/self/exe
 * names while that file is still the one running (an upgrade may have
 * replaced it since), so the process keeps its name (ps, pgrep, the
 * journal take it from the file executed: /proc/self/exe would make it
 * "exe"); else /proc/self/exe itself. */
static const char *self_path(char *buf, size_t size)
{
    static const char proc_self[] = "/proc/self/exe";
    ssize_t n = readlink(proc_self, buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return proc_self;
    buf[n] = '\0';
    struct stat named, running;
    if (stat(buf, &named) < 0 || stat(proc_self, &running) < 0 || named.st_dev != running.st_dev ||
        named.st_ino != running.st_ino)
        return proc_self;
    return buf;
}

void ck_daemon_tune_malloc(char **argv)
{
    const char *was = getenv("GLIBC_TUNABLES");
    if (was != NULL && strstr(was, TCACHE_TUNABLE) != NULL)
        return; /* this is the exec (or the operator chose) */
    char value[1024];
    int n = snprintf(value, sizeof(value), "%s%s%s=0", was != NULL ? was : "", was != NULL && was[0] != '\0' ? ":" : "",
                     TCACHE_TUNABLE);
    if (n < 0 || (size_t)n >= sizeof(value) || setenv("GLIBC_TUNABLES", value, 1) < 0)
        return;
    char path[PATH_MAX];
    execv(self_path(path, sizeof(path)), argv);
    fprintf(stderr, "cricket: execute itself again without the malloc thread cache: %s (it stays)\n", strerror(errno));
    if (was != NULL)
        setenv("GLIBC_TUNABLES", was, 1);
    else
        unsetenv("GLIBC_TUNABLES");
}

/* glibc keeps the heap a burst of calls freed (110 pods started at once
 * left 11 MB free in 16 arenas before ARENAS_MAX) until something asks for
 * it back, and the node counts it against the daemon meanwhile: it is
 * given back every TRIM_EVERY_MS, which costs well under a millisecond. */
enum { TRIM_EVERY_MS = 10000 };

static void trim_heap(long long *last_ms)
{
    long long now = ck_mono_ms();
    if (now - *last_ms < TRIM_EVERY_MS)
        return;
    malloc_trim(0);
    *last_ms = now;
}

/* Waits for signals until one asks the daemon to stop; pings the watchdog
 * and trims the heap on the way. */
static void serve_signals(daemon_t *d, const sigset_t *set)
{
    uint64_t watchdog_usec = ck_notify_watchdog_usec();
    long long trimmed_ms = ck_mono_ms();
    for (;;) {
        struct timespec wait = {.tv_sec = TRIM_EVERY_MS / 1000};
        if (watchdog_usec > 0 && watchdog_usec / 2 < (uint64_t)TRIM_EVERY_MS * 1000) {
            uint64_t half = watchdog_usec / 2;
            wait.tv_sec = (time_t)(half / 1000000);
            wait.tv_nsec = (long)(half % 1000000) * 1000;
        }
        if (watchdog_usec > 0)
            ck_notify_watchdog();
        siginfo_t info;
        int sig = sigtimedwait(set, &info, &wait);
        trim_heap(&trimmed_ms);
        if (sig < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            ck_error("daemon", "sigtimedwait: %s", strerror(errno));
            return;
        }
        switch (sig) {
        case SIGTERM:
        case SIGINT:
            ck_info("daemon", "%s received from pid %d: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                    (int)info.si_pid);
            return;
        case SIGHUP:
            ck_info("daemon", "SIGHUP received: reloading the configuration");
            reload(d);
            break;
        case SIGUSR1:
            ck_info("daemon", "SIGUSR1 received: calls in flight follow");
            ck_cri_server_dump_calls(d->server);
            break;
        default: break;
        }
    }
}

static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void free_configs(daemon_t *d)
{
    for (size_t i = 0; i < d->n_retired; i++)
        ck_config_free(d->retired[i]);
    ck_config_free(d->cfg);
}

int ck_daemon_run(const ck_options *opt, ck_config *cfg)
{
    apply_logging(cfg);
    limit_arenas();
    sigset_t set;
    block_signals(&set);

    daemon_t *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        ck_error("daemon", "cannot start: out of memory");
        ck_config_free(cfg);
        return 1;
    }
    d->opt = opt;
    d->cfg = cfg;
    ck_err err;
    ck_err_clear(&err);
    grpc_init();
    int rc = 1;
    if (start_domains(d, &err) == 0) {
        ck_cri_server_opts sopts = {.socket_path = ck_config_listen_path(cfg), .svc = &d->svc};
        ck_notify_status("binding %s", cfg->listen);
        if (ck_cri_server_start(&sopts, &d->server, &err) == 0) {
            ck_info("daemon", "cricket %s serving CRI v1 on %s (root %s, state %s, config %s)", CK_VERSION, cfg->listen,
                    cfg->root_dir, cfg->state_dir, cfg->source_path != NULL ? cfg->source_path : "built-in defaults");
            ck_notify_ready();
            serve_signals(d, &set);
            ck_notify_stopping();
            ck_event_hub_close(d->events);
            ck_cri_server_stop(d->server, SHUTDOWN_GRACE_MS);
            ck_info("daemon", "stopped");
            rc = 0;
        }
    }
    if (rc != 0)
        ck_error("daemon", "cannot start: %s", err.msg);
    stop_domains(d);
    grpc_shutdown();
    free_configs(d);
    free(d);
    return rc;
}
