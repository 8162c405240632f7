/*
 * Checks of what an HTTP client sends, kept apart from libmicrohttpd so
 * that the fuzz target (tests/fuzz/fuzz_webd_http.c) and the unit test
 * link them alone: the raw URL's bytes, the Host allowlist, and the
 * X-Forwarded-For/-Proto of a trusted proxy.  The contracts are in
 * webd.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "webd.h"

/* Splits a comma- or space-separated list; calls fn on each item.
 * -1 (message in err) if fn refuses one or there are too many. */
static int
list_each(const char *list, int (*fn)(void *, const char *), void *arg,
    char *err, size_t errlen)
{
	char item[CONF_STR_LEN];
	const char *p = list;
	size_t n;
	int count = 0;

	while (*p != '\0') {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(item) || ++count > HTTP_LIST_MAX) {
			snprintf(err, errlen, "too many or too long items");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (fn(arg, item) == -1) {
			snprintf(err, errlen, "bad item: %.80s", item);
			return -1;
		}
		p += n;
	}
	return 0;
}

/* Parses an address or CIDR into n; -1 if it is neither. */
int
http_net_parse(struct http_net *n, const char *s)
{
	char a[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	struct in_addr v4;
	unsigned long bits;
	int v6;

	if (strlen(s) >= sizeof(a))
		return -1;
	snprintf(a, sizeof(a), "%s", s);
	if ((slash = strchr(a, '/')) != NULL)
		*slash++ = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, a, &v4) == 1) {
		n->addr[10] = n->addr[11] = 0xff;
		memcpy(n->addr + 12, &v4, 4);
		v6 = 0;
	} else if (inet_pton(AF_INET6, a, n->addr) == 1)
		v6 = 1;
	else
		return -1;
	n->bits = 128;
	if (slash != NULL) {
		bits = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits > (v6 ? 128u : 32u))
			return -1;
		n->bits = (unsigned)bits + (v6 ? 0 : 96);
	}
	return 0;
}

int
http_net_match(const struct http_net *n, const unsigned char a[16])
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->addr, a, full) != 0)
		return 0;
	return rest == 0 || ((n->addr[full] ^ a[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

/* The 16-byte form of a socket address (IPv4 mapped); -1 if neither. */
int
http_sa_addr(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static int
add_host(void *arg, const char *item)
{
	struct http_names *cs = arg;
	size_t i;

	if (strcmp(item, "*") == 0) {
		cs->host_any = 1;
		return 0;
	}
	if (cs->nhost >= HTTP_LIST_MAX)
		return -1;
	for (i = 0; item[i] != '\0'; i++)
		cs->host[cs->nhost][i] = (char)tolower((unsigned char)item[i]);
	cs->host[cs->nhost][i] = '\0';
	cs->nhost++;
	return 0;
}

static int
add_proxy(void *arg, const char *item)
{
	struct http_names *cs = arg;

	if (cs->nproxy >= HTTP_LIST_MAX || http_net_parse(&cs->proxy[cs->nproxy],
	    item) == -1)
		return -1;
	cs->nproxy++;
	return 0;
}

int
http_names_conf(struct http_names *cs, const struct webd_conf *c, char *err,
    size_t errlen)
{
	char e[128], listen[CONF_STR_LEN];

	cs->nhost = cs->nproxy = 0;
	if (list_each(c->hosts, add_host, cs, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "webd.hosts: %s", e);
		return -1;
	}
	if (c->hosts[0] == '\0') {
		add_host(cs, "localhost");
		add_host(cs, "127.0.0.1");
		add_host(cs, "[::1]");
		if (strcmp(c->listen, "0.0.0.0") == 0 ||
		    strcmp(c->listen, "::") == 0)
			cs->host_ip_any = 1;
		else {
			snprintf(listen, sizeof(listen), strchr(c->listen,
			    ':') ? "[%.200s]" : "%.200s", c->listen);
			add_host(cs, listen);
		}
	}
	if (list_each(c->trusted_proxies, add_proxy, cs, e, sizeof(e)) ==
	    -1) {
		snprintf(err, errlen, "webd.trusted_proxies: %s", e);
		return -1;
	}
	return 0;
}

/* Length of the name part of a Host value or webd.hosts entry:
 * "[v6]" with its brackets, else up to a ':'.  0 if malformed. */
static size_t
host_name_len(const char *h)
{
	const char *p;

	if (h[0] == '[')
		return (p = strchr(h, ']')) != NULL ? (size_t)(p - h) + 1 : 0;
	return strcspn(h, ":");
}

/* 1 if `host` (a Host header: name, IPv4 or [IPv6], then an optional
 * :port) is allowed.  An entry without a port allows any port. */
int
http_host_allowed(const struct http_names *cs, const char *host)
{
	char name[CONF_STR_LEN];
	const char *port, *h;
	size_t n, hn, i;
	unsigned char a[16];

	if (cs->host_any)
		return 1;
	n = host_name_len(host);
	if (n == 0 || n >= sizeof(name))
		return 0;
	port = host + n;
	if (*port == ':') {
		port++;
		if (*port == '\0' || strlen(port) > 5 ||
		    strspn(port, "0123456789") != strlen(port))
			return 0;
	} else if (*port != '\0')
		return 0;
	for (i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)host[i]);
	name[n] = '\0';
	for (i = 0; i < cs->nhost; i++) {
		h = cs->host[i];
		hn = host_name_len(h);
		if (hn != n || memcmp(h, name, n) != 0)
			continue;
		if (h[hn] == '\0' || (h[hn] == ':' && strcmp(h + hn + 1,
		    port) == 0))
			return 1;
	}
	if (cs->host_ip_any) {
		if (name[0] == '[') {
			name[n - 1] = '\0';
			return inet_pton(AF_INET6, name + 1, a) == 1;
		}
		return inet_pton(AF_INET, name, a) == 1;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 if the raw URI, percent-decoded, is UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF) without a NUL byte.  What
 * MHD decodes later is the same bytes, so a parameter can neither be
 * cut short by a NUL nor carry bytes that are not text. */
int
http_uri_ok(const char *uri)
{
	const unsigned char *p = (const unsigned char *)uri;
	unsigned need = 0, min = 0;
	uint32_t cp = 0;
	int b, hi, lo;

	while (*p != '\0') {
		b = *p++;
		if (b == '%' && (hi = hexval(p[0])) >= 0 &&
		    (lo = hexval(p[1])) >= 0) {
			b = hi << 4 | lo;
			p += 2;
		}
		if (b == 0)
			return 0;
		if (need > 0) {
			if ((b & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (uint32_t)(b & 0x3f);
			if (--need == 0 && (cp < min || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff)))
				return 0;
			continue;
		}
		if (b < 0x80)
			continue;
		if ((b & 0xe0) == 0xc0) {
			need = 1, min = 0x80, cp = (uint32_t)(b & 0x1f);
		} else if ((b & 0xf0) == 0xe0) {
			need = 2, min = 0x800, cp = (uint32_t)(b & 0x0f);
		} else if ((b & 0xf8) == 0xf0) {
			need = 3, min = 0x10000, cp = (uint32_t)(b & 0x07);
		} else
			return 0;
	}
	return need == 0;
}


int
http_proxy_trusted(const struct http_names *cs, const unsigned char a[16])
{
	unsigned i;

	for (i = 0; i < cs->nproxy; i++)
		if (http_net_match(&cs->proxy[i], a))
			return 1;
	return 0;
}

int
http_forwarded_for(const struct http_names *cs, const char *xff,
    char *client, size_t len)
{
	char item[INET6_ADDRSTRLEN + 1];
	struct http_net n;
	const char *p;
	size_t end, start, l;
	int found = 0;

	end = strlen(xff);
	while (end > 0) {
		start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		p = xff + start;
		l = end - start;
		while (l > 0 && (*p == ' ' || *p == '\t'))
			p++, l--;
		while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == 0 || l >= sizeof(item))
			break;
		memcpy(item, p, l);
		item[l] = '\0';
		if (strchr(item, '/') != NULL || http_net_parse(&n, item) == -1)
			break;
		snprintf(client, len, "%s", item);
		found = 1;
		if (!http_proxy_trusted(cs, n.addr))
			break;
		end = start > 0 ? start - 1 : 0;
	}
	return found;
}

int
http_forwarded_https(const char *xfp)
{
	const char *p;

	p = strrchr(xfp, ',') != NULL ? strrchr(xfp, ',') + 1 : xfp;
	p += strspn(p, " \t");
	return strncasecmp(p, "https", 5) == 0 && (p[5] == '\0' ||
	    p[5] == ' ' || p[5] == '\t');
}
