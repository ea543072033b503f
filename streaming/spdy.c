/*
 * spdy: the SPDY/3.1 frame parser and encoder (see spdy.h for the contract).
 *
 * Parser states, one frame at a time:
 *   HEAD     collecting the 8-byte frame header (it may arrive a byte at a time);
 *   CONTROL  collecting a known control frame's payload into `body`, then
 *            decoding it (header blocks are inflated into `block`);
 *   DATA     handing out DATA payload as it arrives, never copied;
 *   SKIP     passing over an unknown control frame's payload;
 *   FAILED   after a protocol error: every call repeats it.
 * Both buffers grow on demand and never past their limits, so a connection
 * costs at most CK_SPDY_CONTROL_MAX + CK_SPDY_HEADER_BLOCK_MAX + 1 bytes
 * plus zlib's inflate state (about 40 KiB with the 32 KiB window a peer
 * may use).
 *
 * Header blocks are decoded in place: each name and value moves down over
 * the length fields before it and gets a NUL, which always fits because a
 * pair's two 4-byte lengths are replaced by two 1-byte NULs.
 */
#include "streaming/spdy.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* SPDY/3 draft, section 2.6.10.1. */
const uint8_t ck_spdy_dictionary[] =
    "\000\000\000\007options\000\000\000\004head\000\000\000\004post"
    "\000\000\000\003put\000\000\000\006delete\000\000\000\005trace"
    "\000\000\000\006accept\000\000\000\016accept-charset\000\000\000\017accept-encoding"
    "\000\000\000\017accept-language\000\000\000\015accept-ranges\000\000\000\003age"
    "\000\000\000\005allow\000\000\000\015authorization\000\000\000\015cache-control"
    "\000\000\000\012connection\000\000\000\014content-base\000\000\000\020content-encoding"
    "\000\000\000\020content-language\000\000\000\016content-length"
    "\000\000\000\020content-location\000\000\000\013content-md5\000\000\000\015content-range"
    "\000\000\000\014content-type\000\000\000\004date\000\000\000\004etag"
    "\000\000\000\006expect\000\000\000\007expires\000\000\000\004from"
    "\000\000\000\004host\000\000\000\010if-match\000\000\000\021if-modified-since"
    "\000\000\000\015if-none-match\000\000\000\010if-range\000\000\000\023if-unmodified-since"
    "\000\000\000\015last-modified\000\000\000\010location\000\000\000\014max-forwards"
    "\000\000\000\006pragma\000\000\000\022proxy-authenticate\000\000\000\023proxy-authorization"
    "\000\000\000\005range\000\000\000\007referer\000\000\000\013retry-after"
    "\000\000\000\006server\000\000\000\002te\000\000\000\007trailer"
    "\000\000\000\021transfer-encoding\000\000\000\007upgrade\000\000\000\012user-agent"
    "\000\000\000\004vary\000\000\000\003via\000\000\000\007warning"
    "\000\000\000\020www-authenticate\000\000\000\006method\000\000\000\003get"
    "\000\000\000\006status\000\000\000\006200 OK\000\000\000\007version"
    "\000\000\000\010HTTP/1.1\000\000\000\003url\000\000\000\006public"
    "\000\000\000\012set-cookie\000\000\000\012keep-alive\000\000\000\006origin100101201202205206300302303304"
    "305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information204 No Cont"
    "ent301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Err"
    "or501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mo"
    "n, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,appl"
    "ication/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset="
    "iso-8859-1,utf-,*,enq=0.";
/* Without the NUL the string literal adds. */
const size_t ck_spdy_dictionary_len = sizeof(ck_spdy_dictionary) - 1;

#define FRAME_HEAD_LEN 8
#define BLOCK_FIRST_CAP 1024

typedef enum parse_state { ST_HEAD, ST_CONTROL, ST_DATA, ST_SKIP, ST_FAILED } parse_state;

struct ck_spdy_parser {
    parse_state state;
    uint8_t head[FRAME_HEAD_LEN];
    size_t head_len;
    /* The frame being read. */
    uint32_t type; /* CK_SPDY_DATA for data frames */
    uint8_t flags;
    uint32_t stream_id; /* DATA */
    size_t remaining;   /* payload bytes still to come */
    /* A control frame's payload: body_len of length bytes so far. */
    uint8_t *body;
    size_t body_len;
    size_t length;
    size_t body_cap;
    /* The inflated header block; block_cap grows to CK_SPDY_HEADER_BLOCK_MAX + 1. */
    uint8_t *block;
    size_t block_len;
    size_t block_cap;
    z_stream inflate;
    bool inflate_ended; /* the peer ended its zlib stream: no header block can follow */
    ck_spdy_header headers[CK_SPDY_HEADERS_MAX];
    ck_spdy_setting settings[CK_SPDY_SETTINGS_MAX];
    ck_err failure; /* what FAILED repeats */
};

const char *ck_spdy_type_name(uint32_t type)
{
    switch (type) {
    case CK_SPDY_DATA: return "DATA";
    case CK_SPDY_SYN_STREAM: return "SYN_STREAM";
    case CK_SPDY_SYN_REPLY: return "SYN_REPLY";
    case CK_SPDY_RST_STREAM: return "RST_STREAM";
    case CK_SPDY_SETTINGS: return "SETTINGS";
    case CK_SPDY_PING: return "PING";
    case CK_SPDY_GOAWAY: return "GOAWAY";
    case CK_SPDY_HEADERS: return "HEADERS";
    case CK_SPDY_WINDOW_UPDATE: return "WINDOW_UPDATE";
    default: return "unknown";
    }
}

uint32_t ck_spdy_goaway_status_for(const ck_err *err)
{
    if (err->kind == CK_E_INVALID || err->kind == CK_E_EXHAUSTED)
        return CK_SPDY_GOAWAY_PROTOCOL_ERROR;
    return CK_SPDY_GOAWAY_INTERNAL_ERROR;
}

ck_spdy_parser *ck_spdy_parser_new(ck_err *err)
{
    ck_spdy_parser *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ck_err_oom(err, "SPDY parser");
        return NULL;
    }
    int rc = inflateInit(&p->inflate);
    if (rc != Z_OK) {
        free(p);
        ck_err_set(err, CK_E_INTERNAL, 0, "start the SPDY header inflater: zlib error %d", rc);
        return NULL;
    }
    return p;
}

void ck_spdy_parser_free(ck_spdy_parser *p)
{
    if (p == NULL)
        return;
    inflateEnd(&p->inflate);
    free(p->body);
    free(p->block);
    free(p);
}

/* Ends a protocol error recorded in p->failure: adds the frame as context
 * and leaves the parser failed. Returns -1. (A macro, not a variadic
 * function: clang 14's analyzer reports a false uninitialized va_list in
 * the latter.) */
static int failed(ck_spdy_parser *p, ck_err *err)
{
    ck_err_wrap(&p->failure, "SPDY %s frame", ck_spdy_type_name(p->type));
    p->state = ST_FAILED;
    return ck_err_copy(err, &p->failure);
}

/* Records a protocol error (printf-style message) for the frame being read. */
#define FAIL(p, err, kind, ...) (ck_err_set(&(p)->failure, (kind), 0, __VA_ARGS__), failed((p), (err)))

static bool known_control_type(uint32_t type)
{
    switch (type) {
    case CK_SPDY_SYN_STREAM:
    case CK_SPDY_SYN_REPLY:
    case CK_SPDY_RST_STREAM:
    case CK_SPDY_SETTINGS:
    case CK_SPDY_PING:
    case CK_SPDY_GOAWAY:
    case CK_SPDY_HEADERS:
    case CK_SPDY_WINDOW_UPDATE: return true;
    default: return false;
    }
}

/* The payload length each known control type must have: exact for the
 * fixed-size ones, a minimum (the fixed fields) for the others. */
static int check_control_length(ck_spdy_parser *p, size_t length, ck_err *err)
{
    size_t exact = 0, min = 0;
    switch (p->type) {
    case CK_SPDY_SYN_STREAM: min = 10; break;
    case CK_SPDY_SYN_REPLY:
    case CK_SPDY_HEADERS:
    case CK_SPDY_SETTINGS: min = 4; break;
    case CK_SPDY_PING: exact = 4; break;
    default: exact = 8; break; /* RST_STREAM, GOAWAY, WINDOW_UPDATE */
    }
    if (exact != 0 && length != exact)
        return FAIL(p, err, CK_E_INVALID, "length %zu, must be %zu", length, exact);
    if (length < min)
        return FAIL(p, err, CK_E_INVALID, "length %zu, shorter than its fixed fields (%zu)", length, min);
    if (length > CK_SPDY_CONTROL_MAX)
        return FAIL(p, err, CK_E_EXHAUSTED, "length %zu, more than the %u bytes a control frame may have here", length,
                    CK_SPDY_CONTROL_MAX);
    return 0;
}

static int start_control_body(ck_spdy_parser *p, size_t length, ck_err *err)
{
    if (length > p->body_cap) {
        uint8_t *body = realloc(p->body, length);
        if (body == NULL) {
            ck_err_oom(&p->failure, "SPDY control frame");
            p->state = ST_FAILED;
            return ck_err_copy(err, &p->failure);
        }
        p->body = body;
        p->body_cap = length;
    }
    p->body_len = 0;
    p->length = length;
    p->state = ST_CONTROL;
    return 0;
}

/* The 8 bytes of a frame's header are in: check them and choose the state. */
static int start_frame(ck_spdy_parser *p, ck_spdy_frame *frame, ck_err *err)
{
    uint32_t word = ck_be32(p->head);
    p->flags = p->head[4];
    size_t length = ck_be24(p->head + 5);
    p->remaining = length;
    if ((word & 0x80000000u) == 0) {
        p->type = CK_SPDY_DATA;
        p->stream_id = word & 0x7fffffffu;
        if (p->stream_id == 0)
            return FAIL(p, err, CK_E_INVALID, "stream id 0 (DATA belongs to a stream)");
        p->state = ST_DATA;
        if (length > 0)
            return 0;
        /* An empty frame is its own last piece (often just a FIN). */
        memset(frame, 0, sizeof(*frame));
        frame->type = CK_SPDY_DATA;
        frame->flags = p->flags;
        frame->stream_id = p->stream_id;
        frame->data_end = true;
        p->state = ST_HEAD;
        return 1;
    }
    uint32_t version = (word >> 16) & 0x7fffu;
    p->type = word & 0xffffu;
    if (version != CK_SPDY_VERSION)
        return FAIL(p, err, CK_E_INVALID, "SPDY version %u (control type %u); only version 3 is spoken here", version,
                    p->type);
    if (!known_control_type(p->type)) {
        p->state = length > 0 ? ST_SKIP : ST_HEAD;
        return 0;
    }
    if (check_control_length(p, length, err) < 0)
        return -1;
    return start_control_body(p, length, err);
}

/* Doubles the inflate buffer, up to one byte past the limit: output that
 * reaches that byte is a block over the limit. */
static int grow_block(ck_spdy_parser *p, uint32_t stream_id, ck_err *err)
{
    size_t limit = CK_SPDY_HEADER_BLOCK_MAX + 1;
    if (p->block_cap >= limit)
        return FAIL(p, err, CK_E_EXHAUSTED, "stream %u: header block inflates to more than %u bytes", stream_id,
                    CK_SPDY_HEADER_BLOCK_MAX);
    size_t cap = p->block_cap == 0 ? BLOCK_FIRST_CAP : p->block_cap * 2;
    if (cap > limit)
        cap = limit;
    uint8_t *block = realloc(p->block, cap);
    if (block == NULL) {
        ck_err_oom(&p->failure, "SPDY header block");
        p->state = ST_FAILED;
        return ck_err_copy(err, &p->failure);
    }
    p->block = block;
    p->block_cap = cap;
    return 0;
}

/* Runs the connection's inflate stream over one frame's compressed header
 * block into block/block_len. The peer flushes each block (sync flush), so
 * all of it comes out before the next frame's input is given. */
static int inflate_block(ck_spdy_parser *p, const uint8_t *src, size_t n, uint32_t stream_id, ck_err *err)
{
    p->block_len = 0;
    if (n == 0)
        return 0;
    if (p->inflate_ended)
        return FAIL(p, err, CK_E_INVALID, "stream %u: header block after the end of the peer's compression stream",
                    stream_id);
    z_stream *z = &p->inflate;
    z->next_in = (Bytef *)src; /* zlib's API is not const; inflate only reads it */
    z->avail_in = (uInt)n;
    bool out_full = true;
    while (z->avail_in > 0 || out_full) {
        if (p->block_len == p->block_cap && grow_block(p, stream_id, err) < 0)
            return -1;
        size_t room = p->block_cap - p->block_len;
        z->next_out = p->block + p->block_len;
        z->avail_out = (uInt)room;
        int rc = inflate(z, Z_SYNC_FLUSH);
        p->block_len += room - z->avail_out;
        out_full = z->avail_out == 0;
        if (rc == Z_NEED_DICT) {
            rc = inflateSetDictionary(z, ck_spdy_dictionary, (uInt)ck_spdy_dictionary_len);
            if (rc != Z_OK)
                return FAIL(p, err, CK_E_INVALID, "stream %u: header block asks for a dictionary other than SPDY/3's",
                            stream_id);
            continue;
        }
        if (rc == Z_STREAM_END) {
            p->inflate_ended = true;
            if (z->avail_in > 0)
                return FAIL(p, err, CK_E_INVALID, "stream %u: %u bytes after the end of the compression stream",
                            stream_id, z->avail_in);
            break;
        }
        if (rc == Z_BUF_ERROR && !out_full)
            break; /* all input taken and nothing more to give */
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return FAIL(p, err, CK_E_INVALID, "stream %u: header block does not inflate: %s", stream_id,
                        z->msg != NULL ? z->msg : "zlib error");
    }
    if (p->block_len > CK_SPDY_HEADER_BLOCK_MAX)
        return FAIL(p, err, CK_E_EXHAUSTED, "stream %u: header block inflates to more than %u bytes", stream_id,
                    CK_SPDY_HEADER_BLOCK_MAX);
    return 0;
}

/* A length-prefixed string of the block at *pos: its start and length. */
static int block_string(ck_spdy_parser *p, size_t *pos, size_t *start, size_t *len, const char *what, size_t index,
                        uint32_t stream_id, ck_err *err)
{
    size_t left = p->block_len - *pos;
    if (left < 4)
        return FAIL(p, err, CK_E_INVALID, "stream %u: header block ends inside the length of %s %zu", stream_id, what,
                    index);
    uint32_t n = ck_be32(p->block + *pos);
    if (n > left - 4)
        return FAIL(p, err, CK_E_INVALID, "stream %u: %s %zu of %u bytes, but only %zu remain in the header block",
                    stream_id, what, index, n, left - 4);
    *start = *pos + 4;
    *len = n;
    *pos += 4 + (size_t)n;
    return 0;
}

static int check_name(ck_spdy_parser *p, const uint8_t *name, size_t len, size_t index, uint32_t stream_id, ck_err *err)
{
    if (len == 0)
        return FAIL(p, err, CK_E_INVALID, "stream %u: header %zu has an empty name", stream_id, index);
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '\0' || (name[i] >= 'A' && name[i] <= 'Z'))
            return FAIL(p, err, CK_E_INVALID, "stream %u: header name %zu holds %s; names are lower case", stream_id,
                        index, name[i] == '\0' ? "a NUL byte" : "an upper-case letter");
    }
    for (size_t j = 0; j < index; j++) {
        const char *seen = p->headers[j].name;
        if (strlen(seen) == len && memcmp(seen, name, len) == 0)
            return FAIL(p, err, CK_E_INVALID,
                        "stream %u: header \"%.*s\" appears twice (several values share one name)", stream_id,
                        (int)(len > 64 ? 64 : len), (const char *)name);
    }
    return 0;
}

/* Decodes the inflated block into headers[], moving each name and value
 * down in place and ending it with a NUL (see the file's comment). */
static int decode_block(ck_spdy_parser *p, ck_spdy_frame *frame, uint32_t stream_id, ck_err *err)
{
    frame->headers = p->headers;
    frame->n_headers = 0;
    if (p->block_len == 0)
        return 0; /* an empty block: no headers */
    if (p->block_len < 4)
        return FAIL(p, err, CK_E_INVALID, "stream %u: header block of %zu bytes ends inside its header count",
                    stream_id, p->block_len);
    uint32_t count = ck_be32(p->block);
    if (count > CK_SPDY_HEADERS_MAX)
        return FAIL(p, err, CK_E_EXHAUSTED, "stream %u: %u headers, more than %u", stream_id, count,
                    CK_SPDY_HEADERS_MAX);
    size_t pos = 4, w = 0;
    for (size_t i = 0; i < count; i++) {
        size_t name_at, name_len, value_at, value_len;
        if (block_string(p, &pos, &name_at, &name_len, "name", i, stream_id, err) < 0 ||
            check_name(p, p->block + name_at, name_len, i, stream_id, err) < 0 ||
            block_string(p, &pos, &value_at, &value_len, "value", i, stream_id, err) < 0)
            return -1;
        char *name = (char *)p->block + w;
        memmove(name, p->block + name_at, name_len);
        name[name_len] = '\0';
        w += name_len + 1;
        char *value = (char *)p->block + w;
        memmove(value, p->block + value_at, value_len);
        value[value_len] = '\0';
        w += value_len + 1;
        p->headers[i] = (ck_spdy_header){.name = name, .value = value, .value_len = value_len};
        frame->n_headers = i + 1;
    }
    if (pos != p->block_len)
        return FAIL(p, err, CK_E_INVALID, "stream %u: %zu bytes after the last of %u headers", stream_id,
                    p->block_len - pos, count);
    return 0;
}

static int need_stream(ck_spdy_parser *p, uint32_t stream_id, ck_err *err)
{
    if (stream_id == 0)
        return FAIL(p, err, CK_E_INVALID, "stream id 0 (the frame belongs to a stream)");
    return 0;
}

static int decode_settings(ck_spdy_parser *p, ck_spdy_frame *frame, ck_err *err)
{
    uint32_t count = ck_be32(p->body);
    if ((p->length - 4) / 8 != count || (p->length - 4) % 8 != 0)
        return FAIL(p, err, CK_E_INVALID, "%u entries announced in %zu bytes (each takes 8)", count, p->length - 4);
    if (count > CK_SPDY_SETTINGS_MAX)
        return FAIL(p, err, CK_E_EXHAUSTED, "%u entries, more than %u", count, CK_SPDY_SETTINGS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *entry = p->body + 4 + 8 * (size_t)i;
        p->settings[i] = (ck_spdy_setting){.flags = entry[0], .id = ck_be24(entry + 1), .value = ck_be32(entry + 4)};
    }
    frame->settings = p->settings;
    frame->n_settings = count;
    return 0;
}

static int decode_header_frame(ck_spdy_parser *p, ck_spdy_frame *frame, size_t fixed, ck_err *err)
{
    if (need_stream(p, frame->stream_id, err) < 0 ||
        inflate_block(p, p->body + fixed, p->length - fixed, frame->stream_id, err) < 0)
        return -1;
    return decode_block(p, frame, frame->stream_id, err);
}

/* The whole payload of a known control frame is in body. */
static int decode_control(ck_spdy_parser *p, ck_spdy_frame *frame, ck_err *err)
{
    const uint8_t *b = p->body;
    memset(frame, 0, sizeof(*frame));
    frame->type = (ck_spdy_type)p->type;
    frame->flags = p->flags;
    switch (p->type) {
    case CK_SPDY_SYN_STREAM:
        frame->stream_id = ck_be32(b) & 0x7fffffffu;
        frame->assoc_stream_id = ck_be32(b + 4) & 0x7fffffffu;
        frame->priority = b[8] >> 5;
        frame->slot = b[9];
        return decode_header_frame(p, frame, 10, err);
    case CK_SPDY_SYN_REPLY:
    case CK_SPDY_HEADERS: frame->stream_id = ck_be32(b) & 0x7fffffffu; return decode_header_frame(p, frame, 4, err);
    case CK_SPDY_RST_STREAM:
        frame->stream_id = ck_be32(b) & 0x7fffffffu;
        frame->status = ck_be32(b + 4);
        if (frame->status == 0)
            return FAIL(p, err, CK_E_INVALID, "stream %u: status 0 (not a status)", frame->stream_id);
        return need_stream(p, frame->stream_id, err);
    case CK_SPDY_SETTINGS: return decode_settings(p, frame, err);
    case CK_SPDY_PING: frame->ping_id = ck_be32(b); return 0;
    case CK_SPDY_GOAWAY:
        frame->stream_id = ck_be32(b) & 0x7fffffffu;
        frame->status = ck_be32(b + 4);
        return 0;
    default: /* WINDOW_UPDATE: stream 0 is the connection's window (SPDY/3.1) */
        frame->stream_id = ck_be32(b) & 0x7fffffffu;
        frame->delta = ck_be32(b + 4) & 0x7fffffffu;
        return 0;
    }
}

static size_t take(size_t want, size_t have)
{
    return want < have ? want : have;
}

/* One step on the input from `at`: consumes what it can and says whether a
 * frame is ready (1), more input is needed (0) or the frame is bad (-1). */
static int step(ck_spdy_parser *p, const uint8_t *in, size_t len, size_t *at, ck_spdy_frame *frame, ck_err *err)
{
    size_t n;
    switch (p->state) {
    case ST_HEAD:
        n = take(FRAME_HEAD_LEN - p->head_len, len - *at);
        memcpy(p->head + p->head_len, in + *at, n);
        p->head_len += n;
        *at += n;
        if (p->head_len < FRAME_HEAD_LEN)
            return 0;
        p->head_len = 0;
        return start_frame(p, frame, err);
    case ST_CONTROL:
        n = take(p->length - p->body_len, len - *at);
        if (n > 0)
            memcpy(p->body + p->body_len, in + *at, n);
        p->body_len += n;
        *at += n;
        if (p->body_len < p->length)
            return 0;
        p->state = ST_HEAD;
        return decode_control(p, frame, err) < 0 ? -1 : 1;
    case ST_DATA:
        n = take(p->remaining, len - *at);
        memset(frame, 0, sizeof(*frame));
        frame->type = CK_SPDY_DATA;
        frame->flags = p->flags;
        frame->stream_id = p->stream_id;
        frame->data = in + *at;
        frame->data_len = n;
        p->remaining -= n;
        *at += n;
        frame->data_end = p->remaining == 0;
        if (frame->data_end)
            p->state = ST_HEAD;
        return 1;
    case ST_SKIP:
        n = take(p->remaining, len - *at);
        p->remaining -= n;
        *at += n;
        if (p->remaining == 0)
            p->state = ST_HEAD;
        return 0;
    default: return ck_err_copy(err, &p->failure);
    }
}

int ck_spdy_parse(ck_spdy_parser *p, const uint8_t *in, size_t len, size_t *used, ck_spdy_frame *frame, ck_err *err)
{
    size_t at = 0;
    int rc = 0;
    if (p->state == ST_FAILED)
        rc = ck_err_copy(err, &p->failure);
    /* A DATA frame is only stepped into with input left, so that no empty
     * piece comes out of a frame that still has payload. */
    while (rc == 0 && (at < len && p->state != ST_FAILED))
        rc = step(p, in, len, &at, frame, err);
    *used = at;
    return rc;
}

const ck_spdy_header *ck_spdy_header_find(const ck_spdy_frame *frame, const char *name)
{
    for (size_t i = 0; i < frame->n_headers; i++) {
        if (strcmp(frame->headers[i].name, name) == 0)
            return &frame->headers[i];
    }
    return NULL;
}

/* ---- encoder ------------------------------------------------------------ */

/* Our deflate window: 2 KiB instead of zlib's 32 KiB default. Header blocks
 * are tens of bytes and the dictionary's useful tail fits, while the state
 * shrinks from about 256 KiB to about 16 KiB per connection; any inflater
 * (Go's included) reads a stream made with a smaller window. */
#define DEFLATE_WINDOW_BITS 11
#define DEFLATE_MEM_LEVEL 4

struct ck_spdy_encoder {
    z_stream deflate;
    bool broken; /* a zlib failure left our stream out of step with the peer's */
};

ck_spdy_encoder *ck_spdy_encoder_new(ck_err *err)
{
    ck_spdy_encoder *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        ck_err_oom(err, "SPDY encoder");
        return NULL;
    }
    int rc = deflateInit2(&e->deflate, Z_BEST_COMPRESSION, Z_DEFLATED, DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        free(e);
        ck_err_set(err, CK_E_INTERNAL, 0, "start the SPDY header deflater: zlib error %d", rc);
        return NULL;
    }
    rc = deflateSetDictionary(&e->deflate, ck_spdy_dictionary, (uInt)ck_spdy_dictionary_len);
    if (rc != Z_OK) {
        deflateEnd(&e->deflate);
        free(e);
        ck_err_set(err, CK_E_INTERNAL, 0, "prime the SPDY header deflater: zlib error %d", rc);
        return NULL;
    }
    return e;
}

void ck_spdy_encoder_free(ck_spdy_encoder *e)
{
    if (e == NULL)
        return;
    deflateEnd(&e->deflate);
    free(e);
}

/* Appends a control frame's 8-byte header; the length is patched later for
 * header-block frames. */
static int put_control_head(ck_bytes *out, uint32_t type, uint8_t flags, size_t length, ck_err *err)
{
    if (ck_bytes_reserve(out, FRAME_HEAD_LEN + length, err) < 0)
        return -1;
    uint8_t *h = out->data + out->len;
    ck_put_be32(h, 0x80000000u | (uint32_t)CK_SPDY_VERSION << 16 | type);
    h[4] = flags;
    ck_put_be24(h + 5, (uint32_t)length);
    out->len += FRAME_HEAD_LEN;
    return 0;
}

static int check_stream_id(uint32_t stream_id, bool zero_ok, const char *what, ck_err *err)
{
    if (stream_id > 0x7fffffffu || (stream_id == 0 && !zero_ok))
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY %s: stream id %u is not a %s31-bit id", what, stream_id,
                          zero_ok ? "" : "non-zero ");
    return 0;
}

/* The size of the uncompressed block, after checking each name. */
static int block_size(const ck_spdy_header *headers, size_t n, size_t *size, ck_err *err)
{
    if (n > CK_SPDY_HEADERS_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY header block: %zu headers, more than %u", n, CK_SPDY_HEADERS_MAX);
    size_t total = 4;
    for (size_t i = 0; i < n; i++) {
        const char *name = headers[i].name;
        size_t name_len = strlen(name);
        if (name_len == 0)
            return ck_err_set(err, CK_E_INVALID, 0, "SPDY header block: header %zu has an empty name", i);
        for (size_t j = 0; j < name_len; j++) {
            if (name[j] >= 'A' && name[j] <= 'Z')
                return ck_err_set(err, CK_E_INVALID, 0, "SPDY header block: name \"%s\" is not lower case", name);
        }
        if (name_len > CK_SPDY_HEADER_BLOCK_MAX || headers[i].value_len > CK_SPDY_HEADER_BLOCK_MAX)
            return ck_err_set(err, CK_E_INVALID, 0, "SPDY header block: header \"%.64s\" is too long", name);
        total += 8 + name_len + headers[i].value_len;
        if (total > CK_SPDY_HEADER_BLOCK_MAX)
            return ck_err_set(err, CK_E_INVALID, 0, "SPDY header block: more than %u bytes", CK_SPDY_HEADER_BLOCK_MAX);
    }
    *size = total;
    return 0;
}

/* Feeds bytes to the deflate stream, appending what comes out to out. With
 * Z_SYNC_FLUSH, runs until zlib has handed over everything. */
static int deflate_into(ck_spdy_encoder *e, ck_bytes *out, const void *src, size_t n, int flush, ck_err *err)
{
    z_stream *z = &e->deflate;
    z->next_in = (Bytef *)src; /* zlib's API is not const; deflate only reads it */
    z->avail_in = (uInt)n;
    for (;;) {
        if (ck_bytes_reserve(out, 256, err) < 0)
            return -1;
        size_t room = out->cap - out->len;
        z->next_out = out->data + out->len;
        z->avail_out = (uInt)(room > 0xffffffffu ? 0xffffffffu : room);
        uInt given = z->avail_out;
        int rc = deflate(z, flush);
        out->len += given - z->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return ck_err_set(err, CK_E_INTERNAL, 0, "SPDY header deflate: zlib error %d", rc);
        if (z->avail_in == 0 && z->avail_out > 0)
            return 0;
    }
}

static int deflate_block(ck_spdy_encoder *e, ck_bytes *out, const ck_spdy_header *headers, size_t n, ck_err *err)
{
    uint8_t len4[4];
    ck_put_be32(len4, (uint32_t)n);
    if (deflate_into(e, out, len4, 4, Z_NO_FLUSH, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t name_len = strlen(headers[i].name);
        ck_put_be32(len4, (uint32_t)name_len);
        if (deflate_into(e, out, len4, 4, Z_NO_FLUSH, err) < 0 ||
            deflate_into(e, out, headers[i].name, name_len, Z_NO_FLUSH, err) < 0)
            return -1;
        ck_put_be32(len4, (uint32_t)headers[i].value_len);
        if (deflate_into(e, out, len4, 4, Z_NO_FLUSH, err) < 0 ||
            deflate_into(e, out, headers[i].value, headers[i].value_len, Z_NO_FLUSH, err) < 0)
            return -1;
    }
    return deflate_into(e, out, NULL, 0, Z_SYNC_FLUSH, err);
}

/* A frame whose payload is `fixed` (already big-endian) and a compressed
 * header block. On failure out is as it was. */
static int put_header_frame(ck_spdy_encoder *e, ck_bytes *out, uint32_t type, uint8_t flags, const uint8_t *fixed,
                            size_t fixed_len, const ck_spdy_header *headers, size_t n, ck_err *err)
{
    size_t raw;
    if (e->broken)
        return ck_err_set(err, CK_E_INTERNAL, 0, "SPDY %s: the header compressor failed earlier",
                          ck_spdy_type_name(type));
    if (block_size(headers, n, &raw, err) < 0)
        return ck_err_wrap(err, "SPDY %s", ck_spdy_type_name(type));
    size_t start = out->len;
    if (put_control_head(out, type, flags, 0, err) < 0 || ck_bytes_append(out, fixed, fixed_len, err) < 0) {
        out->len = start;
        return -1;
    }
    if (deflate_block(e, out, headers, n, err) < 0) {
        e->broken = true;
        out->len = start;
        return ck_err_wrap(err, "SPDY %s", ck_spdy_type_name(type));
    }
    /* Compressed, a block under 64 KiB stays far under the 24-bit length. */
    ck_put_be24(out->data + start + 5, (uint32_t)(out->len - start - FRAME_HEAD_LEN));
    return 0;
}

int ck_spdy_put_syn_stream(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint32_t assoc_stream_id,
                           uint8_t priority, uint8_t flags, const ck_spdy_header *headers, size_t n, ck_err *err)
{
    if (check_stream_id(stream_id, false, "SYN_STREAM", err) < 0 ||
        check_stream_id(assoc_stream_id, true, "SYN_STREAM associated", err) < 0)
        return -1;
    if (priority > 7)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY SYN_STREAM: priority %u, above 7", priority);
    uint8_t fixed[10];
    ck_put_be32(fixed, stream_id);
    ck_put_be32(fixed + 4, assoc_stream_id);
    fixed[8] = (uint8_t)(priority << 5);
    fixed[9] = 0;
    return put_header_frame(e, out, CK_SPDY_SYN_STREAM, flags, fixed, sizeof(fixed), headers, n, err);
}

int ck_spdy_put_syn_reply(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint8_t flags,
                          const ck_spdy_header *headers, size_t n, ck_err *err)
{
    if (check_stream_id(stream_id, false, "SYN_REPLY", err) < 0)
        return -1;
    uint8_t fixed[4];
    ck_put_be32(fixed, stream_id);
    return put_header_frame(e, out, CK_SPDY_SYN_REPLY, flags, fixed, sizeof(fixed), headers, n, err);
}

int ck_spdy_put_headers(ck_spdy_encoder *e, ck_bytes *out, uint32_t stream_id, uint8_t flags,
                        const ck_spdy_header *headers, size_t n, ck_err *err)
{
    if (check_stream_id(stream_id, false, "HEADERS", err) < 0)
        return -1;
    uint8_t fixed[4];
    ck_put_be32(fixed, stream_id);
    return put_header_frame(e, out, CK_SPDY_HEADERS, flags, fixed, sizeof(fixed), headers, n, err);
}

int ck_spdy_put_data(ck_bytes *out, uint32_t stream_id, uint8_t flags, const uint8_t *data, size_t len, ck_err *err)
{
    if (check_stream_id(stream_id, false, "DATA", err) < 0)
        return -1;
    if (len > CK_SPDY_DATA_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY DATA: %zu bytes, more than a frame holds (%u)", len,
                          CK_SPDY_DATA_MAX);
    if (ck_bytes_reserve(out, FRAME_HEAD_LEN + len, err) < 0)
        return -1;
    uint8_t *h = out->data + out->len;
    ck_put_be32(h, stream_id);
    h[4] = flags;
    ck_put_be24(h + 5, (uint32_t)len);
    if (len > 0)
        memcpy(h + FRAME_HEAD_LEN, data, len);
    out->len += FRAME_HEAD_LEN + len;
    return 0;
}

/* A control frame of two 32-bit words (RST_STREAM, GOAWAY, WINDOW_UPDATE). */
static int put_two_words(ck_bytes *out, uint32_t type, uint32_t a, uint32_t b, ck_err *err)
{
    if (put_control_head(out, type, 0, 8, err) < 0)
        return -1;
    ck_put_be32(out->data + out->len, a);
    ck_put_be32(out->data + out->len + 4, b);
    out->len += 8;
    return 0;
}

int ck_spdy_put_rst_stream(ck_bytes *out, uint32_t stream_id, uint32_t status, ck_err *err)
{
    if (check_stream_id(stream_id, false, "RST_STREAM", err) < 0)
        return -1;
    if (status == 0)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY RST_STREAM: status 0 is not a status");
    return put_two_words(out, CK_SPDY_RST_STREAM, stream_id, status, err);
}

int ck_spdy_put_goaway(ck_bytes *out, uint32_t last_good_stream_id, uint32_t status, ck_err *err)
{
    if (check_stream_id(last_good_stream_id, true, "GOAWAY", err) < 0)
        return -1;
    return put_two_words(out, CK_SPDY_GOAWAY, last_good_stream_id, status, err);
}

int ck_spdy_put_window_update(ck_bytes *out, uint32_t stream_id, uint32_t delta, ck_err *err)
{
    if (check_stream_id(stream_id, true, "WINDOW_UPDATE", err) < 0)
        return -1;
    if (delta == 0 || delta > 0x7fffffffu)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY WINDOW_UPDATE: delta %u is not between 1 and 2^31-1", delta);
    return put_two_words(out, CK_SPDY_WINDOW_UPDATE, stream_id, delta, err);
}

int ck_spdy_put_ping(ck_bytes *out, uint32_t ping_id, ck_err *err)
{
    if (put_control_head(out, CK_SPDY_PING, 0, 4, err) < 0)
        return -1;
    ck_put_be32(out->data + out->len, ping_id);
    out->len += 4;
    return 0;
}

int ck_spdy_put_settings(ck_bytes *out, uint8_t flags, const ck_spdy_setting *settings, size_t n, ck_err *err)
{
    if (n > CK_SPDY_SETTINGS_MAX)
        return ck_err_set(err, CK_E_INVALID, 0, "SPDY SETTINGS: %zu entries, more than %u", n, CK_SPDY_SETTINGS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (settings[i].id > 0xffffffu)
            return ck_err_set(err, CK_E_INVALID, 0, "SPDY SETTINGS: id %u does not fit 24 bits", settings[i].id);
    }
    if (put_control_head(out, CK_SPDY_SETTINGS, flags, 4 + 8 * n, err) < 0)
        return -1;
    uint8_t *p = out->data + out->len;
    ck_put_be32(p, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *entry = p + 4 + 8 * i;
        entry[0] = settings[i].flags;
        ck_put_be24(entry + 1, settings[i].id);
        ck_put_be32(entry + 4, settings[i].value);
    }
    out->len += 4 + 8 * n;
    return 0;
}
