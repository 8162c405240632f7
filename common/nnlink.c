/*
 * Record streams over nanomsg.  See nnlink.h.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "nnlink.h"
#include "paths.h"

#define LINK_SOCKBUF	(4 * 1024 * 1024)	/* bytes */

/* A batch nanomsg did not take, waiting in its link_out's queue. */
struct link_qmsg {
	struct link_qmsg *next;
	size_t		 len;
	unsigned	 records;
	int		 sent_once;	/* sent before: a resend replays it */
	uint64_t	 first_seq, last_seq;	/* 0 if no records */
	uint8_t		 data[];
};

/*
 * The process's link settings: set once at start-up by the daemon's
 * main (nnlink_configure), read when a link is made.  The registry
 * lets the shared stats frame show every link without each daemon
 * passing them around.
 */
static struct link_conf link_conf = {
	2 * EVP_BATCH_MAX_BYTES, 4 * 1024 * 1024, 0, 0, 10, ""
};
static struct link_out *link_outs[LINK_MAX_REGISTERED];
static struct link_in *link_ins[LINK_MAX_REGISTERED];

int
nnlink_configure(const struct link_conf *c, const char *datadir)
{
	char ep[sizeof(link_conf.ack_endpoint)];
	int rc = 0;

	link_conf = *c;
	if (datadir != NULL) {
		if (paths_endpoint(ep, sizeof(ep), c->ack_endpoint[0] ?
		    c->ack_endpoint : NULL, datadir, "ack.ipc") == -1)
			rc = -1;
		else
			memcpy(link_conf.ack_endpoint, ep, sizeof(ep));
	}
	if (link_conf.ack_timeout < 1)
		link_conf.ack_timeout = 1;
	if (link_conf.replay_bytes < 0)
		link_conf.replay_bytes = 0;
	if (link_conf.max_message < EVP_BATCH_MAX_BYTES)
		link_conf.max_message = EVP_BATCH_MAX_BYTES;
	if (link_conf.max_message > INT32_MAX)
		link_conf.max_message = INT32_MAX;
	if (link_conf.queue_bytes < 0)
		link_conf.queue_bytes = 0;
	return rc;
}

const char *
nnlink_ack_endpoint(void)
{
	return link_conf.ack_endpoint;
}

static void
registry_set(void **tab, void *old, void *new)
{
	unsigned i;

	for (i = 0; i < LINK_MAX_REGISTERED; i++)
		if (tab[i] == old) {
			tab[i] = new;
			return;
		}
}

int
nnlink_bind_check(const char *ep, int trusted, char *err, size_t errlen)
{
	char host[128];
	const char *h, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	if (strncmp(ep, "tcp://", 6) == 0)
		h = ep + 6;
	else if (strncmp(ep, "ws://", 5) == 0)
		h = ep + 5;
	else
		return 0;
	if (trusted)
		return 0;
	if ((colon = strrchr(h, ':')) == NULL)
		colon = h + strlen(h);
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n < sizeof(host)) {
		memcpy(host, h, n);
		host[n] = '\0';
		if (strcmp(host, "localhost") == 0 ||
		    (inet_pton(AF_INET, host, &a4) == 1 &&
		    (ntohl(a4.s_addr) >> 24) == 127) ||
		    (inet_pton(AF_INET6, host, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6)))
			return 0;
	}
	snprintf(err, errlen, "bind %s: not a loopback address; nanomsg links "
	    "are unauthenticated: cross machines with ZMQ and CURVE or a "
	    "tunnel, or set link_trusted_network = yes on a trusted network",
	    ep);
	return -1;
}

int
nnlink_socket(int proto, const char *endpoints, int bind, int maxrecv,
    int trusted, char *err, size_t errlen)
{
	char list[1024], *ep, *save = NULL;
	int s, sz = LINK_SOCKBUF, maxsz = maxrecv;

	if (strlen(endpoints) >= sizeof(list)) {
		snprintf(err, errlen, "endpoint list too long");
		return -1;
	}
	if ((s = nn_socket(AF_SP, proto)) < 0) {
		snprintf(err, errlen, "nn_socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDBUF, &sz, sizeof(sz));
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVBUF, &sz, sizeof(sz));
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz,
	    sizeof(maxsz));
	memcpy(list, endpoints, strlen(endpoints) + 1);
	for (ep = strtok_r(list, ",", &save); ep != NULL;
	    ep = strtok_r(NULL, ",", &save)) {
		if (bind && nnlink_bind_check(ep, trusted, err, errlen) == -1) {
			nn_close(s);
			return -1;
		}
		if ((bind ? nn_bind(s, ep) : nn_connect(s, ep)) < 0) {
			snprintf(err, errlen, "%s %s: %s", bind ? "bind" :
			    "connect", ep, nn_strerror(nn_errno()));
			nn_close(s);
			return -1;
		}
	}
	return s;
}

int
nnlink_recv_fd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz) < 0)
		return -1;
	return fd;
}

int
nnlink_send_fd(int s)
{
	int fd;
	size_t sz = sizeof(fd);

	if (nn_getsockopt(s, NN_SOL_SOCKET, NN_SNDFD, &fd, &sz) < 0)
		return -1;
	return fd;
}

struct link_out *
link_out_new(const char *endpoint, int bind, unsigned role, const char *name,
    const char *iface, int send_timeout_ms, char *err, size_t errlen)
{
	struct link_out *o;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->buf = malloc(EVP_BATCH_MAX_BYTES)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(o);
		return NULL;
	}
	/* A PUSH socket receives nothing: the smallest bound. */
	if ((o->sock = nnlink_socket(NN_PUSH, endpoint, bind, 1,
	    link_conf.trusted_network, err, errlen)) == -1) {
		free(o->buf);
		free(o);
		return NULL;
	}
	o->ack_sock = -1;
	o->send_timeout_ms = send_timeout_ms;
	o->qmax = (size_t)link_conf.queue_bytes;
	o->created_usec = clock_mono_usec();
	snprintf(o->endpoint, sizeof(o->endpoint), "%s", endpoint);
	registry_set((void **)link_outs, NULL, o);
	do
		o->sender = hash_random_seed();
	while (o->sender == 0);
	o->hello.proto_version = EVP_VERSION;
	o->hello.role = role;
	o->hello.pid = (uint32_t)getpid();
	o->hello.start_usec = clock_wall_usec();
	snprintf(o->hello.name, sizeof(o->hello.name), "%s", name);
	snprintf(o->hello.iface, sizeof(o->hello.iface), "%s",
	    iface ? iface : "");
	evp_batch_init(&o->batch, o->buf, o->sender);
	return o;
}

int
link_out_acks(struct link_out *o, char *err, size_t errlen)
{
	int s, maxsz = (int)(sizeof(struct evp_ack_hdr) +
	    EVP_ACK_MAX * sizeof(struct evp_ack));

	if (link_conf.replay_bytes == 0 || o->ack_sock != -1)
		return 0;
	if ((s = nn_socket(AF_SP, NN_SUB)) < 0) {
		snprintf(err, errlen, "nn_socket: %s", nn_strerror(nn_errno()));
		return -1;
	}
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz,
	    sizeof(maxsz));
	if (nn_setsockopt(s, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
	    nn_connect(s, link_conf.ack_endpoint) < 0) {
		snprintf(err, errlen, "acks %s: %s", link_conf.ack_endpoint,
		    nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	o->ack_sock = s;
	o->rmax = (size_t)link_conf.replay_bytes;
	return 0;
}

/* Unlinks and frees the oldest kept batch (sent, or acknowledged). */
static void
kept_pop(struct link_out *o)
{
	struct link_qmsg *q = o->qhead;

	if (q == o->qsend) {
		o->qsend = q->next;
		o->qbytes -= q->len;
		o->qmsgs--;
		o->qrecords -= q->records;
	}
	o->qhead = q->next;
	if (o->qhead == NULL)
		o->qtail = NULL;
	o->rbytes -= q->len;
	o->rrecords -= q->records;
	free(q);
}

void
link_out_free(struct link_out *o)
{
	struct link_qmsg *q;
	uint64_t end, now;
	int tmo;

	if (o == NULL)
		return;
	registry_set((void **)link_outs, o, NULL);
	/* A last chance for the queue, send_timeout_ms in all. */
	end = clock_mono_usec() + (uint64_t)(o->send_timeout_ms > 0 ?
	    o->send_timeout_ms : 0) * 1000;
	while ((q = o->qsend) != NULL) {
		now = clock_mono_usec();
		tmo = now < end ? (int)((end - now + 999) / 1000) : 0;
		if (tmo > 0 && nn_setsockopt(o->sock, NN_SOL_SOCKET,
		    NN_SNDTIMEO, &tmo, sizeof(tmo)) == 0 &&
		    nn_send(o->sock, q->data, q->len, 0) >= 0) {
			if (!q->sent_once)
				o->sent += q->records;
			o->last_send_usec = clock_mono_usec();
		} else {
			o->dropped += q->records;
			end = 0;
		}
		o->qsend = q->next;
	}
	while (o->qhead != NULL) {
		o->qsend = NULL;
		kept_pop(o);
	}
	/* nn_close() discards what nanomsg has not written yet. */
	now = clock_mono_usec();
	if (o->last_send_usec != 0 && now - o->last_send_usec < LINK_DRAIN_USEC)
		usleep((useconds_t)(LINK_DRAIN_USEC - (now - o->last_send_usec)));
	if (o->ack_sock != -1)
		nn_close(o->ack_sock);
	nn_close(o->sock);
	free(o->buf);
	free(o);
}

/* Starts a fresh batch: hello first, sequence 0 (hellos are not
 * counted); the hello says from which sequence records are held. */
static void
batch_start(struct link_out *o)
{
	/* Replay is promised only once a store's acks are heard: a store
	 * this sender cannot hear (another host, acks off) must count a
	 * gap, not wait for a resend that never comes. */
	if (o->ack_sock != -1 && o->epoch != 0) {
		o->hello.flags |= EVP_HELLO_F_REPLAY;
		o->hello.held_from = o->qhead != NULL ? o->qhead->first_seq :
		    o->seq + 1;
	}
	evp_batch_reset(&o->batch);
	o->batch_meta = 0;
	(void)evp_batch_add(&o->batch, EVP_HELLO, 0, &o->hello,
	    sizeof(o->hello));
}

/* The peer took nothing: the link is down from now, if it was not. */
static void
peer_down(struct link_out *o)
{
	if (o->down_since != 0)
		return;
	o->down_since = clock_wall_usec();
	o->down_events++;
	/* At start-up nanomsg is still connecting: not worth a warning. */
	if (clock_mono_usec() - o->created_usec < LINK_CONNECT_USEC)
		log_debug("%s: peer not connected yet (%s)", o->hello.name,
		    o->endpoint);
	else
		LOG_RATELIMITED(log_warnx, "%s: peer down (%s): batches "
		    "queued up to %zu bytes", o->hello.name, o->endpoint,
		    o->ack_sock != -1 ? o->rmax : o->qmax);
}

/* Sends queued batches, oldest first, while nanomsg takes them; with
 * replay on they stay kept until acknowledged.  Returns 1 when nothing
 * is left to send, else 0. */
static int
queue_drain(struct link_out *o)
{
	struct link_qmsg *q;

	while ((q = o->qsend) != NULL) {
		if (o->hold && q->last_seq > o->released)
			return 0;	/* not let out yet */
		if (nn_send(o->sock, q->data, q->len, NN_DONTWAIT) < 0) {
			if (nn_errno() != EAGAIN)
				LOG_RATELIMITED(log_warnx, "%s: send: %s",
				    o->hello.name, nn_strerror(nn_errno()));
			o->next_retry = clock_mono_usec() + LINK_RETRY_USEC;
			peer_down(o);
			return 0;
		}
		o->msgs++;
		o->last_send_usec = clock_mono_usec();
		o->qsend = q->next;
		o->qbytes -= q->len;
		o->qmsgs--;
		o->qrecords -= q->records;
		if (o->ack_sock == -1) {
			o->sent += q->records;
			kept_pop(o);
			continue;
		}
		/* A batch sent before is a replay; the timeout of the
		 * acks runs from the first one outstanding. */
		if (q->sent_once)
			o->replayed += q->records;
		else {
			o->sent += q->records;
			q->sent_once = 1;
			if (q == o->qhead && o->backoff == 0)
				o->ack_usec = o->last_send_usec;
		}
	}
	if (o->down_since != 0 &&
	    clock_mono_usec() - o->created_usec >= LINK_CONNECT_USEC)
		log_info("%s: peer up again (%s)", o->hello.name,
		    o->endpoint);
	o->down_since = 0;
	return 1;
}
/* Forgets the oldest sent batches until `need` more bytes fit: while
 * no store acknowledges anything, the replay is a bounded history. */
static void
kept_evict(struct link_out *o, size_t need)
{
	while (o->qhead != NULL && o->qhead != o->qsend &&
	    o->rbytes + need > o->rmax) {
		o->replay_evicted += o->qhead->records;
		kept_pop(o);
	}
}

/* Queues the pending batch (first_seq..o->seq) at the tail; drops it
 * (counted) if it does not fit.  0 or -1. */
static int
queue_add(struct link_out *o, unsigned n)
{
	struct link_qmsg *q;
	size_t len = o->batch.len;

	if (o->ack_sock != -1 && o->epoch == 0)
		kept_evict(o, len);
	if ((o->ack_sock == -1 ? o->qbytes + len > o->qmax :
	    o->rbytes + len > o->rmax) ||
	    (q = malloc(sizeof(*q) + len)) == NULL) {
		o->dropped += n;
		o->queue_dropped++;
		LOG_RATELIMITED(log_warnx, "%s: peer down and queue full "
		    "(%zu bytes): %u records dropped", o->hello.name,
		    o->ack_sock == -1 ? o->qbytes : o->rbytes, n);
		return -1;
	}
	q->next = NULL;
	q->len = len;
	q->records = n;
	q->sent_once = 0;
	q->last_seq = o->seq;
	q->first_seq = o->seq + 1 - n;
	memcpy(q->data, o->batch.buf, len);
	if (o->qtail != NULL)
		o->qtail->next = q;
	else
		o->qhead = q;
	o->qtail = q;
	if (o->qsend == NULL)
		o->qsend = q;
	o->qbytes += len;
	o->qmsgs++;
	o->qrecords += n;
	o->rbytes += len;
	o->rrecords += n;
	return 0;
}

/* Sends again every kept batch holding records from `from` on
 * (0: all of them), oldest first. */
static void
go_back(struct link_out *o, uint64_t from)
{
	struct link_qmsg *q;

	for (q = o->qhead; q != NULL && q != o->qsend; q = q->next)
		if (q->last_seq >= from)
			break;
	if (q == NULL || q == o->qsend)
		return;
	o->resends++;
	LOG_RATELIMITED(log_info, "%s: resending from record %llu (store "
	    "acknowledged %llu)", o->hello.name,
	    (unsigned long long)q->first_seq, (unsigned long long)o->acked);
	o->qsend = q;
	o->qbytes = 0;
	o->qmsgs = 0;
	o->qrecords = 0;
	for (; q != NULL; q = q->next) {
		o->qbytes += q->len;
		o->qmsgs++;
		o->qrecords += q->records;
	}
}

/* The store committed this sender's records up to `upto`. */
static void
acked(struct link_out *o, uint64_t upto)
{
	if (upto <= o->acked)
		return;
	if (upto > o->seq)
		upto = o->seq;	/* a store of another life of this id */
	o->acked_records += upto - o->acked;
	o->acked = upto;
	o->ack_usec = clock_mono_usec();
	o->backoff = 0;
	while (o->qhead != NULL && o->qhead->last_seq <= upto)
		kept_pop(o);
}

void
link_out_poll_acks(struct link_out *o)
{
	struct evp_ack_hdr h;
	struct evp_ack e;
	void *msg;
	unsigned i;
	int n, fresh;

	if (o->ack_sock == -1)
		return;
	while ((n = nn_recv(o->ack_sock, &msg, NN_MSG, NN_DONTWAIT)) >= 0) {
		if (evp_ack_open(msg, (size_t)n, &h) == -1 || h.epoch == 0) {
			o->bad_acks++;
			LOG_RATELIMITED(log_warnx, "%s: malformed ack of %d "
			    "bytes ignored", o->hello.name, n);
			nn_freemsg(msg);
			continue;
		}
		/* A store that restarted (not the first one heard of: a
		 * refusal brings what that one misses). */
		fresh = h.epoch != o->epoch && o->epoch != 0;
		if (h.epoch != o->epoch) {
			if (o->epoch != 0) {
				o->store_restarts++;
				log_info("%s: the store restarted: resending "
				    "what it did not acknowledge",
				    o->hello.name);
			}
			o->epoch = h.epoch;
		}
		for (i = 0; i < h.count; i++) {
			evp_ack_entry(msg, i, &e);
			if (e.sender != o->sender)
				continue;
			acked(o, e.committed);
			if ((e.flags & EVP_ACK_F_RESEND) && !fresh &&
			    clock_mono_usec() >= o->nack_usec +
			    LINK_NACK_USEC) {
				o->nack_usec = clock_mono_usec();
				go_back(o, e.want);
			}
		}
		/* A new store holds nothing of this sender's in memory:
		 * everything kept goes again (it skips what it has). */
		if (fresh)
			go_back(o, 0);
		nn_freemsg(msg);
	}
}

void
link_out_hold(struct link_out *o, int on)
{
	o->hold = on && o->ack_sock != -1;
}

void
link_out_release(struct link_out *o)
{
	o->released = o->seq;
	(void)link_out_flush(o);
}

void
link_out_resume(struct link_out *o, uint64_t sender, uint64_t seq)
{
	if (sender == 0 || o->records != 0)
		return;
	o->sender = sender;
	o->seq = o->released = o->acked = seq;
	evp_batch_init(&o->batch, o->buf, o->sender);
}

void
link_out_wait_acks(struct link_out *o, int ms)
{
	uint64_t end = clock_mono_usec() + (uint64_t)(ms > 0 ? ms : 0) * 1000;

	if (o->ack_sock == -1)
		return;
	(void)link_out_flush(o);
	while (o->qhead != NULL && o->epoch != 0 && clock_mono_usec() < end) {
		usleep(20000);
		(void)link_out_flush(o);
	}
}

/* Resends when acks have not moved for link_ack_timeout (doubling). */
static void
ack_timeout(struct link_out *o)
{
	uint64_t tmo, now = clock_mono_usec();
	unsigned b = o->backoff < 8 ? o->backoff : 8;

	if (o->ack_sock == -1 || o->epoch == 0 || o->qhead == NULL ||
	    o->qhead == o->qsend)
		return;
	tmo = (uint64_t)link_conf.ack_timeout * 1000000u << b;
	if (tmo > (uint64_t)LINK_ACK_BACKOFF_MAX * 1000000u)
		tmo = (uint64_t)LINK_ACK_BACKOFF_MAX * 1000000u;
	if (now < o->ack_usec + tmo)
		return;
	LOG_RATELIMITED(log_info, "%s: no ack progress for %llu ms (acked "
	    "%llu, oldest kept %llu, sent up to %llu)", o->hello.name,
	    (unsigned long long)(now - o->ack_usec) / 1000,
	    (unsigned long long)o->acked,
	    (unsigned long long)o->qhead->first_seq,
	    (unsigned long long)o->seq);
	o->backoff++;
	o->ack_usec = now;
	go_back(o, 0);
}

int
link_out_flush(struct link_out *o)
{
	unsigned n;
	int drained, rc;

	if (o->ack_sock != -1) {
		link_out_poll_acks(o);
		ack_timeout(o);
	}
	drained = queue_drain(o);
	if (o->batch.count <= 1)
		return 0;
	n = o->batch.count - 1 - o->batch_meta;
	o->first_usec = 0;
	if (o->ack_sock != -1) {
		/* Kept until acknowledged: queued, then sent from there. */
		rc = queue_add(o, n);
		batch_start(o);
		if (drained)
			(void)queue_drain(o);
		return rc;
	}
	if (drained) {
		if (nn_send(o->sock, o->batch.buf, o->batch.len,
		    NN_DONTWAIT) >= 0) {
			o->sent += n;
			o->msgs++;
			o->last_send_usec = clock_mono_usec();
			batch_start(o);
			return 0;
		}
		if (nn_errno() != EAGAIN)
			LOG_RATELIMITED(log_warnx, "%s: send: %s",
			    o->hello.name, nn_strerror(nn_errno()));
		o->next_retry = clock_mono_usec() + LINK_RETRY_USEC;
		peer_down(o);
	}
	/* The peer does not take batches now: this one waits in order. */
	rc = queue_add(o, n);
	batch_start(o);
	return rc;
}

int
link_out_full(const struct link_out *o)
{
	return link_out_full_for(o, 2 * EVP_BATCH_MAX_BYTES);
}

int
link_out_full_for(const struct link_out *o, size_t room)
{
	return o->ack_sock != -1 && o->epoch != 0 &&
	    o->rbytes + o->batch.len + room > o->rmax;
}

int
link_out_down(const struct link_out *o)
{
	return o->down_since != 0;
}

/* link_out_put and link_out_put_wire: `add` puts the record in the
 * batch (evp_batch_add or evp_batch_add_raw). */
static int
put(struct link_out *o, uint16_t type, const void *body, size_t len,
    int (*add)(struct evp_batch *, uint16_t, uint64_t, const void *, size_t))
{
	o->records++;
	/* Replay full while a store acknowledges: refused before it is
	 * numbered, so only this sender counts it. */
	if (o->ack_sock != -1 && o->epoch != 0 && o->rbytes + o->batch.len +
	    len + sizeof(struct evp_rec_hdr) > o->rmax) {
		o->dropped++;
		o->replay_dropped++;
		LOG_RATELIMITED(log_warnx, "%s: replay buffer full (%zu "
		    "bytes unacknowledged): records dropped", o->hello.name,
		    o->rbytes);
		return -1;
	}
	if (o->batch.count == 0)
		batch_start(o);
	if (add(&o->batch, type, o->seq + 1, body, len) == -1) {
		if (errno == EMSGSIZE) {
			o->dropped++;
			return -1;
		}
		(void)link_out_flush(o);
		if (add(&o->batch, type, o->seq + 1, body, len) == -1) {
			o->dropped++;
			return -1;
		}
	}
	o->seq++;
	if (o->first_usec == 0)
		o->first_usec = clock_mono_usec();
	return 0;
}

int
link_out_put(struct link_out *o, uint16_t type, const void *body, size_t len)
{
	return put(o, type, body, len, evp_batch_add);
}

int
link_out_put_wire(struct link_out *o, uint16_t type, const void *body,
    size_t len)
{
	return put(o, type, body, len, evp_batch_add_raw);
}

int
link_out_put_origin(struct link_out *o, const struct evp_origin *org)
{
	if (o->batch.count == 0)
		batch_start(o);
	if (evp_batch_add(&o->batch, EVP_ORIGIN, 0, org, sizeof(*org)) ==
	    -1) {
		(void)link_out_flush(o);
		if (evp_batch_add(&o->batch, EVP_ORIGIN, 0, org,
		    sizeof(*org)) == -1)
			return -1;
	}
	o->batch_meta++;
	if (o->first_usec == 0)
		o->first_usec = clock_mono_usec();
	return 0;
}

uint64_t
link_out_deadline(const struct link_out *o)
{
	uint64_t d = UINT64_MAX;

	if (o->batch.count > 1 && o->first_usec != 0)
		d = o->first_usec + LINK_FLUSH_USEC;
	if (o->qsend != NULL && o->next_retry < d &&
	    !(o->hold && o->qsend->last_seq > o->released))
		d = o->next_retry;
	/* Records wait for acks: read them now and then. */
	if (o->ack_sock != -1 && o->qhead != NULL) {
		uint64_t a = clock_mono_usec() + LINK_ACK_POLL_USEC;

		if (a < d)
			d = a;
	}
	return d;
}

struct link_in *
link_in_new(const char *endpoint, int bind, link_in_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct link_in *in;

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((in->sock = nnlink_socket(NN_PULL, endpoint, bind,
	    (int)link_conf.max_message, link_conf.trusted_network, err,
	    errlen)) == -1) {
		free(in);
		return NULL;
	}
	in->cb = cb;
	in->arg = arg;
	snprintf(in->endpoint, sizeof(in->endpoint), "%s", endpoint);
	registry_set((void **)link_ins, NULL, in);
	return in;
}

void
link_in_free(struct link_in *in)
{
	if (in == NULL)
		return;
	registry_set((void **)link_ins, in, NULL);
	nn_close(in->sock);
	free(in);
}

uint64_t
link_in_refused(const struct link_in *in)
{
	return nn_get_statistic(in->sock, NN_STAT_BROKEN_CONNECTIONS);
}

void
nnlink_stats_json(struct buf *b)
{
	const struct link_out *o;
	const struct link_in *in;
	unsigned i;
	int first = 1;

	buf_puts(b, ", \"links\": [");
	for (i = 0; i < LINK_MAX_REGISTERED; i++) {
		if ((o = link_outs[i]) == NULL)
			continue;
		buf_printf(b, "%s{\"dir\": \"out\", \"endpoint\": ",
		    first ? "" : ", ");
		buf_json_str(b, o->endpoint);
		buf_printf(b, ", \"peer\": \"%s\", \"down_since_usec\": %llu, "
		    "\"down_events\": %llu, \"queued_batches\": %u, "
		    "\"queued_records\": %llu, \"queued_bytes\": %zu, "
		    "\"queue_max_bytes\": %zu, \"sent\": %llu, "
		    "\"dropped\": %llu, \"queue_dropped_batches\": %llu",
		    o->down_since ? "down" : "up",
		    (unsigned long long)o->down_since,
		    (unsigned long long)o->down_events, o->qmsgs,
		    (unsigned long long)o->qrecords, o->qbytes, o->qmax,
		    (unsigned long long)o->sent,
		    (unsigned long long)o->dropped,
		    (unsigned long long)o->queue_dropped);
		if (o->ack_sock != -1)
			buf_printf(b, ", \"replay_buffered\": %llu, "
			    "\"replay_bytes\": %zu, \"replay_max_bytes\": %zu, "
			    "\"replayed\": %llu, \"replay_dropped\": %llu, "
			    "\"replay_evicted\": %llu, \"acked\": %llu, "
			    "\"acked_seq\": %llu, \"resends\": %llu, "
			    "\"store_restarts\": %llu, \"bad_acks\": %llu, "
			    "\"store_epoch\": \"%016llx\"",
			    (unsigned long long)o->rrecords, o->rbytes,
			    o->rmax, (unsigned long long)o->replayed,
			    (unsigned long long)o->replay_dropped,
			    (unsigned long long)o->replay_evicted,
			    (unsigned long long)o->acked_records,
			    (unsigned long long)o->acked,
			    (unsigned long long)o->resends,
			    (unsigned long long)o->store_restarts,
			    (unsigned long long)o->bad_acks,
			    (unsigned long long)o->epoch);
		buf_puts(b, "}");
		first = 0;
	}
	for (i = 0; i < LINK_MAX_REGISTERED; i++) {
		if ((in = link_ins[i]) == NULL)
			continue;
		buf_printf(b, "%s{\"dir\": \"in\", \"endpoint\": ",
		    first ? "" : ", ");
		buf_json_str(b, in->endpoint);
		buf_printf(b, ", \"max_message\": %lld, "
		    "\"connections_refused\": %llu, \"bad_msgs\": %llu}",
		    link_conf.max_message,
		    (unsigned long long)link_in_refused(in),
		    (unsigned long long)in->bad_msgs);
		first = 0;
	}
	buf_puts(b, "]");
}

/* Finds or makes the entry of sender `id`; evicts the least recent. */
static struct link_sender *
sender_get(struct link_in *in, uint64_t id, int *fresh)
{
	struct link_sender *s, *old = NULL;
	unsigned i;

	*fresh = 0;
	for (i = 0; i < in->nsenders; i++) {
		s = &in->senders[i];
		if (s->id == id)
			return s;
		if (old == NULL || s->last_usec < old->last_usec)
			old = s;
	}
	if (in->nsenders < LINK_MAX_SENDERS)
		old = &in->senders[in->nsenders++];
	assert(old != NULL && in->nsenders <= LINK_MAX_SENDERS);
	memset(old, 0, sizeof(*old));
	old->id = id;
	*fresh = 1;
	return old;
}

void
link_in_dispatch(struct link_in *in, const void *msg, size_t len)
{
	struct evp_batch_iter it;
	struct evp_rec_hdr rh;
	struct link_sender *s;
	const void *body;
	int r, fresh;

	in->msgs++;
	if (evp_batch_open(&it, msg, len) == -1 ||
	    (r = evp_batch_next(&it, &rh, &body)) != 1) {
		in->bad_msgs++;
		LOG_RATELIMITED(log_warnx, "malformed batch of %zu bytes "
		    "dropped", len);
		return;
	}
	if (rh.type != EVP_HELLO) {
		in->no_hello++;
		in->bad_msgs++;
		LOG_RATELIMITED(log_warnx, "batch without hello dropped");
		return;
	}
	s = sender_get(in, it.hdr.sender, &fresh);
	if (evp_decode_hello(body, rh.len, &s->hello) == -1 ||
	    s->hello.proto_version != EVP_VERSION) {
		in->bad_msgs++;
		LOG_RATELIMITED(log_warnx, "bad hello (version %u) from "
		    "sender %016llx", s->hello.proto_version,
		    (unsigned long long)it.hdr.sender);
		s->id = 0;
		return;
	}
	s->last_usec = clock_mono_usec();
	s->batches++;
	while ((r = evp_batch_next(&it, &rh, &body)) == 1) {
		if (rh.type == EVP_HELLO || rh.type == 0 ||
		    rh.type >= EVP_TYPE_MAX || rh.version != EVP_VERSION) {
			in->bad_msgs++;
			LOG_RATELIMITED(log_warnx, "%s: unknown record type %u "
			    "version %u, rest of batch dropped", s->hello.name,
			    rh.type, rh.version);
			return;
		}
		if (rh.type == EVP_ORIGIN) {
			/* Not numbered: it names the next record's origin. */
			in->cb(in->arg, s, &rh, body);
			continue;
		}
		if (fresh) {
			s->next_seq = rh.seq;
			fresh = 0;
		}
		if (rh.seq > s->next_seq) {
			s->lost += rh.seq - s->next_seq;
			in->lost += rh.seq - s->next_seq;
		}
		s->next_seq = rh.seq + 1;
		s->records++;
		in->records++;
		in->cb(in->arg, s, &rh, body);
	}
	if (r == -1) {
		in->bad_msgs++;
		LOG_RATELIMITED(log_warnx, "%s: truncated batch",
		    s->hello.name);
	}
}

int
link_in_poll(struct link_in *in, int max)
{
	void *msg;
	int n, done = 0;

	while (done < max) {
		n = nn_recv(in->sock, &msg, NN_MSG, NN_DONTWAIT);
		if (n < 0) {
			if (nn_errno() == EAGAIN || nn_errno() == EINTR)
				break;
			return -1;
		}
		link_in_dispatch(in, msg, (size_t)n);
		nn_freemsg(msg);
		done++;
	}
	return done;
}
