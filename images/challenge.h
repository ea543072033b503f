/*
 * challenge: the WWW-Authenticate header of a registry's 401 (RFC 7235,
 * with the Docker token scheme's parameters). The header comes from the
 * network, so it is parsed as a grammar, not searched for substrings: a
 * "scope=" inside a quoted realm stays part of the realm.
 *
 *   challenges = challenge *( "," challenge )
 *   challenge  = scheme [ 1*SP ( token68 / auth-param *( "," auth-param ) ) ]
 *   auth-param = name BWS "=" BWS ( token / quoted-string )
 *
 * When several challenges are offered, Bearer is preferred to Basic, and
 * either to an unknown scheme, as the Docker client does.
 */
#ifndef CK_IMAGES_CHALLENGE_H
#define CK_IMAGES_CHALLENGE_H

#include "common/err.h"

/* In order of preference: the parser keeps the greatest one offered. */
typedef enum ck_auth_scheme {
    CK_AUTH_NONE,  /* no challenge in the header */
    CK_AUTH_OTHER, /* a scheme we cannot answer (Negotiate, Digest, ...) */
    CK_AUTH_BASIC,
    CK_AUTH_BEARER,
} ck_auth_scheme;

typedef struct ck_auth_challenge {
    ck_auth_scheme scheme;
    char realm[1024]; /* "" when absent; for Bearer, the token server's URL */
    char service[512];
    char scope[1024];
} ck_auth_challenge;

/* Parses header (NUL-terminated) into *out (the preferred challenge). An
 * unterminated quoted string, a stray character or a parameter value longer
 * than its field is CK_E_INVALID naming it; *out is then scheme NONE. */
int ck_auth_challenge_parse(const char *header, ck_auth_challenge *out, ck_err *err);

#endif
