/*
 * critest_streaming: Exec, Attach and PortForward over the wire, as kubectl, crictl
 * and the kubelet use them: the RPC gives a URL, a client connects, upgrades
 * to SPDY/3.1 or a WebSocket and speaks remotecommand or port-forward. The
 * clients here are minimal ones built on our own framers (streaming/spdy.h,
 * streaming/websocket.h), against a real daemon running busybox containers.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "streaming/spdy.h"
#include "streaming/websocket.h"
#include "test/critest/container_fixture.h"
#include "test/critest/stream_client.h"

static crit_ctr_suite S;
static char *POD;      /* one pod for the suite */
static char *SHELL_CT; /* a container that sleeps: the exec target */
static char *SERVER;   /* a container answering "hi" on port 8080 */

enum { IO_TIMEOUT_S = 30 };

/* ---- HTTP and the upgrade ------------------------------------------------------------- */

/* The receive buffer the dial asks for when > 0 (a client slow to take
 * what comes). */
static int DIAL_RCVBUF;

typedef crit_http_conn conn;

static void send_all(int fd, const void *p, size_t n)
{
    ck_err err;
    if (crit_http_send_all(fd, p, n, &err) < 0)
        fail_msg("%s", err.msg);
}

/* Sends a request with extra header lines (each ending in \r\n) and reads
 * the response head; bytes after it stay in the buffer. */
static void http_request(conn *c, const char *url, const char *method, const char *headers)
{
    ck_err err;
    if (crit_http_request(c, url, method, headers, DIAL_RCVBUF, IO_TIMEOUT_S, &err) < 0)
        fail_msg("%s", err.msg);
}

/* ---- a SPDY client -------------------------------------------------------------------- */

typedef struct spdy_client {
    conn c;
    ck_spdy_parser *parser;
    ck_spdy_encoder *enc;
    uint32_t next_id;
} spdy_client;

static const char *EXEC_OFFERS = "X-Stream-Protocol-Version: v5.channel.k8s.io\r\n"
                                 "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
                                 "X-Stream-Protocol-Version: v3.channel.k8s.io\r\n"
                                 "X-Stream-Protocol-Version: v2.channel.k8s.io\r\n"
                                 "X-Stream-Protocol-Version: channel.k8s.io\r\n";

/* POSTs an upgrade to SPDY/3.1 offering the protocols in offers; the
 * status is in s->c.status. */
static void spdy_connect(spdy_client *s, const char *url, const char *offers)
{
    char headers[1024];
    snprintf(headers, sizeof(headers), "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n%s", offers);
    http_request(&s->c, url, "POST", headers);
    s->parser = ck_spdy_parser_new(NULL);
    s->enc = ck_spdy_encoder_new(NULL);
    s->next_id = 1;
}

static void spdy_close(spdy_client *s)
{
    close(s->c.fd);
    ck_spdy_parser_free(s->parser);
    ck_spdy_encoder_free(s->enc);
}

static void spdy_flush(spdy_client *s, ck_bytes *b)
{
    send_all(s->c.fd, b->data, b->len);
    ck_bytes_free(b);
}

/* Opens a stream with header pairs (name, value, ..., NULL). */
static uint32_t spdy_open(spdy_client *s, ...)
{
    ck_spdy_header h[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, s);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL && n < 8; n++) {
        const char *value = va_arg(ap, const char *);
        h[n] = (ck_spdy_header){name, value, strlen(value)};
    }
    va_end(ap);
    ck_bytes b = {0};
    uint32_t id = s->next_id;
    s->next_id += 2;
    assert_int_equal(ck_spdy_put_syn_stream(s->enc, &b, id, 0, 0, 0, h, n, NULL), 0);
    spdy_flush(s, &b);
    return id;
}

static void spdy_data(spdy_client *s, uint32_t id, const char *data, bool fin)
{
    ck_bytes b = {0};
    assert_int_equal(ck_spdy_put_data(&b, id, fin ? CK_SPDY_FLAG_FIN : 0, (const uint8_t *)data, strlen(data), NULL),
                     0);
    spdy_flush(s, &b);
}

/* The next frame: 1, or 0 when the connection ended or timed out. */
static int spdy_next(spdy_client *s, ck_spdy_frame *f)
{
    for (;;) {
        if (s->c.off < s->c.len) {
            size_t used = 0;
            ck_err err;
            int rc = ck_spdy_parse(s->parser, s->c.buf + s->c.off, s->c.len - s->c.off, &used, f, &err);
            s->c.off += used;
            if (rc < 0)
                fail_msg("bad SPDY from the server: %s", err.msg);
            if (rc == 1)
                return 1;
        }
        if (!crit_http_fill(&s->c))
            return 0;
    }
}

/* What came on the streams of interest until each was half-closed. */
typedef struct stream_text {
    uint32_t id;
    char text[8192];
    size_t len;
    bool fin;
} stream_text;

/* Reads frames until every stream in st[0..n) got FIN (or the connection
 * ends); false if some did not. */
static bool spdy_collect(spdy_client *s, stream_text *st, size_t n)
{
    ck_spdy_frame f;
    while (spdy_next(s, &f) == 1) {
        for (size_t i = 0; i < n; i++) {
            if (f.type != CK_SPDY_DATA || f.stream_id != st[i].id)
                continue;
            size_t k =
                f.data_len < sizeof(st[i].text) - 1 - st[i].len ? f.data_len : sizeof(st[i].text) - 1 - st[i].len;
            if (k > 0)
                memcpy(st[i].text + st[i].len, f.data, k);
            st[i].len += k;
            if (f.data_end && (f.flags & CK_SPDY_FLAG_FIN))
                st[i].fin = true;
        }
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && st[i].fin;
        if (all)
            return true;
    }
    return false;
}

/* ---- the RPCs ---------------------------------------------------------------------------- */

static grpc_status_code exec_url(const char *ct, const char *const *cmd, bool tty, bool in, bool out, bool err,
                                 char *url, size_t size, char *details, size_t dsize)
{
    Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
    req.container_id = (char *)ct;
    size_t n = 0;
    while (cmd[n] != NULL)
        n++;
    req.cmd = (char **)cmd;
    req.n_cmd = n;
    req.tty = tty;
    req.stdin = in;
    req.stdout = out;
    req.stderr = err;
    crit_result r = {0};
    grpc_status_code code =
        crit_call(S.client, RUNTIME("Exec"), &req.base, &runtime__v1__exec_response__descriptor, 30000, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(url, size, "%s", ((Runtime__V1__ExecResponse *)r.response)->url);
    if (details != NULL)
        snprintf(details, dsize, "%s", r.details);
    crit_result_clear(&r);
    return code;
}

/* Exec's URL for `sh -c script` in the shell container. */
static void exec_sh_url(const char *script, bool tty, bool in, bool out, bool err, char *url, size_t size)
{
    const char *cmd[] = {"sh", "-c", script, NULL};
    char details[1024];
    grpc_status_code code = exec_url(SHELL_CT, cmd, tty, in, out, err, url, size, details, sizeof(details));
    if (code != GRPC_STATUS_OK)
        fail_msg("Exec: %d %s", code, details);
    assert_non_null(strstr(url, "/exec/"));
}

static grpc_status_code attach_url(const char *ct, bool tty, bool in, bool out, bool err, char *url, size_t size)
{
    Runtime__V1__AttachRequest req = RUNTIME__V1__ATTACH_REQUEST__INIT;
    req.container_id = (char *)ct;
    req.tty = tty;
    req.stdin = in;
    req.stdout = out;
    req.stderr = err;
    crit_result r = {0};
    grpc_status_code code =
        crit_call(S.client, RUNTIME("Attach"), &req.base, &runtime__v1__attach_response__descriptor, 30000, &r);
    if (code == GRPC_STATUS_OK)
        snprintf(url, size, "%s", ((Runtime__V1__AttachResponse *)r.response)->url);
    crit_result_clear(&r);
    return code;
}

static void port_forward_url_of(const char *pod, char *url, size_t size)
{
    Runtime__V1__PortForwardRequest req = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
    req.pod_sandbox_id = (char *)pod;
    crit_result r = {0};
    Runtime__V1__PortForwardResponse *resp = crit_call_ok(S.client, &S.daemon, RUNTIME("PortForward"), &req.base,
                                                          &runtime__v1__port_forward_response__descriptor, &r);
    snprintf(url, size, "%s", resp->url);
    crit_result_clear(&r);
    assert_non_null(strstr(url, "/portforward/"));
}

static void port_forward_url(char *url, size_t size)
{
    port_forward_url_of(POD, url, size);
}

/* ---- suite ------------------------------------------------------------------------------ */

#ifdef CRIT_STREAMING_TLS
/* critest_streaming_tls: every test of the suite again, through HTTPS with
 * a key pair the suite makes (the client verifies the server against it),
 * and the TLS set-up's own tests at the end. */
static char TLS_DIR[] = "/tmp/cktls.XXXXXX";
static char TLS_CERT[64], TLS_KEY[64], TLS_OTHER_KEY[64];

/* An EC P-256 key pair for 127.0.0.1 (and a second key, matching nothing). */
static int make_tls_files(void)
{
    if (mkdtemp(TLS_DIR) == NULL)
        return -1;
    snprintf(TLS_CERT, sizeof(TLS_CERT), "%s/cert.pem", TLS_DIR);
    snprintf(TLS_KEY, sizeof(TLS_KEY), "%s/key.pem", TLS_DIR);
    snprintf(TLS_OTHER_KEY, sizeof(TLS_OTHER_KEY), "%s/other-key.pem", TLS_DIR);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null",
             TLS_KEY, TLS_CERT, TLS_OTHER_KEY);
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl could not make the test key pair\n");
        return -1;
    }
    crit_tls_set_ca(TLS_CERT);
    return 0;
}

static void remove_tls_files(void)
{
    unlink(TLS_CERT);
    unlink(TLS_KEY);
    unlink(TLS_OTHER_KEY);
    rmdir(TLS_DIR);
}
#endif

/* The daemon starts holding this many descriptors (inherited from the
 * suite), so every connection its HTTP server accepts is numbered above
 * 1023, as on a busy node: select() cannot watch those (it once refused to
 * start at all). */
enum { HELD_FDS = 1100 };
static int held[HELD_FDS];

static int hold_descriptors(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < HELD_FDS + 1024)
        return -1;
    rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    for (int i = 0; i < HELD_FDS; i++)
        if ((held[i] = open("/dev/null", O_RDONLY)) < 0) /* inherited: no O_CLOEXEC */
            return -1;
    return 0;
}

static void release_descriptors(void)
{
    for (int i = 0; i < HELD_FDS; i++)
        if (held[i] > 0)
            close(held[i]);
}

static int start_suite(void **state)
{
    (void)state;
    if (hold_descriptors() < 0) {
        fprintf(stderr, "cannot hold %d descriptors for the daemon to inherit\n", HELD_FDS);
        return -1;
    }
#ifdef CRIT_STREAMING_TLS
    char yaml[512];
    if (make_tls_files() < 0)
        return -1;
    snprintf(yaml, sizeof(yaml), "streaming:\n  tls_cert_file: %s\n  tls_key_file: %s\n", TLS_CERT, TLS_KEY);
    if (crit_ctr_suite_start(&S, "ckl", 0, yaml) < 0)
        return -1;
#else
    if (crit_ctr_suite_start(&S, "ckx", 0, NULL) < 0)
        return -1;
#endif
    POD = crit_ctr_run_pod(&S, "stream-pod");
    crit_ctr_request c;
    SHELL_CT = crit_ctr_create(&S, crit_ctr_init(&c, &S, POD, "shell", "sleep 100000"));
    crit_ctr_start(&S, SHELL_CT);
    SERVER = crit_ctr_create(&S, crit_ctr_init(&c, &S, POD, "server", "while true; do echo hi | nc -l -p 8080; done"));
    crit_ctr_start(&S, SERVER);
    return 0;
}

static int stop_suite(void **state)
{
    (void)state;
    if (POD != NULL)
        crit_ctr_cleanup_pod(&S, POD);
    free(POD);
    free(SHELL_CT);
    free(SERVER);
#ifdef CRIT_STREAMING_TLS
    remove_tls_files();
#endif
    int rc = crit_ctr_suite_stop(&S);
    release_descriptors();
    return rc;
}

/* ---- exec over SPDY ------------------------------------------------------------------- */

static const char *SUCCESS = "{\"metadata\":{},\"status\":\"Success\"}";

typedef struct exec_run {
    spdy_client s;
    stream_text out, err, error;
    uint32_t stdin_id, resize_id;
} exec_run;

/* Connects to url offering every exec protocol, opens the streams a
 * client opens (error, stdin, stdout, stderr, resize as asked). */
static void spdy_exec_open(exec_run *x, const char *url, bool in, bool out, bool err, bool tty)
{
    memset(x, 0, sizeof(*x));
    spdy_connect(&x->s, url, EXEC_OFFERS);
    assert_int_equal(x->s.c.status, 101);
    assert_true(crit_http_head_has(&x->s.c, "X-Stream-Protocol-Version: v5.channel.k8s.io"));
    assert_true(crit_http_head_has(&x->s.c, "Upgrade: SPDY/3.1"));
    x->error.id = spdy_open(&x->s, "streamtype", "error", (const char *)NULL);
    if (in)
        x->stdin_id = spdy_open(&x->s, "streamtype", "stdin", (const char *)NULL);
    if (out)
        x->out.id = spdy_open(&x->s, "streamtype", "stdout", (const char *)NULL);
    if (err)
        x->err.id = spdy_open(&x->s, "streamtype", "stderr", (const char *)NULL);
    if (tty)
        x->resize_id = spdy_open(&x->s, "streamtype", "resize", (const char *)NULL);
}

/* Reads until error, stdout and stderr (those opened) are half-closed. */
static void spdy_exec_wait(exec_run *x)
{
    stream_text *st[3] = {&x->error, &x->out, &x->err};
    stream_text all[3];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        if (st[i]->id != 0)
            all[n++] = *st[i];
    bool ok = spdy_collect(&x->s, all, n);
    for (size_t i = 0, k = 0; i < 3; i++)
        if (st[i]->id != 0)
            *st[i] = all[k++];
    if (!ok)
        fail_msg("the exec's streams did not all end: stdout \"%s\" error \"%s\"", x->out.text, x->error.text);
    spdy_close(&x->s);
}

static void test_exec_spdy_echo(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("echo hi; echo there >&2", false, false, true, true, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, false, true, true, false);
    spdy_exec_wait(&x);
    assert_string_equal(x.out.text, "hi\n");
    assert_string_equal(x.err.text, "there\n");
    assert_string_equal(x.error.text, SUCCESS);
}

static void test_exec_spdy_stdin(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("cat; echo done", false, true, true, false, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, true, true, false, false);
    spdy_data(&x.s, x.stdin_id, "hello ", false);
    spdy_data(&x.s, x.stdin_id, "world\n", true); /* FIN: cat sees its end */
    spdy_exec_wait(&x);
    assert_string_equal(x.out.text, "hello world\ndone\n");
    assert_string_equal(x.error.text, SUCCESS);
}

static void test_exec_spdy_exit_code(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("echo bad >&2; exit 3", false, false, true, true, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, false, true, true, false);
    spdy_exec_wait(&x);
    assert_string_equal(x.err.text, "bad\n");
    assert_string_equal(x.error.text,
                        "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit "
                        "code: exit status 3\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":"
                        "\"ExitCode\",\"message\":\"3\"}]}}");
}

static void test_exec_spdy_old_protocol(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("echo old; exit 2", false, false, true, false, url, sizeof(url));
    exec_run x;
    memset(&x, 0, sizeof(x));
    spdy_connect(&x.s, url, "X-Stream-Protocol-Version: v2.channel.k8s.io\r\n");
    assert_int_equal(x.s.c.status, 101);
    assert_true(crit_http_head_has(&x.s.c, "X-Stream-Protocol-Version: v2.channel.k8s.io"));
    x.error.id = spdy_open(&x.s, "streamtype", "error", (const char *)NULL);
    x.out.id = spdy_open(&x.s, "streamtype", "stdout", (const char *)NULL);
    spdy_exec_wait(&x);
    assert_string_equal(x.out.text, "old\n");
    assert_non_null(strstr(x.error.text, "exit status 2")); /* text before v4 */
}

static void test_exec_tty_resize(void **state)
{
    (void)state;
    char url[512];
    /* The size reaches the console once the resize is applied. */
    exec_sh_url("for i in $(seq 100); do s=$(stty size); [ \"$s\" = \"33 77\" ] && break; sleep 0.1; done; echo \"$s\"",
                true, true, true, false, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, true, true, false, true);
    spdy_data(&x.s, x.resize_id, "{\"Width\":77,\"Height\":33}\n", false);
    spdy_exec_wait(&x);
    assert_non_null(strstr(x.out.text, "33 77"));
    assert_string_equal(x.error.text, SUCCESS);
}

/* What a terminal exec shows must be what was typed: no NUL (echoed by the
 * container's terminal as "^@") from a resize, an empty stdin frame or a
 * channel byte. The console is still cooked when the input comes, so it
 * echoes every byte it gets; od shows what the command read. */
static void assert_no_stray_nul(const char *what, const char *out, size_t len)
{
    if (memchr(out, '\0', len) != NULL || memmem(out, len, "^@", 2) != NULL)
        fail_msg("%s: a NUL reached the terminal: \"%.*s\"", what, (int)len, out);
}

static const char TTY_READ_SCRIPT[] = "head -c 3 | od -An -tx1";

static void test_exec_tty_no_stray_nul_spdy(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url(TTY_READ_SCRIPT, true, true, true, false, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, true, true, false, true);
    spdy_data(&x.s, x.resize_id, "{\"Width\":80,\"Height\":24}\n", false);
    spdy_data(&x.s, x.stdin_id, "", false);
    spdy_data(&x.s, x.stdin_id, "ab\n", false);
    spdy_exec_wait(&x);
    assert_no_stray_nul("exec -it over SPDY", x.out.text, x.out.len);
    assert_non_null(strstr(x.out.text, "61 62 0a"));
    assert_string_equal(x.error.text, SUCCESS);
}

/* True while a process whose command line holds needle runs on the host. */
static bool process_running(const char *needle)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        char path[300], cmd[512] = "";
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (size_t i = 0; i + 1 < n; i++)
            if (cmd[i] == '\0')
                cmd[i] = ' ';
        cmd[n] = '\0';
        char stat[300];
        snprintf(stat, sizeof(stat), "/proc/%s/stat", de->d_name);
        char *st = crit_ctr_read_file(stat);
        char *rp = strrchr(st, ')');
        bool zombie = rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
        free(st);
        found = !zombie && strstr(cmd, needle) != NULL;
    }
    closedir(d);
    return found;
}

static void test_exec_client_disconnect_kills(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("sleep 4242; echo never", false, true, true, false, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, true, true, false, false);
    double t0 = crit_ctr_now();
    while (!process_running("sleep 4242") && crit_ctr_now() - t0 < crit_ctr_seconds(20))
        usleep(50 * 1000);
    assert_true(process_running("sleep 4242"));
    spdy_close(&x.s); /* gone without a word */
    t0 = crit_ctr_now();
    while (process_running("sleep 4242") && crit_ctr_now() - t0 < crit_ctr_seconds(30))
        usleep(50 * 1000);
    assert_false(process_running("sleep 4242"));
}

/* ---- tokens and upgrades -------------------------------------------------------------- */

/* Whether the daemon's log, past offset from, holds needle. */
static bool log_since_has(long from, const char *needle)
{
    FILE *f = fopen(S.daemon.log, "re");
    assert_non_null(f);
    char line[1024];
    bool found = false;
    if (fseek(f, from, SEEK_SET) == 0)
        while (!found && fgets(line, sizeof(line), f) != NULL)
            found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* A client that leaves the moment runc is started, before runc has
 * started the process (that takes it tens of milliseconds): the process it
 * starts after the kill must not be left behind. */
static void test_exec_client_leaving_at_once_kills(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("sleep 4343; echo never", false, true, true, false, url, sizeof(url));
    struct stat st;
    assert_int_equal(stat(S.daemon.log, &st), 0);
    exec_run x;
    spdy_exec_open(&x, url, true, true, false, false);
    double t0 = crit_ctr_now();
    while (!log_since_has(st.st_size, "started (runc pid") && crit_ctr_now() - t0 < crit_ctr_seconds(20))
        usleep(1000);
    spdy_close(&x.s);
    usleep((useconds_t)(crit_ctr_seconds(2) * 1e6)); /* time for runc to start it */
    t0 = crit_ctr_now();
    while (process_running("sleep 4343") && crit_ctr_now() - t0 < crit_ctr_seconds(30))
        usleep(50 * 1000);
    assert_false(process_running("sleep 4343"));
}

static void test_token_single_use(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("true", false, false, true, false, url, sizeof(url));
    exec_run x;
    spdy_exec_open(&x, url, false, true, false, false);
    spdy_exec_wait(&x);
    assert_string_equal(x.error.text, SUCCESS);
    spdy_client again;
    spdy_connect(&again, url, EXEC_OFFERS);
    assert_int_equal(again.c.status, 404);
    spdy_close(&again);
    char unknown[600];
    snprintf(unknown, sizeof(unknown), "%.*s/exec/0123456789abcdef0123456789abcdef", (int)(strstr(url, "/exec/") - url),
             url);
    spdy_connect(&again, unknown, EXEC_OFFERS);
    assert_int_equal(again.c.status, 404);
    spdy_close(&again);
}

/* Whether the answer's body holds needle, reading on until it does (it
 * may come in a later segment or TLS record than the head). */
static bool body_has(conn *c, const char *needle)
{
    do {
        if (memmem(c->buf + c->off, c->len - c->off, needle, strlen(needle)) != NULL)
            return true;
    } while (crit_http_fill(c));
    return false;
}

static void test_bad_upgrades(void **state)
{
    (void)state;
    char url[512];
    conn c;
    exec_sh_url("true", false, false, true, false, url, sizeof(url));
    http_request(&c, url, "POST", "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"); /* no Upgrade */
    assert_int_equal(c.status, 400);
    assert_true(body_has(&c, "bad upgrade"));
    close(c.fd);
    exec_sh_url("true", false, false, true, false, url, sizeof(url));
    spdy_client s;
    spdy_connect(&s, url, "X-Stream-Protocol-Version: v9.channel.k8s.io\r\n");
    assert_int_equal(s.c.status, 403);
    spdy_close(&s);
    exec_sh_url("true", false, false, true, false, url, sizeof(url));
    http_request(&c, url, "GET", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    assert_int_equal(c.status, 400); /* no key */
    close(c.fd);
}

static void test_exec_rpc_validation(void **state)
{
    (void)state;
    char url[512], details[1024];
    const char *cmd[] = {"true", NULL};
    assert_int_equal(exec_url(SHELL_CT, cmd, true, true, true, true, url, sizeof(url), details, sizeof(details)),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(exec_url(SHELL_CT, cmd, false, false, false, false, url, sizeof(url), details, sizeof(details)),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(
        exec_url("nosuchcontainer", cmd, false, false, true, false, url, sizeof(url), details, sizeof(details)),
        GRPC_STATUS_NOT_FOUND);
    /* Attach: the same checks; stdin of a container without stdin is taken (and discarded). */
    assert_int_equal(attach_url(SHELL_CT, true, true, true, true, url, sizeof(url)), GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(attach_url(SHELL_CT, false, false, false, false, url, sizeof(url)), GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(attach_url("nosuchcontainer", false, false, true, false, url, sizeof(url)), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(attach_url(SHELL_CT, false, true, true, true, url, sizeof(url)), GRPC_STATUS_OK);
    assert_non_null(strstr(url, "/attach/"));
}

/* ---- attach --------------------------------------------------------------------------- */

/* Reads frames, adding what comes on st, until st's text holds needle;
 * false when the connection ends or times out first. */
static bool spdy_read_until(spdy_client *s, stream_text *st, const char *needle)
{
    ck_spdy_frame f;
    while (strstr(st->text, needle) == NULL) {
        if (spdy_next(s, &f) != 1)
            return false;
        if (f.type != CK_SPDY_DATA || f.stream_id != st->id)
            continue;
        size_t room = sizeof(st->text) - 1 - st->len;
        size_t k = f.data_len < room ? f.data_len : room;
        if (k > 0)
            memcpy(st->text + st->len, f.data, k);
        st->len += k;
        if (f.data_end && (f.flags & CK_SPDY_FLAG_FIN))
            st->fin = true;
    }
    return true;
}

/* A started container of the pod running `sh -c script`, with stdin and
 * a terminal as asked. */
static char *attach_target(const char *name, const char *script, bool in, bool once, bool tty)
{
    crit_ctr_request c;
    crit_ctr_init(&c, &S, POD, name, script);
    c.config.stdin = in;
    c.config.stdin_once = once;
    c.config.tty = tty;
    char *id = crit_ctr_create(&S, &c.req);
    crit_ctr_start(&S, id);
    return id;
}

static void attach_open(exec_run *x, const char *ct, bool tty, bool in, bool out, bool err)
{
    char url[512];
    assert_int_equal(attach_url(ct, tty, in, out, err, url, sizeof(url)), GRPC_STATUS_OK);
    assert_non_null(strstr(url, "/attach/"));
    spdy_exec_open(x, url, in, out, err, tty);
}

static int exit_code(const char *id)
{
    crit_result r = {0};
    int code = crit_ctr_status(&S, id, false, &r)->exit_code;
    crit_result_clear(&r);
    return code;
}

/* stdin_once: the client's stdin reaches cat, its end ends cat, the
 * container's exit ends the session with Success. */
static void test_attach_stdin_once(void **state)
{
    (void)state;
    char *ct = attach_target("attach-cat", "cat", true, true, false);
    exec_run x;
    attach_open(&x, ct, false, true, true, false);
    spdy_data(&x.s, x.stdin_id, "hi\n", false);
    if (!spdy_read_until(&x.s, &x.out, "hi\n"))
        fail_msg("attach: no echo of stdin (stdout \"%s\")", x.out.text);
    spdy_data(&x.s, x.stdin_id, "", true); /* stdin ends: with stdin_once, the container's too */
    spdy_exec_wait(&x);
    assert_string_equal(x.out.text, "hi\n");
    assert_string_equal(x.error.text, SUCCESS);
    crit_ctr_wait_state(&S, ct, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 20);
    assert_int_equal(exit_code(ct), 0);
    char url[512];
    assert_int_not_equal(attach_url(ct, false, false, true, false, url, sizeof(url)), GRPC_STATUS_OK);
    free(ct);
}

/* A terminal: the resize reaches the container's terminal before what is
 * typed next; `exit` ends the shell and the session. */
static void test_attach_tty_resize(void **state)
{
    (void)state;
    char *ct = attach_target("attach-tty", "exec sh", true, false, true);
    exec_run x;
    attach_open(&x, ct, true, true, true, false);
    spdy_data(&x.s, x.resize_id, "{\"Width\":77,\"Height\":33}\n", false);
    spdy_data(&x.s, x.stdin_id, "stty size\n", false);
    if (!spdy_read_until(&x.s, &x.out, "33 77"))
        fail_msg("attach: no size from stty (stdout \"%s\")", x.out.text);
    spdy_data(&x.s, x.stdin_id, "exit\n", false);
    spdy_exec_wait(&x);
    assert_string_equal(x.error.text, SUCCESS);
    crit_ctr_wait_state(&S, ct, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 20);
    free(ct);
}

/* An attach client that reads nothing while the container writes a lot
 * is dropped by the monitor: the session ends with a Failure saying so
 * (not Success, as if the container had exited), and the container runs
 * on. The client's small receive buffer makes it fall behind in seconds. */
static void test_attach_slow_client_dropped(void **state)
{
    (void)state;
    char *ct =
        attach_target("attach-flood", "while true; do head -c 200000 /dev/zero | tr '\\0' x; echo; sleep 0.1; done",
                      false, false, false);
    char url[512];
    assert_int_equal(attach_url(ct, false, false, true, false, url, sizeof(url)), GRPC_STATUS_OK);
    exec_run x;
    DIAL_RCVBUF = 4096;
    spdy_exec_open(&x, url, false, true, false, false);
    DIAL_RCVBUF = 0;
    sleep(8); /* about 16 MB written meanwhile: far more than the buffers on the way hold */
    spdy_exec_wait(&x);
    assert_non_null(strstr(x.error.text, "\"status\":\"Failure\""));
    assert_non_null(strstr(x.error.text, "fell behind"));
    assert_int_equal(crit_ctr_state(&S, ct), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    crit_ctr_stop(&S, ct, 0);
    free(ct);
}

/* ---- WebSocket ------------------------------------------------------------------------ */

typedef struct ws_client {
    conn c;
} ws_client;

static void ws_connect(ws_client *w, const char *url, const char *protocol)
{
    ck_err err;
    if (crit_ws_connect(&w->c, url, protocol, IO_TIMEOUT_S, &err) < 0)
        fail_msg("%s", err.msg);
}

/* Sends a binary message (channel byte first), masked as a client must. */
static void ws_send(ws_client *w, uint8_t channel, const char *data, size_t n)
{
    uint8_t msg[4096];
    msg[0] = channel;
    memcpy(msg + 1, data, n);
    const uint8_t mask[4] = {1, 2, 3, 4};
    ck_bytes b = {0};
    assert_int_equal(ck_ws_put_frame(&b, CK_WS_BINARY, true, mask, msg, n + 1, NULL), 0);
    send_all(w->c.fd, b.data, b.len);
    ck_bytes_free(&b);
}

/* The next server message (see crit_ws_next); msg holds WS_MSG_MAX bytes. */
enum { WS_MSG_MAX = 65536 };
static int ws_next(ws_client *w, uint8_t *msg, size_t *len)
{
    return crit_ws_next(&w->c, msg, WS_MSG_MAX, len);
}

static void test_exec_websocket_v5(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("cat; echo bye >&2; exit 4", false, true, true, true, url, sizeof(url));
    ws_client w;
    ws_connect(&w, url, "v5.channel.k8s.io");
    assert_true(crit_http_head_has(&w.c, "Sec-WebSocket-Protocol: v5.channel.k8s.io"));
    ws_send(&w, 0, "ping\n", 5);
    const uint8_t close_stdin[] = {0};
    ws_send(&w, 255, (const char *)close_stdin, 1);
    char out[256] = "", err[256] = "", error[1024] = "";
    uint8_t msg[WS_MSG_MAX] = {0};
    size_t len = 0;
    int op;
    while ((op = ws_next(&w, msg, &len)) > 0 && op != CK_WS_CLOSE) {
        assert_int_equal(op, CK_WS_BINARY);
        assert_true(len >= 1);
        assert_true(msg[0] >= 1 && msg[0] <= 3);
        char *dst = msg[0] == 1 ? out : msg[0] == 2 ? err : error;
        strncat(dst, (char *)msg + 1, len - 1);
    }
    assert_int_equal(op, CK_WS_CLOSE);
    assert_string_equal(out, "ping\n");
    assert_string_equal(err, "bye\n");
    assert_non_null(strstr(error, "\"reason\":\"NonZeroExitCode\""));
    assert_non_null(strstr(error, "{\"reason\":\"ExitCode\",\"message\":\"4\"}"));
    close(w.c.fd);
}

/* Reads a WebSocket exec to its close: stdout and the error channel. */
static void ws_exec_collect(ws_client *w, char *out, size_t *out_len, size_t out_size, char *error, size_t error_size)
{
    uint8_t msg[WS_MSG_MAX];
    size_t len = 0;
    int op;
    *out_len = 0;
    while ((op = ws_next(w, msg, &len)) == CK_WS_BINARY) {
        assert_true(len >= 1);
        size_t n = len - 1;
        if (msg[0] == 1 && *out_len + n < out_size) {
            memcpy(out + *out_len, msg + 1, n);
            *out_len += n;
        } else if (msg[0] == 3 && strlen(error) + n < error_size) {
            strncat(error, (char *)msg + 1, n);
        }
    }
    out[*out_len] = '\0';
    assert_int_equal(op, CK_WS_CLOSE);
}

static void test_exec_tty_no_stray_nul_websocket(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url(TTY_READ_SCRIPT, true, true, true, false, url, sizeof(url));
    ws_client w;
    ws_connect(&w, url, "v5.channel.k8s.io");
    const char resize[] = "{\"Width\":80,\"Height\":24}";
    ws_send(&w, 4, resize, strlen(resize));
    ws_send(&w, 0, "", 0); /* the channel byte alone */
    ws_send(&w, 0, "ab\n", 3);
    char out[4096], error[1024] = "";
    size_t out_len = 0;
    ws_exec_collect(&w, out, &out_len, sizeof(out), error, sizeof(error));
    assert_no_stray_nul("exec -it over WebSocket", out, out_len);
    assert_non_null(strstr(out, "61 62 0a"));
    assert_string_equal(error, SUCCESS);
    close(w.c.fd);
}

/* An attach watcher (stdout only) gets the lines; going away leaves the container
 * running, and another watcher gets lines again. */
static void test_attach_watcher(void **state)
{
    (void)state;
    char *ct = attach_target("attach-watch", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done", false,
                             false, false);
    for (int round = 0; round < 2; round++) {
        exec_run x;
        attach_open(&x, ct, false, false, true, false);
        if (!spdy_read_until(&x.s, &x.out, "\n"))
            fail_msg("attach: no line (stdout \"%s\")", x.out.text);
        assert_non_null(strstr(x.out.text, "line "));
        spdy_close(&x.s); /* gone without a word */
        usleep(500 * 1000);
        assert_int_equal(crit_ctr_state(&S, ct), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    }
    /* Over WebSocket too: lines on channel 1. */
    char url[512];
    assert_int_equal(attach_url(ct, false, false, true, false, url, sizeof(url)), GRPC_STATUS_OK);
    ws_client w;
    ws_connect(&w, url, "v5.channel.k8s.io");
    char out[1024] = "";
    uint8_t msg[WS_MSG_MAX] = {0};
    size_t len = 0;
    while (strchr(out, '\n') == NULL && ws_next(&w, msg, &len) == CK_WS_BINARY && len >= 1) {
        size_t have = strlen(out), room = sizeof(out) - 1 - have;
        size_t take = len - 1 < room ? len - 1 : room;
        if (msg[0] == 1) { /* the first message of each channel is empty */
            memcpy(out + have, msg + 1, take);
            out[have + take] = '\0';
        }
    }
    assert_non_null(strstr(out, "line "));
    close(w.c.fd);
    usleep(500 * 1000);
    assert_int_equal(crit_ctr_state(&S, ct), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
    crit_ctr_stop(&S, ct, 0);
    free(ct);
}

/* ---- port-forward --------------------------------------------------------------------- */

/* Opens the error and data streams of one forwarded connection. */
static void spdy_forward(spdy_client *s, const char *port, const char *request_id, uint32_t *err_id, uint32_t *data_id)
{
    *err_id = spdy_open(s, "streamtype", "error", "port", port, "requestid", request_id, (const char *)NULL);
    *data_id = spdy_open(s, "streamtype", "data", "port", port, "requestid", request_id, (const char *)NULL);
}

static void test_port_forward_spdy(void **state)
{
    (void)state;
    char url[512];
    port_forward_url(url, sizeof(url));
    spdy_client s;
    spdy_connect(&s, url, "X-Stream-Protocol-Version: portforward.k8s.io\r\n");
    assert_int_equal(s.c.status, 101);
    assert_true(crit_http_head_has(&s.c, "X-Stream-Protocol-Version: portforward.k8s.io"));
    /* A refused port: a message on that request's error stream. */
    stream_text refused[2] = {0};
    spdy_forward(&s, "8081", "0", &refused[0].id, &refused[1].id);
    assert_true(spdy_collect(&s, refused, 2));
    assert_non_null(strstr(refused[0].text, "8081"));
    assert_non_null(strstr(refused[0].text, "refused"));
    /* The connection stays usable: the server's port answers, its end
     * half-closes the data stream. The server container may still be
     * starting its listener: retry. */
    bool got = false;
    for (int attempt = 1; attempt <= 50 && !got; attempt++) {
        char rid[16];
        snprintf(rid, sizeof(rid), "%d", attempt);
        stream_text st[2] = {0};
        spdy_forward(&s, "8080", rid, &st[0].id, &st[1].id);
        bool ended = spdy_collect(&s, st, 2);
        if (attempt == 50)
            fprintf(stderr, "last attempt: ended %d, data \"%s\", error \"%s\"\n", ended, st[1].text, st[0].text);
        if (ended && strcmp(st[1].text, "hi\n") == 0) {
            assert_int_equal(st[0].len, 0);
            got = true;
        } else {
            usleep(200 * 1000);
        }
    }
    assert_true(got);
    spdy_close(&s);
}

/* A listener of the test's own on a free loopback port of the host. */
static int host_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Accepts the daemon's connection (waiting up to IO_TIMEOUT_S). */
static int accept_within(int lfd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        fail_msg("port-forward: the daemon did not connect to the host's listener: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* A pod on the host's network: a port-forward reaches a listener of the
 * test's own on the host's loopback, data goes both ways, the listener's
 * end half-closes the data stream; a refused port is a message on that
 * request's error stream and the session goes on. */
static void test_port_forward_host_network(void **state)
{
    (void)state;
    crit_pod_request pod;
    Runtime__V1__RunPodSandboxRequest *req = crit_pod_request_init(&pod, "stream-hostnet", S.cgroup_parent);
    pod.config.log_directory = S.log_dir;
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
    Runtime__V1__LinuxSandboxSecurityContext sec = RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
    sec.namespace_options = &ns;
    pod.linux_config.security_context = &sec;
    char *hostnet = crit_pod_run(S.client, &S.daemon, req);

    uint16_t port = 0;
    int lfd = host_listener(&port);
    int closed_fd = -1; /* a port nobody listens on: bound, never listening */
    uint16_t closed_port = 0;
    {
        closed_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(closed_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        socklen_t len = sizeof(sa);
        assert_int_equal(getsockname(closed_fd, (struct sockaddr *)&sa, &len), 0);
        closed_port = ntohs(sa.sin_port);
    }
    char url[512], port_text[8], closed_text[8];
    snprintf(port_text, sizeof(port_text), "%u", port);
    snprintf(closed_text, sizeof(closed_text), "%u", closed_port);
    port_forward_url_of(hostnet, url, sizeof(url));
    spdy_client s;
    spdy_connect(&s, url, "X-Stream-Protocol-Version: portforward.k8s.io\r\n");
    assert_int_equal(s.c.status, 101);

    for (int round = 0; round < 2; round++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "%d", round * 2);
        stream_text st[2] = {0};
        spdy_forward(&s, port_text, rid, &st[0].id, &st[1].id);
        int fd = accept_within(lfd);
        spdy_data(&s, st[1].id, "ping", false);
        char got[16] = "";
        size_t have = 0;
        while (have < 4) {
            ssize_t n = recv(fd, got + have, sizeof(got) - 1 - have, 0);
            if (n <= 0)
                fail_msg("port-forward: the listener got \"%s\" then %s", got, n == 0 ? "end" : strerror(errno));
            have += (size_t)n;
        }
        assert_string_equal(got, "ping");
        send_all(fd, "pong", 4);
        close(fd); /* its end half-closes the data stream */
        assert_true(spdy_collect(&s, st, 2));
        assert_string_equal(st[1].text, "pong");
        assert_int_equal(st[0].len, 0);

        /* Refused: that request's error stream says so; the session goes on. */
        snprintf(rid, sizeof(rid), "%d", round * 2 + 1);
        stream_text refused[2] = {0};
        spdy_forward(&s, closed_text, rid, &refused[0].id, &refused[1].id);
        assert_true(spdy_collect(&s, refused, 2));
        assert_non_null(strstr(refused[0].text, closed_text));
        assert_non_null(strstr(refused[0].text, "refused"));
    }
    spdy_close(&s);
    close(lfd);
    close(closed_fd);
    crit_ctr_cleanup_pod(&S, hostnet);
    free(hostnet);
}

static void test_port_forward_websocket(void **state)
{
    (void)state;
    bool got = false;
    for (int attempt = 0; attempt < 50 && !got; attempt++) {
        char base[512], url[600];
        port_forward_url(base, sizeof(base));
        snprintf(url, sizeof(url), "%s?port=8080", base);
        ws_client w;
        ws_connect(&w, url, "v4.channel.k8s.io");
        uint8_t msg[WS_MSG_MAX] = {0};
        size_t len = 0;
        /* First, on each channel of the pair, the port (little-endian). */
        for (int ch = 0; ch < 2; ch++) {
            assert_int_equal(ws_next(&w, msg, &len), CK_WS_BINARY);
            assert_int_equal(len, 3);
            assert_int_equal(msg[0], ch);
            assert_int_equal(msg[1] | msg[2] << 8, 8080);
        }
        char data[256] = "", error[256] = "";
        while (strlen(data) < 3 && error[0] == '\0' && ws_next(&w, msg, &len) == CK_WS_BINARY && len >= 1)
            strncat(msg[0] == 0 ? data : error, (char *)msg + 1, len - 1);
        got = strcmp(data, "hi\n") == 0;
        close(w.c.fd);
        if (!got)
            usleep(200 * 1000);
    }
    assert_true(got);
}

#ifdef CRIT_STREAMING_TLS
/* ---- TLS -------------------------------------------------------------------------------- */

static void test_tls_urls_are_https(void **state)
{
    (void)state;
    char url[512];
    exec_sh_url("true", false, false, true, false, url, sizeof(url));
    assert_true(strncmp(url, "https://127.0.0.1:", 18) == 0);
    attach_url(SHELL_CT, false, false, true, false, url, sizeof(url));
    assert_true(strncmp(url, "https://127.0.0.1:", 18) == 0);
    port_forward_url(url, sizeof(url));
    assert_true(strncmp(url, "https://127.0.0.1:", 18) == 0);
}

/* Plain HTTP to the TLS port gets no upgrade, and the server serves on. */
static void test_tls_plain_http_refused(void **state)
{
    (void)state;
    char url[512], plain[520];
    exec_sh_url("echo still", false, false, true, false, url, sizeof(url));
    snprintf(plain, sizeof(plain), "http://%s", url + strlen("https://"));
    conn c;
    ck_err err;
    ck_err_clear(&err);
    int rc = crit_http_request(&c, plain, "POST", "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n", 0, 10, &err);
    if (rc == 0) {
        assert_int_not_equal(c.status, 101);
        close(c.fd);
    }
    exec_run x;
    spdy_exec_open(&x, url, false, true, false, false); /* the token was not used */
    spdy_exec_wait(&x);
    assert_string_equal(x.out.text, "still\n");
    assert_string_equal(x.error.text, SUCCESS);
}

/* A daemon with extra_yaml, no pods: it exits (status into *status) within
 * a while, or is still up (false). */
static bool daemon_exits(crit_daemon *d, const char *extra_yaml, int *status)
{
    assert_int_equal(crit_daemon_prepare(d, extra_yaml), 0);
    assert_int_equal(crit_daemon_spawn(d), 0);
    double deadline = crit_ctr_now() + crit_ctr_seconds(15);
    while (crit_ctr_now() < deadline) {
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = 0;
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            return true;
        }
        if (access(d->socket, F_OK) == 0 && crit_version_ok(d->socket))
            return false;
        usleep(100 * 1000);
    }
    return false;
}

static void expect_refused(const char *extra_yaml, const char *message)
{
    crit_daemon d;
    int status = 0;
    bool exited = daemon_exits(&d, extra_yaml, &status);
    bool said = crit_daemon_log_contains(&d, message);
    if (!exited || status == 0 || !said) {
        crit_daemon_dump_log(&d);
        crit_daemon_stop(&d, 10000);
        crit_daemon_cleanup(&d);
        fail_msg("expected the daemon to refuse to start saying \"%s\" (exited %d, status %d)", message, exited,
                 status);
    }
    crit_daemon_cleanup(&d);
}

static void test_tls_bad_pair_refused(void **state)
{
    (void)state;
    char yaml[512], want[256];
    snprintf(yaml, sizeof(yaml), "streaming:\n  tls_cert_file: %s\n", TLS_CERT);
    expect_refused(yaml, "streaming.tls_key_file: must be set with streaming.tls_cert_file");
    snprintf(yaml, sizeof(yaml), "streaming:\n  tls_cert_file: %s\n  tls_key_file: %s/missing.pem\n", TLS_CERT,
             TLS_DIR);
    snprintf(want, sizeof(want), "streaming.tls_key_file %s/missing.pem: No such file or directory", TLS_DIR);
    expect_refused(yaml, want);
    snprintf(yaml, sizeof(yaml), "streaming:\n  tls_cert_file: %s\n  tls_key_file: %s\n", TLS_CERT, TLS_OTHER_KEY);
    snprintf(want, sizeof(want), "streaming.tls_key_file %s: not the key of the certificate in %s", TLS_OTHER_KEY,
             TLS_CERT);
    expect_refused(yaml, want);
    snprintf(yaml, sizeof(yaml), "streaming:\n  tls_cert_file: %s\n  tls_key_file: %s\n", TLS_KEY, TLS_KEY);
    snprintf(want, sizeof(want), "streaming.tls_cert_file %s: not a PEM certificate", TLS_KEY);
    expect_refused(yaml, want);
}

/* tls: true without files: a certificate made at start, for the streaming
 * address, whose fingerprint the log tells. */
static void test_tls_self_signed(void **state)
{
    (void)state;
    crit_daemon d;
    int status = 0;
    if (daemon_exits(&d, "streaming:\n  tls: true\n", &status)) {
        crit_daemon_dump_log(&d);
        crit_daemon_cleanup(&d);
        fail_msg("the daemon with a self-signed certificate exited (%d)", status);
    }
    char log[65536] = "";
    FILE *f = fopen(d.log, "re");
    assert_non_null(f);
    size_t n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    const char *serving = strstr(log, "on https://127.0.0.1:");
    const char *fp = strstr(log, "self-signed certificate for 127.0.0.1, SHA-256 fingerprint ");
    char url[64], got[128] = "", names[512] = "";
    ck_err err;
    ck_err_clear(&err);
    bool ok = serving != NULL && fp != NULL;
    if (ok) {
        const char *port = serving + strlen("on https://127.0.0.1:");
        snprintf(url, sizeof(url), "https://127.0.0.1:%.*s/", (int)strspn(port, "0123456789"), port);
        ok = crit_tls_peer_certificate(url, got, sizeof(got), names, sizeof(names), &err) == 0;
    }
    fp = ok ? fp + strlen("self-signed certificate for 127.0.0.1, SHA-256 fingerprint ") : NULL;
    bool same = ok && strncmp(fp, got, 95) == 0 && strlen(got) == 95;
    if (!same || strstr(names, "/CN=127.0.0.1") == NULL || strstr(names, "IP:127.0.0.1") == NULL)
        crit_daemon_dump_log(&d);
    crit_daemon_stop(&d, 10000);
    crit_daemon_cleanup(&d);
    assert_true(ok);
    assert_true(same);
    assert_non_null(strstr(names, "/CN=127.0.0.1"));
    assert_non_null(strstr(names, "IP:127.0.0.1"));
}
#endif

int main(void)
{
    grpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_spdy_echo),
        cmocka_unit_test(test_exec_spdy_stdin),
        cmocka_unit_test(test_exec_spdy_exit_code),
        cmocka_unit_test(test_exec_spdy_old_protocol),
        cmocka_unit_test(test_exec_tty_resize),
        cmocka_unit_test(test_exec_client_disconnect_kills),
        cmocka_unit_test(test_exec_client_leaving_at_once_kills),
        cmocka_unit_test(test_token_single_use),
        cmocka_unit_test(test_bad_upgrades),
        cmocka_unit_test(test_exec_rpc_validation),
        cmocka_unit_test(test_exec_websocket_v5),
        cmocka_unit_test(test_attach_stdin_once),
        cmocka_unit_test(test_attach_tty_resize),
        cmocka_unit_test(test_attach_watcher),
        cmocka_unit_test(test_port_forward_spdy),
        cmocka_unit_test(test_port_forward_websocket),
        cmocka_unit_test(test_exec_tty_no_stray_nul_spdy),
        cmocka_unit_test(test_exec_tty_no_stray_nul_websocket),
        cmocka_unit_test(test_port_forward_host_network),
        cmocka_unit_test(test_attach_slow_client_dropped),
#ifdef CRIT_STREAMING_TLS
        cmocka_unit_test(test_tls_urls_are_https),
        cmocka_unit_test(test_tls_plain_http_refused),
        cmocka_unit_test(test_tls_bad_pair_refused),
        cmocka_unit_test(test_tls_self_signed),
#endif
    };
#ifdef CRIT_STREAMING_TLS
    const char *name = "critest_streaming_tls";
#else
    const char *name = "critest_streaming";
#endif
    int failed = cmocka_run_group_tests_name(name, tests, start_suite, stop_suite);
    grpc_shutdown();
    return failed == 0 ? 0 : 1;
}
