/*
 * reference: image references parsed and normalized the way the kubelet
 * and Docker do (github.com/distribution/reference's grammar):
 *
 *   busybox                      -> docker.io/library/busybox:latest
 *   quay.io/ns/app:v1            -> quay.io/ns/app:v1
 *   127.0.0.1:5000/ns/name       -> 127.0.0.1:5000/ns/name:latest
 *   name@sha256:<hex>            -> docker.io/library/name@sha256:<hex>
 *   name:tag@sha256:<hex>        -> both kept; the digest decides what is pulled
 *
 * The first path component is a registry host when it holds a '.' or a ':'
 * or is "localhost"; index.docker.io is docker.io. Repository paths are
 * lower case. A malformed reference is CK_E_INVALID naming the problem.
 */
#ifndef CK_IMAGES_REFERENCE_H
#define CK_IMAGES_REFERENCE_H

#include <stdbool.h>

#include "common/err.h"

#define CK_REF_NAME_MAX 255

typedef struct ck_ref {
    char domain[256]; /* "docker.io", "127.0.0.1:5000" */
    char path[256];   /* "library/busybox" */
    char tag[129];    /* "" when none was given and a digest was */
    char digest[140]; /* "" or "sha256:<hex>" */
} ck_ref;

int ck_ref_parse(const char *s, ck_ref *out, ck_err *err);

/* "domain/path" */
void ck_ref_name(const ck_ref *r, char *buf, size_t cap);
/* "domain/path:tag", or "" when the reference has no tag. */
void ck_ref_tagged(const ck_ref *r, char *buf, size_t cap);
/* "domain/path@digest" for a given digest. */
void ck_ref_digested(const ck_ref *r, const char *digest, char *buf, size_t cap);
/* The full normalized string: name[:tag][@digest]. */
void ck_ref_string(const ck_ref *r, char *buf, size_t cap);

/* True for a bare image id: 64 hex digits, or "sha256:" and 64 hex digits. */
bool ck_ref_is_image_id(const char *s);

#endif
