/*
 * test_websocket: the WebSocket framer and the Kubernetes channel layer on
 * byte vectors: the examples of RFC 6455 (the handshake key of section 1.3,
 * the frames of section 5.7), fragmented messages with control frames
 * between the fragments, every split of the input and all of it at once,
 * messages at and over the size limit, the frames a server must refuse, the
 * subprotocols kubectl and crictl offer, and channel messages in binary and
 * base64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streaming/websocket.h"

static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- helpers -------------------------------------------------------------- */

typedef struct seen_event {
    ck_ws_opcode opcode;
    size_t len;
    uint16_t close_code;
    char text[64];
} seen_event;

typedef struct seen {
    seen_event events[16];
    size_t n;
    ck_err err;
    int failed;
} seen;

static void feed(ck_ws_parser *p, seen *s, const uint8_t *in, size_t len)
{
    while (!s->failed) {
        ck_ws_event ev;
        size_t used = 0;
        int rc = ck_ws_parse(p, in, len, &used, &ev, &s->err);
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
        assert_true(s->n < 16);
        seen_event *k = &s->events[s->n++];
        memset(k, 0, sizeof(*k));
        k->opcode = ev.opcode;
        k->len = ev.len;
        k->close_code = ev.close_code;
        memcpy(k->text, ev.data, ev.len < 63 ? ev.len : 63);
    }
}

static void parse_split(const uint8_t *in, size_t len, size_t cut, size_t max, seen *s)
{
    memset(s, 0, sizeof(*s));
    ck_ws_parser *p = ck_ws_parser_new(max, &s->err);
    assert_non_null(p);
    feed(p, s, in, cut);
    feed(p, s, in + cut, len - cut);
    ck_ws_parser_free(p);
}

static void parse_bytewise(const uint8_t *in, size_t len, seen *s)
{
    memset(s, 0, sizeof(*s));
    ck_ws_parser *p = ck_ws_parser_new(0, &s->err);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        feed(p, s, in + i, 1);
    ck_ws_parser_free(p);
}

static void assert_same(const seen *a, const seen *b)
{
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->events, b->events, a->n * sizeof(a->events[0]));
}

static void assert_split_anywhere(const uint8_t *in, size_t len, const seen *whole)
{
    seen s;
    for (size_t cut = 0; cut <= len; cut++) {
        parse_split(in, len, cut, 0, &s);
        assert_same(whole, &s);
    }
    parse_bytewise(in, len, &s);
    assert_same(whole, &s);
}

static void expect_refused(const uint8_t *in, size_t len, ck_errkind kind, const char *why)
{
    seen s;
    parse_split(in, len, len, 0, &s);
    assert_true(s.failed);
    assert_int_equal(s.err.kind, kind);
    if (strstr(s.err.msg, why) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", s.err.msg, why);
    parse_bytewise(in, len, &s);
    assert_true(s.failed);
    if (strstr(s.err.msg, why) == NULL)
        fail_msg("bytewise: message \"%s\" lacks \"%s\"", s.err.msg, why);
}

static void put(ck_bytes *out, ck_ws_opcode opcode, bool fin, const char *text)
{
    ck_err err;
    if (ck_ws_put_frame(out, opcode, fin, mask, (const uint8_t *)text, strlen(text), &err) < 0)
        fail_msg("%s", err.msg);
}

/* ---- handshake ------------------------------------------------------------ */

static void test_accept_key(void **state)
{
    (void)state;
    char accept[CK_WS_ACCEPT_LEN + 1];
    ck_err err;
    /* RFC 6455 section 1.3. */
    assert_int_equal(ck_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept, &err), 0);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ck_ws_accept("dGhlIHNhbXBsZSBub25jZQ", accept, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "22 characters"));
    /* 24 characters, but 18 bytes. */
    assert_int_equal(ck_ws_accept("AAAAAAAAAAAAAAAAAAAAAAAA", accept, &err), -1);
    assert_non_null(strstr(err.msg, "not the base64 of 16 bytes"));
    assert_int_equal(ck_ws_accept("dGhlIHNhbXBsZSBub25j*Q==", accept, &err), -1);
}

static ck_ws_protocol select_ok(ck_ws_service service, const char *const *offered, size_t n)
{
    ck_ws_protocol p;
    ck_err err;
    if (ck_ws_select_protocol(service, offered, n, &p, &err) < 0)
        fail_msg("%s", err.msg);
    return p;
}

static void test_select_protocol(void **state)
{
    (void)state;
    /* crictl --transport websocket offers v5 alone. */
    const char *crictl[] = {"v5.channel.k8s.io"};
    assert_int_equal(select_ok(CK_WS_SERVICE_EXEC, crictl, 1), CK_WS_PROTO_V5);
    assert_string_equal(ck_ws_protocol_name(CK_WS_PROTO_V5), "v5.channel.k8s.io");
    assert_int_equal(ck_ws_protocol_version(CK_WS_PROTO_V5), 5);
    /* The client's order wins, in one header or several. */
    const char *listed[] = {"base64.channel.k8s.io, v4.channel.k8s.io"};
    assert_int_equal(select_ok(CK_WS_SERVICE_EXEC, listed, 1), CK_WS_PROTO_BASE64);
    assert_true(ck_ws_protocol_is_base64(CK_WS_PROTO_BASE64));
    const char *headers[] = {" x.example , ,", "v4.base64.channel.k8s.io", "channel.k8s.io"};
    assert_int_equal(select_ok(CK_WS_SERVICE_EXEC, headers, 3), CK_WS_PROTO_V4_BASE64);
    assert_int_equal(ck_ws_protocol_version(CK_WS_PROTO_V4_BASE64), 4);
    /* Nothing offered: plain binary channels and no header in the answer. */
    assert_int_equal(select_ok(CK_WS_SERVICE_EXEC, NULL, 0), CK_WS_PROTO_NONE);
    const char *blank[] = {" "};
    assert_int_equal(select_ok(CK_WS_SERVICE_EXEC, blank, 1), CK_WS_PROTO_NONE);
    assert_string_equal(ck_ws_protocol_name(CK_WS_PROTO_NONE), "");
    assert_int_equal(ck_ws_protocol_version(CK_WS_PROTO_NONE), 1);
    /* Port-forward speaks its own set. */
    const char *pf[] = {"v5.channel.k8s.io, portforward.k8s.io"};
    assert_int_equal(select_ok(CK_WS_SERVICE_PORTFORWARD, pf, 1), CK_WS_PROTO_PORTFORWARD);
    const char *pf4[] = {"v4.channel.k8s.io"};
    assert_int_equal(select_ok(CK_WS_SERVICE_PORTFORWARD, pf4, 1), CK_WS_PROTO_V4);

    ck_ws_protocol p;
    ck_err err;
    const char *unknown[] = {"v6.channel.k8s.io", "chat"};
    assert_int_equal(ck_ws_select_protocol(CK_WS_SERVICE_EXEC, unknown, 2, &p, &err), -1);
    assert_int_equal(err.kind, CK_E_INVALID);
    assert_non_null(strstr(err.msg, "(v6.channel.k8s.io, ...) is spoken for exec and attach; offer one of: "
                                    "v5.channel.k8s.io, v4.channel.k8s.io"));
    /* Case matters (RFC 6455: subprotocol names are compared exactly). */
    const char *upper[] = {"V4.channel.k8s.io"};
    assert_int_equal(ck_ws_select_protocol(CK_WS_SERVICE_EXEC, upper, 1, &p, &err), -1);
    assert_int_equal(ck_ws_select_protocol(CK_WS_SERVICE_PORTFORWARD, crictl, 1, &p, &err), -1);
    assert_non_null(strstr(err.msg, "port-forward"));
}

/* ---- frames --------------------------------------------------------------- */

/* RFC 6455 section 5.7, the frames a client sends. */
static void test_rfc_client_examples(void **state)
{
    (void)state;
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t both[sizeof(hello) + sizeof(pong)];
    memcpy(both, hello, sizeof(hello));
    memcpy(both + sizeof(hello), pong, sizeof(pong));
    seen s;
    parse_split(both, sizeof(both), sizeof(both), 0, &s);
    assert_false(s.failed);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.events[0].opcode, CK_WS_TEXT);
    assert_string_equal(s.events[0].text, "Hello");
    assert_int_equal(s.events[1].opcode, CK_WS_PONG);
    assert_string_equal(s.events[1].text, "Hello");
    assert_split_anywhere(both, sizeof(both), &s);

    /* Our masked encoding is the RFC's. */
    ck_bytes out = {0};
    put(&out, CK_WS_TEXT, true, "Hello");
    assert_int_equal(out.len, sizeof(hello));
    assert_memory_equal(out.data, hello, sizeof(hello));
    ck_bytes_free(&out);
}

/* RFC 6455 section 5.7, the frames a server sends: our encoder's bytes. */
static void test_rfc_server_examples(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes out = {0};
    static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_TEXT, true, NULL, (const uint8_t *)"Hello", 5, &err), 0);
    assert_memory_equal(out.data, hello, sizeof(hello));
    out.len = 0;
    static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_TEXT, false, NULL, (const uint8_t *)"Hel", 3, &err), 0);
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_CONTINUATION, true, NULL, (const uint8_t *)"lo", 2, &err), 0);
    assert_int_equal(out.len, sizeof(frag));
    assert_memory_equal(out.data, frag, sizeof(frag));
    out.len = 0;
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_PING, true, NULL, (const uint8_t *)"Hello", 5, &err), 0);
    assert_memory_equal(out.data, ping, sizeof(ping));

    static uint8_t big[65536];
    out.len = 0;
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_BINARY, true, NULL, big, 256, &err), 0);
    static const uint8_t head16[] = {0x82, 0x7e, 0x01, 0x00};
    assert_int_equal(out.len, 4 + 256);
    assert_memory_equal(out.data, head16, 4);
    out.len = 0;
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_BINARY, true, NULL, big, 65536, &err), 0);
    static const uint8_t head64[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
    assert_int_equal(out.len, 10 + 65536);
    assert_memory_equal(out.data, head64, 10);
    /* 65535 still fits the 16-bit form. */
    out.len = 0;
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_BINARY, true, NULL, big, 65535, &err), 0);
    assert_int_equal(out.len, 4 + 65535);

    out.len = 0;
    assert_int_equal(ck_ws_put_close(&out, CK_WS_CLOSE_NORMAL, "bye", &err), 0);
    static const uint8_t close[] = {0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'};
    assert_memory_equal(out.data, close, sizeof(close));
    out.len = 0;
    assert_int_equal(ck_ws_put_close(&out, 0, NULL, &err), 0);
    assert_int_equal(out.len, 2);
    assert_int_equal(ck_ws_put_close(&out, 1005, NULL, &err), -1);
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_PING, false, NULL, NULL, 0, &err), -1);
    assert_int_equal(ck_ws_put_frame(&out, CK_WS_PONG, true, NULL, big, 126, &err), -1);
    assert_int_equal(ck_ws_put_frame(&out, (ck_ws_opcode)3, true, NULL, NULL, 0, &err), -1);
    ck_bytes_free(&out);
}

/* A message in three fragments with a ping, a pong and an empty fragment
 * between them, then a close with a code and a reason. */
static void test_fragments_with_control_frames(void **state)
{
    (void)state;
    ck_bytes in = {0};
    put(&in, CK_WS_BINARY, false, "\x01Hel");
    put(&in, CK_WS_PING, true, "are you there");
    put(&in, CK_WS_CONTINUATION, false, "");
    put(&in, CK_WS_PONG, true, "");
    put(&in, CK_WS_CONTINUATION, true, "lo");
    put(&in, CK_WS_TEXT, true, "");
    put(&in, CK_WS_CLOSE, true, "\x03\xe8going");
    seen s;
    parse_split(in.data, in.len, in.len, 0, &s);
    if (s.failed)
        fail_msg("%s", s.err.msg);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.events[0].opcode, CK_WS_PING);
    assert_string_equal(s.events[0].text, "are you there");
    assert_int_equal(s.events[1].opcode, CK_WS_PONG);
    assert_int_equal(s.events[1].len, 0);
    assert_int_equal(s.events[2].opcode, CK_WS_BINARY);
    assert_string_equal(s.events[2].text, "\x01Hello");
    assert_int_equal(s.events[3].opcode, CK_WS_TEXT);
    assert_int_equal(s.events[3].len, 0);
    assert_int_equal(s.events[4].opcode, CK_WS_CLOSE);
    assert_int_equal(s.events[4].close_code, 1000);
    assert_string_equal(s.events[4].text, "going");
    assert_split_anywhere(in.data, in.len, &s);
    ck_bytes_free(&in);
}

static void test_message_limit(void **state)
{
    (void)state;
    ck_err err;
    ck_bytes in = {0};
    uint8_t *big = calloc(1, CK_WS_MESSAGE_MAX + 1);
    assert_non_null(big);
    for (size_t i = 0; i < CK_WS_MESSAGE_MAX; i++)
        big[i] = (uint8_t)i;
    /* Exactly the limit, in one frame with a 64-bit length, fed in 1000-byte reads. */
    assert_int_equal(ck_ws_put_frame(&in, CK_WS_BINARY, true, mask, big, CK_WS_MESSAGE_MAX, &err), 0);
    ck_ws_parser *p = ck_ws_parser_new(0, &err);
    assert_non_null(p);
    size_t at = 0, events = 0;
    while (at < in.len) {
        size_t n = in.len - at < 1000 ? in.len - at : 1000;
        ck_ws_event ev;
        size_t used;
        int rc = ck_ws_parse(p, in.data + at, n, &used, &ev, &err);
        assert_true(rc >= 0);
        at += used;
        if (rc == 1) {
            events++;
            assert_int_equal(ev.len, CK_WS_MESSAGE_MAX);
            assert_memory_equal(ev.data, big, CK_WS_MESSAGE_MAX);
        }
    }
    assert_int_equal(events, 1);
    ck_ws_parser_free(p);

    /* One byte more, spread over fragments: refused when the last one is announced. */
    in.len = 0;
    assert_int_equal(ck_ws_put_frame(&in, CK_WS_BINARY, false, mask, big, CK_WS_MESSAGE_MAX, &err), 0);
    assert_int_equal(ck_ws_put_frame(&in, CK_WS_CONTINUATION, true, mask, big, 1, &err), 0);
    seen s;
    parse_split(in.data, in.len, in.len, 0, &s);
    assert_true(s.failed);
    assert_int_equal(s.err.kind, CK_E_EXHAUSTED);
    assert_int_equal(ck_ws_close_code_for(&s.err), CK_WS_CLOSE_TOO_BIG);
    assert_non_null(strstr(s.err.msg, "larger than 1048576 bytes"));

    /* A smaller limit of the caller's; a header announcing 2^62 bytes. */
    in.len = 0;
    put(&in, CK_WS_TEXT, true, "0123456789");
    parse_split(in.data, in.len, in.len, 9, &s);
    assert_true(s.failed);
    assert_non_null(strstr(s.err.msg, "larger than 9 bytes"));
    static const uint8_t huge[] = {0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    expect_refused(huge, sizeof(huge), CK_E_EXHAUSTED, "4611686018427387904 more bytes");
    free(big);
    ck_bytes_free(&in);
}

static void test_bad_frames(void **state)
{
    (void)state;
    static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    expect_refused(unmasked, sizeof(unmasked), CK_E_INVALID, "text frame (opcode 1): not masked");
    static const uint8_t opcode3[] = {0x83, 0x80, 1, 2, 3, 4};
    expect_refused(opcode3, sizeof(opcode3), CK_E_INVALID, "reserved frame (opcode 3): reserved opcode");
    static const uint8_t opcode11[] = {0x8b, 0x80, 1, 2, 3, 4};
    expect_refused(opcode11, sizeof(opcode11), CK_E_INVALID, "reserved opcode");
    static const uint8_t rsv1[] = {0xc1, 0x80, 1, 2, 3, 4};
    expect_refused(rsv1, sizeof(rsv1), CK_E_INVALID, "reserved bits 0x40 set");
    static const uint8_t long_ping[] = {0x89, 0xfe, 0x00, 0x7e};
    expect_refused(long_ping, sizeof(long_ping), CK_E_INVALID, "ping frame (opcode 9): payload longer than 125");
    static const uint8_t frag_ping[] = {0x09, 0x80, 1, 2, 3, 4};
    expect_refused(frag_ping, sizeof(frag_ping), CK_E_INVALID, "fragmented; control frames cannot be");
    static const uint8_t lone_cont[] = {0x80, 0x80, 1, 2, 3, 4};
    expect_refused(lone_cont, sizeof(lone_cont), CK_E_INVALID, "continuation with no message begun");
    static const uint8_t top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    expect_refused(top_bit, sizeof(top_bit), CK_E_INVALID, "64-bit length with its top bit set");

    ck_bytes in = {0};
    put(&in, CK_WS_TEXT, false, "a");
    put(&in, CK_WS_BINARY, true, "b");
    expect_refused(in.data, in.len, CK_E_INVALID, "new message while a text message is still unfinished");
    in.len = 0;
    put(&in, CK_WS_CLOSE, true, "\x03");
    expect_refused(in.data, in.len, CK_E_INVALID, "payload of 1 byte");
    in.len = 0;
    put(&in, CK_WS_CLOSE, true, "\x03\xed"); /* 1005: "no code", never on the wire */
    expect_refused(in.data, in.len, CK_E_INVALID, "close code 1005 may not be sent");
    in.len = 0;
    put(&in, CK_WS_CLOSE, true, "");
    put(&in, CK_WS_PING, true, "");
    seen s;
    parse_split(in.data, in.len, in.len, 0, &s);
    assert_true(s.failed);
    assert_int_equal(s.n, 1); /* the close itself came out */
    assert_non_null(strstr(s.err.msg, "data after the peer's CLOSE"));
    assert_int_equal(ck_ws_close_code_for(&s.err), CK_WS_CLOSE_PROTOCOL_ERROR);
    ck_bytes_free(&in);

    /* A failed parser stays failed. */
    ck_err err;
    ck_ws_parser *p = ck_ws_parser_new(0, &err);
    assert_non_null(p);
    ck_ws_event ev;
    size_t used;
    assert_int_equal(ck_ws_parse(p, unmasked, sizeof(unmasked), &used, &ev, &err), -1);
    ck_err_clear(&err);
    assert_int_equal(ck_ws_parse(p, NULL, 0, &used, &ev, &err), -1);
    assert_non_null(strstr(err.msg, "not masked"));
    ck_ws_parser_free(p);
}

/* ---- channels ------------------------------------------------------------- */

static void test_channel_binary(void **state)
{
    (void)state;
    ck_err err;
    ck_ws_channel_msg m;
    uint8_t stdin_msg[] = {0, 'l', 's', '\n'};
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V4, stdin_msg, sizeof(stdin_msg), &m, &err), 1);
    assert_int_equal(m.channel, CK_WS_CHANNEL_STDIN);
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.data, "ls\n", 3);
    assert_false(m.close);
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V4, stdin_msg, 0, &m, &err), 0);
    /* v5: stdin closed. */
    uint8_t close_stdin[] = {255, 0};
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V5, close_stdin, 2, &m, &err), 1);
    assert_true(m.close);
    assert_int_equal(m.closed_channel, CK_WS_CHANNEL_STDIN);
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V5, close_stdin, 1, &m, &err), -1);
    assert_non_null(strstr(err.msg, "close message of 0 bytes"));
    /* Before v5, 255 is only a channel number. */
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V4, close_stdin, 2, &m, &err), 1);
    assert_false(m.close);
    assert_int_equal(m.channel, 255);

    ck_bytes out = {0};
    assert_int_equal(ck_ws_put_channel(&out, CK_WS_PROTO_V5, CK_WS_CHANNEL_STDOUT, (const uint8_t *)"hi", 2, &err), 0);
    static const uint8_t want[] = {0x82, 0x03, 0x01, 'h', 'i'};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    /* The empty first message of each output channel. */
    out.len = 0;
    assert_int_equal(ck_ws_put_channel(&out, CK_WS_PROTO_NONE, CK_WS_CHANNEL_STDERR, NULL, 0, &err), 0);
    static const uint8_t empty[] = {0x82, 0x01, 0x02};
    assert_memory_equal(out.data, empty, sizeof(empty));
    ck_bytes_free(&out);
}

static void test_channel_base64(void **state)
{
    (void)state;
    ck_err err;
    ck_ws_channel_msg m;
    uint8_t msg[] = "0bHM"; /* not a multiple of 4 */
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_BASE64, msg, 4, &m, &err), -1);
    assert_non_null(strstr(err.msg, "channel 0: base64 of 3 characters, not a multiple of 4"));
    uint8_t ok[] = "0bHMK";
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_V4_BASE64, ok, 5, &m, &err), 1);
    assert_int_equal(m.channel, 0);
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.data, "ls\n", 3);
    uint8_t padded[] = "4eyJXaWR0aCI6ODB9";
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_BASE64, padded, 17, &m, &err), 1);
    assert_int_equal(m.channel, CK_WS_CHANNEL_RESIZE);
    assert_int_equal(m.len, 12);
    assert_memory_equal(m.data, "{\"Width\":80}", 12);
    uint8_t bad[] = "0bH*K";
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_BASE64, bad, 5, &m, &err), -1);
    assert_non_null(strstr(err.msg, "byte 0x2a at 2 is not base64"));
    uint8_t not_digit[] = "\x01"
                          "bHMK";
    assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_BASE64, not_digit, 5, &m, &err), -1);
    assert_non_null(strstr(err.msg, "channel byte 0x01 is not a digit"));

    /* Written as text, channel digit then base64, and read back. */
    ck_bytes out = {0};
    for (size_t n = 0; n < 8; n++) {
        out.len = 0;
        assert_int_equal(ck_ws_put_channel(&out, CK_WS_PROTO_BASE64, 1, (const uint8_t *)"abcdefg", n, &err), 0);
        assert_int_equal(out.data[0], 0x81);
        assert_int_equal(out.data[1], 1 + (n + 2) / 3 * 4);
        assert_int_equal(out.data[2], '1');
        assert_int_equal(ck_ws_channel_decode(CK_WS_PROTO_BASE64, out.data + 2, out.len - 2, &m, &err), 1);
        assert_int_equal(m.channel, 1);
        assert_int_equal(m.len, n);
        assert_memory_equal(m.data, "abcdefg", n);
    }
    out.len = 0;
    assert_int_equal(ck_ws_put_channel(&out, CK_WS_PROTO_BASE64, 3, (const uint8_t *)"hello", 5, &err), 0);
    assert_memory_equal(out.data + 2, "3aGVsbG8=", 9);
    assert_int_equal(ck_ws_put_channel(&out, CK_WS_PROTO_BASE64, 250, NULL, 0, &err), -1);
    ck_bytes_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key),
        cmocka_unit_test(test_select_protocol),
        cmocka_unit_test(test_rfc_client_examples),
        cmocka_unit_test(test_rfc_server_examples),
        cmocka_unit_test(test_fragments_with_control_frames),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_channel_binary),
        cmocka_unit_test(test_channel_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
