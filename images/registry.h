/*
 * registry: a client of the distribution API v2 for one repository, on
 * libcurl. It knows where to go (the configured mirrors in order, then the
 * origin; for an insecure host HTTPS without verification, then plain HTTP),
 * how to get in (WWW-Authenticate Bearer with an anonymous, basic,
 * identity-token or given registry token; Basic), and whom to trust (the
 * system CAs plus <ca_dir>/<host>/ *.crt and the host's ca_file).
 *
 * Transfers give up when no byte arrives for progress_timeout seconds and
 * when the caller's cancel function says so. Blobs are streamed straight
 * into the content store, verified by it.
 *
 * A session is used by several threads at once for parallel layer
 * downloads: each request has its own curl handle; the token is shared
 * under a lock.
 */
#ifndef CK_IMAGES_REGISTRY_H
#define CK_IMAGES_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "config/config.h"
#include "images/content.h"
#include "images/reference.h"

/* Credentials as the CRI's AuthConfig gives them; any may be NULL or "". */
typedef struct ck_auth {
    const char *username;
    const char *password;
    const char *auth; /* base64 "user:password" */
    const char *identity_token;
    const char *registry_token;
} ck_auth;

typedef bool (*ck_cancel_fn)(void *arg);

typedef struct ck_registry_opts {
    const ck_config *cfg;
    const ck_auth *auth; /* NULL: the configured credentials of the host, if any */
    unsigned progress_timeout_s;
    ck_cancel_fn cancelled;
    void *cancel_arg;
} ck_registry_opts;

typedef struct ck_registry ck_registry;

int ck_registry_open(const ck_ref *ref, const ck_registry_opts *opts, ck_registry **out, ck_err *err);
void ck_registry_close(ck_registry *r);

/* GETs the manifest named by reference (a tag or a digest). On success
 * *body (NUL-terminated, free it), *len, and media_type (the Content-Type,
 * "" if none) are set. Tries the endpoints in order and keeps the first that
 * answers for the blobs that follow. */
int ck_registry_get_manifest(ck_registry *r, const char *reference, size_t max, char **body, size_t *len,
                             char *media_type, size_t mt_cap, ck_err *err);

/* Where a blob's bytes go besides the content store, as they arrive (a layer
 * unpacked while it downloads). It cannot fail the download: a sink that
 * stops taking bytes drops them, and the download goes on to its verdict. */
typedef struct ck_blob_sink {
    void (*take)(void *arg, const void *buf, size_t len);
    void *arg;
} ck_blob_sink;

/* Streams the blob into the content store c, verified by digest and size,
 * and into sink (NULL: none). c NULL: the blob is verified the same way but
 * kept nowhere but in the sink. With a sink, another endpoint is asked only
 * when the previous one sent no byte of the blob. */
int ck_registry_fetch_blob(ck_registry *r, const char *digest, int64_t size, ck_content *c, const ck_blob_sink *sink,
                           ck_err *err);

#endif
