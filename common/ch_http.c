/*
 * HTTP/1.1 client for ClickHouse.  See ch_http.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ch_http.h"
#include "clock.h"

int
ch_endpoints_parse(const char *s, struct ch_endpoint *e, int max, char *err,
    size_t errlen)
{
	const char *p = s, *end, *colon, *hs, *he;
	char *pe;
	long port;
	int n = 0;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", ");
		if (*p == '[') {
			hs = p + 1;
			if ((he = memchr(p, ']', (size_t)(end - p))) == NULL ||
			    he[1] != ':')
				goto bad;
			colon = he + 1;
		} else {
			hs = p;
			colon = memchr(p, ':', (size_t)(end - p));
			if (colon == NULL || memchr(colon + 1, ':',
			    (size_t)(end - colon - 1)) != NULL)
				goto bad;
			he = colon;
		}
		if (he == hs || (size_t)(he - hs) >= CH_HOST_LEN)
			goto bad;
		errno = 0;
		port = strtol(colon + 1, &pe, 10);
		if (errno != 0 || pe != end || port < 1 || port > 65535)
			goto bad;
		if (n == max) {
			snprintf(err, errlen, "more than %d endpoints", max);
			return -1;
		}
		memcpy(e[n].host, hs, (size_t)(he - hs));
		e[n].host[he - hs] = '\0';
		e[n].port = (unsigned)port;
		n++;
		p = end;
	}
	return n;
bad:
	snprintf(err, errlen, "expected host:port[,host:port...]: '%.*s'",
	    (int)(end - p), p);
	return -1;
}

int
ch_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) >= CH_NAME_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

void
ch_quote(struct buf *b, const char *s, size_t n)
{
	size_t i, start = 0;

	buf_add(b, "'", 1);
	for (i = 0; i < n; i++) {
		if (s[i] != '\'' && s[i] != '\\')
			continue;
		buf_add(b, s + start, i - start);
		buf_add(b, "\\", 1);
		start = i;
	}
	buf_add(b, s + start, n - start);
	buf_add(b, "'", 1);
}

/* Percent-encodes `s` for a URL's query string. */
static void
url_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~')
			buf_add(b, s, 1);
		else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			buf_add(b, e, 3);
		}
	}
}

/* A connected socket to e before `deadline` (monotonic usec), or -1. */
static int
dial(const struct ch_endpoint *e, uint64_t deadline, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	char port[8];
	socklen_t sl;
	int fd = -1, rc, soerr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", e->port);
	if ((rc = getaddrinfo(e->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", e->host, gai_strerror(rc));
		return -1;
	}
	snprintf(err, errlen, "%s:%u: no address", e->host, e->port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			sl = sizeof(soerr);
			if (poll(&pfd, 1, clock_ms_until(deadline, 60000)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ==
			    0 && soerr == 0)
				break;
			errno = soerr ? soerr : ETIMEDOUT;
		}
		snprintf(err, errlen, "%s:%u: %s", e->host, e->port,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Sends all of p before the deadline.  0 or -1. */
static int
send_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (clock_mono_usec() >= deadline)
			return -1;
		if (poll(&pfd, 1, clock_ms_until(deadline, 60000)) == -1 &&
		    errno != EINTR)
			return -1;
	}
	return 0;
}

/* Decodes a chunked body in place; its new length, or -1. */
static long
dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0, len;
	char *end;

	for (;;) {
		if (in >= n)
			return -1;
		errno = 0;
		len = strtoul(p + in, &end, 16);
		if (errno != 0 || end == p + in)
			return -1;
		if ((end = memmem(end, n - (size_t)(end - p), "\r\n", 2)) ==
		    NULL)
			return -1;
		in = (size_t)(end - p) + 2;
		if (len == 0)
			return (long)out;
		if (len > n - in)
			return -1;
		memmove(p + out, p + in, len);
		out += len;
		in += len + 2;
	}
}

int
ch_http_response(char *p, size_t n, struct buf *out, size_t max, char *err,
    size_t errlen)
{
	char *hend, *te, *nl;
	long blen;
	int status;

	if (n < 12 || strncmp(p, "HTTP/1.", 7) != 0 ||
	    (hend = memmem(p, n, "\r\n\r\n", 4)) == NULL) {
		snprintf(err, errlen, "malformed response");
		return -1;
	}
	*hend = '\0';
	status = atoi(p + 9);
	if (status < 100 || status > 599) {
		snprintf(err, errlen, "malformed status line");
		return -1;
	}
	hend += 4;
	blen = (long)(n - (size_t)(hend - p));
	/* A header line saying chunked (the headers are a C string now). */
	te = NULL;
	for (nl = strstr(p, "\r\n"); nl != NULL; nl = strstr(nl + 2, "\r\n"))
		if (strncasecmp(nl + 2, "transfer-encoding:", 18) == 0) {
			te = nl + 2;
			break;
		}
	if (te != NULL && strcasestr(te, "chunked") != NULL &&
	    (blen = dechunk(hend, (size_t)blen)) < 0) {
		snprintf(err, errlen, "malformed chunked body");
		return -1;
	}
	if ((size_t)blen > max) {
		snprintf(err, errlen, "response over %zu bytes", max);
		return -1;
	}
	buf_reset(out);
	buf_add(out, hend, (size_t)blen);
	if (!buf_ok(out)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return status;
}

int
ch_http_query(const struct ch_endpoint *e, const char *db, const char *user,
    const char *query, const void *body, size_t len, int timeout_ms,
    struct buf *out, size_t max, char *err, size_t errlen)
{
	uint64_t deadline = clock_mono_usec() + (uint64_t)timeout_ms * 1000;
	struct pollfd pfd;
	struct buf req, resp;
	char tmp[16384];
	ssize_t r;
	int fd, status = -1;

	buf_init(&req);
	buf_init(&resp);
	buf_puts(&req, "POST /?");
	if (db != NULL && *db != '\0') {
		buf_puts(&req, "database=");
		url_encode(&req, db);
		buf_puts(&req, "&");
	}
	if (user != NULL && *user != '\0') {
		buf_puts(&req, "user=");
		url_encode(&req, user);
		buf_puts(&req, "&");
	}
	if (body != NULL) {
		buf_puts(&req, "query=");
		url_encode(&req, query);
	} else {
		body = query;
		len = strlen(query);
	}
	buf_printf(&req, " HTTP/1.1\r\nHost: %s:%u\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", e->host, e->port, len);
	if (!buf_ok(&req)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = dial(e, deadline, err, errlen)) == -1)
		goto out;
	if (send_all(fd, req.p, req.len, deadline) == -1 ||
	    send_all(fd, body, len, deadline) == -1) {
		snprintf(err, errlen, "%s:%u: send: %s", e->host, e->port,
		    errno ? strerror(errno) : "timed out");
		close(fd);
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = recv(fd, tmp, sizeof(tmp), 0);
		if (r > 0) {
			if (resp.len + (size_t)r > max + 65536) {
				snprintf(err, errlen, "response over %zu bytes",
				    max);
				close(fd);
				goto out;
			}
			buf_add(&resp, tmp, (size_t)r);
			continue;
		}
		if (r == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "%s:%u: recv: %s", e->host,
			    e->port, strerror(errno));
			close(fd);
			goto out;
		}
		if (clock_mono_usec() >= deadline || poll(&pfd, 1,
		    clock_ms_until(deadline, 60000)) == 0) {
			snprintf(err, errlen, "%s:%u: no answer in %d ms",
			    e->host, e->port, timeout_ms);
			close(fd);
			goto out;
		}
	}
	close(fd);
	if (!buf_ok(&resp)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((status = ch_http_response(resp.p, resp.len, out, max, err,
	    errlen)) == -1)
		goto out;
	if (status != 200) {
		char why[320];

		snprintf(why, sizeof(why), "%.*s", (int)(out->len > 300 ? 300 :
		    out->len), out->len ? out->p : "");
		snprintf(err, errlen, "%s:%u: HTTP %d: %s", e->host, e->port,
		    status, why);
	}
out:
	buf_free(&req);
	buf_free(&resp);
	return status;
}
