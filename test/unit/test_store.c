/*
 * test_store: the store against a real SQLite file in a fresh temporary
 * directory per test. Besides round trips and error kinds, it checks the
 * promises the daemon leans on: files are private, the schema migrates and
 * refuses what it does not know, an uncommitted transaction of a killed
 * process leaves no trace while a committed one survives, and many threads
 * can use one store at once.
 *
 * The raw_* helpers open the database with SQLite directly, to look at it
 * from outside the store (journal mode, user_version, tables).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/log.h"
#include "store/store.h"
#include "store/store_internal.h"

/* ---- harness ---------------------------------------------------------- */

typedef struct fixture {
    char dir[64];   /* mkdtemp */
    char root[128]; /* dir/root: created by the store */
    char db[160];   /* root/cricket.db */
    ck_store *s;
} fixture;

static ck_err E;

#define OK(expr)                                                                            \
    do {                                                                                    \
        ck_err_clear(&E);                                                                   \
        int r_ = (expr);                                                                    \
        if (r_ != 0)                                                                        \
            fail_msg("%s returned %d: [%s] %s", #expr, r_, ck_errkind_name(E.kind), E.msg); \
    } while (0)

/* Asserts expr fails with the kind and, when msg is not NULL, exactly msg. */
#define FAILS(expr, want_kind, want_msg)                                                                              \
    do {                                                                                                              \
        ck_err_clear(&E);                                                                                             \
        int r_ = (expr);                                                                                              \
        assert_int_equal(r_, -1);                                                                                     \
        if (E.kind != (want_kind))                                                                                    \
            fail_msg("%s: kind %s, want %s (%s)", #expr, ck_errkind_name(E.kind), ck_errkind_name(want_kind), E.msg); \
        const char *m_ = (want_msg);                                                                                  \
        if (m_ != NULL)                                                                                               \
            assert_string_equal(E.msg, m_);                                                                           \
    } while (0)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ck-store-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->db, sizeof(f->db), "%s/cricket.db", f->root);
    ck_err_clear(&E);
    if (ck_store_open(f->root, &f->s, &E) < 0) {
        /* cmocka skips teardown when setup fails: clean up here. */
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        fail_msg("ck_store_open: [%s] %s", ck_errkind_name(E.kind), E.msg);
    }
    *state = f;
    return 0;
}

/* For tests that build the database themselves before opening. */
static int setup_unopened(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ck-store-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
    snprintf(f->db, sizeof(f->db), "%s/cricket.db", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ck_store_close(f->s);
    assert_int_equal(nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

static void reopen(fixture *f)
{
    ck_store_close(f->s);
    f->s = NULL;
    OK(ck_store_open(f->root, &f->s, &E));
}

static sqlite3 *raw_open(const char *path, int flags)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
        fail_msg("raw open %s: %s", path, sqlite3_errmsg(db));
    return db;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("raw exec %s: %s", sql, msg);
    sqlite3_close(db);
}

/* The first column of the first row as text, into buf ("" if no row). */
static void raw_text(const char *path, const char *sql, char *buf, size_t size)
{
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READONLY);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("raw prepare %s: %s", sql, sqlite3_errmsg(db));
    buf[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("raw step %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql)
{
    char buf[64];
    raw_text(path, sql, buf, sizeof(buf));
    return strtoll(buf, NULL, 10);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void assert_pod_eq(const ck_pod_record *a, const ck_pod_record *b)
{
    assert_str_or_null(a->id, b->id);
    assert_str_or_null(a->name, b->name);
    assert_str_or_null(a->ns, b->ns);
    assert_str_or_null(a->uid, b->uid);
    assert_int_equal(a->attempt, b->attempt);
    assert_int_equal(a->state, b->state);
    assert_true(a->created_at_ns == b->created_at_ns);
    assert_str_or_null(a->runtime_handler, b->runtime_handler);
    assert_str_or_null(a->data, b->data);
}

static void assert_container_eq(const ck_container_record *a, const ck_container_record *b)
{
    assert_str_or_null(a->id, b->id);
    assert_str_or_null(a->pod_id, b->pod_id);
    assert_str_or_null(a->name, b->name);
    assert_int_equal(a->attempt, b->attempt);
    assert_int_equal(a->state, b->state);
    assert_true(a->created_at_ns == b->created_at_ns);
    assert_true(a->started_at_ns == b->started_at_ns);
    assert_true(a->finished_at_ns == b->finished_at_ns);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_str_or_null(a->image_ref, b->image_ref);
    assert_str_or_null(a->data, b->data);
}

static void assert_image_eq(const ck_image_record *a, const ck_image_record *b)
{
    assert_str_or_null(a->id, b->id);
    assert_true(a->size == b->size);
    assert_str_or_null(a->data, b->data);
}

/* A pod with every field set; the strings are static. */
static ck_pod_record pod(const char *id)
{
    return (ck_pod_record){
        .id = (char *)id,
        .name = "nginx",
        .ns = "default",
        .uid = "3f0c2d9e-uid",
        .attempt = 2,
        .state = 1,
        .created_at_ns = 1700000000123456789,
        .runtime_handler = "runc",
        .data = "{\"v\":1,\"labels\":{\"app\":\"web\"}}",
    };
}

static ck_container_record container(const char *id, const char *pod_id)
{
    return (ck_container_record){
        .id = (char *)id,
        .pod_id = (char *)pod_id,
        .name = "web",
        .attempt = 1,
        .state = 0,
        .created_at_ns = 1700000001000000000,
        .image_ref = "docker.io/library/nginx:1.25",
        .data = "{\"v\":1}",
    };
}

/* ---- opening ---------------------------------------------------------- */

static void test_open_creates_private_wal_db(void **state)
{
    fixture *f = *state;
    assert_int_equal(mode_of(f->root), 0700);
    assert_int_equal(mode_of(f->db), 0600);
    /* Written by the migration and still open: the WAL and its index. */
    char wal[200], shm[200];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    snprintf(shm, sizeof(shm), "%s-shm", f->db);
    assert_int_equal(mode_of(wal), 0600);
    assert_int_equal(mode_of(shm), 0600);

    char mode[32];
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    assert_int_equal(ck_store_schema_version(f->s), 2);
    assert_int_equal(ck_store_schema_version_latest(), 2);
    OK(ck_store_integrity_check(f->s, &E));
}

static void test_open_tightens_existing_file_mode(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->root, 0755), 0);
    int fd = open(f->db, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0644), 0);
    close(fd);
    OK(ck_store_open(f->root, &f->s, &E));
    assert_int_equal(mode_of(f->db), 0600);
    /* An existing directory keeps its mode: it may be shared. */
    assert_int_equal(mode_of(f->root), 0755);
    /* An empty file is an empty database: version 0 migrated to the latest. */
    assert_int_equal(ck_store_schema_version(f->s), 2);
}

static void test_open_refuses_non_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->root, 0700), 0);
    assert_int_equal(mkdir(f->db, 0700), 0);
    char want[512];
    snprintf(want, sizeof(want), "store: %s is not a regular file", f->db);
    FAILS(ck_store_open(f->root, &f->s, &E), CK_E_PRECONDITION, want);
    assert_null(f->s);
    FAILS(ck_store_open("", &f->s, &E), CK_E_INVALID, "store: open: no root directory given");
}

/* ---- names ------------------------------------------------------------ */

static void test_names(void **state)
{
    fixture *f = *state;
    char *owner = NULL;
    FAILS(ck_store_name_lookup(f->s, "web_default_uid_0", &owner, &E), CK_E_NOT_FOUND,
          "store: name web_default_uid_0 is not reserved");
    assert_null(owner);

    OK(ck_store_name_reserve(f->s, "web_default_uid_0", "pod-a", &E));
    /* A retry by the same owner is fine. */
    OK(ck_store_name_reserve(f->s, "web_default_uid_0", "pod-a", &E));
    FAILS(ck_store_name_reserve(f->s, "web_default_uid_0", "pod-b", &E), CK_E_EXISTS,
          "store: reserve name web_default_uid_0 for pod-b: it is reserved by pod-a");

    OK(ck_store_name_lookup(f->s, "web_default_uid_0", &owner, &E));
    assert_string_equal(owner, "pod-a");
    free(owner);
    owner = NULL;

    OK(ck_store_name_release(f->s, "web_default_uid_0", &E));
    OK(ck_store_name_release(f->s, "web_default_uid_0", &E)); /* absent: fine */
    FAILS(ck_store_name_lookup(f->s, "web_default_uid_0", &owner, &E), CK_E_NOT_FOUND, NULL);
    OK(ck_store_name_reserve(f->s, "web_default_uid_0", "pod-b", &E));
    OK(ck_store_name_lookup(f->s, "web_default_uid_0", &owner, &E));
    assert_string_equal(owner, "pod-b");
    free(owner);

    FAILS(ck_store_name_reserve(f->s, NULL, "x", &E), CK_E_INVALID, NULL);
}

/* ---- pods ------------------------------------------------------------- */

static void test_pod_round_trip(void **state)
{
    fixture *f = *state;
    ck_pod_record full = pod("p1");
    ck_pod_record sparse = {
        .id = "p2",
        .name = "",
        .ns = "kube-system",
        .uid = "u2",
        .attempt = UINT32_MAX,
        .state = -3,
        .created_at_ns = INT64_MIN,
    };
    OK(ck_store_pod_put(f->s, &full, &E));
    OK(ck_store_pod_put(f->s, &sparse, &E));

    _cleanup_pod_record_ ck_pod_record got = {0};
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    assert_pod_eq(&got, &full);
    ck_pod_record_clear(&got);
    OK(ck_store_pod_get(f->s, "p2", &got, &E));
    assert_pod_eq(&got, &sparse);
    ck_pod_record_clear(&got);

    /* put replaces every field of the same id. */
    ck_pod_record changed = pod("p1");
    changed.name = "nginx-2";
    changed.state = 2;
    changed.attempt = 3;
    changed.runtime_handler = NULL;
    changed.data = "{\"v\":2}";
    changed.created_at_ns = INT64_MAX;
    OK(ck_store_pod_put(f->s, &changed, &E));
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    assert_pod_eq(&got, &changed);
    ck_pod_record_clear(&got);

    OK(ck_store_pod_set_state(f->s, "p1", 7, &E));
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    changed.state = 7;
    assert_pod_eq(&got, &changed);
    ck_pod_record_clear(&got);

    /* Oldest first: p2 (INT64_MIN) before p1 (INT64_MAX). */
    ck_pod_record *list = NULL;
    size_t n = 0;
    OK(ck_store_pod_list(f->s, &list, &n, &E));
    assert_int_equal(n, 2);
    assert_pod_eq(&list[0], &sparse);
    assert_pod_eq(&list[1], &changed);
    ck_pod_records_free(list, n);

    OK(ck_store_pod_delete(f->s, "p1", &E));
    FAILS(ck_store_pod_get(f->s, "p1", &got, &E), CK_E_NOT_FOUND, "store: pod p1 not found");
    assert_null(got.id);
    OK(ck_store_pod_delete(f->s, "p1", &E)); /* absent: fine */
    OK(ck_store_pod_delete(f->s, "p2", &E));
    OK(ck_store_pod_list(f->s, &list, &n, &E));
    assert_int_equal(n, 0);
    assert_null(list);
}

static void test_pod_errors(void **state)
{
    fixture *f = *state;
    FAILS(ck_store_pod_set_state(f->s, "nope", 1, &E), CK_E_NOT_FOUND, "store: set state of pod nope: pod not found");
    ck_pod_record bad = pod("p1");
    bad.uid = NULL;
    FAILS(ck_store_pod_put(f->s, &bad, &E), CK_E_INVALID, "store: put pod p1: uid is missing");
    bad = pod(NULL);
    FAILS(ck_store_pod_put(f->s, &bad, &E), CK_E_INVALID, "store: put pod: no id given");
    ck_pod_record *list = NULL;
    size_t n = 1;
    OK(ck_store_pod_list(f->s, &list, &n, &E));
    assert_int_equal(n, 0);
}

/* ---- containers ------------------------------------------------------- */

static void test_container_round_trip(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    ck_pod_record p2 = pod("p2");
    OK(ck_store_pod_put(f->s, &p2, &E));

    ck_container_record c1 = container("c1", "p1");
    c1.started_at_ns = 11;
    c1.finished_at_ns = 12;
    c1.exit_code = INT32_MIN;
    c1.attempt = UINT32_MAX;
    ck_container_record c2 = {
        .id = "c2",
        .pod_id = "p1",
        .name = "sidecar",
        .created_at_ns = 5,
        .exit_code = INT32_MAX,
    };
    ck_container_record c3 = container("c3", "p2");
    OK(ck_store_container_put(f->s, &c1, &E));
    OK(ck_store_container_put(f->s, &c2, &E));
    OK(ck_store_container_put(f->s, &c3, &E));

    _cleanup_container_record_ ck_container_record got = {0};
    OK(ck_store_container_get(f->s, "c1", &got, &E));
    assert_container_eq(&got, &c1);
    ck_container_record_clear(&got);
    OK(ck_store_container_get(f->s, "c2", &got, &E));
    assert_container_eq(&got, &c2);
    ck_container_record_clear(&got);

    /* Started: state and started_at only. */
    ck_container_transition started = {
        .state = 1,
        .set = CK_CONTAINER_SET_STARTED,
        .started_at_ns = 100,
        .finished_at_ns = 999,
        .exit_code = 9,
        .data = "ignored",
    };
    OK(ck_store_container_set_state(f->s, "c2", &started, &E));
    OK(ck_store_container_get(f->s, "c2", &got, &E));
    c2.state = 1;
    c2.started_at_ns = 100;
    assert_container_eq(&got, &c2);
    ck_container_record_clear(&got);

    /* Exited: finished_at, exit code and the domain's record together. */
    ck_container_transition exited = {
        .state = 2,
        .set = CK_CONTAINER_SET_FINISHED | CK_CONTAINER_SET_EXIT_CODE | CK_CONTAINER_SET_DATA,
        .started_at_ns = 555,
        .finished_at_ns = 200,
        .exit_code = 137,
        .data = "{\"v\":1,\"reason\":\"OOMKilled\"}",
    };
    OK(ck_store_container_set_state(f->s, "c2", &exited, &E));
    OK(ck_store_container_get(f->s, "c2", &got, &E));
    c2.state = 2;
    c2.finished_at_ns = 200;
    c2.exit_code = 137;
    c2.data = "{\"v\":1,\"reason\":\"OOMKilled\"}";
    assert_container_eq(&got, &c2);
    ck_container_record_clear(&got);

    /* Setting data to NULL is a change too. */
    ck_container_transition clear_data = {.state = 2, .set = CK_CONTAINER_SET_DATA, .data = NULL};
    OK(ck_store_container_set_state(f->s, "c2", &clear_data, &E));
    OK(ck_store_container_get(f->s, "c2", &got, &E));
    c2.data = NULL;
    assert_container_eq(&got, &c2);
    ck_container_record_clear(&got);

    ck_container_transition bad_mask = {.state = 1, .set = 0x100};
    FAILS(ck_store_container_set_state(f->s, "c2", &bad_mask, &E), CK_E_INVALID,
          "store: set state of container c2: unknown field mask 0x100");

    /* Oldest first: c2 (5) then c1 and c3 (same time, by id). */
    ck_container_record *list = NULL;
    size_t n = 0;
    OK(ck_store_container_list(f->s, &list, &n, &E));
    assert_int_equal(n, 3);
    assert_container_eq(&list[0], &c2);
    assert_container_eq(&list[1], &c1);
    assert_container_eq(&list[2], &c3);
    ck_container_records_free(list, n);

    OK(ck_store_container_list_by_pod(f->s, "p2", &list, &n, &E));
    assert_int_equal(n, 1);
    assert_container_eq(&list[0], &c3);
    ck_container_records_free(list, n);
    OK(ck_store_container_list_by_pod(f->s, "nope", &list, &n, &E));
    assert_int_equal(n, 0);
    assert_null(list);

    /* put replaces, including moving fields back to NULL. */
    c1.image_ref = NULL;
    c1.state = 3;
    OK(ck_store_container_put(f->s, &c1, &E));
    OK(ck_store_container_get(f->s, "c1", &got, &E));
    assert_container_eq(&got, &c1);
    ck_container_record_clear(&got);

    OK(ck_store_container_delete(f->s, "c1", &E));
    OK(ck_store_container_delete(f->s, "c1", &E)); /* absent: fine */
    FAILS(ck_store_container_get(f->s, "c1", &got, &E), CK_E_NOT_FOUND, "store: container c1 not found");
}

/* The generation moves with every write of a container row and with
 * nothing else: the list cache (containers/list_cache.c) keeps its views
 * while it stands still. */
static void test_container_generation(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    uint64_t g0 = ck_store_container_generation(f->s);
    ck_container_record c1 = container("c1", "p1");
    OK(ck_store_container_put(f->s, &c1, &E));
    uint64_t g1 = ck_store_container_generation(f->s);
    assert_true(g1 != g0);

    /* Reads and pod writes leave it. */
    _cleanup_container_record_ ck_container_record got = {0};
    OK(ck_store_container_get(f->s, "c1", &got, &E));
    ck_pod_record p2 = pod("p2");
    OK(ck_store_pod_put(f->s, &p2, &E));
    ck_container_record *list = NULL;
    size_t n = 0;
    uint64_t at = 0;
    OK(ck_store_container_list_at(f->s, &list, &n, &at, &E));
    assert_int_equal(n, 1);
    assert_true(at == g1);
    ck_container_records_free(list, n);
    assert_true(ck_store_container_generation(f->s) == g1);

    ck_container_transition started = {.state = 1, .set = CK_CONTAINER_SET_STARTED, .started_at_ns = 100};
    OK(ck_store_container_set_state(f->s, "c1", &started, &E));
    uint64_t g2 = ck_store_container_generation(f->s);
    assert_true(g2 != g1);
    OK(ck_store_container_delete(f->s, "c1", &E));
    uint64_t g3 = ck_store_container_generation(f->s);
    assert_true(g3 != g2 && g3 != g1);
}

static void test_container_errors(void **state)
{
    fixture *f = *state;
    ck_container_record orphan = container("c1", "no-such-pod");
    FAILS(ck_store_container_put(f->s, &orphan, &E), CK_E_NOT_FOUND,
          "store: put container c1: pod no-such-pod not found");
    ck_container_transition tr = {.state = 1};
    FAILS(ck_store_container_set_state(f->s, "c1", &tr, &E), CK_E_NOT_FOUND,
          "store: set state of container c1: container not found");
    ck_container_record noname = container("c1", "p1");
    noname.name = NULL;
    FAILS(ck_store_container_put(f->s, &noname, &E), CK_E_INVALID, "store: put container c1: name is missing");
}

static void test_pod_with_containers_cannot_be_deleted(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    ck_container_record c = container("c1", "p1");
    OK(ck_store_container_put(f->s, &c, &E));

    FAILS(ck_store_pod_delete(f->s, "p1", &E), CK_E_PRECONDITION, "store: delete pod p1: the pod still has containers");
    _cleanup_pod_record_ ck_pod_record got = {0};
    OK(ck_store_pod_get(f->s, "p1", &got, &E)); /* still there */
    ck_pod_record_clear(&got);

    /* Replacing the pod (an upsert, not delete + insert) keeps it legal. */
    p.state = 2;
    OK(ck_store_pod_put(f->s, &p, &E));

    OK(ck_store_container_delete(f->s, "c1", &E));
    OK(ck_store_pod_delete(f->s, "p1", &E));
    FAILS(ck_store_pod_get(f->s, "p1", &got, &E), CK_E_NOT_FOUND, NULL);
}

/* ---- layers ----------------------------------------------------------- */

static void test_layer_usage_rows(void **state)
{
    fixture *f = *state;
    ck_layer_record a = {.chain_id = "sha256:aaaa", .bytes = UINT64_MAX, .inodes = 3};
    ck_layer_record b = {.chain_id = "sha256:bbbb", .bytes = 4096, .inodes = 1};
    OK(ck_store_layer_put(f->s, &b, &E));
    OK(ck_store_layer_put(f->s, &a, &E));
    a.inodes = 4; /* measured again: replaced */
    OK(ck_store_layer_put(f->s, &a, &E));
    FAILS(ck_store_layer_put(f->s, &(ck_layer_record){0}, &E), CK_E_INVALID, "store: put layer: no chain id given");
    reopen(f);
    ck_layer_record *ls = NULL;
    size_t n = 0;
    OK(ck_store_layer_list(f->s, &ls, &n, &E));
    assert_int_equal(n, 2);
    assert_string_equal(ls[0].chain_id, "sha256:aaaa");
    assert_true(ls[0].bytes == UINT64_MAX);
    assert_int_equal(ls[0].inodes, 4);
    assert_string_equal(ls[1].chain_id, "sha256:bbbb");
    assert_int_equal(ls[1].bytes, 4096);
    ck_layer_records_free(ls, n);
    OK(ck_store_layer_delete(f->s, "sha256:aaaa", &E));
    OK(ck_store_layer_delete(f->s, "sha256:aaaa", &E)); /* absent: fine */
    OK(ck_store_layer_list(f->s, &ls, &n, &E));
    assert_int_equal(n, 1);
    ck_layer_records_free(ls, n);
}

/* A version 1 database (before layer rows) keeps its images and gets an
 * empty layers table. */
static void test_migration_v1_to_v2_adds_layers(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->root, 0700), 0);
    raw_exec(f->db, ck_store_migrations[0].sql);
    raw_exec(f->db, "INSERT INTO images (id, size, data) VALUES ('sha256:cccc', 7, '{}'); PRAGMA user_version = 1");
    OK(ck_store_open(f->root, &f->s, &E));
    assert_int_equal(ck_store_schema_version(f->s), 2);
    _cleanup_image_record_ ck_image_record got = {0};
    OK(ck_store_image_get(f->s, "sha256:cccc", &got, &E));
    ck_layer_record *ls = NULL;
    size_t n = 1;
    OK(ck_store_layer_list(f->s, &ls, &n, &E));
    assert_int_equal(n, 0);
    ck_layer_records_free(ls, n);
}

/* ---- images ----------------------------------------------------------- */

#define IMG_A "sha256:aaaa1111"
#define IMG_B "sha256:bbbb2222"

static void test_images_and_refs(void **state)
{
    fixture *f = *state;
    ck_image_record a = {.id = IMG_A, .size = UINT64_MAX, .data = "{\"v\":1,\"os\":\"linux\"}"};
    ck_image_record b = {.id = IMG_B, .size = 0, .data = NULL};
    OK(ck_store_image_put(f->s, &a, &E));
    OK(ck_store_image_put(f->s, &b, &E));

    _cleanup_image_record_ ck_image_record got = {0};
    OK(ck_store_image_get(f->s, IMG_A, &got, &E));
    assert_image_eq(&got, &a);
    ck_image_record_clear(&got);
    OK(ck_store_image_get(f->s, IMG_B, &got, &E));
    assert_image_eq(&got, &b);
    ck_image_record_clear(&got);
    FAILS(ck_store_image_get(f->s, "sha256:none", &got, &E), CK_E_NOT_FOUND, "store: image sha256:none not found");

    ck_image_record *imgs = NULL;
    size_t n = 0;
    OK(ck_store_image_list(f->s, &imgs, &n, &E));
    assert_int_equal(n, 2);
    assert_image_eq(&imgs[0], &a);
    assert_image_eq(&imgs[1], &b);
    ck_image_records_free(imgs, n);

    OK(ck_store_image_ref_set(f->s, "docker.io/library/busybox:1.36", IMG_A, &E));
    OK(ck_store_image_ref_set(f->s, "docker.io/library/busybox:latest", IMG_A, &E));
    OK(ck_store_image_ref_set(f->s, "docker.io/library/busybox@sha256:0123", IMG_A, &E));
    OK(ck_store_image_ref_set(f->s, "docker.io/library/alpine:3", IMG_B, &E));
    FAILS(ck_store_image_ref_set(f->s, "x:1", "sha256:none", &E), CK_E_NOT_FOUND,
          "store: point x:1 at image sha256:none: image not found");

    char *id = NULL;
    OK(ck_store_image_resolve(f->s, "docker.io/library/busybox:latest", &id, &E));
    assert_string_equal(id, IMG_A);
    free(id);

    /* Moving a tag is an update: latest now names B. */
    OK(ck_store_image_ref_set(f->s, "docker.io/library/busybox:latest", IMG_B, &E));
    OK(ck_store_image_resolve(f->s, "docker.io/library/busybox:latest", &id, &E));
    assert_string_equal(id, IMG_B);
    free(id);

    char **refs = NULL;
    OK(ck_store_image_refs(f->s, IMG_A, &refs, &n, &E));
    assert_int_equal(n, 2);
    assert_string_equal(refs[0], "docker.io/library/busybox:1.36");
    assert_string_equal(refs[1], "docker.io/library/busybox@sha256:0123");
    ck_store_strv_free(refs, n);
    OK(ck_store_image_refs(f->s, IMG_B, &refs, &n, &E));
    assert_int_equal(n, 2);
    assert_string_equal(refs[0], "docker.io/library/alpine:3");
    assert_string_equal(refs[1], "docker.io/library/busybox:latest");
    ck_store_strv_free(refs, n);

    ck_image_ref *all = NULL;
    OK(ck_store_image_ref_list(f->s, &all, &n, &E));
    assert_int_equal(n, 4);
    const char *want[4][2] = {
        {"docker.io/library/busybox:1.36", IMG_A},
        {"docker.io/library/busybox@sha256:0123", IMG_A},
        {"docker.io/library/alpine:3", IMG_B},
        {"docker.io/library/busybox:latest", IMG_B},
    };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(all[i].ref, want[i][0]);
        assert_string_equal(all[i].image_id, want[i][1]);
    }
    ck_image_refs_free(all, n);

    OK(ck_store_image_ref_delete(f->s, "docker.io/library/busybox:1.36", &E));
    OK(ck_store_image_ref_delete(f->s, "docker.io/library/busybox:1.36", &E)); /* absent */
    FAILS(ck_store_image_resolve(f->s, "docker.io/library/busybox:1.36", &id, &E), CK_E_NOT_FOUND,
          "store: image reference docker.io/library/busybox:1.36 not found");
    assert_null(id);

    /* put replaces the image's fields and keeps its references. */
    a.size = 42;
    a.data = "{\"v\":2}";
    OK(ck_store_image_put(f->s, &a, &E));
    OK(ck_store_image_get(f->s, IMG_A, &got, &E));
    assert_image_eq(&got, &a);
    OK(ck_store_image_refs(f->s, IMG_A, &refs, &n, &E));
    assert_int_equal(n, 1);
    ck_store_strv_free(refs, n);

    /* Deleting an image deletes its references, and only its. */
    OK(ck_store_image_delete(f->s, IMG_B, &E));
    OK(ck_store_image_delete(f->s, IMG_B, &E)); /* absent */
    FAILS(ck_store_image_resolve(f->s, "docker.io/library/alpine:3", &id, &E), CK_E_NOT_FOUND, NULL);
    FAILS(ck_store_image_resolve(f->s, "docker.io/library/busybox:latest", &id, &E), CK_E_NOT_FOUND, NULL);
    OK(ck_store_image_ref_list(f->s, &all, &n, &E));
    assert_int_equal(n, 1);
    assert_string_equal(all[0].ref, "docker.io/library/busybox@sha256:0123");
    ck_image_refs_free(all, n);
    OK(ck_store_image_refs(f->s, IMG_B, &refs, &n, &E));
    assert_int_equal(n, 0);
    assert_null(refs);
}

/* ---- id prefixes ------------------------------------------------------ */

static void test_prefix_lookup(void **state)
{
    fixture *f = *state;
    const char *ids[] = {"abc123", "abd456", "abc1", "b00"};
    for (size_t i = 0; i < 4; i++) {
        ck_pod_record p = pod(ids[i]);
        OK(ck_store_pod_put(f->s, &p, &E));
    }
    char *id = NULL;
    OK(ck_store_pod_find_prefix(f->s, "abd", &id, &E));
    assert_string_equal(id, "abd456");
    free(id);
    OK(ck_store_pod_find_prefix(f->s, "b", &id, &E));
    assert_string_equal(id, "b00");
    free(id);
    OK(ck_store_pod_find_prefix(f->s, "abc12", &id, &E));
    assert_string_equal(id, "abc123");
    free(id);
    /* An exact id wins over the longer ids it prefixes. */
    OK(ck_store_pod_find_prefix(f->s, "abc1", &id, &E));
    assert_string_equal(id, "abc1");
    free(id);
    OK(ck_store_pod_find_prefix(f->s, "abc123", &id, &E));
    assert_string_equal(id, "abc123");
    free(id);

    FAILS(ck_store_pod_find_prefix(f->s, "ab", &id, &E), CK_E_INVALID,
          "store: pod id prefix \"ab\" is ambiguous: it matches at least abc1 and abc123");
    FAILS(ck_store_pod_find_prefix(f->s, "abc", &id, &E), CK_E_INVALID, NULL);
    FAILS(ck_store_pod_find_prefix(f->s, "abe", &id, &E), CK_E_NOT_FOUND, "store: no pod id starts with \"abe\"");
    FAILS(ck_store_pod_find_prefix(f->s, "abc1234", &id, &E), CK_E_NOT_FOUND, NULL);
    FAILS(ck_store_pod_find_prefix(f->s, "c", &id, &E), CK_E_NOT_FOUND, NULL);
    FAILS(ck_store_pod_find_prefix(f->s, "", &id, &E), CK_E_INVALID,
          "store: find pod by id prefix: the prefix is empty");
    FAILS(ck_store_pod_find_prefix(f->s, "a\xff", &id, &E), CK_E_NOT_FOUND, NULL);
    assert_null(id);

    /* Containers and images share the rules. */
    ck_container_record c1 = container("fee1", "b00"), c2 = container("fee2", "b00");
    OK(ck_store_container_put(f->s, &c1, &E));
    OK(ck_store_container_put(f->s, &c2, &E));
    OK(ck_store_container_find_prefix(f->s, "fee2", &id, &E));
    assert_string_equal(id, "fee2");
    free(id);
    FAILS(ck_store_container_find_prefix(f->s, "fe", &id, &E), CK_E_INVALID,
          "store: container id prefix \"fe\" is ambiguous: it matches at least fee1 and fee2");
    FAILS(ck_store_container_find_prefix(f->s, "abc", &id, &E), CK_E_NOT_FOUND,
          "store: no container id starts with \"abc\"");

    ck_image_record img = {.id = "sha256:77aa", .size = 1};
    OK(ck_store_image_put(f->s, &img, &E));
    OK(ck_store_image_find_prefix(f->s, "sha256:7", &id, &E));
    assert_string_equal(id, "sha256:77aa");
    free(id);
    FAILS(ck_store_image_find_prefix(f->s, "sha256:8", &id, &E), CK_E_NOT_FOUND, NULL);
}

/* ---- transactions ----------------------------------------------------- */

static void test_tx_rollback_discards(void **state)
{
    fixture *f = *state;
    FAILS(ck_store_commit(f->s, &E), CK_E_PRECONDITION, "store: commit: no transaction is open in this thread");
    ck_store_rollback(f->s); /* none open: a no-op */

    OK(ck_store_begin(f->s, &E));
    FAILS(ck_store_begin(f->s, &E), CK_E_PRECONDITION, "store: begin: this thread already has a transaction open");
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    ck_container_record c = container("c1", "p1");
    OK(ck_store_container_put(f->s, &c, &E));
    OK(ck_store_name_reserve(f->s, "n1", "p1", &E));
    /* The transaction sees its own writes. */
    _cleanup_pod_record_ ck_pod_record got = {0};
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    assert_pod_eq(&got, &p);
    ck_pod_record_clear(&got);
    /* A failed call inside leaves the transaction usable. */
    FAILS(ck_store_pod_delete(f->s, "p1", &E), CK_E_PRECONDITION, NULL);
    ck_store_rollback(f->s);

    FAILS(ck_store_pod_get(f->s, "p1", &got, &E), CK_E_NOT_FOUND, NULL);
    _cleanup_container_record_ ck_container_record cgot = {0};
    FAILS(ck_store_container_get(f->s, "c1", &cgot, &E), CK_E_NOT_FOUND, NULL);
    char *owner = NULL;
    FAILS(ck_store_name_lookup(f->s, "n1", &owner, &E), CK_E_NOT_FOUND, NULL);

    /* And a new transaction can start. */
    OK(ck_store_begin(f->s, &E));
    OK(ck_store_commit(f->s, &E));
}

static void test_tx_commit_persists_across_reopen(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    ck_container_record c = container("c1", "p1");
    OK(ck_store_begin(f->s, &E));
    OK(ck_store_name_reserve(f->s, "nginx_default_uid_2", "p1", &E));
    OK(ck_store_pod_put(f->s, &p, &E));
    OK(ck_store_container_put(f->s, &c, &E));
    OK(ck_store_commit(f->s, &E));
    reopen(f);

    _cleanup_pod_record_ ck_pod_record pgot = {0};
    OK(ck_store_pod_get(f->s, "p1", &pgot, &E));
    assert_pod_eq(&pgot, &p);
    _cleanup_container_record_ ck_container_record cgot = {0};
    OK(ck_store_container_get(f->s, "c1", &cgot, &E));
    assert_container_eq(&cgot, &c);
    char *owner = NULL;
    OK(ck_store_name_lookup(f->s, "nginx_default_uid_2", &owner, &E));
    assert_string_equal(owner, "p1");
    free(owner);
}

static void test_close_with_open_tx_rolls_back(void **state)
{
    fixture *f = *state;
    OK(ck_store_begin(f->s, &E));
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    reopen(f); /* closes with the transaction open */
    _cleanup_pod_record_ ck_pod_record got = {0};
    FAILS(ck_store_pod_get(f->s, "p1", &got, &E), CK_E_NOT_FOUND, NULL);
}

typedef struct reader_arg {
    ck_store *s;
    atomic_int done;
    int rc;
    ck_pod_record got;
    ck_err err;
} reader_arg;

static void *read_p1(void *p)
{
    reader_arg *a = p;
    a->rc = ck_store_pod_get(a->s, "p1", &a->got, &a->err);
    atomic_store(&a->done, 1);
    return NULL;
}

/* Another thread's call waits for the transaction and sees its result. */
static void test_tx_isolates_other_threads(void **state)
{
    fixture *f = *state;
    OK(ck_store_begin(f->s, &E));
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));

    reader_arg arg = {.s = f->s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, read_p1, &arg), 0);
    struct timespec pause = {0, 150L * 1000 * 1000};
    nanosleep(&pause, NULL);
    assert_int_equal(atomic_load(&arg.done), 0);
    OK(ck_store_commit(f->s, &E));
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(arg.rc, 0);
    assert_pod_eq(&arg.got, &p);
    ck_pod_record_clear(&arg.got);
}

/* ---- migrations ------------------------------------------------------- */

static void test_migration_fresh_db_is_latest(void **state)
{
    fixture *f = *state;
    assert_int_equal(ck_store_schema_version(f->s), ck_store_schema_version_latest());
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                                    " name IN ('names','pods','containers','images','image_refs','layers')"),
                     6);
    assert_int_equal(raw_int(f->db, "PRAGMA foreign_key_check"), 0);
    /* Opening again changes nothing. */
    reopen(f);
    assert_int_equal(ck_store_schema_version(f->s), 2);
}

static void test_migration_refuses_newer_db(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(f->root, 0700), 0);
    raw_exec(f->db, "CREATE TABLE future (x); PRAGMA user_version = 7");
    char want[512];
    snprintf(want, sizeof(want),
             "database %s has schema version 7, newer than the 2 this cricket understands; "
             "refusing to open it",
             f->db);
    FAILS(ck_store_open(f->root, &f->s, &E), CK_E_PRECONDITION, want);
    assert_null(f->s);
    /* Untouched: same version, not even switched to WAL. */
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 7);
    char mode[32];
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "delete");
}

static int apply_v2_backfill(sqlite3 *db, ck_err *err)
{
    int rc = sqlite3_exec(db, "UPDATE pods SET note = 'from ' || name", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return ck_err_set(err, CK_E_INTERNAL, 0, "backfill: %s", sqlite3_errmsg(db));
    return 0;
}

static void test_migration_upgrade_keeps_data(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    ck_store_close(f->s);
    f->s = NULL;

    /* The real history plus a trial version 3: one more entry. */
    ck_store_migration steps[3] = {
        ck_store_migrations[0],
        ck_store_migrations[1],
        {3, "pod notes", "ALTER TABLE pods ADD COLUMN note TEXT; CREATE TABLE extra (x INTEGER)", apply_v2_backfill},
    };
    assert_int_equal(ck_store_migrations_len, 2);
    OK(ck_store_open_with(f->root, steps, 3, &f->s, &E));
    assert_int_equal(ck_store_schema_version(f->s), 3);
    _cleanup_pod_record_ ck_pod_record got = {0};
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    assert_pod_eq(&got, &p);
    ck_store_close(f->s);
    f->s = NULL;
    char note[64];
    raw_text(f->db, "SELECT note FROM pods WHERE id = 'p1'", note, sizeof(note));
    assert_string_equal(note, "from nginx");

    /* This binary knows only version 2 and refuses the upgraded database. */
    char want[512];
    snprintf(want, sizeof(want),
             "database %s has schema version 3, newer than the 2 this cricket understands; "
             "refusing to open it",
             f->db);
    FAILS(ck_store_open(f->root, &f->s, &E), CK_E_PRECONDITION, want);
}

static void test_migration_failed_step_rolls_back(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1");
    OK(ck_store_pod_put(f->s, &p, &E));
    ck_store_close(f->s);
    f->s = NULL;

    ck_store_migration steps[3] = {
        ck_store_migrations[0],
        ck_store_migrations[1],
        {3, "broken", "CREATE TABLE half (x INTEGER); ALTER TABLE no_such_table ADD COLUMN y", NULL},
    };
    char want[512];
    snprintf(want, sizeof(want),
             "store: migrate %s to schema version 3 (broken): store: run migration SQL: "
             "no such table: no_such_table",
             f->db);
    FAILS(ck_store_open_with(f->root, steps, 3, &f->s, &E), CK_E_INTERNAL, want);
    assert_null(f->s);
    /* The step's first statement was rolled back with it. */
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 2);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'half'"), 0);

    /* A history with a gap is a programming error. */
    ck_store_migration gap[3] = {ck_store_migrations[0], ck_store_migrations[1], {4, "gap", "SELECT 1", NULL}};
    FAILS(ck_store_open_with(f->root, gap, 3, &f->s, &E), CK_E_INTERNAL,
          "store: migration step 2 has version 4, expected 3");

    OK(ck_store_open(f->root, &f->s, &E));
    _cleanup_pod_record_ ck_pod_record got = {0};
    OK(ck_store_pod_get(f->s, "p1", &got, &E));
    assert_pod_eq(&got, &p);
}

/* ---- crash safety ----------------------------------------------------- */

/* The child commits one pod, then writes far more than SQLite's page cache
 * holds inside a transaction (so uncommitted frames reach the WAL file),
 * tells the parent through the pipe and waits to be killed. */
static void crash_child(const char *root, int ready_fd)
{
    ck_store *s = NULL;
    ck_err err = {0};
    if (ck_store_open(root, &s, &err) < 0)
        _exit(10);
    ck_pod_record durable = pod("durable");
    if (ck_store_pod_put(s, &durable, &err) < 0)
        _exit(11);
    if (ck_store_begin(s, &err) < 0)
        _exit(12);
    static char data[4096];
    memset(data, 'x', sizeof(data) - 1);
    for (int i = 0; i < 3000; i++) {
        char id[32];
        snprintf(id, sizeof(id), "lost-%05d", i);
        ck_pod_record p = pod(id);
        p.data = data;
        if (ck_store_pod_put(s, &p, &err) < 0)
            _exit(13);
        if (i == 0) {
            ck_container_record c = container("lost-c", id);
            if (ck_store_container_put(s, &c, &err) < 0)
                _exit(14);
        }
    }
    if (ck_store_name_reserve(s, "lost-name", "lost-00000", &err) < 0)
        _exit(15);
    if (write(ready_fd, "k", 1) != 1)
        _exit(16);
    for (;;)
        pause();
}

static void test_crash_before_commit_leaves_no_trace(void **state)
{
    fixture *f = *state;
    ck_pod_record keep = pod("keep");
    OK(ck_store_pod_put(f->s, &keep, &E));
    ck_store_close(f->s);
    f->s = NULL;

    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        crash_child(f->root, ready[1]);
    }
    close(ready[1]);
    char byte = 0;
    ssize_t got = read(ready[0], &byte, 1);
    close(ready[0]);
    /* Killed mid-transaction, whatever it managed or not. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (got != 1)
        fail_msg("child failed before the crash point: status 0x%x", (unsigned)status);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    /* The uncommitted transaction did reach the disk, as WAL frames. */
    char wal[200];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size > 4L * 1024 * 1024);

    OK(ck_store_open(f->root, &f->s, &E));
    OK(ck_store_integrity_check(f->s, &E));
    ck_pod_record *pods = NULL;
    size_t n = 0;
    OK(ck_store_pod_list(f->s, &pods, &n, &E));
    assert_int_equal(n, 2);
    assert_string_equal(pods[0].id, "durable"); /* same created_at: by id */
    assert_string_equal(pods[1].id, "keep");
    ck_pod_records_free(pods, n);
    ck_container_record *ctrs = NULL;
    OK(ck_store_container_list(f->s, &ctrs, &n, &E));
    assert_int_equal(n, 0);
    char *owner = NULL;
    FAILS(ck_store_name_lookup(f->s, "lost-name", &owner, &E), CK_E_NOT_FOUND, NULL);
    char quick[32];
    ck_store_close(f->s);
    f->s = NULL;
    raw_text(f->db, "PRAGMA integrity_check", quick, sizeof(quick));
    assert_string_equal(quick, "ok");
    OK(ck_store_open(f->root, &f->s, &E));
}

/* ---- durability ------------------------------------------------------- */

/* Runs expr, a write that must commit exactly once and return only when
 * that commit is on disk (group commit: see "Durability" in store.c). */
#define COMMITS_DURABLY(f, expr)                                      \
    do {                                                              \
        uint64_t before_ = atomic_load(&(f)->s->commits);             \
        OK(expr);                                                     \
        assert_int_equal(atomic_load(&(f)->s->commits), before_ + 1); \
        assert_int_equal(ck_store_commits_unsynced((f)->s), 0);       \
    } while (0)

static void test_every_write_is_on_disk_when_it_returns(void **state)
{
    fixture *f = *state;
    assert_int_equal(ck_store_commits_unsynced(f->s), 0); /* the migrations' */
    ck_pod_record p = pod("p1");
    ck_container_record c = container("c1", "p1");
    ck_container_transition tr = {.state = 1, .set = CK_CONTAINER_SET_STARTED, .started_at_ns = 5};
    ck_image_record img = {.id = IMG_A, .size = 1, .data = NULL};
    ck_layer_record layer = {.chain_id = "sha256:aaaa", .bytes = 1, .inodes = 1};
    COMMITS_DURABLY(f, ck_store_name_reserve(f->s, "n1", "p1", &E));
    COMMITS_DURABLY(f, ck_store_pod_put(f->s, &p, &E));
    COMMITS_DURABLY(f, ck_store_pod_set_state(f->s, "p1", 2, &E));
    COMMITS_DURABLY(f, ck_store_container_put(f->s, &c, &E));
    COMMITS_DURABLY(f, ck_store_container_set_state(f->s, "c1", &tr, &E));
    COMMITS_DURABLY(f, ck_store_container_delete(f->s, "c1", &E));
    COMMITS_DURABLY(f, ck_store_pod_delete(f->s, "p1", &E));
    COMMITS_DURABLY(f, ck_store_name_release(f->s, "n1", &E));
    COMMITS_DURABLY(f, ck_store_image_put(f->s, &img, &E));
    COMMITS_DURABLY(f, ck_store_image_ref_set(f->s, "busybox:1", IMG_A, &E));
    COMMITS_DURABLY(f, ck_store_image_ref_delete(f->s, "busybox:1", &E));
    COMMITS_DURABLY(f, ck_store_image_delete(f->s, IMG_A, &E));
    COMMITS_DURABLY(f, ck_store_layer_put(f->s, &layer, &E));
    COMMITS_DURABLY(f, ck_store_layer_delete(f->s, "sha256:aaaa", &E));

    /* Inside a transaction nothing commits until the commit, which waits. */
    uint64_t before = atomic_load(&f->s->commits);
    OK(ck_store_begin(f->s, &E));
    OK(ck_store_pod_put(f->s, &p, &E));
    OK(ck_store_pod_set_state(f->s, "p1", 3, &E));
    assert_int_equal(atomic_load(&f->s->commits), before);
    COMMITS_DURABLY(f, ck_store_commit(f->s, &E));
}

static void test_failed_fdatasync_fails_this_write_and_the_next(void **state)
{
    fixture *f = *state;
    ck_pod_record p1 = pod("p1"), p2 = pod("p2");
    OK(ck_store_pod_put(f->s, &p1, &E));
    assert_true(f->s->wal_fd >= 0);
    /* fdatasync of a pipe fails (EINVAL), as a disk's EIO would. */
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(dup2(pipe_fds[0], f->s->wal_fd), f->s->wal_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    char want[512];
    snprintf(want, sizeof(want),
             "store: fdatasync the WAL of %s (what was committed since may not survive a power failure; restart the "
             "daemon once the disk is sound): Invalid argument",
             f->db);
    FAILS(ck_store_pod_set_state(f->s, "p1", 4, &E), CK_E_INTERNAL, want);
    assert_int_equal(E.errnum, EINVAL);
    /* Sticky: the next write fails too, though nothing else went wrong. */
    FAILS(ck_store_pod_put(f->s, &p2, &E), CK_E_INTERNAL, want);
    ck_pod_record *pods = NULL;
    size_t n = 0;
    OK(ck_store_pod_list(f->s, &pods, &n, &E)); /* reads still answer */
    ck_pod_records_free(pods, n);
}

/* ---- concurrency ------------------------------------------------------ */

#define THREADS 8
#define ROUNDS 40

typedef struct worker_arg {
    ck_store *s;
    int index;
    int committed_extra; /* pods written by committed transactions */
    char failure[CK_ERR_MSG_MAX + 64];
} worker_arg;

#define WORKER_CHECK(expr)                                                      \
    do {                                                                        \
        if ((expr) != 0) {                                                      \
            snprintf(a->failure, sizeof(a->failure), "%s: %s", #expr, err.msg); \
            return NULL;                                                        \
        }                                                                       \
    } while (0)

static void *worker(void *p)
{
    worker_arg *a = p;
    ck_err err = {0};
    for (int i = 0; i < ROUNDS; i++) {
        char pid[32], cid[32], name[32], extra[32];
        snprintf(pid, sizeof(pid), "p-%d-%03d", a->index, i);
        snprintf(cid, sizeof(cid), "c-%d-%03d", a->index, i);
        snprintf(name, sizeof(name), "name-%d-%03d", a->index, i);
        ck_pod_record pr = pod(pid);
        WORKER_CHECK(ck_store_name_reserve(a->s, name, pid, &err));
        WORKER_CHECK(ck_store_pod_put(a->s, &pr, &err));
        ck_container_record cr = container(cid, pid);
        WORKER_CHECK(ck_store_container_put(a->s, &cr, &err));
        ck_container_transition tr = {.state = 1, .set = CK_CONTAINER_SET_STARTED, .started_at_ns = i};
        WORKER_CHECK(ck_store_container_set_state(a->s, cid, &tr, &err));

        ck_pod_record *pods = NULL;
        size_t n = 0;
        WORKER_CHECK(ck_store_pod_list(a->s, &pods, &n, &err));
        ck_pod_records_free(pods, n);
        if (n < (size_t)i + 1) {
            snprintf(a->failure, sizeof(a->failure), "listed %zu pods after writing %d", n, i + 1);
            return NULL;
        }
        ck_container_record *ctrs = NULL;
        WORKER_CHECK(ck_store_container_list_by_pod(a->s, pid, &ctrs, &n, &err));
        ck_container_records_free(ctrs, n);
        if (n != 1) {
            snprintf(a->failure, sizeof(a->failure), "pod %s has %zu containers", pid, n);
            return NULL;
        }
        char *found = NULL;
        WORKER_CHECK(ck_store_pod_find_prefix(a->s, pid, &found, &err));
        free(found);

        /* A transaction: every third round commits, every other discards. */
        snprintf(extra, sizeof(extra), "x-%d-%03d", a->index, i);
        ck_pod_record xr = pod(extra);
        WORKER_CHECK(ck_store_begin(a->s, &err));
        WORKER_CHECK(ck_store_pod_put(a->s, &xr, &err));
        WORKER_CHECK(ck_store_pod_set_state(a->s, extra, 5, &err));
        if (i % 3 == 0) {
            WORKER_CHECK(ck_store_commit(a->s, &err));
            a->committed_extra++;
        } else {
            ck_store_rollback(a->s);
        }
        WORKER_CHECK(ck_store_name_release(a->s, name, &err));
    }
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    fixture *f = *state;
    pthread_t threads[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.s = f->s, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &args[i]), 0);
    }
    int extra = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (args[i].failure[0] != '\0')
            fail_msg("thread %d: %s", i, args[i].failure);
        extra += args[i].committed_extra;
    }
    assert_int_equal(extra, THREADS * ((ROUNDS + 2) / 3));
    ck_pod_record *pods = NULL;
    size_t n = 0;
    OK(ck_store_pod_list(f->s, &pods, &n, &E));
    assert_int_equal(n, THREADS * ROUNDS + extra);
    ck_pod_records_free(pods, n);
    ck_container_record *ctrs = NULL;
    OK(ck_store_container_list(f->s, &ctrs, &n, &E));
    assert_int_equal(n, THREADS * ROUNDS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ctrs[i].state, 1);
    ck_container_records_free(ctrs, n);
    OK(ck_store_integrity_check(f->s, &E));
    /* Every call waited for its commit to be on disk, and the waits of
     * calls made at once shared fdatasyncs. */
    assert_int_equal(ck_store_commits_unsynced(f->s), 0);
    printf("%" PRIu64 " commits, %" PRIu64 " fdatasyncs\n", atomic_load(&f->s->commits), f->s->syncs);
}

/* ---- scale ------------------------------------------------------------ */

#define MANY 5000

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_list_5000_containers(void **state)
{
    fixture *f = *state;
    ck_pod_record p = pod("p1"), empty = pod("p2");
    OK(ck_store_pod_put(f->s, &p, &E));
    OK(ck_store_pod_put(f->s, &empty, &E));
    OK(ck_store_begin(f->s, &E));
    for (int i = 0; i < MANY; i++) {
        char id[32], data[64];
        snprintf(id, sizeof(id), "c%05d", i);
        snprintf(data, sizeof(data), "{\"v\":1,\"i\":%d}", i);
        ck_container_record c = container(id, "p1");
        c.created_at_ns = MANY - i; /* listed newest id first */
        c.data = data;
        OK(ck_store_container_put(f->s, &c, &E));
    }
    OK(ck_store_commit(f->s, &E));

    double t0 = seconds();
    ck_container_record *ctrs = NULL;
    size_t n = 0;
    OK(ck_store_container_list(f->s, &ctrs, &n, &E));
    double t1 = seconds();
    assert_int_equal(n, MANY);
    for (size_t i = 0; i < n; i++) {
        int k = MANY - 1 - (int)i;
        char id[32], data[64];
        snprintf(id, sizeof(id), "c%05d", k);
        snprintf(data, sizeof(data), "{\"v\":1,\"i\":%d}", k);
        assert_string_equal(ctrs[i].id, id);
        assert_string_equal(ctrs[i].data, data);
        assert_true(ctrs[i].created_at_ns == MANY - k);
    }
    ck_container_records_free(ctrs, n);
    print_message("listed %d containers in %.2f ms\n", MANY, (t1 - t0) * 1e3);

    OK(ck_store_container_list_by_pod(f->s, "p1", &ctrs, &n, &E));
    assert_int_equal(n, MANY);
    ck_container_records_free(ctrs, n);
    OK(ck_store_container_list_by_pod(f->s, "p2", &ctrs, &n, &E));
    assert_int_equal(n, 0);
}

int main(void)
{
    ck_log_set_level(CK_LOG_WARN); /* migrations log at info on every fresh database */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_private_wal_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_tightens_existing_file_mode, setup_unopened, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_non_file, setup_unopened, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_with_containers_cannot_be_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images_and_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_usage_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_v1_to_v2_adds_layers, setup_unopened, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_rollback_discards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_commit_persists_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_open_tx_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_isolates_other_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_fresh_db_is_latest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_refuses_newer_db, setup_unopened, teardown),
        cmocka_unit_test_setup_teardown(test_migration_upgrade_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_failed_step_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_commit_leaves_no_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_write_is_on_disk_when_it_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_fdatasync_fails_this_write_and_the_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_5000_containers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
