/*
 * The edge relay: this host's collectors and captures send their
 * batches to router.ipc as they would to a local router; the relay
 * binds that endpoint and pushes each batch, unchanged, to the central
 * relay over ZMQ with CURVE (it knows the central's public key, and the
 * central admits its own key).
 *
 * The central sends back, on the same connection, its store's
 * acknowledgements of this host's senders (central.c); the relay
 * publishes them on this host's ack endpoint (ipc://<datadir>/ack.ipc,
 * where a local store would), so the collectors and captures keep
 * their replay buffers and resend as they do for a local store.
 *
 * Nothing is dropped here while the central is away: ZMQ queues up to
 * relay.hwm batches, then the relay holds one batch and stops reading
 * its input, so the collectors and captures queue in their own links
 * (link_queue) and count what does not fit there.  Only a batch held
 * at exit that the central does not take within RELAY_LINGER_MS is
 * dropped, and counted (records_send_dropped).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/ctl.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/paths.h"
#include "relay.h"

void
edge_setup(struct relay *r)
{
	char ep[CONF_STR_LEN + 16], err[512];
	unsigned char bin[32];
	int one = 1, linger = RELAY_LINGER_MS, hwm = (int)r->conf.hwm;
	int ackhwm = (int)r->conf.ack_hwm;
	int64_t ackmax = (int64_t)RELAY_ACK_BYTES;

	if (curve_key_decode(r->conf.server_key, bin) == -1)
		fatalx("relay.server_key: not a 40-character z85 public key");
	if (paths_endpoint(ep, sizeof(ep), r->conf.router_endpoint,
	    r->conf.datadir, "router.ipc") == -1)
		fatalx("endpoint too long");
	if ((r->nn = nnlink_socket(NN_PULL, ep, 1,
	    (int)r->conf.link.max_message, r->conf.link.trusted_network, err,
	    sizeof(err))) == -1)
		fatalx("input: %s", err);
	/* Where this host's senders listen for a store's acks. */
	if ((r->ack = nnlink_socket(NN_PUB, nnlink_ack_endpoint(), 1, 1,
	    r->conf.link.trusted_network, err, sizeof(err))) == -1)
		fatalx("acks: %s", err);
	/* DEALER: batches out, the central's acks back (ROUTER there). */
	if ((r->zsock = zmq_socket(r->zctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(r->zsock, ZMQ_CURVE_SERVERKEY, r->conf.server_key,
	    40) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_CURVE_PUBLICKEY, r->public, 40) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_CURVE_SECRETKEY, r->secret, 40) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_RCVHWM, &ackhwm,
	    sizeof(ackhwm)) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_MAXMSGSIZE, &ackmax,
	    sizeof(ackmax)) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_LINGER, &linger,
	    sizeof(linger)) != 0 ||
	    zmq_setsockopt(r->zsock, ZMQ_TCP_KEEPALIVE, &one,
	    sizeof(one)) != 0)
		fatalx("upstream socket: %s", zmq_strerror(zmq_errno()));
	relay_monitor_open(r, "upstream");
	if (zmq_connect(r->zsock, r->conf.upstream) != 0)
		fatalx("connect %s: %s", r->conf.upstream,
		    zmq_strerror(zmq_errno()));
	r->down_since = clock_wall_usec();
	log_info("edge: input %s, upstream %s (CURVE, server key %s), acks "
	    "to %s", ep, r->conf.upstream, r->conf.server_key,
	    nnlink_ack_endpoint());
}

/* Offers one batch to ZMQ without waiting.  1 if taken, 0 if not. */
static int
offer(struct relay *r, const void *msg, size_t len, unsigned records)
{
	if (zmq_send(r->zsock, msg, len, ZMQ_DONTWAIT) == (int)len) {
		r->ctr[RLC_MSGS_OUT]++;
		r->ctr[RLC_RECORDS_OUT] += records;
		return 1;
	}
	if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
		LOG_RATELIMITED(log_warnx, "upstream send: %s",
		    zmq_strerror(zmq_errno()));
	return 0;
}

/* Reads up to RELAY_POLL_BATCH batches and passes them on; the first
 * one ZMQ does not take is held and reading stops. */
static void
edge_drain(struct relay *r)
{
	void *msg;
	int n, k, done;

	for (done = 0; done < RELAY_POLL_BATCH && r->pend_len == 0; done++) {
		if ((n = nn_recv(r->nn, &msg, NN_MSG, NN_DONTWAIT)) < 0) {
			if (nn_errno() != EAGAIN && nn_errno() != EINTR)
				LOG_RATELIMITED(log_warnx, "input: %s",
				    nn_strerror(nn_errno()));
			return;
		}
		r->ctr[RLC_MSGS_IN]++;
		if ((k = relay_batch_records(msg, (size_t)n)) < 0) {
			/* a sibling's bug: the central would refuse it */
			r->ctr[RLC_BAD_MSGS]++;
			LOG_RATELIMITED(log_warnx, "malformed batch of %d "
			    "bytes dropped", n);
			nn_freemsg(msg);
			continue;
		}
		r->ctr[RLC_RECORDS_IN] += (unsigned)k;
		if (!offer(r, msg, (size_t)n, (unsigned)k)) {
			r->ctr[RLC_BLOCKED]++;
			memcpy(r->pend, msg, (size_t)n);
			r->pend_len = (size_t)n;
			r->pend_records = (unsigned)k;
		}
		nn_freemsg(msg);
	}
}

/*
 * Publishes the acks the central sent to this host's senders.  Checked
 * first (a whole ack message with an epoch): the central is known by
 * its key, but a bad message is counted and logged, never passed on.
 */
static void
edge_acks(struct relay *r)
{
	zmq_msg_t m;
	size_t len, sz;
	int more, k;

	for (k = 0; k < RELAY_POLL_BATCH; k++) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, r->zsock, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&m);
			return;
		}
		r->ctr[RLC_ACKS_IN]++;
		len = zmq_msg_size(&m);
		more = 0;
		sz = sizeof(more);
		if (zmq_getsockopt(r->zsock, ZMQ_RCVMORE, &more, &sz) == 0 &&
		    more) {
			while (more && zmq_msg_recv(&m, r->zsock, 0) != -1 &&
			    zmq_getsockopt(r->zsock, ZMQ_RCVMORE, &more,
			    &sz) == 0)
				;
			r->ctr[RLC_BAD_ACKS]++;
			LOG_RATELIMITED(log_warnx, "multi-part message from "
			    "the central dropped");
		} else if (relay_ack_check(zmq_msg_data(&m), len) == -1) {
			r->ctr[RLC_BAD_ACKS]++;
			LOG_RATELIMITED(log_warnx, "malformed ack message of "
			    "%zu bytes from the central dropped", len);
		} else if (nn_send(r->ack, zmq_msg_data(&m), len,
		    NN_DONTWAIT) == (int)len) {
			r->ctr[RLC_ACKS_OUT]++;
			r->ctr[RLC_ACK_ENTRIES_OUT] += (len -
			    sizeof(struct evp_ack_hdr)) /
			    sizeof(struct evp_ack);
		} else
			r->ctr[RLC_ACKS_DROPPED]++;
		zmq_msg_close(&m);
	}
}

void
edge_loop(struct relay *r)
{
	zmq_pollitem_t it[4];
	uint64_t now, next_stats;
	size_t len;
	int timeout, ms = 1000;

	memset(it, 0, sizeof(it));
	it[0].socket = r->zsock;
	it[1].fd = nnlink_recv_fd(r->nn);
	it[2].fd = ctl_fd(r->ctl);
	it[3].socket = r->mon;
	it[2].events = it[3].events = ZMQ_POLLIN;
	if (it[1].fd == -1 || it[2].fd == -1)
		fatalx("no pollable descriptor");
	next_stats = clock_mono_usec() + RELAY_STATS_USEC;
	while (!sig_quit) {
		it[0].events = ZMQ_POLLIN | (r->pend_len ? ZMQ_POLLOUT : 0);
		it[1].events = r->pend_len ? 0 : ZMQ_POLLIN;
		timeout = deadline_timeout(next_stats, clock_mono_usec(), 1000);
		if (zmq_poll(it, 4, timeout) == -1 && zmq_errno() != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(zmq_errno()));
		relay_monitor_read(r);
		ctl_poll(r->ctl);
		edge_acks(r);
		if (r->pend_len && offer(r, r->pend, r->pend_len,
		    r->pend_records))
			r->pend_len = 0;
		edge_drain(r);
		now = clock_mono_usec();
		if (deadline_due(&next_stats, now, RELAY_STATS_USEC) &&
		    r->pend_len == 0) {
			len = relay_own_batch(r);
			if (zmq_send(r->zsock, r->own, len, ZMQ_DONTWAIT) ==
			    (int)len)
				r->ctr[RLC_STATS_SENT]++;
		}
	}
	/* What is held goes within the linger, or is counted lost. */
	if (r->pend_len) {
		(void)zmq_setsockopt(r->zsock, ZMQ_SNDTIMEO, &ms, sizeof(ms));
		if (zmq_send(r->zsock, r->pend, r->pend_len, 0) ==
		    (int)r->pend_len) {
			r->ctr[RLC_MSGS_OUT]++;
			r->ctr[RLC_RECORDS_OUT] += r->pend_records;
		} else {
			r->ctr[RLC_SEND_DROPPED] += r->pend_records;
			log_warnx("exit: the central did not take %u records",
			    r->pend_records);
		}
		r->pend_len = 0;
	}
	len = relay_own_batch(r);
	(void)zmq_send(r->zsock, r->own, len, ZMQ_DONTWAIT);
	nn_close(r->nn);
	nn_close(r->ack);
}
