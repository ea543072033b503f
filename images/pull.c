/*
 * pull: PullImage's flow. Normalize the reference; open a registry session
 * (mirrors, then origin); fetch the manifest (by digest when the reference
 * has one, verified); if it is an index, pick the entry for this host's
 * platform and fetch that manifest (verified); fetch the config, then the
 * layers in parallel (max_concurrent_downloads threads). Each layer is
 * unpacked while it downloads: the body is verified (size and digest) by a
 * content writer that keeps nothing and goes, through a socket pair, to an
 * unpack thread that extracts it into a temporary directory and checks its
 * diff id. The layer is put in place only when both verdicts are good;
 * otherwise the temporary tree is removed, and the blob's verdict is the
 * error. A layer is kept as its tree only, never also as its blob. Layers
 * unpack each into their own directory, so their order does not matter.
 * Then the image is recorded and its tag and digest reference point at it.
 * The image id (the config digest) is returned.
 *
 * Two pulls of the same layer share one download and unpack (key lock per
 * digest, then per chain id, always in that order: the second waits and
 * finds the tree there); a config or manifest blob likewise (the second
 * finds it stored). While a pull or an import runs, in this process or
 * another, garbage collection leaves files alone (ck_images_hold): it is
 * also what removes, after a crash, the temporary files and trees a pull
 * left.
 */
#include "images/images_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/timeutil.h"
#include "images/manifest.h"
#include "images/reference.h"
#include "images/registry.h"
#include "images/unpack.h"
#include "store/store.h"

enum { MANIFEST_MAX = 4 << 20, CONFIG_MAX = 8 << 20, MAX_LAYERS = CK_MANIFEST_MAX_LAYERS };

typedef struct pull {
    ck_images *im;
    ck_ref ref;
    ck_registry *reg;
    ck_images_cancel_fn cancelled;
    void *cancel_arg;
    atomic_bool failed;
    char repo_digest[CK_DIGEST_BUF];     /* what the tag points at: the index or the manifest */
    char manifest_digest[CK_DIGEST_BUF]; /* the image manifest */
    char index_digest[CK_DIGEST_BUF];    /* "" unless the tag points at an index */
    char config_digest[CK_DIGEST_BUF];
    int64_t config_size;
    ck_layer *layers;
    size_t n_layers;
    json_t *config; /* the parsed image config blob */
    /* parallel downloads */
    atomic_size_t next;
    pthread_mutex_t err_mu;
    ck_err first_err;
    _Atomic uint64_t downloaded; /* bytes fetched from the network (blobs already here cost none) */
} pull;

static bool pull_cancelled(void *arg)
{
    pull *p = arg;
    return atomic_load(&p->failed) || (p->cancelled != NULL && p->cancelled(p->cancel_arg));
}

/* ---- manifests ------------------------------------------------------------------------ */

/* The index entry for this host's platform. */
static int select_platform(json_t *index, char *digest_out, ck_err *err)
{
    char arch[32], variant[16];
    ck_host_platform(arch, sizeof(arch), variant, sizeof(variant));
    return ck_index_select(index, arch, variant, digest_out, err);
}

/* GETs and verifies a manifest; *j is its parsed JSON. */
static int fetch_manifest(pull *p, const char *reference, bool by_digest, json_t **j, ck_manifest_kind *k,
                          char *digest_out, ck_err *err)
{
    _cleanup_free_ char *body = NULL;
    size_t len = 0;
    char ctype[256];
    if (ck_registry_get_manifest(p->reg, reference, MANIFEST_MAX, &body, &len, ctype, sizeof(ctype), err) < 0)
        return -1;
    char digest[CK_DIGEST_BUF];
    ck_digest_of(body, len, digest);
    if (by_digest && strcmp(digest, reference) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "manifest %s: content has digest %s", reference, digest);
    if (ck_manifest_parse(body, len, ctype, j, k, err) < 0)
        return ck_err_wrap(err, "manifest %s", reference);
    if (ck_content_put(p->im->content, digest, body, len, err) < 0) {
        json_decref(*j);
        *j = NULL;
        return ck_err_wrap(err, "manifest %s", reference);
    }
    snprintf(digest_out, CK_DIGEST_BUF, "%s", digest);
    return 0;
}

/* The manifest's config and layers. A config larger than CONFIG_MAX is
 * refused here, from its declared size, before any byte of it is fetched;
 * each layer's declared size caps its download (the content writer). */
static int read_manifest(pull *p, json_t *m, ck_err *err)
{
    if (ck_manifest_image(m, p->config_digest, &p->config_size, &p->layers, &p->n_layers, err) < 0)
        return -1;
    if (p->config_size > CONFIG_MAX)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "config %s: the manifest gives %lld bytes, more than the %d an image config may have; "
                          "not fetched",
                          p->config_digest, (long long)p->config_size, CONFIG_MAX);
    return 0;
}

/* ---- blobs ------------------------------------------------------------------------------ */

static int fetch_blob(pull *p, const char *digest, int64_t size, ck_err *err)
{
    ck_images *im = p->im;
    ck_cancel cancel = {pull_cancelled, p};
    if (ck_keylock_acquire(im->locks, digest, &cancel, digest, err) < 0)
        return -1;
    int rc = 0;
    if (ck_content_size(im->content, digest) != size) {
        rc = ck_registry_fetch_blob(p->reg, digest, size, im->content, NULL, err);
        if (rc == 0) {
            atomic_fetch_add(&p->downloaded, (uint64_t)size);
            ck_debug("images", "downloaded blob %s (%lld bytes)", digest, (long long)size);
        }
    }
    ck_keylock_release(im->locks, digest);
    return rc;
}

/* ---- layers: each unpacked while it downloads ------------------------------------------- */

/* The download's end of the socket pair: -1 once the unpacker stopped
 * reading (it failed; the download goes on, for the blob's verdict). */
static void feed_unpacker(void *arg, const void *buf, size_t len)
{
    int *fd = arg;
    const char *at = buf;
    while (*fd >= 0 && len > 0) {
        ssize_t n = send(*fd, at, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(*fd);
            *fd = -1;
            return;
        }
        at += n;
        len -= (size_t)n;
    }
}

typedef struct unpack_job {
    int fd; /* the unpacker's end */
    const char *what;
    const char *dest;
    ck_unpack_opts opts;
    ck_unpack_staged staged;
    ck_err err;
    int rc;
} unpack_job;

static void *unpack_job_run(void *arg)
{
    unpack_job *j = arg;
    ck_err_clear(&j->err);
    j->rc = ck_unpack_stage(j->fd, j->what, j->dest, &j->opts, &j->staged, &j->err);
    close(j->fd); /* a failed unpack stops reading: the feeder sees it */
    return NULL;
}

/* Downloads layer i and unpacks it to dest at once; the tree is placed only
 * once the download proved the bytes are the ones the manifest names. */
static int stream_layer(pull *p, size_t i, const char *dest, ck_err *err)
{
    const ck_layer *l = &p->layers[i];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return ck_err_set(err, CK_E_INTERNAL, errno, "layer %s: socket pair", l->digest);
    unpack_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        close(sv[0]);
        close(sv[1]);
        return ck_err_oom(err, "unpack job");
    }
    *j = (unpack_job){.fd = sv[1],
                      .what = l->digest,
                      .dest = dest,
                      .opts = {.allow_devices = p->im->cfg->images.allow_device_nodes, .expected_diff_id = l->diff_id}};
    pthread_t t;
    int e = pthread_create(&t, NULL, unpack_job_run, j);
    if (e != 0) {
        close(sv[0]);
        close(sv[1]);
        free(j);
        return ck_err_set(err, CK_E_INTERNAL, e, "layer %s: start its unpack", l->digest);
    }
    int feed = sv[0];
    ck_blob_sink sink = {feed_unpacker, &feed};
    /* Verified on its way, kept nowhere: the tree is what is kept. */
    int rc = ck_registry_fetch_blob(p->reg, l->digest, l->size, NULL, &sink, err);
    if (feed >= 0)
        close(feed); /* the end of the stream: the unpacker finishes or fails now */
    pthread_join(t, NULL);
    if (rc < 0) {
        ck_unpack_discard(&j->staged); /* the blob is not what the manifest names: its layer goes too */
    } else if (j->rc < 0) {
        ck_err_copy(err, &j->err);
        rc = ck_err_wrap(err, "unpack layer %zu (%s)", i, l->digest);
    } else {
        rc = ck_unpack_place(&j->staged, err);
    }
    free(j);
    return rc;
}

static int unpack_stored(pull *p, size_t i, const char *dest, ck_err *err)
{
    const ck_layer *l = &p->layers[i];
    char blob[4400];
    if (ck_content_path(p->im->content, l->digest, blob, sizeof(blob), err) < 0)
        return -1;
    ck_unpack_opts o = {.allow_devices = p->im->cfg->images.allow_device_nodes, .expected_diff_id = l->diff_id};
    if (ck_unpack_layer(blob, dest, &o, NULL, NULL, err) < 0)
        return ck_err_wrap(err, "unpack layer %zu (%s)", i, l->digest);
    return 0;
}

/* Unpacks layer i from its stored blob. A tree another process placed
 * meanwhile does as well: an import drops the blobs it unpacked. */
static int unpack_from_store(pull *p, size_t i, const char *dest, ck_err *err)
{
    if (unpack_stored(p, i, dest, err) == 0)
        return 0;
    struct stat st;
    if (stat(dest, &st) < 0)
        return -1;
    ck_err_clear(err);
    return 0;
}

/* Brings layer i's tree under layers/<chain id> unless it is there: from
 * the registry, or from a blob an import (or an older cricket, which kept
 * them) stored. Holds the blob's key lock and then the layer's. */
static int fetch_layer(pull *p, size_t i, ck_err *err)
{
    ck_images *im = p->im;
    const ck_layer *l = &p->layers[i];
    char dest[4400], key[CK_DIGEST_BUF + 8];
    ck_images_layer_dir(im, l->chain_id, dest, sizeof(dest));
    snprintf(key, sizeof(key), "layer:%s", l->chain_id);
    ck_cancel cancel = {pull_cancelled, p};
    if (ck_keylock_acquire(im->locks, l->digest, &cancel, l->digest, err) < 0)
        return -1;
    if (ck_keylock_acquire(im->locks, key, &cancel, key, err) < 0) {
        ck_keylock_release(im->locks, l->digest);
        return -1;
    }
    struct stat st;
    bool have_tree = stat(dest, &st) == 0;
    bool have_blob = !have_tree && ck_content_size(im->content, l->digest) == l->size;
    int rc = 0;
    if (!have_tree && have_blob) {
        rc = unpack_from_store(p, i, dest, err);
    } else if (!have_tree) {
        rc = stream_layer(p, i, dest, err);
        if (rc == 0) {
            atomic_fetch_add(&p->downloaded, (uint64_t)l->size);
            ck_debug("images", "downloaded blob %s (%lld bytes)", l->digest, (long long)l->size);
        }
    }
    if (rc == 0 && !have_tree) {
        ck_err uerr; /* a layer without a row is measured by the next ImageFsInfo instead */
        if (ck_images_record_layer_usage(im, l->chain_id, NULL, NULL, &uerr) < 0)
            ck_warn("images", "%s", uerr.msg);
    }
    ck_keylock_release(im->locks, key);
    ck_keylock_release(im->locks, l->digest);
    return rc;
}

static void *layer_worker(void *arg)
{
    pull *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_layers || atomic_load(&p->failed))
            return NULL;
        ck_err err;
        ck_err_clear(&err);
        if (fetch_layer(p, i, &err) < 0) {
            pthread_mutex_lock(&p->err_mu);
            if (!atomic_load(&p->failed)) {
                p->first_err = err;
                atomic_store(&p->failed, true);
            }
            pthread_mutex_unlock(&p->err_mu);
            return NULL;
        }
    }
}

static int fetch_layers(pull *p, ck_err *err)
{
    unsigned n = p->im->cfg->images.max_concurrent_downloads;
    if (n == 0)
        n = 1;
    if (n > p->n_layers)
        n = (unsigned)p->n_layers;
    pthread_t threads[64];
    unsigned started = 0;
    for (unsigned i = 0; i < n && i < 64; i++) {
        if (pthread_create(&threads[i], NULL, layer_worker, p) != 0)
            break;
        started++;
    }
    if (started == 0 && p->n_layers > 0)
        layer_worker(p);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (atomic_load(&p->failed)) {
        if (p->first_err.kind == CK_E_NONE)
            return ck_err_set(err, CK_E_CANCELLED, 0, "pull cancelled");
        ck_err_copy(err, &p->first_err);
        return -1;
    }
    return 0;
}

/* ---- config, chain ids, unpack ---------------------------------------------------------- */

static int read_config(pull *p, ck_err *err)
{
    _cleanup_free_ char *body = NULL;
    size_t len;
    if (ck_content_read(p->im->content, p->config_digest, CONFIG_MAX, &body, &len, err) < 0)
        return -1;
    return ck_image_config_parse(body, len, p->config_digest, p->layers, p->n_layers, &p->config, err);
}

static int unpack_layers(pull *p, ck_err *err)
{
    ck_images *im = p->im;
    for (size_t i = 0; i < p->n_layers; i++) {
        if (pull_cancelled(p))
            return ck_err_set(err, CK_E_CANCELLED, 0, "pull cancelled");
        ck_layer *l = &p->layers[i];
        char dest[4400], key[CK_DIGEST_BUF + 8];
        ck_images_layer_dir(im, l->chain_id, dest, sizeof(dest));
        snprintf(key, sizeof(key), "layer:%s", l->chain_id);
        ck_cancel cancel = {pull_cancelled, p};
        if (ck_keylock_acquire(im->locks, key, &cancel, key, err) < 0)
            return -1;
        int rc = 0;
        struct stat st;
        if (stat(dest, &st) < 0) {
            rc = unpack_from_store(p, i, dest, err);
            ck_err uerr; /* a layer without a row is measured by the next ImageFsInfo instead */
            if (rc == 0 && ck_images_record_layer_usage(im, l->chain_id, NULL, NULL, &uerr) < 0)
                ck_warn("images", "%s", uerr.msg);
        }
        ck_keylock_release(im->locks, key);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the record ---------------------------------------------------------------------------- */

static char *record_data(pull *p, uint64_t *size)
{
    json_t *layers = json_array();
    *size = (uint64_t)p->config_size;
    for (size_t i = 0; i < p->n_layers; i++) {
        ck_layer *l = &p->layers[i];
        *size += (uint64_t)l->size;
        json_array_append_new(layers,
                              json_pack("{s:s, s:I, s:s, s:s, s:s}", "digest", l->digest, "size", (json_int_t)l->size,
                                        "media_type", l->media_type, "diff_id", l->diff_id, "chain_id", l->chain_id));
    }
    const char *os = json_string_value(json_object_get(p->config, "os"));
    const char *arch = json_string_value(json_object_get(p->config, "architecture"));
    json_t *rec = json_pack("{s:i, s:s?, s:o, s:o, s:s, s:s}", "v", 1, "manifest",
                            p->manifest_digest[0] != '\0' ? p->manifest_digest : NULL, "config",
                            ck_image_config_summary(p->config), "layers", layers, "os", os ? os : "", "architecture",
                            arch ? arch : "");
    if (rec == NULL)
        return NULL;
    if (p->index_digest[0] != '\0')
        json_object_set_new(rec, "index", json_string(p->index_digest));
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    return text;
}

/* Puts the image and points its digest reference (when the image came with
 * a manifest digest) and the given tags at it, in one transaction. */
static int record_image(pull *p, const ck_ref *tags, size_t n_tags, ck_err *err)
{
    ck_images *im = p->im;
    uint64_t size = 0;
    _cleanup_free_ char *data = record_data(p, &size);
    if (data == NULL)
        return ck_err_oom(err, "image record");
    ck_image_record rec = {.id = p->config_digest, .size = size, .data = data};
    pthread_mutex_lock(&im->lock);
    int rc = ck_store_begin(im->store, err);
    if (rc == 0) {
        rc = ck_store_image_put(im->store, &rec, err);
        char name[1024];
        if (rc == 0 && p->repo_digest[0] != '\0') {
            ck_ref_digested(&p->ref, p->repo_digest, name, sizeof(name));
            rc = ck_store_image_ref_set(im->store, name, p->config_digest, err);
        }
        for (size_t i = 0; rc == 0 && i < n_tags; i++) {
            ck_ref_tagged(&tags[i], name, sizeof(name));
            if (name[0] != '\0')
                rc = ck_store_image_ref_set(im->store, name, p->config_digest, err);
        }
        if (rc == 0)
            rc = ck_store_commit(im->store, err);
        else
            ck_store_rollback(im->store);
    }
    pthread_mutex_unlock(&im->lock);
    return rc;
}

/* ---- the whole pull ------------------------------------------------------------------------- */

static int resolve_manifest(pull *p, ck_err *err)
{
    const char *first = p->ref.digest[0] != '\0' ? p->ref.digest : p->ref.tag;
    json_t *j = NULL;
    ck_manifest_kind k;
    if (fetch_manifest(p, first, p->ref.digest[0] != '\0', &j, &k, p->repo_digest, err) < 0)
        return -1;
    if (k == CK_MANIFEST_INDEX) {
        snprintf(p->index_digest, sizeof(p->index_digest), "%s", p->repo_digest);
        char child[CK_DIGEST_BUF];
        int rc = select_platform(j, child, err);
        json_decref(j);
        j = NULL;
        if (rc < 0 || fetch_manifest(p, child, true, &j, &k, p->manifest_digest, err) < 0)
            return -1;
        if (k != CK_MANIFEST_IMAGE) {
            json_decref(j);
            return ck_err_set(err, CK_E_INVALID, 0, "index entry %s is not an image manifest", child);
        }
    } else {
        snprintf(p->manifest_digest, sizeof(p->manifest_digest), "%s", p->repo_digest);
    }
    int rc = read_manifest(p, j, err);
    json_decref(j);
    return rc;
}

static int run_pull(pull *p, ck_err *err)
{
    if (resolve_manifest(p, err) < 0 || fetch_blob(p, p->config_digest, p->config_size, err) < 0 ||
        read_config(p, err) < 0 || fetch_layers(p, err) < 0)
        return -1;
    return record_image(p, &p->ref, 1, err);
}

/* cricket_image_pulls_total{result}, cricket_image_pull_bytes_total and
 * cricket_image_pull_duration_seconds{result}: result is "ok" or the error's
 * kind ("not_found", "unavailable", "invalid", ...). */
static void observe_pull(const pull *p, const ck_err *err, bool ok, const struct timespec *start)
{
    if (!ck_metrics_enabled())
        return;
    double seconds = ck_seconds_since(start);
    const char *const result[] = {ok ? "ok" : ck_errkind_name(err->kind)};
    ck_metric_add(ck_metric_counter("cricket_image_pulls_total", "Image pulls, by result", "result"), 1, result);
    ck_metric_observe(ck_metric_histogram("cricket_image_pull_duration_seconds", "Time of an image pull, by result",
                                          "result", ck_metrics_latency_buckets, ck_metrics_latency_buckets_len),
                      seconds, result);
    ck_metric_add(ck_metric_counter("cricket_image_pull_bytes_total", "Bytes of image blobs downloaded", NULL),
                  (double)atomic_load(&p->downloaded), NULL);
}

int ck_images_pull(ck_images *im, const char *ref, const ck_auth *auth, ck_images_cancel_fn cancelled, void *cancel_arg,
                   char **id_out, ck_err *err)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    *id_out = NULL;
    pull p = {.im = im, .cancelled = cancelled, .cancel_arg = cancel_arg};
    if (ck_ref_parse(ref, &p.ref, err) < 0)
        return -1;
    pthread_mutex_init(&p.err_mu, NULL);
    ck_registry_opts ro = {.cfg = im->cfg,
                           .auth = auth,
                           .progress_timeout_s = im->cfg->images.pull_progress_timeout,
                           .cancelled = pull_cancelled,
                           .cancel_arg = &p};
    int hold = ck_images_hold(im, err);
    int rc = hold < 0 ? -1 : ck_registry_open(&p.ref, &ro, &p.reg, err);
    if (rc == 0)
        rc = run_pull(&p, err);
    ck_images_unhold(hold);
    char norm[1100];
    ck_ref_string(&p.ref, norm, sizeof(norm));
    if (rc == 0) {
        *id_out = strdup(p.config_digest);
        if (*id_out == NULL)
            rc = ck_err_oom(err, "image id");
        else
            ck_info("images", "pulled %s: image %s, %zu layer(s)", norm, p.config_digest, p.n_layers);
    }
    ck_registry_close(p.reg);
    json_decref(p.config);
    free(p.layers);
    pthread_mutex_destroy(&p.err_mu);
    observe_pull(&p, err, rc == 0, &start);
    if (rc < 0) {
        ck_images_collect_garbage(im); /* a failed pull leaves nothing behind */
        return ck_err_wrap(err, "pull %s", norm);
    }
    return 0;
}

/* ---- import: OCI layout and docker-archive tarballs ----------------------------------------
 *
 * The tarball is read once, front to back. Files under blobs/sha256/ go into
 * the content store verified against their names; any other file (a
 * docker-archive's <id>/layer.tar and <hex>.json) is stored under the digest
 * of its content, which is remembered by path. index.json (OCI) or
 * manifest.json (docker) is kept in memory. Then each image it lists takes
 * the back half of a pull: config, diff ids, unpack, record. Nothing is
 * fetched from anywhere.
 */

enum { IMPORT_MAX_FILES = 100000 };

typedef struct imported_file {
    char *path;
    char digest[CK_DIGEST_BUF];
} imported_file;

typedef struct importer {
    ck_images *im;
    imported_file *files;
    size_t n_files, cap;
    char *index_json;
    char *manifest_json;
    char **ids;
    size_t n_ids;
} importer;

static void importer_clear(importer *x)
{
    for (size_t i = 0; i < x->n_files; i++)
        free(x->files[i].path);
    free(x->files);
    free(x->index_json);
    free(x->manifest_json);
}

static const char *imported_digest(const importer *x, const char *path)
{
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    for (size_t i = 0; i < x->n_files; i++)
        if (strcmp(x->files[i].path, path) == 0)
            return x->files[i].digest;
    return NULL;
}

static int read_small(struct archive *a, size_t size, char **out, const char *name, ck_err *err)
{
    if (size > MANIFEST_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "%s is larger than %d bytes", name, MANIFEST_MAX);
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return ck_err_oom(err, name);
    la_ssize_t n = archive_read_data(a, buf, size);
    if (n < 0 || (size_t)n != size) {
        free(buf);
        return ck_err_set(err, CK_E_INVALID, 0, "read %s from the archive: %s", name, archive_error_string(a));
    }
    buf[size] = '\0';
    free(*out);
    *out = buf;
    return 0;
}

static int store_entry(importer *x, struct archive *a, const char *name, int64_t size, ck_err *err)
{
    const char *hex = strncmp(name, "blobs/sha256/", 13) == 0 ? name + 13 : NULL;
    char digest[CK_DIGEST_BUF + 8] = "";
    if (hex != NULL)
        snprintf(digest, sizeof(digest), "sha256:%s", hex);
    ck_content_writer *w = NULL;
    if (ck_content_writer_open(x->im->content, hex != NULL ? digest : NULL, size, &w, err) < 0)
        return ck_err_wrap(err, "archive file %s", name);
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        if (ck_content_write(w, buf, len, err) < 0) {
            ck_content_abort(w);
            return ck_err_wrap(err, "archive file %s", name);
        }
    }
    if (r != ARCHIVE_EOF) {
        ck_content_abort(w);
        return ck_err_set(err, CK_E_INVALID, 0, "archive file %s: %s", name, archive_error_string(a));
    }
    if (x->n_files == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 32;
        imported_file *nf = realloc(x->files, cap * sizeof(*nf));
        if (nf == NULL) {
            ck_content_abort(w);
            return ck_err_oom(err, "import");
        }
        x->files = nf;
        x->cap = cap;
    }
    imported_file *f = &x->files[x->n_files];
    if (ck_content_commit_as(w, f->digest, err) < 0)
        return ck_err_wrap(err, "archive file %s", name);
    if ((f->path = strdup(name)) == NULL)
        return ck_err_oom(err, "import");
    x->n_files++;
    return 0;
}

static int read_tarball(importer *x, const char *path, ck_err *err)
{
    struct archive *a = archive_read_new();
    if (a == NULL)
        return ck_err_oom(err, "archive reader");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int rc = 0;
    if (archive_read_open_filename(a, path, (size_t)128 * 1024) != ARCHIVE_OK)
        rc = ck_err_set(err, CK_E_INVALID, 0, "open %s: %s", path, archive_error_string(a));
    struct archive_entry *e;
    while (rc == 0) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = ck_err_set(err, CK_E_INVALID, 0, "%s is not a valid tar: %s", path, archive_error_string(a));
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *name = archive_entry_pathname(e);
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        if (name[0] == '/' || strstr(name, "..") != NULL || x->n_files >= IMPORT_MAX_FILES) {
            rc = ck_err_set(err, CK_E_INVALID, 0, "archive entry \"%.200s\" is not allowed", name);
            break;
        }
        int64_t size = archive_entry_size(e);
        if (strcmp(name, "index.json") == 0)
            rc = read_small(a, (size_t)size, &x->index_json, name, err);
        else if (strcmp(name, "manifest.json") == 0)
            rc = read_small(a, (size_t)size, &x->manifest_json, name, err);
        else if (strcmp(name, "oci-layout") != 0 && strcmp(name, "repositories") != 0)
            rc = store_entry(x, a, name, size, err);
    }
    archive_read_free(a);
    return rc;
}

static int add_id(importer *x, const char *id, ck_err *err)
{
    char **n = realloc(x->ids, (x->n_ids + 1) * sizeof(char *));
    if (n == NULL)
        return ck_err_oom(err, "import");
    x->ids = n;
    if ((x->ids[x->n_ids] = strdup(id)) == NULL)
        return ck_err_oom(err, "import");
    x->n_ids++;
    return 0;
}

/* Whether layer i of p is unpacked (its tree in place). */
static bool have_tree(const pull *p, size_t i)
{
    char dest[4400];
    struct stat st;
    ck_images_layer_dir(p->im, p->layers[i].chain_id, dest, sizeof(dest));
    return stat(dest, &st) == 0;
}

/* Config and layers named in p must all have come with the archive. A
 * layer may be there as its tree instead: another import that stored the
 * same blob unpacked it, then dropped it. */
static int check_blobs_present(pull *p, ck_err *err)
{
    if (ck_content_size(p->im->content, p->config_digest) != p->config_size)
        return ck_err_set(err, CK_E_INVALID, 0, "config %s is missing from the archive", p->config_digest);
    return 0;
}

static int check_layers_present(pull *p, ck_err *err)
{
    for (size_t i = 0; i < p->n_layers; i++)
        if (ck_content_size(p->im->content, p->layers[i].digest) != p->layers[i].size && !have_tree(p, i))
            return ck_err_set(err, CK_E_INVALID, 0, "layer %s is missing from the archive", p->layers[i].digest);
    return 0;
}

/* The image is recorded: the layer blobs the archive brought go, their
 * trees being what is kept. A pull or another import reading one of them
 * finds the tree in its stead. */
static void drop_layer_blobs(pull *p)
{
    for (size_t i = 0; i < p->n_layers; i++) {
        ck_err err;
        if (have_tree(p, i) && ck_content_delete(p->im->content, p->layers[i].digest, &err) < 0)
            ck_warn("images", "layer blob %s kept: %s", p->layers[i].digest, err.msg);
    }
}

static void pull_reset(pull *p)
{
    json_decref(p->config);
    free(p->layers);
    ck_images *im = p->im;
    memset(p, 0, sizeof(*p));
    p->im = im;
}

/* The back half of a pull, for an image whose blobs are all stored. */
static int finish_import(importer *x, pull *p, const ck_ref *tags, size_t n_tags, ck_err *err)
{
    if (check_blobs_present(p, err) < 0 || read_config(p, err) < 0 || check_layers_present(p, err) < 0 ||
        unpack_layers(p, err) < 0 || record_image(p, tags, n_tags, err) < 0)
        return -1;
    drop_layer_blobs(p);
    return add_id(x, p->config_digest, err);
}

static int import_oci_entry(importer *x, json_t *m, ck_err *err)
{
    const char *digest = json_string_value(json_object_get(m, "digest"));
    if (ck_digest_check(digest, err) < 0)
        return ck_err_wrap(err, "index.json entry");
    json_t *ann = json_object_get(m, "annotations");
    const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));
    if (name == NULL)
        name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    pull p = {.im = x->im};
    size_t n_tags = 0;
    if (name != NULL && strchr(name, '/') != NULL && ck_ref_parse(name, &p.ref, NULL) == 0)
        n_tags = 1;
    char current[CK_DIGEST_BUF];
    snprintf(current, sizeof(current), "%s", digest);
    int rc = -1;
    for (int depth = 0; depth < 2; depth++) {
        _cleanup_free_ char *body = NULL;
        size_t len;
        if (ck_content_read(x->im->content, current, MANIFEST_MAX, &body, &len, err) < 0)
            break;
        json_t *j = json_loadb(body, len, 0, NULL);
        ck_manifest_kind k;
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        if (j == NULL || ck_manifest_classify(j, mt, &k, err) < 0) {
            if (j == NULL)
                ck_err_set(err, CK_E_INVALID, 0, "manifest %s is not JSON", current);
            json_decref(j);
            break;
        }
        if (k == CK_MANIFEST_INDEX) {
            if (depth == 0) {
                snprintf(p.index_digest, sizeof(p.index_digest), "%s", current);
                snprintf(p.repo_digest, sizeof(p.repo_digest), "%s", current);
            }
            rc = select_platform(j, current, err);
            json_decref(j);
            if (rc < 0)
                break;
            rc = -1;
            continue;
        }
        snprintf(p.manifest_digest, sizeof(p.manifest_digest), "%s", current);
        if (p.repo_digest[0] == '\0')
            snprintf(p.repo_digest, sizeof(p.repo_digest), "%s", current);
        if (n_tags == 0)
            p.repo_digest[0] = '\0'; /* no repository to name the digest after */
        rc = read_manifest(&p, j, err);
        json_decref(j);
        if (rc == 0)
            rc = finish_import(x, &p, &p.ref, n_tags, err);
        break;
    }
    pull_reset(&p);
    return rc;
}

static int import_docker_entry(importer *x, json_t *m, ck_err *err)
{
    pull p = {.im = x->im};
    const char *cfg = json_string_value(json_object_get(m, "Config"));
    const char *cd = cfg != NULL ? imported_digest(x, cfg) : NULL;
    if (cd == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "manifest.json: config %s is missing from the archive",
                          cfg != NULL ? cfg : "(none)");
    snprintf(p.config_digest, sizeof(p.config_digest), "%s", cd);
    p.config_size = ck_content_size(x->im->content, cd);
    json_t *ls = json_object_get(m, "Layers");
    p.n_layers = json_array_size(ls);
    p.layers = calloc(p.n_layers + 1, sizeof(*p.layers));
    if (p.layers == NULL || p.n_layers > MAX_LAYERS) {
        free(p.layers);
        return p.layers == NULL ? ck_err_oom(err, "layers") : ck_err_set(err, CK_E_INVALID, 0, "too many layers");
    }
    for (size_t i = 0; i < p.n_layers; i++) {
        const char *lp = json_string_value(json_array_get(ls, i));
        const char *ld = lp != NULL ? imported_digest(x, lp) : NULL;
        if (ld == NULL) {
            free(p.layers);
            return ck_err_set(err, CK_E_INVALID, 0, "manifest.json: layer %s is missing from the archive",
                              lp != NULL ? lp : "(none)");
        }
        snprintf(p.layers[i].digest, CK_DIGEST_BUF, "%s", ld);
        p.layers[i].size = ck_content_size(x->im->content, ld);
        snprintf(p.layers[i].media_type, sizeof(p.layers[i].media_type), "%s",
                 "application/vnd.docker.image.rootfs.diff.tar");
    }
    json_t *tags = json_object_get(m, "RepoTags");
    size_t n = json_array_size(tags), k = 0;
    ck_ref *refs = calloc(n + 1, sizeof(*refs));
    int rc = refs != NULL ? 0 : ck_err_oom(err, "tags");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *t = json_string_value(json_array_get(tags, i));
        if (t != NULL && ck_ref_parse(t, &refs[k], NULL) == 0 && refs[k].tag[0] != '\0')
            k++;
    }
    if (rc == 0)
        rc = finish_import(x, &p, refs, k, err);
    free(refs);
    pull_reset(&p);
    return rc;
}

int ck_images_import(ck_images *im, const char *tarball, char ***ids_out, size_t *n, ck_err *err)
{
    *ids_out = NULL;
    *n = 0;
    importer x = {.im = im};
    int hold = ck_images_hold(im, err); /* a daemon beside us must not collect what we have not recorded yet */
    int rc = hold < 0 ? -1 : read_tarball(&x, tarball, err);
    json_t *list = NULL;
    if (rc == 0) {
        const char *text = x.index_json != NULL ? x.index_json : x.manifest_json;
        if (text == NULL)
            rc = ck_err_set(err, CK_E_INVALID, 0,
                            "%s has neither index.json (OCI layout) nor manifest.json (docker-archive)", tarball);
        else if ((list = json_loads(text, 0, NULL)) == NULL)
            rc = ck_err_set(err, CK_E_INVALID, 0, "%s: %s is not JSON", tarball,
                            x.index_json != NULL ? "index.json" : "manifest.json");
    }
    if (rc == 0 && x.index_json != NULL) {
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(list, "manifests"), i, m)
        {
            if (rc == 0)
                rc = import_oci_entry(&x, m, err);
        }
    } else if (rc == 0) {
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
        {
            if (rc == 0)
                rc = import_docker_entry(&x, m, err);
        }
    }
    if (rc == 0 && x.n_ids == 0)
        rc = ck_err_set(err, CK_E_INVALID, 0, "%s lists no image", tarball);
    json_decref(list);
    ck_images_unhold(hold);
    importer_clear(&x);
    if (rc < 0) {
        for (size_t i = 0; i < x.n_ids; i++)
            free(x.ids[i]);
        free(x.ids);
        ck_images_collect_garbage(im);
        return ck_err_wrap(err, "import %s", tarball);
    }
    *ids_out = x.ids;
    *n = x.n_ids;
    return 0;
}
