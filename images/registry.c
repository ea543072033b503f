/*
 * registry: see registry.h. One request = one curl easy handle; the
 * response body goes to a sink (memory for manifests and tokens, a content
 * writer for blobs) only when the status is 2xx, otherwise to a small error
 * buffer whose text ends up in the error message. Authentication follows
 * the challenge the registry sends: a 401 with WWW-Authenticate Bearer makes
 * us fetch a token from its realm (with credentials when we have them) and
 * retry once; Basic makes us retry once with credentials.
 *
 * Credentials and tokens belong to one endpoint: the image's registry gets
 * the CRI's AuthConfig (or, without one, its host's configured
 * credentials), a mirror only the credentials configured for the mirror's
 * own host; a token goes only to the endpoint whose challenge earned it
 * (curl drops our Authorization header when a redirect leaves that host).
 * A token realm must be https, verified with the realm host's own CAs,
 * unless that host is configured insecure. A redirect never leaves https
 * for plain http.
 */
#include "images/registry.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/challenge.h"

enum { MAX_ENDPOINTS = 16, ERRBUF_MAX = 2048, TOKEN_MAX = 64 * 1024 };
static const long BLOB_CHUNK = 256L * 1024;

/* Credentials for one endpoint; any may be NULL. */
typedef struct creds {
    char *user, *pass;
    char *identity_token;
} creds;

typedef struct endpoint {
    char base[600]; /* "https://127.0.0.1:5000": no trailing slash, no /v2 */
    char host[300]; /* for CA dirs and credentials */
    bool verify_tls;
    bool mirror;  /* not the image's own registry */
    char *cainfo; /* system CAs + this host's, NULL = curl's default */
    size_t cainfo_len;
    creds cred;     /* this endpoint's own, never another's */
    char *token;    /* bearer token this endpoint's challenge earned, under the session's mu */
    bool use_basic; /* this endpoint asked for Basic, under mu */
} endpoint;

struct ck_registry {
    ck_ref ref;
    ck_registry_opts opts;
    endpoint ep[MAX_ENDPOINTS];
    size_t n_ep;
    size_t chosen;
    pthread_mutex_t mu;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- set-up: endpoints, trust, credentials --------------------------------------- */

static int append_file(char **buf, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return -1;
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        char *nb = realloc(*buf, *len + n + 2);
        if (nb == NULL) {
            rc = -1;
            break;
        }
        *buf = nb;
        memcpy(*buf + *len, chunk, n);
        *len += n;
    }
    fclose(f);
    if (rc == 0 && *buf != NULL)
        (*buf)[(*len)++] = '\n';
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Extra CAs for host from <ca_dir>/<host>/ *.crt and the host's ca_file;
 * when there are any, the bundle is the system's plus them. */
static void load_cas(const ck_config *cfg, endpoint *ep)
{
    char *extra = NULL;
    size_t extra_len = 0;
    for (size_t i = 0; i < cfg->registries.ca_dirs.len; i++) {
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s/%s", cfg->registries.ca_dirs.items[i], ep->host);
        DIR *d = opendir(dir);
        if (d == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!has_suffix(e->d_name, ".crt"))
                continue;
            char path[4500];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (append_file(&extra, &extra_len, path) < 0)
                ck_warn("images", "registry %s: cannot read CA %s", ep->host, path);
        }
        closedir(d);
    }
    const ck_registry_host *h = ck_config_find_registry(cfg, ep->host);
    if (h != NULL && h->ca_file != NULL && append_file(&extra, &extra_len, h->ca_file) < 0)
        ck_warn("images", "registry %s: cannot read ca_file %s", ep->host, h->ca_file);
    if (extra == NULL)
        return;
    char *all = NULL;
    size_t all_len = 0;
    append_file(&all, &all_len, "/etc/ssl/certs/ca-certificates.crt");
    char *nb = realloc(all, all_len + extra_len + 1);
    if (nb != NULL) {
        memcpy(nb + all_len, extra, extra_len);
        ep->cainfo = nb;
        ep->cainfo_len = all_len + extra_len;
    } else {
        free(all);
    }
    free(extra);
}

static void add_endpoint(ck_registry *r, const char *base, const char *host, bool verify, bool mirror)
{
    if (r->n_ep >= MAX_ENDPOINTS)
        return;
    endpoint *ep = &r->ep[r->n_ep++];
    ep->mirror = mirror;
    snprintf(ep->base, sizeof(ep->base), "%s", base);
    size_t n = strlen(ep->base);
    while (n > 0 && ep->base[n - 1] == '/')
        ep->base[--n] = '\0';
    if (has_suffix(ep->base, "/v2"))
        ep->base[n - 3] = '\0';
    snprintf(ep->host, sizeof(ep->host), "%s", host);
    ep->verify_tls = verify;
    if (strncmp(ep->base, "https://", 8) == 0)
        load_cas(r->opts.cfg, ep);
}

/* "host[:port]" of a URL, without user info, path, query or fragment. */
static void host_of_url(const char *url, char *host, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at != NULL) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    snprintf(host, cap, "%.*s", (int)n, p);
}

static void plan_endpoints(ck_registry *r)
{
    const ck_registry_host *h = ck_config_find_registry(r->opts.cfg, r->ref.domain);
    if (h != NULL) {
        for (size_t i = 0; i < h->mirrors.len; i++) {
            char host[300];
            host_of_url(h->mirrors.items[i], host, sizeof(host));
            const ck_registry_host *mh = ck_config_find_registry(r->opts.cfg, host);
            add_endpoint(r, h->mirrors.items[i], host, !(mh != NULL && mh->insecure), true);
        }
    }
    const char *origin = strcmp(r->ref.domain, "docker.io") == 0 ? "registry-1.docker.io" : r->ref.domain;
    char base[600];
    snprintf(base, sizeof(base), "https://%s", origin);
    bool insecure = h != NULL && h->insecure;
    add_endpoint(r, base, r->ref.domain, !insecure, false);
    if (insecure) {
        snprintf(base, sizeof(base), "http://%s", origin);
        add_endpoint(r, base, r->ref.domain, false, false);
    }
}

static char *dup_nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* "user:password" in base64 into user and pass. */
static int decode_auth(const char *b64, char **user, char **pass, ck_err *err)
{
    size_t n = strlen(b64);
    _cleanup_free_ unsigned char *out = calloc(1, n + 4);
    if (out == NULL)
        return ck_err_oom(err, "auth");
    int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return ck_err_set(err, CK_E_INVALID, 0, "auth: not valid base64");
    while (n > 0 && b64[n - 1] == '=' && len > 0) { /* EVP_DecodeBlock counts padding as zero bytes */
        len--;
        n--;
    }
    out[len] = '\0';
    char *colon = strchr((char *)out, ':');
    if (colon == NULL)
        return ck_err_set(err, CK_E_INVALID, 0, "auth: decoded value is not user:password");
    *colon = '\0';
    *user = strdup((char *)out);
    *pass = strdup(colon + 1);
    return *user != NULL && *pass != NULL ? 0 : ck_err_oom(err, "auth");
}

/* The credentials of ep: the CRI's AuthConfig for the image's own
 * registry when it gives any, else those configured for ep's host. A
 * mirror never gets the AuthConfig: the kubelet chose it for the image's
 * registry. */
static int set_credentials(ck_registry *r, endpoint *ep, ck_err *err)
{
    const ck_auth *a = ep->mirror ? NULL : r->opts.auth;
    ck_auth from_cfg = {0};
    bool given =
        a != NULL && ((a->username && a->username[0]) || (a->auth && a->auth[0]) ||
                      (a->identity_token && a->identity_token[0]) || (a->registry_token && a->registry_token[0]));
    if (!given) {
        const ck_registry_host *h = ck_config_find_registry(r->opts.cfg, ep->host);
        if (h != NULL)
            from_cfg = (ck_auth){h->username, h->password, h->auth, h->identity_token, NULL};
        a = &from_cfg;
    }
    if (a->auth != NULL && a->auth[0] != '\0') {
        if (decode_auth(a->auth, &ep->cred.user, &ep->cred.pass, err) < 0)
            return ck_err_wrap(err, "credentials for %s", ep->host);
    } else {
        ep->cred.user = dup_nonempty(a->username);
        ep->cred.pass = a->password != NULL ? strdup(a->password) : NULL;
    }
    ep->cred.identity_token = dup_nonempty(a->identity_token);
    ep->token = dup_nonempty(a->registry_token);
    return 0;
}

int ck_registry_open(const ck_ref *ref, const ck_registry_opts *opts, ck_registry **out, ck_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    ck_registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ck_err_oom(err, "registry session");
    r->ref = *ref;
    r->opts = *opts;
    if (r->opts.progress_timeout_s == 0)
        r->opts.progress_timeout_s = 60;
    pthread_mutex_init(&r->mu, NULL);
    plan_endpoints(r);
    for (size_t i = 0; i < r->n_ep; i++) {
        if (set_credentials(r, &r->ep[i], err) < 0) {
            ck_registry_close(r);
            return -1;
        }
    }
    *out = r;
    return 0;
}

void ck_registry_close(ck_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_ep; i++) {
        endpoint *ep = &r->ep[i];
        free(ep->cainfo);
        free(ep->token);
        free(ep->cred.user);
        free(ep->cred.pass);
        free(ep->cred.identity_token);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- one request ----------------------------------------------------------------- */

typedef struct request {
    ck_registry *r;
    const endpoint *ep;
    CURL *curl;
    /* sinks: a content writer (of the manifest's `expected` bytes, < 0 when
     * unknown), or memory up to max */
    ck_content_writer *w;
    const ck_blob_sink *sink; /* NULL: none */
    int64_t expected;
    const char *digest;
    char *buf;
    size_t len, max;
    /* the final response */
    long status;
    char errbody[ERRBUF_MAX];
    size_t errlen;
    char content_type[256];
    char www_auth[2048];
    char docker_digest[CK_DIGEST_BUF];
    ck_err sink_err;
    bool sink_failed;
} request;

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    request *q = arg;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (redirect, retry) */
        q->content_type[0] = q->www_auth[0] = q->docker_digest[0] = '\0';
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (colon == NULL)
        return len;
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    char *dst = NULL;
    size_t cap = 0;
    if (klen == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
        dst = q->content_type;
        cap = sizeof(q->content_type);
        const char *semi = memchr(v, ';', vlen);
        if (semi != NULL)
            vlen = (size_t)(semi - v);
    } else if (klen == 16 && strncasecmp(data, "WWW-Authenticate", 16) == 0) {
        dst = q->www_auth;
        cap = sizeof(q->www_auth);
    } else if (klen == 21 && strncasecmp(data, "Docker-Content-Digest", 21) == 0) {
        dst = q->docker_digest;
        cap = sizeof(q->docker_digest);
    }
    if (dst != NULL)
        snprintf(dst, cap, "%.*s", (int)vlen, v);
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    request *q = arg;
    size_t len = size * n;
    if (q->status == 0)
        curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &q->status);
    if (q->status < 200 || q->status > 299) {
        size_t room = sizeof(q->errbody) - 1 - q->errlen;
        size_t take = len < room ? len : room;
        memcpy(q->errbody + q->errlen, data, take);
        q->errlen += take;
        q->errbody[q->errlen] = '\0';
        return len;
    }
    if (q->w != NULL) {
        curl_off_t announced = -1;
        if (ck_content_written(q->w) == 0 && q->expected >= 0 &&
            curl_easy_getinfo(q->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK &&
            announced > (curl_off_t)q->expected) { /* refused before its first byte is stored */
            q->sink_failed = true;
            ck_err_set(&q->sink_err, CK_E_INVALID, 0, "blob %s: the registry sends %lld bytes, the manifest gives %lld",
                       q->digest, (long long)announced, (long long)q->expected);
            return 0;
        }
        if (ck_content_write(q->w, data, len, &q->sink_err) < 0) {
            q->sink_failed = true;
            return 0;
        }
        if (q->sink != NULL)
            q->sink->take(q->sink->arg, data, len);
        return len;
    }
    if (q->len + len > q->max) {
        q->sink_failed = true;
        ck_err_set(&q->sink_err, CK_E_EXHAUSTED, 0, "response larger than %zu bytes", q->max);
        return 0;
    }
    char *nb = realloc(q->buf, q->len + len + 1);
    if (nb == NULL) {
        q->sink_failed = true;
        ck_err_oom(&q->sink_err, "response");
        return 0;
    }
    q->buf = nb;
    memcpy(q->buf + q->len, data, len);
    q->len += len;
    q->buf[q->len] = '\0';
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    request *q = arg;
    return q->r->opts.cancelled != NULL && q->r->opts.cancelled(q->r->opts.cancel_arg) ? 1 : 0;
}

static void reset_response(request *q)
{
    q->status = 0;
    q->errlen = 0;
    q->errbody[0] = '\0';
    q->len = 0;
    q->content_type[0] = q->www_auth[0] = q->docker_digest[0] = '\0';
}

/* Performs GET url (or POST form when post != NULL) with the given headers. */
static int perform(request *q, const char *url, const char *accept, const char *authz, const char *post,
                   const char *what, ck_err *err)
{
    reset_response(q);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ck_err_oom(err, "curl handle");
    q->curl = c;
    struct curl_slist *h = NULL;
    char line[TOKEN_MAX + 64];
    if (accept != NULL) {
        snprintf(line, sizeof(line), "Accept: %s", accept);
        h = curl_slist_append(h, line);
    }
    if (authz != NULL) {
        snprintf(line, sizeof(line), "Authorization: %s", authz);
        h = curl_slist_append(h, line);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    unsigned t = q->r->opts.progress_timeout_s;
    bool https = strncasecmp(url, "https://", 8) == 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cricket/" CK_VERSION);
    /* A POST carries a refresh token or credentials in its body, which
     * curl would send again to wherever a 307/308 points: never followed. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, post == NULL ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* From https, a redirect stays on https: a plain-http hop would expose the request and trust its answer. */
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(t < 30 ? t : 30));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, q);
    if (q->w == NULL) /* a manifest or token may come compressed; a blob is hashed exactly as sent */
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    else /* a blob is large: fewer, larger chunks mean fewer writes to the store and the unpacker (default 16 KiB) */
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, BLOB_CHUNK);
    if (post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    if (!q->ep->verify_tls) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (q->ep->cainfo != NULL) {
        struct curl_blob blob = {q->ep->cainfo, q->ep->cainfo_len, CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    CURLcode rc = curl_easy_perform(c);
    if (q->status == 0)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    q->curl = NULL;
    const char *msg = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OK: return 0;
    case CURLE_WRITE_ERROR:
        if (q->sink_failed) {
            ck_err_copy(err, &q->sink_err);
            return ck_err_wrap(err, "%s", what);
        }
        break;
    case CURLE_ABORTED_BY_CALLBACK: return ck_err_set(err, CK_E_CANCELLED, 0, "%s: cancelled", what);
    case CURLE_UNSUPPORTED_PROTOCOL:
        if (https)
            return ck_err_set(err, CK_E_PERMISSION, 0, "%s: refused a redirect from https to plain http (%s)", what,
                              msg);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return ck_err_set(err, CK_E_DEADLINE, 0, "%s: no progress for %u s (%s)", what, t, msg);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "%s: registry unreachable: %s", what, msg);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: return ck_err_set(err, CK_E_UNAVAILABLE, 0, "%s: connection broke off: %s", what, msg);
    default: break;
    }
    return ck_err_set(err, CK_E_UNAVAILABLE, 0, "%s: %s", what, msg);
}

/* ---- authentication ---------------------------------------------------------------- */

static char *url_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (e == NULL)
        return NULL;
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

static char *basic_header(const creds *c)
{
    size_t n = strlen(c->user) + 1 + (c->pass ? strlen(c->pass) : 0);
    _cleanup_free_ char *plain = malloc(n + 1);
    _cleanup_free_ unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (plain == NULL || b64 == NULL)
        return NULL;
    snprintf(plain, n + 1, "%s:%s", c->user, c->pass ? c->pass : "");
    EVP_EncodeBlock(b64, (unsigned char *)plain, (int)n);
    char *h = NULL;
    return asprintf(&h, "Basic %s", b64) < 0 ? NULL : h;
}

/* Where ep's challenge sends us for a token, and whom to trust there: the
 * realm's own host decides, as for a registry. Plain http, or https without
 * verification, only when that host is configured insecure: the realm gets
 * our credentials and hands out what we then present. */
static int realm_endpoint(ck_registry *r, const endpoint *ep, const char *realm, endpoint *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    bool https = strncasecmp(realm, "https://", 8) == 0;
    if (!https && strncasecmp(realm, "http://", 7) != 0)
        return ck_err_set(err, CK_E_PERMISSION, 0, "registry %s: token realm \"%.200s\" is not an https URL", ep->host,
                          realm);
    host_of_url(realm, out->host, sizeof(out->host));
    const ck_registry_host *h = ck_config_find_registry(r->opts.cfg, out->host);
    bool insecure = h != NULL && h->insecure;
    if (!https && !insecure)
        return ck_err_set(err, CK_E_PERMISSION, 0,
                          "registry %s: token realm %.200s is plain http; credentials and tokens go only over "
                          "verified https unless the realm's host (%s) is configured insecure",
                          ep->host, realm, out->host);
    snprintf(out->base, sizeof(out->base), "%.*s", (int)sizeof(out->base) - 1, realm);
    out->verify_tls = !insecure;
    if (https)
        load_cas(r->opts.cfg, out);
    return 0;
}

/* Asks the realm (trusted as token_ep says) for a token for ep, with ep's
 * own credentials, and keeps it for ep alone. */
static int fetch_token_from(ck_registry *r, endpoint *ep, const endpoint *token_ep, const ck_auth_challenge *ch,
                            ck_err *err)
{
    const char *realm = ch->realm;
    const creds *cr = &ep->cred;
    char scope[sizeof(ch->scope)];
    if (ch->scope[0] != '\0')
        snprintf(scope, sizeof(scope), "%s", ch->scope);
    else
        snprintf(scope, sizeof(scope), "repository:%s:pull", r->ref.path);
    _cleanup_free_ char *esvc = url_escape(ch->service), *escope = url_escape(scope);
    if (esvc == NULL || escope == NULL)
        return ck_err_oom(err, "token url");
    request q = {.r = r, .ep = token_ep, .max = TOKEN_MAX};
    char url[3000];
    _cleanup_free_ char *authz = NULL, *form = NULL;
    int rc;
    if (cr->identity_token != NULL) {
        _cleanup_free_ char *etok = url_escape(cr->identity_token);
        if (etok == NULL || asprintf(&form,
                                     "grant_type=refresh_token&client_id=cricket&service=%s&scope=%s"
                                     "&refresh_token=%s",
                                     esvc, escope, etok) < 0)
            return ck_err_oom(err, "token request");
        rc = perform(&q, realm, "application/json", NULL, form, "get registry token", err);
    } else {
        snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", esvc, escope);
        if (cr->user != NULL && (authz = basic_header(cr)) == NULL)
            return ck_err_oom(err, "auth header");
        rc = perform(&q, url, "application/json", authz, NULL, "get registry token", err);
    }
    _cleanup_free_ char *body = q.buf;
    if (rc < 0)
        return ck_err_wrap(err, "registry %s", ep->host);
    if (q.status == 401 || q.status == 403)
        return ck_err_set(err, CK_E_PERMISSION, 0, "registry %s: token server %s refused the %s (HTTP %ld): %.200s",
                          ep->host, realm, cr->user || cr->identity_token ? "credentials" : "anonymous request",
                          q.status, q.errbody);
    if (q.status != 200)
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "registry %s: token server %s answered HTTP %ld: %.200s", ep->host,
                          realm, q.status, q.errbody);
    json_error_t jerr;
    json_t *j = json_loadb(body != NULL ? body : "", q.len, 0, &jerr);
    const char *tok = NULL;
    if (j != NULL) {
        tok = json_string_value(json_object_get(j, "token"));
        if (tok == NULL || tok[0] == '\0')
            tok = json_string_value(json_object_get(j, "access_token"));
    }
    if (tok == NULL || tok[0] == '\0') {
        json_decref(j);
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "registry %s: token server %s gave no token", ep->host, realm);
    }
    char *copy = strdup(tok);
    json_decref(j);
    if (copy == NULL)
        return ck_err_oom(err, "token");
    pthread_mutex_lock(&r->mu);
    free(ep->token);
    ep->token = copy;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static int fetch_token(ck_registry *r, endpoint *ep, const ck_auth_challenge *ch, ck_err *err)
{
    if (ch->realm[0] == '\0')
        return ck_err_set(err, CK_E_UNAVAILABLE, 0, "registry %s: Bearer challenge without realm", ep->host);
    endpoint token_ep;
    if (realm_endpoint(r, ep, ch->realm, &token_ep, err) < 0)
        return -1;
    int rc = fetch_token_from(r, ep, &token_ep, ch, err);
    free(token_ep.cainfo);
    return rc;
}

/* The Authorization header for ep: its own token, or its own Basic
 * credentials once it asked for them; NULL for none. */
static char *current_authz(ck_registry *r, const endpoint *ep)
{
    char *h = NULL;
    pthread_mutex_lock(&r->mu);
    if (ep->token != NULL) {
        if (asprintf(&h, "Bearer %s", ep->token) < 0)
            h = NULL;
    } else if (ep->use_basic && ep->cred.user != NULL) {
        h = basic_header(&ep->cred);
    }
    pthread_mutex_unlock(&r->mu);
    return h;
}

/* GET path on ep, answering one authentication challenge. */
static int get_authed(ck_registry *r, endpoint *ep, request *q, const char *path, const char *accept, const char *what,
                      ck_err *err)
{
    char url[1200];
    snprintf(url, sizeof(url), "%s%s", ep->base, path);
    for (int attempt = 0; attempt < 2; attempt++) {
        _cleanup_free_ char *authz = current_authz(r, ep);
        if (perform(q, url, accept, authz, NULL, what, err) < 0)
            return -1;
        if (q->status != 401)
            return 0;
        if (attempt == 1)
            break;
        ck_auth_challenge ch;
        if (ck_auth_challenge_parse(q->www_auth, &ch, err) < 0)
            return ck_err_wrap(err, "%s: registry %s", what, ep->host);
        if (ch.scheme == CK_AUTH_BEARER) {
            if (fetch_token(r, ep, &ch, err) < 0)
                return ck_err_wrap(err, "%s", what);
        } else if (ch.scheme == CK_AUTH_BASIC && ep->cred.user != NULL) {
            pthread_mutex_lock(&r->mu);
            ep->use_basic = true;
            pthread_mutex_unlock(&r->mu);
        } else {
            break;
        }
    }
    bool had;
    pthread_mutex_lock(&r->mu);
    had = ep->cred.user != NULL || ep->token != NULL;
    pthread_mutex_unlock(&r->mu);
    return ck_err_set(err, CK_E_PERMISSION, 0, "%s: registry %s: unauthorized (%s): %.200s", what, ep->host,
                      had ? "credentials refused" : "credentials needed", q->errbody);
}

static int status_error(const request *q, const char *what, ck_err *err)
{
    if (q->status == 404)
        return ck_err_set(err, CK_E_NOT_FOUND, 0, "%s: not found on %s: %.200s", what, q->ep->host, q->errbody);
    if (q->status == 401 || q->status == 403)
        return ck_err_set(err, CK_E_PERMISSION, 0, "%s: %s denied access (HTTP %ld): %.200s", what, q->ep->host,
                          q->status, q->errbody);
    return ck_err_set(err, CK_E_UNAVAILABLE, 0, "%s: %s answered HTTP %ld: %.200s", what, q->ep->host, q->status,
                      q->errbody);
}

/* ---- the API -------------------------------------------------------------------------- */

static const char *const ACCEPT_MANIFESTS =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

int ck_registry_get_manifest(ck_registry *r, const char *reference, size_t max, char **body, size_t *len,
                             char *media_type, size_t mt_cap, ck_err *err)
{
    *body = NULL;
    *len = 0;
    char path[1024], what[1024];
    snprintf(path, sizeof(path), "/v2/%s/manifests/%s", r->ref.path, reference);
    for (size_t i = 0; i < r->n_ep; i++) {
        endpoint *ep = &r->ep[i];
        snprintf(what, sizeof(what), "get manifest %s:%s from %s", r->ref.path, reference, ep->base);
        request q = {.r = r, .ep = ep, .max = max};
        int rc = get_authed(r, ep, &q, path, ACCEPT_MANIFESTS, what, err);
        if (rc == 0 && q.status / 100 != 2)
            rc = status_error(&q, what, err);
        if (rc == 0) {
            ck_err_clear(err); /* an earlier endpoint's failure is history now */
            r->chosen = i;
            *body = q.buf != NULL ? q.buf : strdup("");
            *len = q.len;
            snprintf(media_type, mt_cap, "%s", q.content_type);
            return *body != NULL ? 0 : ck_err_oom(err, "manifest");
        }
        free(q.buf);
        if (err != NULL && err->kind == CK_E_CANCELLED)
            return -1;
        if (i + 1 < r->n_ep)
            ck_warn("images", "%s; trying the next endpoint", err != NULL ? err->msg : "failed");
    }
    return -1;
}

int ck_registry_fetch_blob(ck_registry *r, const char *digest, int64_t size, ck_content *c, const ck_blob_sink *sink,
                           ck_err *err)
{
    char path[1024], what[1024];
    snprintf(path, sizeof(path), "/v2/%s/blobs/%s", r->ref.path, digest);
    for (size_t k = 0; k < r->n_ep; k++) {
        size_t i = (r->chosen + k) % r->n_ep;
        endpoint *ep = &r->ep[i];
        snprintf(what, sizeof(what), "get blob %s of %s from %s", digest, r->ref.path, ep->base);
        ck_content_writer *w = NULL;
        if ((c != NULL ? ck_content_writer_open(c, digest, size, &w, err)
                       : ck_content_verifier_open(digest, size, &w, err)) < 0)
            return -1;
        request q = {.r = r, .ep = ep, .w = w, .sink = sink, .expected = size, .digest = digest};
        int rc = get_authed(r, ep, &q, path, "*/*", what, err);
        if (rc == 0 && q.status / 100 != 2)
            rc = status_error(&q, what, err);
        if (rc == 0) {
            ck_err_clear(err);
            rc = ck_content_commit(w, err);
            return rc < 0 ? ck_err_wrap(err, "%s", what) : 0;
        }
        bool sunk = sink != NULL && ck_content_written(w) > 0; /* the sink cannot take the blob from its start again */
        ck_content_abort(w);
        if (sunk ||
            (err != NULL && (err->kind == CK_E_CANCELLED || err->kind == CK_E_INVALID || err->kind == CK_E_DEADLINE)))
            return -1; /* a bad blob or a stalled transfer is not a reason to ask another endpoint */
        if (k + 1 < r->n_ep)
            ck_warn("images", "%s; trying the next endpoint", err != NULL ? err->msg : "failed");
    }
    return -1;
}
