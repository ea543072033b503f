/*
 * tokens: a fixed array of slots under one mutex. A thousand slots scanned
 * linearly cost microseconds, far below a call's or a connection's price,
 * and keep eviction (the oldest) and expiry (checked at every put and take)
 * trivially right.
 */
#include "streaming/tokens.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/id.h"
#include "common/timeutil.h"

typedef struct slot {
    char token[CK_TOKEN_LEN + 1]; /* "" = free */
    ck_stream_request *req;
    long long expires_ms;
} slot;

struct ck_tokens {
    pthread_mutex_t lock;
    size_t max;
    long long ttl_ms;
    slot *slots;
};

ck_tokens *ck_tokens_new(size_t max, long long ttl_ms)
{
    ck_tokens *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->slots = calloc(max > 0 ? max : 1, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->max = max > 0 ? max : 1;
    t->ttl_ms = ttl_ms;
    return t;
}

static ck_stream_request *take_request(slot *s)
{
    ck_stream_request *r = s->req;
    s->req = NULL;
    return r;
}

static void slot_clear(slot *s)
{
    ck_stream_request_free(s->req);
    memset(s, 0, sizeof(*s));
}

void ck_tokens_free(ck_tokens *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->max; i++)
        slot_clear(&t->slots[i]);
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

/* Frees the expired slots; returns a free slot, else the oldest (cleared). */
static slot *free_slot(ck_tokens *t, long long now)
{
    slot *free_one = NULL, *oldest = NULL;
    for (size_t i = 0; i < t->max; i++) {
        slot *s = &t->slots[i];
        if (s->token[0] != '\0' && s->expires_ms <= now)
            slot_clear(s);
        if (s->token[0] == '\0') {
            if (free_one == NULL)
                free_one = s;
        } else if (oldest == NULL || s->expires_ms < oldest->expires_ms) {
            oldest = s;
        }
    }
    if (free_one != NULL || oldest == NULL) /* oldest is NULL only when every slot is free */
        return free_one != NULL ? free_one : &t->slots[0];
    slot_clear(oldest);
    return oldest;
}

int ck_tokens_put(ck_tokens *t, ck_stream_request *req, char token[CK_TOKEN_LEN + 1], ck_err *err)
{
    char id[CK_ID_LEN + 1];
    if (ck_random_id(id, err) < 0) {
        ck_stream_request_free(req);
        return ck_err_wrap(err, "streaming token");
    }
    memcpy(token, id, CK_TOKEN_LEN);
    token[CK_TOKEN_LEN] = '\0';
    pthread_mutex_lock(&t->lock);
    slot *s = free_slot(t, ck_mono_ms());
    memcpy(s->token, token, CK_TOKEN_LEN + 1);
    s->req = req;
    s->expires_ms = ck_mono_ms() + t->ttl_ms;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

ck_stream_request *ck_tokens_take(ck_tokens *t, const char *token)
{
    if (token == NULL || strlen(token) != CK_TOKEN_LEN)
        return NULL;
    ck_stream_request *req = NULL;
    long long now = ck_mono_ms();
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->max; i++) {
        slot *s = &t->slots[i];
        if (s->token[0] == '\0' || strcmp(s->token, token) != 0)
            continue;
        if (s->expires_ms > now)
            req = take_request(s);
        slot_clear(s);
        break;
    }
    pthread_mutex_unlock(&t->lock);
    return req;
}

size_t ck_tokens_count(ck_tokens *t)
{
    size_t n = 0;
    long long now = ck_mono_ms();
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->max; i++)
        n += t->slots[i].token[0] != '\0' && t->slots[i].expires_ms > now;
    pthread_mutex_unlock(&t->lock);
    return n;
}
