/*
 * store_names: unique names and who holds them. The kubelet names every pod
 * and container deterministically; two live objects must never share a
 * name, and a retried create must find its own reservation, not a conflict.
 */
#include "store/store_internal.h"

#include <string.h>

static int name_reserve_locked(ck_store *s, const char *name, const char *owner_id, ck_err *err)
{
    if (name == NULL || owner_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: reserve name: name and owner are required");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *ins = s->stmt[CK_STMT_NAME_INSERT];
    int rc = SQLITE_OK;
    ck_bind_text(ins, 1, name, &rc);
    ck_bind_text(ins, 2, owner_id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: reserve name %s for %s", name, owner_id);
    if (sqlite3_changes(s->db) == 1)
        return 0;

    /* Taken: by the same owner is a retry, by another is a conflict. */
    _cleanup_stmt_ sqlite3_stmt *sel = s->stmt[CK_STMT_NAME_OWNER];
    rc = SQLITE_OK;
    ck_bind_text(sel, 1, name, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(sel);
    if (rc == SQLITE_ROW) {
        const unsigned char *owner = sqlite3_column_text(sel, 0);
        if (owner != NULL && strcmp((const char *)owner, owner_id) == 0)
            return 0;
        return ck_err_set(err, CK_E_EXISTS, 0, "store: reserve name %s for %s: it is reserved by %s", name, owner_id,
                          owner != NULL ? (const char *)owner : "?");
    }
    if (rc == SQLITE_DONE) /* released by another process in between */
        return ck_err_set(err, CK_E_EXISTS, 0, "store: reserve name %s for %s: it was reserved concurrently", name,
                          owner_id);
    return ck_store_sql_err(s, rc, err, "store: reserve name %s for %s", name, owner_id);
}

int ck_store_name_reserve(ck_store *s, const char *name, const char *owner_id, ck_err *err)
{
    return ck_store_durable(s, name_reserve_locked(s, name, owner_id, err), err);
}

static int name_release_locked(ck_store *s, const char *name, ck_err *err)
{
    if (name == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: release name: no name given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_NAME_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, name, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: release name %s", name);
    return 0;
}

int ck_store_name_release(ck_store *s, const char *name, ck_err *err)
{
    return ck_store_durable(s, name_release_locked(s, name, err), err);
}

int ck_store_name_lookup(ck_store *s, const char *name, char **owner_out, ck_err *err)
{
    *owner_out = NULL;
    if (name == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: look up name: no name given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_NAME_OWNER];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, name, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: name %s is not reserved", name);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: look up name %s", name);
    if (ck_col_text(st, 0, owner_out) < 0)
        return ck_err_oom(err, "owner id");
    return 0;
}
