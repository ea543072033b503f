/*
 * tls: the certificate and key the streaming server serves HTTPS with,
 * checked before the server starts so that a bad file stops the daemon
 * with its name and the reason (libmicrohttpd would only fail to start).
 * Either read from the configured PEM files (the key must be unencrypted
 * and match the certificate), or made at start: an ephemeral EC P-256 key
 * and a self-signed certificate for the streaming address, valid one year,
 * as containerd does with enable_tls_streaming and no key pair. OpenSSL
 * stays in here; the server gets PEM text, which its TLS library parses.
 */
#ifndef CK_STREAMING_TLS_H
#define CK_STREAMING_TLS_H

#include "common/err.h"

enum { CK_TLS_FINGERPRINT_LEN = 95 }; /* "AB:CD:..." for 32 bytes */

typedef struct ck_tls_pair {
    char *cert_pem; /* the certificate (and the chain after it, if the file has one) */
    char *key_pem;
    char fingerprint[CK_TLS_FINGERPRINT_LEN + 1]; /* SHA-256 of the certificate's DER */
} ck_tls_pair;

/* Reads and checks cert_file and key_file into out. Errors name the file. */
int ck_tls_pair_load(const char *cert_file, const char *key_file, ck_tls_pair *out, ck_err *err);

/* A new key and a self-signed certificate whose CN and subjectAltName are
 * address (an IP address, or else a DNS name). */
int ck_tls_pair_self_signed(const char *address, ck_tls_pair *out, ck_err *err);

/* Frees what a pair holds (the key wiped first); a zeroed pair is fine. */
void ck_tls_pair_clear(ck_tls_pair *p);

#endif
