/*
 * evflow-testpub: a producer that speaks ntopng's ZMQ collection format
 * the way real producers do (ebpflowexport, nprobe_mini, softflowd),
 * for tests, benchmarks and the demo.  See docs/wire.md
 * (docs in the repository: docs/design.md) for the format.
 *
 *   testpub.c		options, the send loop, summary
 *   testpub_wire.c	headers, zlib, framing (struct pub)
 *   testpub_gen.c	precomputed distinct-flow generator, live demo stream
 *   testpub_bad.c	hostile input, one kind at a time
 */
#ifndef EVFLOW_TESTPUB_H
#define EVFLOW_TESTPUB_H

#include <stddef.h>
#include <stdint.h>

#define PUB_TOPIC_MAX	32	/* bytes, the 40-byte header's topic field */
#define PUB_MSG_MAX	(64u * 1024 * 1024)	/* bytes of one payload */

/* Header layouts, by length (wire.md "Frames"). */
enum pub_hdr { PUB_HDR_40 = 40, PUB_HDR_24 = 24, PUB_HDR_28 = 28,
	PUB_HDR_36 = 36 };

#define PUB_V4_FLAG_TLV		0x02
#define PUB_V4_FLAG_ZLIB	0x04

/* One publishing socket and how it frames messages. */
struct pub {
	void		*ctx;
	void		*sock;
	int		 hdrlen;	/* enum pub_hdr */
	int		 version;	/* header version byte/word */
	int		 zlib;		/* compress payloads */
	uint32_t	 msg_id;	/* next msg_id to send */
	uint32_t	 source_id;
	const char	*curve_server_key;	/* z85: be a CURVE client */
	/* counters printed at exit */
	uint64_t	 msgs;
	uint64_t	 events;
	uint64_t	 bytes;		/* payload bytes on the wire */
	uint64_t	 send_fail;
	double		 first_send;	/* unix time of the first message */
	/* compression scratch, grown as needed */
	uint8_t		*zbuf;
	size_t		 zcap;
};

/* Opens a ZMQ XPUB socket: bind = 1 binds, else connects (a trailing
 * 'c' on the endpoint is stripped, as ebpflowexport does).  hwm is the
 * send high-water mark in messages.  0 or -1 with a message on stderr. */
int	pub_open(struct pub *, const char *, int, int);
/* Waits until `subs` subscriptions arrived or timeout_ms passed (slow
 * joiner).  Returns the number of subscribers seen. */
int	pub_wait_subscribers(struct pub *, int, int);
/* Closes with linger_ms so queued messages leave before exit. */
void	pub_close(struct pub *, int);

/* Sends a message in the configured framing: header for `topic`, then
 * `len` bytes of payload (compressed if configured).  `events` is added
 * to the event count.  Advances msg_id.  0 or -1. */
int	pub_send(struct pub *, const char *, const void *, size_t, unsigned);
/* Writes a header of `hdrlen` bytes into out (>= 40 bytes), with
 * `size` as the payload length field(s).  Returns the header length. */
size_t	pub_header(const struct pub *, uint8_t *, const char *, uint32_t,
	    uint32_t, uint32_t, uint8_t);
/* Sends frames as given (for hostile input): nframes buffers.  0 or -1. */
int	pub_send_frames(struct pub *, unsigned, const void *const *,
	    const size_t *);
/* zlib-compresses src into the pub's scratch; returns its length and
 * sets *out, or 0 on failure.  With prefix, a 0x00 byte comes first. */
size_t	pub_deflate(struct pub *, const void *, size_t, int,
	    const uint8_t **);

/* Generator dialects. */
enum gen_dialect { GEN_EBPF, GEN_NPROBE, GEN_NETSTAT, GEN_NETFLOW };

/* A precomputed event template: the text and where the distinct fields
 * are patched in, so producing an event is a memcpy and a few digits. */
#define GEN_VARIANTS	4
struct gen_tpl {
	char	*text;
	size_t	 len;
	size_t	 off_addr;	/* "1xx.1xx.1xx" (11 bytes) */
	size_t	 off_port;	/* 5 digits */
	size_t	 off_ts[2];	/* 10 digits of seconds, 0 = unused */
};

struct gen {
	int		 dialect;
	struct gen_tpl	 tpl[GEN_VARIANTS];
};

/* Builds the templates of a dialect; ifname may be "". 0 or -1. */
int	gen_init(struct gen *, int, const char *);
void	gen_free(struct gen *);
/* Appends event number i (distinct 5-tuple per i below 5e10) with
 * time `sec` to out (room for gen_max_len()); returns bytes written. */
size_t	gen_event(const struct gen *, uint64_t, uint32_t, char *);
size_t	gen_max_len(const struct gen *);
int	gen_dialect_parse(const char *);

/* The endless demo stream: realistic events at `rate` per second plus
 * periodic counter, listening-ports and event-topic messages, until
 * *stop is set.  Returns 0 or -1. */
int	live_run(struct pub *, double, const char *,
	    volatile const int *);

/* Hostile input: sends one kind ("all" = every kind).  Returns the
 * number of messages sent, -1 for an unknown kind. */
int	bad_send(struct pub *, const char *);
/* Prints the kinds, one per line with a description. */
void	bad_list(void);

#endif
