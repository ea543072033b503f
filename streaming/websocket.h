/*
 * websocket: the WebSocket side of the streaming server (RFC 6455 and the
 * Kubernetes channel protocols on top of it), with no socket in sight.
 *
 * - The handshake: Sec-WebSocket-Accept from the client's key, and the
 *   choice of a subprotocol among those the client offers (the client's
 *   order wins, as in the reference server).
 * - The parser (ck_ws_parser, one per connection) is fed whatever the socket
 *   returned and gives whole messages (fragments joined, unmasked, up to a
 *   size limit) and the control frames that may arrive between fragments.
 * - The encoders append unmasked server frames to a ck_bytes send buffer.
 * - The channel layer: each message starts with a channel number (stdin 0,
 *   stdout 1, stderr 2, error 3, resize 4; for port-forward data 2n and
 *   error 2n+1 for the n-th port); base64 protocols send it as an ASCII
 *   digit in a text message and base64 the rest; v5 adds channel 255, whose
 *   one byte names a channel the client half-closes.
 *
 * Every protocol error fails the connection: the server sends a CLOSE with
 * ck_ws_close_code_for(err) and closes. A failed parser stays failed.
 */
#ifndef CK_STREAMING_WEBSOCKET_H
#define CK_STREAMING_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "streaming/bytes.h"

/* The largest message the parser assembles, unless told otherwise. kubectl
 * and crictl copy stdin and port-forward data with 32 KiB reads, one message
 * each (gorilla/websocket cuts it into 4 KiB frames), so 1 MiB is 32 times
 * the largest message seen, and what one connection can make us buffer. */
#define CK_WS_MESSAGE_MAX 1048576u
/* RFC 6455 section 5.5. */
#define CK_WS_CONTROL_MAX 125u
/* Sec-WebSocket-Accept: base64 of a SHA-1. */
#define CK_WS_ACCEPT_LEN 28

typedef enum ck_ws_opcode {
    CK_WS_CONTINUATION = 0x0,
    CK_WS_TEXT = 0x1,
    CK_WS_BINARY = 0x2,
    CK_WS_CLOSE = 0x8,
    CK_WS_PING = 0x9,
    CK_WS_PONG = 0xa,
} ck_ws_opcode;

/* Close codes the server sends (RFC 6455 section 7.4.1). */
enum {
    CK_WS_CLOSE_NORMAL = 1000,
    CK_WS_CLOSE_GOING_AWAY = 1001,
    CK_WS_CLOSE_PROTOCOL_ERROR = 1002,
    CK_WS_CLOSE_INVALID_DATA = 1007,
    CK_WS_CLOSE_TOO_BIG = 1009,
    CK_WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* ---- handshake ------------------------------------------------------------ */

/* Writes the Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key
 * (NUL-terminated into accept). A key that is not the base64 of 16 bytes is
 * CK_E_INVALID (answer 400). */
int ck_ws_accept(const char *key, char accept[CK_WS_ACCEPT_LEN + 1], ck_err *err);

typedef enum ck_ws_service {
    CK_WS_SERVICE_EXEC, /* exec and attach */
    CK_WS_SERVICE_PORTFORWARD,
} ck_ws_service;

typedef enum ck_ws_protocol {
    CK_WS_PROTO_NONE,        /* the client offered none: binary channels, no Sec-WebSocket-Protocol in the answer */
    CK_WS_PROTO_CHANNEL,     /* channel.k8s.io */
    CK_WS_PROTO_BASE64,      /* base64.channel.k8s.io */
    CK_WS_PROTO_V4,          /* v4.channel.k8s.io */
    CK_WS_PROTO_V4_BASE64,   /* v4.base64.channel.k8s.io */
    CK_WS_PROTO_V5,          /* v5.channel.k8s.io: v4 with the close channel */
    CK_WS_PROTO_PORTFORWARD, /* portforward.k8s.io */
} ck_ws_protocol;

/* Chooses the first subprotocol the client offers that the service speaks.
 * offered holds the Sec-WebSocket-Protocol header values (each may list
 * several, comma-separated); none at all is CK_WS_PROTO_NONE. Offers none of
 * which is spoken: CK_E_INVALID naming them and ours (the reference answers
 * 403). */
int ck_ws_select_protocol(ck_ws_service service, const char *const *offered, size_t n, ck_ws_protocol *chosen,
                          ck_err *err);

/* The name to answer in Sec-WebSocket-Protocol ("" for CK_WS_PROTO_NONE). */
const char *ck_ws_protocol_name(ck_ws_protocol protocol);
bool ck_ws_protocol_is_base64(ck_ws_protocol protocol);
/* The remotecommand version it carries: 1 (channel.k8s.io and base64, or
 * none), 4 or 5; it says how the error channel reports the exit status. */
int ck_ws_protocol_version(ck_ws_protocol protocol);

/* ---- frames --------------------------------------------------------------- */

/* One event out of the parser. Pointers stay valid until the next call. */
typedef struct ck_ws_event {
    ck_ws_opcode opcode; /* TEXT or BINARY (a whole message), CLOSE, PING or PONG */
    uint8_t *data;       /* the payload, unmasked (CLOSE: the reason, after the code); writable in place */
    size_t len;
    uint16_t close_code; /* CLOSE: the peer's code, 0 when it sent none */
} ck_ws_event;

typedef struct ck_ws_parser ck_ws_parser;

/* message_max 0 means CK_WS_MESSAGE_MAX. NULL with err set when out of memory. */
ck_ws_parser *ck_ws_parser_new(size_t message_max, ck_err *err);
void ck_ws_parser_free(ck_ws_parser *p);

/* Reads client frames from [in, in + len) until an event is ready or the
 * input is used up; *used says how many bytes were taken. Returns 1 with
 * *ev filled, 0 when all the input was taken and nothing is ready, -1 on a
 * protocol error (CK_E_INVALID: an unmasked frame, a reserved opcode or bit,
 * a fragmented or oversized control frame, a continuation out of place, a
 * bad close payload, anything after CLOSE; CK_E_EXHAUSTED: a message over
 * the limit) or when out of memory (CK_E_INTERNAL). */
int ck_ws_parse(ck_ws_parser *p, const uint8_t *in, size_t len, size_t *used, ck_ws_event *ev, ck_err *err);

/* The close code that answers a failure of the parser. */
uint16_t ck_ws_close_code_for(const ck_err *err);

/* Appends one frame. mask NULL makes a server frame (unmasked); a client's
 * frame carries its 4-byte mask (the tests and fuzzers play the client).
 * Control frames must be final and at most CK_WS_CONTROL_MAX bytes. */
int ck_ws_put_frame(ck_bytes *out, ck_ws_opcode opcode, bool fin, const uint8_t *mask, const uint8_t *data, size_t len,
                    ck_err *err);

/* A CLOSE with code and reason (at most 123 bytes); code 0 sends none. */
int ck_ws_put_close(ck_bytes *out, uint16_t code, const char *reason, ck_err *err);

/* ---- channels ------------------------------------------------------------- */

enum {
    CK_WS_CHANNEL_STDIN = 0,
    CK_WS_CHANNEL_STDOUT = 1,
    CK_WS_CHANNEL_STDERR = 2,
    CK_WS_CHANNEL_ERROR = 3,
    CK_WS_CHANNEL_RESIZE = 4,
    CK_WS_CHANNEL_CLOSE = 255, /* v5 */
};

typedef struct ck_ws_channel_msg {
    uint8_t channel;
    uint8_t *data; /* the payload after the channel, decoded from base64 where the protocol says */
    size_t len;
    bool close; /* v5: the client half-closes closed_channel (its stdin, say) */
    uint8_t closed_channel;
} ck_ws_channel_msg;

/* Reads the channel layer of a message in place (base64 is decoded over
 * itself). Returns 1 with *out filled, 0 for an empty message (the
 * reference ignores those), -1 with CK_E_INVALID for bad base64, a base64
 * channel that is not a digit, or a v5 close message that does not name one
 * channel. */
int ck_ws_channel_decode(ck_ws_protocol protocol, uint8_t *msg, size_t len, ck_ws_channel_msg *out, ck_err *err);

/* Appends one message on a channel as the protocol frames it: binary with
 * the channel byte, or text with the channel digit and base64. */
int ck_ws_put_channel(ck_bytes *out, ck_ws_protocol protocol, uint8_t channel, const uint8_t *data, size_t len,
                      ck_err *err);

#endif
