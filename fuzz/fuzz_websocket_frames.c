/*
 * fuzz_websocket_frames: the WebSocket parser and the channel layer
 * (streaming/websocket.c) on any bytes, as a client of the streaming server
 * can send them. Input: one byte choosing the read size (0: everything at
 * once), one byte choosing the channel protocol (low 3 bits) and a small
 * message limit (top bit), then the connection's bytes.
 *
 * Checked on every input:
 * - the parser takes all it is given or stops at an event; a failure is
 *   CK_E_INVALID or CK_E_EXHAUSTED with a message, and stays a failure;
 * - messages stay under the limit, control payloads under 125 bytes;
 * - reading in chunks gives the same events and failure as reading all at
 *   once;
 * - every event written again as a masked client frame parses back to the
 *   same event; every message the channel layer reads, written again by
 *   ck_ws_put_channel, reads back to the same channel and bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streaming/websocket.h"

static const uint8_t mask[4] = {0xa5, 0x01, 0x7e, 0x80};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* Integers are mixed by value, not through their bytes (which clang's
 * analyzer then takes for uninitialized). */
static uint64_t mix_u32(uint64_t h, uint32_t v)
{
    for (int shift = 0; shift < 32; shift += 8)
        h = (h ^ ((v >> shift) & 0xff)) * 0x100000001b3ull;
    return h;
}

static uint64_t mix_event(uint64_t h, const ck_ws_event *ev)
{
    h = mix_u32(h, ev->opcode);
    h = mix_u32(h, ev->close_code);
    h = mix_u32(h, (uint32_t)ev->len);
    return mix(h, ev->data, ev->len);
}

/* Writes the event again as a client would and reads it back. */
static void check_frame_round_trip(const ck_ws_event *ev, size_t max)
{
    ck_err err;
    ck_err_clear(&err);
    ck_bytes out = {0};
    int rc;
    if (ev->opcode == CK_WS_CLOSE && ev->close_code != 0) {
        uint8_t payload[CK_WS_CONTROL_MAX];
        payload[0] = (uint8_t)(ev->close_code >> 8);
        payload[1] = (uint8_t)ev->close_code;
        memcpy(payload + 2, ev->data, ev->len);
        rc = ck_ws_put_frame(&out, CK_WS_CLOSE, true, mask, payload, ev->len + 2, &err);
    } else {
        rc = ck_ws_put_frame(&out, ev->opcode, true, mask, ev->data, ev->len, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "a parsed event cannot be written again: %s\n", err.msg);
        abort();
    }
    ck_ws_parser *p = ck_ws_parser_new(max, &err);
    if (p == NULL)
        abort();
    ck_ws_event back = {0};
    size_t used;
    if (ck_ws_parse(p, out.data, out.len, &used, &back, &err) != 1 || used != out.len ||
        mix_event(1, &back) != mix_event(1, ev)) {
        fprintf(stderr, "our frame does not read back the same: %s\n", err.msg);
        abort();
    }
    ck_ws_parser_free(p);
    ck_bytes_free(&out);
}

/* The channel layer on a copy of a message, and its round trip. */
static void check_channel(ck_ws_protocol protocol, const ck_ws_event *ev)
{
    if (ev->opcode != CK_WS_TEXT && ev->opcode != CK_WS_BINARY)
        return;
    uint8_t *copy = malloc(ev->len + 1);
    if (copy == NULL)
        abort();
    if (ev->len > 0)
        memcpy(copy, ev->data, ev->len);
    ck_err err;
    ck_err_clear(&err);
    ck_ws_channel_msg m;
    int rc = ck_ws_channel_decode(protocol, copy, ev->len, &m, &err);
    if (rc < 0 && (err.kind != CK_E_INVALID || err.msg[0] == '\0'))
        abort();
    if (rc == 1) {
        if (m.len > ev->len)
            abort();
        ck_bytes out = {0};
        if (ck_ws_put_channel(&out, protocol, m.channel, m.data, m.len, &err) < 0)
            abort();
        /* A server frame: skip its header (2, 4 or 10 bytes, unmasked). */
        uint8_t len7 = out.data[1] & 0x7f;
        size_t head = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
        ck_ws_channel_msg again;
        if (ck_ws_channel_decode(protocol, out.data + head, out.len - head, &again, &err) != 1 ||
            again.channel != m.channel || again.len != m.len || again.close != m.close ||
            (m.len > 0 && memcmp(again.data, m.data, m.len) != 0)) {
            fprintf(stderr, "channel message does not read back the same: %s\n", err.msg);
            abort();
        }
        ck_bytes_free(&out);
    }
    free(copy);
}

static uint64_t run(const uint8_t *in, size_t len, size_t chunk, size_t max, ck_ws_protocol protocol, bool checks,
                    char *failure, size_t failure_cap)
{
    ck_err err;
    ck_err_clear(&err);
    ck_ws_parser *p = ck_ws_parser_new(max, &err);
    if (p == NULL)
        abort();
    size_t limit = max > 0 ? max : CK_WS_MESSAGE_MAX;
    uint64_t h = 0xcbf29ce484222325ull;
    failure[0] = '\0';
    size_t at = 0;
    while (at < len) {
        size_t n = len - at < chunk ? len - at : chunk;
        ck_ws_event ev = {0};
        size_t used = 0;
        int rc = ck_ws_parse(p, in + at, n, &used, &ev, &err);
        if (used > n || (rc == 0 && used != n))
            abort();
        at += used;
        if (rc < 0) {
            if ((err.kind != CK_E_INVALID && err.kind != CK_E_EXHAUSTED) || err.msg[0] == '\0')
                abort();
            snprintf(failure, failure_cap, "%s", err.msg);
            ck_err again;
            ck_err_clear(&again);
            if (ck_ws_parse(p, in, len, &used, &ev, &again) != -1 || strcmp(again.msg, err.msg) != 0)
                abort();
            break;
        }
        if (rc == 1) {
            bool control = (ev.opcode & 0x8) != 0;
            if ((!control && ev.len > limit) || (control && ev.len > CK_WS_CONTROL_MAX))
                abort();
            h = mix_event(h, &ev);
            if (checks) {
                check_frame_round_trip(&ev, max);
                check_channel(protocol, &ev);
            }
        }
    }
    ck_ws_parser_free(p);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    size_t chunk = data[0] == 0 ? (len > 0 ? len : 1) : data[0];
    ck_ws_protocol protocol = (ck_ws_protocol)((data[1] & 7) % (CK_WS_PROTO_PORTFORWARD + 1));
    size_t max = (data[1] & 0x80) != 0 ? 100 : 0;
    static char failure_whole[CK_ERR_MSG_MAX], failure_chunked[CK_ERR_MSG_MAX];
    uint64_t whole = run(in, len, len > 0 ? len : 1, max, protocol, false, failure_whole, sizeof(failure_whole));
    uint64_t chunked = run(in, len, chunk, max, protocol, true, failure_chunked, sizeof(failure_chunked));
    if (whole != chunked || strcmp(failure_whole, failure_chunked) != 0) {
        fprintf(stderr, "read whole: \"%s\"; in %zu-byte reads: \"%s\"\n", failure_whole, chunk, failure_chunked);
        abort();
    }
    return 0;
}
