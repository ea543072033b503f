/*
 * critest_containers: the container lifecycle over the wire, as the kubelet
 * drives it: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, ReopenContainerLog,
 * the CRI log file, pods with containers, and a daemon killed with
 * containers running. Real containers (runc, the busybox image from the
 * registry fixture); nothing mocked.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/critest/container_fixture.h"

static crit_ctr_suite S;
/* A runtime handler "logged": runc behind a script that writes each call's
 * arguments, a line each, to logged_calls. */
static char logged_dir[] = "/tmp/critest-logged.XXXXXX";
static char logged_calls[64];

/* The "gated" runtime handler: runc, but its `run` (what StartContainer's
 * monitor runs) says it began (the file began) and waits until the file
 * open exists, so a test can kill the daemon in the middle of a start. */
static char gate_dir[] = "/tmp/critest-gate.XXXXXX";
static char gate_began[64], gate_open[64];

/* The "late" runtime handler: runc, but its `run` returns a second after
 * runc's: a container that ends at once has ended, and been reaped by its
 * monitor, before the runtime answers the start. */
static char late_dir[] = "/tmp/critest-late.XXXXXX";

static const char *runc_path;

static void gate(bool open)
{
    if (open)
        crit_write_text(gate_open, "");
    else
        unlink(gate_open);
    unlink(gate_began);
}

/* A runtime script that runs on_run (shell lines) when its arguments hold
 * the verb `run`, then (unless on_run exits) runc with every argument. */
static int write_run_wrapper(const char *path, const char *on_run, const char *runc)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "for a in \"$@\"; do\n"
             "  if [ \"$a\" = run ]; then\n"
             "%s"
             "  fi\n"
             "done\n"
             "exec %s \"$@\"\n",
             on_run, runc);
    crit_write_text(path, text);
    return chmod(path, 0755);
}

static int start_suite(void **state)
{
    (void)state;
    if (mkdtemp(logged_dir) == NULL || mkdtemp(gate_dir) == NULL || mkdtemp(late_dir) == NULL)
        return -1;
    const char *runc = access("/usr/sbin/runc", X_OK) == 0 ? "/usr/sbin/runc" : "/usr/bin/runc";
    runc_path = runc;
    char logged[64], gated[128], late[128], text[1024], yaml[768];
    snprintf(logged, sizeof(logged), "%s/runtime", logged_dir);
    snprintf(logged_calls, sizeof(logged_calls), "%s/calls", logged_dir);
    snprintf(text, sizeof(text), "#!/bin/sh\necho \"$*\" >>%s\nexec %s \"$@\"\n", logged_calls, runc);
    crit_write_text(logged, text);
    snprintf(gate_began, sizeof(gate_began), "%s/began", gate_dir);
    snprintf(gate_open, sizeof(gate_open), "%s/open", gate_dir);
    snprintf(gated, sizeof(gated), "%s/gated-runtime", gate_dir);
    snprintf(text, sizeof(text),
             "    : > %s\n"
             "    i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n"
             "    break\n",
             gate_began, gate_open);
    snprintf(late, sizeof(late), "%s/late-runtime", late_dir);
    char late_run[256];
    snprintf(late_run, sizeof(late_run), "    %s \"$@\"; rc=$?; sleep 1; exit $rc\n", runc);
    if (chmod(logged, 0755) < 0 || write_run_wrapper(gated, text, runc) < 0 ||
        write_run_wrapper(late, late_run, runc) < 0)
        return -1;
    snprintf(yaml, sizeof(yaml),
             "default_runtime: runc\nruntimes:\n  runc: {path: %s}\n  logged: {path: %s}\n  gated: {path: %s}\n"
             "  late: {path: %s}\n",
             runc, logged, gated, late);
    return crit_ctr_suite_start(&S, "ckt", 200, yaml);
}

static int stop_suite(void **state)
{
    (void)state;
    int rc = crit_ctr_suite_stop(&S);
    char script[128];
    snprintf(script, sizeof(script), "%s/runtime", logged_dir);
    unlink(script);
    unlink(logged_calls);
    rmdir(logged_dir);
    snprintf(script, sizeof(script), "%s/gated-runtime", gate_dir);
    unlink(script);
    gate(false);
    rmdir(gate_dir);
    snprintf(script, sizeof(script), "%s/late-runtime", late_dir);
    unlink(script);
    rmdir(late_dir);
    return rc;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_run_to_completion_with_logs(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-complete");
    crit_ctr_request c;
    char *id = crit_ctr_create(
        &S, crit_ctr_init(&c, &S, pod, "complete", "echo hello World; echo oops >&2; printf part; exit 3"));
    crit_result r;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    assert_true(s->created_at > 0);
    assert_int_equal(s->started_at, 0);
    assert_string_equal(s->image->image, S.image);
    assert_true(strncmp(s->image_ref, "sha256:", 7) == 0 || strchr(s->image_ref, '@') != NULL);
    assert_string_equal(s->metadata->name, "complete");
    assert_int_equal(s->metadata->attempt, 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/complete.log", S.log_dir);
    assert_string_equal(s->log_path, path);
    crit_result_clear(&r);
    /* critest reads the log right after StartContainer: it exists already. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    crit_ctr_start(&S, id);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    s = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(s->exit_code, 3);
    assert_string_equal(s->reason, "Error");
    assert_true(s->started_at >= s->created_at);
    assert_true(s->finished_at >= s->started_at);
    crit_result_clear(&r);
    crit_ctr_wait_log(path, "stdout", "hello World", 10);
    crit_ctr_wait_log(path, "stderr", "oops", 10);
    crit_ctr_wait_log(path, "stdout", "part", 10);

    crit_ctr_request ok;
    char *id2 = crit_ctr_create(&S, crit_ctr_init(&ok, &S, pod, "completes", "true"));
    crit_ctr_start(&S, id2);
    crit_ctr_wait_state(&S, id2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    s = crit_ctr_status(&S, id2, false, &r);
    assert_int_equal(s->exit_code, 0);
    assert_string_equal(s->reason, "Completed");
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(id2);
    free(pod);
}

/* A process that is not root reads the image's files: the overlay's root
 * is 0755 (a 0700 upper dir made every non-root container fail). */
static void test_non_root_reads_its_rootfs(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-nobody");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "nobody", "id -u; ls /etc/passwd");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
    uid.value = 65534;
    sec.run_as_user = &uid;
    c.linux_config.security_context = &sec;
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char path[512];
    snprintf(path, sizeof(path), "%s/nobody.log", S.log_dir);
    crit_ctr_wait_log(path, "stdout", "65534", 10);
    crit_ctr_wait_log(path, "stdout", "/etc/passwd", 10);
    crit_result r;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(s->exit_code, 0);
    assert_int_equal(s->user->linux->uid, 65534);
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_env_args_and_workdir(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-env");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "env", "echo \"$FOO $PATH\"; pwd; echo \"$@\"");
    crit_ctr_env(&c, "FOO", "bar baz");
    char *args[] = {"x", "one", "two"};
    c.config.args = args;
    c.config.n_args = 3;
    c.config.working_dir = "/etc";
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char path[512];
    snprintf(path, sizeof(path), "%s/env.log", S.log_dir);
    /* The image's PATH stays; the CRI's FOO is added. */
    crit_ctr_wait_log(path, "stdout", "bar baz /bin", 10);
    crit_ctr_wait_log(path, "stdout", "/etc", 10);
    crit_ctr_wait_log(path, "stdout", "one two", 10);

    /* Without a command the image's Cmd runs: sh, which ends at once on
     * its closed stdin. */
    crit_ctr_request img;
    char *id2 = crit_ctr_create(&S, crit_ctr_init(&img, &S, pod, "image-cmd", NULL));
    crit_ctr_start(&S, id2);
    crit_ctr_wait_state(&S, id2, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    crit_result r;
    assert_int_equal(crit_ctr_status(&S, id2, false, &r)->exit_code, 0);
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(id2);
    free(pod);
}

static void test_stop_waits_then_kills(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-stop");
    crit_ctr_request a, b;
    char *polite =
        crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "polite", "trap 'exit 0' TERM; while true; do sleep 0.1; done"));
    char *stubborn =
        crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "stubborn", "trap '' TERM; while true; do sleep 0.1; done"));
    crit_ctr_start(&S, polite);
    crit_ctr_start(&S, stubborn);
    crit_ctr_wait_state(&S, polite, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10);
    crit_result r;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, polite, true, &r);
    assert_true(s->started_at > 0);
    Runtime__V1__ContainerStatusResponse *resp = (Runtime__V1__ContainerStatusResponse *)r.response;
    assert_int_equal(resp->n_info, 1);
    json_t *info = json_loads(resp->info[0]->value, 0, NULL);
    assert_non_null(info);
    assert_true(json_integer_value(json_object_get(info, "pid")) > 0);
    assert_non_null(json_object_get(json_object_get(info, "runtimeSpec"), "process"));
    json_decref(info);
    crit_result_clear(&r);

    double t0 = crit_ctr_now();
    crit_ctr_stop_code(&S, polite, 60, NULL, 0);
    assert_true(crit_ctr_now() - t0 < crit_ctr_seconds(10));
    assert_int_equal(crit_ctr_state(&S, polite), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    s = crit_ctr_status(&S, polite, false, &r);
    assert_int_equal(s->exit_code, 0);
    crit_result_clear(&r);

    t0 = crit_ctr_now();
    crit_ctr_stop_code(&S, stubborn, 2, NULL, 0);
    double took = crit_ctr_now() - t0;
    assert_true(took >= 1.9);
    assert_true(took < crit_ctr_seconds(10));
    s = crit_ctr_status(&S, stubborn, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 137);
    assert_string_equal(s->reason, "Error");
    crit_result_clear(&r);

    /* Idempotent: again, and for ids nobody knows. */
    assert_int_equal(crit_ctr_stop_code(&S, stubborn, 0, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(crit_ctr_stop_code(&S, "0123456789abcdef", 0, NULL, 0), GRPC_STATUS_OK);
    crit_ctr_cleanup_pod(&S, pod);
    free(polite);
    free(stubborn);
    free(pod);
}

/* How many of the logged runtime's calls name id and have verb among their
 * words, leaving out those that also have the word without (NULL: none). */
static int logged_calls_with(const char *id, const char *verb, const char *without)
{
    FILE *f = fopen(logged_calls, "re");
    if (f == NULL)
        return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        bool names_id = strstr(line, id) != NULL, has_verb = false, has_without = false;
        for (char *save = NULL, *w = strtok_r(line, " \n", &save); w != NULL; w = strtok_r(NULL, " \n", &save)) {
            has_verb |= strcmp(w, verb) == 0;
            has_without |= without != NULL && strcmp(w, without) == 0;
        }
        n += names_id && has_verb && !has_without;
    }
    fclose(f);
    return n;
}

/* A container that ends before the runtime's `run --detach` returns (its
 * monitor, the subreaper, reaps it while it waits for the runtime) keeps
 * its own exit code, not the 255 of an init whose end went unseen. */
static void test_exit_before_the_runtime_returns(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod_with_handler(&S, "ctr-late", "late");
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "late", "echo early; exit 3"));
    crit_ctr_start(&S, id);
    crit_ctr_wait_exit(&S, id, 3, "Error", 30);
    char path[512];
    crit_ctr_log_path(&S, "late", path, sizeof(path));
    crit_ctr_wait_log(path, "stdout", "early", 10);
    free(id);
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);
}

/* The polite stop signal goes to the init straight from the daemon, not
 * through a `runc kill` (a runtime process of tens of milliseconds on every
 * stop): a container and a pause stopped gracefully end by that signal
 * (the trap's exit code), and the runtime is never asked to kill either,
 * nor to delete the pause twice. */
static void test_stop_signals_without_the_runtime(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod_with_handler(&S, "ctr-direct", "logged");
    crit_ctr_request c;
    char *id =
        crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "direct", "trap 'exit 7' TERM; while true; do sleep 0.1; done"));
    crit_ctr_start(&S, id);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10);
    assert_true(logged_calls_with(id, id, NULL) > 0); /* the logged handler runs it */
    crit_ctr_stop(&S, id, 60);
    crit_result r;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 7);
    crit_result_clear(&r);
    /* Valgrind knows no pidfd_open: a daemon under it falls back to the
     * runtime's kill, which must end the same way. */
    const bool direct = getenv("CRICKET_WRAPPER") == NULL;
    if (direct)
        assert_int_equal(logged_calls_with(id, "kill", NULL), 0);
    /* No grace: SIGKILL at once (not the trap's TERM), to a container with
     * a PID namespace of its own (whose processes all die with its init),
     * again without the runtime. */
    crit_ctr_init(&c, &S, pod, "abrupt", "trap 'exit 7' TERM; while true; do sleep 0.1; done");
    Runtime__V1__LinuxContainerSecurityContext sec = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER; /* as the kubelet asks, unless the pod shares one */
    sec.namespace_options = &ns;
    c.linux_config.security_context = &sec;
    char *abrupt = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, abrupt);
    crit_ctr_wait_state(&S, abrupt, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10);
    crit_ctr_stop(&S, abrupt, 0);
    s = crit_ctr_status(&S, abrupt, false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 137);
    crit_result_clear(&r);
    if (direct)
        assert_int_equal(logged_calls_with(abrupt, "kill", NULL), 0);
    free(abrupt);
    crit_ctr_cleanup_pod(&S, pod);
    /* The pod went through it too, deleted once though stopped twice
     * (StopPodSandbox, then RemovePodSandbox's own stop). */
    assert_int_equal(logged_calls_with(pod, "delete", NULL), 1);
    if (direct)
        assert_int_equal(logged_calls_with(pod, "kill", NULL), 0);
    free(id);
    free(pod);
}

/* A container asking for its own PID namespace, in pid mode mode. */
static char *create_with_pid(crit_ctr_request *c, const char *pod, const char *name, int mode,
                             Runtime__V1__LinuxContainerSecurityContext *sec, Runtime__V1__NamespaceOption *ns)
{
    crit_ctr_init(c, &S, pod, name, "sleep 1000");
    ns->pid = mode;
    sec->namespace_options = ns;
    c->linux_config.security_context = sec;
    return crit_ctr_create(&S, &c->req);
}

/* In a pod without a pause (pid CONTAINER), containers share the pod's
 * pinned IPC and UTS namespaces (its hostname), each with its own PID
 * namespace; one asking for the pod's PID namespace is refused, naming
 * why. */
static void test_containers_in_a_pod_without_pause(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod_without_pause(&S, "ctr-nopause", "nopause-host");
    crit_ctr_request a, b;
    Runtime__V1__LinuxContainerSecurityContext sa = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT, sb = sa;
    Runtime__V1__NamespaceOption na = RUNTIME__V1__NAMESPACE_OPTION__INIT, nb = na;
    char *one = create_with_pid(&a, pod, "one", RUNTIME__V1__NAMESPACE_MODE__CONTAINER, &sa, &na);
    char *two = create_with_pid(&b, pod, "two", RUNTIME__V1__NAMESPACE_MODE__CONTAINER, &sb, &nb);
    crit_ctr_start(&S, one);
    crit_ctr_start(&S, two);
    const char *script = "hostname; for t in ipc uts pid; do readlink /proc/self/ns/$t; done";
    char out1[512], out2[512];
    assert_int_equal(crit_ctr_exec_sh(&S, one, script, out1, sizeof(out1)), 0);
    assert_int_equal(crit_ctr_exec_sh(&S, two, script, out2, sizeof(out2)), 0);
    char ipc1[64], uts1[64], pid1[64], ipc2[64], uts2[64], pid2[64], host[64];
    assert_int_equal(sscanf(out1, "%63s %63s %63s %63s", host, ipc1, uts1, pid1), 4);
    assert_string_equal(host, "nopause-host");
    assert_int_equal(sscanf(out2, "%63s %63s %63s %63s", host, ipc2, uts2, pid2), 4);
    assert_string_equal(host, "nopause-host");
    assert_string_equal(ipc1, ipc2);
    assert_string_equal(uts1, uts2);
    assert_string_not_equal(pid1, pid2);
    /* The pod's stats: its cgroup (the parent given) holds both. */
    Runtime__V1__PodSandboxStatsRequest sreq = RUNTIME__V1__POD_SANDBOX_STATS_REQUEST__INIT;
    sreq.pod_sandbox_id = pod;
    crit_result r;
    Runtime__V1__PodSandboxStatsResponse *st = crit_call_ok(S.client, &S.daemon, RUNTIME("PodSandboxStats"), &sreq.base,
                                                            &runtime__v1__pod_sandbox_stats_response__descriptor, &r);
    assert_int_equal(st->stats->linux->process->process_count->value, 2);
    assert_true(st->stats->linux->memory->working_set_bytes->value > 0);
    crit_result_clear(&r);
    crit_ctr_request c;
    Runtime__V1__LinuxContainerSecurityContext sc = RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
    Runtime__V1__NamespaceOption nc = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    crit_ctr_init(&c, &S, pod, "podpid", "sleep 1000");
    nc.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
    sc.namespace_options = &nc;
    c.linux_config.security_context = &sc;
    char details[1024];
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(details, "without a shared PID namespace"));
    free(one);
    free(two);
    crit_ctr_cleanup_pod(&S, pod);
    free(pod);
}

static void test_remove_in_every_state(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-remove");
    crit_ctr_request a, b, c;
    char *created = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "created", "sleep 1000"));
    char *running = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "running", "sleep 1000"));
    char *exited = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "exited", "true"));
    crit_ctr_start(&S, running);
    crit_ctr_start(&S, exited);
    crit_ctr_wait_state(&S, exited, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 30);
    char rootfs[512];
    snprintf(rootfs, sizeof(rootfs), "%s/containers/%s/rootfs", S.daemon.root, running);
    assert_int_equal(crit_mounts_under(rootfs), 1);
    const char *ids[] = {created, running, exited};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(crit_ctr_remove_code(&S, ids[i], NULL, 0), GRPC_STATUS_OK);
        assert_int_equal(crit_ctr_remove_code(&S, ids[i], NULL, 0), GRPC_STATUS_OK); /* idempotent */
        crit_result r;
        Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
        req.container_id = (char *)ids[i];
        assert_int_equal(crit_call(S.client, RUNTIME("ContainerStatus"), &req.base,
                                   &runtime__v1__container_status_response__descriptor, 10000, &r),
                         GRPC_STATUS_NOT_FOUND);
        crit_result_clear(&r);
    }
    assert_int_equal(crit_mounts_under(rootfs), 0);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/containers", S.daemon.root);
    assert_int_equal(crit_dir_entries(dir), 0);
    snprintf(dir, sizeof(dir), "%s/containers", S.daemon.state);
    assert_int_equal(crit_dir_entries(dir), 0);
    assert_int_equal(crit_ctr_remove_code(&S, "0123456789abcdef0123", NULL, 0), GRPC_STATUS_OK);
    crit_ctr_cleanup_pod(&S, pod);
    free(created);
    free(running);
    free(exited);
    free(pod);
}

static void test_bad_requests(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-bad");
    char details[1024];
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "noimage", "true");
    c.image.image = "127.0.0.1:1/nothing/here:1";
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_NOT_FOUND);
    assert_non_null(strstr(details, "nothing/here"));

    crit_ctr_init(&c, &S, "ffffffffffffffffffff", "nopod", "true");
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_NOT_FOUND);

    crit_ctr_init(&c, &S, pod, "nometa", "true");
    c.config.metadata = NULL;
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);

    assert_int_equal(crit_ctr_start_code(&S, "ffffffffffffffffff", details, sizeof(details)), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(crit_ctr_start_code(&S, "", details, sizeof(details)), GRPC_STATUS_INVALID_ARGUMENT);

    /* Started twice: the second is refused, the container unharmed. */
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "twice", "sleep 1000"));
    crit_ctr_start(&S, id);
    assert_int_equal(crit_ctr_start_code(&S, id, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

    /* A stopped pod takes no new container. */
    crit_pod_stop(S.client, &S.daemon, pod);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    crit_ctr_init(&c, &S, pod, "late", "true");
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    crit_pod_remove(S.client, &S.daemon, pod);
    free(id);
    free(pod);
}

static void test_retry_gets_same_container(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-retry");
    crit_ctr_request c;
    char *a = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "retried", "sleep 1000"));
    char *b = crit_ctr_create(&S, &c.req);
    assert_string_equal(a, b);
    crit_ctr_start(&S, a);
    /* Once it runs the name is taken: a new attempt must be asked for. */
    char details[1024];
    assert_int_equal(crit_ctr_create_code(&S, &c.req, NULL, details, sizeof(details)), GRPC_STATUS_ALREADY_EXISTS);
    c.metadata.attempt = 3;
    char *d = crit_ctr_create(&S, &c.req);
    assert_string_not_equal(a, d);
    crit_ctr_cleanup_pod(&S, pod);
    free(a);
    free(b);
    free(d);
    free(pod);
}

static void test_list_filters(void **state)
{
    (void)state;
    char *pod1 = crit_ctr_run_pod(&S, "ctr-list1");
    char *pod2 = crit_ctr_run_pod(&S, "ctr-list2");
    crit_ctr_request a, b, c;
    crit_ctr_init(&a, &S, pod1, "one", "sleep 1000");
    crit_ctr_label(&a, "app", "web");
    char *one = crit_ctr_create(&S, &a.req);
    char *two = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod1, "two", "sleep 1000"));
    char *three = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod2, "three", "sleep 1000"));
    crit_ctr_start(&S, one);

    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
    assert_true(crit_ctr_listed(l, one) && crit_ctr_listed(l, two) && crit_ctr_listed(l, three));
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    f.pod_sandbox_id = pod1;
    l = crit_ctr_list(&S, &f, &r);
    assert_int_equal(l->n_containers, 2);
    assert_true(crit_ctr_listed(l, one) && crit_ctr_listed(l, two));
    assert_string_equal(l->containers[0]->pod_sandbox_id, pod1);
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter fs = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    fs.state = &sv;
    l = crit_ctr_list(&S, &fs, &r);
    assert_true(crit_ctr_listed(l, one) && !crit_ctr_listed(l, two) && !crit_ctr_listed(l, three));
    crit_result_clear(&r);

    Runtime__V1__ContainerFilter fl = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerFilter__LabelSelectorEntry sel = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "app";
    sel.value = "web";
    Runtime__V1__ContainerFilter__LabelSelectorEntry *sels[] = {&sel};
    fl.label_selector = sels;
    fl.n_label_selector = 1;
    l = crit_ctr_list(&S, &fl, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, one);
    assert_int_equal(l->containers[0]->n_labels, 1);
    crit_result_clear(&r);
    sel.value = "db";
    l = crit_ctr_list(&S, &fl, &r);
    assert_int_equal(l->n_containers, 0);
    crit_result_clear(&r);

    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%.12s", three);
    Runtime__V1__ContainerFilter fi = RUNTIME__V1__CONTAINER_FILTER__INIT;
    fi.id = prefix;
    l = crit_ctr_list(&S, &fi, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, three);
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod1);
    crit_ctr_cleanup_pod(&S, pod2);
    free(one);
    free(two);
    free(three);
    free(pod1);
    free(pod2);
}

/* The state id has in the list for filter f (may be NULL), or -1 when it
 * is not listed. */
static int state_in(const Runtime__V1__ContainerFilter *f, const char *id)
{
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, f, &r);
    int state = -1;
    for (size_t i = 0; i < l->n_containers; i++)
        if (strcmp(l->containers[i]->id, id) == 0)
            state = (int)l->containers[i]->state;
    crit_result_clear(&r);
    return state;
}

/* The state ListContainers gives for id (-1: not listed), with the filter
 * of state want when want >= 0 (the state filter reads the same state). */
static int listed_state(const char *id, int want)
{
    Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    if (want >= 0) {
        sv.state = (Runtime__V1__ContainerState)want;
        f.state = &sv;
    }
    return state_in(&f, id);
}

static pid_t parent_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *stat = crit_ctr_read_file(path);
    /* ") <state> <ppid> ...": the name before may hold anything. */
    const char *end = strrchr(stat, ')');
    char *after = NULL;
    long ppid = end != NULL && strlen(end) > 4 ? strtol(end + 4, &after, 10) : 0;
    if (after == NULL || after == end + 4 || ppid <= 0)
        fail_msg("cannot read the parent of %d from %s", (int)pid, path);
    free(stat);
    return (pid_t)ppid;
}

/* ListContainers keeps the views it built (containers/list_cache.c): every
 * change of a row, and every exit not yet recorded, must show in the very
 * next list, and a restart starts from the rows. */
static void test_list_follows_changes(void **state)
{
    (void)state;
    enum {
        CREATED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED,
        RUNNING = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
        EXITED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
    };
    char *pod = crit_ctr_run_pod(&S, "ctr-list-cache");
    crit_ctr_request a, b, c;
    crit_ctr_init(&a, &S, pod, "watched", "sleep 1000");
    crit_ctr_label(&a, "cache", "a");
    char *watched = crit_ctr_create(&S, &a.req);
    char *orphan = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "orphan", "sleep 1000"));
    char *removed = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "removed", "sleep 1000"));
    assert_int_equal(listed_state(watched, -1), CREATED);
    assert_int_equal(listed_state(watched, RUNNING), -1);

    /* StartContainer: the next list says RUNNING, with any filter. */
    crit_ctr_start(&S, watched);
    crit_ctr_start(&S, orphan);
    assert_int_equal(listed_state(watched, -1), RUNNING);
    assert_int_equal(listed_state(watched, RUNNING), RUNNING);
    assert_int_equal(listed_state(watched, CREATED), -1);
    assert_int_equal(listed_state(removed, CREATED), CREATED);

    /* An exit the monitor has just written (the exit watch may not have
     * recorded it yet): the next list says EXITED. */
    pid_t init = crit_ctr_pid(&S, watched);
    char exit_file[512];
    snprintf(exit_file, sizeof(exit_file), "%s/containers/%s/exit", S.daemon.state, watched);
    assert_int_equal(kill(init, SIGKILL), 0);
    struct stat st;
    for (double until = crit_ctr_now() + crit_ctr_seconds(10); stat(exit_file, &st) < 0;) {
        assert_true(crit_ctr_now() < until);
        usleep(1000);
    }
    assert_int_equal(listed_state(watched, -1), EXITED);
    assert_int_equal(listed_state(watched, EXITED), EXITED);
    crit_result r;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, watched, false, &r);
    assert_int_equal(s->exit_code, 137);
    crit_result_clear(&r);

    /* Its monitor killed, then its init: no exit file will ever come, and
     * the list alone finds the end (code unknown: 255). */
    pid_t orphan_init = crit_ctr_pid(&S, orphan);
    pid_t monitor = parent_of(orphan_init);
    assert_true(monitor > 1);
    assert_int_equal(kill(monitor, SIGKILL), 0);
    assert_int_equal(kill(orphan_init, SIGKILL), 0);
    for (double until = crit_ctr_now() + crit_ctr_seconds(15); listed_state(orphan, EXITED) != EXITED;) {
        assert_true(crit_ctr_now() < until);
        usleep(20 * 1000);
    }
    s = crit_ctr_status(&S, orphan, false, &r);
    assert_int_equal(s->exit_code, 255);
    assert_non_null(strstr(s->message, "nobody watched"));
    crit_result_clear(&r);

    /* RemoveContainer: gone from the next list. */
    crit_ctr_remove_code(&S, removed, NULL, 0);
    assert_int_equal(listed_state(removed, -1), -1);

    /* Labels still select after all that. */
    Runtime__V1__ContainerFilter fl = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerFilter__LabelSelectorEntry sel = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "cache";
    sel.value = "a";
    Runtime__V1__ContainerFilter__LabelSelectorEntry *sels[] = {&sel};
    fl.label_selector = sels;
    fl.n_label_selector = 1;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, &fl, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, watched);
    assert_int_equal(l->containers[0]->state, EXITED);
    crit_result_clear(&r);

    /* A restarted daemon lists from the rows; a change after it shows. */
    crit_ctr_request d;
    char *late = crit_ctr_create(&S, crit_ctr_init(&d, &S, pod, "late", "sleep 1000"));
    crit_ctr_start(&S, late);
    assert_int_equal(listed_state(late, -1), RUNNING);
    crit_daemon_kill(&S.daemon);
    crit_ctr_suite_restart(&S);
    assert_int_equal(listed_state(watched, -1), EXITED);
    assert_int_equal(listed_state(orphan, -1), EXITED);
    assert_int_equal(listed_state(late, -1), RUNNING);
    crit_ctr_stop(&S, late, 0);
    assert_int_equal(listed_state(late, -1), EXITED);
    crit_ctr_cleanup_pod(&S, pod);
    assert_int_equal(listed_state(watched, -1), -1);
    free(watched);
    free(orphan);
    free(removed);
    free(late);
    free(pod);
}

/* A list answer as bytes (the client packs what it decoded again: equal
 * answers give equal bytes). */
static char *list_bytes(const Runtime__V1__ContainerFilter *f, size_t *len)
{
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, f, &r);
    *len = protobuf_c_message_get_packed_size(&l->base);
    char *bytes = malloc(*len + 1);
    assert_non_null(bytes);
    protobuf_c_message_pack(&l->base, (uint8_t *)bytes);
    crit_result_clear(&r);
    return bytes;
}

/* An empty filter object answers what no filter does, byte for byte. */
static void assert_empty_filter_is_none(void)
{
    Runtime__V1__ContainerFilter empty = RUNTIME__V1__CONTAINER_FILTER__INIT;
    empty.id = "";
    empty.pod_sandbox_id = "";
    size_t a_len = 0, b_len = 0, c_len = 0;
    char *a = list_bytes(NULL, &a_len);
    char *b = list_bytes(&empty, &b_len);
    char *c = list_bytes(NULL, &c_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    assert_int_equal(a_len, c_len);
    assert_memory_equal(a, c, a_len);
    free(a);
    free(b);
    free(c);
}

/* id must be in state want (-1: not listed) in the answer of no filter,
 * and listed in that of the filter state RUNNING alone only when want is
 * RUNNING; each asked twice (the second from the kept answer). */
static void assert_unfiltered(const char *id, int want)
{
    Runtime__V1__ContainerFilter fr = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
    sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    fr.state = &sv;
    int running = want == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING ? want : -1;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(state_in(NULL, id), want);
        assert_int_equal(state_in(&fr, id), running);
    }
}

/* ListContainers with no filter (or an empty one, or state RUNNING alone)
 * answers with the bytes kept from the last such answer while no
 * container changed (cri/container_view.c): each change shows in the very
 * next list, asked right after the change, and filtered lists after a kept
 * answer are their own. */
static void test_list_kept_answer_follows_changes(void **state)
{
    (void)state;
    enum {
        CREATED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED,
        RUNNING = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
        EXITED = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
    };
    char *pod = crit_ctr_run_pod(&S, "ctr-list-kept");
    char *other_pod = crit_ctr_run_pod(&S, "ctr-list-kept2");
    crit_ctr_request a, b, c;
    char *other = crit_ctr_create(&S, crit_ctr_init(&c, &S, other_pod, "other", "sleep 1000"));
    assert_empty_filter_is_none();
    assert_unfiltered(other, CREATED);

    /* Created, started: the next unfiltered list says so. */
    crit_ctr_init(&a, &S, pod, "kept", "sleep 1000");
    crit_ctr_label(&a, "kept", "yes");
    char *kept = crit_ctr_create(&S, &a.req);
    assert_unfiltered(kept, CREATED);
    crit_ctr_start(&S, kept);
    assert_unfiltered(kept, RUNNING);
    assert_empty_filter_is_none();

    /* Filtered lists after a kept answer: by pod, by id, by label. */
    Runtime__V1__ContainerFilter fp = RUNTIME__V1__CONTAINER_FILTER__INIT;
    fp.pod_sandbox_id = other_pod;
    assert_int_equal(state_in(&fp, other), CREATED);
    assert_int_equal(state_in(&fp, kept), -1);
    Runtime__V1__ContainerFilter fi = RUNTIME__V1__CONTAINER_FILTER__INIT;
    fi.id = kept;
    assert_int_equal(state_in(&fi, kept), RUNNING);
    assert_int_equal(state_in(&fi, other), -1);
    Runtime__V1__ContainerFilter fl = RUNTIME__V1__CONTAINER_FILTER__INIT;
    Runtime__V1__ContainerFilter__LabelSelectorEntry sel = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
    sel.key = "kept";
    sel.value = "yes";
    Runtime__V1__ContainerFilter__LabelSelectorEntry *sels[] = {&sel};
    fl.label_selector = sels;
    fl.n_label_selector = 1;
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, &fl, &r);
    assert_int_equal(l->n_containers, 1);
    assert_string_equal(l->containers[0]->id, kept);
    assert_int_equal(l->containers[0]->n_labels, 1);
    assert_string_equal(l->containers[0]->labels[0]->value, "yes");
    assert_string_equal(l->containers[0]->metadata->name, "kept");
    crit_result_clear(&r);
    assert_unfiltered(kept, RUNNING);

    /* Its exit: listed EXITED as soon as the monitor wrote the exit file. */
    pid_t init = crit_ctr_pid(&S, kept);
    char exit_file[512];
    snprintf(exit_file, sizeof(exit_file), "%s/containers/%s/exit", S.daemon.state, kept);
    assert_int_equal(kill(init, SIGKILL), 0);
    struct stat st;
    for (double until = crit_ctr_now() + crit_ctr_seconds(10); stat(exit_file, &st) < 0;) {
        assert_true(crit_ctr_now() < until);
        usleep(1000);
    }
    assert_unfiltered(kept, EXITED);

    /* Its monitor killed, then its init: found by the sweep (within a few
     * seconds, as the list without a kept answer), then listed EXITED. */
    char *orphan = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "orphan", "sleep 1000"));
    crit_ctr_start(&S, orphan);
    assert_unfiltered(orphan, RUNNING);
    pid_t orphan_init = crit_ctr_pid(&S, orphan);
    pid_t monitor = parent_of(orphan_init);
    assert_true(monitor > 1);
    assert_int_equal(kill(monitor, SIGKILL), 0);
    assert_int_equal(kill(orphan_init, SIGKILL), 0);
    for (double until = crit_ctr_now() + crit_ctr_seconds(15); state_in(NULL, orphan) != EXITED;) {
        assert_true(crit_ctr_now() < until);
        usleep(20 * 1000);
    }
    assert_unfiltered(orphan, EXITED);

    /* Removed: gone from the next list. */
    crit_ctr_remove_code(&S, kept, NULL, 0);
    assert_unfiltered(kept, -1);
    assert_unfiltered(orphan, EXITED);
    assert_empty_filter_is_none();
    crit_ctr_cleanup_pod(&S, pod);
    assert_unfiltered(orphan, -1);
    assert_unfiltered(other, CREATED);
    crit_ctr_cleanup_pod(&S, other_pod);
    assert_unfiltered(other, -1);
    free(kept);
    free(orphan);
    free(other);
    free(pod);
    free(other_pod);
}

static void test_reopen_log(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-reopen");
    crit_ctr_request c;
    char *id =
        crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "chatty", "while true; do echo hello World; sleep 0.2; done"));
    crit_ctr_start(&S, id);
    char path[512], moved[600];
    snprintf(path, sizeof(path), "%s/chatty.log", S.log_dir);
    snprintf(moved, sizeof(moved), "%s.new", path);
    crit_ctr_wait_log(path, "stdout", "hello World", 10);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(crit_ctr_reopen_code(&S, id, NULL, 0), GRPC_STATUS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* there when the call returns */
    crit_ctr_wait_log(path, "stdout", "hello World", 10);
    struct stat a, b;
    assert_int_equal(stat(moved, &a), 0);
    usleep(600 * 1000);
    assert_int_equal(stat(moved, &b), 0);
    assert_int_equal(a.st_size, b.st_size); /* nothing goes to the old file */

    /* A running container is not checkpointed, and is left running. */
    Runtime__V1__CheckpointContainerRequest cp = RUNTIME__V1__CHECKPOINT_CONTAINER_REQUEST__INIT;
    cp.container_id = id;
    crit_result r;
    assert_int_equal(crit_call(S.client, RUNTIME("CheckpointContainer"), &cp.base,
                               &runtime__v1__checkpoint_container_response__descriptor, 10000, &r),
                     GRPC_STATUS_UNIMPLEMENTED);
    assert_non_null(strstr(r.details, "CRIU"));
    crit_result_clear(&r);
    crit_ctr_wait_state(&S, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 1);

    crit_ctr_stop_code(&S, id, 0, NULL, 0);
    char details[1024];
    assert_int_equal(crit_ctr_reopen_code(&S, id, details, sizeof(details)), GRPC_STATUS_FAILED_PRECONDITION);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_pod_stop_and_remove_take_containers(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-pod");
    crit_ctr_request a, b;
    char *one = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "one", "sleep 1000"));
    char *two = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "two", "trap '' TERM; sleep 1000"));
    crit_ctr_start(&S, one);
    crit_ctr_start(&S, two);
    /* Containers the kubelet left running are killed, not given a grace:
     * crictl rmp -f waits 2 s at most. */
    double t0 = crit_ctr_now();
    crit_pod_stop(S.client, &S.daemon, pod);
    double took = crit_ctr_now() - t0;
    if (took >= crit_ctr_seconds(1.9))
        fail_msg("StopPodSandbox took %.2f s with a container ignoring SIGTERM", took);
    assert_int_equal(crit_ctr_state(&S, one), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(crit_ctr_state(&S, two), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    crit_pod_remove(S.client, &S.daemon, pod);
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
    assert_false(crit_ctr_listed(l, one) || crit_ctr_listed(l, two));
    crit_result_clear(&r);
    crit_ctr_wait_nothing_left(&S);
    free(one);
    free(two);
    free(pod);
}

/* ExecSync of argv; the response stays in r. */
static grpc_status_code exec_sync(const char *id, const char *const *argv, int64_t timeout, crit_result *r)
{
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = (char *)id;
    size_t n = 0;
    while (argv[n] != NULL)
        n++;
    req.cmd = (char **)argv;
    req.n_cmd = n;
    req.timeout = timeout;
    return crit_call(S.client, RUNTIME("ExecSync"), &req.base, &runtime__v1__exec_sync_response__descriptor, 120000, r);
}

static void assert_output(const ProtobufCBinaryData *b, const char *want, size_t len)
{
    assert_int_equal(b->len, len);
    if (len > 0)
        assert_memory_equal(b->data, want, len);
}

static void test_exec_sync(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-exec");
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "exec", "sleep 1000"));
    crit_ctr_start(&S, id);
    crit_result r;
    const char *echo[] = {"echo", "-n", "hello", NULL};
    assert_int_equal(exec_sync(id, echo, 30, &r), GRPC_STATUS_OK);
    Runtime__V1__ExecSyncResponse *e = (Runtime__V1__ExecSyncResponse *)r.response;
    assert_output(&e->stdout, "hello", 5);
    assert_output(&e->stderr, "", 0);
    assert_int_equal(e->exit_code, 0);
    crit_result_clear(&r);

    const char *mixed[] = {"sh", "-c", "printf 'a\\0b'; echo err >&2; exit 3", NULL};
    assert_int_equal(exec_sync(id, mixed, 30, &r), GRPC_STATUS_OK);
    e = (Runtime__V1__ExecSyncResponse *)r.response;
    assert_output(&e->stdout, "a\0b", 3);
    assert_output(&e->stderr, "err\n", 4);
    assert_int_equal(e->exit_code, 3);
    crit_result_clear(&r);

    /* The timeout is ours to enforce, and what timed out is gone when the
     * call returns. */
    const char *sleeper[] = {"sleep", "4321", NULL};
    double t0 = crit_ctr_now();
    assert_int_equal(exec_sync(id, sleeper, 1, &r), GRPC_STATUS_DEADLINE_EXCEEDED);
    assert_true(crit_ctr_now() - t0 < crit_ctr_seconds(5));
    crit_result_clear(&r);
    const char *look[] = {"sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", NULL};
    assert_int_equal(exec_sync(id, look, 30, &r), GRPC_STATUS_OK);
    e = (Runtime__V1__ExecSyncResponse *)r.response;
    /* Not strndup: the bytes hold no NUL, and ASan checks strndup's
     * source as a whole string. */
    char *seen = calloc(1, e->stdout.len + 1);
    assert_non_null(seen);
    if (e->stdout.len > 0)
        memcpy(seen, e->stdout.data, e->stdout.len);
    assert_null(strstr(seen, "4321"));
    assert_non_null(strstr(seen, "sleep 1000"));
    free(seen);
    crit_result_clear(&r);

    const char *missing[] = {"/no/such/binary", NULL};
    assert_int_not_equal(exec_sync(id, missing, 30, &r), GRPC_STATUS_OK);
    crit_result_clear(&r);
    const char *none[] = {NULL};
    assert_int_equal(exec_sync(id, none, 30, &r), GRPC_STATUS_INVALID_ARGUMENT);
    crit_result_clear(&r);

    crit_ctr_stop_code(&S, id, 0, NULL, 0);
    assert_int_equal(exec_sync(id, echo, 30, &r), GRPC_STATUS_FAILED_PRECONDITION);
    crit_result_clear(&r);
    assert_int_equal(exec_sync("ffffffffffffffff", echo, 30, &r), GRPC_STATUS_NOT_FOUND);
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_resources_in_the_cgroup(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-res");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "limited", "sleep 1000");
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = 32 << 20;
    res.cpu_shares = 256;
    c.linux_config.resources = &res;
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);
    int pid = crit_ctr_pid(&S, id);
    assert_true(pid > 0);
    char *limit = crit_ctr_cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "33554432\n");
    free(limit);
    char *shares = crit_ctr_cgroup_file(pid, "cpu", "cpu.shares");
    assert_string_equal(shares, "256\n");
    free(shares);

    Runtime__V1__LinuxContainerResources upd = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    upd.memory_limit_in_bytes = 64 << 20;
    upd.cpu_shares = 512;
    Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
    req.container_id = id;
    req.linux = &upd;
    crit_result r;
    crit_call_ok(S.client, &S.daemon, RUNTIME("UpdateContainerResources"), &req.base,
                 &runtime__v1__update_container_resources_response__descriptor, &r);
    crit_result_clear(&r);
    limit = crit_ctr_cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "67108864\n");
    free(limit);
    shares = crit_ctr_cgroup_file(pid, "cpu", "cpu.shares");
    assert_string_equal(shares, "512\n");
    free(shares);
    Runtime__V1__ContainerStatusResponse *resp_status = NULL;
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, id, false, &r);
    assert_non_null(s->resources);
    assert_int_equal(s->resources->linux->memory_limit_in_bytes, 64 << 20);
    assert_int_equal(s->resources->linux->cpu_shares, 512);
    crit_result_clear(&r);

    /* A partial update keeps the rest (containerd's rule: 0 = unchanged). */
    Runtime__V1__LinuxContainerResources quota = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    quota.cpu_quota = 30000;
    quota.cpu_period = 100000;
    req.linux = &quota;
    crit_call_ok(S.client, &S.daemon, RUNTIME("UpdateContainerResources"), &req.base,
                 &runtime__v1__update_container_resources_response__descriptor, &r);
    crit_result_clear(&r);
    s = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(s->resources->linux->memory_limit_in_bytes, 64 << 20);
    assert_int_equal(s->resources->linux->cpu_quota, 30000);
    crit_result_clear(&r);

    /* A limit the kernel refuses (below what the container uses) changes
     * nothing: not the cgroup, not the status, not the spec. */
    Runtime__V1__LinuxContainerResources tiny = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    tiny.memory_limit_in_bytes = 4096;
    req.linux = &tiny;
    assert_int_not_equal(crit_call(S.client, RUNTIME("UpdateContainerResources"), &req.base,
                                   &runtime__v1__update_container_resources_response__descriptor, 30000, &r),
                         GRPC_STATUS_OK);
    crit_result_clear(&r);
    limit = crit_ctr_cgroup_file(pid, "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "67108864\n");
    free(limit);
    crit_ctr_status(&S, id, true, &r);
    resp_status = (Runtime__V1__ContainerStatusResponse *)r.response;
    assert_int_equal(resp_status->status->resources->linux->memory_limit_in_bytes, 64 << 20);
    json_t *info = json_loads(resp_status->info[0]->value, 0, NULL);
    json_t *mem = json_object_get(
        json_object_get(json_object_get(json_object_get(info, "runtimeSpec"), "linux"), "resources"), "memory");
    assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 64 << 20);
    json_decref(info);
    crit_result_clear(&r);
    req.linux = &upd;

    crit_ctr_stop_code(&S, id, 0, NULL, 0);
    assert_int_not_equal(crit_call(S.client, RUNTIME("UpdateContainerResources"), &req.base,
                                   &runtime__v1__update_container_resources_response__descriptor, 30000, &r),
                         GRPC_STATUS_OK);
    crit_result_clear(&r);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

/* The next event of the stream for container id (others are skipped);
 * NULL after seconds. Free it with protobuf_c_message_free_unpacked. */
static Runtime__V1__ContainerEventResponse *next_event(crit_stream *s, const char *id, double seconds)
{
    double until = crit_ctr_now() + crit_ctr_seconds(seconds);
    while (crit_ctr_now() < until) {
        ProtobufCMessage *msg = NULL;
        int got = crit_stream_next(s, &runtime__v1__container_event_response__descriptor, 200, &msg);
        if (got < 0)
            return NULL;
        if (got == 0)
            continue;
        Runtime__V1__ContainerEventResponse *ev = (Runtime__V1__ContainerEventResponse *)msg;
        if (strcmp(ev->container_id, id) == 0)
            return ev;
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    return NULL;
}

static void expect_event(crit_stream *s, const char *id, const char *pod, Runtime__V1__ContainerEventType type,
                         int state)
{
    Runtime__V1__ContainerEventResponse *ev = next_event(s, id, 15);
    if (ev == NULL) {
        fail_msg("no event %d for container %.12s", type, id);
        return;
    }
    assert_int_equal(ev->container_event_type, type);
    assert_true(ev->created_at > 0);
    assert_non_null(ev->pod_sandbox_status);
    assert_string_equal(ev->pod_sandbox_status->id, pod);
    bool seen = false;
    for (size_t i = 0; i < ev->n_containers_statuses; i++)
        if (strcmp(ev->containers_statuses[i]->id, id) == 0) {
            seen = true;
            assert_int_equal(ev->containers_statuses[i]->state, state);
        }
    assert_true(seen == (state >= 0));
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* Events come as things happen, with the pod's status and its containers'
 * statuses; an exit is told without anyone asking for a status. */
static void test_events(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-events");
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    crit_stream *s = crit_stream_open(S.client, RUNTIME("GetContainerEvents"), &req.base, 120000);
    assert_non_null(s);
    usleep(200 * 1000);
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "eventful", "sleep 1"));
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    crit_ctr_start(&S, id);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT,
                 RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(crit_ctr_remove_code(&S, id, NULL, 0), GRPC_STATUS_OK);
    expect_event(s, id, pod, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT, -1);
    crit_stream_cancel(s);
    char details[256];
    crit_stream_finish(s, 5000, details, sizeof(details));
    crit_stream_free(s);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

static void test_kill_9_keeps_containers(void **state)
{
    (void)state;
    enum { N = 20 };
    char *pod = crit_ctr_run_pod(&S, "ctr-kill");
    crit_ctr_request c[N];
    char *ids[N];
    char name[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof(name[i]), "c%d", i);
        ids[i] = crit_ctr_create(&S, crit_ctr_init(&c[i], &S, pod, name[i], i == 0 ? "sleep 1; exit 7" : "sleep 1000"));
        crit_ctr_start(&S, ids[i]);
    }
    crit_daemon_kill(&S.daemon);
    sleep(2); /* the first exits while nobody listens */
    crit_ctr_suite_restart(&S);
    crit_result r;
    Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
    for (int i = 0; i < N; i++)
        assert_true(crit_ctr_listed(l, ids[i]));
    crit_result_clear(&r);
    Runtime__V1__ContainerStatus *s = crit_ctr_status(&S, ids[0], false, &r);
    assert_int_equal(s->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_int_equal(s->exit_code, 7);
    crit_result_clear(&r);
    for (int i = 1; i < N; i++)
        assert_int_equal(crit_ctr_state(&S, ids[i]), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    /* Still fully managed: they stop and go. */
    assert_int_equal(crit_ctr_stop_code(&S, ids[1], 0, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(crit_ctr_state(&S, ids[1]), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(pod);
}

/* A container in pod that goes over its 15 MB memory limit (no swap) at
 * once, started and seen to end OOMKilled; returns its id. */
static char *run_out_of_memory(const char *pod, const char *name)
{
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, name, "dd if=/dev/zero of=/dev/null bs=20M");
    Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    res.memory_limit_in_bytes = 15 << 20;
    res.memory_swap_limit_in_bytes = 15 << 20;
    c.linux_config.resources = &res;
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);
    crit_ctr_wait_exit(&S, id, 137, "OOMKilled", 60);
    return id;
}

/* critest's c16: over its memory limit (no swap) a container is killed by
 * the kernel; it ends with 137 and reason OOMKilled, not Error. */
static void test_oom_killed(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-oom");
    char *id = run_out_of_memory(pod, "oom");
    /* A container killed by a signal without running out of memory is not
     * OOMKilled: 137 and Error. */
    crit_ctr_request k;
    char *killed = crit_ctr_create(&S, crit_ctr_init(&k, &S, pod, "killed", "kill -9 $$"));
    crit_ctr_start(&S, killed);
    crit_ctr_wait_exit(&S, killed, 137, "Error", 30);
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(killed);
    free(pod);
}

/* An init the memory limit kills before the runtime's `run` returns is
 * never identified (and its /proc says nothing of its cgroup once it is a
 * zombie): its memory cgroup comes from the spec, so it still ends
 * OOMKilled, not Error. */
static void test_oom_before_identified(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod_with_handler(&S, "ctr-oom-late", "late");
    char *id = run_out_of_memory(pod, "oom-late");
    crit_ctr_cleanup_pod(&S, pod);
    free(id);
    free(pod);
}

/* ---- a daemon killed during parallel creations ---- */

enum { PARALLEL_CREATES = 8 };

static atomic_int creates_acknowledged;

typedef struct creation {
    const char *pod;
    char name[32];
    char id[65];     /* set when CreateContainer answered OK */
    char listed[65]; /* the container of that name listed after the restart */
    pthread_t thread;
} creation;

static void *create_one(void *arg)
{
    creation *c = arg;
    crit_ctr_request req;
    crit_ctr_init(&req, &S, c->pod, c->name, "sleep 1000");
    crit_client *cl = crit_connect(S.daemon.socket);
    crit_result r;
    if (crit_call(cl, RUNTIME("CreateContainer"), &req.req.base, &runtime__v1__create_container_response__descriptor,
                  60000, &r) == GRPC_STATUS_OK) {
        snprintf(c->id, sizeof(c->id), "%s", ((Runtime__V1__CreateContainerResponse *)r.response)->container_id);
        atomic_fetch_add(&creates_acknowledged, 1);
    }
    crit_result_clear(&r);
    crit_close(cl);
    return NULL;
}

/* kill -9 while containers are being created, once the first and once
 * half of them have a directory, and once half were acknowledged: every acknowledged
 * container is still there after the restart, the half-made ones are
 * rolled back (never listed), the kubelet's retry of each creates it, and
 * removing the pod leaves nothing: no mount, monitor, runtime state or
 * directory. */
static void test_kill_9_during_parallel_creates(void **state)
{
    (void)state;
    static const struct {
        size_t dirs, acknowledged;
    } kill_after[] = {{1, 0}, {PARALLEL_CREATES / 2, 0}, {0, PARALLEL_CREATES / 2}};
    char dirs[512];
    snprintf(dirs, sizeof(dirs), "%s/containers", S.daemon.root);
    for (size_t round = 0; round < sizeof(kill_after) / sizeof(kill_after[0]); round++) {
        atomic_store(&creates_acknowledged, 0);
        char *pod = crit_ctr_run_pod(&S, "ctr-kill-create");
        creation cs[PARALLEL_CREATES];
        memset(cs, 0, sizeof(cs));
        for (int i = 0; i < PARALLEL_CREATES; i++) {
            cs[i].pod = pod;
            snprintf(cs[i].name, sizeof(cs[i].name), "c%zu-%d", round, i);
            assert_int_equal(pthread_create(&cs[i].thread, NULL, create_one, &cs[i]), 0);
        }
        for (int i = 0; i < 5000 && (crit_dir_entries(dirs) < kill_after[round].dirs ||
                                     (size_t)atomic_load(&creates_acknowledged) < kill_after[round].acknowledged);
             i++)
            usleep(2 * 1000);
        crit_daemon_kill(&S.daemon);
        for (int i = 0; i < PARALLEL_CREATES; i++)
            pthread_join(cs[i].thread, NULL);
        crit_ctr_suite_restart(&S);

        crit_result r;
        Runtime__V1__ListContainersResponse *l = crit_ctr_list(&S, NULL, &r);
        int acked = 0;
        for (int i = 0; i < PARALLEL_CREATES; i++) {
            for (size_t j = 0; j < l->n_containers; j++)
                if (strcmp(l->containers[j]->metadata->name, cs[i].name) == 0)
                    snprintf(cs[i].listed, sizeof(cs[i].listed), "%s", l->containers[j]->id);
            if (cs[i].id[0] == '\0')
                continue;
            acked++;
            if (strcmp(cs[i].listed, cs[i].id) != 0)
                fail_msg("round %zu: acknowledged container %s is not listed after the restart", round, cs[i].name);
        }
        crit_result_clear(&r);
        print_message("round %zu: %d of %d creations acknowledged before the kill\n", round, acked, PARALLEL_CREATES);
        /* The kubelet retries what was not acknowledged; all of them run. A
         * creation finished but not answered before the kill is listed,
         * and its retry gets that same container. */
        for (int i = 0; i < PARALLEL_CREATES; i++) {
            crit_ctr_request req;
            char *id = crit_ctr_create(&S, crit_ctr_init(&req, &S, pod, cs[i].name, "sleep 1000"));
            if (cs[i].listed[0] != '\0')
                assert_string_equal(id, cs[i].listed);
            crit_ctr_start(&S, id);
            assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
            free(id);
        }
        crit_ctr_cleanup_pod(&S, pod);
        crit_ctr_wait_nothing_left(&S);
        free(pod);
    }
}

/* ---- a created container has no process (as in containerd) ---- */

static bool runtime_knows(const char *handler, const char *id)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/runtime/%s/%s", S.daemon.state, handler, id);
    return access(path, F_OK) == 0;
}

static void update_memory(const char *id, int64_t bytes)
{
    Runtime__V1__LinuxContainerResources upd = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    upd.memory_limit_in_bytes = bytes;
    Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
    req.container_id = (char *)id;
    req.linux = &upd;
    crit_result r;
    crit_call_ok(S.client, &S.daemon, RUNTIME("UpdateContainerResources"), &req.base,
                 &runtime__v1__update_container_resources_response__descriptor, &r);
    crit_result_clear(&r);
}

/* CreateContainer makes no monitor and nothing in the runtime; stop leaves
 * it created, stats answer without usage, an update waits in its spec for
 * the start, which applies it; removing a created one leaves nothing. */
static void test_created_has_no_process(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-lazy");
    crit_ctr_request a, b, c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "lazy", "sleep 1000"));
    char *never = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "never", "sleep 1000"));
    char *with_pod = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "with-pod", "sleep 1000"));
    assert_int_equal(crit_ctr_processes_naming(&S, id, 0), 0);
    assert_false(runtime_knows("runc", id));

    assert_int_equal(crit_ctr_stop_code(&S, id, 10, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);

    Runtime__V1__ContainerStatsRequest sreq = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    sreq.container_id = id;
    crit_result r;
    Runtime__V1__ContainerStatsResponse *st = crit_call_ok(S.client, &S.daemon, RUNTIME("ContainerStats"), &sreq.base,
                                                           &runtime__v1__container_stats_response__descriptor, &r);
    assert_non_null(st->stats);
    assert_string_equal(st->stats->attributes->id, id);
    crit_result_clear(&r);
    Runtime__V1__ListContainerStatsRequest lreq = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    Runtime__V1__ListContainerStatsResponse *ls =
        crit_call_ok(S.client, &S.daemon, RUNTIME("ListContainerStats"), &lreq.base,
                     &runtime__v1__list_container_stats_response__descriptor, &r);
    bool listed = false;
    for (size_t i = 0; i < ls->n_stats; i++)
        listed |= strcmp(ls->stats[i]->attributes->id, id) == 0;
    assert_true(listed);
    crit_result_clear(&r);

    update_memory(id, 48 << 20);
    assert_int_equal(crit_ctr_processes_naming(&S, id, 0), 0);
    crit_ctr_start(&S, id);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    assert_true(crit_ctr_processes_naming(&S, id, 0) > 0);
    assert_true(runtime_knows("runc", id));
    char *limit = crit_ctr_cgroup_file(crit_ctr_pid(&S, id), "memory", "memory.limit_in_bytes");
    assert_string_equal(limit, "50331648\n");
    free(limit);

    char root[512], run[512];
    snprintf(root, sizeof(root), "%s/containers/%s", S.daemon.root, never);
    snprintf(run, sizeof(run), "%s/containers/%s", S.daemon.state, never);
    assert_int_equal(crit_mounts_under(root), 1);
    assert_int_equal(crit_ctr_remove_code(&S, never, NULL, 0), GRPC_STATUS_OK);
    assert_int_equal(crit_mounts_under(root), 0);
    assert_true(access(root, F_OK) < 0 && access(run, F_OK) < 0);
    /* The pod's stop leaves a created container created; its removal
     * takes it whole. */
    crit_pod_stop(S.client, &S.daemon, pod);
    assert_int_equal(crit_ctr_state(&S, with_pod), RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    crit_pod_remove(S.client, &S.daemon, pod);
    crit_ctr_wait_nothing_left(&S);
    free(id);
    free(never);
    free(with_pod);
    free(pod);
}

/* A start that fails (no such command) ends the container with StartError
 * and leaves no process, runtime container or staged mount behind. */
static void test_start_failure_leaves_nothing(void **state)
{
    (void)state;
    char host[] = "/tmp/critest-rro.XXXXXX";
    assert_non_null(mkdtemp(host));
    char *pod = crit_ctr_run_pod(&S, "ctr-badstart");
    crit_ctr_request c;
    crit_ctr_init(&c, &S, pod, "badstart", NULL);
    char *cmd[] = {"/no/such/command"};
    c.config.command = cmd;
    c.config.n_command = 1;
    /* A staged clone to take back (valgrind has no mount_setattr: the
     * daemon then refuses recursive read-only mounts, so none under it). */
    const char *wrapper = getenv("CRICKET_WRAPPER");
    Runtime__V1__Mount *m = crit_ctr_mount(&c, host, "/data", true);
    if (wrapper == NULL || wrapper[0] == '\0') {
        m->recursive_read_only = true;
        m->propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
    }
    char *id = crit_ctr_create(&S, &c.req);
    char details[1024];
    assert_int_not_equal(crit_ctr_start_code(&S, id, details, sizeof(details)), GRPC_STATUS_OK);
    assert_non_null(strstr(details, "/no/such/command"));
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, id, false, &r);
    assert_int_equal(st->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
    assert_string_equal(st->reason, "StartError");
    assert_int_equal(st->exit_code, 128);
    assert_int_equal(st->started_at, 0);
    crit_result_clear(&r);
    char run[512];
    snprintf(run, sizeof(run), "%s/containers/%s", S.daemon.state, id);
    size_t left = crit_ctr_processes_naming(&S, id, 0);
    if (left != 0)
        fail_msg("%zu processes of container %s left after its failed start", left, id);
    assert_false(runtime_knows("runc", id));
    assert_int_equal(crit_mounts_under(run), 0);
    assert_int_equal(crit_mounts_under(host), 0);
    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    rmdir(host);
    free(id);
    free(pod);
}

/* ---- a daemon killed in the middle of a start ---- */

typedef struct start_call {
    const char *id;
    pthread_t thread;
} start_call;

static void *start_one(void *arg)
{
    start_call *sc = arg;
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)sc->id;
    crit_client *cl = crit_connect(S.daemon.socket);
    crit_result r;
    crit_call(cl, RUNTIME("StartContainer"), &req.base, &runtime__v1__start_container_response__descriptor, 60000, &r);
    crit_result_clear(&r);
    crit_close(cl);
    return NULL;
}

/* StartContainer of id in a thread; once the gated runtime's `run` began,
 * kill -9 of the daemon. */
static void kill_during_start(const char *id)
{
    gate(false);
    start_call sc = {.id = id};
    assert_int_equal(pthread_create(&sc.thread, NULL, start_one, &sc), 0);
    for (int i = 0; i < 1000 && access(gate_began, F_OK) < 0; i++)
        usleep(10 * 1000);
    assert_int_equal(access(gate_began, F_OK), 0);
    crit_daemon_kill(&S.daemon);
    pthread_join(sc.thread, NULL);
}

/* Killed between "start began" and RUNNING: with the runtime going on the
 * restarted daemon finds the monitor and the container RUNNING; with the
 * monitor gone too, it is CREATED again, nothing left, and starts. */
static void test_kill_9_during_start(void **state)
{
    (void)state;
    gate(true);
    char *pod = crit_ctr_run_pod_with_handler(&S, "ctr-kill-start", "gated");
    crit_ctr_request a, b;
    char *goes_on = crit_ctr_create(&S, crit_ctr_init(&a, &S, pod, "goes-on", "sleep 1000"));
    char *cut = crit_ctr_create(&S, crit_ctr_init(&b, &S, pod, "cut", "sleep 1000"));

    kill_during_start(goes_on);
    gate(true);
    crit_ctr_suite_restart(&S);
    assert_int_equal(crit_ctr_state(&S, goes_on), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    assert_true(crit_ctr_pid(&S, goes_on) > 0);
    assert_int_equal(crit_ctr_exec_sh(&S, goes_on, "true", NULL, 0), 0);

    kill_during_start(cut);
    assert_true(crit_ctr_processes_naming(&S, cut, SIGKILL) > 0); /* the monitor and the runtime */
    for (int i = 0; i < 100 && crit_ctr_processes_naming(&S, cut, 0) > 0; i++)
        usleep(20 * 1000);
    crit_ctr_suite_restart(&S);
    crit_result r;
    Runtime__V1__ContainerStatus *st = crit_ctr_status(&S, cut, false, &r);
    assert_int_equal(st->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    assert_int_equal(st->started_at, 0);
    crit_result_clear(&r);
    char run[512];
    snprintf(run, sizeof(run), "%s/containers/%s", S.daemon.state, cut);
    assert_int_equal(crit_ctr_processes_naming(&S, cut, 0), 0);
    assert_false(runtime_knows("gated", cut));
    assert_int_equal(crit_mounts_under(run), 0);
    gate(true);
    crit_ctr_start(&S, cut);
    assert_int_equal(crit_ctr_state(&S, cut), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);

    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    free(goes_on);
    free(cut);
    free(pod);
}

/* A created container outlives a reboot (simulated: its rootfs unmounted
 * and its run dir on /run gone while the daemon is down): CREATED again,
 * its rootfs mounted again, and it starts. */
static void test_created_survives_a_reboot(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-reboot");
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "rebooted", "sleep 1000"));
    char rootfs[512], run[512];
    snprintf(rootfs, sizeof(rootfs), "%s/containers/%s/rootfs", S.daemon.root, id);
    snprintf(run, sizeof(run), "%s/containers/%s", S.daemon.state, id);
    crit_daemon_kill(&S.daemon);
    bool unmounted = umount2(rootfs, MNT_DETACH) == 0;
    bool run_gone = rmdir(run) == 0;
    crit_ctr_suite_restart(&S);
    assert_true(unmounted && run_gone);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    assert_int_equal(crit_mounts_under(rootfs), 1);
    crit_ctr_start(&S, id);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    free(id);
    free(pod);
}

/* A cricket from before the deferred create ran the runtime's `create` at
 * CreateContainer: its created containers have a runtime container whose
 * init waits for `start`. The restart drops it, and the start makes it
 * afresh instead of colliding with it. */
static void test_created_by_an_earlier_cricket(void **state)
{
    (void)state;
    char *pod = crit_ctr_run_pod(&S, "ctr-earlier");
    crit_ctr_request c;
    char *id = crit_ctr_create(&S, crit_ctr_init(&c, &S, pod, "earlier", "sleep 1000"));
    crit_daemon_kill(&S.daemon);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s --root %s/runtime/runc create --bundle %s/containers/%s %s </dev/null >/dev/null 2>&1", runc_path,
             S.daemon.state, S.daemon.root, id, id);
    assert_int_equal(system(cmd), 0);
    assert_true(runtime_knows("runc", id));
    crit_ctr_suite_restart(&S);
    assert_false(runtime_knows("runc", id));
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
    crit_ctr_start(&S, id);
    assert_int_equal(crit_ctr_state(&S, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    crit_ctr_cleanup_pod(&S, pod);
    crit_ctr_wait_nothing_left(&S);
    free(id);
    free(pod);
}

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_to_completion_with_logs),
        cmocka_unit_test(test_env_args_and_workdir),
        cmocka_unit_test(test_non_root_reads_its_rootfs),
        cmocka_unit_test(test_stop_waits_then_kills),
        cmocka_unit_test(test_stop_signals_without_the_runtime),
        cmocka_unit_test(test_exit_before_the_runtime_returns),
        cmocka_unit_test(test_remove_in_every_state),
        cmocka_unit_test(test_containers_in_a_pod_without_pause),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_retry_gets_same_container),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_list_follows_changes),
        cmocka_unit_test(test_list_kept_answer_follows_changes),
        cmocka_unit_test(test_reopen_log),
        cmocka_unit_test(test_exec_sync),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_resources_in_the_cgroup),
        cmocka_unit_test(test_pod_stop_and_remove_take_containers),
        cmocka_unit_test(test_kill_9_keeps_containers),
        cmocka_unit_test(test_oom_killed),
        cmocka_unit_test(test_oom_before_identified),
        cmocka_unit_test(test_kill_9_during_parallel_creates),
        cmocka_unit_test(test_created_has_no_process),
        cmocka_unit_test(test_start_failure_leaves_nothing),
        cmocka_unit_test(test_kill_9_during_start),
        cmocka_unit_test(test_created_survives_a_reboot),
        cmocka_unit_test(test_created_by_an_earlier_cricket),
    };
    int failed = cmocka_run_group_tests_name("critest_containers", tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
