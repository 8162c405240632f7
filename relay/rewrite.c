/*
 * The central relay's view of a batch from an edge: it must be a whole,
 * well-formed batch (the bytes crossed a network), and it is renamed
 * for the host whose key sent it before the router sees it.
 *
 * Only fixed-layout records are renamed (hello, stats), by copying them
 * out with their checked decoder and back; flow and other records are
 * passed as they are (the router checks them).
 */
#include <stdio.h>
#include <string.h>

#include "relay.h"

int
relay_host_check(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n >= RELAY_HOST_MAX || h[0] == '.')
		return -1;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') ||
		    h[i] == '.' || h[i] == '_' || h[i] == '-'))
			return -1;
	return 0;
}

int
relay_batch_records(const void *msg, size_t len)
{
	struct evp_batch_iter it;
	struct evp_rec_hdr rh;
	const void *body;
	int r, n = 0;

	if (evp_batch_open(&it, msg, len) == -1)
		return -1;
	while ((r = evp_batch_next(&it, &rh, &body)) == 1)
		n += rh.type != EVP_HELLO;
	return r == 0 ? n : -1;
}

/* Writes "host:name" into `out` (EVP_NAME_LEN).  -1 if it does not fit. */
static int
prefixed(char *out, const char *host, const char *name)
{
	char tmp[EVP_NAME_LEN];
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s:%s", host, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	memset(out, 0, EVP_NAME_LEN);
	memcpy(out, tmp, (size_t)n);
	return 0;
}

int
relay_rewrite(uint8_t *msg, size_t len, const char *host, uint64_t mix,
    enum rewrite_err *why)
{
	struct evp_batch_iter it;
	struct evp_batch_hdr bh;
	struct evp_rec_hdr rh;
	struct evp_hello h;
	struct evp_stats s;
	const void *body;
	uint8_t *at;
	int r, n = 0;

	*why = RW_MALFORMED;
	if (evp_batch_open(&it, msg, len) == -1)
		return -1;
	memcpy(&bh, msg, sizeof(bh));
	bh.sender ^= mix;
	memcpy(msg, &bh, sizeof(bh));
	while ((r = evp_batch_next(&it, &rh, &body)) == 1) {
		n += rh.type != EVP_HELLO;
		at = msg + ((const uint8_t *)body - msg);
		if (rh.type == EVP_HELLO) {
			if (evp_decode_hello(body, rh.len, &h) == -1)
				return -1;
			if (prefixed(h.name, host, h.name) == -1 ||
			    (h.iface[0] != '\0' &&
			    prefixed(h.iface, host, h.iface) == -1)) {
				*why = RW_TOO_LONG;
				return -1;
			}
			memcpy(at, &h, sizeof(h));
		} else if (rh.type == EVP_STATS) {
			if (evp_decode_stats(body, rh.len, &s) == -1)
				return -1;
			if (prefixed(s.name, host, s.name) == -1) {
				*why = RW_TOO_LONG;
				return -1;
			}
			memcpy(at, &s, sizeof(s));
		}
	}
	if (r == -1)
		return -1;
	*why = RW_OK;
	return n;
}
