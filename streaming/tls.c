#include "streaming/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cleanup.h"

enum {
    PEM_FILE_MAX = 1 << 20,    /* a certificate chain is a few kB */
    VALID_S = 365 * 24 * 3600, /* the self-signed certificate's life */
    SERIAL_BYTES = 16,         /* random, positive */
};

static void bio_freep(BIO **b)
{
    BIO_free(*b);
}
static void x509_freep(X509 **x)
{
    X509_free(*x);
}
static void pkey_freep(EVP_PKEY **k)
{
    EVP_PKEY_free(*k);
}

/* OpenSSL's most recent reason, for messages ("no start line"). */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r != NULL ? r : "unknown reason";
}

/* Never prompts for a pass phrase on a terminal: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* Up to PEM_FILE_MAX bytes of f into buf (PEM_FILE_MAX + 1 bytes), NUL-terminated. */
static int read_capped(FILE *f, char *buf, const char *what, const char *file, ck_err *err)
{
    size_t n = fread(buf, 1, PEM_FILE_MAX + 1, f);
    if (ferror(f))
        return ck_err_set(err, CK_E_INVALID, EIO, "streaming.%s %s", what, file);
    if (n > PEM_FILE_MAX)
        return ck_err_set(err, CK_E_INVALID, EFBIG, "streaming.%s %s: larger than %d bytes", what, file, PEM_FILE_MAX);
    buf[n] = '\0';
    return 0;
}

/* The whole file, NUL-terminated, into *text. */
static int read_pem(const char *what, const char *file, char **text, ck_err *err)
{
    FILE *f = fopen(file, "re");
    if (f == NULL)
        return ck_err_set(err, CK_E_INVALID, errno, "streaming.%s %s", what, file);
    char *buf = malloc(PEM_FILE_MAX + 1);
    int r = buf != NULL ? read_capped(f, buf, what, file, err) : ck_err_oom(err, "PEM file");
    fclose(f);
    if (r < 0) {
        free(buf);
        return -1;
    }
    *text = buf;
    return 0;
}

static int fingerprint(X509 *cert, char out[CK_TLS_FINGERPRINT_LEN + 1], ck_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32)
        return ck_err_set(err, CK_E_INTERNAL, 0, "certificate fingerprint: %s", ssl_reason());
    for (size_t i = 0; i < len; i++)
        snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
    return 0;
}

int ck_tls_pair_load(const char *cert_file, const char *key_file, ck_tls_pair *out, ck_err *err)
{
    ck_tls_pair p = {0};
    if (read_pem("tls_cert_file", cert_file, &p.cert_pem, err) < 0 ||
        read_pem("tls_key_file", key_file, &p.key_pem, err) < 0) {
        ck_tls_pair_clear(&p);
        return -1;
    }
    _cleanup_(bio_freep) BIO *cb = BIO_new_mem_buf(p.cert_pem, -1);
    _cleanup_(bio_freep) BIO *kb = BIO_new_mem_buf(p.key_pem, -1);
    _cleanup_(x509_freep) X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    int encrypted = 0;
    int r = 0;
    if (cert == NULL) {
        r = ck_err_set(err, CK_E_INVALID, 0, "streaming.tls_cert_file %s: not a PEM certificate (%s)", cert_file,
                       ssl_reason());
    } else {
        _cleanup_(pkey_freep) EVP_PKEY *key =
            kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, &encrypted) : NULL;
        if (key == NULL)
            r = ck_err_set(err, CK_E_INVALID, 0, "streaming.tls_key_file %s: %s", key_file,
                           encrypted ? "an encrypted key (give it unencrypted, readable by root only)"
                                     : "not a PEM private key");
        else if (X509_check_private_key(cert, key) != 1)
            r = ck_err_set(err, CK_E_INVALID, 0, "streaming.tls_key_file %s: not the key of the certificate in %s",
                           key_file, cert_file);
        else
            r = fingerprint(cert, p.fingerprint, err);
    }
    ERR_clear_error();
    if (r < 0) {
        ck_tls_pair_clear(&p);
        return -1;
    }
    *out = p;
    return 0;
}

/* ---- self-signed ---------------------------------------------------------------------- */

static int set_serial(X509 *x)
{
    unsigned char raw[SERIAL_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    raw[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int add_san(X509 *x, const char *address)
{
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, address, ip) == 1 || inet_pton(AF_INET6, address, ip) == 1;
    char value[128];
    snprintf(value, sizeof(value), "%s:%s", is_ip ? "IP" : "DNS", address);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for key, signed by itself. */
static X509 *make_cert(EVP_PKEY *key, const char *address)
{
    X509 *x = X509_new();
    X509_NAME *name = x != NULL ? X509_get_subject_name(x) : NULL;
    bool ok = name != NULL && X509_set_version(x, 2) == 1 && set_serial(x) == 0 &&
              X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
              X509_gmtime_adj(X509_getm_notAfter(x), VALID_S) != NULL &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)address, -1, -1, 0) == 1 &&
              X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 && add_san(x, address) == 0 &&
              X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* What b holds, as a NUL-terminated string. */
static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static int to_pem(X509 *cert, EVP_PKEY *key, ck_tls_pair *p)
{
    _cleanup_(bio_freep) BIO *cb = BIO_new(BIO_s_mem());
    _cleanup_(bio_freep) BIO *kb = BIO_new(BIO_s_mem());
    if (cb == NULL || kb == NULL || PEM_write_bio_X509(cb, cert) != 1 ||
        PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1)
        return -1;
    p->cert_pem = bio_text(cb);
    p->key_pem = bio_text(kb);
    return p->cert_pem != NULL && p->key_pem != NULL ? 0 : -1;
}

int ck_tls_pair_self_signed(const char *address, ck_tls_pair *out, ck_err *err)
{
    ck_tls_pair p = {0};
    _cleanup_(pkey_freep) EVP_PKEY *key = EVP_EC_gen("P-256");
    _cleanup_(x509_freep) X509 *cert = key != NULL ? make_cert(key, address) : NULL;
    if (cert == NULL || to_pem(cert, key, &p) < 0) {
        ck_tls_pair_clear(&p);
        return ck_err_set(err, CK_E_INTERNAL, 0, "self-signed certificate for %s: %s", address, ssl_reason());
    }
    if (fingerprint(cert, p.fingerprint, err) < 0) {
        ck_tls_pair_clear(&p);
        return -1;
    }
    *out = p;
    return 0;
}

void ck_tls_pair_clear(ck_tls_pair *p)
{
    if (p->key_pem != NULL)
        OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
    free(p->key_pem);
    free(p->cert_pem);
    *p = (ck_tls_pair){0};
}
