/*
 * manifest: what a registry or an image archive says about an image, read
 * from bytes and nothing else. An image manifest or index (OCI or Docker
 * schema 2) is parsed and classified; an index yields the entry for a
 * platform; an image manifest yields its config descriptor and its layers;
 * the image config yields each layer's diff id and chain id, and the parts
 * of the config the image record keeps (user, env, entrypoint, ...).
 *
 * Nothing here fetches, stores, unpacks or executes: pull.c and the importer
 * feed these functions what they downloaded or read from a tarball, and
 * fuzz/fuzz_image_manifest.c feeds them anything. Every field that comes
 * from outside is checked (digests are sha256:<hex>, sizes are
 * non-negative, layer media types are ones we can unpack, the layer count
 * is bounded) before a caller sees it.
 */
#ifndef CK_IMAGES_MANIFEST_H
#define CK_IMAGES_MANIFEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "images/content.h"

#define CK_MANIFEST_MAX_LAYERS 256

typedef enum ck_manifest_kind { CK_MANIFEST_INDEX, CK_MANIFEST_IMAGE } ck_manifest_kind;

typedef struct ck_layer {
    char digest[CK_DIGEST_BUF];
    int64_t size;
    char media_type[128];
    char diff_id[CK_DIGEST_BUF];  /* from the image config */
    char chain_id[CK_DIGEST_BUF]; /* from the image config */
} ck_layer;

/* Says whether a parsed manifest is an index or an image manifest, from its
 * mediaType, else content_type (the HTTP Content-Type or the index entry's
 * mediaType; may be NULL), else its shape. Docker schema 1 is
 * CK_E_UNIMPLEMENTED, anything else unknown CK_E_INVALID. */
int ck_manifest_classify(const json_t *j, const char *content_type, ck_manifest_kind *out, ck_err *err);

/* Parses len bytes of a manifest or index: a JSON object, classified as
 * above. *out is the parsed JSON (the caller's reference). */
int ck_manifest_parse(const char *body, size_t len, const char *content_type, json_t **out, ck_manifest_kind *kind,
                      ck_err *err);

/* This host's platform in OCI terms: "amd64" and "", "arm64" and "v8", ... */
void ck_host_platform(char *arch, size_t acap, char *variant, size_t vcap);

/* The digest of an index's entry for linux/arch[/variant]: an exact variant
 * wins, then an entry without variant. None: CK_E_NOT_FOUND listing what the
 * index has. */
int ck_index_select(const json_t *index, const char *arch, const char *variant, char digest_out[CK_DIGEST_BUF],
                    ck_err *err);

/* The config descriptor and the layers of an image manifest. *layers (with
 * digest, size and media type filled) is the caller's to free; on failure
 * nothing is returned. */
int ck_manifest_image(const json_t *m, char config_digest[CK_DIGEST_BUF], int64_t *config_size, ck_layer **layers,
                      size_t *n_layers, ck_err *err);

/* Parses an image config (len bytes; what names it in errors, e.g. its
 * digest): it must list exactly n_layers diff ids, which are copied into
 * layers[i].diff_id along with the chain ids they make. *config is the
 * parsed JSON (the caller's reference). */
int ck_image_config_parse(const char *body, size_t len, const char *what, ck_layer *layers, size_t n_layers,
                          json_t **config, ck_err *err);

/* What the image record keeps of a parsed config: {"user", "env",
 * "entrypoint", "cmd", "workdir", "stop_signal", "volumes", "labels"}, with
 * missing or mistyped fields as empty values. A new reference, or NULL when
 * out of memory. */
json_t *ck_image_config_summary(json_t *config);

#endif
