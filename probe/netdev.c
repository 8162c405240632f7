/*
 * The host's interfaces, in the probe's own network namespace: which
 * interface holds a local address (an event's INTERFACE_NAME, so the
 * router can hand it to the packet interface of that name), and the
 * per-NIC counters of /proc/net/dev (topic `counter`).
 *
 * The address table is a snapshot from getifaddrs(), refreshed when an
 * address is not found, at most once a second (addresses come and go
 * with interfaces; a miss must not cost a syscall storm).
 */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/evflow.h"
#include "probe.h"

#define NETDEV_ADDRS_MAX	256	/* addresses remembered */
#define NETDEV_REFRESH_USEC	1000000

struct netdev_addr {
	uint8_t		a[16];
	char		name[PROBE_IFNAME_LEN];
};

struct netdev_addrs {
	unsigned	 n;
	uint64_t	 refreshed;	/* monotonic usec */
	int		 loaded;
	struct netdev_addr tab[NETDEV_ADDRS_MAX];
};

struct netdev_addrs *
netdev_addrs_new(void)
{
	return calloc(1, sizeof(struct netdev_addrs));
}

void
netdev_addrs_free(struct netdev_addrs *t)
{
	free(t);
}

static void
refresh(struct netdev_addrs *t)
{
	struct ifaddrs *ifa, *i;
	struct netdev_addr *e;

	t->n = 0;
	t->loaded = 1;
	if (getifaddrs(&ifa) == -1)
		return;
	for (i = ifa; i != NULL && t->n < NETDEV_ADDRS_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_name == NULL)
			continue;
		e = &t->tab[t->n];
		if (i->ifa_addr->sa_family == AF_INET)
			evp_addr_from_v4(e->a, ((const struct sockaddr_in *)
			    (const void *)i->ifa_addr)->sin_addr.s_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			memcpy(e->a, &((const struct sockaddr_in6 *)
			    (const void *)i->ifa_addr)->sin6_addr, 16);
		else
			continue;
		snprintf(e->name, sizeof(e->name), "%s", i->ifa_name);
		t->n++;
	}
	freeifaddrs(ifa);
}

static const char *
lookup(const struct netdev_addrs *t, const uint8_t a[16])
{
	unsigned k;

	for (k = 0; k < t->n; k++)
		if (memcmp(t->tab[k].a, a, 16) == 0)
			return t->tab[k].name;
	return NULL;
}

const char *
netdev_addrs_find(struct netdev_addrs *t, const uint8_t a[16],
    uint64_t now_usec)
{
	const char *name;

	/* 127.0.0.0/8 other than 127.0.0.1 and ::1 are lo's too. */
	if (evp_addr_is_loopback(a))
		return "lo";
	if ((name = lookup(t, a)) != NULL)
		return name;
	if (t->loaded && now_usec - t->refreshed < NETDEV_REFRESH_USEC)
		return NULL;
	t->refreshed = now_usec;
	refresh(t);
	return lookup(t, a);
}

void
netdev_addrs_json(struct netdev_addrs *t, struct buf *b)
{
	char s[64];
	unsigned k;

	if (!t->loaded)
		refresh(t);
	buf_puts(b, "[");
	for (k = 0; k < t->n; k++)
		buf_printf(b, "%s\"%s\"", k ? "," : "",
		    evp_addr_str(t->tab[k].a, s, sizeof(s)));
	buf_puts(b, "]");
}

/* A decimal number at *p (spaces skipped).  0 or -1. */
static int
num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (*v = 0; s < end && *s >= '0' && *s <= '9'; s++)
		*v = *v * 10 + (uint64_t)(*s - '0');
	*p = s;
	return 0;
}

/*
 * /proc/net/dev: two header lines, then "  name: rx_bytes rx_packets
 * rx_errs rx_drop rx_fifo rx_frame rx_compressed rx_multicast tx_bytes
 * tx_packets tx_errs ..." (16 numbers).
 */
int
netdev_parse(const char *text, size_t len, void (*fn)(void *,
    const struct netdev_stats *), void *arg, unsigned *bad)
{
	const char *l = text, *end = text + len, *nl, *colon, *p, *n0;
	struct netdev_stats s;
	uint64_t v[11];
	unsigned k;
	int count = 0;
	size_t nl_len;

	if (len < 6 || memcmp(text, "Inter-", 6) != 0)
		return -1;
	for (; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if ((colon = memchr(l, ':', (size_t)(nl - l))) == NULL)
			continue;	/* the header lines */
		for (n0 = l; n0 < colon && *n0 == ' '; n0++)
			;
		nl_len = (size_t)(colon - n0);
		memset(&s, 0, sizeof(s));
		if (nl_len == 0 || nl_len >= sizeof(s.name)) {
			(*bad)++;
			continue;
		}
		memcpy(s.name, n0, nl_len);
		p = colon + 1;
		for (k = 0; k < 11; k++)
			if (num(&p, nl, &v[k]) == -1)
				break;
		if (k < 11) {
			(*bad)++;
			continue;
		}
		s.rx_bytes = v[0];
		s.rx_packets = v[1];
		s.rx_errs = v[2];
		s.tx_bytes = v[8];
		s.tx_packets = v[9];
		s.tx_errs = v[10];
		fn(arg, &s);
		count++;
	}
	return count;
}
