/*
 * fuzz_auth_challenge: the WWW-Authenticate parser (images/challenge.c) on
 * any bytes, as a registry (or anything answering in its place) can send
 * them with a 401. A header that parses is written back in canonical form
 * (every value quoted and escaped) and must parse to the same challenge; one
 * that does not must be CK_E_INVALID with a reason and no challenge.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_text.h"
#include "images/challenge.h"

/* Appends name="value" with " and \ escaped. */
static size_t put_param(char *buf, size_t at, const char *name, const char *value)
{
    at += (size_t)sprintf(buf + at, ",%s=\"", name);
    for (const char *v = value; *v != '\0'; v++) {
        if (*v == '"' || *v == '\\')
            buf[at++] = '\\';
        buf[at++] = *v;
    }
    buf[at++] = '"';
    buf[at] = '\0';
    return at;
}

static void check_round_trip(const ck_auth_challenge *c)
{
    static const char *const names[] = {
        [CK_AUTH_NONE] = "", [CK_AUTH_OTHER] = "Other", [CK_AUTH_BASIC] = "Basic", [CK_AUTH_BEARER] = "Bearer"};
    /* Worst case every byte escaped: 2 x (1023 + 511 + 1023) plus names. */
    static char buf[2 * (sizeof(c->realm) + sizeof(c->service) + sizeof(c->scope)) + 64];
    size_t at = (size_t)sprintf(buf, "%s", names[c->scheme]);
    if (c->scheme == CK_AUTH_BASIC || c->scheme == CK_AUTH_BEARER) {
        at = put_param(buf, at, "realm", c->realm);
        at = put_param(buf, at, "service", c->service);
        put_param(buf, at, "scope", c->scope);
    }
    ck_auth_challenge again;
    ck_err err;
    ck_err_clear(&err);
    if (ck_auth_challenge_parse(buf, &again, &err) < 0) {
        fprintf(stderr, "canonical form refused: %s: %s\n", buf, err.msg);
        abort();
    }
    if (again.scheme != c->scheme)
        abort();
    if (c->scheme != CK_AUTH_OTHER && (strcmp(again.realm, c->realm) != 0 || strcmp(again.service, c->service) != 0 ||
                                       strcmp(again.scope, c->scope) != 0))
        abort(); /* the canonical form says the same */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = fuzz_text(data, size);
    if (header == NULL)
        return 0;
    ck_auth_challenge c;
    ck_err err;
    ck_err_clear(&err);
    if (ck_auth_challenge_parse(header, &c, &err) == 0)
        check_round_trip(&c);
    else if (err.kind != CK_E_INVALID || err.msg[0] == '\0' || c.scheme != CK_AUTH_NONE)
        abort();
    free(header);
    return 0;
}
