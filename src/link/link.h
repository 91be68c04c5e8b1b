/*
 * link.h: the partner link, the one connection between the two
 * controllers of an enclosure (DESIGN.md, "Partner link and PFU"). TLS 1.3
 * with an external pre-shared key taken from the enclosure key; inside it,
 * typed frames (docs/link.md has the wire format). Controller A dials,
 * controller B listens through the listener's admission policy. This part
 * carries frames and keeps the link alive; what the frames mean is the
 * daemon's.
 */
#ifndef TANDEM_LINK_H
#define TANDEM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "common/listener.h"

/* Limits of this part (STYLE.md: limits in one place). */
#define LINK_FRAME_MAX		(256 * 1024)	/* payload bytes of a frame */
#define LINK_FRAME_HEADER	5		/* u8 type, u32 length */
#define LINK_PROTOCOL		1
#define LINK_BUNDLE_DATA_MAX	(64 * 1024)	/* bytes of a BUNDLE_DATA */
#define LINK_KEY_MIN		16	/* enclosure key bytes, at least */
#define LINK_PSK_IDENTITY	"tandem-enclosure"
#define LINK_SERIAL_MAX		32	/* serial bytes, with the NUL */
#define LINK_HEARTBEAT_MS	1000	/* defaults of struct link_config */
#define LINK_HEARTBEAT_MISSED	3
#define LINK_BACKOFF_MIN_MS	250
#define LINK_BACKOFF_MAX_MS	10000
/* A's redial step while it expects the partner back from a restart it was
 * told of (link_redial_quickly), and the longest such window. */
#define LINK_REDIAL_QUICK_MS	25
#define LINK_REDIAL_QUICK_WINDOW_MAX_MS	10000
#define LINK_WHY_MAX		(ERR_MESSAGE_MAX + 64)	/* a reason given to
						 * down()/refused() */

enum link_frame_type {
	LINK_FRAME_HELLO = 1,		/* JSON {"protocol":1,"controller":
					 * "A","serial":..,"midplane_serial":..} */
	LINK_FRAME_HEARTBEAT = 2,	/* empty */
	LINK_FRAME_STATE = 3,		/* JSON (the daemon's; see peer_view) */
	LINK_FRAME_SETTINGS = 4,	/* JSON (the settings mirror) */
	LINK_FRAME_EVENT = 5,		/* JSON (one forwarded event) */
	LINK_FRAME_BUNDLE_BEGIN = 6,	/* JSON {"target":..,"size":N} */
	LINK_FRAME_BUNDLE_DATA = 7,	/* raw bundle bytes (<= 64 KiB) */
	LINK_FRAME_BUNDLE_END = 8,	/* empty */
	LINK_FRAME_BUNDLE_ABORT = 9,	/* JSON {"why":..} */
	LINK_FRAME_BUNDLE_RESULT = 10,	/* JSON {"ok":..,"code":..,...} */
	LINK_FRAME_PFU_RECORD = 11,	/* JSON (PFU's attempt record) */
	LINK_FRAME_COMMAND = 12,	/* JSON {"command":..} (reserved) */
	LINK_FRAME_TYPE_MAX = 12,
};

/* ---- frame.c: encoding and the push parser, pure ---- */

/*
 * A push parser: bytes go in in any chunks; each frame is handed over once
 * complete. It holds at most the frame being assembled: a frame that
 * arrives whole in one push is handed over from the caller's bytes.
 */
struct link_parser {
	uint8_t header[LINK_FRAME_HEADER];
	size_t header_len;	/* header bytes held so far */
	unsigned type;		/* of the frame being assembled */
	size_t need;		/* its payload length */
	size_t got;		/* payload bytes held so far */
	uint8_t *payload;	/* need bytes, malloc'd while assembling */
	bool failed;		/* refused input: every push fails now */
};

void link_parser_init(struct link_parser *p);
void link_parser_free(struct link_parser *p);
/*
 * Feeds len bytes. frame() returns 0 to go on, negative to stop (then
 * push returns it; the bytes after that frame are not consumed). Unknown
 * type, length over LINK_FRAME_MAX: -EPROTO with a message naming it, and
 * every later push fails the same way.
 */
int link_parser_push(struct link_parser *p, const void *data, size_t len,
		     int (*frame)(void *arg, unsigned type,
				  const uint8_t *payload, size_t len),
		     void *arg, struct err *e);
/* Appends one frame to out: 0, -EINVAL (type), -EMSGSIZE (length) or
 * -ENOMEM (out's cap). */
int link_frame_encode(struct buf *out, unsigned type, const void *payload,
		      size_t len);
/* The frame type's name ("HELLO"), "?" for none. */
const char *link_frame_type_name(unsigned type);

/* ---- hello.c: the HELLO frame and whether its sender is our partner ---- */

struct link_hello {
	char controller;		/* 'A' or 'B' */
	char serial[LINK_SERIAL_MAX];
	char midplane_serial[LINK_SERIAL_MAX];
	unsigned protocol;
};

/* The HELLO payload (JSON) into out: 0 or -ENOMEM. */
int link_hello_encode(const struct link_hello *h, struct buf *out);
/* Parses a HELLO payload: 0 or -EPROTO with a message. */
int link_hello_parse(const uint8_t *payload, size_t len,
		     struct link_hello *h, struct err *e);
/* Whether peer is our partner: 0, or -EPERM with the reason (same
 * controller id, another midplane, another protocol). */
int link_hello_check(const struct link_hello *ours,
		     const struct link_hello *peer, struct err *e);

/* ---- tls.c: the TLS 1.3 context keyed by the enclosure key ---- */

/* opaque: OpenSSL's SSL_CTX */
struct ssl_ctx_st;
/*
 * A TLS 1.3-only context whose one PSK (identity LINK_PSK_IDENTITY) is
 * SHA-256 of the enclosure key bytes, as a server (B) or a client (A).
 * No certificates. Free with link_tls_ctx_free.
 */
struct ssl_ctx_st *link_tls_ctx_new(const uint8_t *key, size_t key_len,
				    bool server, struct err *e);
void link_tls_ctx_free(struct ssl_ctx_st *ctx);
/* OpenSSL's queued errors as text ("bad record mac"), clearing them. */
void link_tls_error(char *out, size_t outlen);

/* ---- link.c: the connection manager ---- */

struct link_handlers {
	/* TLS up and HELLOs exchanged and accepted. Reader thread. */
	void (*up)(void *ctx, const struct link_hello *peer);
	/* The link went down (heartbeats missed, closed, error); why says
	 * which. Once per up(), before any later up(). */
	void (*down)(void *ctx, const char *why);
	/* Every frame but HELLO and HEARTBEAT, in order, on the reader
	 * thread. May block for long (writing flash): heartbeats are not
	 * judged missed while it runs. Nonzero: drop the connection, e says
	 * why. */
	int (*frame)(void *ctx, unsigned type, const uint8_t *payload,
		     size_t len, struct err *e);
	/* A connection refused or dropped for cause: wrong key (handshake
	 * failed), malformed frame, a peer that is not the partner (same
	 * controller id as ours, other midplane serial, other protocol). */
	void (*refused)(void *ctx, const char *peer_address, const char *why);
};

struct link_config {
	char controller;		/* ours: 'A' dials, 'B' listens */
	const char *serial;
	const char *midplane_serial;
	const char *listen_address;	/* B: where it accepts */
	uint16_t listen_port;		/* 0: any free port (tests) */
	const char *partner_address;	/* A: where it dials */
	uint16_t partner_port;
	const uint8_t *key;		/* the enclosure key (PSK source) */
	size_t key_len;
	unsigned heartbeat_ms;		/* 0: LINK_HEARTBEAT_MS */
	unsigned heartbeat_missed;	/* 0: LINK_HEARTBEAT_MISSED */
	unsigned backoff_min_ms;	/* 0: LINK_BACKOFF_MIN_MS */
	unsigned backoff_max_ms;	/* 0: LINK_BACKOFF_MAX_MS */
	struct tcp_admission admission;	/* the listener's policy */
	const struct link_handlers *handlers;
	void *ctx;
};

struct link;

/*
 * Starts listening (B) or dialing (A); the strings and key are copied.
 * The process must ignore SIGPIPE (tandemd does): TLS writes to a dropped
 * connection then fail with EPIPE.
 */
struct link *link_start(const struct link_config *cfg, struct err *e);
/* Thread-safe; whole frames, in order; -ENOTCONN when down; a write
 * deadline applies (the admission's write_seconds). */
int link_send(struct link *l, unsigned type, const void *payload, size_t len,
	      struct err *e);
bool link_is_up(struct link *l);
uint16_t link_listen_port(struct link *l);	/* B: the bound port */
/* Drops the current connection (reconnect follows): fault injection and
 * tests. */
void link_drop(struct link *l, const char *why);
/*
 * A: the partner is about to restart on purpose (it said so), so it will
 * be listening again soon. For the next window_ms (at most
 * LINK_REDIAL_QUICK_WINDOW_MAX_MS) the dialer redials every
 * LINK_REDIAL_QUICK_MS instead of backing off; after the window it backs
 * off from backoff_min_ms as usual, so a partner that does not come back
 * costs at most the window's dials. B: no effect.
 */
void link_redial_quickly(struct link *l, unsigned window_ms);
/* Joins every thread; down() first if the link was up. */
void link_stop(struct link *l);

#endif
