/*
 * The collector's ZMQ SUB socket: endpoints as ntopng declares them,
 * socket options, the CURVE server key, and whole-message receive.
 *
 * A trailing 'c' binds (tcp://0.0.0.0:1234c); without it the socket connects.
 * An endpoint ending in ".ipc" is taken as is (ipc:///tmp/p.ipc
 * connects); write ".ipcc" to bind it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "collector.h"

#define ZSOCK_EP_MAX	512	/* bytes of one endpoint */

void *
zsock_open(void *zctx, const char *iface, const struct zsock_opts *o,
    char *err, size_t errlen)
{
	char list[4 * ZSOCK_EP_MAX], *ep, *save = NULL, secret[41],
	    public[41];
	void *s;
	size_t n;
	int one = 1, created, bind;

	if (strlen(iface) >= sizeof(list)) {
		snprintf(err, errlen, "interface name too long");
		return NULL;
	}
	if ((s = zmq_socket(zctx, ZMQ_SUB)) == NULL) {
		snprintf(err, errlen, "zmq_socket: %s",
		    zmq_strerror(zmq_errno()));
		return NULL;
	}
	(void)zmq_setsockopt(s, ZMQ_RCVHWM, &o->rcvhwm, sizeof(o->rcvhwm));
	(void)zmq_setsockopt(s, ZMQ_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
	(void)zmq_setsockopt(s, ZMQ_TCP_KEEPALIVE, &one, sizeof(one));
	/* A frame over max_frame is refused by libzmq before it is
	 * buffered: the peer is disconnected and nothing is counted. */
	if (o->max_frame > 0)
		(void)zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &o->max_frame,
		    sizeof(o->max_frame));
	if (zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0)
		goto fail;
	if (o->curve) {
		if (!zmq_has("curve")) {
			snprintf(err, errlen, "libzmq was built without CURVE");
			zmq_close(s);
			return NULL;
		}
		if (curve_key_load(o->curve_key_file, secret, public,
		    &created, err, errlen) == -1) {
			zmq_close(s);
			return NULL;
		}
		if (created)
			printf("CURVE server public key: %s\n", public);
		log_info("CURVE server public key: %s (secret in %s%s)",
		    public, o->curve_key_file, created ? ", new" : "");
		if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
		    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 40))
			goto fail;
		explicit_bzero(secret, sizeof(secret));
	}
	memcpy(list, iface, strlen(iface) + 1);
	for (ep = strtok_r(list, ",", &save); ep != NULL;
	    ep = strtok_r(NULL, ",", &save)) {
		while (*ep == ' ')
			ep++;
		n = strlen(ep);
		bind = n > 0 && ep[n - 1] == 'c' && !(n > 4 &&
		    strcmp(ep + n - 4, ".ipc") == 0);
		if (bind)
			ep[n - 1] = '\0';
		if (*ep == '\0') {
			snprintf(err, errlen, "empty endpoint in '%s'", iface);
			zmq_close(s);
			return NULL;
		}
		if ((bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
			snprintf(err, errlen, "%s %s: %s", bind ? "bind" :
			    "connect", ep, zmq_strerror(zmq_errno()));
			zmq_close(s);
			return NULL;
		}
		if (bind) {
			char real[ZSOCK_EP_MAX];
			size_t rl = sizeof(real);

			if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, real,
			    &rl) == 0)
				ep = real;
			log_info("listening on %s", ep);
		} else
			log_info("connected to %s", ep);
	}
	return s;
fail:
	snprintf(err, errlen, "zmq_setsockopt: %s", zmq_strerror(zmq_errno()));
	zmq_close(s);
	return NULL;
}

int
zsock_recv(void *s, struct zsock_msg *m)
{
	zmq_msg_t extra;
	const char *peer;
	int more, rc;

	m->nframes = 0;
	m->bytes = 0;
	m->ready[0] = m->ready[1] = 0;
	zmq_msg_init(&m->part[0]);
	m->ready[0] = 1;
	if ((rc = zmq_msg_recv(&m->part[0], s, ZMQ_DONTWAIT)) < 0) {
		zsock_msg_close(m);
		return zmq_errno() == EAGAIN || zmq_errno() == EINTR ? 0 : -1;
	}
	m->nframes = 1;
	m->bytes = zmq_msg_size(&m->part[0]);
	m->conn = zmq_msg_get(&m->part[0], ZMQ_SRCFD);
	peer = zmq_msg_gets(&m->part[0], "Peer-Address");
	(void)jt_strlcpy(m->peer, peer != NULL && *peer != '\0' ? peer :
	    "local", sizeof(m->peer));
	/* Consume every frame of the message, whatever the header said
	 * (the frame's own flag: no socket option call per frame). */
	more = zmq_msg_more(&m->part[0]);
	while (more) {
		if (m->nframes == 1) {
			zmq_msg_init(&m->part[1]);
			m->ready[1] = 1;
			if (zmq_msg_recv(&m->part[1], s, 0) < 0)
				break;
			m->bytes += zmq_msg_size(&m->part[1]);
			more = zmq_msg_more(&m->part[1]);
		} else {
			zmq_msg_init(&extra);
			rc = zmq_msg_recv(&extra, s, 0);
			if (rc >= 0) {
				m->bytes += (size_t)rc;
				more = zmq_msg_more(&extra);
			}
			zmq_msg_close(&extra);
			if (rc < 0)
				break;
		}
		m->nframes++;
	}
	return 1;
}

void
zsock_msg_close(struct zsock_msg *m)
{
	if (m->ready[0])
		zmq_msg_close(&m->part[0]);
	if (m->ready[1])
		zmq_msg_close(&m->part[1]);
	m->ready[0] = m->ready[1] = 0;
}
