/*
 * Control socket.  See ctl.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "nnlink.h"

struct ctl *
ctl_new(const char *endpoint, ctl_handler fn, void *arg, char *err,
    size_t errlen)
{
	struct ctl *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Never a non-loopback tcp:// bind: nothing authenticates it. */
	if ((c->sock = nnlink_socket(NN_REP, endpoint, 1, CTL_MAX_WIRE, 0,
	    err, errlen)) == -1) {
		free(c);
		return NULL;
	}
	c->fn = fn;
	c->arg = arg;
	return c;
}

void
ctl_free(struct ctl *c)
{
	if (c == NULL)
		return;
	nn_close(c->sock);
	free(c);
}

int
ctl_fd(const struct ctl *c)
{
	return nnlink_recv_fd(c->sock);
}

unsigned long long
ctl_refused(const struct ctl *c)
{
	return nn_get_statistic(c->sock, NN_STAT_BROKEN_CONNECTIONS);
}

/* Splits `s` in place into words.  Returns argc. */
static int
split(char *s, char **argv)
{
	int argc = 0;
	char *save = NULL, *w;

	for (w = strtok_r(s, " \t\r\n", &save); w != NULL && argc <
	    CTL_MAX_ARGS; w = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = w;
	return argc;
}

void
ctl_poll(struct ctl *c)
{
	char req[CTL_MAX_REQUEST + 1], *argv[CTL_MAX_ARGS];
	struct buf reply;
	int n, argc;

	for (;;) {
		n = nn_recv(c->sock, req, CTL_MAX_REQUEST, NN_DONTWAIT);
		if (n < 0)
			return;
		c->requests++;
		buf_init(&reply);
		if (n >= CTL_MAX_REQUEST) {
			c->bad_requests++;
			buf_puts(&reply, "error: request too long");
		} else {
			req[n] = '\0';
			argc = split(req, argv);
			if (argc == 0) {
				c->bad_requests++;
				buf_puts(&reply, "error: empty request");
			} else if (strcmp(argv[0], "ping") == 0)
				buf_puts(&reply, "pong");
			else
				c->fn(c->arg, argc, argv, &reply);
		}
		if (!buf_ok(&reply) || reply.len == 0) {
			buf_reset(&reply);
			reply.failed = 0;
			buf_puts(&reply, "error: no reply");
		}
		if (nn_send(c->sock, reply.p, reply.len, 0) < 0)
			LOG_RATELIMITED(log_warnx, "control reply: %s",
			    nn_strerror(nn_errno()));
		buf_free(&reply);
	}
}

int
ctl_request(const char *endpoint, const char *cmd, struct buf *reply,
    int timeout_ms)
{
	char err[256];
	void *msg;
	int s, n;

	if ((s = nnlink_socket(NN_REQ, endpoint, 0, CTL_MAX_REPLY, 0, err,
	    sizeof(err))) == -1) {
		buf_puts(reply, err);
		return -1;
	}
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	(void)nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	if (nn_send(s, cmd, strlen(cmd), 0) < 0 ||
	    (n = nn_recv(s, &msg, NN_MSG, 0)) < 0) {
		buf_printf(reply, "%s: %s", endpoint, nn_strerror(nn_errno()));
		nn_close(s);
		return -1;
	}
	buf_add(reply, msg, (size_t)n);
	nn_freemsg(msg);
	nn_close(s);
	return 0;
}

/* One peer of ctl_request_all(). */
struct ctl_peer {
	int		 sock;
	int		 sent;
	int		 done;
};

unsigned
ctl_request_all(const char *const *eps, unsigned n, const char *cmd,
    struct buf *replies, int *rc, int timeout_ms)
{
	uint64_t deadline = clock_mono_usec() + (uint64_t)timeout_ms * 1000u;
	struct ctl_peer *p;
	struct pollfd *pfd;
	struct stat st;
	unsigned k, npoll, left = 0, answered = 0;
	char err[256];
	void *msg;
	size_t fdlen;
	int fd, r, zero = 0;

	if (n == 0)
		return 0;
	p = calloc(n, sizeof(*p));
	pfd = calloc(n, sizeof(*pfd));
	if (p == NULL || pfd == NULL) {
		for (k = 0; k < n; k++) {
			rc[k] = -1;
			buf_puts(&replies[k], "out of memory");
		}
		free(p);
		free(pfd);
		return 0;
	}
	for (k = 0; k < n; k++) {
		rc[k] = -1;
		p[k].sock = -1;
		/* nanomsg would retry a missing ipc socket until the end */
		if (strncmp(eps[k], "ipc://", 6) == 0 &&
		    stat(eps[k] + 6, &st) == -1) {
			buf_printf(&replies[k], "%s: %s", eps[k],
			    strerror(errno));
			p[k].done = 1;
			continue;
		}
		if ((p[k].sock = nnlink_socket(NN_REQ, eps[k], 0, CTL_MAX_REPLY,
		    0, err, sizeof(err))) == -1) {
			buf_puts(&replies[k], err);
			p[k].done = 1;
			continue;
		}
		(void)nn_setsockopt(p[k].sock, NN_SOL_SOCKET, NN_SNDTIMEO,
		    &zero, sizeof(zero));
		left++;
	}
	/* Connecting, the SP handshake and the reply all happen in nanomsg's
	 * worker: wait on each socket's send fd until its request is taken,
	 * then on its receive fd. */
	while (left > 0) {
		for (k = 0; k < n; k++) {
			if (p[k].done || p[k].sent)
				continue;
			if (nn_send(p[k].sock, cmd, strlen(cmd), NN_DONTWAIT) >= 0)
				p[k].sent = 1;
			else if (nn_errno() != EAGAIN) {
				buf_printf(&replies[k], "%s: %s", eps[k],
				    nn_strerror(nn_errno()));
				p[k].done = 1;
				left--;
			}
		}
		for (k = 0; k < n; k++) {
			if (p[k].done || !p[k].sent)
				continue;
			if ((r = nn_recv(p[k].sock, &msg, NN_MSG,
			    NN_DONTWAIT)) >= 0) {
				buf_add(&replies[k], msg, (size_t)r);
				nn_freemsg(msg);
				rc[k] = 0;
				answered++;
			} else if (nn_errno() == EAGAIN)
				continue;
			else
				buf_printf(&replies[k], "%s: %s", eps[k],
				    nn_strerror(nn_errno()));
			p[k].done = 1;
			left--;
		}
		if (left == 0 || clock_mono_usec() >= deadline)
			break;
		for (k = npoll = 0; k < n; k++) {
			if (p[k].done)
				continue;
			fdlen = sizeof(fd);
			if (nn_getsockopt(p[k].sock, NN_SOL_SOCKET, p[k].sent ?
			    NN_RCVFD : NN_SNDFD, &fd, &fdlen) == -1)
				continue;
			pfd[npoll].fd = fd;
			pfd[npoll].events = POLLIN;
			npoll++;
		}
		if (poll(pfd, npoll, clock_ms_until(deadline, timeout_ms)) ==
		    -1 && errno != EINTR)
			break;
	}
	for (k = 0; k < n; k++) {
		if (!p[k].done)
			buf_printf(&replies[k], "%s: no reply within %d ms%s",
			    eps[k], timeout_ms, p[k].sent ? "" :
			    " (not even connected)");
		if (p[k].sock != -1)
			nn_close(p[k].sock);
	}
	free(p);
	free(pfd);
	return answered;
}
