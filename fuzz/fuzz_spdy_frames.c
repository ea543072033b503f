/*
 * fuzz_spdy_frames: the SPDY/3.1 parser (streaming/spdy.c) on any bytes, as
 * a client of the streaming server can send them. Input: one byte choosing
 * the read size (0: everything at once), then the connection's bytes.
 *
 * Checked on every input:
 * - the parser takes all it is given or stops at a frame, and a failure is
 *   CK_E_INVALID or CK_E_EXHAUSTED with a message, and stays a failure;
 * - frames are within the limits (headers, settings, DATA pieces);
 * - reading in chunks gives the same frames, DATA bytes and failure as
 *   reading all at once (a digest of both is compared);
 * - every frame our encoder can write again (all but a zero WINDOW_UPDATE
 *   delta) parses back to the same frame, header blocks through our own
 *   deflate stream; SYN_STREAM's slot and the flags of frames that define
 *   none are sent as 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streaming/spdy.h"

typedef struct digest {
    uint64_t h;
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 0x100000001b3ull;
}

/* Integers are mixed by value, not through their bytes (which clang's
 * analyzer then takes for uninitialized). */
static void mix_u32(digest *d, uint32_t v)
{
    for (int shift = 0; shift < 32; shift += 8)
        d->h = (d->h ^ ((v >> shift) & 0xff)) * 0x100000001b3ull;
}

/* The frame's content, DATA pieces counted as bytes whatever their cut. */
static void mix_frame(digest *d, const ck_spdy_frame *f)
{
    if (f->type == CK_SPDY_DATA) {
        mix(d, f->data, f->data_len);
        if (f->data_end) {
            mix_u32(d, 0xdada);
            mix_u32(d, f->stream_id);
            mix_u32(d, f->flags);
        }
        return;
    }
    uint32_t fields[] = {
        f->type,    f->flags, f->stream_id,           f->assoc_stream_id,     f->priority, f->slot, f->status,
        f->ping_id, f->delta, (uint32_t)f->n_headers, (uint32_t)f->n_settings};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        mix_u32(d, fields[i]);
    for (size_t i = 0; i < f->n_headers; i++) {
        for (const char *c = f->headers[i].name; *c != '\0'; c++)
            mix_u32(d, (uint8_t)*c);
        mix_u32(d, (uint32_t)f->headers[i].value_len);
        mix(d, f->headers[i].value, f->headers[i].value_len);
    }
    for (size_t i = 0; i < f->n_settings; i++) {
        mix_u32(d, f->settings[i].flags);
        mix_u32(d, f->settings[i].id);
        mix_u32(d, f->settings[i].value);
    }
}

static void check_limits(const ck_spdy_frame *f, size_t input_len)
{
    if (f->n_headers > CK_SPDY_HEADERS_MAX || f->n_settings > CK_SPDY_SETTINGS_MAX || f->data_len > input_len ||
        f->data_len > CK_SPDY_DATA_MAX)
        abort();
    for (size_t i = 0; i < f->n_headers; i++) {
        const char *name = f->headers[i].name;
        if (name[0] == '\0' || f->headers[i].value[f->headers[i].value_len] != '\0')
            abort();
        for (const char *c = name; *c != '\0'; c++) {
            if (*c >= 'A' && *c <= 'Z')
                abort();
        }
    }
}

/* The round trip: our encoder writes the frame again, a second parser (in
 * step with the encoder's deflate stream) reads it, and it must be the same. */
typedef struct again {
    ck_spdy_encoder *enc;
    ck_spdy_parser *parser;
    ck_bytes out;
    uint8_t *data; /* DATA payload gathered from its pieces */
    size_t data_len;
} again;

static int reencode(again *a, const ck_spdy_frame *f, ck_err *err)
{
    switch (f->type) {
    case CK_SPDY_SYN_STREAM:
        return ck_spdy_put_syn_stream(a->enc, &a->out, f->stream_id, f->assoc_stream_id, f->priority, f->flags,
                                      f->headers, f->n_headers, err);
    case CK_SPDY_SYN_REPLY:
        return ck_spdy_put_syn_reply(a->enc, &a->out, f->stream_id, f->flags, f->headers, f->n_headers, err);
    case CK_SPDY_HEADERS:
        return ck_spdy_put_headers(a->enc, &a->out, f->stream_id, f->flags, f->headers, f->n_headers, err);
    case CK_SPDY_RST_STREAM: return ck_spdy_put_rst_stream(&a->out, f->stream_id, f->status, err);
    case CK_SPDY_SETTINGS: return ck_spdy_put_settings(&a->out, f->flags, f->settings, f->n_settings, err);
    case CK_SPDY_PING: return ck_spdy_put_ping(&a->out, f->ping_id, err);
    case CK_SPDY_GOAWAY: return ck_spdy_put_goaway(&a->out, f->stream_id, f->status, err);
    case CK_SPDY_WINDOW_UPDATE: return ck_spdy_put_window_update(&a->out, f->stream_id, f->delta, err);
    default: return ck_spdy_put_data(&a->out, f->stream_id, f->flags, a->data, a->data_len, err);
    }
}

static void check_round_trip(again *a, const ck_spdy_frame *f)
{
    if (f->type == CK_SPDY_DATA) {
        if (f->data_len > 0) {
            memcpy(a->data + a->data_len, f->data, f->data_len);
            a->data_len += f->data_len;
        }
        if (!f->data_end)
            return;
    }
    if (f->type == CK_SPDY_WINDOW_UPDATE && f->delta == 0)
        return; /* the peer may send it; we never do */
    ck_err err;
    ck_err_clear(&err);
    a->out.len = 0;
    if (reencode(a, f, &err) < 0) {
        fprintf(stderr, "a parsed %s frame cannot be written again: %s\n", ck_spdy_type_name(f->type), err.msg);
        abort();
    }
    ck_spdy_frame back = {0};
    size_t used;
    int rc = ck_spdy_parse(a->parser, a->out.data, a->out.len, &used, &back, &err);
    if (rc != 1 || used != a->out.len) {
        fprintf(stderr, "our %s frame does not parse back: %s\n", ck_spdy_type_name(f->type), err.msg);
        abort();
    }
    ck_spdy_frame want = *f;
    want.slot = 0;
    if (f->type == CK_SPDY_RST_STREAM || f->type == CK_SPDY_PING || f->type == CK_SPDY_GOAWAY ||
        f->type == CK_SPDY_WINDOW_UPDATE)
        want.flags = 0; /* SPDY/3 defines no flags for them: we send none, whatever the peer set */
    if (f->type == CK_SPDY_DATA) {
        want.data = a->data;
        want.data_len = a->data_len;
        a->data_len = 0;
    }
    digest d1 = {1}, d2 = {1};
    mix_frame(&d1, &want);
    mix_frame(&d2, &back);
    if (d1.h != d2.h || back.data_end != want.data_end)
        abort();
}

/* Feeds the input in chunks; returns the digest of all it produced. */
static uint64_t run(const uint8_t *in, size_t len, size_t chunk, again *a, char *failure, size_t failure_cap)
{
    ck_err err;
    ck_err_clear(&err);
    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    if (p == NULL)
        abort();
    digest d = {0xcbf29ce484222325ull};
    failure[0] = '\0';
    size_t at = 0;
    while (at < len) {
        size_t n = len - at < chunk ? len - at : chunk;
        ck_spdy_frame f = {0};
        size_t used = 0;
        int rc = ck_spdy_parse(p, in + at, n, &used, &f, &err);
        if (used > n || (rc == 0 && used != n))
            abort();
        at += used;
        if (rc < 0) {
            if ((err.kind != CK_E_INVALID && err.kind != CK_E_EXHAUSTED) || err.msg[0] == '\0')
                abort();
            snprintf(failure, failure_cap, "%s", err.msg);
            ck_err again_err;
            ck_err_clear(&again_err);
            if (ck_spdy_parse(p, in, len, &used, &f, &again_err) != -1 || strcmp(again_err.msg, err.msg) != 0)
                abort(); /* a failed parser stays failed */
            break;
        }
        if (rc == 1) {
            check_limits(&f, len);
            mix_frame(&d, &f);
            if (a != NULL)
                check_round_trip(a, &f);
        }
    }
    ck_spdy_parser_free(p);
    return d.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0] == 0 ? size : data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    ck_err err;
    again a = {0};
    a.enc = ck_spdy_encoder_new(&err);
    a.parser = ck_spdy_parser_new(&err);
    a.data = malloc(len + 1);
    if (a.enc == NULL || a.parser == NULL || a.data == NULL)
        abort();
    static char failure_whole[CK_ERR_MSG_MAX], failure_chunked[CK_ERR_MSG_MAX];
    uint64_t whole = run(in, len, len > 0 ? len : 1, NULL, failure_whole, sizeof(failure_whole));
    uint64_t chunked = run(in, len, chunk, &a, failure_chunked, sizeof(failure_chunked));
    if (whole != chunked || strcmp(failure_whole, failure_chunked) != 0) {
        fprintf(stderr, "read whole: \"%s\"; in %zu-byte reads: \"%s\"\n", failure_whole, chunk, failure_chunked);
        abort();
    }
    ck_spdy_encoder_free(a.enc);
    ck_spdy_parser_free(a.parser);
    ck_bytes_free(&a.out);
    free(a.data);
    return 0;
}
