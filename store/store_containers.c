/*
 * store_containers: container rows. Each names its pod (a foreign key: the
 * pod row must exist first and outlives it); state changes and their
 * timestamps and exit code are written together in one update.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ck_container_record_clear(ck_container_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->id);
    free(rec->pod_id);
    free(rec->name);
    free(rec->image_ref);
    free(rec->data);
    memset(rec, 0, sizeof(*rec));
}

void ck_container_records_free(ck_container_record *recs, size_t n)
{
    if (recs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ck_container_record_clear(&recs[i]);
    free(recs);
}

/* Columns in the order of CTR_COLS in store_sql.c. */
static int read_container(sqlite3_stmt *st, void *out)
{
    ck_container_record *rec = out;
    if (ck_col_text(st, 0, &rec->id) < 0 || ck_col_text(st, 1, &rec->pod_id) < 0 ||
        ck_col_text(st, 2, &rec->name) < 0 || ck_col_text(st, 9, &rec->image_ref) < 0 ||
        ck_col_text(st, 10, &rec->data) < 0)
        return -1;
    rec->attempt = (uint32_t)sqlite3_column_int64(st, 3);
    rec->state = (int)sqlite3_column_int64(st, 4);
    rec->created_at_ns = (int64_t)sqlite3_column_int64(st, 5);
    rec->started_at_ns = (int64_t)sqlite3_column_int64(st, 6);
    rec->finished_at_ns = (int64_t)sqlite3_column_int64(st, 7);
    rec->exit_code = (int32_t)sqlite3_column_int64(st, 8);
    return 0;
}

static void clear_container(void *rec)
{
    ck_container_record_clear(rec);
}

static int container_put_locked(ck_store *s, const ck_container_record *rec, ck_err *err)
{
    if (rec == NULL || rec->id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put container: no id given");
    const char *missing = rec->pod_id == NULL ? "pod id" : rec->name == NULL ? "name" : NULL;
    if (missing != NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put container %s: %s is missing", rec->id, missing);
    CK_STORE_LOCKED(s);
    s->container_generation++;
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_PUT];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, rec->id, &rc);
    ck_bind_text(st, 2, rec->pod_id, &rc);
    ck_bind_text(st, 3, rec->name, &rc);
    ck_bind_int64(st, 4, (int64_t)rec->attempt, &rc);
    ck_bind_int64(st, 5, (int64_t)rec->state, &rc);
    ck_bind_int64(st, 6, rec->created_at_ns, &rc);
    ck_bind_int64(st, 7, rec->started_at_ns, &rc);
    ck_bind_int64(st, 8, rec->finished_at_ns, &rc);
    ck_bind_int64(st, 9, (int64_t)rec->exit_code, &rc);
    ck_bind_text(st, 10, rec->image_ref, &rc);
    ck_bind_text(st, 11, rec->data, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: put container %s: pod %s not found", rec->id, rec->pod_id);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: put container %s", rec->id);
    return 0;
}

int ck_store_container_put(ck_store *s, const ck_container_record *rec, ck_err *err)
{
    return ck_store_durable(s, container_put_locked(s, rec, err), err);
}

int ck_store_container_get(ck_store *s, const char *id, ck_container_record *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: get container: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_GET];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: container %s not found", id);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: get container %s", id);
    if (read_container(st, out) < 0) {
        ck_container_record_clear(out);
        return ck_err_oom(err, "container record");
    }
    return 0;
}

static int container_set_state_locked(ck_store *s, const char *id, const ck_container_transition *tr, ck_err *err)
{
    if (id == NULL || tr == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: set container state: id and state required");
    const unsigned known =
        CK_CONTAINER_SET_STARTED | CK_CONTAINER_SET_FINISHED | CK_CONTAINER_SET_EXIT_CODE | CK_CONTAINER_SET_DATA;
    if ((tr->set & ~known) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "store: set state of container %s: unknown field mask 0x%x", id,
                          tr->set);
    CK_STORE_LOCKED(s);
    s->container_generation++;
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_SET_STATE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    ck_bind_int64(st, 2, (int64_t)tr->state, &rc);
    ck_bind_int64(st, 3, (int64_t)tr->set, &rc);
    ck_bind_int64(st, 4, tr->started_at_ns, &rc);
    ck_bind_int64(st, 5, tr->finished_at_ns, &rc);
    ck_bind_int64(st, 6, (int64_t)tr->exit_code, &rc);
    ck_bind_text(st, 7, tr->data, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: set state of container %s", id);
    if (sqlite3_changes(s->db) == 0)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: set state of container %s: container not found", id);
    return 0;
}

int ck_store_container_set_state(ck_store *s, const char *id, const ck_container_transition *tr, ck_err *err)
{
    return ck_store_durable(s, container_set_state_locked(s, id, tr, err), err);
}

static int container_delete_locked(ck_store *s, const char *id, ck_err *err)
{
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: delete container: no id given");
    CK_STORE_LOCKED(s);
    s->container_generation++;
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: delete container %s", id);
    return 0;
}

int ck_store_container_delete(ck_store *s, const char *id, ck_err *err)
{
    return ck_store_durable(s, container_delete_locked(s, id, err), err);
}

int ck_store_container_list(ck_store *s, ck_container_record **out, size_t *n, ck_err *err)
{
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_LIST];
    return ck_store_collect(s, st, sizeof(ck_container_record), read_container, clear_container, (void **)out, n,
                            "containers", err);
}

uint64_t ck_store_container_generation(ck_store *s)
{
    CK_STORE_LOCKED(s);
    return s->container_generation;
}

int ck_store_container_list_at(ck_store *s, ck_container_record **out, size_t *n, uint64_t *generation, ck_err *err)
{
    CK_STORE_LOCKED(s);
    *generation = s->container_generation;
    return ck_store_container_list(s, out, n, err);
}

int ck_store_container_list_by_pod(ck_store *s, const char *pod_id, ck_container_record **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    if (pod_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: list containers of pod: no pod id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_CTR_LIST_BY_POD];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, pod_id, &rc);
    if (rc != SQLITE_OK)
        return ck_store_sql_err(s, rc, err, "store: list containers of pod %s", pod_id);
    char what[512];
    snprintf(what, sizeof(what), "containers of pod %s", pod_id);
    return ck_store_collect(s, st, sizeof(ck_container_record), read_container, clear_container, (void **)out, n, what,
                            err);
}

int ck_store_container_find_prefix(ck_store *s, const char *prefix, char **id_out, ck_err *err)
{
    return ck_store_find_prefix(s, CK_STMT_CTR_PREFIX, "container", prefix, id_out, err);
}
