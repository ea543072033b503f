/*
 * Operations over the wire: systemd readiness, reload (good and broken
 * files), the SIGUSR1 dump, JSON logs, `cricket config --default` and
 * `cricket check`, each against a real daemon.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <linux/magic.h>

#include "test/critest/client.h"
#include "test/critest/daemon.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static bool wait_log(const crit_daemon *d, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (crit_daemon_log_contains(d, needle))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static json_t *verbose_config(const char *socket)
{
    crit_client *c = crit_connect(socket);
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    req.verbose = true;
    crit_result r;
    assert_int_equal(crit_call(c, RUNTIME("Status"), &req.base, &runtime__v1__status_response__descriptor, 5000, &r),
                     GRPC_STATUS_OK);
    Runtime__V1__StatusResponse *s = (Runtime__V1__StatusResponse *)r.response;
    json_t *cfg = NULL;
    for (size_t i = 0; i < s->n_info; i++)
        if (strcmp(s->info[i]->key, "config") == 0)
            cfg = json_loads(s->info[i]->value, 0, NULL);
    crit_result_clear(&r);
    crit_close(c);
    assert_non_null(cfg);
    return cfg;
}

/* A datagram socket standing in for systemd's notify socket. */
static int notify_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

/* Reads notifications until one contains want; returns true if it came. */
static bool wait_notify(int fd, const char *want, int timeout_ms, char *all, size_t cap)
{
    size_t used = strlen(all);
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) == 1) {
            char msg[1024];
            ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
            if (n > 0) {
                msg[n] = '\0';
                used += (size_t)snprintf(all + used, cap - used, "%s\n", msg);
                if (strstr(msg, want) != NULL)
                    return true;
            }
        }
    }
    return false;
}

static void test_ready_only_when_calls_succeed(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, NULL), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/notify.sock", d.dir);
    int fd = notify_socket(path);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    assert_int_equal(crit_daemon_spawn(&d), 0);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");

    char all[8192] = "";
    assert_true(wait_notify(fd, "READY=1", 60000, all, sizeof(all)));
    /* The first call right after READY=1 succeeds, with no retry. */
    assert_true(crit_version_ok(d.socket));
    /* STATUS lines came before, on the way up. */
    assert_non_null(strstr(all, "STATUS=opening state"));
    assert_non_null(strstr(all, "STATUS=binding"));
    /* The watchdog is pinged (WATCHDOG_PID is not set, so any pid counts). */
    assert_true(wait_notify(fd, "WATCHDOG=1", 3000, all, sizeof(all)));
    kill(d.pid, SIGTERM);
    assert_true(wait_notify(fd, "STOPPING=1", 20000, all, sizeof(all)));
    assert_int_equal(crit_daemon_stop(&d, 20000), 0);
    close(fd);
    crit_daemon_cleanup(&d);
}

static void test_reload_good_broken_and_restart_only(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, NULL), 0);
    assert_int_equal(crit_daemon_start(&d), 0);
    FILE *f = fopen(d.config, "a");
    assert_non_null(f);
    fputs("registries:\n  hosts:\n    127.0.0.1:5999: {insecure: true}\n", f);
    fclose(f);

    /* A good file: registries and log level apply. */
    kill(d.pid, SIGHUP);
    assert_true(wait_log(&d, "configuration reloaded", 10000));
    json_t *cfg = verbose_config(d.socket);
    json_t *hosts = json_object_get(json_object_get(cfg, "registries"), "hosts");
    assert_non_null(json_object_get(hosts, "127.0.0.1:5999"));
    json_decref(cfg);

    /* A broken file: refused with file:line, the old configuration stays. */
    char good[4096];
    FILE *in = fopen(d.config, "r");
    size_t n = fread(good, 1, sizeof(good) - 1, in);
    good[n] = '\0';
    fclose(in);
    char broken[4200];
    snprintf(broken, sizeof(broken), "%sbogus_key: 1\n", good);
    write_text(d.config, broken);
    kill(d.pid, SIGHUP);
    assert_true(wait_log(&d, "reload refused", 10000));
    int bogus_line = 1;
    for (const char *c = good; *c != '\0'; c++)
        bogus_line += *c == '\n';
    char where[300];
    snprintf(where, sizeof(where), "%s:%d: bogus_key: unknown key", d.config, bogus_line);
    assert_true(crit_daemon_log_contains(&d, where));
    cfg = verbose_config(d.socket);
    assert_non_null(json_object_get(json_object_get(json_object_get(cfg, "registries"), "hosts"), "127.0.0.1:5999"));
    json_decref(cfg);
    assert_true(crit_version_ok(d.socket));

    /* A key that needs a restart keeps its running value, named in the log. */
    char moved[4200];
    snprintf(moved, sizeof(moved), "%sstreaming:\n  port: 12345\n", good);
    write_text(d.config, moved);
    kill(d.pid, SIGHUP);
    assert_true(wait_log(&d, "keep their running values: streaming.port", 10000));
    cfg = verbose_config(d.socket);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cfg, "streaming"), "port")), 0);
    json_decref(cfg);

    assert_int_equal(crit_daemon_stop(&d, 20000), 0);
    crit_daemon_cleanup(&d);
}

static void test_sigusr1_lists_calls_in_flight(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, NULL), 0);
    assert_int_equal(crit_daemon_start(&d), 0);
    crit_client *c = crit_connect(d.socket);
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    crit_stream *s = crit_stream_open(c, RUNTIME("GetContainerEvents"), &req.base, 60000);
    ProtobufCMessage *msg = NULL;
    assert_int_equal(crit_stream_next(s, &runtime__v1__container_event_response__descriptor, 300, &msg), 0);
    kill(d.pid, SIGUSR1);
    assert_true(wait_log(&d, "msg=\"call in flight\" rpc=GetContainerEvents", 10000));
    assert_true(wait_log(&d, "1 calls in flight", 10000));
    crit_stream_cancel(s);
    crit_stream_free(s);
    crit_close(c);
    assert_int_equal(crit_daemon_stop(&d, 20000), 0);
    crit_daemon_cleanup(&d);
}

static void test_json_logs(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, "log_format: json\n"), 0);
    assert_int_equal(crit_daemon_start(&d), 0);
    assert_true(crit_version_ok(d.socket));
    assert_int_equal(crit_daemon_stop(&d, 20000), 0);
    FILE *f = fopen(d.log, "r");
    char line[8192];
    int lines = 0, calls = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] != '{')
            continue; /* a sanitizer or tool line */
        json_t *obj = json_loads(line, 0, NULL);
        assert_non_null(obj);
        assert_non_null(json_string_value(json_object_get(obj, "time")));
        assert_non_null(json_string_value(json_object_get(obj, "level")));
        const char *rpc = json_string_value(json_object_get(obj, "rpc"));
        calls += rpc != NULL && strcmp(rpc, "Version") == 0;
        json_decref(obj);
        lines++;
    }
    fclose(f);
    assert_true(lines >= 3);
    assert_true(calls >= 1);
    crit_daemon_cleanup(&d);
}

static void test_config_default_is_the_installed_file(void **state)
{
    (void)state;
    char out[16384];
    const char *args[] = {"config", "--default", NULL};
    assert_int_equal(crit_run_cricket(args, out, sizeof(out)), 0);
    FILE *f = fopen(CK_SOURCE_DIR "/config/cricket.yaml", "r");
    assert_non_null(f);
    char file[16384];
    size_t n = fread(file, 1, sizeof(file) - 1, f);
    file[n] = '\0';
    fclose(f);
    assert_string_equal(out, file);
    /* --default with another command is a usage error. */
    const char *bad[] = {"check", "--default", NULL};
    assert_int_equal(crit_run_cricket(bad, out, sizeof(out)), 2);
}

static bool hybrid_cgroups(void)
{
    struct statfs root, unified;
    return statfs("/sys/fs/cgroup", &root) == 0 && root.f_type != CGROUP2_SUPER_MAGIC &&
           statfs("/sys/fs/cgroup/unified", &unified) == 0 && unified.f_type == CGROUP2_SUPER_MAGIC;
}

static void test_check_reports_this_host(void **state)
{
    (void)state;
    crit_daemon d;
    assert_int_equal(crit_daemon_prepare(&d, NULL), 0);
    char out[32768];
    const char *args[] = {"check", "--config", d.config, "--json", NULL};
    /* runc works on the machines the project runs on: the node can run pods. */
    assert_int_equal(crit_run_cricket(args, out, sizeof(out)), 0);
    json_t *root = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(root);
    assert_true(json_is_true(json_object_get(root, "can_run_pods")));
    bool runc_ok = false, crun_hybrid = false, oom_seen = false, cni_seen = false;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(root, "checks"), i, item)
    {
        const char *name = json_string_value(json_object_get(item, "check"));
        const char *st = json_string_value(json_object_get(item, "status"));
        const char *detail = json_string_value(json_object_get(item, "detail"));
        runc_ok |= strncmp(name, "runtime runc", 12) == 0 && strcmp(st, "ok") == 0;
        crun_hybrid |= strncmp(name, "runtime crun", 12) == 0 && strstr(detail, "hybrid") != NULL;
        oom_seen |= strcmp(name, "oom_score_adj") == 0;
        cni_seen |= strcmp(name, "cni") == 0 && strstr(detail, d.cni_dir) != NULL;
        if (strcmp(st, "ok") != 0 && strcmp(st, "info") != 0)
            assert_non_null(json_string_value(json_object_get(item, "fix")));
    }
    assert_true(runc_ok);
    assert_true(oom_seen);
    assert_true(cni_seen);
    if (hybrid_cgroups() && access("/usr/bin/crun", X_OK) == 0)
        assert_true(crun_hybrid);
    json_decref(root);
    /* Nothing left behind in /tmp by the probes. */
    assert_int_equal(system("ls -d /tmp/cricket-check.* /tmp/cricket-overlay.* /tmp/cricket-idmap.* 2>/dev/null | "
                            "grep -q ."),
                     256);
    crit_daemon_cleanup(&d);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_only_when_calls_succeed),
        cmocka_unit_test(test_reload_good_broken_and_restart_only),
        cmocka_unit_test(test_sigusr1_lists_calls_in_flight),
        cmocka_unit_test(test_json_logs),
        cmocka_unit_test(test_config_default_is_the_installed_file),
        cmocka_unit_test(test_check_reports_this_host),
    };
    int failed = cmocka_run_group_tests_name("critest_ops", tests, NULL, NULL);
    grpc_shutdown();
    return failed;
}
