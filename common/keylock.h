/*
 * keylock: one lock per object id (a pod, a container), made when first
 * wanted and forgotten when nobody holds or waits for it. An operation on
 * one object never waits for an operation on another, however long that
 * takes (a CNI ADD, a runtime create). Waiting for the same object gives up
 * when the caller's call is over (see cancel.h), so retries of a hung
 * operation never pile up on the worker threads.
 */
#ifndef CK_COMMON_KEYLOCK_H
#define CK_COMMON_KEYLOCK_H

#include <pthread.h>
#include <stddef.h>

#include "common/cancel.h"
#include "common/err.h"

typedef struct ck_keylock_entry ck_keylock_entry;

typedef struct ck_keylock {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast when a key is released */
    ck_keylock_entry *entries;
} ck_keylock;

void ck_keylock_init(ck_keylock *kl);
/* Every key must have been released. */
void ck_keylock_destroy(ck_keylock *kl);
/* The same on the heap (NULL when out of memory); free accepts NULL. */
ck_keylock *ck_keylock_new(void);
void ck_keylock_free(ck_keylock *kl);

/* Takes the lock of key, waiting while another holds it. `what` names the
 * object for the error ("pod 3f2a..."). When cancel (may be NULL: wait as
 * long as it takes) says the call is over first: CK_E_CANCELLED, nothing
 * held. Not reentrant. */
int ck_keylock_acquire(ck_keylock *kl, const char *key, const ck_cancel *cancel, const char *what, ck_err *err);
void ck_keylock_release(ck_keylock *kl, const char *key);

#endif
