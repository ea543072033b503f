/*
 * test_spdy: the SPDY/3.1 framer on byte vectors. Client frames come from
 * outside our encoder: SYN_STREAMs whose header blocks Python's zlib
 * compressed the way spdystream's Go client does (level 9, the SPDY/3
 * dictionary, one stream for the connection, a sync flush per block), and
 * raw blocks compressed here with zlib directly, including the malformed
 * ones. Each vector is also fed split at every byte and coalesced; every
 * frame type goes through our encoder and back; limits and bad frames are
 * refused with a message naming the frame and the fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "streaming/spdy.h"

/* spdystream opening the error, stdin and port-forward data streams of a
 * session, in that order on one connection. Made with:
 *   c = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=SPDY3_DICT)
 *   block = c.compress(count + pairs) + c.flush(zlib.Z_SYNC_FLUSH)
 * The first block starts with the zlib header 78 f9 and the dictionary id
 * e3 c6 a7 c2; the others continue the same stream. */
static const uint8_t syn_error[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2,
                                    0x02, 0xa6, 0x23, 0x46, 0x70, 0x3a, 0x2b, 0x29, 0x4a, 0x4d, 0xcc, 0x85,
                                    0x16, 0x25, 0xac, 0xa9, 0xa0, 0x80, 0x06, 0x00, 0x00, 0x00, 0xff, 0xff};
static const uint8_t syn_stdin[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,
                                    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0x2e, 0x55, 0x5c,
                                    0x02, 0xcc, 0x2e, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff};
static const uint8_t syn_portforward[] = {
    0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x25, 0x55, 0x48, 0xa9, 0x5d, 0x04, 0xce, 0x20, 0x16, 0x06, 0x16, 0x06, 0x40, 0x9a, 0xb3, 0x08, 0x12,
    0xcb, 0x99, 0xa0, 0xd4, 0xcf, 0x68, 0x80, 0xa1, 0x19, 0x54, 0x44, 0x25, 0x02, 0x00, 0x00, 0x00, 0xff, 0xff};

/* ---- helpers -------------------------------------------------------------- */

/* What a test keeps of a parsed frame: DATA pieces are joined. */
typedef struct seen_frame {
    ck_spdy_frame f;
    char headers[8][2][64]; /* name, value (NULs in values shown as '|') */
    size_t data_len;
    uint8_t first_byte; /* of DATA */
} seen_frame;

typedef struct seen {
    seen_frame frames[16];
    size_t n;
    size_t pieces;
    ck_err err;
    int failed;
} seen;

static void keep(seen *s, const ck_spdy_frame *f)
{
    s->pieces++;
    if (f->type == CK_SPDY_DATA && s->n > 0) {
        seen_frame *last = &s->frames[s->n - 1];
        if (last->f.type == CK_SPDY_DATA && !last->f.data_end) {
            last->data_len += f->data_len;
            last->f.data_end = f->data_end;
            return;
        }
    }
    assert_true(s->n < 16);
    seen_frame *k = &s->frames[s->n++];
    memset(k, 0, sizeof(*k));
    k->f = *f;
    k->data_len = f->data_len;
    if (f->data_len > 0)
        k->first_byte = f->data[0];
    for (size_t i = 0; i < f->n_headers && i < 8; i++) {
        snprintf(k->headers[i][0], 64, "%s", f->headers[i].name);
        size_t n = f->headers[i].value_len < 63 ? f->headers[i].value_len : 63;
        memcpy(k->headers[i][1], f->headers[i].value, n);
        for (size_t j = 0; j < n; j++) {
            if (k->headers[i][1][j] == '\0')
                k->headers[i][1][j] = '|';
        }
    }
    k->f.headers = NULL;
    k->f.settings = NULL;
    k->f.data = NULL;
}

/* Feeds one chunk, taking every frame out of it. */
static void feed(ck_spdy_parser *p, seen *s, const uint8_t *in, size_t len)
{
    while (!s->failed) {
        ck_spdy_frame f;
        size_t used = 0;
        int rc = ck_spdy_parse(p, in, len, &used, &f, &s->err);
        assert_true(used <= len);
        in += used;
        len -= used;
        if (rc < 0) {
            s->failed = 1;
            return;
        }
        if (rc == 0) {
            assert_int_equal(len, 0);
            return;
        }
        keep(s, &f);
    }
}

/* Parses the whole input on a fresh connection, cut at `cut`. */
static void parse_split(const uint8_t *in, size_t len, size_t cut, seen *s)
{
    memset(s, 0, sizeof(*s));
    ck_spdy_parser *p = ck_spdy_parser_new(&s->err);
    assert_non_null(p);
    feed(p, s, in, cut);
    feed(p, s, in + cut, len - cut);
    ck_spdy_parser_free(p);
}

static void parse_bytewise(const uint8_t *in, size_t len, seen *s)
{
    memset(s, 0, sizeof(*s));
    ck_spdy_parser *p = ck_spdy_parser_new(&s->err);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        feed(p, s, in + i, 1);
    ck_spdy_parser_free(p);
}

static void assert_same_frames(const seen *a, const seen *b)
{
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->frames[i].f.type, b->frames[i].f.type);
        assert_int_equal(a->frames[i].f.stream_id, b->frames[i].f.stream_id);
        assert_int_equal(a->frames[i].f.n_headers, b->frames[i].f.n_headers);
        assert_int_equal(a->frames[i].data_len, b->frames[i].data_len);
        assert_memory_equal(a->frames[i].headers, b->frames[i].headers, sizeof(a->frames[i].headers));
    }
}

/* Every cut of the input, and a byte at a time, parse as the whole does. */
static void assert_split_anywhere(const uint8_t *in, size_t len, const seen *whole)
{
    seen s;
    for (size_t cut = 0; cut <= len; cut++) {
        parse_split(in, len, cut, &s);
        assert_same_frames(whole, &s);
    }
    parse_bytewise(in, len, &s);
    assert_same_frames(whole, &s);
}

static void expect_refused(const uint8_t *in, size_t len, ck_errkind kind, const char *why)
{
    seen s;
    parse_split(in, len, len, &s);
    assert_true(s.failed);
    assert_int_equal(s.err.kind, kind);
    if (strstr(s.err.msg, why) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", s.err.msg, why);
    /* Fed a byte at a time, the same fault. */
    parse_bytewise(in, len, &s);
    assert_true(s.failed);
    if (strstr(s.err.msg, why) == NULL)
        fail_msg("bytewise: message \"%s\" lacks \"%s\"", s.err.msg, why);
}

/* A peer's compressor, independent of our encoder: zlib with Go's settings. */
typedef struct client {
    z_stream z;
} client;

static void client_init(client *c)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(deflateInit(&c->z, Z_BEST_COMPRESSION), Z_OK);
    assert_int_equal(deflateSetDictionary(&c->z, ck_spdy_dictionary, (uInt)ck_spdy_dictionary_len), Z_OK);
}

static size_t client_compress(client *c, const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
    c->z.next_in = (Bytef *)raw;
    c->z.avail_in = (uInt)len;
    c->z.next_out = out;
    c->z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&c->z, Z_SYNC_FLUSH), Z_OK);
    assert_true(c->z.avail_out > 0);
    return cap - c->z.avail_out;
}

/* A SYN_STREAM on stream 1 carrying raw (an uncompressed block), compressed
 * by a fresh client; returns the frame's length. */
static size_t syn_with_block(const uint8_t *raw, size_t raw_len, uint8_t *out, size_t cap)
{
    client c;
    client_init(&c);
    uint8_t fixed[18] = {0x80, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1};
    memcpy(out, fixed, sizeof(fixed));
    size_t n = client_compress(&c, raw, raw_len, out + 18, cap - 18);
    deflateEnd(&c.z);
    size_t length = 10 + n;
    out[5] = (uint8_t)(length >> 16);
    out[6] = (uint8_t)(length >> 8);
    out[7] = (uint8_t)length;
    return 18 + n;
}

/* Appends a length-prefixed string to a raw block. */
static size_t raw_put(uint8_t *raw, size_t at, const char *s, size_t len)
{
    raw[at] = (uint8_t)(len >> 24);
    raw[at + 1] = (uint8_t)(len >> 16);
    raw[at + 2] = (uint8_t)(len >> 8);
    raw[at + 3] = (uint8_t)len;
    if (len > 0 && s != NULL)
        memcpy(raw + at + 4, s, len);
    return at + 4 + len;
}

static size_t raw_block(uint8_t *raw, uint32_t count, const char *const *pairs, size_t n_pairs)
{
    size_t at = raw_put(raw, 0, NULL, 0);
    raw[0] = (uint8_t)(count >> 24);
    raw[1] = (uint8_t)(count >> 16);
    raw[2] = (uint8_t)(count >> 8);
    raw[3] = (uint8_t)count;
    for (size_t i = 0; i < 2 * n_pairs; i++)
        at = raw_put(raw, at, pairs[i], strlen(pairs[i]));
    return at;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_dictionary_is_spdy3s(void **state)
{
    (void)state;
    assert_int_equal(ck_spdy_dictionary_len, 1423);
    /* The dictionary id a SPDY/3 peer puts in its zlib header (syn_error bytes 20-23). */
    assert_int_equal(adler32(1, ck_spdy_dictionary, (uInt)ck_spdy_dictionary_len), 0xe3c6a7c2u);
    assert_memory_equal(ck_spdy_dictionary, "\0\0\0\7options", 11);
    assert_memory_equal(ck_spdy_dictionary + 1423 - 7, ",enq=0.", 7);
}

static void test_client_syn_streams(void **state)
{
    (void)state;
    uint8_t all[sizeof(syn_error) + sizeof(syn_stdin) + sizeof(syn_portforward)];
    memcpy(all, syn_error, sizeof(syn_error));
    memcpy(all + sizeof(syn_error), syn_stdin, sizeof(syn_stdin));
    memcpy(all + sizeof(syn_error) + sizeof(syn_stdin), syn_portforward, sizeof(syn_portforward));

    seen s;
    parse_split(all, sizeof(all), sizeof(all), &s);
    if (s.failed)
        fail_msg("%s", s.err.msg);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.frames[0].f.type, CK_SPDY_SYN_STREAM);
    assert_int_equal(s.frames[0].f.stream_id, 1);
    assert_int_equal(s.frames[0].f.n_headers, 1);
    assert_string_equal(s.frames[0].headers[0][0], "streamtype");
    assert_string_equal(s.frames[0].headers[0][1], "error");
    assert_int_equal(s.frames[1].f.stream_id, 3);
    assert_string_equal(s.frames[1].headers[0][1], "stdin");
    assert_int_equal(s.frames[2].f.stream_id, 5);
    assert_int_equal(s.frames[2].f.n_headers, 3);
    assert_string_equal(s.frames[2].headers[0][0], "port");
    assert_string_equal(s.frames[2].headers[0][1], "8080");
    assert_string_equal(s.frames[2].headers[1][0], "requestid");
    assert_string_equal(s.frames[2].headers[2][1], "data");
    assert_split_anywhere(all, sizeof(all), &s);

    /* The second block alone cannot be read: it continues the first's stream. */
    parse_split(syn_stdin, sizeof(syn_stdin), sizeof(syn_stdin), &s);
    assert_true(s.failed);
    assert_non_null(strstr(s.err.msg, "SYN_STREAM frame: stream 3: header block does not inflate"));
}

static void test_header_find(void **state)
{
    (void)state;
    ck_err err;
    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    assert_non_null(p);
    ck_spdy_frame f;
    size_t used;
    assert_int_equal(ck_spdy_parse(p, syn_error, sizeof(syn_error), &used, &f, &err), 1);
    assert_int_equal(used, sizeof(syn_error));
    const ck_spdy_header *h = ck_spdy_header_find(&f, "streamtype");
    assert_non_null(h);
    assert_string_equal(h->value, "error");
    assert_int_equal(h->value_len, 5);
    assert_null(ck_spdy_header_find(&f, "port"));
    ck_spdy_parser_free(p);
}

/* Every frame the server sends, and the client's, through our encoder and back. */
static void test_round_trip_every_type(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes out = {0};
    ck_spdy_encoder *e = ck_spdy_encoder_new(&err);
    assert_non_null(e);
    static const char multi[] = "v4.channel.k8s.io\0v3.channel.k8s.io";
    ck_spdy_header hs[] = {
        {"streamtype", "stdout", 6}, {"x-stream-protocol-version", multi, sizeof(multi) - 1}, {"empty", "", 0}};
    ck_spdy_setting settings[] = {{0, 4, 100}, {1, 7, 65536}};
    static const uint8_t payload[] = "hello";
    assert_int_equal(ck_spdy_put_syn_stream(e, &out, 1, 0, 3, CK_SPDY_FLAG_UNIDIRECTIONAL, hs, 3, &err), 0);
    assert_int_equal(ck_spdy_put_syn_reply(e, &out, 1, 0, NULL, 0, &err), 0);
    assert_int_equal(ck_spdy_put_headers(e, &out, 1, CK_SPDY_FLAG_FIN, hs, 1, &err), 0);
    assert_int_equal(ck_spdy_put_data(&out, 1, 0, payload, 5, &err), 0);
    assert_int_equal(ck_spdy_put_data(&out, 1, CK_SPDY_FLAG_FIN, NULL, 0, &err), 0);
    assert_int_equal(ck_spdy_put_rst_stream(&out, 3, CK_SPDY_RST_CANCEL, &err), 0);
    assert_int_equal(ck_spdy_put_settings(&out, CK_SPDY_FLAG_CLEAR_SETTINGS, settings, 2, &err), 0);
    assert_int_equal(ck_spdy_put_ping(&out, 7, &err), 0);
    assert_int_equal(ck_spdy_put_window_update(&out, 0, 65536, &err), 0);
    assert_int_equal(ck_spdy_put_goaway(&out, 5, CK_SPDY_GOAWAY_PROTOCOL_ERROR, &err), 0);

    seen s;
    parse_split(out.data, out.len, out.len, &s);
    if (s.failed)
        fail_msg("%s", s.err.msg);
    assert_int_equal(s.n, 10);
    const ck_spdy_frame *f = &s.frames[0].f;
    assert_int_equal(f->type, CK_SPDY_SYN_STREAM);
    assert_int_equal(f->flags, CK_SPDY_FLAG_UNIDIRECTIONAL);
    assert_int_equal(f->priority, 3);
    assert_int_equal(f->n_headers, 3);
    assert_string_equal(s.frames[0].headers[1][0], "x-stream-protocol-version");
    assert_string_equal(s.frames[0].headers[1][1], "v4.channel.k8s.io|v3.channel.k8s.io");
    assert_string_equal(s.frames[0].headers[2][1], "");
    assert_int_equal(s.frames[1].f.type, CK_SPDY_SYN_REPLY);
    assert_int_equal(s.frames[1].f.n_headers, 0);
    assert_int_equal(s.frames[2].f.type, CK_SPDY_HEADERS);
    assert_int_equal(s.frames[2].f.flags, CK_SPDY_FLAG_FIN);
    assert_string_equal(s.frames[2].headers[0][1], "stdout");
    assert_int_equal(s.frames[3].f.type, CK_SPDY_DATA);
    assert_int_equal(s.frames[3].data_len, 5);
    assert_int_equal(s.frames[3].first_byte, 'h');
    assert_true(s.frames[3].f.data_end);
    assert_int_equal(s.frames[4].f.type, CK_SPDY_DATA);
    assert_int_equal(s.frames[4].data_len, 0);
    assert_int_equal(s.frames[4].f.flags, CK_SPDY_FLAG_FIN);
    assert_true(s.frames[4].f.data_end);
    assert_int_equal(s.frames[5].f.type, CK_SPDY_RST_STREAM);
    assert_int_equal(s.frames[5].f.stream_id, 3);
    assert_int_equal(s.frames[5].f.status, CK_SPDY_RST_CANCEL);
    assert_int_equal(s.frames[6].f.type, CK_SPDY_SETTINGS);
    assert_int_equal(s.frames[6].f.n_settings, 2);
    assert_int_equal(s.frames[7].f.type, CK_SPDY_PING);
    assert_int_equal(s.frames[7].f.ping_id, 7);
    assert_int_equal(s.frames[8].f.type, CK_SPDY_WINDOW_UPDATE);
    assert_int_equal(s.frames[8].f.delta, 65536);
    assert_int_equal(s.frames[9].f.type, CK_SPDY_GOAWAY);
    assert_int_equal(s.frames[9].f.stream_id, 5);
    assert_int_equal(s.frames[9].f.status, CK_SPDY_GOAWAY_PROTOCOL_ERROR);
    assert_split_anywhere(out.data, out.len, &s);

    /* Settings entries come back as written. */
    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    assert_non_null(p);
    size_t at = 0, used;
    ck_spdy_frame fr;
    do {
        assert_int_equal(ck_spdy_parse(p, out.data + at, out.len - at, &used, &fr, &err), 1);
        at += used;
    } while (fr.type != CK_SPDY_SETTINGS);
    assert_int_equal(fr.flags, CK_SPDY_FLAG_CLEAR_SETTINGS);
    assert_int_equal(fr.settings[1].flags, 1);
    assert_int_equal(fr.settings[1].id, 7);
    assert_int_equal(fr.settings[1].value, 65536);
    ck_spdy_parser_free(p);
    ck_spdy_encoder_free(e);
    ck_bytes_free(&out);
}

/* Many header blocks on one connection: both zlib streams stay in step. */
static void test_compression_context_spans_frames(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes out = {0};
    ck_spdy_encoder *e = ck_spdy_encoder_new(&err);
    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    assert_non_null(e);
    assert_non_null(p);
    char value[40];
    for (uint32_t id = 1; id < 400; id += 2) {
        snprintf(value, sizeof(value), "request-%u", id);
        ck_spdy_header hs[] = {{"streamtype", "data", 4}, {"requestid", value, strlen(value)}};
        out.len = 0;
        assert_int_equal(ck_spdy_put_syn_reply(e, &out, id, 0, hs, 2, &err), 0);
        ck_spdy_frame f;
        size_t used;
        assert_int_equal(ck_spdy_parse(p, out.data, out.len, &used, &f, &err), 1);
        assert_int_equal(used, out.len);
        assert_int_equal(f.stream_id, id);
        assert_string_equal(ck_spdy_header_find(&f, "requestid")->value, value);
    }
    ck_spdy_parser_free(p);
    ck_spdy_encoder_free(e);
    ck_bytes_free(&out);
}

/* A DATA frame of the protocol's maximum comes out in pieces, unbuffered. */
static void test_large_data_frame(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes out = {0};
    uint8_t *payload = malloc(CK_SPDY_DATA_MAX);
    assert_non_null(payload);
    for (size_t i = 0; i < CK_SPDY_DATA_MAX; i++)
        payload[i] = (uint8_t)(i * 7);
    assert_int_equal(ck_spdy_put_data(&out, 9, CK_SPDY_FLAG_FIN, payload, CK_SPDY_DATA_MAX, &err), 0);
    assert_int_equal(out.len, 8 + CK_SPDY_DATA_MAX);
    assert_int_equal(ck_spdy_put_data(&out, 9, 0, payload, CK_SPDY_DATA_MAX + 1, &err), -1);
    assert_non_null(strstr(err.msg, "more than a frame holds"));

    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    assert_non_null(p);
    size_t at = 0, got = 0, pieces = 0, chunk = 65536;
    bool ended = false;
    while (at < out.len) {
        size_t n = out.len - at < chunk ? out.len - at : chunk;
        ck_spdy_frame f;
        size_t used;
        int rc = ck_spdy_parse(p, out.data + at, n, &used, &f, &err);
        assert_true(rc >= 0);
        at += used;
        if (rc == 1) {
            assert_false(ended);
            assert_int_equal(f.stream_id, 9);
            assert_int_equal(f.flags, CK_SPDY_FLAG_FIN);
            assert_memory_equal(f.data, payload + got, f.data_len);
            got += f.data_len;
            pieces++;
            ended = f.data_end;
        }
    }
    assert_true(ended);
    assert_int_equal(got, CK_SPDY_DATA_MAX);
    assert_true(pieces >= CK_SPDY_DATA_MAX / chunk);
    ck_spdy_parser_free(p);
    free(payload);
    ck_bytes_free(&out);
}

static void test_unknown_control_type_is_skipped(void **state)
{
    (void)state;
    /* CREDENTIAL (10) with 5 bytes, type 0xffff empty, then a PING. */
    static const uint8_t in[] = {0x80, 0x03, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x05, 1,    2,    3,
                                 4,    5,    0x80, 0x03, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x80,
                                 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a};
    seen s;
    parse_split(in, sizeof(in), sizeof(in), &s);
    assert_false(s.failed);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.frames[0].f.type, CK_SPDY_PING);
    assert_int_equal(s.frames[0].f.ping_id, 42);
    assert_split_anywhere(in, sizeof(in), &s);
}

static void test_bad_frames(void **state)
{
    (void)state;
    /* SPDY/2's SYN_STREAM. */
    static const uint8_t v2[] = {0x80, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    expect_refused(v2, sizeof(v2), CK_E_INVALID, "SPDY version 2");
    /* Unknown types are version-checked too. */
    static const uint8_t v4_unknown[] = {0x80, 0x04, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00};
    expect_refused(v4_unknown, sizeof(v4_unknown), CK_E_INVALID, "SPDY version 4");
    static const uint8_t data0[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
    expect_refused(data0, sizeof(data0), CK_E_INVALID, "DATA frame: stream id 0");
    /* A SYN_STREAM announcing 64 KiB + 1: refused before any of it is buffered. */
    static const uint8_t huge[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01};
    expect_refused(huge, sizeof(huge), CK_E_EXHAUSTED, "length 65537, more than the 65536 bytes");
    static const uint8_t rst_short[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1};
    expect_refused(rst_short, sizeof(rst_short), CK_E_INVALID, "RST_STREAM frame: length 4, must be 8");
    static const uint8_t rst0[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0};
    expect_refused(rst0, sizeof(rst0), CK_E_INVALID, "status 0");
    static const uint8_t ping8[] = {0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 0};
    expect_refused(ping8, sizeof(ping8), CK_E_INVALID, "PING frame: length 8, must be 4");
    static const uint8_t settings_bad[] = {0x80, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0c, 0, 0,
                                           0,    2,    0,    0,    0,    4,    0,    0,    0, 1};
    expect_refused(settings_bad, sizeof(settings_bad), CK_E_INVALID, "2 entries announced in 8 bytes");
    static const uint8_t syn_short[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1};
    expect_refused(syn_short, sizeof(syn_short), CK_E_INVALID, "shorter than its fixed fields (10)");
    /* A SYN_STREAM on stream 0 with a good block. */
    uint8_t syn0[sizeof(syn_error)];
    memcpy(syn0, syn_error, sizeof(syn0));
    syn0[11] = 0;
    expect_refused(syn0, sizeof(syn0), CK_E_INVALID, "SYN_STREAM frame: stream id 0");
}

static void test_bad_header_blocks(void **state)
{
    (void)state;
    uint8_t raw[4096], frame[4096];
    size_t len;

    /* Not zlib at all. */
    static const uint8_t garbage[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e, 0,    0,    0,
                                      1,    0,    0,    0,    0,    0,    0,    0xde, 0xad, 0xbe, 0xef};
    expect_refused(garbage, sizeof(garbage), CK_E_INVALID, "header block does not inflate");
    /* zlib with another dictionary's id. */
    uint8_t other_dict[sizeof(syn_error)];
    memcpy(other_dict, syn_error, sizeof(other_dict));
    other_dict[23] ^= 1;
    expect_refused(other_dict, sizeof(other_dict), CK_E_INVALID, "dictionary other than SPDY/3's");

    static const char *const upper[] = {"streamType", "error"};
    len = syn_with_block(raw, raw_block(raw, 1, upper, 1), frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "header name 0 holds an upper-case letter");

    static const char *const twice[] = {"port", "80", "port", "81"};
    len = syn_with_block(raw, raw_block(raw, 2, twice, 2), frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "header \"port\" appears twice");

    static const char *const empty_name[] = {"", "x"};
    len = syn_with_block(raw, raw_block(raw, 1, empty_name, 1), frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "header 0 has an empty name");

    /* Count says 2, one pair follows. */
    static const char *const one[] = {"a", "b"};
    len = syn_with_block(raw, raw_block(raw, 2, one, 1), frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "header block ends inside the length of name 1");

    /* Count says 1, two pairs follow. */
    static const char *const extra[] = {"a", "b", "c", "d"};
    len = syn_with_block(raw, raw_block(raw, 1, extra, 2), frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "10 bytes after the last of 1 headers");

    /* A value longer than what is left. */
    size_t at = raw_block(raw, 1, NULL, 0);
    at = raw_put(raw, at, "a", 1);
    at = raw_put(raw, at, NULL, 0);
    raw[at - 1] = 200;
    len = syn_with_block(raw, at, frame, sizeof(frame));
    expect_refused(frame, len, CK_E_INVALID, "value 0 of 200 bytes, but only 0 remain");

    /* Too many headers. */
    at = raw_block(raw, 65, NULL, 0);
    char name[8];
    for (int i = 0; i < 65; i++) {
        snprintf(name, sizeof(name), "h%d", i);
        at = raw_put(raw, at, name, strlen(name));
        at = raw_put(raw, at, "v", 1);
    }
    len = syn_with_block(raw, at, frame, sizeof(frame));
    expect_refused(frame, len, CK_E_EXHAUSTED, "65 headers, more than 64");
}

/* A few hundred compressed bytes that would inflate to 1 MiB. */
static void test_header_block_bomb(void **state)
{
    (void)state;
    size_t raw_len = 4 + 4 + 1 + 4 + (size_t)1024 * 1024;
    uint8_t *raw = calloc(1, raw_len);
    assert_non_null(raw);
    size_t at = raw_block(raw, 1, NULL, 0);
    at = raw_put(raw, at, "a", 1);
    raw_put(raw, at, NULL, (size_t)1024 * 1024);
    uint8_t frame[8192];
    size_t len = syn_with_block(raw, raw_len, frame, sizeof(frame));
    assert_true(len < 8192);
    expect_refused(frame, len, CK_E_EXHAUSTED, "header block inflates to more than 65536 bytes");
    free(raw);
}

static void test_failed_parser_stays_failed(void **state)
{
    (void)state;
    ck_err err;
    ck_spdy_parser *p = ck_spdy_parser_new(&err);
    assert_non_null(p);
    static const uint8_t v2[] = {0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1};
    ck_spdy_frame f;
    size_t used;
    assert_int_equal(ck_spdy_parse(p, v2, sizeof(v2), &used, &f, &err), -1);
    assert_int_equal(ck_spdy_goaway_status_for(&err), CK_SPDY_GOAWAY_PROTOCOL_ERROR);
    ck_err_clear(&err);
    assert_int_equal(ck_spdy_parse(p, syn_error, sizeof(syn_error), &used, &f, &err), -1);
    assert_int_equal(used, 0);
    assert_non_null(strstr(err.msg, "SPDY version 2"));
    ck_spdy_parser_free(p);
}

static void test_encoder_refusals(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes out = {0};
    ck_spdy_encoder *e = ck_spdy_encoder_new(&err);
    assert_non_null(e);
    ck_spdy_header upper = {"streamType", "x", 1};
    assert_int_equal(ck_spdy_put_syn_reply(e, &out, 1, 0, &upper, 1, &err), -1);
    assert_non_null(strstr(err.msg, "SPDY SYN_REPLY: SPDY header block: name \"streamType\" is not lower case"));
    assert_int_equal(out.len, 0);
    assert_int_equal(ck_spdy_put_syn_reply(e, &out, 0, 0, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "stream id 0"));
    assert_int_equal(ck_spdy_put_data(&out, 0x80000001u, 0, NULL, 0, &err), -1);
    assert_int_equal(ck_spdy_put_rst_stream(&out, 1, 0, &err), -1);
    assert_int_equal(ck_spdy_put_window_update(&out, 1, 0, &err), -1);
    assert_int_equal(out.len, 0);
    /* A refused block leaves the compressor usable. */
    ck_spdy_header ok = {"streamtype", "x", 1};
    assert_int_equal(ck_spdy_put_syn_reply(e, &out, 1, 0, &ok, 1, &err), 0);
    seen s;
    parse_split(out.data, out.len, out.len, &s);
    assert_false(s.failed);
    assert_string_equal(s.frames[0].headers[0][1], "x");
    ck_spdy_encoder_free(e);
    ck_bytes_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dictionary_is_spdy3s),
        cmocka_unit_test(test_client_syn_streams),
        cmocka_unit_test(test_header_find),
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_compression_context_spans_frames),
        cmocka_unit_test(test_large_data_frame),
        cmocka_unit_test(test_unknown_control_type_is_skipped),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_bad_header_blocks),
        cmocka_unit_test(test_header_block_bomb),
        cmocka_unit_test(test_failed_parser_stays_failed),
        cmocka_unit_test(test_encoder_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
