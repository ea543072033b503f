/*
 * store_pods: pod sandbox rows. A pod row outlives its containers' rows: the
 * foreign key from containers refuses to let it go first.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

void ck_pod_record_clear(ck_pod_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->id);
    free(rec->name);
    free(rec->ns);
    free(rec->uid);
    free(rec->runtime_handler);
    free(rec->data);
    memset(rec, 0, sizeof(*rec));
}

void ck_pod_records_free(ck_pod_record *recs, size_t n)
{
    if (recs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ck_pod_record_clear(&recs[i]);
    free(recs);
}

/* Columns in the order of POD_COLS in store_sql.c. */
static int read_pod(sqlite3_stmt *st, void *out)
{
    ck_pod_record *rec = out;
    if (ck_col_text(st, 0, &rec->id) < 0 || ck_col_text(st, 1, &rec->name) < 0 || ck_col_text(st, 2, &rec->ns) < 0 ||
        ck_col_text(st, 3, &rec->uid) < 0 || ck_col_text(st, 7, &rec->runtime_handler) < 0 ||
        ck_col_text(st, 8, &rec->data) < 0)
        return -1;
    rec->attempt = (uint32_t)sqlite3_column_int64(st, 4);
    rec->state = (int)sqlite3_column_int64(st, 5);
    rec->created_at_ns = (int64_t)sqlite3_column_int64(st, 6);
    return 0;
}

static void clear_pod(void *rec)
{
    ck_pod_record_clear(rec);
}

static int pod_put_locked(ck_store *s, const ck_pod_record *rec, ck_err *err)
{
    if (rec == NULL || rec->id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put pod: no id given");
    const char *missing = rec->name == NULL ? "name" : rec->ns == NULL ? "namespace" : rec->uid == NULL ? "uid" : NULL;
    if (missing != NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put pod %s: %s is missing", rec->id, missing);
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_POD_PUT];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, rec->id, &rc);
    ck_bind_text(st, 2, rec->name, &rc);
    ck_bind_text(st, 3, rec->ns, &rc);
    ck_bind_text(st, 4, rec->uid, &rc);
    ck_bind_int64(st, 5, (int64_t)rec->attempt, &rc);
    ck_bind_int64(st, 6, (int64_t)rec->state, &rc);
    ck_bind_int64(st, 7, rec->created_at_ns, &rc);
    ck_bind_text(st, 8, rec->runtime_handler, &rc);
    ck_bind_text(st, 9, rec->data, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: put pod %s", rec->id);
    return 0;
}

int ck_store_pod_put(ck_store *s, const ck_pod_record *rec, ck_err *err)
{
    return ck_store_durable(s, pod_put_locked(s, rec, err), err);
}

int ck_store_pod_get(ck_store *s, const char *id, ck_pod_record *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: get pod: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_POD_GET];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: pod %s not found", id);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: get pod %s", id);
    if (read_pod(st, out) < 0) {
        ck_pod_record_clear(out);
        return ck_err_oom(err, "pod record");
    }
    return 0;
}

static int pod_set_state_locked(ck_store *s, const char *id, int state, ck_err *err)
{
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: set pod state: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_POD_SET_STATE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    ck_bind_int64(st, 2, (int64_t)state, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: set state of pod %s", id);
    if (sqlite3_changes(s->db) == 0)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: set state of pod %s: pod not found", id);
    return 0;
}

int ck_store_pod_set_state(ck_store *s, const char *id, int state, ck_err *err)
{
    return ck_store_durable(s, pod_set_state_locked(s, id, state, err), err);
}

static int pod_delete_locked(ck_store *s, const char *id, ck_err *err)
{
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: delete pod: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_POD_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "store: delete pod %s: the pod still has containers", id);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: delete pod %s", id);
    return 0;
}

int ck_store_pod_delete(ck_store *s, const char *id, ck_err *err)
{
    return ck_store_durable(s, pod_delete_locked(s, id, err), err);
}

int ck_store_pod_list(ck_store *s, ck_pod_record **out, size_t *n, ck_err *err)
{
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_POD_LIST];
    return ck_store_collect(s, st, sizeof(ck_pod_record), read_pod, clear_pod, (void **)out, n, "pods", err);
}

int ck_store_pod_find_prefix(ck_store *s, const char *prefix, char **id_out, ck_err *err)
{
    return ck_store_find_prefix(s, CK_STMT_POD_PREFIX, "pod", prefix, id_out, err);
}
