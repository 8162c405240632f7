/*
 * libFuzzer target: webd's checks of what an HTTP client sends
 * (webd/http_check.c).  The input is used as a raw URL, a Host header,
 * an X-Forwarded-For and -Proto value, and as webd.hosts and
 * webd.trusted_proxies.  Properties: an accepted URL holds no %00; an
 * accepted Host's name is a listed one or, with a wildcard listen, an
 * IP literal; a client taken from X-Forwarded-For parses as an address.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webd/webd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct http_names names, wild, fuzzed;
static int ready;

static void
setup(void)
{
	struct webd_conf c;
	char err[256];

	memset(&c, 0, sizeof(c));
	strcpy(c.listen, "127.0.0.1");
	strcpy(c.hosts, "evflow.example, flows.example:8443, [2001:db8::1]");
	strcpy(c.trusted_proxies, "127.0.0.1, 10.9.0.0/16, ::1");
	if (http_names_conf(&names, &c, err, sizeof(err)) == -1)
		abort();
	c.hosts[0] = '\0';
	strcpy(c.listen, "::");
	if (http_names_conf(&wild, &c, err, sizeof(err)) == -1)
		abort();
	ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[1024], client[64], pre[64];
	struct http_net n;
	struct webd_conf c;
	char err[256];
	unsigned char a[16];

	if (!ready)
		setup();
	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';

	if (http_uri_ok(s)) {
		const char *p;

		for (p = s; (p = strchr(p, '%')) != NULL; p++)
			if (p[1] == '0' && p[2] == '0')
				abort();
	}
	(void)http_host_allowed(&names, s);
	/* With a wildcard listen and no list: localhost, [v6] or IPv4. */
	if (http_host_allowed(&wild, s) && s[0] != '[' &&
	    strncasecmp(s, "localhost", 9) != 0) {
		size_t k = strcspn(s, ":");

		if (k >= sizeof(pre))
			abort();
		memcpy(pre, s, k);
		pre[k] = '\0';
		if (inet_pton(AF_INET, pre, a) != 1)
			abort();
	}
	strcpy(client, "peer");
	if (http_forwarded_for(&names, s, client, sizeof(client)) &&
	    http_net_parse(&n, client) == -1)
		abort();
	(void)http_forwarded_https(s);
	if (http_net_parse(&n, s) == 0 && n.bits > 128)
		abort();

	memset(&c, 0, sizeof(c));
	strcpy(c.listen, "127.0.0.1");
	memcpy(c.hosts, s, size < sizeof(c.hosts) ? size + 1 :
	    sizeof(c.hosts) - 1);
	memcpy(c.trusted_proxies, s, size < sizeof(c.trusted_proxies) ?
	    size + 1 : sizeof(c.trusted_proxies) - 1);
	if (http_names_conf(&fuzzed, &c, err, sizeof(err)) == 0)
		(void)http_host_allowed(&fuzzed, "localhost:3000");
	return 0;
}
