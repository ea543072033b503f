/*
 * fuzz_image_manifest: the image documents a registry or an image archive
 * hands over, through the pure parsers a pull uses (images/manifest.c):
 * manifest or index JSON, the platform choice in an index, the config
 * descriptor and layers of an image manifest, and the image config's diff
 * ids, chain ids and the summary the image record keeps.
 *
 * The first byte chooses what the rest is read as:
 *   bit 0-1  the Content-Type the registry sent: none, OCI manifest, Docker
 *            manifest list, application/json
 *   bit 2    0: a manifest or index; 1: an image config
 *   bit 3-5  for a config, how many layers its manifest listed (0..7)
 * Whatever parses must keep its promises: digests are sha256:<hex>, sizes
 * are not negative, the layer count is within bounds, chain ids are
 * digests, and the summary serializes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/manifest.h"

static const char *const content_types[] = {
    NULL,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/json",
};

static void digest_or_abort(const char *d)
{
    if (ck_digest_check(d, NULL) < 0) {
        fprintf(stderr, "parser let \"%s\" through as a digest\n", d);
        abort();
    }
}

static void refusal_or_abort(const ck_err *err)
{
    if (err->kind == CK_E_NONE || err->msg[0] == '\0')
        abort(); /* a refusal always says what and why */
}

static void manifest(const char *body, size_t len, const char *ctype)
{
    json_t *j = NULL;
    ck_manifest_kind kind;
    ck_err err;
    ck_err_clear(&err);
    if (ck_manifest_parse(body, len, ctype, &j, &kind, &err) < 0) {
        refusal_or_abort(&err);
        return;
    }
    if (kind == CK_MANIFEST_INDEX) {
        static const char *const platforms[][2] = {{"amd64", ""}, {"arm64", "v8"}, {"arm", "v7"}};
        for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
            char digest[CK_DIGEST_BUF];
            ck_err_clear(&err);
            if (ck_index_select(j, platforms[i][0], platforms[i][1], digest, &err) == 0)
                digest_or_abort(digest);
            else
                refusal_or_abort(&err);
        }
    } else {
        char config[CK_DIGEST_BUF];
        int64_t config_size = -1;
        ck_layer *layers = NULL;
        size_t n = 0;
        ck_err_clear(&err);
        if (ck_manifest_image(j, config, &config_size, &layers, &n, &err) == 0) {
            digest_or_abort(config);
            if (config_size < 0 || n > CK_MANIFEST_MAX_LAYERS || layers == NULL)
                abort();
            for (size_t i = 0; i < n; i++) {
                digest_or_abort(layers[i].digest);
                if (layers[i].size < 0)
                    abort();
            }
            free(layers);
        } else {
            refusal_or_abort(&err);
            if (layers != NULL || n != 0)
                abort(); /* a failure returns nothing */
        }
    }
    json_decref(j);
}

static void config(const char *body, size_t len, size_t n_layers)
{
    ck_layer layers[8];
    memset(layers, 0, sizeof(layers));
    json_t *c = NULL;
    ck_err err;
    ck_err_clear(&err);
    if (ck_image_config_parse(body, len, "fuzz", layers, n_layers, &c, &err) < 0) {
        refusal_or_abort(&err);
        if (c != NULL)
            abort();
        return;
    }
    for (size_t i = 0; i < n_layers; i++) {
        digest_or_abort(layers[i].diff_id);
        digest_or_abort(layers[i].chain_id);
    }
    json_t *summary = ck_image_config_summary(c);
    char *text = summary != NULL ? json_dumps(summary, JSON_COMPACT) : NULL;
    if (text == NULL)
        abort(); /* the summary of any parsed config must serialize */
    free(text);
    json_decref(summary);
    json_decref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t sel = data[0];
    const char *body = (const char *)data + 1;
    if (sel & 4)
        config(body, size - 1, (sel >> 3) & 7);
    else
        manifest(body, size - 1, content_types[sel & 3]);
    return 0;
}
