/*
 * Control socket.  See ctl.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

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
