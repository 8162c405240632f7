/*
 * The connection table: one slot per connection, so that a client can
 * hold neither a connection nor a place for long without sending a
 * request.
 *
 * A slot is taken in libmicrohttpd's connection-start notification and
 * given back in its close notification (MHD closes the socket only
 * after that, so a slot's fd always names its own connection while the
 * lock is held).  A slot is "waiting" from the accept, or the end of the
 * previous response, until its request is complete (http.c says when);
 * conns_sweep(), from the main loop once a second, shuts down every
 * connection that waited longer than webd.request_timeout (slowloris:
 * the whole request is timed, not each line).  conns_admit(), MHD's
 * accept policy, enforces webd.conn_per_ip and webd.conn_max: at a cap,
 * the oldest waiting connection (of that address, else of anyone) is
 * shut down to make room, so idle or slow connections can never lock
 * out a client that sends its request at once.  Shutting down is a
 * shutdown(2): MHD's own thread then sees the end of the stream and
 * closes the connection.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/clock.h"
#include "common/log.h"
#include "webd.h"

/* One connection's slot (see the top). */
struct conn_slot {
	int		used;
	int		fd;
	int		closing;	/* shut down by us, not yet closed */
	unsigned char	key[16];	/* address; IPv6: its /64 */
	uint64_t	wait_since;	/* usec, 0 while being answered */
};

struct webd_conns {
	pthread_mutex_t	  mu;
	struct conn_slot *slot;
	size_t		  cap;
};


struct webd_conns *
conns_new(size_t cap)
{
	struct webd_conns *cs;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	if ((cs->slot = calloc(cap, sizeof(*cs->slot))) == NULL) {
		free(cs);
		return NULL;
	}
	cs->cap = cap;
	pthread_mutex_init(&cs->mu, NULL);
	return cs;
}

void
conns_free(struct webd_conns *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_destroy(&cs->mu);
	free(cs->slot);
	free(cs);
}

/* The slot of connection c, or NULL (lock held by the caller). */
static struct conn_slot *
conn_slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void
conns_waiting(struct webd *w, struct MHD_Connection *c, int waiting)
{
	struct conn_slot *sl;

	pthread_mutex_lock(&w->conns->mu);
	if ((sl = conn_slot_of(c)) != NULL && sl->used)
		sl->wait_since = waiting ? clock_mono_usec() : 0;
	pthread_mutex_unlock(&w->conns->mu);
}

/* The key that webd.conn_per_ip counts: the address, or an IPv6
 * address's /64 (one host usually holds a whole /64). */
static void
conn_key(const unsigned char a[16], unsigned char key[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	memcpy(key, a, 16);
	if (memcmp(a, mapped, sizeof(mapped)) != 0)
		memset(key + 8, 0, 8);
}

void
conns_started(struct webd *w, struct MHD_Connection *c, void **sctx)
{
	struct webd_conns *cs = w->conns;
	const union MHD_ConnectionInfo *ci;
	struct conn_slot *sl;
	unsigned char a[16];
	size_t i;

	pthread_mutex_lock(&cs->mu);
	for (i = 0; i < cs->cap && cs->slot[i].used; i++)
		;
	if (i < cs->cap) {
		sl = &cs->slot[i];
		sl->used = 1;
		sl->wait_since = clock_mono_usec();
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		sl->fd = ci != NULL ? ci->connect_fd : -1;
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		(void)http_sa_addr(ci != NULL ? ci->client_addr : NULL, a);
		conn_key(a, sl->key);
		*sctx = sl;
	}
	pthread_mutex_unlock(&cs->mu);
}

void
conns_closed(struct webd *w, void **sctx)
{
	struct conn_slot *sl = *sctx;

	pthread_mutex_lock(&w->conns->mu);
	if (sl != NULL)
		memset(sl, 0, sizeof(*sl));
	*sctx = NULL;
	pthread_mutex_unlock(&w->conns->mu);
}

/* Shuts slot sl's socket down: MHD sees the end of the stream and
 * closes the connection (and frees the slot) in its own thread.  The
 * socket stays open until then, so sl->fd cannot name another one. */
static void
conn_shut(struct conn_slot *sl)
{
	if (sl->fd >= 0)
		(void)shutdown(sl->fd, SHUT_RDWR);
	sl->closing = 1;
}

/* Counts the open connections (of `key`, or all if key is NULL) and
 * finds the one waiting longest for its request; lock held. */
static size_t
conn_count(struct webd_conns *cs, const unsigned char *key,
    struct conn_slot **oldest)
{
	struct conn_slot *sl;
	size_t i, n = 0;

	*oldest = NULL;
	for (i = 0; i < cs->cap; i++) {
		sl = &cs->slot[i];
		if (!sl->used || sl->closing || (key != NULL &&
		    memcmp(sl->key, key, 16) != 0))
			continue;
		n++;
		if (sl->wait_since != 0 && (*oldest == NULL ||
		    sl->wait_since < (*oldest)->wait_since))
			*oldest = sl;
	}
	return n;
}

int
conns_admit(struct webd *w, const struct sockaddr *sa)
{
	struct webd_conns *cs = w->conns;
	struct conn_slot *old;
	unsigned char a[16], key[16];
	int ok = 1;

	(void)http_sa_addr(sa, a);
	conn_key(a, key);
	pthread_mutex_lock(&cs->mu);
	if (conn_count(cs, key, &old) >= (size_t)w->conf.conn_per_ip) {
		if (old != NULL) {
			conn_shut(old);
			WEBD_COUNT(w, WC_CONN_EVICTED);
		} else
			ok = 0;
	}
	if (ok && conn_count(cs, NULL, &old) >=
	    (size_t)w->conf.conn_max) {
		if (old != NULL) {
			conn_shut(old);
			WEBD_COUNT(w, WC_CONN_EVICTED);
		} else
			ok = 0;
	}
	pthread_mutex_unlock(&cs->mu);
	if (!ok) {
		WEBD_COUNT(w, WC_CONN_REFUSED);
		LOG_RATELIMITED(log_warnx, "connection refused: webd.conn_%s"
		    " reached", old == NULL ? "max or conn_per_ip" : "max");
	}
	return ok;
}

void
conns_sweep(struct webd *w)
{
	struct webd_conns *cs = w->conns;
	uint64_t now = clock_mono_usec(), lim;
	size_t i, n = 0;

	if (cs == NULL)
		return;
	lim = (uint64_t)w->conf.request_timeout * 1000000ULL;
	pthread_mutex_lock(&cs->mu);
	for (i = 0; i < cs->cap; i++) {
		struct conn_slot *sl = &cs->slot[i];

		if (!sl->used || sl->closing || sl->wait_since == 0 ||
		    now - sl->wait_since <= lim)
			continue;
		conn_shut(sl);
		WEBD_COUNT(w, WC_CONN_TIMEOUT);
		n++;
	}
	pthread_mutex_unlock(&cs->mu);
	if (n > 0)
		LOG_RATELIMITED(log_info, "closed %zu connection(s) whose"
		    " request took longer than webd.request_timeout", n);
}

