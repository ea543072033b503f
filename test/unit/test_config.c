/*
 * test_config: loading, validating and printing the node configuration.
 *
 * Each error case writes a small YAML file to /tmp and asserts the whole
 * message, "<file>:<line>: <key.path>: <what>", so a wrong line or key path
 * fails the test. The full fixture (test/fixtures/config/full.yaml) sets every
 * key; it is found relative to this source file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

#define TEMP_TEMPLATE "/tmp/test_config.XXXXXX"

static ck_config sentinel_storage;
#define SENTINEL (&sentinel_storage)

/* ---- helpers ---------------------------------------------------------------- */

static void write_temp(char path[static sizeof(TEMP_TEMPLATE)], const char *text)
{
    memcpy(path, TEMP_TEMPLATE, sizeof(TEMP_TEMPLATE));
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Loads text from a temp file; the file is removed before returning. */
static int load_text(const char *text, ck_config **out, ck_err *err, char *path_out)
{
    char path[sizeof(TEMP_TEMPLATE)];
    write_temp(path, text);
    int r = ck_config_load(path, out, err);
    unlink(path);
    if (path_out != NULL)
        memcpy(path_out, path, sizeof(path)); /* callers pass a TEMP_TEMPLATE-sized buffer */
    return r;
}

static ck_config *load_ok(const char *text)
{
    ck_config *cfg = NULL;
    ck_err err = {0};
    int r = load_text(text, &cfg, &err, NULL);
    if (r != 0)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Asserts that text fails to load with kind and "<file>:" + expected. */
static void expect_error(const char *text, ck_errkind kind, const char *expected)
{
    char path[sizeof(TEMP_TEMPLATE)];
    char want[CK_ERR_MSG_MAX];
    ck_config *cfg = SENTINEL;
    ck_err err = {0};

    assert_int_equal(load_text(text, &cfg, &err, path), -1);
    assert_ptr_equal(cfg, SENTINEL);
    snprintf(want, sizeof(want), "%s:%s", path, expected);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.kind, kind);
}

#define expect_invalid(text, expected) expect_error((text), CK_E_INVALID, (expected))

/* The runtime search the defaults promise, done independently. */
static const char *find_on_host(const char *name, char *buf, size_t cap)
{
    static const char *const dirs[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        struct stat st;
        snprintf(buf, cap, "%s/%s", dirs[i], name);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

static void fixture_path(char *buf, size_t cap, const char *name)
{
    /* __FILE__ is .../test/unit/test_config.c; fixtures are in .../test/fixtures/config. */
    const char *src = __FILE__;
    const char *unit = strstr(src, "unit/test_config.c");
    assert_non_null(unit);
    snprintf(buf, cap, "%.*sfixtures/config/%s", (int)(unit - src), src, name);
}

static void assert_strv(const ck_strv *v, size_t n, const char *const *items)
{
    assert_int_equal(v->len, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v->items[i], items[i]);
}

#define ASSERT_STRV(v, ...)                                        \
    do {                                                           \
        static const char *const want_[] = {__VA_ARGS__};          \
        assert_strv((v), sizeof(want_) / sizeof(want_[0]), want_); \
    } while (0)

static void assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_non_null(got), assert_string_equal(got, want);
}

static void assert_strv_equal(const ck_strv *a, const ck_strv *b)
{
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++)
        assert_string_equal(a->items[i], b->items[i]);
}

/* Every field but source_path. */
static void assert_config_equal(const ck_config *a, const ck_config *b)
{
    assert_string_equal(a->listen, b->listen);
    assert_string_equal(a->root_dir, b->root_dir);
    assert_string_equal(a->state_dir, b->state_dir);
    assert_int_equal(a->log_level, b->log_level);
    assert_int_equal(a->log_format, b->log_format);
    assert_str_or_null(a->metrics.address, b->metrics.address);
    assert_int_equal(a->cgroup_driver, b->cgroup_driver);
    assert_string_equal(a->default_runtime, b->default_runtime);
    assert_int_equal(a->n_runtimes, b->n_runtimes);
    for (size_t i = 0; i < a->n_runtimes; i++) {
        const ck_runtime_handler *x = &a->runtimes[i], *y = &b->runtimes[i];
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->path, y->path);
        assert_string_equal(x->type, y->type);
        assert_str_or_null(x->root, y->root);
        assert_strv_equal(&x->extra_args, &y->extra_args);
        assert_int_equal(x->create_timeout, y->create_timeout);
    }
    assert_string_equal(a->cni.conf_dir, b->cni.conf_dir);
    assert_strv_equal(&a->cni.bin_dirs, &b->cni.bin_dirs);
    assert_int_equal(a->cni.default_network.install, b->cni.default_network.install);
    assert_string_equal(a->cni.default_network.bridge, b->cni.default_network.bridge);
    assert_string_equal(a->cni.default_network.subnet, b->cni.default_network.subnet);
    assert_string_equal(a->streaming.address, b->streaming.address);
    assert_int_equal(a->streaming.port, b->streaming.port);
    assert_int_equal(a->streaming.tls, b->streaming.tls);
    assert_str_or_null(a->streaming.tls_cert_file, b->streaming.tls_cert_file);
    assert_str_or_null(a->streaming.tls_key_file, b->streaming.tls_key_file);
    assert_int_equal(a->images.pull_progress_timeout, b->images.pull_progress_timeout);
    assert_int_equal(a->images.max_concurrent_downloads, b->images.max_concurrent_downloads);
    assert_int_equal(a->images.allow_device_nodes, b->images.allow_device_nodes);
    assert_strv_equal(&a->registries.ca_dirs, &b->registries.ca_dirs);
    assert_int_equal(a->registries.n_hosts, b->registries.n_hosts);
    for (size_t i = 0; i < a->registries.n_hosts; i++) {
        const ck_registry_host *x = &a->registries.hosts[i], *y = &b->registries.hosts[i];
        assert_string_equal(x->host, y->host);
        assert_strv_equal(&x->mirrors, &y->mirrors);
        assert_int_equal(x->insecure, y->insecure);
        assert_str_or_null(x->ca_file, y->ca_file);
        assert_str_or_null(x->username, y->username);
        assert_str_or_null(x->password, y->password);
        assert_str_or_null(x->auth, y->auth);
        assert_str_or_null(x->identity_token, y->identity_token);
    }
    assert_str_or_null(a->pause.image, b->pause.image);
    assert_int_equal(a->pause.pin_namespaces, b->pause.pin_namespaces);
}

/* Emits cfg into a malloc'd string. */
static char *emit_to_string(const ck_config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    ck_err err = {0};
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (ck_config_emit(cfg, f, &err) != 0)
        fail_msg("emit failed: %s", err.msg);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Emits cfg to a file, loads it back, and checks the two are equal. */
static void assert_round_trip(const ck_config *cfg)
{
    char *text = emit_to_string(cfg);
    ck_config *back = load_ok(text);
    assert_config_equal(cfg, back);
    char *again = emit_to_string(back);
    assert_string_equal(text, again);
    free(again);
    free(text);
    ck_config_free(back);
}

/* ---- defaults and missing files ------------------------------------------------ */

static void assert_defaults(const ck_config *cfg)
{
    char runc[64], crun[64];
    const char *runc_path = find_on_host("runc", runc, sizeof(runc));
    const char *crun_path = find_on_host("crun", crun, sizeof(crun));

    assert_string_equal(cfg->listen, "unix:///run/cricket/cricket.sock");
    assert_string_equal(cfg->root_dir, "/var/lib/cricket");
    assert_string_equal(cfg->state_dir, "/run/cricket");
    assert_int_equal(cfg->log_level, CK_LOG_INFO);
    assert_int_equal(cfg->log_format, CK_LOG_TEXT);
    assert_null(cfg->metrics.address);
    assert_int_equal(cfg->cgroup_driver, CK_CGROUP_CGROUPFS);
    assert_string_equal(cfg->cni.conf_dir, "/etc/cni/net.d");
    ASSERT_STRV(&cfg->cni.bin_dirs, "/opt/cni/bin", "/usr/lib/cni");
    assert_string_equal(cfg->streaming.address, "127.0.0.1");
    assert_int_equal(cfg->streaming.port, 0);
    assert_int_equal(cfg->registries.ca_dirs.len, 0);
    assert_int_equal(cfg->registries.n_hosts, 0);
    assert_null(cfg->pause.image);
    assert_true(cfg->pause.pin_namespaces);

    size_t n = (runc_path != NULL) + (crun_path != NULL);
    assert_int_equal(cfg->n_runtimes, n);
    const ck_runtime_handler *rt = ck_config_find_runtime(cfg, "runc");
    assert_true((rt != NULL) == (runc_path != NULL));
    if (rt != NULL) {
        assert_string_equal(rt->path, runc_path);
        assert_string_equal(rt->type, "oci");
        assert_null(rt->root);
        assert_int_equal(rt->extra_args.len, 0);
    }
    rt = ck_config_find_runtime(cfg, "crun");
    assert_true((rt != NULL) == (crun_path != NULL));
    if (rt != NULL) {
        assert_string_equal(rt->path, crun_path);
        assert_string_equal(rt->type, "oci");
    }
    assert_string_equal(cfg->default_runtime, runc_path == NULL && crun_path != NULL ? "crun" : "runc");
}

static void test_defaults(void **state)
{
    (void)state;
    ck_config *cfg = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_defaults(&cfg, &err), 0);
    assert_defaults(cfg);
    assert_null(cfg->source_path);
    assert_int_equal(ck_config_validate(cfg, &err), 0);
    ck_config_free(cfg);
}

static void test_missing_default_path_gives_defaults(void **state)
{
    (void)state;
    if (access(CK_CONFIG_DEFAULT_PATH, F_OK) == 0 || errno != ENOENT)
        skip(); /* this host has a real config file */
    ck_config *cfg = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_load(NULL, &cfg, &err), 0);
    assert_defaults(cfg);
    assert_null(cfg->source_path);
    ck_config_free(cfg);
}

static void test_missing_explicit_path_fails(void **state)
{
    (void)state;
    ck_config *cfg = SENTINEL;
    ck_err err = {0};
    assert_int_equal(ck_config_load("/nonexistent/cricket-test.yaml", &cfg, &err), -1);
    assert_ptr_equal(cfg, SENTINEL);
    assert_int_equal(err.kind, CK_E_NOT_FOUND);
    assert_int_equal(err.errnum, ENOENT);
    assert_string_equal(err.msg, "read config file /nonexistent/cricket-test.yaml: No such file or directory");
}

static void test_directory_path_fails(void **state)
{
    (void)state;
    ck_config *cfg = SENTINEL;
    ck_err err = {0};
    assert_int_equal(ck_config_load("/tmp", &cfg, &err), -1);
    assert_ptr_equal(cfg, SENTINEL);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_int_equal(err.errnum, EISDIR);
    assert_string_equal(err.msg, "read config file /tmp: Is a directory");
}

static void test_empty_file_is_defaults(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "# only a comment\n", "---\n", "~\n", "---\n...\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char path[sizeof(TEMP_TEMPLATE)];
        ck_config *cfg = NULL;
        ck_err err = {0};
        assert_int_equal(load_text(texts[i], &cfg, &err, path), 0);
        assert_defaults(cfg);
        assert_string_equal(cfg->source_path, path);
        ck_config_free(cfg);
    }
}

/* ---- good files ---------------------------------------------------------------- */

static void test_full_fixture(void **state)
{
    (void)state;
    char path[4096];
    ck_config *cfg = NULL;
    ck_err err = {0};
    fixture_path(path, sizeof(path), "full.yaml");
    if (ck_config_load(path, &cfg, &err) != 0)
        fail_msg("load %s: %s", path, err.msg);

    assert_string_equal(cfg->source_path, path);
    assert_string_equal(cfg->listen, "unix:///run/cricket-test/cricket.sock");
    assert_string_equal(ck_config_listen_path(cfg), "/run/cricket-test/cricket.sock");
    assert_string_equal(cfg->root_dir, "/var/lib/cricket-test");
    assert_string_equal(cfg->state_dir, "/run/cricket-test");
    assert_int_equal(cfg->log_level, CK_LOG_DEBUG);
    assert_int_equal(cfg->log_format, CK_LOG_JSON);
    assert_string_equal(cfg->metrics.address, "127.0.0.1:9099");
    assert_int_equal(cfg->cgroup_driver, CK_CGROUP_SYSTEMD);
    assert_string_equal(cfg->default_runtime, "crun");

    assert_int_equal(cfg->n_runtimes, 2);
    assert_string_equal(cfg->runtimes[0].name, "runc");
    assert_string_equal(cfg->runtimes[0].path, "/usr/local/sbin/runc");
    assert_string_equal(cfg->runtimes[0].type, "oci");
    assert_string_equal(cfg->runtimes[0].root, "/run/cricket-test/runc");
    ASSERT_STRV(&cfg->runtimes[0].extra_args, "--debug", "--systemd-cgroup");
    assert_string_equal(cfg->runtimes[1].name, "crun");
    assert_string_equal(cfg->runtimes[1].path, "/usr/bin/crun");
    assert_string_equal(cfg->runtimes[1].type, "oci"); /* the fallback */
    assert_null(cfg->runtimes[1].root);
    assert_int_equal(cfg->runtimes[1].extra_args.len, 0);

    assert_string_equal(cfg->cni.conf_dir, "/etc/cni/test.d");
    ASSERT_STRV(&cfg->cni.bin_dirs, "/opt/cni/test-bin");
    assert_string_equal(cfg->streaming.address, "0.0.0.0");
    assert_int_equal(cfg->streaming.port, 10010);

    ASSERT_STRV(&cfg->registries.ca_dirs, "/etc/cricket/certs.d", "/etc/docker/certs.d");
    assert_int_equal(cfg->registries.n_hosts, 2);
    const ck_registry_host *h = &cfg->registries.hosts[0];
    assert_string_equal(h->host, "docker.io");
    ASSERT_STRV(&h->mirrors, "https://mirror.example.com", "http://10.0.0.1:5000/v2");
    assert_false(h->insecure);
    assert_string_equal(h->ca_file, "/etc/ssl/docker-io.pem");
    assert_string_equal(h->username, "u");
    assert_string_equal(h->password, "p");
    assert_string_equal(h->auth, "dTpw");
    assert_string_equal(h->identity_token, "t");
    h = &cfg->registries.hosts[1];
    assert_string_equal(h->host, "127.0.0.1:5000");
    assert_int_equal(h->mirrors.len, 0);
    assert_true(h->insecure);
    assert_null(h->ca_file);
    assert_null(h->username);
    assert_null(h->password);
    assert_null(h->auth);
    assert_null(h->identity_token);

    assert_string_equal(cfg->pause.image, "registry.k8s.io/pause:3.9");
    assert_int_equal(cfg->images.pull_progress_timeout, 45);
    assert_int_equal(cfg->images.max_concurrent_downloads, 5);
    assert_true(cfg->images.allow_device_nodes);
    ck_config_free(cfg);
}

static void test_images_keys_defaults_and_ranges(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("log_level: info\n");
    assert_int_equal(cfg->images.pull_progress_timeout, 60);
    assert_int_equal(cfg->images.max_concurrent_downloads, 3);
    assert_false(cfg->images.allow_device_nodes);
    ck_config_free(cfg);
    cfg = load_ok("images: {pull_progress_timeout: 1, max_concurrent_downloads: 64}\n");
    assert_int_equal(cfg->images.pull_progress_timeout, 1);
    assert_int_equal(cfg->images.max_concurrent_downloads, 64);
    ck_config_free(cfg);
    expect_invalid("images:\n  pull_progress_timeout: 0\n",
                   "2: images.pull_progress_timeout: must be an integer from 1 to 3600, got \"0\"");
    expect_invalid("images:\n  max_concurrent_downloads: 65\n",
                   "2: images.max_concurrent_downloads: must be an integer from 1 to 64, got \"65\"");
    expect_invalid("images:\n  max_concurrent_downloads: -1\n",
                   "2: images.max_concurrent_downloads: must be an integer from 1 to 64, got \"-1\"");
    expect_invalid("images:\n  pull_progress_timeout: 99999999999999999999\n",
                   "2: images.pull_progress_timeout: must be an integer from 1 to 3600, got \"99999999999999999999\"");
    /* validate() catches what code sets directly */
    ck_config *d = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_defaults(&d, &err), 0);
    d->images.max_concurrent_downloads = 0;
    assert_int_equal(ck_config_validate(d, &err), -1);
    assert_non_null(strstr(err.msg, "images.max_concurrent_downloads: must be an integer from 1 to 64, got 0"));
    ck_config_free(d);
}

static void test_partial_file_keeps_other_defaults(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("log_level: WARNING\n"
                             "cni:\n"
                             "  conf_dir: /etc/cni/other.d\n"
                             "streaming: {port: \"8080\"}\n");
    assert_int_equal(cfg->log_level, CK_LOG_WARN);
    assert_string_equal(cfg->cni.conf_dir, "/etc/cni/other.d");
    ASSERT_STRV(&cfg->cni.bin_dirs, "/opt/cni/bin", "/usr/lib/cni");
    assert_string_equal(cfg->streaming.address, "127.0.0.1");
    assert_int_equal(cfg->streaming.port, 8080);
    assert_string_equal(cfg->root_dir, "/var/lib/cricket");
    ck_config_free(cfg);
}

static void test_null_sections_are_empty(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("cni:\n"
                             "  bin_dirs:\n"
                             "streaming:\n"
                             "registries:\n"
                             "  ca_dirs: ~\n"
                             "pause:\n"
                             "  image: null\n");
    assert_string_equal(cfg->cni.conf_dir, "/etc/cni/net.d");
    assert_int_equal(cfg->cni.bin_dirs.len, 0);
    assert_string_equal(cfg->streaming.address, "127.0.0.1");
    assert_int_equal(cfg->registries.ca_dirs.len, 0);
    assert_null(cfg->pause.image);
    ck_config_free(cfg);

    cfg = load_ok("pause: {image: \"\"}\n");
    assert_null(cfg->pause.image);
    ck_config_free(cfg);
}

static void test_runtimes_replace_defaults(void **state)
{
    (void)state;
    /* No default_runtime given and "runc" is not in the new set: the first
     * listed handler becomes the default. */
    ck_config *cfg = load_ok("runtimes:\n"
                             "  youki:\n"
                             "    path: /usr/bin/youki\n"
                             "  kata:\n"
                             "    path: /usr/bin/kata-runtime\n"
                             "    extra_args: [--log=/dev/null]\n");
    assert_int_equal(cfg->n_runtimes, 2);
    assert_string_equal(cfg->runtimes[0].name, "youki");
    assert_string_equal(cfg->runtimes[1].name, "kata");
    assert_int_equal(cfg->runtimes[0].create_timeout, CK_CONFIG_DEFAULT_CREATE_TIMEOUT);
    assert_null(ck_config_find_runtime(cfg, "runc"));
    assert_null(ck_config_find_runtime(cfg, "crun"));
    assert_string_equal(cfg->default_runtime, "youki");
    ck_config_free(cfg);

    /* A default that is in the new set stays. */
    cfg = load_ok("default_runtime: b\n"
                  "runtimes: {a: {path: /a}, b: {path: /b, create_timeout: 5}}\n");
    assert_string_equal(cfg->default_runtime, "b");
    assert_int_equal(cfg->runtimes[1].create_timeout, 5);
    ck_config_free(cfg);
}

static void test_no_runtimes_accepts_default(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("runtimes: {}\n");
    assert_int_equal(cfg->n_runtimes, 0);
    assert_string_equal(cfg->default_runtime, "runc");
    ck_err err = {0};
    assert_int_equal(ck_config_validate(cfg, &err), 0);
    ck_config_free(cfg);

    cfg = load_ok("runtimes:\ndefault_runtime: kata\n");
    assert_int_equal(cfg->n_runtimes, 0);
    assert_string_equal(cfg->default_runtime, "kata");
    ck_config_free(cfg);
}

/* ---- bad values ------------------------------------------------------------------- */

static void test_default_runtime_unknown(void **state)
{
    (void)state;
    expect_invalid("runtimes:\n"
                   "  runc: {path: /usr/sbin/runc}\n"
                   "  crun: {path: /usr/bin/crun}\n"
                   "default_runtime: youki\n",
                   "4: default_runtime: no runtime handler named \"youki\" (configured: runc crun)");
}

static void test_bad_paths(void **state)
{
    (void)state;
    expect_invalid("root_dir: var/lib/cricket\n", "1: root_dir: must be an absolute path, got \"var/lib/cricket\"");
    expect_invalid("log_level: info\nstate_dir: \"\"\n", "2: state_dir: must be an absolute path, got \"\"");
    expect_invalid("# runtimes\n"
                   "runtimes:\n"
                   "  runc:\n"
                   "    type: oci\n"
                   "    path: runc\n",
                   "5: runtimes.runc.path: must be an absolute path, got \"runc\"");
    expect_invalid("runtimes:\n  runc: {path: /r, root: run/runc}\n",
                   "2: runtimes.runc.root: must be an absolute path, got \"run/runc\"");
    expect_invalid("cni:\n  bin_dirs:\n    - /opt/cni/bin\n    - lib/cni\n",
                   "4: cni.bin_dirs[1]: must be an absolute path, got \"lib/cni\"");
    expect_invalid("cni: {conf_dir: net.d}\n", "1: cni.conf_dir: must be an absolute path, got \"net.d\"");
    expect_invalid("registries:\n  ca_dirs: [certs.d]\n",
                   "2: registries.ca_dirs[0]: must be an absolute path, got \"certs.d\"");
    expect_invalid("registries:\n  hosts:\n    docker.io:\n      ca_file: x.pem\n",
                   "4: registries.hosts.docker.io.ca_file: must be an absolute path, got \"x.pem\"");
}

static void test_bad_enums(void **state)
{
    (void)state;
    expect_invalid("log_level: verbose\n", "1: log_level: must be one of debug, info, warn, error, got \"verbose\"");
    expect_invalid("log_format: logfmt\n", "1: log_format: must be text or json, got \"logfmt\"");
    expect_invalid("metrics:\n  address: 9099\n",
                   "2: metrics.address: must be host:port (e.g. 127.0.0.1:9099), got \"9099\"");
    expect_invalid("metrics:\n  address: \"127.0.0.1:0\"\n",
                   "2: metrics.address: must be host:port (e.g. 127.0.0.1:9099), got \"127.0.0.1:0\"");
    expect_invalid("metrics:\n  address: \"http://127.0.0.1:9099\"\n",
                   "2: metrics.address: must be host:port (e.g. 127.0.0.1:9099), got \"http://127.0.0.1:9099\"");
    expect_invalid("cgroup_driver: cgroupv2\n", "1: cgroup_driver: must be cgroupfs or systemd, got \"cgroupv2\"");
    expect_invalid("runtimes:\n  kata:\n    path: /k\n    type: vm\n",
                   "4: runtimes.kata.type: must be \"oci\", got \"vm\"");
}

static void test_bad_port(void **state)
{
    (void)state;
    expect_invalid("streaming:\n  port: 65536\n",
                   "2: streaming.port: must be an integer from 0 to 65535, got \"65536\"");
    expect_invalid("streaming:\n  port: -1\n", "2: streaming.port: must be an integer from 0 to 65535, got \"-1\"");
    expect_invalid("streaming:\n  port: http\n", "2: streaming.port: must be an integer from 0 to 65535, got \"http\"");
    expect_invalid("streaming:\n  port: 80.5\n", "2: streaming.port: must be an integer from 0 to 65535, got \"80.5\"");
    expect_invalid("streaming:\n  port: 99999999999999999999999\n",
                   "2: streaming.port: must be an integer from 0 to 65535, "
                   "got \"99999999999999999999999\"");
    expect_invalid("streaming:\n  port:\n", /* null */
                   "2: streaming.port: must be an integer from 0 to 65535, got \"\"");
    expect_invalid("streaming:\n  port: [80]\n",
                   "2: streaming.port: must be an integer from 0 to 65535, got a sequence");
}

static void test_bad_create_timeout(void **state)
{
    (void)state;
    expect_invalid("runtimes:\n  r:\n    path: /r\n    create_timeout: 0\n",
                   "4: runtimes.r.create_timeout: must be an integer from 1 to 3600, got \"0\"");
}

static void test_bad_bool(void **state)
{
    (void)state;
    expect_invalid("registries:\n  hosts:\n    quay.io:\n      insecure: maybe\n",
                   "4: registries.hosts.quay.io.insecure: must be true or false, got \"maybe\"");
    expect_invalid("registries:\n  hosts:\n    quay.io:\n      insecure: 1\n",
                   "4: registries.hosts.quay.io.insecure: must be true or false, got \"1\"");
    ck_config *cfg = load_ok("registries: {hosts: {a: {insecure: YES}, b: {insecure: no}}}\n");
    assert_true(ck_config_find_registry(cfg, "a")->insecure);
    assert_false(ck_config_find_registry(cfg, "b")->insecure);
    ck_config_free(cfg);
}

static void test_bad_listen(void **state)
{
    (void)state;
    expect_invalid("listen: tcp://127.0.0.1:1234\n", "1: listen: must be unix:// followed by an absolute path, "
                                                     "got \"tcp://127.0.0.1:1234\"");
    expect_invalid("listen: unix://run/cricket.sock\n", "1: listen: must be unix:// followed by an absolute path, "
                                                        "got \"unix://run/cricket.sock\"");
    expect_invalid("listen: /run/cricket.sock\n", "1: listen: must be unix:// followed by an absolute path, "
                                                  "got \"/run/cricket.sock\"");
}

static void test_bad_registries(void **state)
{
    (void)state;
    expect_invalid("registries:\n"
                   "  hosts:\n"
                   "    docker.io:\n"
                   "      mirrors:\n"
                   "        - https://ok.example\n"
                   "        - mirror.example.com\n",
                   "6: registries.hosts.docker.io.mirrors[1]: must be an http:// or https:// URL, "
                   "got \"mirror.example.com\"");
    expect_invalid("registries: {hosts: {docker.io: {mirrors: [\"https://\"]}}}\n",
                   "1: registries.hosts.docker.io.mirrors[0]: must be an http:// or https:// URL, "
                   "got \"https://\"");
    expect_invalid("registries:\n  hosts:\n    https://docker.io: {}\n",
                   "3: registries.hosts.https://docker.io: must be a registry host[:port], "
                   "got \"https://docker.io\"");
}

static void test_empty_required_values(void **state)
{
    (void)state;
    expect_invalid("default_runtime: \"\"\n", "1: default_runtime: must not be empty");
    expect_invalid("default_runtime:\n", "1: default_runtime: must not be empty");
    expect_invalid("streaming:\n  address: ~\n", "2: streaming.address: must not be empty");
    expect_invalid("pause: {image: ok}\nruntimes:\n  \"\": {path: /x}\n", "3: runtimes.\"\": must not be empty");
    expect_invalid("runtimes:\n"
                   "  runc:\n"
                   "    root: /run/runc\n",
                   "2: runtimes.runc: missing required key \"path\"");
    expect_invalid("runtimes:\n  runc:\n", "2: runtimes.runc: missing required key \"path\"");
}

static void test_wrong_node_types(void **state)
{
    (void)state;
    expect_invalid("- listen\n", "1: the top level must be a mapping, got a sequence");
    expect_invalid("just text\n", "1: the top level must be a mapping, got \"just text\"");
    expect_invalid("cni: /etc/cni\n", "1: cni: must be a mapping, got \"/etc/cni\"");
    expect_invalid("cni:\n  bin_dirs: /opt/cni/bin\n", "2: cni.bin_dirs: must be a sequence, got \"/opt/cni/bin\"");
    expect_invalid("root_dir:\n  - /a\n", "2: root_dir: must be a string, got a sequence");
    expect_invalid("runtimes:\n  - runc\n", "2: runtimes: must be a mapping, got a sequence");
    expect_invalid("runtimes:\n  runc: /usr/sbin/runc\n",
                   "2: runtimes.runc: must be a mapping, got \"/usr/sbin/runc\"");
    expect_invalid("runtimes:\n  runc:\n    path: /r\n    extra_args: [[--debug]]\n",
                   "4: runtimes.runc.extra_args[0]: must be a string, got a sequence");
    expect_invalid("log_level: {debug: true}\n",
                   "1: log_level: must be one of debug, info, warn, error, got a mapping");
    expect_invalid("registries:\n  hosts:\n    quay.io:\n      insecure: [true]\n",
                   "4: registries.hosts.quay.io.insecure: must be true or false, got a sequence");
    expect_invalid("cni:\n  ? [a, b]\n  : c\n", "2: cni: keys must be strings, got a sequence");
    expect_invalid("root_dir: \"/a\\0b\"\n", "1: root_dir: must not contain a NUL character");
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_invalid("listen: unix:///run/x.sock\nroot: /var/lib/cricket\n",
                   "2: root: unknown key (known keys: listen, root_dir, state_dir, log_level, log_format, "
                   "cgroup_driver, default_runtime, runtimes, cni, streaming, registries, pause, metrics, images)");
    expect_invalid("cni:\n  conf_dir: /etc/cni/net.d\n  plugin_dirs: [/opt/cni/bin]\n",
                   "3: cni.plugin_dirs: unknown key (known keys: conf_dir, bin_dirs, default_network)");
    expect_invalid("runtimes:\n  runc:\n    path: /r\n    args: [--x]\n",
                   "4: runtimes.runc.args: unknown key (known keys: path, type, root, extra_args, create_timeout)");
    expect_invalid("registries:\n  hosts:\n    docker.io:\n      token: x\n",
                   "4: registries.hosts.docker.io.token: unknown key (known keys: mirrors, "
                   "insecure, ca_file, username, password, auth, identity_token)");
    expect_invalid("pause:\n  Image: x\n", "2: pause.Image: unknown key (known keys: image, pin_namespaces)");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_invalid("log_level: info\nroot_dir: /a\nlog_level: debug\n",
                   "3: log_level: duplicate key (first at line 1)");
    expect_invalid("streaming:\n  port: 1\n  address: a\n  port: 2\n",
                   "4: streaming.port: duplicate key (first at line 2)");
    expect_invalid("runtimes:\n  runc: {path: /a}\n  runc: {path: /b}\n",
                   "3: runtimes.runc: duplicate key (first at line 2)");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_invalid("listen: unix:///run/x.sock\nroot_dir: /a: b\n",
                   "2: mapping values are not allowed in this context");
    expect_invalid("cni:\n  bin_dirs: [/a, /b\nroot_dir: /x\n", "3: did not find expected ',' or ']'");
    expect_invalid("cni:\n\tconf_dir: /x\n", "2: found character that cannot start any token");
    expect_invalid("log_level: info\n\nroot_dir: /a\xff\n", "3: invalid leading UTF-8 octet");
}

static void test_aliases_rejected(void **state)
{
    (void)state;
    expect_invalid("runtimes:\n"
                   "  runc: &rt\n"
                   "    path: /usr/sbin/runc\n"
                   "  runc2: *rt\n",
                   "4: aliases are not supported (*rt)");
    expect_invalid("base: &b {path: /x}\nruntimes:\n  r:\n    <<: *b\n", "4: aliases are not supported (*b)");
    expect_invalid("root_dir: *nowhere\n", "1: aliases are not supported (*nowhere)");
}

static void test_multiple_documents_rejected(void **state)
{
    (void)state;
    expect_invalid("log_level: info\n---\nlog_level: debug\n", "2: only one YAML document is allowed");
}

static void test_deep_nesting_rejected(void **state)
{
    (void)state;
    char text[256];
    snprintf(text, sizeof(text), "cni: %.40s%.40s\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    expect_invalid(text, "1: nested deeper than 32 levels");
}

/* ---- emit ------------------------------------------------------------------------ */

static void test_emit_exact_text(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("runtimes:\n"
                             "  runc: {path: /usr/sbin/runc, extra_args: [--debug]}\n"
                             "registries:\n"
                             "  hosts:\n"
                             "    docker.io: {mirrors: [\"https://m.example\"], password: \"yes\"}\n");
    char *text = emit_to_string(cfg);
    assert_string_equal(text, "listen: unix:///run/cricket/cricket.sock\n"
                              "root_dir: /var/lib/cricket\n"
                              "state_dir: /run/cricket\n"
                              "log_level: info\n"
                              "log_format: text\n"
                              "cgroup_driver: cgroupfs\n"
                              "default_runtime: runc\n"
                              "runtimes:\n"
                              "  runc:\n"
                              "    path: /usr/sbin/runc\n"
                              "    type: oci\n"
                              "    root: \"\"\n"
                              "    extra_args: [--debug]\n"
                              "    create_timeout: 60\n"
                              "cni:\n"
                              "  conf_dir: /etc/cni/net.d\n"
                              "  bin_dirs: [/opt/cni/bin, /usr/lib/cni]\n"
                              "  default_network:\n"
                              "    install: true\n"
                              "    bridge: cricket0\n"
                              "    subnet: 10.88.0.0/16\n"
                              "streaming:\n"
                              "  address: 127.0.0.1\n"
                              "  port: 0\n"
                              "  tls: false\n"
                              "  tls_cert_file: \"\"\n"
                              "  tls_key_file: \"\"\n"
                              "registries:\n"
                              "  ca_dirs: []\n"
                              "  hosts:\n"
                              "    docker.io:\n"
                              "      mirrors: ['https://m.example']\n"
                              "      insecure: false\n"
                              "      ca_file: \"\"\n"
                              "      username: \"\"\n"
                              "      password: \"yes\"\n"
                              "      auth: \"\"\n"
                              "      identity_token: \"\"\n"
                              "pause:\n"
                              "  image: \"\"\n"
                              "  pin_namespaces: true\n"
                              "metrics:\n"
                              "  address: \"\"\n"
                              "images:\n"
                              "  pull_progress_timeout: 60\n"
                              "  max_concurrent_downloads: 3\n"
                              "  allow_device_nodes: false\n");
    free(text);
    ck_config_free(cfg);
}

static void test_cni_default_network(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("cni:\n  conf_dir: /etc/cni/net.d\n");
    assert_true(cfg->cni.default_network.install);
    assert_string_equal(cfg->cni.default_network.bridge, "cricket0");
    assert_string_equal(cfg->cni.default_network.subnet, "10.88.0.0/16");
    ck_config_free(cfg);
    cfg = load_ok("cni:\n  default_network:\n    install: false\n    bridge: crit-a1.b_2\n"
                  "    subnet: fd00:10::/64\n");
    assert_false(cfg->cni.default_network.install);
    assert_string_equal(cfg->cni.default_network.bridge, "crit-a1.b_2");
    assert_string_equal(cfg->cni.default_network.subnet, "fd00:10::/64");
    assert_round_trip(cfg);
    ck_config_free(cfg);
    expect_invalid("cni:\n  default_network:\n    bridge: a-name-longer-than-15\n",
                   "3: cni.default_network.bridge: must be a network interface name (1-15 of letters, digits, _ . -), "
                   "got \"a-name-longer-than-15\"");
    expect_invalid("cni:\n  default_network:\n    bridge: \"br 0\"\n",
                   "3: cni.default_network.bridge: must be a network interface name (1-15 of letters, digits, _ . -), "
                   "got \"br 0\"");
    cfg = load_ok("cni:\n  default_network:\n    subnet: \"10.88.0.0/16,fd00:10::/64\"\n");
    assert_string_equal(cfg->cni.default_network.subnet, "10.88.0.0/16,fd00:10::/64");
    assert_round_trip(cfg);
    ck_config_free(cfg);
    static const char *const bad[] = {"10.88.0.0",
                                      "10.88.0.0/33",
                                      "10.88.0.0/16,10.89.0.0/16",
                                      "fd00::/64,fd01::/64",
                                      "10.88.0.0/16,fd00::/64,10.1.0.0/16",
                                      "10.88.0.0/16,",
                                      ",fd00::/64"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[200], want[300];
        snprintf(text, sizeof(text), "cni:\n  default_network:\n    subnet: \"%s\"\n", bad[i]);
        snprintf(want, sizeof(want),
                 "3: cni.default_network.subnet: must be an IPv4 or IPv6 address/prefix, or one of each separated "
                 "by a comma (dual stack), got \"%s\"",
                 bad[i]);
        expect_invalid(text, want);
    }
    expect_invalid("cni:\n  default_network:\n    install: maybe\n",
                   "3: cni.default_network.install: must be true or false, got \"maybe\"");
}

static void test_emit_round_trip_defaults(void **state)
{
    (void)state;
    ck_config *cfg = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_defaults(&cfg, &err), 0);
    assert_round_trip(cfg);
    ck_config_free(cfg);

    cfg = load_ok("runtimes: {}\n");
    assert_round_trip(cfg);
    ck_config_free(cfg);
}

static void test_emit_round_trip_full_and_awkward_strings(void **state)
{
    (void)state;
    char path[4096];
    ck_config *cfg = NULL;
    ck_err err = {0};
    fixture_path(path, sizeof(path), "full.yaml");
    assert_int_equal(ck_config_load(path, &cfg, &err), 0);
    assert_round_trip(cfg);

    /* Strings that would change meaning if printed carelessly. */
    ck_registry_host *h = &cfg->registries.hosts[0];
    assert_int_equal(ck_config_set_string(&h->password, "p: #\"q'\n\tx \\ ", &err), 0);
    assert_int_equal(ck_config_set_string(&h->username, "null", &err), 0);
    assert_int_equal(ck_config_set_string(&h->auth, "yes", &err), 0);
    assert_int_equal(ck_config_set_string(&h->identity_token, "  ünïcødé ☃ ", &err), 0);
    assert_int_equal(ck_config_set_string(&cfg->streaming.address, "0123", &err), 0);
    assert_int_equal(ck_config_set_string(&cfg->root_dir, "/var/lib/a b:#c", &err), 0);
    assert_int_equal(ck_config_set_string(&cfg->pause.image, "- [x]", &err), 0);
    ck_runtime_handler *rt = &cfg->runtimes[0];
    ck_strv *args = &rt->extra_args;
    static const char *const awkward[] = {"",   "~",      "-1",  "1e3", "&a", "*a",  "!tag", "%x",  "@x",
                                          "`x", "{a: b}", "[a]", ">",   "|",  "? q", ",",    "a #b"};
    for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        char **items = realloc(args->items, (args->len + 1) * sizeof(*items));
        assert_non_null(items);
        args->items = items;
        args->items[args->len++] = strdup(awkward[i]);
    }
    assert_int_equal(ck_config_validate(cfg, &err), 0);
    assert_round_trip(cfg);
    ck_config_free(cfg);
}

static void test_emit_write_error(void **state)
{
    (void)state;
    ck_config *cfg = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_defaults(&cfg, &err), 0);
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL) {
        ck_config_free(cfg);
        skip();
    }
    assert_int_equal(ck_config_emit(cfg, full, &err), -1);
    assert_int_equal(err.kind, CK_E_INTERNAL);
    assert_non_null(strstr(err.msg, "write config"));
    fclose(full);
    ck_config_free(cfg);
}

/* ---- lookups, overrides, validation ------------------------------------------------ */

static void test_find_runtime_and_registry(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("runtimes: {a: {path: /a}, b: {path: /b}}\n"
                             "registries:\n"
                             "  hosts:\n"
                             "    docker.io: {username: d}\n"
                             "    127.0.0.1:5000: {username: l}\n");
    assert_string_equal(ck_config_find_runtime(cfg, "a")->path, "/a");
    assert_string_equal(ck_config_find_runtime(cfg, "b")->path, "/b");
    assert_null(ck_config_find_runtime(cfg, "c"));
    assert_null(ck_config_find_runtime(cfg, NULL));
    assert_null(ck_config_find_runtime(NULL, "a"));
    assert_string_equal(ck_config_find_registry(cfg, "docker.io")->username, "d");
    assert_string_equal(ck_config_find_registry(cfg, "127.0.0.1:5000")->username, "l");
    assert_null(ck_config_find_registry(cfg, "quay.io"));
    assert_null(ck_config_find_registry(cfg, "docker"));
    assert_null(ck_config_find_registry(cfg, NULL));
    ck_config_free(cfg);
}

static void test_listen_path(void **state)
{
    (void)state;
    ck_config *cfg = NULL;
    ck_err err = {0};
    assert_int_equal(ck_config_defaults(&cfg, &err), 0);
    assert_string_equal(ck_config_listen_path(cfg), "/run/cricket/cricket.sock");
    assert_ptr_equal(ck_config_listen_path(cfg), cfg->listen + strlen("unix://"));
    assert_int_equal(ck_config_set_string(&cfg->listen, "tcp://127.0.0.1:1", &err), 0);
    assert_null(ck_config_listen_path(cfg));
    assert_int_equal(ck_config_set_string(&cfg->listen, "unix:///tmp/x.sock", &err), 0);
    assert_string_equal(ck_config_listen_path(cfg), "/tmp/x.sock");
    assert_null(ck_config_listen_path(NULL));
    ck_config_free(cfg);
}

static void test_validate_after_overrides(void **state)
{
    (void)state;
    ck_config *cfg = load_ok("runtimes: {runc: {path: /r}, crun: {path: /c}}\n");
    ck_err err = {0};
    assert_int_equal(ck_config_validate(cfg, &err), 0);

    assert_int_equal(ck_config_set_string(&cfg->listen, "tcp://x", &err), 0);
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_string_equal(err.msg, "listen: must be unix:// followed by an absolute path, got \"tcp://x\"");
    assert_int_equal(ck_config_set_string(&cfg->listen, "unix:///x.sock", &err), 0);

    assert_int_equal(ck_config_set_string(&cfg->default_runtime, "kata", &err), 0);
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_string_equal(err.msg, "default_runtime: no runtime handler named \"kata\" (configured: runc crun)");
    assert_int_equal(ck_config_set_string(&cfg->default_runtime, "crun", &err), 0);

    assert_int_equal(ck_config_set_string(&cfg->runtimes[1].path, "crun", &err), 0);
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_string_equal(err.msg, "runtimes.crun.path: must be an absolute path, got \"crun\"");
    assert_int_equal(ck_config_set_string(&cfg->runtimes[1].path, "/c", &err), 0);

    assert_int_equal(ck_config_set_string(&cfg->runtimes[1].name, "runc", &err), 0);
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_string_equal(err.msg, "runtimes.runc: duplicate name");
    assert_int_equal(ck_config_set_string(&cfg->runtimes[1].name, "crun", &err), 0);

    cfg->streaming.port = 70000;
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_string_equal(err.msg, "streaming.port: must be an integer from 0 to 65535, got 70000");
    cfg->streaming.port = 1;

    assert_int_equal(ck_config_set_string(&cfg->root_dir, NULL, &err), 0);
    assert_int_equal(ck_config_validate(cfg, &err), -1);
    assert_string_equal(err.msg, "root_dir: must be set");
    assert_int_equal(ck_config_set_string(&cfg->root_dir, "/var/lib/x", &err), 0);

    assert_int_equal(ck_config_validate(cfg, &err), 0);
    ck_config_free(cfg);
}

static void test_set_string(void **state)
{
    (void)state;
    ck_err err = {0};
    char *field = NULL;
    char value[] = "first";
    assert_int_equal(ck_config_set_string(&field, value, &err), 0);
    assert_ptr_not_equal(field, value);
    value[0] = 'F';
    assert_string_equal(field, "first");
    assert_int_equal(ck_config_set_string(&field, "second", &err), 0);
    assert_string_equal(field, "second");
    assert_int_equal(ck_config_set_string(&field, NULL, &err), 0);
    assert_null(field);
}

static void test_reload_keeps_restart_only_keys(void **state)
{
    (void)state;
    ck_config *running = load_ok("listen: unix:///run/a.sock\nlog_level: info\n"
                                 "runtimes:\n  r1:\n    path: /bin/true\n"
                                 "registries:\n  hosts:\n    a.example: {insecure: true}\n");
    ck_config *next = load_ok("listen: unix:///run/b.sock\nlog_level: debug\nlog_format: json\n"
                              "root_dir: /var/lib/other\npause: {pin_namespaces: false}\n"
                              "runtimes:\n  r2:\n    path: /bin/false\n"
                              "metrics:\n  address: 127.0.0.1:9\n"
                              "registries:\n  hosts:\n    b.example: {mirrors: [http://m]}\n");
    char changed[256];
    ck_err err = {0};
    assert_int_equal(ck_config_keep_restart_only(next, running, changed, sizeof(changed), &err), 0);
    assert_string_equal(changed, "pause.pin_namespaces, listen, root_dir, default_runtime, metrics.address, runtimes");
    assert_true(next->pause.pin_namespaces);
    /* Kept as running. */
    assert_string_equal(next->listen, "unix:///run/a.sock");
    assert_string_equal(next->root_dir, running->root_dir);
    assert_null(next->metrics.address);
    assert_int_equal(next->n_runtimes, 1);
    assert_string_equal(next->runtimes[0].name, "r1");
    assert_string_equal(next->runtimes[0].path, "/bin/true");
    /* Applied from the new file. */
    assert_int_equal(next->log_level, CK_LOG_DEBUG);
    assert_int_equal(next->log_format, CK_LOG_JSON);
    assert_int_equal(next->registries.n_hosts, 1);
    assert_string_equal(next->registries.hosts[0].host, "b.example");
    assert_int_equal(ck_config_validate(next, &err), 0);
    /* Nothing to keep: empty list. */
    assert_int_equal(ck_config_keep_restart_only(next, running, changed, sizeof(changed), &err), 0);
    assert_string_equal(changed, "");
    ck_config_free(next);
    ck_config_free(running);
}

static void test_streaming_tls(void **state)
{
    (void)state;
    /* Off by default; tls: true alone means a self-signed certificate. */
    ck_config *cfg = load_ok("streaming:\n  port: 0\n");
    assert_false(cfg->streaming.tls);
    assert_null(cfg->streaming.tls_cert_file);
    ck_config_free(cfg);
    cfg = load_ok("streaming:\n  tls: true\n");
    assert_true(cfg->streaming.tls);
    assert_null(cfg->streaming.tls_key_file);
    assert_round_trip(cfg);
    ck_config_free(cfg);
    /* A key pair turns it on... */
    cfg = load_ok("streaming:\n  tls_cert_file: /etc/c.pem\n  tls_key_file: /etc/k.pem\n");
    assert_true(cfg->streaming.tls);
    assert_string_equal(cfg->streaming.tls_cert_file, "/etc/c.pem");
    assert_string_equal(cfg->streaming.tls_key_file, "/etc/k.pem");
    assert_round_trip(cfg);
    ck_config_free(cfg);
    /* ...unless the file says otherwise. */
    cfg = load_ok("streaming:\n  tls: false\n  tls_cert_file: /etc/c.pem\n  tls_key_file: /etc/k.pem\n");
    assert_false(cfg->streaming.tls);
    assert_round_trip(cfg);
    ck_config_free(cfg);
    /* One of the pair alone, or a relative path, is an error naming it. */
    expect_invalid("streaming:\n  tls_cert_file: /etc/c.pem\n",
                   " streaming.tls_key_file: must be set with streaming.tls_cert_file (give both, or neither)");
    expect_invalid("streaming:\n  tls: true\n  tls_key_file: /etc/k.pem\n",
                   " streaming.tls_cert_file: must be set with streaming.tls_key_file (give both, or neither)");
    ck_config *bad = SENTINEL;
    ck_err err = {0};
    assert_int_equal(load_text("streaming:\n  tls_cert_file: c.pem\n  tls_key_file: /k\n", &bad, &err, NULL), -1);
    assert_non_null(strstr(err.msg, "streaming.tls_cert_file"));
}

static void test_reload_keeps_streaming_tls(void **state)
{
    (void)state;
    ck_config *running = load_ok("streaming:\n  tls: true\n");
    ck_config *next = load_ok("streaming:\n  tls_cert_file: /etc/c.pem\n  tls_key_file: /etc/k.pem\n");
    char changed[256];
    ck_err err = {0};
    assert_int_equal(ck_config_keep_restart_only(next, running, changed, sizeof(changed), &err), 0);
    assert_string_equal(changed, "streaming.tls_cert_file, streaming.tls_key_file");
    assert_null(next->streaming.tls_cert_file);
    assert_null(next->streaming.tls_key_file);
    ck_config_free(next);
    next = load_ok("streaming:\n  tls: false\n");
    assert_int_equal(ck_config_keep_restart_only(next, running, changed, sizeof(changed), &err), 0);
    assert_string_equal(changed, "streaming.tls");
    assert_true(next->streaming.tls);
    ck_config_free(next);
    ck_config_free(running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_missing_default_path_gives_defaults),
        cmocka_unit_test(test_missing_explicit_path_fails),
        cmocka_unit_test(test_directory_path_fails),
        cmocka_unit_test(test_empty_file_is_defaults),
        cmocka_unit_test(test_full_fixture),
        cmocka_unit_test(test_images_keys_defaults_and_ranges),
        cmocka_unit_test(test_partial_file_keeps_other_defaults),
        cmocka_unit_test(test_null_sections_are_empty),
        cmocka_unit_test(test_runtimes_replace_defaults),
        cmocka_unit_test(test_no_runtimes_accepts_default),
        cmocka_unit_test(test_default_runtime_unknown),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_bad_enums),
        cmocka_unit_test(test_bad_port),
        cmocka_unit_test(test_bad_create_timeout),
        cmocka_unit_test(test_bad_bool),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_bad_registries),
        cmocka_unit_test(test_empty_required_values),
        cmocka_unit_test(test_wrong_node_types),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_aliases_rejected),
        cmocka_unit_test(test_multiple_documents_rejected),
        cmocka_unit_test(test_deep_nesting_rejected),
        cmocka_unit_test(test_emit_exact_text),
        cmocka_unit_test(test_reload_keeps_restart_only_keys),
        cmocka_unit_test(test_cni_default_network),
        cmocka_unit_test(test_emit_round_trip_defaults),
        cmocka_unit_test(test_emit_round_trip_full_and_awkward_strings),
        cmocka_unit_test(test_emit_write_error),
        cmocka_unit_test(test_find_runtime_and_registry),
        cmocka_unit_test(test_listen_path),
        cmocka_unit_test(test_validate_after_overrides),
        cmocka_unit_test(test_set_string),
        cmocka_unit_test(test_streaming_tls),
        cmocka_unit_test(test_reload_keeps_streaming_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
