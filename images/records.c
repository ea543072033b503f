/*
 * records: image records in the state store and what they mean.
 *
 * The record's data is our JSON (version 1):
 *   {"v":1, "manifest":"sha256:..", "index":"sha256:.."|absent, "config": {user, env, entrypoint, cmd,
 *    workdir, stop_signal, volumes, labels}, "layers":[{"digest","size","media_type","diff_id","chain_id"}]}
 * References are the store's image refs: "name:tag" are repo tags,
 * "name@sha256:.." repo digests.
 *
 * Garbage: blobs and layer directories no record mentions, layer blobs
 * (a layer is kept as its unpacked tree: an import that failed may leave
 * the ones it stored, and older cricket versions kept every pulled one),
 * and downloads in content/ingest no live writer holds. They are collected
 * by the daemon after a remove and after a failed pull, and at start-up, only while no
 * pull or import is in flight in any process (they hold the store's lock,
 * <root>/images.lock, shared; collection takes it exclusive without
 * waiting, see ck_images_hold).
 */
#include "images/images_internal.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/reference.h"
#include "images/unpack.h"
#include "store/store.h"

static void strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void ck_image_free(ck_image *img)
{
    if (img == NULL)
        return;
    free(img->id);
    strv_free(img->repo_tags, img->n_repo_tags);
    strv_free(img->repo_digests, img->n_repo_digests);
    free(img->user);
    strv_free(img->env, img->n_env);
    strv_free(img->entrypoint, img->n_entrypoint);
    strv_free(img->cmd, img->n_cmd);
    free(img->workdir);
    free(img->stop_signal);
    strv_free(img->volumes, img->n_volumes);
    strv_free(img->label_keys, img->n_labels);
    strv_free(img->label_values, img->n_labels);
    strv_free(img->layer_dirs, img->n_layer_dirs);
    free(img->record_json);
    free(img);
}

void ck_images_free_list(ck_image **imgs, size_t n)
{
    if (imgs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ck_image_free(imgs[i]);
    free(imgs);
}

static char *str_or_empty(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return strdup(s != NULL ? s : "");
}

static int strv_from_json(json_t *arr, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return 0;
    char **v = calloc(json_array_size(arr), sizeof(*v));
    if (v == NULL)
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *s = json_string_value(e);
        v[*n] = strdup(s != NULL ? s : "");
        if (v[*n] == NULL) {
            strv_free(v, *n);
            return -1;
        }
        (*n)++;
    }
    *out = v;
    return 0;
}

static int fill_config(ck_image *img, json_t *cfg)
{
    img->user = str_or_empty(cfg, "user");
    img->workdir = str_or_empty(cfg, "workdir");
    img->stop_signal = str_or_empty(cfg, "stop_signal");
    if (img->user == NULL || img->workdir == NULL || img->stop_signal == NULL ||
        strv_from_json(json_object_get(cfg, "env"), &img->env, &img->n_env) < 0 ||
        strv_from_json(json_object_get(cfg, "entrypoint"), &img->entrypoint, &img->n_entrypoint) < 0 ||
        strv_from_json(json_object_get(cfg, "cmd"), &img->cmd, &img->n_cmd) < 0 ||
        strv_from_json(json_object_get(cfg, "volumes"), &img->volumes, &img->n_volumes) < 0)
        return -1;
    json_t *labels = json_object_get(cfg, "labels");
    size_t n = json_is_object(labels) ? json_object_size(labels) : 0;
    if (n == 0)
        return 0;
    img->label_keys = calloc(n, sizeof(char *));
    img->label_values = calloc(n, sizeof(char *));
    if (img->label_keys == NULL || img->label_values == NULL)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        img->label_keys[img->n_labels] = strdup(k);
        img->label_values[img->n_labels] = strdup(json_string_value(v) ? json_string_value(v) : "");
        img->n_labels++;
        if (img->label_keys[img->n_labels - 1] == NULL || img->label_values[img->n_labels - 1] == NULL)
            return -1;
    }
    return 0;
}

static int fill_layers(ck_images *im, ck_image *img, json_t *layers)
{
    size_t n = json_array_size(layers);
    if (n == 0)
        return 0;
    img->layer_dirs = calloc(n, sizeof(char *));
    if (img->layer_dirs == NULL)
        return -1;
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *chain = json_string_value(json_object_get(l, "chain_id"));
        if (chain == NULL || strlen(chain) < 8)
            continue;
        if (asprintf(&img->layer_dirs[img->n_layer_dirs], "%s/%s", im->layers_dir, chain + 7) < 0)
            return -1;
        img->n_layer_dirs++;
    }
    return 0;
}

static bool is_pause_ref(ck_images *im, const char *ref)
{
    if (im->cfg->pause.image == NULL)
        return false;
    ck_ref r;
    char norm[1024];
    if (ck_ref_parse(im->cfg->pause.image, &r, NULL) < 0)
        return false;
    if (r.digest[0] != '\0')
        ck_ref_digested(&r, r.digest, norm, sizeof(norm));
    else
        ck_ref_tagged(&r, norm, sizeof(norm));
    return strcmp(norm, ref) == 0;
}

static int fill_refs(ck_images *im, ck_image *img, char **refs, size_t n)
{
    img->repo_tags = calloc(n + 1, sizeof(char *));
    img->repo_digests = calloc(n + 1, sizeof(char *));
    if (img->repo_tags == NULL || img->repo_digests == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char *copy = strdup(refs[i]);
        if (copy == NULL)
            return -1;
        if (strchr(refs[i], '@') != NULL)
            img->repo_digests[img->n_repo_digests++] = copy;
        else
            img->repo_tags[img->n_repo_tags++] = copy;
        if (is_pause_ref(im, refs[i]))
            img->pinned = true;
    }
    return 0;
}

/* Builds the ck_image of one record and its references. */
static int image_from_record(ck_images *im, const ck_image_record *rec, char **refs, size_t n_refs, ck_image **out,
                             ck_err *err)
{
    ck_image *img = calloc(1, sizeof(*img));
    if (img == NULL)
        return ck_err_oom(err, "image");
    json_error_t jerr;
    json_t *data = json_loads(rec->data != NULL ? rec->data : "{}", 0, &jerr);
    if (data == NULL) {
        ck_image_free(img);
        return ck_err_set(err, CK_E_INTERNAL, 0, "image %s: stored record is not JSON: %s", rec->id, jerr.text);
    }
    img->id = strdup(rec->id);
    img->size = rec->size;
    img->record_json = strdup(rec->data != NULL ? rec->data : "{}");
    int rc = img->id != NULL && img->record_json != NULL && fill_config(img, json_object_get(data, "config")) == 0 &&
                     fill_layers(im, img, json_object_get(data, "layers")) == 0 && fill_refs(im, img, refs, n_refs) == 0
                 ? 0
                 : -1;
    json_decref(data);
    if (rc < 0) {
        ck_image_free(img);
        return ck_err_oom(err, "image");
    }
    *out = img;
    return 0;
}

static int load_image(ck_images *im, const char *id, ck_image **out, ck_err *err)
{
    _cleanup_image_record_ ck_image_record rec = {0};
    if (ck_store_image_get(im->store, id, &rec, err) < 0)
        return -1;
    char **refs = NULL;
    size_t n = 0;
    if (ck_store_image_refs(im->store, id, &refs, &n, err) < 0)
        return -1;
    int rc = image_from_record(im, &rec, refs, n, out, err);
    ck_store_strv_free(refs, n);
    return rc;
}

static bool all_hex(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789abcdef") == strlen(s);
}

/* The image id name resolves to (see ck_images_get). */
static int resolve(ck_images *im, const char *name, char **id_out, ck_err *err)
{
    *id_out = NULL;
    if (name == NULL || name[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "no image given");
    if (ck_ref_is_image_id(name)) {
        if (asprintf(id_out, "sha256:%s", strncmp(name, "sha256:", 7) == 0 ? name + 7 : name) < 0)
            return ck_err_oom(err, "image id");
        _cleanup_image_record_ ck_image_record rec = {0};
        if (ck_store_image_get(im->store, *id_out, &rec, err) < 0) {
            free(*id_out);
            *id_out = NULL;
            return -1;
        }
        return 0;
    }
    ck_ref r;
    ck_err perr;
    if (ck_ref_parse(name, &r, &perr) == 0) {
        char norm[1024];
        if (r.digest[0] != '\0')
            ck_ref_digested(&r, r.digest, norm, sizeof(norm));
        else
            ck_ref_tagged(&r, norm, sizeof(norm));
        ck_err rerr;
        if (ck_store_image_resolve(im->store, norm, id_out, &rerr) == 0)
            return 0;
        if (rerr.kind != CK_E_NOT_FOUND) {
            ck_err_copy(err, &rerr);
            return -1;
        }
    }
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    if (all_hex(hex)) {
        char prefix[80];
        snprintf(prefix, sizeof(prefix), "sha256:%s", hex);
        if (ck_store_image_find_prefix(im->store, prefix, id_out, err) == 0)
            return 0;
        return -1;
    }
    if (ck_ref_parse(name, &r, &perr) < 0) {
        ck_err_copy(err, &perr);
        return -1;
    }
    return ck_err_set(err, CK_E_NOT_FOUND, 0, "image %s not found", name);
}

int ck_images_get(ck_images *im, const char *name, ck_image **out, ck_err *err)
{
    *out = NULL;
    _cleanup_free_ char *id = NULL;
    if (resolve(im, name, &id, err) < 0)
        return -1;
    return load_image(im, id, out, err);
}

int ck_images_list(ck_images *im, const char *name, ck_image ***out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    if (name != NULL && name[0] != '\0') {
        ck_image *one = NULL;
        ck_err e;
        if (ck_images_get(im, name, &one, &e) < 0) {
            if (e.kind == CK_E_NOT_FOUND)
                return 0;
            ck_err_copy(err, &e);
            return -1;
        }
        *out = calloc(1, sizeof(ck_image *));
        if (*out == NULL) {
            ck_image_free(one);
            return ck_err_oom(err, "image list");
        }
        (*out)[0] = one;
        *n = 1;
        return 0;
    }
    ck_image_record *recs = NULL;
    size_t nrec = 0;
    ck_image_ref *refs = NULL;
    size_t nref = 0;
    if (ck_store_image_list(im->store, &recs, &nrec, err) < 0)
        return -1;
    if (ck_store_image_ref_list(im->store, &refs, &nref, err) < 0) {
        ck_image_records_free(recs, nrec);
        return -1;
    }
    int rc = 0;
    ck_image **list = calloc(nrec + 1, sizeof(*list));
    char **mine = calloc(nref + 1, sizeof(char *));
    if (list == NULL || mine == NULL)
        rc = ck_err_oom(err, "image list");
    size_t j = 0; /* refs are sorted by image id, as records are */
    for (size_t i = 0; rc == 0 && i < nrec; i++) {
        size_t k = 0;
        while (j < nref && strcmp(refs[j].image_id, recs[i].id) < 0)
            j++;
        while (j < nref && strcmp(refs[j].image_id, recs[i].id) == 0)
            mine[k++] = refs[j++].ref;
        rc = image_from_record(im, &recs[i], mine, k, &list[i], err);
        if (rc == 0)
            (*n)++;
    }
    free(mine);
    ck_image_refs_free(refs, nref);
    ck_image_records_free(recs, nrec);
    if (rc < 0) {
        ck_images_free_list(list, *n);
        *n = 0;
        return -1;
    }
    *out = list;
    return 0;
}

/* ---- removal and garbage ------------------------------------------------------------ */

typedef struct used_set {
    char **items;
    size_t len, cap;
} used_set;

static int used_add(used_set *u, const char *s)
{
    if (s == NULL)
        return 0;
    if (u->len == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        char **n = realloc(u->items, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        u->items = n;
        u->cap = cap;
    }
    u->items[u->len] = strdup(s);
    return u->items[u->len++] != NULL ? 0 : -1;
}

static bool used_has(const used_set *u, const char *s)
{
    for (size_t i = 0; i < u->len; i++)
        if (strcmp(u->items[i], s) == 0)
            return true;
    return false;
}

/* Hex digests of the blobs every record keeps (config, manifest, index)
 * and the chain ids of its layers. */
static int collect_used(ck_images *im, used_set *blobs, used_set *layers, ck_err *err)
{
    ck_image_record *recs = NULL;
    size_t n = 0;
    if (ck_store_image_list(im->store, &recs, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *d = json_loads(recs[i].data != NULL ? recs[i].data : "{}", 0, NULL);
        if (d == NULL) {
            rc = ck_err_set(err, CK_E_INTERNAL, 0, "image %s: record is not JSON", recs[i].id);
            break;
        }
        rc |= used_add(blobs, recs[i].id + 7);
        const char *keys[] = {"manifest", "index"};
        for (size_t k = 0; k < 2; k++) {
            const char *dg = json_string_value(json_object_get(d, keys[k]));
            if (dg != NULL && strlen(dg) > 7)
                rc |= used_add(blobs, dg + 7);
        }
        size_t li;
        json_t *l;
        json_array_foreach(json_object_get(d, "layers"), li, l)
        {
            /* Its blob is not kept: the tree is. */
            const char *ch = json_string_value(json_object_get(l, "chain_id"));
            if (ch != NULL && strlen(ch) > 7)
                rc |= used_add(layers, ch + 7);
        }
        json_decref(d);
        if (rc < 0)
            rc = ck_err_oom(err, "garbage collection");
    }
    ck_image_records_free(recs, n);
    return rc;
}

static void sweep_dir(const char *dir, const used_set *used, bool trees)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (used_has(used, e->d_name))
            continue;
        char path[8300];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int rc = trees ? ck_remove_tree(path, NULL) : unlink(path);
        if (rc == 0)
            ck_debug("images", "removed unused %s", path);
    }
    closedir(d);
}

/* Drops the usage rows of layers no record mentions (swept just now, or
 * gone before). */
static void forget_layer_usage(ck_images *im, const used_set *used)
{
    ck_layer_record *rows = NULL;
    size_t n = 0;
    ck_err err;
    if (ck_store_layer_list(im->store, &rows, &n, &err) < 0) {
        ck_warn("images", "layer usage rows kept: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *hex = strlen(rows[i].chain_id) > 7 ? rows[i].chain_id + 7 : rows[i].chain_id;
        if (!used_has(used, hex) && ck_store_layer_delete(im->store, rows[i].chain_id, &err) < 0)
            ck_warn("images", "%s", err.msg);
    }
    ck_layer_records_free(rows, n);
}

void ck_images_collect_garbage(ck_images *im)
{
    if (!im->gc_enabled)
        return;
    int hold = ck_images_try_hold_exclusive(im);
    if (hold < 0)
        return; /* a pull or an import is in flight, here or in another process; the next collection gets it */
    ck_content_clean_ingest(im->content);
    used_set blobs = {0}, layers = {0};
    ck_err err;
    ck_err_clear(&err);
    if (collect_used(im, &blobs, &layers, &err) == 0) {
        char dir[4300];
        snprintf(dir, sizeof(dir), "%s/content/sha256", im->root);
        sweep_dir(dir, &blobs, false);
        sweep_dir(im->layers_dir, &layers, true);
        forget_layer_usage(im, &layers);
    } else {
        ck_warn("images", "garbage collection skipped: %s", err.msg);
    }
    ck_images_unhold(hold);
    for (size_t i = 0; i < blobs.len; i++)
        free(blobs.items[i]);
    for (size_t i = 0; i < layers.len; i++)
        free(layers.items[i]);
    free(blobs.items);
    free(layers.items);
}

/* A container's rootfs stands on the image's layers: removing them under it
 * would pull files out of a running container. 0 when unused, -1 with
 * CK_E_PRECONDITION naming the container otherwise. */
static int image_in_use(ck_images *im, const char *id, ck_err *err)
{
    ck_container_record *recs = NULL;
    size_t n = 0;
    if (ck_store_container_list(im->store, &recs, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *r = recs[i].image_ref;
        if (r == NULL)
            continue;
        _cleanup_free_ char *rid = NULL;
        ck_err e;
        if (strcmp(r, id) == 0 || (resolve(im, r, &rid, &e) == 0 && strcmp(rid, id) == 0))
            rc = ck_err_set(err, CK_E_PRECONDITION, 0, "image %s is in use by container %s", id, recs[i].id);
    }
    ck_container_records_free(recs, n);
    return rc;
}

static int remove_image_locked(ck_images *im, const char *name, ck_err *err)
{
    _cleanup_free_ char *id = NULL;
    ck_err rerr;
    if (resolve(im, name, &id, &rerr) < 0) {
        if (rerr.kind == CK_E_NOT_FOUND)
            return 0; /* idempotent */
        ck_err_copy(err, &rerr);
        return -1;
    }
    /* A tag of an image that has other tags: untag only. */
    ck_ref r;
    bool by_tag = !ck_ref_is_image_id(name) && ck_ref_parse(name, &r, NULL) == 0 && r.digest[0] == '\0';
    if (by_tag) {
        char norm[1024];
        ck_ref_tagged(&r, norm, sizeof(norm));
        char **refs = NULL;
        size_t n = 0;
        if (ck_store_image_refs(im->store, id, &refs, &n, err) < 0)
            return -1;
        size_t other_tags = 0;
        bool named = false;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(refs[i], norm) == 0)
                named = true;
            else if (strchr(refs[i], '@') == NULL)
                other_tags++;
        }
        ck_store_strv_free(refs, n);
        if (named && other_tags > 0) {
            ck_info("images", "untagged %s (image %s keeps its other tags)", norm, id);
            return ck_store_image_ref_delete(im->store, norm, err);
        }
    }
    if (image_in_use(im, id, err) != 0)
        return -1;
    const char *user = ck_images_in_use_by(im, id);
    if (user != NULL)
        return ck_err_set(err, CK_E_PRECONDITION, 0, "image %s is in use: a root filesystem is mounted from it on %s",
                          id, user);
    if (ck_store_image_delete(im->store, id, err) < 0)
        return -1;
    ck_info("images", "removed image %s (asked as %s)", id, name);
    return 0;
}

int ck_images_remove(ck_images *im, const char *name, ck_err *err)
{
    pthread_mutex_lock(&im->lock);
    int rc = remove_image_locked(im, name, err);
    pthread_mutex_unlock(&im->lock);
    if (rc == 0)
        ck_images_collect_garbage(im);
    return rc < 0 ? ck_err_wrap(err, "remove image %s", name) : 0;
}
