/*
 * Record streams over nanomsg.  See nnlink.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "nnlink.h"

#define LINK_SOCKBUF	(4 * 1024 * 1024)	/* bytes */

int
nnlink_socket(int proto, const char *endpoints, int bind, char *err,
    size_t errlen)
{
	char list[1024], *ep, *save = NULL;
	int s, sz = LINK_SOCKBUF, maxsz = -1;

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
	if ((o->sock = nnlink_socket(NN_PUSH, endpoint, bind, err,
	    errlen)) == -1) {
		free(o->buf);
		free(o);
		return NULL;
	}
	o->send_timeout_ms = send_timeout_ms;
	(void)nn_setsockopt(o->sock, NN_SOL_SOCKET, NN_SNDTIMEO,
	    &send_timeout_ms, sizeof(send_timeout_ms));
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

void
link_out_free(struct link_out *o)
{
	if (o == NULL)
		return;
	nn_close(o->sock);
	free(o->buf);
	free(o);
}

/* Starts a fresh batch: hello first, sequence 0 (hellos are not counted). */
static void
batch_start(struct link_out *o)
{
	evp_batch_reset(&o->batch);
	(void)evp_batch_add(&o->batch, EVP_HELLO, 0, &o->hello,
	    sizeof(o->hello));
}

int
link_out_flush(struct link_out *o)
{
	unsigned n;

	if (o->batch.count <= 1)
		return 0;
	n = o->batch.count - 1;
	o->first_usec = 0;
	if (nn_send(o->sock, o->batch.buf, o->batch.len, 0) < 0) {
		o->dropped += n;
		LOG_RATELIMITED(log_warnx, "%s: send failed, %u records "
		    "dropped: %s", o->hello.name, n, nn_strerror(nn_errno()));
		batch_start(o);
		return -1;
	}
	o->sent += n;
	o->msgs++;
	batch_start(o);
	return 0;
}

int
link_out_put(struct link_out *o, uint16_t type, const void *body, size_t len)
{
	o->records++;
	if (o->batch.count == 0)
		batch_start(o);
	if (evp_batch_add(&o->batch, type, o->seq + 1, body, len) == -1) {
		if (errno == EMSGSIZE) {
			o->dropped++;
			return -1;
		}
		(void)link_out_flush(o);
		if (evp_batch_add(&o->batch, type, o->seq + 1, body,
		    len) == -1) {
			o->dropped++;
			return -1;
		}
	}
	o->seq++;
	if (o->first_usec == 0)
		o->first_usec = clock_mono_usec();
	return 0;
}

uint64_t
link_out_deadline(const struct link_out *o)
{
	if (o->batch.count <= 1 || o->first_usec == 0)
		return UINT64_MAX;
	return o->first_usec + LINK_FLUSH_USEC;
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
	if ((in->sock = nnlink_socket(NN_PULL, endpoint, bind, err,
	    errlen)) == -1) {
		free(in);
		return NULL;
	}
	in->cb = cb;
	in->arg = arg;
	return in;
}

void
link_in_free(struct link_in *in)
{
	if (in == NULL)
		return;
	nn_close(in->sock);
	free(in);
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
	while ((r = evp_batch_next(&it, &rh, &body)) == 1) {
		if (rh.type == EVP_HELLO || rh.type == 0 ||
		    rh.type >= EVP_TYPE_MAX || rh.version != EVP_VERSION) {
			in->bad_msgs++;
			LOG_RATELIMITED(log_warnx, "%s: unknown record type %u "
			    "version %u, rest of batch dropped", s->hello.name,
			    rh.type, rh.version);
			return;
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
