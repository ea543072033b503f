/*
 * websocket: RFC 6455 framing and the Kubernetes channel layer (see
 * websocket.h for the contract).
 *
 * Parser states, one frame at a time:
 *   HEAD     collecting the 2 to 14 header bytes; the first two are checked
 *            as soon as they are in (mask bit, opcode, reserved bits,
 *            control-frame rules), so a bad frame is refused at once;
 *   PAYLOAD  unmasking the payload as it arrives, into `control` for a
 *            control frame, else onto the message being assembled;
 *   CLOSED   the peer sent CLOSE: nothing may follow;
 *   FAILED   after a protocol error: every call repeats it.
 * The message buffer grows with what arrives (not with what a header
 * announces) and never past message_max, so a connection costs at most
 * message_max plus this struct.
 *
 * Text messages are not checked for UTF-8: the channel protocols carry
 * binary data or base64, which the channel layer checks itself, exactly as
 * the reference server treats text and binary messages alike.
 */
#include "streaming/websocket.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 (RFC 4648, padded, as Go's base64.StdEncoding) -------------- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

static void b64_encode(const uint8_t *src, size_t n, char *dst)
{
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o++] = b64_alphabet[v >> 18];
        dst[o++] = b64_alphabet[(v >> 12) & 63];
        dst[o++] = b64_alphabet[(v >> 6) & 63];
        dst[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
        dst[o++] = b64_alphabet[v >> 18];
        dst[o++] = b64_alphabet[(v >> 12) & 63];
        dst[o++] = b64_alphabet[(v >> 6) & 63];
        dst[o++] = '=';
        if (i + 1 == n)
            dst[o - 2] = '=';
    }
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes buf over itself (3 bytes out for every 4 in, so the output never
 * overtakes the input). Padding only at the end. */
static int b64_decode_in_place(uint8_t *buf, size_t n, size_t *out_len, ck_err *err)
{
    if (n % 4 != 0)
        return ck_err_set(err, CK_E_INVALID, 0, "base64 of %zu characters, not a multiple of 4", n);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        size_t pad = 0;
        if (i + 4 == n)
            pad = buf[i + 3] != '=' ? 0 : buf[i + 2] == '=' ? 2 : 1;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = j >= 4 - pad ? 0 : b64_value(buf[i + j]);
            if (d < 0)
                return ck_err_set(err, CK_E_INVALID, 0, "byte 0x%02x at %zu is not base64", buf[i + j], i + j);
            v = v << 6 | (uint32_t)d;
        }
        buf[o++] = (uint8_t)(v >> 16);
        if (pad < 2)
            buf[o++] = (uint8_t)(v >> 8);
        if (pad < 1)
            buf[o++] = (uint8_t)v;
    }
    *out_len = o;
    return 0;
}

/* ---- handshake ------------------------------------------------------------ */

/* RFC 6455 section 1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ck_ws_accept(const char *key, char accept[CK_WS_ACCEPT_LEN + 1], ck_err *err)
{
    size_t key_len = strlen(key);
    uint8_t decoded[24];
    size_t decoded_len = 0;
    if (key_len != 24)
        return ck_err_set(err, CK_E_INVALID, 0,
                          "Sec-WebSocket-Key of %zu characters; it is the base64 of 16 bytes (24)", key_len);
    memcpy(decoded, key, key_len);
    if (b64_decode_in_place(decoded, key_len, &decoded_len, err) < 0 || decoded_len != 16)
        return ck_err_set(err, CK_E_INVALID, 0, "Sec-WebSocket-Key \"%s\" is not the base64 of 16 bytes", key);

    char joined[24 + sizeof(ws_guid)];
    memcpy(joined, key, 24);
    memcpy(joined + 24, ws_guid, sizeof(ws_guid));
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(joined, 24 + sizeof(ws_guid) - 1, digest, &digest_len, EVP_sha1(), NULL) != 1 || digest_len != 20)
        return ck_err_set(err, CK_E_INTERNAL, 0, "SHA-1 of the Sec-WebSocket-Key failed");
    b64_encode(digest, 20, accept);
    accept[CK_WS_ACCEPT_LEN] = '\0';
    return 0;
}

typedef struct protocol_name {
    const char *name;
    ck_ws_protocol protocol;
    bool exec, portforward;
} protocol_name;

/* What each service speaks (the reference's lists, plus v5 for exec and
 * attach, which crictl --transport websocket offers alone). */
static const protocol_name protocol_names[] = {
    {"v5.channel.k8s.io", CK_WS_PROTO_V5, true, false},
    {"v4.channel.k8s.io", CK_WS_PROTO_V4, true, true},
    {"v4.base64.channel.k8s.io", CK_WS_PROTO_V4_BASE64, true, true},
    {"channel.k8s.io", CK_WS_PROTO_CHANNEL, true, false},
    {"base64.channel.k8s.io", CK_WS_PROTO_BASE64, true, false},
    {"portforward.k8s.io", CK_WS_PROTO_PORTFORWARD, false, true},
};

#define N_PROTOCOLS (sizeof(protocol_names) / sizeof(protocol_names[0]))

const char *ck_ws_protocol_name(ck_ws_protocol protocol)
{
    for (size_t i = 0; i < N_PROTOCOLS; i++) {
        if (protocol_names[i].protocol == protocol)
            return protocol_names[i].name;
    }
    return "";
}

bool ck_ws_protocol_is_base64(ck_ws_protocol protocol)
{
    return protocol == CK_WS_PROTO_BASE64 || protocol == CK_WS_PROTO_V4_BASE64;
}

int ck_ws_protocol_version(ck_ws_protocol protocol)
{
    switch (protocol) {
    case CK_WS_PROTO_V4:
    case CK_WS_PROTO_V4_BASE64: return 4;
    case CK_WS_PROTO_V5: return 5;
    default: return 1;
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The protocol a token of the header names, if the service speaks it. */
static bool spoken(ck_ws_service service, const char *token, size_t len, ck_ws_protocol *chosen)
{
    for (size_t i = 0; i < N_PROTOCOLS; i++) {
        const protocol_name *p = &protocol_names[i];
        bool serves = service == CK_WS_SERVICE_EXEC ? p->exec : p->portforward;
        if (serves && strlen(p->name) == len && memcmp(p->name, token, len) == 0) {
            *chosen = p->protocol;
            return true;
        }
    }
    return false;
}

static void list_spoken(ck_ws_service service, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_PROTOCOLS; i++) {
        const protocol_name *p = &protocol_names[i];
        if ((service == CK_WS_SERVICE_EXEC ? p->exec : p->portforward) && at < cap)
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at > 0 ? ", " : "", p->name);
    }
}

int ck_ws_select_protocol(ck_ws_service service, const char *const *offered, size_t n, ck_ws_protocol *chosen,
                          ck_err *err)
{
    bool any = false;
    *chosen = CK_WS_PROTO_NONE;
    for (size_t i = 0; i < n; i++) {
        const char *s = offered[i];
        while (*s != '\0') {
            while (is_blank(*s) || *s == ',')
                s++;
            size_t len = strcspn(s, ",");
            size_t trimmed = len;
            while (trimmed > 0 && is_blank(s[trimmed - 1]))
                trimmed--;
            if (trimmed > 0 && spoken(service, s, trimmed, chosen))
                return 0;
            any = any || trimmed > 0;
            s += len;
        }
    }
    if (!any)
        return 0;
    char ours[256];
    list_spoken(service, ours, sizeof(ours));
    return ck_err_set(err, CK_E_INVALID, 0,
                      "none of the offered WebSocket subprotocols (%s%s) is spoken for %s; offer one of: %s",
                      n > 0 ? offered[0] : "", n > 1 ? ", ..." : "",
                      service == CK_WS_SERVICE_EXEC ? "exec and attach" : "port-forward", ours);
}

/* ---- parser --------------------------------------------------------------- */

#define HEAD_MAX 14
#define FIRST_MESSAGE_CAP 4096

typedef enum ws_state { WS_HEAD, WS_PAYLOAD, WS_CLOSED, WS_FAILED } ws_state;

struct ck_ws_parser {
    ws_state state;
    uint8_t head[HEAD_MAX];
    size_t head_len;
    size_t head_need; /* 2 until the first two bytes say how many */
    /* The frame being read. */
    uint8_t opcode;
    bool fin;
    uint8_t mask[4];
    uint64_t frame_len;
    uint64_t frame_pos;
    uint8_t control[CK_WS_CONTROL_MAX];
    /* The message being assembled: message_opcode is 0 between messages. */
    uint8_t message_opcode;
    uint8_t *message;
    size_t message_len;
    size_t message_cap;
    size_t message_max;
    ck_err failure;
};

ck_ws_parser *ck_ws_parser_new(size_t message_max, ck_err *err)
{
    ck_ws_parser *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ck_err_oom(err, "WebSocket parser");
        return NULL;
    }
    p->head_need = 2;
    p->message_max = message_max > 0 ? message_max : CK_WS_MESSAGE_MAX;
    return p;
}

void ck_ws_parser_free(ck_ws_parser *p)
{
    if (p == NULL)
        return;
    free(p->message);
    free(p);
}

uint16_t ck_ws_close_code_for(const ck_err *err)
{
    switch (err->kind) {
    case CK_E_INVALID: return CK_WS_CLOSE_PROTOCOL_ERROR;
    case CK_E_EXHAUSTED: return CK_WS_CLOSE_TOO_BIG;
    default: return CK_WS_CLOSE_INTERNAL_ERROR;
    }
}

static const char *opcode_name(uint8_t opcode)
{
    switch (opcode) {
    case CK_WS_CONTINUATION: return "continuation";
    case CK_WS_TEXT: return "text";
    case CK_WS_BINARY: return "binary";
    case CK_WS_CLOSE: return "close";
    case CK_WS_PING: return "ping";
    case CK_WS_PONG: return "pong";
    default: return "reserved";
    }
}

/* Ends a protocol error recorded in p->failure: adds the frame as context
 * and leaves the parser failed. Returns -1. (A macro, not a variadic
 * function: clang 14's analyzer reports a false uninitialized va_list in
 * the latter.) */
static int failed(ck_ws_parser *p, ck_err *err)
{
    ck_err_wrap(&p->failure, "WebSocket %s frame (opcode %u)", opcode_name(p->opcode), p->opcode);
    p->state = WS_FAILED;
    return ck_err_copy(err, &p->failure);
}

/* Records a protocol error (printf-style message) for the frame being read. */
#define FAIL(p, err, kind, ...) (ck_err_set(&(p)->failure, (kind), 0, __VA_ARGS__), failed((p), (err)))

static bool is_control(uint8_t opcode)
{
    return (opcode & 0x8) != 0;
}

/* The first two bytes: everything they alone can say is wrong, and how
 * many header bytes follow. */
static int check_first_bytes(ck_ws_parser *p, ck_err *err)
{
    uint8_t b0 = p->head[0], b1 = p->head[1];
    p->fin = (b0 & 0x80) != 0;
    p->opcode = b0 & 0x0f;
    uint8_t len7 = b1 & 0x7f;
    if ((b0 & 0x70) != 0)
        return FAIL(p, err, CK_E_INVALID, "reserved bits 0x%02x set, and no extension was agreed", b0 & 0x70);
    if (p->opcode != CK_WS_CONTINUATION && p->opcode != CK_WS_TEXT && p->opcode != CK_WS_BINARY &&
        p->opcode != CK_WS_CLOSE && p->opcode != CK_WS_PING && p->opcode != CK_WS_PONG)
        return FAIL(p, err, CK_E_INVALID, "reserved opcode");
    if ((b1 & 0x80) == 0)
        return FAIL(p, err, CK_E_INVALID, "not masked; a client must mask every frame");
    if (is_control(p->opcode) && !p->fin)
        return FAIL(p, err, CK_E_INVALID, "fragmented; control frames cannot be");
    if (is_control(p->opcode) && len7 > CK_WS_CONTROL_MAX)
        return FAIL(p, err, CK_E_INVALID, "payload longer than %u bytes", CK_WS_CONTROL_MAX);
    if (p->opcode == CK_WS_CONTINUATION && p->message_opcode == 0)
        return FAIL(p, err, CK_E_INVALID, "continuation with no message begun");
    if ((p->opcode == CK_WS_TEXT || p->opcode == CK_WS_BINARY) && p->message_opcode != 0)
        return FAIL(p, err, CK_E_INVALID, "new message while a %s message is still unfinished",
                    opcode_name(p->message_opcode));
    p->head_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    return 0;
}

/* The whole header is in: the length and the mask. */
static int start_payload(ck_ws_parser *p, ck_err *err)
{
    uint8_t len7 = p->head[1] & 0x7f;
    size_t at = 2;
    p->frame_len = len7;
    if (len7 == 126) {
        p->frame_len = ck_be16(p->head + 2);
        at = 4;
    } else if (len7 == 127) {
        p->frame_len = ck_be64(p->head + 2);
        at = 10;
        if (p->frame_len >> 63 != 0)
            return FAIL(p, err, CK_E_INVALID, "64-bit length with its top bit set");
    }
    memcpy(p->mask, p->head + at, 4);
    p->frame_pos = 0;
    if (!is_control(p->opcode)) {
        if (p->opcode != CK_WS_CONTINUATION) {
            p->message_opcode = p->opcode;
            p->message_len = 0;
        }
        if (p->frame_len > p->message_max - p->message_len)
            return FAIL(p, err, CK_E_EXHAUSTED, "%llu more bytes would make a message larger than %zu bytes",
                        (unsigned long long)p->frame_len, p->message_max);
    }
    p->state = WS_PAYLOAD;
    return 0;
}

static int grow_message(ck_ws_parser *p, size_t need, ck_err *err)
{
    if (need <= p->message_cap)
        return 0;
    size_t cap = p->message_cap > 0 ? p->message_cap : FIRST_MESSAGE_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > p->message_max)
        cap = p->message_max;
    uint8_t *m = realloc(p->message, cap);
    if (m == NULL) {
        ck_err_oom(&p->failure, "WebSocket message");
        p->state = WS_FAILED;
        return ck_err_copy(err, &p->failure);
    }
    p->message = m;
    p->message_cap = cap;
    return 0;
}

static void unmask_into(ck_ws_parser *p, uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ p->mask[(p->frame_pos + i) & 3];
    p->frame_pos += n;
}

static bool close_code_valid(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

static int control_event(ck_ws_parser *p, ck_ws_event *ev, ck_err *err)
{
    ev->opcode = (ck_ws_opcode)p->opcode;
    ev->data = p->control;
    ev->len = (size_t)p->frame_len;
    if (p->opcode != CK_WS_CLOSE)
        return 1;
    p->state = WS_CLOSED;
    if (ev->len == 0)
        return 1;
    if (ev->len == 1)
        return FAIL(p, err, CK_E_INVALID, "payload of 1 byte; a close code takes 2");
    ev->close_code = ck_be16(p->control);
    if (!close_code_valid(ev->close_code))
        return FAIL(p, err, CK_E_INVALID, "close code %u may not be sent", ev->close_code);
    ev->data = p->control + 2;
    ev->len -= 2;
    return 1;
}

/* The frame's payload is all in: an event for a control frame or a final
 * fragment, nothing yet for other fragments. */
static int finish_frame(ck_ws_parser *p, ck_ws_event *ev, ck_err *err)
{
    p->state = WS_HEAD;
    p->head_len = 0;
    p->head_need = 2;
    memset(ev, 0, sizeof(*ev));
    if (is_control(p->opcode))
        return control_event(p, ev, err);
    if (!p->fin)
        return 0;
    ev->opcode = (ck_ws_opcode)p->message_opcode;
    ev->data = p->message;
    ev->len = p->message_len;
    p->message_opcode = 0;
    return 1;
}

static int step_head(ck_ws_parser *p, const uint8_t *in, size_t len, size_t *at, ck_ws_event *ev, ck_err *err)
{
    size_t n = p->head_need - p->head_len;
    if (n > len - *at)
        n = len - *at;
    memcpy(p->head + p->head_len, in + *at, n);
    p->head_len += n;
    *at += n;
    if (p->head_len < p->head_need)
        return 0;
    if (p->head_len == 2) {
        if (check_first_bytes(p, err) < 0)
            return -1;
        return 0; /* the length and mask follow: at least 4 bytes */
    }
    if (start_payload(p, err) < 0)
        return -1;
    return p->frame_len == 0 ? finish_frame(p, ev, err) : 0;
}

static int step_payload(ck_ws_parser *p, const uint8_t *in, size_t len, size_t *at, ck_ws_event *ev, ck_err *err)
{
    uint64_t left = p->frame_len - p->frame_pos;
    size_t n = len - *at;
    if (left < n)
        n = (size_t)left;
    if (is_control(p->opcode)) {
        unmask_into(p, p->control + p->frame_pos, in + *at, n);
    } else {
        if (grow_message(p, p->message_len + n, err) < 0)
            return -1;
        unmask_into(p, p->message + p->message_len, in + *at, n);
        p->message_len += n;
    }
    *at += n;
    return p->frame_pos == p->frame_len ? finish_frame(p, ev, err) : 0;
}

int ck_ws_parse(ck_ws_parser *p, const uint8_t *in, size_t len, size_t *used, ck_ws_event *ev, ck_err *err)
{
    size_t at = 0;
    int rc = 0;
    while (rc == 0 && at < len) {
        if (p->state == WS_HEAD)
            rc = step_head(p, in, len, &at, ev, err);
        else if (p->state == WS_PAYLOAD)
            rc = step_payload(p, in, len, &at, ev, err);
        else if (p->state == WS_CLOSED)
            rc = FAIL(p, err, CK_E_INVALID, "data after the peer's CLOSE");
        else
            rc = ck_err_copy(err, &p->failure);
    }
    if (rc == 0 && p->state == WS_FAILED)
        rc = ck_err_copy(err, &p->failure);
    *used = at;
    return rc;
}

/* ---- encoders ------------------------------------------------------------- */

static size_t frame_head_len(size_t len, bool masked)
{
    return 2 + (len < 126 ? 0 : len <= 0xffff ? 2 : 8) + (masked ? 4 : 0);
}

/* Appends a frame's header for a payload of len bytes (written after it by
 * the caller, masked with `mask` when there is one). */
static void write_frame_head(ck_bytes *out, ck_ws_opcode opcode, bool fin, const uint8_t *mask, size_t len)
{
    uint8_t *h = out->data + out->len;
    h[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t mask_bit = mask != NULL ? 0x80 : 0;
    size_t at = 2;
    if (len < 126) {
        h[1] = (uint8_t)(mask_bit | len);
    } else if (len <= 0xffff) {
        h[1] = mask_bit | 126;
        ck_put_be16(h + 2, (uint16_t)len);
        at = 4;
    } else {
        h[1] = mask_bit | 127;
        ck_put_be64(h + 2, len);
        at = 10;
    }
    if (mask != NULL)
        memcpy(h + at, mask, 4);
    out->len += at + (mask != NULL ? 4 : 0);
}

static bool opcode_known(ck_ws_opcode opcode)
{
    return opcode == CK_WS_CONTINUATION || opcode == CK_WS_TEXT || opcode == CK_WS_BINARY || opcode == CK_WS_CLOSE ||
           opcode == CK_WS_PING || opcode == CK_WS_PONG;
}

int ck_ws_put_frame(ck_bytes *out, ck_ws_opcode opcode, bool fin, const uint8_t *mask, const uint8_t *data, size_t len,
                    ck_err *err)
{
    if (!opcode_known(opcode))
        return ck_err_set(err, CK_E_INVALID, 0, "WebSocket frame: opcode %u is reserved", (unsigned)opcode);
    if (is_control((uint8_t)opcode) && (!fin || len > CK_WS_CONTROL_MAX))
        return ck_err_set(err, CK_E_INVALID, 0, "WebSocket %s frame: %s", opcode_name((uint8_t)opcode),
                          !fin ? "control frames cannot be fragmented" : "payload longer than 125 bytes");
    size_t head = frame_head_len(len, mask != NULL);
    if (ck_bytes_reserve(out, head, err) < 0 || ck_bytes_reserve(out, head + len, err) < 0)
        return -1;
    write_frame_head(out, opcode, fin, mask, len);
    uint8_t *payload = out->data + out->len;
    for (size_t i = 0; i < len; i++)
        payload[i] = mask != NULL ? data[i] ^ mask[i & 3] : data[i];
    out->len += len;
    return 0;
}

int ck_ws_put_close(ck_bytes *out, uint16_t code, const char *reason, ck_err *err)
{
    uint8_t payload[CK_WS_CONTROL_MAX];
    size_t reason_len = reason != NULL ? strlen(reason) : 0;
    if (code == 0)
        return ck_ws_put_frame(out, CK_WS_CLOSE, true, NULL, NULL, 0, err);
    if (!close_code_valid(code))
        return ck_err_set(err, CK_E_INVALID, 0, "WebSocket close: code %u may not be sent", code);
    if (reason_len > CK_WS_CONTROL_MAX - 2)
        reason_len = CK_WS_CONTROL_MAX - 2; /* a reason is advisory: cut, not refused */
    ck_put_be16(payload, code);
    for (size_t i = 0; i < reason_len; i++)
        payload[2 + i] = (uint8_t)reason[i];
    return ck_ws_put_frame(out, CK_WS_CLOSE, true, NULL, payload, 2 + reason_len, err);
}

/* ---- channels ------------------------------------------------------------- */

int ck_ws_channel_decode(ck_ws_protocol protocol, uint8_t *msg, size_t len, ck_ws_channel_msg *out, ck_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return 0;
    out->data = msg + 1;
    out->len = len - 1;
    if (ck_ws_protocol_is_base64(protocol)) {
        if (msg[0] < '0')
            return ck_err_set(err, CK_E_INVALID, 0, "WebSocket %s message: channel byte 0x%02x is not a digit",
                              ck_ws_protocol_name(protocol), msg[0]);
        out->channel = (uint8_t)(msg[0] - '0');
        if (b64_decode_in_place(msg + 1, len - 1, &out->len, err) < 0)
            return ck_err_wrap(err, "WebSocket %s message on channel %u", ck_ws_protocol_name(protocol), out->channel);
        return 1;
    }
    out->channel = msg[0];
    if (protocol == CK_WS_PROTO_V5 && out->channel == CK_WS_CHANNEL_CLOSE) {
        if (out->len != 1)
            return ck_err_set(err, CK_E_INVALID, 0,
                              "WebSocket v5 close message of %zu bytes after the channel; it names one channel",
                              out->len);
        out->close = true;
        out->closed_channel = msg[1];
    }
    return 1;
}

int ck_ws_put_channel(ck_bytes *out, ck_ws_protocol protocol, uint8_t channel, const uint8_t *data, size_t len,
                      ck_err *err)
{
    bool text = ck_ws_protocol_is_base64(protocol);
    if (text && channel > 255 - '0')
        return ck_err_set(err, CK_E_INVALID, 0, "WebSocket %s: channel %u has no digit", ck_ws_protocol_name(protocol),
                          channel);
    if (len > (SIZE_MAX - 32) / 2)
        return ck_err_set(err, CK_E_INVALID, 0, "WebSocket message of %zu bytes is too large", len);
    size_t payload = 1 + (text ? b64_encoded_len(len) : len);
    size_t head = frame_head_len(payload, false);
    if (ck_bytes_reserve(out, head + payload, err) < 0)
        return -1;
    write_frame_head(out, text ? CK_WS_TEXT : CK_WS_BINARY, true, NULL, payload);
    uint8_t *p = out->data + out->len;
    p[0] = text ? (uint8_t)('0' + channel) : channel;
    if (text)
        b64_encode(data, len, (char *)p + 1);
    else if (len > 0)
        memcpy(p + 1, data, len);
    out->len += payload;
    return 0;
}
