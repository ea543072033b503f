/*
 * packed_answer: see the header.
 */
#include "cri/packed_answer.h"

void ck_packed_answer_init(ck_packed_answer *a)
{
    pthread_mutex_init(&a->mu, NULL);
    a->version = 0;
    a->bytes = grpc_empty_slice();
}

void ck_packed_answer_free(ck_packed_answer *a)
{
    grpc_slice_unref(a->bytes);
    a->bytes = grpc_empty_slice();
    a->version = 0;
    pthread_mutex_destroy(&a->mu);
}

uint64_t ck_packed_answer_version(ck_packed_answer *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t v = a->version;
    pthread_mutex_unlock(&a->mu);
    return v;
}

bool ck_packed_answer_take(ck_packed_answer *a, uint64_t version, grpc_slice *out)
{
    pthread_mutex_lock(&a->mu);
    bool found = version != 0 && a->version == version;
    if (found)
        *out = grpc_slice_ref(a->bytes);
    pthread_mutex_unlock(&a->mu);
    return found;
}

void ck_packed_answer_put(ck_packed_answer *a, uint64_t version, grpc_slice bytes)
{
    pthread_mutex_lock(&a->mu);
    grpc_slice old = grpc_empty_slice();
    if (version > a->version) {
        old = a->bytes;
        a->bytes = grpc_slice_ref(bytes);
        a->version = version;
    }
    pthread_mutex_unlock(&a->mu);
    grpc_slice_unref(old);
}
