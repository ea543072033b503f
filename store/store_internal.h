/*
 * store_internal: what the files of store/ share and nothing outside them
 * uses, except test/unit/test_store.c for the migration hooks at the end.
 * The story of the module is at the top of store.c.
 */
#ifndef CK_STORE_STORE_INTERNAL_H
#define CK_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "store/store.h"

/* Every statement the store runs after opening, prepared once at open and
 * kept for the life of the connection. The SQL text is in store_sql.c. */
typedef enum ck_stmt_id {
    CK_STMT_NAME_INSERT,
    CK_STMT_NAME_OWNER,
    CK_STMT_NAME_DELETE,

    CK_STMT_POD_PUT,
    CK_STMT_POD_GET,
    CK_STMT_POD_SET_STATE,
    CK_STMT_POD_DELETE,
    CK_STMT_POD_LIST,
    CK_STMT_POD_PREFIX,

    CK_STMT_CTR_PUT,
    CK_STMT_CTR_GET,
    CK_STMT_CTR_SET_STATE,
    CK_STMT_CTR_DELETE,
    CK_STMT_CTR_LIST,
    CK_STMT_CTR_LIST_BY_POD,
    CK_STMT_CTR_PREFIX,

    CK_STMT_IMAGE_PUT,
    CK_STMT_IMAGE_GET,
    CK_STMT_IMAGE_DELETE,
    CK_STMT_IMAGE_LIST,
    CK_STMT_IMAGE_PREFIX,
    CK_STMT_REF_SET,
    CK_STMT_REF_DELETE,
    CK_STMT_REF_RESOLVE,
    CK_STMT_REFS_OF_IMAGE,
    CK_STMT_REF_LIST,

    CK_STMT_LAYER_PUT,
    CK_STMT_LAYER_DELETE,
    CK_STMT_LAYER_LIST,

    CK_STMT_COUNT
} ck_stmt_id;

extern const char *const ck_store_sql[CK_STMT_COUNT];

struct ck_store {
    sqlite3 *db;
    char *path; /* <root>/cricket.db, for messages */
    /* Recursive: the thread owning a transaction holds it from begin to
     * commit/rollback and takes it again in each call it makes inside. */
    pthread_mutex_t mu;
    bool tx_active; /* read and written only with mu held */
    /* Bumped by every write of a container row, with mu held: what lets a
     * reader keep what it built from the rows until one changes. */
    uint64_t container_generation;
    sqlite3_stmt *stmt[CK_STMT_COUNT];
    /* Group commit (see "Durability" in store.c): commits counts the
     * transactions committed so far (the WAL hook, mu held); a write call
     * returns only once one fdatasync of wal_fd started after its commit
     * has finished. sync_mu orders those fdatasyncs, synced is the count
     * they are known to cover, syncs how many ran, and sync_errno and
     * sync_failed ("open", "fdatasync") say how the first failure did. */
    _Atomic uint64_t commits;
    int wal_fd;
    pthread_mutex_t sync_mu;
    uint64_t synced;
    uint64_t syncs;
    int sync_errno;
    const char *sync_failed;
};

/* ---- locking: every public call holds mu for its whole duration ------- */

ck_store *ck_store_lock(ck_store *s);
void ck_store_unlockp(ck_store **s);

/* Locks s until the end of the enclosing scope. Declare it before any
 * _cleanup_stmt_ variable, so statements are reset before the unlock. */
#define CK_STORE_LOCKED(s) \
    _cleanup_(ck_store_unlockp) __attribute__((unused)) ck_store *ck_store_guard__ = ck_store_lock(s)

/* Resets a cached statement and drops its bindings at the end of the scope,
 * so SQLITE_STATIC bindings never outlive the caller's strings. */
void ck_store_stmt_resetp(sqlite3_stmt **st);
#define _cleanup_stmt_ _cleanup_(ck_store_stmt_resetp)

/* ---- durability ------------------------------------------------------- */

/* Ends a public call that may have written: when ret is 0 and the call
 * committed (it ran outside a transaction, or was the commit), waits, with
 * mu released, until the WAL holding that commit is on disk. Returns ret,
 * or -1 with err set when the fdatasync failed (then and ever after: a
 * failed fdatasync leaves the page cache's word on the WAL worthless). */
int ck_store_durable(ck_store *s, int ret, ck_err *err);

/* For tests: commits not yet known to be on disk (0 between calls). */
uint64_t ck_store_commits_unsynced(ck_store *s);

/* ---- errors ----------------------------------------------------------- */

/* Fills err from an SQLite result code: "<context>: <sqlite message>", kind
 * from the code (constraint -> exists/precondition, busy -> unavailable,
 * full -> exhausted, otherwise internal). Returns -1. Call with mu held. */
int ck_store_sql_err(ck_store *s, int rc, ck_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- binding and reading ---------------------------------------------- */

/* Sticky binders: each does nothing once *rc is not SQLITE_OK, so a run of
 * binds is checked once at its end. Text is bound SQLITE_STATIC (see
 * _cleanup_stmt_); NULL text binds SQL NULL. */
void ck_bind_text(sqlite3_stmt *st, int idx, const char *v, int *rc);
void ck_bind_int64(sqlite3_stmt *st, int idx, int64_t v, int *rc);

/* Copies column col into *out (NULL for SQL NULL). -1 when out of memory. */
int ck_col_text(sqlite3_stmt *st, int col, char **out);

/* Reads the current row into rec (a zeroed record); -1 when out of memory. */
typedef int (*ck_row_reader)(sqlite3_stmt *st, void *rec);
typedef void (*ck_row_clear)(void *rec);

/* Steps st (bound, mu held) to the end in one pass, reading each row into a
 * growing array of records of size `size`. On failure nothing is returned
 * and err says "store: list <what>: ...". */
int ck_store_collect(ck_store *s, sqlite3_stmt *st, size_t size, ck_row_reader read, ck_row_clear clear, void **out,
                     size_t *n, const char *what, ck_err *err);

/* Runs a prefix statement ("SELECT id ... WHERE id >= ?1 AND id < ?2 ORDER
 * BY id LIMIT 2") and applies the unique-prefix rules. what: "pod", ... */
int ck_store_find_prefix(ck_store *s, ck_stmt_id id, const char *what, const char *prefix, char **id_out, ck_err *err);

/* ---- schema migrations ------------------------------------------------ */

/* One step of the schema's history. Step i (0-based) takes the database
 * from user_version i to i + 1 == version, in its own transaction: sql runs
 * first, then apply (when not NULL) for changes SQL cannot express, then the
 * new user_version is written. Adding version N is adding one entry. */
typedef struct ck_store_migration {
    int version;
    const char *name;
    const char *sql;
    int (*apply)(sqlite3 *db, ck_err *err);
} ck_store_migration;

extern const ck_store_migration ck_store_migrations[];
extern const size_t ck_store_migrations_len;

/* For tests: ck_store_open with another migration history (for example the
 * real one plus a trial version 2). */
int ck_store_open_with(const char *root_dir, const ck_store_migration *steps, size_t nsteps, ck_store **out,
                       ck_err *err);

#endif
