/*
 * content: the content store, blobs addressed by digest under
 * <root>/content/sha256/<hex>. A blob enters only through a writer: bytes
 * go to a temporary file in <root>/content/ingest while their SHA-256 is
 * computed (OpenSSL), and commit renames the file into place only when the
 * digest and the size both match what the manifest promised; anything else
 * is an error and leaves no file. So a blob in the store is always whole and
 * verified, and readers never see a partial one.
 *
 * Layers are not kept here once unpacked: a pull verifies a layer's bytes
 * with a writer that stores nothing (ck_content_verifier_open) while they
 * stream into the unpack; an import drops the layer blobs it stored once
 * they are unpacked, and the garbage collection any other (images/pull.c,
 * images/records.c). Manifests and configs stay.
 *
 * Concurrent pulls of the same blob share one download: the caller takes the
 * digest's key lock (common/keylock.h) first, and whoever comes second finds the
 * blob present (a layer: its tree, images/pull.c).
 */
#ifndef CK_IMAGES_CONTENT_H
#define CK_IMAGES_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct ck_content ck_content;
typedef struct ck_content_writer ck_content_writer;

/* Length of "sha256:" + 64 hex digits, and a buffer that holds it. */
#define CK_DIGEST_LEN 71
#define CK_DIGEST_BUF 72

/* Checks "sha256:<64 lower-case hex>". Other algorithms: CK_E_UNIMPLEMENTED;
 * malformed: CK_E_INVALID naming the digest. */
int ck_digest_check(const char *digest, ck_err *err);
/* SHA-256 of buf as "sha256:<hex>". */
void ck_digest_of(const void *buf, size_t len, char out[CK_DIGEST_BUF]);

/* Opens the store on root_dir, creating content/sha256 and content/ingest.
 * It does not touch ingest/: another process may be writing there. */
int ck_content_open(const char *root_dir, ck_content **out, ck_err *err);
void ck_content_free(ck_content *c);
/* Removes the temporary files in ingest/ no live writer holds (what a
 * crashed or killed writer left); a file a writer in any process still
 * holds stays. */
void ck_content_clean_ingest(ck_content *c);

/* The blob's path (whether or not it exists). */
int ck_content_path(const ck_content *c, const char *digest, char *buf, size_t cap, ck_err *err);
bool ck_content_has(const ck_content *c, const char *digest);
/* Size of a stored blob, or -1 if absent. */
int64_t ck_content_size(const ck_content *c, const char *digest);

/* Starts a blob. expected_size < 0: unknown (checked only by digest).
 * digest NULL: the blob is named by what its content hashes to (imports of
 * files that carry no digest); commit it with ck_content_commit_as. */
int ck_content_writer_open(ck_content *c, const char *digest, int64_t expected_size, ck_content_writer **out,
                           ck_err *err);
/* A writer that keeps nothing: the same size and digest checks on the
 * bytes that pass through it (a layer unpacked as it downloads, whose tree
 * is what is kept), a commit that only says whether they held. */
int ck_content_verifier_open(const char *digest, int64_t expected_size, ck_content_writer **out, ck_err *err);
/* Appends bytes; writing past expected_size fails (CK_E_INVALID). */
int ck_content_write(ck_content_writer *w, const void *buf, size_t len, ck_err *err);
/* Bytes written so far. */
uint64_t ck_content_written(const ck_content_writer *w);
/* Verifies size and digest, syncs and renames into place. Frees w whether it
 * succeeds or not; on failure the temporary file is removed. A digest
 * mismatch is CK_E_INVALID naming both digests. */
int ck_content_commit(ck_content_writer *w, ck_err *err);
/* As ck_content_commit, and says under which digest the blob was stored. */
int ck_content_commit_as(ck_content_writer *w, char digest_out[CK_DIGEST_BUF], ck_err *err);
/* Drops the blob being written and frees w. NULL is fine. */
void ck_content_abort(ck_content_writer *w);

/* Stores a small blob held in memory (a manifest, a config). */
int ck_content_put(ck_content *c, const char *digest, const void *buf, size_t len, ck_err *err);
/* Reads a whole blob of at most max bytes; *buf is NUL-terminated (free it). */
int ck_content_read(const ck_content *c, const char *digest, size_t max, char **buf, size_t *len, ck_err *err);
/* Removes a blob; absent is fine. */
int ck_content_delete(ck_content *c, const char *digest, ck_err *err);

#endif
