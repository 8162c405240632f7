/*
 * testpub framing: ntopng's ZMQ message headers, zlib payloads and the
 * publishing socket.  Offsets follow wire.md's table (natural C
 * alignment); msg_id is big-endian except with version 1 ("compat").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zmq.h>

#include "testpub.h"

/* Copies a topic into a NUL-padded field of `n` bytes (one kept NUL). */
static void
put_topic(uint8_t *h, const char *topic, size_t n)
{
	size_t l = strlen(topic);

	memcpy(h, topic, l < n - 1 ? l : n - 1);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void
put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

int
pub_open(struct pub *p, const char *endpoint, int bind, int hwm)
{
	char ep[256];
	size_t n;
	int one = 1, sndbuf = 4 * 1024 * 1024;

	if (snprintf(ep, sizeof(ep), "%s", endpoint) >= (int)sizeof(ep)) {
		fprintf(stderr, "testpub: endpoint too long\n");
		return -1;
	}
	n = strlen(ep);
	/* ebpflowexport -z tcp://127.0.0.1:1234c: the 'c' is for ntopng. */
	if (!bind && n > 0 && ep[n - 1] == 'c')
		ep[n - 1] = '\0';
	if ((p->ctx = zmq_ctx_new()) == NULL ||
	    (p->sock = zmq_socket(p->ctx, ZMQ_XPUB)) == NULL) {
		fprintf(stderr, "testpub: zmq: %s\n", zmq_strerror(errno));
		return -1;
	}
	(void)zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	(void)zmq_setsockopt(p->sock, ZMQ_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* Never drop at the high-water mark: block instead (see pub_send). */
	(void)zmq_setsockopt(p->sock, ZMQ_XPUB_NODROP, &one, sizeof(one));
	if (p->curve_server_key != NULL) {
		/* A CURVE client with a fresh key pair: the server (the
		 * collector) authenticates itself with its key. */
		char pub[41], sec[41];

		if (strlen(p->curve_server_key) != 40 ||
		    zmq_curve_keypair(pub, sec) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY,
		    p->curve_server_key, 40) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0) {
			fprintf(stderr, "testpub: CURVE server key '%s': %s\n",
			    p->curve_server_key, strlen(p->curve_server_key) !=
			    40 ? "not 40 z85 characters" : zmq_strerror(errno));
			return -1;
		}
	}
	if ((bind ? zmq_bind(p->sock, ep) : zmq_connect(p->sock, ep)) != 0) {
		fprintf(stderr, "testpub: %s %s: %s\n", bind ? "bind" :
		    "connect", ep, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int
pub_wait_subscribers(struct pub *p, int subs, int timeout_ms)
{
	zmq_pollitem_t it = { p->sock, 0, ZMQ_POLLIN, 0 };
	uint8_t msg[256];
	int seen = 0, rc, more_ms = timeout_ms;

	/* Every SUB sends its subscriptions at once on connect: count the
	 * first per burst, then drain the rest for a short while. */
	while (more_ms > 0) {
		if ((rc = zmq_poll(&it, 1, seen >= subs ? 100 : 50)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (rc == 0) {
			if (seen >= subs)
				break;
			more_ms -= 50;
			continue;
		}
		while (zmq_recv(p->sock, msg, sizeof(msg), ZMQ_DONTWAIT) > 0)
			if (msg[0] == 1 && seen < subs)
				seen++;
	}
	return seen;
}

void
pub_close(struct pub *p, int linger_ms)
{
	if (p->sock != NULL) {
		(void)zmq_setsockopt(p->sock, ZMQ_LINGER, &linger_ms,
		    sizeof(linger_ms));
		zmq_close(p->sock);
	}
	if (p->ctx != NULL)
		zmq_ctx_term(p->ctx);
	free(p->zbuf);
	p->sock = p->ctx = NULL;
	p->zbuf = NULL;
}

/* The 16-bit size of the 24- and 28-byte layouts wraps above 64 KiB, as
 * it does with real producers: collectors must not trust it. */
size_t
pub_header(const struct pub *p, uint8_t *h, const char *topic, uint32_t size,
    uint32_t usize, uint32_t msg_id, uint8_t flags)
{
	uint32_t id = p->version == 1 ? msg_id : htonl(msg_id);

	memset(h, 0, 40);
	switch (p->hdrlen) {
	case PUB_HDR_40:
		put_topic(h, topic, 32);
		put_u32(h + 32, (uint32_t)p->version);
		put_u32(h + 36, size);
		return 40;
	case PUB_HDR_24:
		put_topic(h, topic, 16);
		h[16] = (uint8_t)p->version;
		h[17] = (uint8_t)p->source_id;
		put_u16(h + 18, (uint16_t)size);
		put_u32(h + 20, id);
		return 24;
	case PUB_HDR_28:
		put_topic(h, topic, 16);
		h[16] = (uint8_t)p->version;
		put_u16(h + 18, (uint16_t)size);
		put_u32(h + 20, id);
		put_u32(h + 24, p->source_id);
		return 28;
	case PUB_HDR_36:
	default:
		put_topic(h, topic, 16);
		h[16] = (uint8_t)p->version;
		h[17] = flags;
		put_u32(h + 20, usize);
		put_u32(h + 24, size);
		put_u32(h + 28, id);
		put_u32(h + 32, p->source_id);
		return 36;
	}
}

size_t
pub_deflate(struct pub *p, const void *src, size_t len, int prefix,
    const uint8_t **out)
{
	uLongf zlen;
	size_t need = compressBound((uLong)len) + 1;

	if (need > p->zcap) {
		uint8_t *nb = realloc(p->zbuf, need);

		if (nb == NULL)
			return 0;
		p->zbuf = nb;
		p->zcap = need;
	}
	zlen = (uLongf)(p->zcap - 1);
	if (prefix)
		p->zbuf[0] = 0x00;
	if (compress2(p->zbuf + (prefix ? 1 : 0), &zlen, src, (uLong)len,
	    Z_DEFAULT_COMPRESSION) != Z_OK)
		return 0;
	*out = p->zbuf;
	return zlen + (prefix ? 1 : 0);
}

/* Sends one frame, waiting while the high-water mark is reached. */
static int
send_frame(struct pub *p, const void *buf, size_t len, int more)
{
	zmq_pollitem_t it = { p->sock, 0, ZMQ_POLLOUT, 0 };

	for (;;) {
		if (zmq_send(p->sock, buf, len, more ? ZMQ_SNDMORE : 0) >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			p->send_fail++;
			return -1;
		}
		(void)zmq_poll(&it, 1, 100);
	}
}

int
pub_send_frames(struct pub *p, unsigned n, const void *const *f,
    const size_t *len)
{
	struct timespec ts;
	unsigned i;

	if (p->msgs == 0) {
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		p->first_send = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	for (i = 0; i < n; i++)
		if (send_frame(p, f[i], len[i], i + 1 < n) == -1)
			return -1;
	p->msgs++;
	for (i = 1; i < n; i++)
		p->bytes += len[i];
	return 0;
}

int
pub_send(struct pub *p, const char *topic, const void *payload, size_t len,
    unsigned events)
{
	uint8_t h[40];
	const void *f[2];
	size_t fl[2], hl;
	const uint8_t *z;
	uint8_t flags = 0;
	size_t zl;

	f[1] = payload;
	fl[1] = len;
	if (p->zlib) {
		/* Before v4 a 0x00 first byte announces zlib; v4 has a flag. */
		if ((zl = pub_deflate(p, payload, len, p->hdrlen != PUB_HDR_36,
		    &z)) == 0) {
			fprintf(stderr, "testpub: compress failed\n");
			return -1;
		}
		f[1] = z;
		fl[1] = zl;
		if (p->hdrlen == PUB_HDR_36)
			flags |= PUB_V4_FLAG_ZLIB;
	}
	hl = pub_header(p, h, topic, (uint32_t)fl[1], (uint32_t)len, p->msg_id,
	    flags);
	f[0] = h;
	fl[0] = hl;
	if (pub_send_frames(p, 2, f, fl) == -1)
		return -1;
	p->msg_id++;
	p->events += events;
	return 0;
}
