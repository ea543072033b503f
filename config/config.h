/*
 * config: the node's configuration, read from YAML (default
 * /etc/cricket/cricket.yaml) over embedded defaults.
 *
 * Loading is all-or-nothing: an unknown key, a value of the wrong type or an
 * invalid value fails the load with an error naming file, line and key, and
 * the caller keeps whatever configuration it had. A missing file is fine when
 * the path is the default one (the daemon runs on its embedded defaults), and
 * an error when the operator named the file.
 *
 * Every string is owned by the ck_config and freed by ck_config_free.
 */
#ifndef CK_CONFIG_CONFIG_H
#define CK_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "common/log.h"

#define CK_CONFIG_DEFAULT_PATH "/etc/cricket/cricket.yaml"
#define CK_CONFIG_DEFAULT_LISTEN "unix:///run/cricket/cricket.sock"
#define CK_CONFIG_DEFAULT_ROOT "/var/lib/cricket"
#define CK_CONFIG_DEFAULT_STATE "/run/cricket"
#define CK_CONFIG_DEFAULT_CNI_CONF_DIR "/etc/cni/net.d"
#define CK_CONFIG_DEFAULT_CNI_BRIDGE "cricket0"
#define CK_CONFIG_DEFAULT_CNI_SUBNET "10.88.0.0/16"
/* Seconds a runtime's `create` may take before it is killed: well below the
 * kubelet's 2-minute runtime request timeout, so a hung runtime fails the
 * call with its own error, far above runc's usual tens of milliseconds. */
#define CK_CONFIG_DEFAULT_CREATE_TIMEOUT 60

typedef enum ck_cgroup_driver {
    CK_CGROUP_CGROUPFS = 0,
    CK_CGROUP_SYSTEMD,
} ck_cgroup_driver;

typedef struct ck_strv {
    char **items;
    size_t len;
} ck_strv;

/* One OCI runtime handler: the name the kubelet passes as runtime_handler. */
typedef struct ck_runtime_handler {
    char *name;              /* "runc", "crun", or the operator's */
    char *path;              /* absolute path of the binary */
    char *type;              /* "oci": an OCI runtime CLI (runc, crun, youki) */
    char *root;              /* the runtime's --root state dir; NULL = the runtime's default */
    ck_strv extra_args;      /* passed before the verb on every invocation */
    unsigned create_timeout; /* seconds `create` may take before it is killed (1..3600) */
} ck_runtime_handler;

/* Per-registry-host settings, keyed by host[:port] ("docker.io", "127.0.0.1:5000"). */
typedef struct ck_registry_host {
    char *host;
    ck_strv mirrors; /* endpoints tried first, in order: "https://mirror.example" */
    bool insecure;   /* plain HTTP, or HTTPS without certificate verification */
    char *ca_file;   /* extra CA bundle for this host; NULL = none */
    char *username;  /* basic auth, used for this host's token or basic challenge */
    char *password;
    char *auth; /* base64 "user:password", as in a docker config */
    char *identity_token;
} ck_registry_host;

typedef struct ck_config {
    char *source_path; /* the file that was read, NULL when none was */

    char *listen;    /* "unix:///run/cricket/cricket.sock" */
    char *root_dir;  /* persistent state: database, content, layers */
    char *state_dir; /* volatile state: socket, netns pins, monitor sockets */
    ck_log_level log_level;
    ck_log_format log_format;
    ck_cgroup_driver cgroup_driver;

    char *default_runtime;        /* a name present in runtimes */
    ck_runtime_handler *runtimes; /* defaults: runc and crun where installed */
    size_t n_runtimes;

    struct {
        char *conf_dir;   /* /etc/cni/net.d */
        ck_strv bin_dirs; /* /opt/cni/bin, /usr/lib/cni */
        /* Written to conf_dir when it holds no configuration at start-up:
         * bridge + host-local + portmap + bandwidth. */
        struct {
            bool install; /* true */
            char *bridge; /* "cricket0": a Linux interface name */
            char *subnet; /* "10.88.0.0/16": IPv4 or IPv6 CIDR, or "v4,v6" for dual stack */
        } default_network;
    } cni;

    struct {
        char *address; /* 127.0.0.1 */
        unsigned port; /* 0 = pick a free port */
        /* HTTPS. Off by default; a key pair given turns it on unless the
         * file says tls: false; tls: true without a pair serves an
         * ephemeral self-signed certificate made at start. */
        bool tls;
        char *tls_cert_file; /* PEM; with tls_key_file, both or neither */
        char *tls_key_file;  /* PEM, unencrypted */
    } streaming;

    struct {
        ck_strv ca_dirs; /* <dir>/<host>/ *.crt, as /etc/containerd/certs.d or /etc/docker/certs.d */
        ck_registry_host *hosts;
        size_t n_hosts;
    } registries;

    struct {
        char *image; /* NULL = the built-in cricket-pause; else an image reference */
        /* A pod whose containers have their own PID namespaces runs no
         * pause: its IPC and UTS namespaces are pinned (default yes). */
        bool pin_namespaces;
    } pause;

    struct {
        char *address; /* "127.0.0.1:9099" serves Prometheus metrics; NULL = off */
    } metrics;

    struct {
        unsigned pull_progress_timeout;    /* seconds without a byte before a pull fails (1..3600) */
        unsigned max_concurrent_downloads; /* layers fetched, each unpacked as it arrives, at once per pull (1..64) */
        bool allow_device_nodes;           /* create device nodes found in layers (default no) */
    } images;
} ck_config;

/* The commented default configuration file (config/cricket.yaml), as
 * installed at /etc/cricket/cricket.yaml and printed by
 * `cricket config --default`. Every key in it is commented out. */
extern const char ck_config_default_yaml[];

/* Loads path over the embedded defaults. path NULL means the default path,
 * whose absence is not an error. On failure *out is untouched and err says
 * "<file>:<line>: <key>: <what is wrong>" (kind CK_E_INVALID), or names the
 * file and errno for I/O errors. */
int ck_config_load(const char *path, ck_config **out, ck_err *err);

/* Loads YAML text (len bytes, not necessarily NUL-terminated) over the
 * embedded defaults, as ck_config_load does with a file's contents; name is
 * the file name errors start with. The fuzz target feeds this. */
int ck_config_load_text(const char *name, const char *text, size_t len, ck_config **out, ck_err *err);

/* The embedded defaults alone (runtimes found on this host). */
int ck_config_defaults(ck_config **out, ck_err *err);

/* Checks cross-field rules (default_runtime names a handler, paths are
 * absolute, listen is unix://...). Called by ck_config_load; call it again
 * after applying command-line overrides. */
int ck_config_validate(const ck_config *cfg, ck_err *err);

/* Replaces a string field with a copy of value (frees the old one). */
int ck_config_set_string(char **field, const char *value, ck_err *err);

/* Prints the effective configuration as YAML that ck_config_load reads back
 * to an equal configuration. */
int ck_config_emit(const ck_config *cfg, FILE *out, ck_err *err);

const ck_runtime_handler *ck_config_find_runtime(const ck_config *cfg, const char *name);
const ck_registry_host *ck_config_find_registry(const ck_config *cfg, const char *host);

/* The socket path of a "unix://" listen address (a pointer into listen), or
 * NULL if the address is not unix://. */
const char *ck_config_listen_path(const ck_config *cfg);

/* For a reload (SIGHUP): makes `next` keep the running value of every key
 * that cannot change without a restart (listen, directories, runtimes, CNI
 * directories, streaming, pause, metrics, cgroup driver), and lists in
 * `changed` (comma-separated) each such key the new file tried to change.
 * What remains different is what the reload applies: log level and format,
 * registries, images.* (pull settings). */
int ck_config_keep_restart_only(ck_config *next, const ck_config *running, char *changed, size_t cap, ck_err *err);

void ck_config_free(ck_config *cfg);

#endif
