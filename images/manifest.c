#include "images/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

/* ---- manifests and indexes ------------------------------------------------------------ */

int ck_manifest_classify(const json_t *j, const char *content_type, ck_manifest_kind *out, ck_err *err)
{
    json_t *sv = json_object_get(j, "schemaVersion");
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (mt == NULL || mt[0] == '\0')
        mt = content_type != NULL ? content_type : "";
    if (json_integer_value(sv) == 1 || strstr(mt, "distribution.manifest.v1+") != NULL)
        return ck_err_set(err, CK_E_UNIMPLEMENTED, 0,
                          "Docker schema 1 manifests are not supported (deprecated since 2017): push the image "
                          "again with a current tool to get a schema 2 or OCI manifest");
    if (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0) {
        *out = CK_MANIFEST_INDEX;
        return 0;
    }
    if (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0) {
        *out = CK_MANIFEST_IMAGE;
        return 0;
    }
    if (mt[0] == '\0' || strcmp(mt, "application/json") == 0) { /* OCI allows omitting mediaType */
        if (json_is_array(json_object_get(j, "manifests"))) {
            *out = CK_MANIFEST_INDEX;
            return 0;
        }
        if (json_is_object(json_object_get(j, "config")) && json_is_array(json_object_get(j, "layers"))) {
            *out = CK_MANIFEST_IMAGE;
            return 0;
        }
    }
    return ck_err_set(err, CK_E_INVALID, 0, "unknown manifest media type \"%.200s\"", mt);
}

int ck_manifest_parse(const char *body, size_t len, const char *content_type, json_t **out, ck_manifest_kind *kind,
                      ck_err *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return ck_err_set(err, CK_E_INVALID, 0, "content is not a JSON object: %s (line %d)",
                          j == NULL ? jerr.text : "", j == NULL ? jerr.line : 1);
    }
    if (ck_manifest_classify(j, content_type, kind, err) < 0) {
        json_decref(j);
        return -1;
    }
    *out = j;
    return 0;
}

void ck_host_platform(char *arch, size_t acap, char *variant, size_t vcap)
{
    struct utsname u;
    const char *a = "amd64", *v = "";
    if (uname(&u) == 0) {
        if (strcmp(u.machine, "aarch64") == 0 || strcmp(u.machine, "arm64") == 0)
            a = "arm64", v = "v8";
        else if (strncmp(u.machine, "armv7", 5) == 0)
            a = "arm", v = "v7";
        else if (strncmp(u.machine, "armv6", 5) == 0)
            a = "arm", v = "v6";
        else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
            a = "386";
        else if (strcmp(u.machine, "ppc64le") == 0 || strcmp(u.machine, "s390x") == 0 ||
                 strcmp(u.machine, "riscv64") == 0)
            a = u.machine;
    }
    snprintf(arch, acap, "%s", a);
    snprintf(variant, vcap, "%s", v);
}

int ck_index_select(const json_t *index, const char *arch, const char *variant, char digest_out[CK_DIGEST_BUF],
                    ck_err *err)
{
    json_t *list = json_object_get(index, "manifests");
    if (!json_is_array(list))
        return ck_err_set(err, CK_E_INVALID, 0, "index has no \"manifests\" list");
    const char *best = NULL;
    int best_score = 0;
    char seen[512] = "";
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        json_t *p = json_object_get(m, "platform");
        const char *os = json_string_value(json_object_get(p, "os"));
        const char *a = json_string_value(json_object_get(p, "architecture"));
        const char *v = json_string_value(json_object_get(p, "variant"));
        size_t len = strlen(seen);
        snprintf(seen + len, sizeof(seen) - len, "%s%s/%s%s%s", len ? ", " : "", os ? os : "?", a ? a : "?",
                 v ? "/" : "", v ? v : "");
        if (os == NULL || a == NULL || strcmp(os, "linux") != 0 || strcmp(a, arch) != 0)
            continue;
        int score = v == NULL || v[0] == '\0' ? 1 : strcmp(v, variant) == 0 ? 2 : 0;
        if (score > best_score) {
            best_score = score;
            best = json_string_value(json_object_get(m, "digest"));
        }
    }
    if (best == NULL)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "index has no image for linux/%s%s%s (it has: %s)", arch,
                          variant[0] ? "/" : "", variant, seen[0] ? seen : "nothing");
    if (ck_digest_check(best, err) < 0)
        return ck_err_wrap(err, "index entry for linux/%s", arch);
    snprintf(digest_out, CK_DIGEST_BUF, "%s", best);
    return 0;
}

/* ---- image manifests ------------------------------------------------------------------ */

static bool layer_type_ok(const char *mt)
{
    static const char *const ok[] = {
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(mt, ok[i]) == 0)
            return true;
    return false;
}

static int descriptor(const json_t *d, char *digest, int64_t *size, char *mt, size_t mtcap, const char *what,
                      ck_err *err)
{
    const char *dg = json_string_value(json_object_get(d, "digest"));
    json_t *sz = json_object_get(d, "size");
    const char *m = json_string_value(json_object_get(d, "mediaType"));
    if (dg == NULL || !json_is_integer(sz) || json_integer_value(sz) < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "manifest: %s descriptor lacks a digest or a size", what);
    if (ck_digest_check(dg, err) < 0)
        return ck_err_wrap(err, "manifest: %s", what);
    snprintf(digest, CK_DIGEST_BUF, "%s", dg);
    *size = json_integer_value(sz);
    snprintf(mt, mtcap, "%s", m != NULL ? m : "");
    return 0;
}

static int read_layers(const json_t *ls, ck_layer *layers, size_t n, ck_err *err)
{
    for (size_t i = 0; i < n; i++) {
        ck_layer *l = &layers[i];
        char what[32];
        snprintf(what, sizeof(what), "layer %zu", i);
        if (descriptor(json_array_get(ls, i), l->digest, &l->size, l->media_type, sizeof(l->media_type), what, err) < 0)
            return -1;
        if (!layer_type_ok(l->media_type))
            return ck_err_set(err, CK_E_INVALID, 0, "layer %zu (%s): unknown layer media type \"%.200s\"", i, l->digest,
                              l->media_type);
    }
    return 0;
}

int ck_manifest_image(const json_t *m, char config_digest[CK_DIGEST_BUF], int64_t *config_size, ck_layer **layers,
                      size_t *n_layers, ck_err *err)
{
    *layers = NULL;
    *n_layers = 0;
    char mt[128];
    if (descriptor(json_object_get(m, "config"), config_digest, config_size, mt, sizeof(mt), "config", err) < 0)
        return -1;
    if (mt[0] != '\0' && strcmp(mt, MT_DOCKER_CONFIG) != 0 && strcmp(mt, MT_OCI_CONFIG) != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "not a container image: unknown config media type \"%.200s\"", mt);
    json_t *ls = json_object_get(m, "layers");
    if (!json_is_array(ls))
        return ck_err_set(err, CK_E_INVALID, 0, "manifest has no \"layers\" list");
    size_t n = json_array_size(ls);
    if (n > CK_MANIFEST_MAX_LAYERS)
        return ck_err_set(err, CK_E_INVALID, 0, "manifest has %zu layers, more than %d", n, CK_MANIFEST_MAX_LAYERS);
    ck_layer *l = calloc(n + 1, sizeof(*l));
    if (l == NULL)
        return ck_err_oom(err, "layers");
    if (read_layers(ls, l, n, err) < 0) {
        free(l);
        return -1;
    }
    *layers = l;
    *n_layers = n;
    return 0;
}

/* ---- image configs -------------------------------------------------------------------- */

/* layers[i].chain_id: the first diff id, then sha256 of "<previous chain id> <diff id>". */
static int read_diff_ids(const json_t *ids, const char *what, ck_layer *layers, size_t n_layers, ck_err *err)
{
    if (!json_is_array(ids) || json_array_size(ids) != n_layers)
        return ck_err_set(err, CK_E_INVALID, 0, "image config %s: %zu diff ids for %zu layers", what,
                          json_is_array(ids) ? json_array_size(ids) : 0, n_layers);
    for (size_t i = 0; i < n_layers; i++) {
        const char *d = json_string_value(json_array_get(ids, i));
        if (ck_digest_check(d, err) < 0)
            return ck_err_wrap(err, "image config: diff id %zu", i);
        snprintf(layers[i].diff_id, CK_DIGEST_BUF, "%s", d);
        if (i == 0) {
            snprintf(layers[i].chain_id, CK_DIGEST_BUF, "%s", d);
        } else {
            char buf[2 * CK_DIGEST_BUF + 2];
            int n = snprintf(buf, sizeof(buf), "%s %s", layers[i - 1].chain_id, d);
            ck_digest_of(buf, (size_t)n, layers[i].chain_id);
        }
    }
    return 0;
}

int ck_image_config_parse(const char *body, size_t len, const char *what, ck_layer *layers, size_t n_layers,
                          json_t **config, ck_err *err)
{
    *config = NULL;
    json_error_t jerr;
    json_t *c = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(c)) {
        json_decref(c);
        return ck_err_set(err, CK_E_INVALID, 0, "image config %s is not a JSON object: %s", what,
                          c == NULL ? jerr.text : "");
    }
    if (read_diff_ids(json_object_get(json_object_get(c, "rootfs"), "diff_ids"), what, layers, n_layers, err) < 0) {
        json_decref(c);
        return -1;
    }
    *config = c;
    return 0;
}

static json_t *strv_or_empty(json_t *v)
{
    return json_is_array(v) ? json_deep_copy(v) : json_array();
}

json_t *ck_image_config_summary(json_t *config)
{
    json_t *c = json_object_get(config, "config");
    json_t *vols = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "Volumes"), k, v)
    {
        json_array_append_new(vols, json_string(k));
    }
    json_t *labels = json_object();
    json_object_foreach(json_object_get(c, "Labels"), k, v)
    {
        if (json_is_string(v))
            json_object_set(labels, k, v);
    }
    const char *user = json_string_value(json_object_get(c, "User"));
    const char *wd = json_string_value(json_object_get(c, "WorkingDir"));
    const char *sig = json_string_value(json_object_get(c, "StopSignal"));
    return json_pack("{s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:o}", "user", user ? user : "", "env",
                     strv_or_empty(json_object_get(c, "Env")), "entrypoint",
                     strv_or_empty(json_object_get(c, "Entrypoint")), "cmd", strv_or_empty(json_object_get(c, "Cmd")),
                     "workdir", wd ? wd : "", "stop_signal", sig ? sig : "", "volumes", vols, "labels", labels);
}
