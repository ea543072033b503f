/*
 * reference: the grammar of distribution/reference, written as small
 * checks over the split parts rather than one regular expression, so each
 * failure can say which part is wrong.
 */
#include "images/reference.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "images/content.h"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j = i + 1;
        } else if (s[i] == '_') {
            j = i + 1;
            if (j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return false;
        }
        if (j >= n || !is_lower_alnum(s[j]))
            return false;
        i = j;
    }
    return true;
}

/* host: label(.label)* or [ipv6], then optional :port */
static bool domain_ok(const char *s)
{
    const char *port = NULL;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end == s + 1)
            return false;
        for (const char *p = s + 1; p < end; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':')
                return false;
        if (end[1] != '\0' && end[1] != ':')
            return false;
        port = end[1] == ':' ? end + 2 : NULL;
    } else {
        const char *colon = strchr(s, ':');
        size_t hostlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (hostlen == 0)
            return false;
        size_t label = 0;
        for (size_t i = 0; i < hostlen; i++) {
            char c = s[i];
            if (c == '.') {
                if (label == 0 || s[i - 1] == '-')
                    return false;
                label = 0;
            } else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
                label++;
            } else {
                return false;
            }
        }
        if (label == 0 || s[hostlen - 1] == '-')
            return false;
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (port != NULL && (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5))
        return false;
    return true;
}

/* tag: [\w][\w.-]{0,127} */
static bool tag_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

bool ck_ref_is_image_id(const char *s)
{
    if (strncmp(s, "sha256:", 7) == 0)
        s += 7;
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool looks_like_domain(const char *first, size_t n)
{
    if (memchr(first, '.', n) != NULL || memchr(first, ':', n) != NULL)
        return true;
    if (n == 9 && strncmp(first, "localhost", 9) == 0)
        return true;
    for (size_t i = 0; i < n; i++) /* upper case is only legal in a host */
        if (isupper((unsigned char)first[i]))
            return true;
    return false;
}

static int split_name(const char *name, ck_ref *out, const char *whole, ck_err *err)
{
    const char *slash = strchr(name, '/');
    const char *rest = name;
    if (slash != NULL && looks_like_domain(name, (size_t)(slash - name))) {
        size_t n = (size_t)(slash - name);
        if (n >= sizeof(out->domain))
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": registry host too long", whole);
        memcpy(out->domain, name, n);
        out->domain[n] = '\0';
        if (!domain_ok(out->domain))
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": invalid registry host \"%s\"", whole,
                              out->domain);
        rest = slash + 1;
    } else {
        snprintf(out->domain, sizeof(out->domain), "docker.io");
    }
    if (strcmp(out->domain, "index.docker.io") == 0)
        snprintf(out->domain, sizeof(out->domain), "docker.io");
    bool library = strcmp(out->domain, "docker.io") == 0 && strchr(rest, '/') == NULL;
    if ((size_t)snprintf(out->path, sizeof(out->path), "%s%s", library ? "library/" : "", rest) >= sizeof(out->path))
        return ck_err_set(err, CK_E_INVALID, 0,
                          "image reference \"%.64s...\": repository name longer than %d characters", whole,
                          CK_REF_NAME_MAX);
    if (strlen(out->domain) + 1 + strlen(out->path) > CK_REF_NAME_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": repository name longer than %d characters",
                          whole, CK_REF_NAME_MAX);
    for (const char *p = out->path;;) {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        for (size_t i = 0; i < n; i++)
            if (isupper((unsigned char)p[i]))
                return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": repository name must be lowercase",
                                  whole);
        if (!component_ok(p, n))
            return ck_err_set(err, CK_E_INVALID, 0,
                              "image reference \"%s\": invalid repository path component \"%.*s\"", whole, (int)n, p);
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

int ck_ref_parse(const char *s, ck_ref *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (s == NULL || s[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "image reference is empty");
    size_t len = strlen(s);
    if (len > 4096)
        return ck_err_set(err, CK_E_INVALID, 0, "image reference is too long (%zu bytes)", len);
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || !isprint((unsigned char)s[i]))
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%.200s\" contains blanks or control characters",
                              s);
    if (ck_ref_is_image_id(s))
        return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\" is an image id, not a repository reference", s);
    char name[4200];
    snprintf(name, sizeof(name), "%s", s);
    char *at = strchr(name, '@');
    if (at != NULL) {
        *at = '\0';
        if (strlen(at + 1) >= sizeof(out->digest))
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": digest too long", s);
        snprintf(out->digest, sizeof(out->digest), "%s", at + 1);
        ck_err e;
        if (ck_digest_check(out->digest, &e) < 0)
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": %s", s, e.msg);
    }
    char *slash = strrchr(name, '/');
    char *colon = strrchr(name, ':');
    if (colon != NULL && (slash == NULL || colon > slash)) {
        *colon = '\0';
        if (!tag_ok(colon + 1))
            return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": invalid tag \"%.200s\"", s, colon + 1);
        snprintf(out->tag, sizeof(out->tag), "%s", colon + 1);
    }
    if (name[0] == '\0')
        return ck_err_set(err, CK_E_INVALID, 0, "image reference \"%s\": no repository name", s);
    if (split_name(name, out, s, err) < 0)
        return -1;
    if (out->tag[0] == '\0' && out->digest[0] == '\0')
        snprintf(out->tag, sizeof(out->tag), "latest");
    return 0;
}

void ck_ref_name(const ck_ref *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", r->domain, r->path);
}

void ck_ref_tagged(const ck_ref *r, char *buf, size_t cap)
{
    if (r->tag[0] == '\0')
        snprintf(buf, cap, "%s", "");
    else
        snprintf(buf, cap, "%s/%s:%s", r->domain, r->path, r->tag);
}

void ck_ref_digested(const ck_ref *r, const char *digest, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s@%s", r->domain, r->path, digest);
}

void ck_ref_string(const ck_ref *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "",
             r->digest);
}
