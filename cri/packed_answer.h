/*
 * packed_answer: the last serialized answer of one kind of list call, kept
 * with the version of the domain's state it was made from, so that a list
 * repeated while nothing changed (the kubelet lists containers every
 * second) sends the same bytes again instead of building and packing a
 * thousand entries. The domain says what a version is (for containers:
 * ck_container_list_since); this only keeps the bytes.
 *
 * One answer per kind, replaced by the next one packed at a newer version
 * and freed when the server stops: memory stays bounded by one answer of
 * each kind. The bytes are a refcounted gRPC slice: a call sending them
 * holds its own reference, so replacing the answer never pulls bytes from
 * under a call still sending them.
 */
#ifndef CK_CRI_PACKED_ANSWER_H
#define CK_CRI_PACKED_ANSWER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <grpc/slice.h>

/* The answers kept (cri/server.c holds one of each). */
typedef enum ck_packed_kind {
    CK_PACKED_CONTAINERS,         /* ListContainers, no filter (or an empty one) */
    CK_PACKED_RUNNING_CONTAINERS, /* ListContainers, filter state RUNNING only */
    CK_PACKED_KINDS
} ck_packed_kind;

typedef struct ck_packed_answer {
    pthread_mutex_t mu;
    uint64_t version; /* 0: none kept */
    grpc_slice bytes;
} ck_packed_answer;

void ck_packed_answer_init(ck_packed_answer *a);
void ck_packed_answer_free(ck_packed_answer *a);
/* The version of the answer kept, 0 when none. */
uint64_t ck_packed_answer_version(ck_packed_answer *a);
/* A reference to the bytes kept if they are of version (unref it), else
 * false (another call replaced them meanwhile). */
bool ck_packed_answer_take(ck_packed_answer *a, uint64_t version, grpc_slice *out);
/* Keeps bytes (a reference of its own) as the answer of version, unless
 * what is kept is of a newer one. */
void ck_packed_answer_put(ck_packed_answer *a, uint64_t version, grpc_slice bytes);

#endif
