/*
 * cricket: the daemon's entry point.
 *
 * Start-up order: configuration (file, then command-line overrides, then
 * validation: a bad configuration never starts a daemon), logging, signals
 * blocked in every thread (the main thread takes them with sigwaitinfo),
 * state directories, the state store, the domains, and last the CRI socket,
 * so a client that can connect finds everything ready.
 *
 * Shutdown on SIGTERM or SIGINT: event streams are told to end, the server
 * stops accepting, in-flight calls get a grace period and are then
 * cancelled, the socket is removed, the store is closed. Containers are not
 * touched: they outlive the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc.h>

#include "common/log.h"
#include "config/config.h"
#include "containers/events.h"
#include "cri/server.h"
#include "cri/services.h"
#include "images/images.h"
#include "netcni/netcni.h"
#include "store/store.h"

enum { SHUTDOWN_GRACE_MS = 5000 };

typedef struct options {
    const char *config_path;
    const char *listen;
    const char *root;
    const char *state;
    const char *log_level;
    bool print_config;
    const char *import_file; /* cricket image import FILE */
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cricket [command] [options]\n"
            "\n"
            "commands:\n"
            "  (none)          run the daemon\n"
            "  config          print the effective configuration as YAML and exit\n"
            "  image import FILE  load an OCI layout or docker-archive tarball into the image store\n"
            "\n"
            "options:\n"
            "  --config FILE     configuration file (default %s; absent is fine)\n"
            "  --listen ADDR     CRI socket, unix:///path (default %s)\n"
            "  --root DIR        persistent state directory (default %s)\n"
            "  --state DIR       volatile state directory (default %s)\n"
            "  --log-level LVL   debug, info, warn or error\n"
            "  --version         print the version and exit\n"
            "  --help            print this and exit\n",
            CK_CONFIG_DEFAULT_PATH, CK_CONFIG_DEFAULT_LISTEN, CK_CONFIG_DEFAULT_ROOT, CK_CONFIG_DEFAULT_STATE);
}

/* Returns 0 to go on, 1 to exit successfully (help, version), -1 on a usage error. */
static int parse_args(int argc, char **argv, options *opt)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"root", required_argument, NULL, 'r'},
        {"state", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'L'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opt->config_path = optarg; break;
        case 'l': opt->listen = optarg; break;
        case 'r': opt->root = optarg; break;
        case 's': opt->state = optarg; break;
        case 'L': opt->log_level = optarg; break;
        case 'V': printf("cricket %s (CRI v1)\n", CK_VERSION); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "config") == 0 && !opt->print_config) {
            opt->print_config = true;
        } else if (strcmp(argv[i], "image") == 0 && i + 2 < argc && strcmp(argv[i + 1], "import") == 0 &&
                   opt->import_file == NULL) {
            opt->import_file = argv[i + 2];
            i += 2;
        } else {
            fprintf(stderr, "cricket: unknown command or argument \"%s\"\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static int apply_overrides(ck_config *cfg, const options *opt, ck_err *err)
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

static int make_dir(const char *path, ck_err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return ck_err_set(err, CK_E_INTERNAL, errno, "create directory %s", path);
    return 0;
}

typedef struct daemon {
    ck_config *cfg;
    ck_store *store;
    ck_cni *cni;
    ck_event_hub *events;
    ck_images *images;
    ck_services svc;
    ck_cri_server *server;
} daemon_t;

static int start_domains(daemon_t *d, ck_err *err)
{
    const ck_config *cfg = d->cfg;
    if (make_dir(cfg->root_dir, err) < 0 || make_dir(cfg->state_dir, err) < 0)
        return -1;
    if (ck_store_open(cfg->root_dir, &d->store, err) < 0)
        return ck_err_wrap(err, "open state store");
    if (ck_cni_new(cfg->cni.conf_dir, (const char *const *)cfg->cni.bin_dirs.items, cfg->cni.bin_dirs.len, &d->cni,
                   err) < 0)
        return -1;
    d->events = ck_event_hub_new();
    if (d->events == NULL)
        return ck_err_oom(err, "event hub");
    if (ck_images_open(cfg, d->store, &d->images, err) < 0)
        return -1;
    ck_images_gc(d->images);
    d->svc = (ck_services){.config = cfg, .store = d->store, .cni = d->cni, .events = d->events};
    d->svc.images = d->images;
    return 0;
}

static void stop_domains(daemon_t *d)
{
    ck_event_hub_free(d->events);
    ck_images_free(d->images);
    ck_cni_free(d->cni);
    ck_store_close(d->store);
}

/* Waits for signals until one asks the daemon to stop. */
static void serve_signals(const sigset_t *set)
{
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(set, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            ck_error("daemon", "sigwaitinfo: %s", strerror(errno));
            return;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            ck_info("daemon", "%s received from pid %d: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                    (int)info.si_pid);
            return;
        }
        if (sig == SIGHUP)
            ck_warn("daemon", "SIGHUP: this version cannot reload its configuration; restart cricket to apply changes");
    }
}

static int run_daemon(ck_config *cfg)
{
    ck_log_set_level(cfg->log_level);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    daemon_t d = {.cfg = cfg};
    ck_err err;
    ck_err_clear(&err);
    grpc_init();
    int rc = 1;
    if (start_domains(&d, &err) == 0) {
        ck_cri_server_opts opts = {.socket_path = ck_config_listen_path(cfg), .svc = &d.svc};
        if (ck_cri_server_start(&opts, &d.server, &err) == 0) {
            ck_info("daemon", "cricket %s serving CRI v1 on %s (root %s, state %s, config %s)", CK_VERSION, cfg->listen,
                    cfg->root_dir, cfg->state_dir, cfg->source_path != NULL ? cfg->source_path : "built-in defaults");
            serve_signals(&set);
            ck_event_hub_close(d.events);
            ck_cri_server_stop(d.server, SHUTDOWN_GRACE_MS);
            ck_info("daemon", "stopped");
            rc = 0;
        }
    }
    if (rc != 0)
        ck_error("daemon", "cannot start: %s", err.msg);
    stop_domains(&d);
    grpc_shutdown();
    return rc;
}

/* cricket image import FILE: beside a running daemon or without one (the
 * store is shared through SQLite); prints the ids of the images loaded. */
static int run_import(const ck_config *cfg, const char *file)
{
    ck_log_set_level(cfg->log_level);
    ck_err err;
    ck_err_clear(&err);
    ck_store *store = NULL;
    ck_images *images = NULL;
    char **ids = NULL;
    size_t n = 0;
    int rc = 1;
    if (make_dir(cfg->root_dir, &err) == 0 && ck_store_open(cfg->root_dir, &store, &err) == 0 &&
        ck_images_open(cfg, store, &images, &err) == 0 && ck_images_import(images, file, &ids, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", ids[i]);
        rc = 0;
    }
    if (rc != 0)
        fprintf(stderr, "cricket image import: %s\n", err.msg);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    ck_images_free(images);
    ck_store_close(store);
    return rc;
}

int main(int argc, char **argv)
{
    options opt = {0};
    int r = parse_args(argc, argv, &opt);
    if (r != 0)
        return r > 0 ? 0 : 2;

    ck_config *cfg = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_config_load(opt.config_path, &cfg, &err) < 0 || apply_overrides(cfg, &opt, &err) < 0) {
        fprintf(stderr, "cricket: configuration: %s\n", err.msg);
        ck_config_free(cfg);
        return 2;
    }
    int rc;
    if (opt.import_file != NULL) {
        rc = run_import(cfg, opt.import_file);
    } else if (opt.print_config) {
        rc = ck_config_emit(cfg, stdout, &err) < 0 ? 1 : 0;
        if (rc != 0)
            fprintf(stderr, "cricket config: %s\n", err.msg);
    } else {
        rc = run_daemon(cfg);
    }
    ck_config_free(cfg);
    return rc;
}
