/*
 * The probe's PUB socket, as ebpflowexport opens it: each comma-separated
 * endpoint with a trailing 'c' is CONNECTED to a collector that binds
 * (evflow-collector's `tcp://0.0.0.0:1234c` interface, ntopng's `-i
 * tcp://0.0.0.0:1234c`); without it the socket BINDS and the collector connects.
 * An endpoint ending in ".ipc" binds as is; ".ipcc" connects.
 *
 * Messages: two frames, the 28-byte ntopng header (version 2, msg_id
 * big-endian from 1, source_id) then the payload: JSON, or 0x00 and a
 * zlib stream when probe.compress is on.  Events of topic `flow` are
 * batched into JSON arrays of up to events_per_msg objects.
 *
 * The socket is an XPUB that never drops silently: at the high-water
 * mark a send fails and the message's events are counted as dropped
 * (their msg_id is used, so the collector counts the gap too).
 * Subscriptions are followed, so the loop can wait for a collector
 * before it publishes, and messages sent to nobody are counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zmq.h>

#include "common/log.h"
#include "probe.h"

#define ZPUB_EP_MAX	512	/* bytes of one endpoint */
#define ZPUB_LINGER_MS	2000	/* pending messages kept at close */
#define ZPUB_HDR_LEN	28
#define ZPUB_VERSION	2

struct zpub {
	void		*ctx;
	void		*sock;
	struct zpub_opts o;
	uint64_t	*ctr;		/* borrowed, PC_MAX */
	uint32_t	 msg_id;
	int		 subs;		/* subscriptions held by peers */
	struct buf	 batch;		/* "[obj,obj" of topic flow */
	unsigned	 nbatch;
	uint8_t		*zbuf;
	size_t		 zcap;
};

void
zpub_header(uint8_t *h, const char *topic, uint32_t size, uint32_t msg_id,
    uint32_t source_id)
{
	size_t l = strlen(topic);
	uint16_t s16 = (uint16_t)size;	/* wraps, as ntopng's does */
	uint32_t id = htonl(msg_id);

	memset(h, 0, ZPUB_HDR_LEN);
	memcpy(h, topic, l < 15 ? l : 15);
	h[16] = ZPUB_VERSION;
	memcpy(h + 18, &s16, sizeof(s16));
	memcpy(h + 20, &id, sizeof(id));
	memcpy(h + 24, &source_id, sizeof(source_id));
}

/* Binds or connects one endpoint (see the top of the file). */
static int
open_endpoint(void *sock, const char *spec, size_t n, char *err,
    size_t errlen)
{
	char ep[ZPUB_EP_MAX];
	int connect = 0, rc;

	while (n > 0 && (*spec == ' ' || *spec == '\t')) {
		spec++;
		n--;
	}
	if (n == 0 || n >= sizeof(ep)) {
		snprintf(err, errlen, "bad endpoint '%.*s'", (int)n, spec);
		return -1;
	}
	memcpy(ep, spec, n);
	ep[n] = '\0';
	if (ep[n - 1] == 'c' && !(n >= 4 && strcmp(ep + n - 4, ".ipc") == 0)) {
		ep[n - 1] = '\0';
		connect = 1;
	}
	rc = connect ? zmq_connect(sock, ep) : zmq_bind(sock, ep);
	if (rc != 0) {
		snprintf(err, errlen, "%s %s: %s", connect ? "connect" : "bind",
		    ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	log_info("publishing: %s %s", connect ? "connected to" : "bound on",
	    ep);
	return 0;
}

struct zpub *
zpub_open(const char *endpoints, const struct zpub_opts *o, uint64_t *ctr,
    char *err, size_t errlen)
{
	struct zpub *z;
	const char *p = endpoints, *comma;
	int one = 1, linger = ZPUB_LINGER_MS, sndbuf = 4 * 1024 * 1024;

	if ((z = calloc(1, sizeof(*z))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->o = *o;
	z->ctr = ctr;
	buf_init(&z->batch);
	if ((z->ctx = zmq_ctx_new()) == NULL ||
	    (z->sock = zmq_socket(z->ctx, ZMQ_XPUB)) == NULL) {
		snprintf(err, errlen, "zmq: %s", zmq_strerror(zmq_errno()));
		zpub_close(z);
		return NULL;
	}
	(void)zmq_setsockopt(z->sock, ZMQ_SNDHWM, &z->o.sndhwm,
	    sizeof(z->o.sndhwm));
	(void)zmq_setsockopt(z->sock, ZMQ_SNDBUF, &sndbuf, sizeof(sndbuf));
	(void)zmq_setsockopt(z->sock, ZMQ_XPUB_NODROP, &one, sizeof(one));
	(void)zmq_setsockopt(z->sock, ZMQ_XPUB_VERBOSER, &one, sizeof(one));
	(void)zmq_setsockopt(z->sock, ZMQ_TCP_KEEPALIVE, &one, sizeof(one));
	(void)zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (o->curve_server_key != NULL) {
		/* A CURVE client with a fresh key pair (docs/security.md). */
		char pub[41], sec[41];

		if (strlen(o->curve_server_key) != 40 ||
		    zmq_curve_keypair(pub, sec) != 0 ||
		    zmq_setsockopt(z->sock, ZMQ_CURVE_SERVERKEY,
		    o->curve_server_key, 40) != 0 ||
		    zmq_setsockopt(z->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
		    zmq_setsockopt(z->sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0) {
			snprintf(err, errlen, "probe.curve_server_key: %s",
			    strlen(o->curve_server_key) != 40 ? "not 40 z85 "
			    "characters" : zmq_strerror(zmq_errno()));
			explicit_bzero(sec, sizeof(sec));
			zpub_close(z);
			return NULL;
		}
		explicit_bzero(sec, sizeof(sec));
	}
	for (;;) {
		comma = strchr(p, ',');
		if (open_endpoint(z->sock, p, comma ? (size_t)(comma - p) :
		    strlen(p), err, errlen) == -1) {
			zpub_close(z);
			return NULL;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return z;
}

void
zpub_close(struct zpub *z)
{
	if (z == NULL)
		return;
	if (z->sock != NULL)
		zmq_close(z->sock);
	if (z->ctx != NULL)
		zmq_ctx_term(z->ctx);
	buf_free(&z->batch);
	free(z->zbuf);
	free(z);
}

int
zpub_subscribers(struct zpub *z)
{
	uint8_t m[256];
	int n;

	while ((n = zmq_recv(z->sock, m, sizeof(m), ZMQ_DONTWAIT)) > 0) {
		if (m[0] == 1)
			z->subs++;
		else if (m[0] == 0 && z->subs > 0)
			z->subs--;
	}
	return z->subs;
}

/* Deflates `len` bytes behind a 0x00 marker into zbuf.  Length or 0. */
static size_t
deflate_payload(struct zpub *z, const void *p, size_t len)
{
	size_t need = compressBound((uLong)len) + 1;
	uLongf zlen;

	if (need > z->zcap) {
		uint8_t *nb = realloc(z->zbuf, need);

		if (nb == NULL)
			return 0;
		z->zbuf = nb;
		z->zcap = need;
	}
	z->zbuf[0] = 0x00;
	zlen = (uLongf)(z->zcap - 1);
	if (compress2(z->zbuf + 1, &zlen, p, (uLong)len, Z_BEST_SPEED) != Z_OK)
		return 0;
	return (size_t)zlen + 1;
}

/* Sends one message carrying `nev` events.  0 or -1 (counted). */
static int
send_msg(struct zpub *z, const char *topic, const void *p, size_t len,
    unsigned nev)
{
	uint8_t h[ZPUB_HDR_LEN];
	size_t zl;

	if (z->o.compress && (zl = deflate_payload(z, p, len)) > 0) {
		p = z->zbuf;
		len = zl;
	}
	zpub_header(h, topic, (uint32_t)len, ++z->msg_id, z->o.source_id);
	if (zpub_subscribers(z) == 0)
		z->ctr[PC_SENT_NO_SUBSCRIBER]++;
	if (zmq_send(z->sock, h, sizeof(h), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(z->sock, p, len, ZMQ_DONTWAIT) < 0) {
		z->ctr[PC_DROPPED_SEND] += nev;
		LOG_RATELIMITED(log_warnx, "publish: %s (%u events dropped)",
		    zmq_strerror(zmq_errno()), nev);
		return -1;
	}
	z->ctr[PC_MSGS_SENT]++;
	z->ctr[PC_BYTES_SENT] += len + sizeof(h);
	return 0;
}

void
zpub_flush(struct zpub *z)
{
	if (z->nbatch == 0)
		return;
	buf_puts(&z->batch, "]");
	if (buf_ok(&z->batch))
		(void)send_msg(z, "flow", z->batch.p, z->batch.len, z->nbatch);
	else
		z->ctr[PC_DROPPED_SEND] += z->nbatch;
	buf_reset(&z->batch);
	z->nbatch = 0;
}

int
zpub_add(struct zpub *z, const char *topic, const char *json, size_t len)
{
	if (z->o.events_per_msg <= 1 || strcmp(topic, "flow") != 0)
		return send_msg(z, topic, json, len, 1);
	buf_puts(&z->batch, z->nbatch == 0 ? "[" : ",");
	buf_add(&z->batch, json, len);
	if (++z->nbatch >= z->o.events_per_msg)
		zpub_flush(z);
	return 0;
}
