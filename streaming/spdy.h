/*
 * spdy: the SPDY/3.1 framing of the streaming server (exec, attach and
 * port-forward as kubectl and crictl speak them through moby/spdystream),
 * with no socket in sight: bytes in, frames out; frames in, bytes to send.
 *
 * The parser (ck_spdy_parser, one per connection) is fed whatever the
 * socket returned: a frame split anywhere, or many frames in one read. It
 * keeps the connection's inflate stream (the header blocks of all frames a
 * peer sends share one zlib stream, primed with the SPDY/3 dictionary) and
 * buffers control frames only, up to CK_SPDY_CONTROL_MAX. DATA payload is
 * never buffered: it comes out in pieces pointing into the caller's input,
 * as it arrives, so a 16 MiB DATA frame costs no memory.
 *
 * The encoder (ck_spdy_encoder, one per connection) keeps the deflate
 * stream of the header blocks we send, and appends whole frames to a
 * ck_bytes send buffer.
 *
 * Every protocol error fails the connection (spdystream does the same with
 * any frame it cannot read): the server answers GOAWAY with the status
 * ck_spdy_goaway_status_for() gives, then closes. A failed parser stays
 * failed.
 */
#ifndef CK_STREAMING_SPDY_H
#define CK_STREAMING_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "streaming/bytes.h"

#define CK_SPDY_VERSION 3

/* A DATA frame's payload: the 24-bit length field's own maximum. DATA is
 * streamed through, never buffered, so the protocol's bound is ours. */
#define CK_SPDY_DATA_MAX 0xffffffu
/* A control frame's payload (the compressed header block with its fixed
 * fields, or SETTINGS entries). The streams of exec, attach and port-forward
 * carry three or four short headers (streamType, port, requestID): tens of
 * bytes. 64 KiB is a thousand times that, and bounds what one connection
 * can make us buffer. */
#define CK_SPDY_CONTROL_MAX 65536u
/* A header block once inflated: a few KiB of compressed input can inflate
 * to megabytes, so inflation stops here (the same bound as the input). */
#define CK_SPDY_HEADER_BLOCK_MAX 65536u
/* Name/value pairs in one header block. */
#define CK_SPDY_HEADERS_MAX 64u
/* Entries in one SETTINGS frame (SPDY/3 defines 8 ids). */
#define CK_SPDY_SETTINGS_MAX 32u

typedef enum ck_spdy_type {
    CK_SPDY_DATA = 0,
    CK_SPDY_SYN_STREAM = 1,
    CK_SPDY_SYN_REPLY = 2,
    CK_SPDY_RST_STREAM = 3,
    CK_SPDY_SETTINGS = 4,
    CK_SPDY_PING = 6,
    CK_SPDY_GOAWAY = 7,
    CK_SPDY_HEADERS = 8,
    CK_SPDY_WINDOW_UPDATE = 9,
} ck_spdy_type;

#define CK_SPDY_FLAG_FIN 0x01            /* DATA, SYN_STREAM, SYN_REPLY, HEADERS: half-close */
#define CK_SPDY_FLAG_UNIDIRECTIONAL 0x02 /* SYN_STREAM */
#define CK_SPDY_FLAG_CLEAR_SETTINGS 0x01 /* SETTINGS */

/* RST_STREAM status codes. */
enum {
    CK_SPDY_RST_PROTOCOL_ERROR = 1,
    CK_SPDY_RST_INVALID_STREAM = 2,
    CK_SPDY_RST_REFUSED_STREAM = 3,
    CK_SPDY_RST_UNSUPPORTED_VERSION = 4,
    CK_SPDY_RST_CANCEL = 5,
    CK_SPDY_RST_INTERNAL_ERROR = 6,
    CK_SPDY_RST_FLOW_CONTROL_ERROR = 7,
    CK_SPDY_RST_STREAM_IN_USE = 8,
    CK_SPDY_RST_STREAM_ALREADY_CLOSED = 9,
    CK_SPDY_RST_FRAME_TOO_LARGE = 11,
};

/* GOAWAY status codes. */
enum {
    CK_SPDY_GOAWAY_OK = 0,
    CK_SPDY_GOAWAY_PROTOCOL_ERROR = 1,
    CK_SPDY_GOAWAY_INTERNAL_ERROR = 2,
};

/* One header. name is lower case and NUL-terminated; value holds value_len
 * bytes and a NUL after them; several values of one name are separated by
 * NUL bytes inside value (SPDY/3 section 2.6.10). */
typedef struct ck_spdy_header {
    const char *name;
    const char *value;
    size_t value_len;
} ck_spdy_header;

typedef struct ck_spdy_setting {
    uint8_t flags;
    uint32_t id; /* 24 bits */
    uint32_t value;
} ck_spdy_setting;

/* A parsed frame. Pointers stay valid until the next call on the parser;
 * fields a type does not use are 0. */
typedef struct ck_spdy_frame {
    ck_spdy_type type;
    uint8_t flags;
    /* DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE (0 is
     * the connection's window); GOAWAY: the last good stream id. */
    uint32_t stream_id;
    uint32_t assoc_stream_id;      /* SYN_STREAM */
    uint8_t priority;              /* SYN_STREAM, 0 (highest) to 7 */
    uint8_t slot;                  /* SYN_STREAM */
    uint32_t status;               /* RST_STREAM, GOAWAY */
    uint32_t ping_id;              /* PING */
    uint32_t delta;                /* WINDOW_UPDATE */
    const ck_spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
    size_t n_headers;
    const ck_spdy_setting *settings; /* SETTINGS */
    size_t n_settings;
    /* DATA: one piece of the payload, pointing into the input. data_end is
     * set on the frame's last piece (the only one of an empty frame); the
     * stream half-closes when data_end and flags has CK_SPDY_FLAG_FIN. */
    const uint8_t *data;
    size_t data_len;
    bool data_end;
} ck_spdy_frame;

typedef struct ck_spdy_parser ck_spdy_parser;

/* NULL with err set when out of memory. */
ck_spdy_parser *ck_spdy_parser_new(ck_err *err);
void ck_spdy_parser_free(ck_spdy_parser *p);

/* Reads from [in, in + len) until a frame (or a piece of DATA) is complete
 * or the input is used up; *used says how many bytes were taken. Returns 1
 * with *frame filled, 0 when all the input was taken and no frame is
 * complete yet, -1 on a protocol error (CK_E_INVALID, or CK_E_EXHAUSTED for
 * a limit above, with a message naming the frame and what is wrong) or when
 * out of memory (CK_E_INTERNAL). Call again with the rest of the input
 * after a frame. Unknown control frame types are skipped, as SPDY/3 says. */
int ck_spdy_parse(ck_spdy_parser *p, const uint8_t *in, size_t len, size_t *used, ck_spdy_frame *frame, ck_err *err);

/* The first header named name (lower case), or NULL. */
const ck_spdy_header *ck_spdy_header_find(const ck_spdy_frame *frame, const char *name);

/* "SYN_STREAM", "DATA", ...; "unknown" for other values. */
const char *ck_spdy_type_name(uint32_t type);

/* The GOAWAY status that answers a failure of the parser or encoder. */
uint32_t ck_spdy_goaway_status_for(const ck_err *err);

typedef struct ck_spdy_encoder ck_spdy_encoder;

ck_spdy_encoder *ck_spdy_encoder_new(ck_err *err);
void ck_spdy_encoder_free(ck_spdy_encoder *e);

/* Header-block frames. Names must be non-empty and lower case, the block at
 * most CK_SPDY_HEADER_BLOCK_MAX bytes before compression, as our parser
 * would take it (CK_E_INVALID otherwise, and nothing is written). A failure
 * inside zlib leaves the deflate stream out of step with the peer's: the
 * encoder then refuses every further header block, and the connection must
 * go. */
int ck_spdy_put_syn_stream(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint32_t assoc_stream_id,
                           uint8_t priority, uint8_t flags, const ck_spdy_header *headers, size_t n, ck_err *err);
int ck_spdy_put_syn_reply(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint8_t flags,
                          const ck_spdy_header *headers, size_t n, ck_err *err);
int ck_spdy_put_headers(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint8_t flags,
                        const ck_spdy_header *headers, size_t n, ck_err *err);

/* Frames without a header block. len of DATA is at most CK_SPDY_DATA_MAX;
 * stream ids and the window delta are 31-bit, ids of streams non-zero. */
int ck_spdy_put_data(ck_bytes *out, uint32_t stream_id, uint8_t flags, const uint8_t *data, size_t len, ck_err *err);
int ck_spdy_put_rst_stream(ck_bytes *out, uint32_t stream_id, uint32_t status, ck_err *err);
int ck_spdy_put_settings(ck_bytes *out, uint8_t flags, const ck_spdy_setting *settings, size_t n, ck_err *err);
int ck_spdy_put_ping(ck_bytes *out, uint32_t ping_id, ck_err *err);
int ck_spdy_put_goaway(ck_bytes *out, uint32_t last_good_stream_id, uint32_t status, ck_err *err);
int ck_spdy_put_window_update(ck_bytes *out, uint32_t stream_id, uint32_t delta, ck_err *err);

/* The SPDY/3 header dictionary (1423 bytes), for the tests. */
extern const uint8_t ck_spdy_dictionary[];
extern const size_t ck_spdy_dictionary_len;

#endif
