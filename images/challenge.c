/*
 * challenge: see challenge.h. One pass over the header: a token followed by
 * "=" is a parameter of the challenge being read, any other token starts a
 * new challenge. Values of parameters we do not use are read and dropped,
 * so their quoting is checked all the same.
 */
#include "images/challenge.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* RFC 7230 tchar. */
static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A token equals want, ignoring case (schemes and parameter names are case-insensitive). */
static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static ck_auth_scheme scheme_of(const char *name, size_t len)
{
    if (name_is(name, len, "Bearer"))
        return CK_AUTH_BEARER;
    if (name_is(name, len, "Basic"))
        return CK_AUTH_BASIC;
    return CK_AUTH_OTHER;
}

/* The field of c that parameter name fills, or NULL when we do not use it. */
static char *field_of(ck_auth_challenge *c, const char *name, size_t len, size_t *cap)
{
    if (name_is(name, len, "realm")) {
        *cap = sizeof(c->realm);
        return c->realm;
    }
    if (name_is(name, len, "service")) {
        *cap = sizeof(c->service);
        return c->service;
    }
    if (name_is(name, len, "scope")) {
        *cap = sizeof(c->scope);
        return c->scope;
    }
    return NULL;
}

/* Reads a token or quoted-string value at *pp into out (NULL: dropped),
 * unescaping \x in quoted strings. Unquoted values run to a comma or blank,
 * so an unquoted URL (seen from some registries) is taken whole. */
static int read_value(const char **pp, const char *name, size_t name_len, char *out, size_t cap, ck_err *err)
{
    const char *p = *pp;
    size_t n = 0;
    bool quoted = *p == '"';
    if (quoted)
        p++;
    for (;; p++) {
        char c = *p;
        if (quoted && c == '\0')
            return ck_err_set(err, CK_E_INVALID, 0, "WWW-Authenticate: %.*s: unterminated quoted string", (int)name_len,
                              name);
        if (quoted && c == '"') {
            p++;
            break;
        }
        if (!quoted && (c == '\0' || c == ',' || c == ' ' || c == '\t'))
            break;
        if (quoted && c == '\\' && p[1] != '\0')
            c = *++p;
        if (out != NULL) {
            if (n + 1 >= cap)
                return ck_err_set(err, CK_E_INVALID, 0, "WWW-Authenticate: %.*s is longer than %zu bytes",
                                  (int)name_len, name, cap - 1);
            out[n++] = c;
        }
    }
    if (out != NULL)
        out[n] = '\0';
    *pp = p;
    return 0;
}

/* Keeps cur in best when its scheme is preferred (the first of a scheme wins). */
static void offer(ck_auth_challenge *best, const ck_auth_challenge *cur)
{
    if (cur->scheme > best->scheme)
        *best = *cur;
}

int ck_auth_challenge_parse(const char *header, ck_auth_challenge *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    ck_auth_challenge best = {.scheme = CK_AUTH_NONE}, cur = {.scheme = CK_AUTH_NONE};
    const char *p = header;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t len = 0;
        while (is_tchar(p[len]))
            len++;
        if (len == 0)
            return ck_err_set(err, CK_E_INVALID, 0, "WWW-Authenticate: unexpected '%c' at offset %zu", *p,
                              (size_t)(p - header));
        const char *name = p;
        p = skip_ows(p + len);
        if (*p != '=') { /* a new challenge: name is its scheme */
            offer(&best, &cur);
            memset(&cur, 0, sizeof(cur));
            cur.scheme = scheme_of(name, len);
            continue;
        }
        if (cur.scheme == CK_AUTH_NONE)
            return ck_err_set(err, CK_E_INVALID, 0, "WWW-Authenticate: parameter %.*s before any scheme", (int)len,
                              name);
        p = skip_ows(p + 1);
        size_t cap = 0;
        char *field = field_of(&cur, name, len, &cap);
        if (read_value(&p, name, len, field, cap, err) < 0)
            return -1;
        p = skip_ows(p);
        if (*p != ',' && *p != '\0')
            return ck_err_set(err, CK_E_INVALID, 0, "WWW-Authenticate: unexpected '%c' after %.*s at offset %zu", *p,
                              (int)len, name, (size_t)(p - header));
    }
    offer(&best, &cur);
    *out = best;
    return 0;
}
