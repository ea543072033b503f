#include "common/keylock.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

/* Few keys are locked at once (operations in flight), so a list is enough. */
struct ck_keylock_entry {
    ck_keylock_entry *next;
    unsigned users; /* the holder and the waiters */
    bool held;
    char key[];
};

void ck_keylock_init(ck_keylock *kl)
{
    pthread_mutex_init(&kl->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&kl->cv, &attr);
    pthread_condattr_destroy(&attr);
    kl->entries = NULL;
}

void ck_keylock_destroy(ck_keylock *kl)
{
    while (kl->entries != NULL) {
        ck_keylock_entry *next = kl->entries->next;
        free(kl->entries);
        kl->entries = next;
    }
    pthread_cond_destroy(&kl->cv);
    pthread_mutex_destroy(&kl->mu);
}

ck_keylock *ck_keylock_new(void)
{
    ck_keylock *kl = malloc(sizeof(*kl));
    if (kl != NULL)
        ck_keylock_init(kl);
    return kl;
}

void ck_keylock_free(ck_keylock *kl)
{
    if (kl == NULL)
        return;
    ck_keylock_destroy(kl);
    free(kl);
}

static ck_keylock_entry *find(ck_keylock *kl, const char *key)
{
    for (ck_keylock_entry *e = kl->entries; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Drops one user; the entry goes with its last. Caller holds kl->mu. */
static void put(ck_keylock *kl, ck_keylock_entry *e)
{
    if (--e->users > 0)
        return;
    for (ck_keylock_entry **p = &kl->entries; *p != NULL; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    free(e);
}

int ck_keylock_acquire(ck_keylock *kl, const char *key, const ck_cancel *cancel, const char *what, ck_err *err)
{
    pthread_mutex_lock(&kl->mu);
    ck_keylock_entry *e = find(kl, key);
    if (e == NULL) {
        size_t len = strlen(key);
        e = calloc(1, sizeof(*e) + len + 1);
        if (e == NULL) {
            pthread_mutex_unlock(&kl->mu);
            return ck_err_oom(err, what);
        }
        memcpy(e->key, key, len + 1);
        e->next = kl->entries;
        kl->entries = e;
    }
    e->users++;
    while (e->held) {
        if (ck_cancelled(cancel)) {
            put(kl, e);
            pthread_mutex_unlock(&kl->mu);
            return ck_err_set(err, CK_E_CANCELLED, 0,
                              "%s is busy with another call, and this call ended (cancelled or past its deadline) "
                              "while waiting for it",
                              what);
        }
        struct timespec until = ck_time_after_ms(CLOCK_MONOTONIC, CK_CANCEL_POLL_MS);
        pthread_cond_timedwait(&kl->cv, &kl->mu, &until);
    }
    e->held = true;
    pthread_mutex_unlock(&kl->mu);
    return 0;
}

void ck_keylock_release(ck_keylock *kl, const char *key)
{
    pthread_mutex_lock(&kl->mu);
    ck_keylock_entry *e = find(kl, key);
    if (e != NULL && e->held) {
        e->held = false;
        put(kl, e);
        pthread_cond_broadcast(&kl->cv);
    }
    pthread_mutex_unlock(&kl->mu);
}
