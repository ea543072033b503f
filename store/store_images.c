/*
 * store_images: image rows (keyed by config digest) and the references
 * (tags, digest references) that name them. A reference names one image at
 * a time; moving a tag is an update of its row. Deleting an image deletes
 * its references through the foreign key's cascade, in the same statement.
 * Beside them, the layer rows: the disk usage of each unpacked layer, kept
 * by the images domain, which alone knows which layers are still used.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

void ck_image_record_clear(ck_image_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->id);
    free(rec->data);
    memset(rec, 0, sizeof(*rec));
}

void ck_image_records_free(ck_image_record *recs, size_t n)
{
    if (recs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ck_image_record_clear(&recs[i]);
    free(recs);
}

void ck_image_ref_clear(ck_image_ref *ref)
{
    if (ref == NULL)
        return;
    free(ref->ref);
    free(ref->image_id);
    memset(ref, 0, sizeof(*ref));
}

void ck_image_refs_free(ck_image_ref *refs, size_t n)
{
    if (refs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ck_image_ref_clear(&refs[i]);
    free(refs);
}

void ck_store_strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Columns in the order of IMAGE_COLS in store_sql.c. */
static int read_image(sqlite3_stmt *st, void *out)
{
    ck_image_record *rec = out;
    if (ck_col_text(st, 0, &rec->id) < 0 || ck_col_text(st, 2, &rec->data) < 0)
        return -1;
    rec->size = (uint64_t)sqlite3_column_int64(st, 1);
    return 0;
}

static void clear_image(void *rec)
{
    ck_image_record_clear(rec);
}

static int read_ref(sqlite3_stmt *st, void *out)
{
    ck_image_ref *ref = out;
    return ck_col_text(st, 0, &ref->ref) < 0 || ck_col_text(st, 1, &ref->image_id) < 0 ? -1 : 0;
}

static void clear_ref(void *ref)
{
    ck_image_ref_clear(ref);
}

static int read_string(sqlite3_stmt *st, void *out)
{
    return ck_col_text(st, 0, (char **)out);
}

static void clear_string(void *p)
{
    free(*(char **)p);
    *(char **)p = NULL;
}

static int image_put_locked(ck_store *s, const ck_image_record *rec, ck_err *err)
{
    if (rec == NULL || rec->id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put image: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_IMAGE_PUT];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, rec->id, &rc);
    ck_bind_int64(st, 2, (int64_t)rec->size, &rc); /* bit for bit; read back as uint64 */
    ck_bind_text(st, 3, rec->data, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: put image %s", rec->id);
    return 0;
}

int ck_store_image_put(ck_store *s, const ck_image_record *rec, ck_err *err)
{
    return ck_store_durable(s, image_put_locked(s, rec, err), err);
}

int ck_store_image_get(ck_store *s, const char *id, ck_image_record *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: get image: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_IMAGE_GET];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: image %s not found", id);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: get image %s", id);
    if (read_image(st, out) < 0) {
        ck_image_record_clear(out);
        return ck_err_oom(err, "image record");
    }
    return 0;
}

static int image_delete_locked(ck_store *s, const char *id, ck_err *err)
{
    if (id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: delete image: no id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_IMAGE_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: delete image %s", id);
    return 0;
}

int ck_store_image_delete(ck_store *s, const char *id, ck_err *err)
{
    return ck_store_durable(s, image_delete_locked(s, id, err), err);
}

int ck_store_image_list(ck_store *s, ck_image_record **out, size_t *n, ck_err *err)
{
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_IMAGE_LIST];
    return ck_store_collect(s, st, sizeof(ck_image_record), read_image, clear_image, (void **)out, n, "images", err);
}

int ck_store_image_find_prefix(ck_store *s, const char *prefix, char **id_out, ck_err *err)
{
    return ck_store_find_prefix(s, CK_STMT_IMAGE_PREFIX, "image", prefix, id_out, err);
}

static int image_ref_set_locked(ck_store *s, const char *ref, const char *image_id, ck_err *err)
{
    if (ref == NULL || image_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: set image reference: reference and image id are required");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_REF_SET];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, ref, &rc);
    ck_bind_text(st, 2, image_id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: point %s at image %s: image not found", ref, image_id);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: point %s at image %s", ref, image_id);
    return 0;
}

int ck_store_image_ref_set(ck_store *s, const char *ref, const char *image_id, ck_err *err)
{
    return ck_store_durable(s, image_ref_set_locked(s, ref, image_id, err), err);
}

static int image_ref_delete_locked(ck_store *s, const char *ref, ck_err *err)
{
    if (ref == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: delete image reference: none given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_REF_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, ref, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: delete image reference %s", ref);
    return 0;
}

int ck_store_image_ref_delete(ck_store *s, const char *ref, ck_err *err)
{
    return ck_store_durable(s, image_ref_delete_locked(s, ref, err), err);
}

int ck_store_image_resolve(ck_store *s, const char *ref, char **id_out, ck_err *err)
{
    *id_out = NULL;
    if (ref == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: resolve image reference: none given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_REF_RESOLVE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, ref, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "store: image reference %s not found", ref);
    if (rc != SQLITE_ROW)
        return ck_store_sql_err(s, rc, err, "store: resolve image reference %s", ref);
    if (ck_col_text(st, 0, id_out) < 0)
        return ck_err_oom(err, "image id");
    return 0;
}

int ck_store_image_refs(ck_store *s, const char *image_id, char ***refs_out, size_t *n, ck_err *err)
{
    *refs_out = NULL;
    *n = 0;
    if (image_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: list image references: no image id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_REFS_OF_IMAGE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, image_id, &rc);
    if (rc != SQLITE_OK)
        return ck_store_sql_err(s, rc, err, "store: list references of image %s", image_id);
    return ck_store_collect(s, st, sizeof(char *), read_string, clear_string, (void **)refs_out, n, "image references",
                            err);
}

int ck_store_image_ref_list(ck_store *s, ck_image_ref **out, size_t *n, ck_err *err)
{
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_REF_LIST];
    return ck_store_collect(s, st, sizeof(ck_image_ref), read_ref, clear_ref, (void **)out, n, "image references", err);
}

/* ---- layers ----------------------------------------------------------- */

void ck_layer_records_free(ck_layer_record *recs, size_t n)
{
    if (recs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(recs[i].chain_id);
    free(recs);
}

/* Columns in the order of LAYER_COLS in store_sql.c. */
static int read_layer(sqlite3_stmt *st, void *out)
{
    ck_layer_record *rec = out;
    if (ck_col_text(st, 0, &rec->chain_id) < 0)
        return -1;
    rec->bytes = (uint64_t)sqlite3_column_int64(st, 1);
    rec->inodes = (uint64_t)sqlite3_column_int64(st, 2);
    return 0;
}

static void clear_layer(void *rec)
{
    ck_layer_record *l = rec;
    free(l->chain_id);
    memset(l, 0, sizeof(*l));
}

static int layer_put_locked(ck_store *s, const ck_layer_record *rec, ck_err *err)
{
    if (rec == NULL || rec->chain_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: put layer: no chain id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_LAYER_PUT];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, rec->chain_id, &rc);
    ck_bind_int64(st, 2, (int64_t)rec->bytes, &rc); /* bit for bit; read back as uint64 */
    ck_bind_int64(st, 3, (int64_t)rec->inodes, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: put layer %s", rec->chain_id);
    return 0;
}

int ck_store_layer_put(ck_store *s, const ck_layer_record *rec, ck_err *err)
{
    return ck_store_durable(s, layer_put_locked(s, rec, err), err);
}

static int layer_delete_locked(ck_store *s, const char *chain_id, ck_err *err)
{
    if (chain_id == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "store: delete layer: no chain id given");
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_LAYER_DELETE];
    int rc = SQLITE_OK;
    ck_bind_text(st, 1, chain_id, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return ck_store_sql_err(s, rc, err, "store: delete layer %s", chain_id);
    return 0;
}

int ck_store_layer_delete(ck_store *s, const char *chain_id, ck_err *err)
{
    return ck_store_durable(s, layer_delete_locked(s, chain_id, err), err);
}

int ck_store_layer_list(ck_store *s, ck_layer_record **out, size_t *n, ck_err *err)
{
    CK_STORE_LOCKED(s);
    _cleanup_stmt_ sqlite3_stmt *st = s->stmt[CK_STMT_LAYER_LIST];
    return ck_store_collect(s, st, sizeof(ck_layer_record), read_layer, clear_layer, (void **)out, n, "layers", err);
}
