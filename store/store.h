/*
 * store: cricket's persistent state (pods, containers, images and reserved
 * names) in one SQLite database, <root>/cricket.db. This header is the whole
 * contract: no SQL and no SQLite type crosses it.
 *
 * Records are plain structs. Their strings are heap-owned by the record:
 * a get or list fills them, ck_*_record_clear (or _free for arrays) releases
 * them and leaves the record zeroed, ready for another get. Records carry the columns the runtime looks up or filters by, plus
 * `data`, an opaque JSON text the owning domain versions and parses; the
 * store never looks inside it. Optional text fields (marked below) may be
 * NULL and come back NULL; required ones must not be NULL on put.
 *
 * Every call is atomic on its own and safe from any thread. To group calls,
 * ck_store_begin() opens a transaction owned by the calling thread: the
 * thread's further calls run inside it, other threads' calls wait until
 * ck_store_commit() or ck_store_rollback(). Hold a transaction for
 * microseconds, never across a process wait or network I/O.
 *
 * Error kinds: CK_E_NOT_FOUND (absent id, name or reference), CK_E_EXISTS
 * (name taken), CK_E_PRECONDITION (pod still has containers, transaction
 * misuse, database too new), CK_E_INVALID (missing required field, ambiguous
 * id prefix), CK_E_UNAVAILABLE (database locked by another process beyond the
 * busy timeout), CK_E_EXHAUSTED (disk full), CK_E_INTERNAL (anything else).
 * Deleting or releasing something absent is not an error (idempotent CRI
 * removes).
 */
#ifndef CK_STORE_STORE_H
#define CK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"

typedef struct ck_store ck_store;

/* ---- opening ---------------------------------------------------------- */

/* Opens <root_dir>/cricket.db, creating root_dir (mode 0700, parents 0755)
 * and the database (mode 0600) when missing, and migrates its schema to the
 * newest version this binary knows. A database written by a newer cricket is
 * refused with CK_E_PRECONDITION and left untouched. */
int ck_store_open(const char *root_dir, ck_store **out, ck_err *err);

/* Closes the database. A transaction still open (a caller bug) is rolled
 * back and logged. NULL is accepted. Must not be called while other threads
 * still use the store. */
void ck_store_close(ck_store *store);

/* The database's schema version (PRAGMA user_version), or -1 on error. */
int ck_store_schema_version(ck_store *store);

/* The newest schema version this binary knows. */
int ck_store_schema_version_latest(void);

/* Runs SQLite's full integrity check: 0 if the database is sound, otherwise
 * CK_E_INTERNAL with the first problem reported. Slow on big databases. */
int ck_store_integrity_check(ck_store *store, ck_err *err);

/* ---- transactions ----------------------------------------------------- */

/* Opens a write transaction owned by the calling thread (BEGIN IMMEDIATE).
 * Nested begin in the same thread: CK_E_PRECONDITION. */
int ck_store_begin(ck_store *store, ck_err *err);

/* Commits the calling thread's transaction. Whether it succeeds or fails,
 * the transaction is over afterwards (a failed commit is rolled back).
 * Without an open transaction in this thread: CK_E_PRECONDITION. */
int ck_store_commit(ck_store *store, ck_err *err);

/* Discards the calling thread's transaction; a no-op without one. */
void ck_store_rollback(ck_store *store);

/* ---- names: reservation of unique names (pod and container names) ---- */

/* Reserves name for owner_id. Reserving it again for the same owner succeeds
 * (a kubelet retry); for another owner it fails with CK_E_EXISTS and a
 * message naming the current owner. */
int ck_store_name_reserve(ck_store *store, const char *name, const char *owner_id, ck_err *err);
/* Releases name; an unreserved name is fine. */
int ck_store_name_release(ck_store *store, const char *name, ck_err *err);
/* *owner_out receives the owner id (free it). CK_E_NOT_FOUND if unreserved. */
int ck_store_name_lookup(ck_store *store, const char *name, char **owner_out, ck_err *err);

/* ---- pods ------------------------------------------------------------- */

typedef struct ck_pod_record {
    char *id;   /* required, primary key */
    char *name; /* required */
    char *ns;   /* required: the pod's Kubernetes namespace */
    char *uid;  /* required */
    uint32_t attempt;
    int state; /* the sandbox domain's state enum */
    int64_t created_at_ns;
    char *runtime_handler; /* optional */
    char *data;            /* optional: the domain's JSON record */
} ck_pod_record;

void ck_pod_record_clear(ck_pod_record *rec);
void ck_pod_records_free(ck_pod_record *recs, size_t n);
#define _cleanup_pod_record_ _cleanup_(ck_pod_record_clear)

/* Inserts the pod, or replaces every field of the pod with the same id. */
int ck_store_pod_put(ck_store *store, const ck_pod_record *rec, ck_err *err);
/* Fills *out, which is overwritten without being freed (clear a reused
 * record first); on failure *out is all zero. CK_E_NOT_FOUND if absent. */
int ck_store_pod_get(ck_store *store, const char *id, ck_pod_record *out, ck_err *err);
/* CK_E_NOT_FOUND if absent. */
int ck_store_pod_set_state(ck_store *store, const char *id, int state, ck_err *err);
/* Absent: 0. Pod still has containers: CK_E_PRECONDITION. */
int ck_store_pod_delete(ck_store *store, const char *id, ck_err *err);
/* All pods, oldest first (created_at_ns, then id). *out is NULL when *n is 0. */
int ck_store_pod_list(ck_store *store, ck_pod_record **out, size_t *n, ck_err *err);
/* The one pod id starting with prefix (an exact id always wins). None:
 * CK_E_NOT_FOUND; several: CK_E_INVALID; empty prefix: CK_E_INVALID. */
int ck_store_pod_find_prefix(ck_store *store, const char *prefix, char **id_out, ck_err *err);

/* ---- containers ------------------------------------------------------- */

typedef struct ck_container_record {
    char *id;     /* required, primary key */
    char *pod_id; /* required: must name a stored pod */
    char *name;   /* required */
    uint32_t attempt;
    int state; /* the container domain's state enum */
    int64_t created_at_ns;
    int64_t started_at_ns;  /* 0 until started */
    int64_t finished_at_ns; /* 0 until exited */
    int32_t exit_code;
    char *image_ref; /* optional */
    char *data;      /* optional: the domain's JSON record */
} ck_container_record;

void ck_container_record_clear(ck_container_record *rec);
void ck_container_records_free(ck_container_record *recs, size_t n);
#define _cleanup_container_record_ _cleanup_(ck_container_record_clear)

/* Which optional fields a state change also sets. */
enum {
    CK_CONTAINER_SET_STARTED = 1u << 0,   /* started_at_ns */
    CK_CONTAINER_SET_FINISHED = 1u << 1,  /* finished_at_ns */
    CK_CONTAINER_SET_EXIT_CODE = 1u << 2, /* exit_code */
    CK_CONTAINER_SET_DATA = 1u << 3,      /* data (may be NULL) */
};

/* A state transition: state always, the other fields when named in `set`,
 * all in one atomic update. */
typedef struct ck_container_transition {
    int state;
    unsigned set; /* CK_CONTAINER_SET_* */
    int64_t started_at_ns;
    int64_t finished_at_ns;
    int32_t exit_code;
    const char *data;
} ck_container_transition;

/* Inserts or replaces by id. Unknown pod_id: CK_E_NOT_FOUND. */
int ck_store_container_put(ck_store *store, const ck_container_record *rec, ck_err *err);
int ck_store_container_get(ck_store *store, const char *id, ck_container_record *out, ck_err *err);
/* CK_E_NOT_FOUND if absent. */
int ck_store_container_set_state(ck_store *store, const char *id, const ck_container_transition *tr, ck_err *err);
/* Absent: 0. */
int ck_store_container_delete(ck_store *store, const char *id, ck_err *err);
/* Oldest first (created_at_ns, then id). */
int ck_store_container_list(ck_store *store, ck_container_record **out, size_t *n, ck_err *err);
/* A number that moves whenever a container row is written (put, state
 * change, delete; also inside a transaction later rolled back): the rows
 * are unchanged since an equal number was read. */
uint64_t ck_store_container_generation(ck_store *store);
/* As ck_store_container_list, with the generation the rows are from (both
 * read under one lock, so no write can fall between them). */
int ck_store_container_list_at(ck_store *store, ck_container_record **out, size_t *n, uint64_t *generation,
                               ck_err *err);
/* The containers of one pod, oldest first; an unknown pod has none. */
int ck_store_container_list_by_pod(ck_store *store, const char *pod_id, ck_container_record **out, size_t *n,
                                   ck_err *err);
/* As ck_store_pod_find_prefix. */
int ck_store_container_find_prefix(ck_store *store, const char *prefix, char **id_out, ck_err *err);

/* ---- images and their references -------------------------------------- */

typedef struct ck_image_record {
    char *id; /* required: the config digest, "sha256:<hex>" */
    uint64_t size;
    char *data; /* optional: the domain's JSON record */
} ck_image_record;

/* One reference (a tag like "docker.io/library/busybox:1.36" or a digest
 * reference "...@sha256:...") and the image it names. */
typedef struct ck_image_ref {
    char *ref;
    char *image_id;
} ck_image_ref;

void ck_image_record_clear(ck_image_record *rec);
void ck_image_records_free(ck_image_record *recs, size_t n);
void ck_image_ref_clear(ck_image_ref *ref);
void ck_image_refs_free(ck_image_ref *refs, size_t n);
/* Frees an array of n strings and the array. */
void ck_store_strv_free(char **v, size_t n);
#define _cleanup_image_record_ _cleanup_(ck_image_record_clear)

/* Inserts or replaces by id (its references stay). */
int ck_store_image_put(ck_store *store, const ck_image_record *rec, ck_err *err);
int ck_store_image_get(ck_store *store, const char *id, ck_image_record *out, ck_err *err);
/* Deletes the image and every reference to it. Absent: 0. */
int ck_store_image_delete(ck_store *store, const char *id, ck_err *err);
/* All images, by id. */
int ck_store_image_list(ck_store *store, ck_image_record **out, size_t *n, ck_err *err);
/* As ck_store_pod_find_prefix, over image ids. */
int ck_store_image_find_prefix(ck_store *store, const char *prefix, char **id_out, ck_err *err);

/* Points ref at image_id, moving it if it named another image. Unknown
 * image: CK_E_NOT_FOUND. */
int ck_store_image_ref_set(ck_store *store, const char *ref, const char *image_id, ck_err *err);
/* Absent: 0. */
int ck_store_image_ref_delete(ck_store *store, const char *ref, ck_err *err);
/* *id_out receives the image id ref names. CK_E_NOT_FOUND if none. */
int ck_store_image_resolve(ck_store *store, const char *ref, char **id_out, ck_err *err);
/* The references of one image, sorted; an unknown image has none. Free with
 * ck_store_strv_free. */
int ck_store_image_refs(ck_store *store, const char *image_id, char ***refs_out, size_t *n, ck_err *err);
/* Every reference of every image, sorted by image id then reference: one
 * pass for ListImages. */
int ck_store_image_ref_list(ck_store *store, ck_image_ref **out, size_t *n, ck_err *err);

/* ---- unpacked layers: what each occupies on disk ----------------------- */

typedef struct ck_layer_record {
    char *chain_id;  /* required: "sha256:<hex>" */
    uint64_t bytes;  /* allocated bytes of the unpacked tree */
    uint64_t inodes; /* distinct inodes of the unpacked tree */
} ck_layer_record;

void ck_layer_records_free(ck_layer_record *recs, size_t n);

/* Inserts or replaces by chain id. */
int ck_store_layer_put(ck_store *store, const ck_layer_record *rec, ck_err *err);
/* Absent: 0. */
int ck_store_layer_delete(ck_store *store, const char *chain_id, ck_err *err);
/* All layers, by chain id. */
int ck_store_layer_list(ck_store *store, ck_layer_record **out, size_t *n, ck_err *err);

#endif
