/*
 * store: cricket's memory across restarts. The daemon may die at any instant
 * and be started again; what it knew about pods, containers, images and
 * reserved names must then be exactly what it had committed, no more, no
 * less. That promise ("never loses a container") is why this is SQLite and
 * why every write happens in a transaction.
 *
 * The database is <root>/cricket.db (root is /var/lib/cricket by default),
 * mode 0600 in a 0700 directory; SQLite's -wal and -shm files beside it get
 * the same mode. It is the only place in cricket with SQL: store.h speaks in
 * typed records, store_sql.c holds every statement.
 *
 * Schema (exact DDL and its history in store_sql.c):
 *   names(name PK, owner_id)                 unique pod/container names
 *   pods(id PK, name, ns, uid, attempt, state, created_at_ns,
 *        runtime_handler, data)
 *   containers(id PK, pod_id -> pods.id, name, attempt, state,
 *        created_at_ns, started_at_ns, finished_at_ns, exit_code, image_ref,
 *        data)                                index (pod_id, created_at_ns)
 *   images(id PK, size, data)
 *   image_refs(ref PK, image_id -> images.id CASCADE)   index (image_id, ref)
 *   layers(chain_id PK, bytes, inodes)       disk usage of each unpacked layer
 * `data` is the owning domain's versioned JSON record; the store never reads
 * it. The columns beside it are the ones lookups and filters need.
 *
 * Invariants:
 *   - every container row names an existing pod row, so a pod with
 *     containers cannot be deleted (CK_E_PRECONDITION); every image_refs row
 *     names an existing image, and deleting an image deletes its refs;
 *   - PRAGMA user_version is the number of migration steps applied; a step
 *     and its new version commit together or not at all, and a database newer
 *     than this binary is refused with its contents untouched;
 *   - a committed transaction survives a crash of the process or of the
 *     machine; an uncommitted one leaves no trace.
 *
 * Durability settings, chosen at open:
 *   - journal_mode=WAL: readers never block the writer, a commit appends to
 *     the log instead of rewriting pages, and a crash mid-write leaves only
 *     an uncommitted WAL tail that recovery ignores.
 *   - synchronous=NORMAL plus our own fdatasync of the WAL (group commit):
 *     a call that committed returns only once an fdatasync of the WAL
 *     started after its commit has finished, so what it reported survives
 *     a power failure, as synchronous=FULL promises. FULL fsyncs inside
 *     the commit, under the one mutex every call takes: each read queued
 *     behind a writer's fsync, and each commit behind all those queued
 *     before it (110 pods started at once: 1216 fdatasyncs, p90 8.8 ms,
 *     max 150 ms, the mutex held through each). Here the fdatasync runs
 *     after the mutex is released, and one covers every commit made before
 *     it started. bench/store_bench, 4 writers and a reader, three rounds
 *     against FULL: commits 5400-7300/s -> 9100-12500/s, read median
 *     0.9-1.2 ms -> 0.006-0.011 ms, p99 2.4-4.2 -> 0.17-0.29 ms, max
 *     53-82 -> 1.1-1.5 ms. SQLite still syncs on its own what consistency
 *     needs: the WAL header when the log restarts, the WAL and the
 *     database at checkpoints. A lost row whose container is running is
 *     exactly the leak we promise against, so the wait is not optional:
 *     every public call that writes ends in ck_store_durable.
 *   - foreign_keys=ON (verified: it is per connection and off by default),
 *     busy_timeout 5 s for the rare other process (a debugging sqlite3 shell,
 *     a second cricket refusing to start) holding the lock.
 *
 * Threads: one connection, guarded by one recursive mutex. SQLite admits one
 * writer at a time per database whatever we do, so more connections would
 * only add concurrent readers, at the price of SQLITE_BUSY between our own
 * threads (resolved by the busy handler's sleep-and-retry, with poor
 * latency), one statement cache per connection and a harder transaction
 * story. Every call here takes microseconds (listing 5000 containers a few
 * milliseconds), so serialising them costs less than that contention would.
 * A transaction is the mutex: ck_store_begin takes it and keeps it until
 * commit or rollback, so the owning thread's calls inside it (which lock
 * again, recursively) see and extend its writes, and other threads simply
 * wait. If reads ever contend, read-only connections can be added behind
 * the same API without changing a caller.
 *
 * Statements are prepared once at open (a typo in SQL fails the first test,
 * not a rare path in production) and reset with their bindings cleared at
 * the end of each call's scope, before the mutex is released.
 *
 * A ck_store must not be used across fork(); a child opens its own.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"

#define DB_FILE "cricket.db"
#define BUSY_TIMEOUT_MS 5000
/* After a burst, truncate the WAL back to this size at checkpoint. */
#define JOURNAL_SIZE_LIMIT (64 * 1024 * 1024)
/* The page cache of the one connection, in KiB (see configure). */
#define CACHE_KIB 256

/* ---- errors ----------------------------------------------------------- */

static ck_errkind kind_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        switch (rc) {
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_UNIQUE: return CK_E_EXISTS;
        case SQLITE_CONSTRAINT_FOREIGNKEY: return CK_E_PRECONDITION;
        default: return CK_E_INVALID; /* NOT NULL, CHECK, datatype */
        }
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return CK_E_UNAVAILABLE;
    case SQLITE_FULL: return CK_E_EXHAUSTED;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return CK_E_PERMISSION;
    default: return CK_E_INTERNAL;
    }
}

__attribute__((format(printf, 4, 0))) static int vsql_err(sqlite3 *db, int rc, ck_err *err, const char *fmt, va_list ap)
{
    char context[CK_ERR_MSG_MAX];
    vsnprintf(context, sizeof(context), fmt, ap);
    /* The connection's message describes rc only if rc is its last error
     * (a failed bind, for instance, may not set it). */
    const char *msg = db != NULL && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int errnum = 0;
    int primary = rc & 0xff;
    if (db != NULL && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN))
        errnum = sqlite3_system_errno(db);
    return ck_err_set(err, kind_of(rc), errnum, "%s: %s", context, msg);
}

static int sql_err_db(sqlite3 *db, int rc, ck_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int sql_err_db(sqlite3 *db, int rc, ck_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsql_err(db, rc, err, fmt, ap);
    va_end(ap);
    return -1;
}

int ck_store_sql_err(ck_store *s, int rc, ck_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsql_err(s->db, rc, err, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- locking and statements ------------------------------------------- */

static void lock_or_abort(pthread_mutex_t *mu, const char *which)
{
    int rc = pthread_mutex_lock(mu);
    if (rc != 0) {
        /* Only possible for a corrupted mutex: nothing safe to do. */
        ck_error("store", "lock the store's %s mutex: %s", which, strerror(rc));
        abort();
    }
}

ck_store *ck_store_lock(ck_store *s)
{
    lock_or_abort(&s->mu, "connection");
    return s;
}

void ck_store_unlockp(ck_store **s)
{
    if (*s != NULL)
        pthread_mutex_unlock(&(*s)->mu);
}

void ck_store_stmt_resetp(sqlite3_stmt **st)
{
    if (*st == NULL)
        return;
    /* sqlite3_reset repeats the last step's error, already reported. */
    (void)sqlite3_reset(*st);
    (void)sqlite3_clear_bindings(*st);
}

/* ---- durability: group commit ----------------------------------------- */

/* The last commit this thread made and has not waited for yet: set by the
 * WAL hook, which SQLite calls in the committing thread, mu held. */
static _Thread_local struct {
    ck_store *store;
    uint64_t commit;
} unsynced_here;

/* Installing a WAL hook replaces SQLite's automatic checkpoint (itself a
 * WAL hook), so this one checkpoints as that did: passively, once the WAL
 * holds this many pages. */
enum { CHECKPOINT_PAGES = 1000 };

static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    ck_store *s = arg;
    unsynced_here.store = s;
    unsynced_here.commit = atomic_fetch_add(&s->commits, 1) + 1;
    if (pages >= CHECKPOINT_PAGES) {
        int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            ck_warn("store", "checkpoint %s: %s (the WAL keeps growing until one succeeds)", s->path,
                    sqlite3_errstr(rc));
    }
    return SQLITE_OK;
}

/* Opens the WAL for our own fdatasync, at the first commit: SQLite creates
 * the file when it first writes to it, and keeps it (truncating it at
 * most) while this connection is open. -1 with errno set on failure. */
static int open_wal(ck_store *s)
{
    char wal[PATH_MAX];
    int n = snprintf(wal, sizeof(wal), "%s-wal", s->path);
    if (n < 0 || (size_t)n >= sizeof(wal)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return s->wal_fd;
}

/* Returns once the WAL is on disk up to commit number `commit`: at most one
 * fdatasync at a time, and each covers every commit counted before it
 * started, so the callers queued behind one share the next. */
static int wait_on_disk(ck_store *s, uint64_t commit, ck_err *err)
{
    lock_or_abort(&s->sync_mu, "sync");
    if (s->sync_errno == 0 && s->synced < commit) {
        uint64_t covered = atomic_load(&s->commits);
        if (s->wal_fd < 0 && open_wal(s) < 0) {
            s->sync_errno = errno;
            s->sync_failed = "open";
        } else if (fdatasync(s->wal_fd) < 0) {
            s->sync_errno = errno;
            s->sync_failed = "fdatasync";
        } else {
            s->synced = covered;
            s->syncs++;
        }
    }
    int failed = s->sync_errno;
    const char *what = s->sync_failed;
    pthread_mutex_unlock(&s->sync_mu);
    if (failed != 0)
        return ck_err_set(err, CK_E_INTERNAL, failed,
                          "store: %s the WAL of %s (what was committed since may not survive a power failure; "
                          "restart the daemon once the disk is sound)",
                          what, s->path);
    return 0;
}

int ck_store_durable(ck_store *s, int ret, ck_err *err)
{
    if (unsynced_here.store != s || unsynced_here.commit == 0)
        return ret;
    uint64_t commit = unsynced_here.commit;
    unsynced_here.store = NULL;
    unsynced_here.commit = 0;
    /* A failed call may still have committed part of its work: wait for
     * it too, but report the call's own error. */
    int synced = wait_on_disk(s, commit, ret < 0 ? NULL : err);
    return ret < 0 ? ret : synced;
}

uint64_t ck_store_commits_unsynced(ck_store *s)
{
    lock_or_abort(&s->sync_mu, "sync");
    uint64_t unsynced = atomic_load(&s->commits) - s->synced;
    pthread_mutex_unlock(&s->sync_mu);
    return unsynced;
}

void ck_bind_text(sqlite3_stmt *st, int idx, const char *v, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    *rc = v == NULL ? sqlite3_bind_null(st, idx) : sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

void ck_bind_int64(sqlite3_stmt *st, int idx, int64_t v, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    *rc = sqlite3_bind_int64(st, idx, (sqlite3_int64)v);
}

int ck_col_text(sqlite3_stmt *st, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    const unsigned char *text = sqlite3_column_text(st, col);
    if (text == NULL)
        return -1; /* a non-NULL value that could not be converted: no memory */
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = copy;
    return 0;
}

int ck_store_collect(ck_store *s, sqlite3_stmt *st, size_t size, ck_row_reader read, ck_row_clear clear, void **out,
                     size_t *n, const char *what, ck_err *err)
{
    *out = NULL;
    *n = 0;
    char *items = NULL;
    size_t len = 0, cap = 0;
    int ret = 0;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = ck_store_sql_err(s, rc, err, "store: list %s", what);
            break;
        }
        if (len == cap) {
            size_t ncap = cap == 0 ? 64 : cap * 2;
            char *grown = ncap > SIZE_MAX / size ? NULL : realloc(items, ncap * size);
            if (grown == NULL) {
                ret = ck_err_oom(err, "store list");
                ck_err_wrap(err, "store: list %s", what);
                break;
            }
            items = grown;
            cap = ncap;
        }
        void *rec = items + len * size;
        memset(rec, 0, size);
        if (read(st, rec) < 0) {
            clear(rec);
            ret = ck_err_oom(err, "store row");
            ck_err_wrap(err, "store: list %s", what);
            break;
        }
        len++;
    }
    if (ret < 0) {
        for (size_t i = 0; i < len; i++)
            clear(items + i * size);
        free(items);
        return ret;
    }
    *out = items;
    *n = len;
    return 0;
}

int ck_store_find_prefix(ck_store *s, ck_stmt_id id, const char *what, const char *prefix, char **id_out, ck_err *err)
{
    *id_out = NULL;
    if (prefix == NULL || prefix[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "store: find %s by id prefix: the prefix is empty", what);
    /* Ids are printable ASCII; anything else matches nothing. Bounding the
     * range above by the prefix with its last byte incremented lets SQLite
     * walk the primary-key index from the first match, at most two rows. */
    size_t len = strlen(prefix);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c < 0x21 || c >= 0x7f)
            return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: no %s id starts with \"%s\"", what, prefix);
    }
    _cleanup_free_ char *upper = strdup(prefix);
    if (upper == NULL)
        return ck_err_oom(err, "id prefix");
    upper[len - 1]++;

    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[id];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, prefix, &rc);
    ck_bind_text(st, 2, upper, &rc);
    if (rc != SQLITE_OK)
        return ck_store_sql_err(s, rc, err, "store: find %s by id prefix %s", what, prefix);

    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: no %s id starts with \"%s\"", what, prefix);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: find %s by id prefix %s", what, prefix);
    _cleanup_free_ char *first = NULL;
    if (ck_col_text(st, 0, &first) < 0)
        return ck_err_oom(err, "id");
    if (first == NULL) /* ids are NOT NULL; a NULL one is a damaged database, not a crash */
        return ck_err_set(err, CK_E_INTERNAL, 0, "store: %s with a NULL id matches prefix %s", what, prefix);
    /* An exact id sorts first among the ids it prefixes, and always wins. */
    if (strcmp(first, prefix) != 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *second = sqlite3_column_text(st, 0);
            return ck_err_set(err, CK_E_INVALID, 0,
                              "store: %s id prefix \"%s\" is ambiguous: it matches at least %s "
                              "and %s",
                              what, prefix, first, second != NULL ? (const char *)second : "?");
        }
        if (rc != SQLITE_DONE)
            return ck_store_sql_err(s, rc, err, "store: find %s by id prefix %s", what, prefix);
    }
    *id_out = ck_steal_ptr(&first);
    return 0;
}

/* ---- opening: files, pragmas, migrations ------------------------------ */

/* Creates the database file 0600 before SQLite sees it (SQLite would create
 * it 0644 less the umask), and tightens the mode of an existing one. SQLite
 * gives the -wal and -shm files the mode of the database file. */
static int prepare_db_file(const char *path, ck_err *err)
{
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EISDIR)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "store: %s is not a regular file", path);
    if (fd < 0)
        return ck_err_set(err, errno == ELOOP ? CK_E_PRECONDITION : CK_E_INTERNAL, errno, "store: open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "store: stat %s", path);
    if (!S_ISREG(st.st_mode))
        return ck_err_set(err, CK_E_PRECONDITION, 0, "store: %s is not a regular file", path);
    if ((st.st_mode & 07777) != 0600) {
        if (fchmod(fd, 0600) < 0)
            return ck_err_set(err, CK_E_INTERNAL, errno, "store: chmod 0600 %s", path);
        ck_warn("store", "database %s had mode %04o; set it to 0600", path, (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

static int exec_sql(sqlite3 *db, const char *sql, ck_err *err, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sql_err_db(db, rc, err, "store: %s", what);
    return 0;
}

/* Runs a statement returning one row and reads its first column as text
 * (into buf) or as an integer (into *num). */
static int query_one(sqlite3 *db, const char *sql, char *buf, size_t bufsize, int64_t *num, ck_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_err_db(db, rc, err, "store: %s", sql);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            ck_err_set(err, CK_E_INTERNAL, 0, "store: %s: no result", sql);
        else
            sql_err_db(db, rc, err, "store: %s", sql);
        sqlite3_finalize(st);
        return -1;
    }
    if (buf != NULL) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        snprintf(buf, bufsize, "%s", text != NULL ? (const char *)text : "");
    }
    if (num != NULL)
        *num = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int read_user_version(sqlite3 *db, int *out, ck_err *err)
{
    int64_t v = 0;
    if (query_one(db, "PRAGMA user_version", NULL, 0, &v, err) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int refuse_newer(const char *path, int version, size_t known, ck_err *err)
{
    return ck_err_set(err, CK_E_PRECONDITION, 0,
                      "database %s has schema version %d, newer than the %zu this cricket "
                      "understands; refusing to open it",
                      path, version, known);
}

/* Applies steps until user_version == nsteps, one transaction per step. The
 * version is read inside the step's write transaction, so two processes
 * opening the same old database cannot apply a step twice. */
static int migrate(sqlite3 *db, const char *path, const ck_store_migration *steps, size_t nsteps, ck_err *err)
{
    for (size_t i = 0; i < nsteps; i++) {
        if (steps[i].version != (int)i + 1 || steps[i].sql == NULL)
            return ck_err_set(err, CK_E_INTERNAL, 0, "store: migration step %zu has version %d, expected %zu", i,
                              steps[i].version, i + 1);
    }
    for (;;) {
        if (exec_sql(db, "BEGIN IMMEDIATE", err, "begin migration") < 0)
            return ck_err_wrap(err, "store: migrate %s", path);
        int version = 0;
        if (read_user_version(db, &version, err) < 0) {
            exec_sql(db, "ROLLBACK", NULL, "rollback");
            return ck_err_wrap(err, "store: migrate %s", path);
        }
        if (version < 0 || (size_t)version > nsteps) {
            exec_sql(db, "ROLLBACK", NULL, "rollback");
            return refuse_newer(path, version, nsteps, err);
        }
        if ((size_t)version == nsteps)
            return exec_sql(db, "COMMIT", err, "end migration");

        const ck_store_migration *step = &steps[version];
        char set_version[64];
        snprintf(set_version, sizeof(set_version), "PRAGMA user_version = %d", step->version);
        if (exec_sql(db, step->sql, err, "run migration SQL") < 0 ||
            (step->apply != NULL && step->apply(db, err) < 0) ||
            exec_sql(db, set_version, err, "set user_version") < 0 ||
            exec_sql(db, "COMMIT", err, "commit migration") < 0) {
            if (!sqlite3_get_autocommit(db))
                exec_sql(db, "ROLLBACK", NULL, "rollback");
            return ck_err_wrap(err, "store: migrate %s to schema version %d (%s)", path, step->version, step->name);
        }
        ck_info("store", "migrated %s to schema version %d (%s)", path, step->version, step->name);
    }
}

static int configure(sqlite3 *db, const char *path, size_t nsteps, ck_err *err)
{
    int rc = sqlite3_extended_result_codes(db, 1);
    if (rc != SQLITE_OK)
        return sql_err_db(db, rc, err, "store: open %s: enable extended result codes", path);
    rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return sql_err_db(db, rc, err, "store: open %s: set busy timeout", path);

    /* Refuse a newer database before writing anything to it, even the WAL
     * switch. migrate() checks again under the write lock. */
    int version = 0;
    if (read_user_version(db, &version, err) < 0)
        return ck_err_wrap(err, "store: open %s", path);
    if (version < 0 || (size_t)version > nsteps)
        return refuse_newer(path, version, nsteps, err);

    char mode[32];
    if (query_one(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL, err) < 0)
        return ck_err_wrap(err, "store: open %s", path);
    if (strcmp(mode, "wal") != 0)
        return ck_err_set(err, CK_E_INTERNAL, 0, "store: open %s: journal mode is %s, WAL could not be enabled", path,
                          mode);

    /* cache_size: SQLite's default page cache is 2 MB per connection, and
     * what it holds stays allocated: with 110 pods the store held 0.69 MB
     * (0.22 MB idle; 0.40 MB with this cap), and a thousand containers
     * fill all 2 MB. Pages past
     * the cache are read from the kernel's page cache, microseconds each,
     * and a list that moved reads every row anyway. */
    char pragmas[192];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = %d; "
             "PRAGMA cache_size = -%d",
             JOURNAL_SIZE_LIMIT, CACHE_KIB);
    if (exec_sql(db, pragmas, err, "set pragmas") < 0)
        return ck_err_wrap(err, "store: open %s", path);
    /* Both are silently ignored when unsupported: read them back. */
    int64_t fk = 0, sync = 0;
    if (query_one(db, "PRAGMA foreign_keys", NULL, 0, &fk, err) < 0 ||
        query_one(db, "PRAGMA synchronous", NULL, 0, &sync, err) < 0)
        return ck_err_wrap(err, "store: open %s", path);
    if (fk != 1 || sync != 1)
        return ck_err_set(err, CK_E_INTERNAL, 0,
                          "store: open %s: foreign_keys=%lld synchronous=%lld, wanted 1 and 1 "
                          "(NORMAL)",
                          path, (long long)fk, (long long)sync);
    return 0;
}

static int prepare_statements(ck_store *s, ck_err *err)
{
    for (int i = 0; i < CK_STMT_COUNT; i++) {
        const char *tail = NULL;
        int rc = sqlite3_prepare_v3(s->db, ck_store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], &tail);
        if (rc != SQLITE_OK)
            return sql_err_db(s->db, rc, err, "store: prepare statement %d (%s)", i, ck_store_sql[i]);
        if (s->stmt[i] == NULL || (tail != NULL && *tail != '\0'))
            return ck_err_set(err, CK_E_INTERNAL, 0, "store: statement %d is not exactly one statement: %s", i,
                              ck_store_sql[i]);
    }
    return 0;
}

static void store_free(ck_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < CK_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db != NULL) {
        int rc = sqlite3_close(s->db);
        if (rc != SQLITE_OK)
            ck_error("store", "close %s: %s", s->path, sqlite3_errstr(rc));
    }
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    pthread_mutex_destroy(&s->sync_mu);
    if (unsynced_here.store == s) /* a failed open's migrations */
        unsynced_here.store = NULL;
    free(s->path);
    free(s);
}

int ck_store_open_with(const char *root_dir, const ck_store_migration *steps, size_t nsteps, ck_store **out,
                       ck_err *err)
{
    *out = NULL;
    if (root_dir == NULL || root_dir[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "store: open: no root directory given");
    if (!sqlite3_threadsafe())
        return ck_err_set(err, CK_E_INTERNAL, 0, "store: the SQLite library was built without thread support");
    if (ck_mkdir_p(root_dir, 0700, err) < 0)
        return ck_err_wrap(err, "store");

    ck_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ck_err_oom(err, "store");
    s->wal_fd = -1;
    int mrc = pthread_mutex_init(&s->sync_mu, NULL);
    if (mrc != 0) {
        free(s);
        return ck_err_set(err, CK_E_INTERNAL, mrc, "store: create the sync mutex");
    }
    size_t rlen = strlen(root_dir);
    bool slash = rlen > 0 && root_dir[rlen - 1] == '/';
    if (asprintf(&s->path, "%s%s" DB_FILE, root_dir, slash ? "" : "/") < 0) {
        s->path = NULL;
        store_free(s);
        return ck_err_oom(err, "database path");
    }
    if (prepare_db_file(s->path, err) < 0) {
        store_free(s);
        return -1;
    }
    /* NOMUTEX: our own mutex serialises every use of the connection. */
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sql_err_db(s->db, rc, err, "store: open %s", s->path);
        store_free(s);
        return -1;
    }
    if (configure(s->db, s->path, nsteps, err) < 0) {
        store_free(s);
        return -1;
    }
    sqlite3_wal_hook(s->db, on_commit, s); /* counts the migrations' commits too */
    if (migrate(s->db, s->path, steps, nsteps, err) < 0 || ck_store_durable(s, 0, err) < 0 ||
        prepare_statements(s, err) < 0) {
        store_free(s);
        return -1;
    }

    pthread_mutexattr_t attr;
    int prc = pthread_mutexattr_init(&attr);
    if (prc == 0) {
        prc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
        if (prc == 0)
            prc = pthread_mutex_init(&s->mu, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    if (prc != 0) {
        store_free(s);
        return ck_err_set(err, CK_E_INTERNAL, prc, "store: create the store mutex");
    }
    ck_debug("store", "opened %s at schema version %zu", s->path, nsteps);
    *out = s;
    return 0;
}

int ck_store_open(const char *root_dir, ck_store **out, ck_err *err)
{
    return ck_store_open_with(root_dir, ck_store_migrations, ck_store_migrations_len, out, err);
}

void ck_store_close(ck_store *s)
{
    if (s == NULL)
        return;
    ck_store_lock(s);
    if (s->tx_active) {
        ck_warn("store", "closing %s with a transaction still open; rolling it back", s->path);
        exec_sql(s->db, "ROLLBACK", NULL, "rollback");
        s->tx_active = false;
        pthread_mutex_unlock(&s->mu); /* the transaction's hold */
    }
    ck_err err = {0};
    /* Lets SQLite refresh its planner statistics when it thinks they are
     * stale; cheap, and recommended before closing. */
    if (exec_sql(s->db, "PRAGMA optimize", &err, "optimize") < 0)
        ck_warn("store", "%s", err.msg);
    pthread_mutex_unlock(&s->mu);
    (void)ck_store_durable(s, 0, NULL); /* what optimize wrote */
    pthread_mutex_destroy(&s->mu);
    store_free(s);
}

int ck_store_schema_version(ck_store *s)
{
    CK_STORE_LOCKED(s);
    int version = -1;
    if (read_user_version(s->db, &version, NULL) < 0)
        return -1;
    return version;
}

int ck_store_schema_version_latest(void)
{
    return (int)ck_store_migrations_len;
}

int ck_store_integrity_check(ck_store *s, ck_err *err)
{
    CK_STORE_LOCKED(s);
    char result[512];
    if (query_one(s->db, "PRAGMA integrity_check", result, sizeof(result), NULL, err) < 0)
        return ck_err_wrap(err, "store: integrity check of %s", s->path);
    if (strcmp(result, "ok") != 0)
        return ck_err_set(err, CK_E_INTERNAL, 0, "store: integrity check of %s: %s", s->path, result);
    return 0;
}

/* ---- transactions ----------------------------------------------------- */

int ck_store_begin(ck_store *s, ck_err *err)
{
    ck_store_lock(s);
    if (s->tx_active) {
        /* Holding the lock with tx_active set means this thread owns it. */
        pthread_mutex_unlock(&s->mu);
        return ck_err_set(err, CK_E_PRECONDITION, 0, "store: begin: this thread already has a transaction open");
    }
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ck_store_sql_err(s, rc, err, "store: begin transaction");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    s->tx_active = true;
    return 0; /* the lock stays held until commit or rollback */
}

int ck_store_commit(ck_store *s, ck_err *err)
{
    ck_store_lock(s);
    if (!s->tx_active) {
        pthread_mutex_unlock(&s->mu);
        return ck_err_set(err, CK_E_PRECONDITION, 0, "store: commit: no transaction is open in this thread");
    }
    int ret = 0;
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        ret = ck_store_sql_err(s, rc, err, "store: commit transaction");
        /* Some errors roll back on their own; otherwise end it ourselves. */
        if (!sqlite3_get_autocommit(s->db))
            exec_sql(s->db, "ROLLBACK", NULL, "rollback");
    }
    s->tx_active = false;
    pthread_mutex_unlock(&s->mu); /* this call's */
    pthread_mutex_unlock(&s->mu); /* the transaction's */
    return ck_store_durable(s, ret, err);
}

void ck_store_rollback(ck_store *s)
{
    ck_store_lock(s);
    if (!s->tx_active) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    ck_err err = {0};
    if (!sqlite3_get_autocommit(s->db) && exec_sql(s->db, "ROLLBACK", &err, "rollback transaction") < 0)
        ck_error("store", "%s", err.msg);
    s->tx_active = false;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->mu);
}
