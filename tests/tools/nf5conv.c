/*
 * evflow-nf5conv: NetFlow v5 (UDP, what `softflowd -v 5 -n` exports) ->
 * ntopng JSON over ZMQ, shaped the way softflowd's own ntopng export
 * shapes it (docs/wire.md, dialect 3): one message per datagram, an
 * array of objects with NetFlow field numbers as keys, every object
 * followed by ",\n" (so the array ends `},\n]`), FIRST_SWITCHED and
 * LAST_SWITCHED as the exporter's uptime in milliseconds, and ICMP's
 * type << 8 | code in the destination port.  --ref adds IPFIX field 160
 * (the unix time, ms, of uptime zero) from the v5 header.
 *
 * For tests: it listens on 127.0.0.1 only and exits after --flows
 * records, or --idle-ms without a datagram once one came.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testpub.h"

#define NF5_HDR		24	/* bytes */
#define NF5_REC		48	/* bytes per flow record */
#define NF5_MAX_RECS	30	/* per datagram (the v5 limit) */

static void
usage(int rc)
{
	fprintf(rc ? stderr : stdout,
"usage: evflow-nf5conv -u UDP_PORT -z ENDPOINT [options]\n"
"Receives NetFlow v5 on 127.0.0.1:UDP_PORT and publishes each datagram\n"
"as one softflowd-style ntopng JSON message (topic flow, 24-byte header).\n"
"  --source-id N   source_id of the header (default 0)\n"
"  --flows N       exit after N flow records (default: no limit)\n"
"  --idle-ms MS    exit MS ms after the last datagram (default 3000)\n"
"  --wait-ms MS    wait for the collector's subscription (default 5000)\n"
"  --ref           add field 160 (unix ms of the exporter's uptime zero)\n"
"At exit prints: nf5conv: datagrams=D flows=F messages=M\n");
	exit(rc);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static const char *
ip4(const uint8_t *p, char *b, size_t n)
{
	snprintf(b, n, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
	return b;
}

/* One datagram -> JSON text in out (cap bytes).  Returns the number of
 * records, or -1 if it is not NetFlow v5. */
static int
convert(const uint8_t *d, size_t n, int ref, char *out, size_t cap,
    size_t *len)
{
	char a[16], b[16];
	unsigned count, i;
	uint64_t boot_ms;
	size_t o = 0;
	int w;

	if (n < NF5_HDR || be16(d) != 5)
		return -1;
	count = be16(d + 2);
	if (count > NF5_MAX_RECS || n < NF5_HDR + (size_t)count * NF5_REC)
		return -1;
	boot_ms = (uint64_t)be32(d + 8) * 1000 + be32(d + 12) / 1000000 -
	    be32(d + 4);
	out[o++] = '[';
	for (i = 0; i < count; i++) {
		const uint8_t *r = d + NF5_HDR + (size_t)i * NF5_REC;

		w = snprintf(out + o, cap - o, "{\"8\":\"%s\",\"12\":\"%s\","
		    "\"10\":%u,\"14\":%u,\"2\":%u,\"1\":%u,\"22\":%u,\"21\":%u,"
		    "\"7\":%u,\"11\":%u,\"6\":%u,\"4\":%u,\"5\":%u",
		    ip4(r, a, sizeof(a)), ip4(r + 4, b, sizeof(b)),
		    be16(r + 12), be16(r + 14), be32(r + 16), be32(r + 20),
		    be32(r + 24), be32(r + 28), be16(r + 32), be16(r + 34),
		    r[37], r[38], r[39]);
		if (w < 0 || (size_t)w >= cap - o)
			return -1;
		o += (size_t)w;
		if (ref) {
			w = snprintf(out + o, cap - o, ",\"160\":%llu",
			    (unsigned long long)boot_ms);
			if (w < 0 || (size_t)w >= cap - o)
				return -1;
			o += (size_t)w;
		}
		if (cap - o < 8)
			return -1;
		memcpy(out + o, "},\n", 3);	/* softflowd's trailing comma */
		o += 3;
	}
	out[o++] = ']';
	*len = o;
	return (int)count;
}

int
main(int argc, char **argv)
{
	enum { O_SOURCE = 256, O_FLOWS, O_IDLE, O_WAIT, O_REF };
	static const struct option lo[] = {
		{ "source-id", required_argument, NULL, O_SOURCE },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "idle-ms", required_argument, NULL, O_IDLE },
		{ "wait-ms", required_argument, NULL, O_WAIT },
		{ "ref", no_argument, NULL, O_REF },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static uint8_t dg[65536];
	static char json[NF5_MAX_RECS * 512];
	const char *ep = NULL;
	struct sockaddr_in sin;
	struct pollfd pfd;
	struct pub p;
	unsigned long port = 0, want = 0, flows = 0, dgs = 0;
	uint32_t source_id = 0;
	int c, fd, idle = 3000, wait_ms = 5000, ref = 0, n, got = 0;
	ssize_t r;
	size_t len;

	while ((c = getopt_long(argc, argv, "u:z:h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': port = strtoul(optarg, NULL, 10); break;
		case 'z': ep = optarg; break;
		case O_SOURCE:
			source_id = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case O_FLOWS: want = strtoul(optarg, NULL, 10); break;
		case O_IDLE: idle = atoi(optarg); break;
		case O_WAIT: wait_ms = atoi(optarg); break;
		case O_REF: ref = 1; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (ep == NULL || port == 0 || port > 65535)
		usage(2);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1) {
		perror("nf5conv: socket");
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("nf5conv: bind");
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.hdrlen = PUB_HDR_24;
	p.version = 2;
	p.msg_id = 1;
	p.source_id = source_id;
	if (pub_open(&p, ep, 0, 100000) == -1)
		return 1;
	if (pub_wait_subscribers(&p, 1, wait_ms) < 1)
		fprintf(stderr, "nf5conv: no subscriber yet, sending anyway\n");
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		n = poll(&pfd, 1, got ? idle : 60000);
		if (n <= 0)
			break;
		if ((r = recv(fd, dg, sizeof(dg), 0)) <= 0)
			continue;
		got = 1;
		dgs++;
		n = convert(dg, (size_t)r, ref, json, sizeof(json), &len);
		if (n < 0) {
			fprintf(stderr, "nf5conv: not NetFlow v5 (%zd bytes)\n", r);
			continue;
		}
		if (n > 0 && pub_send(&p, "flow", json, len, (unsigned)n) == -1)
			fprintf(stderr, "nf5conv: send failed\n");
		flows += (unsigned long)n;
		if (want != 0 && flows >= want)
			break;
	}
	printf("nf5conv: datagrams=%lu flows=%lu messages=%llu\n", dgs, flows,
	    (unsigned long long)p.msgs);
	pub_close(&p, 10000);
	close(fd);
	return 0;
}
