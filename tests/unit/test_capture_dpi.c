/* capture: the DNS response parser, the address-to-name cache and nDPI
 * on pcap files written here (names, protocols and every bound). */
#include <pcap/dlt.h>
#include <pthread.h>
#include <unistd.h>

#include "t.h"
#include "test_capture_pcap.h"

static char dir[] = "/tmp/evflow-capdpi-XXXXXX";
static char path[256];

#define SEC	1000000ull

static FILE *
open_pcap(const char *name)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	if ((fp = pw_open(path, DLT_EN10MB)) == NULL)
		abort();
	return fp;
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A DNS name in wire form; returns its length. */
static size_t
qname(uint8_t *p, const char *name)
{
	size_t n = 0, l;
	const char *dot;

	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

/* A response for `name` with `na` A answers 192.0.2.1.. (TTL 300). */
static size_t
dns_response(uint8_t *p, const char *name, unsigned na, unsigned flags)
{
	size_t n;
	unsigned i;

	memset(p, 0, 12);
	put16(p, 0x1234);
	put16(p + 2, flags);
	put16(p + 4, 1);
	put16(p + 6, na);
	n = 12 + qname(p + 12, name);
	put16(p + n, 1);
	put16(p + n + 2, 1);
	n += 4;
	for (i = 0; i < na; i++) {
		put16(p + n, 0xc00c);
		put16(p + n + 2, 1);
		put16(p + n + 4, 1);
		put16(p + n + 6, 0);
		put16(p + n + 8, 300);
		put16(p + n + 10, 4);
		p[n + 12] = 192;
		p[n + 13] = 0;
		p[n + 14] = 2;
		p[n + 15] = (uint8_t)(1 + i);
		n += 16;
	}
	return n;
}

static void
test_dns_parse(void)
{
	static struct dns_result r;
	uint8_t m[1024];
	size_t n;
	char a[46];

	n = dns_response(m, "WWW.Example.org", 2, 0x8180);
	CHECK_EQ_U(dns_parse_response(m, n, &r), 2);
	CHECK_STR(r.qname, "www.example.org");
	CHECK_STR(evp_addr_str(r.answer[1].addr, a, sizeof(a)), "192.0.2.2");
	CHECK_EQ_U(r.answer[0].ttl, 300);
	CHECK_EQ_U(r.answer[0].ipver, 4);
	/* Cut anywhere inside: malformed, never a read beyond. */
	CHECK(dns_parse_response(m, n - 1, &r) == -1);
	CHECK(dns_parse_response(m, 11, &r) == -1);
	/* A query, an error answer: nothing, not malformed. */
	n = dns_response(m, "www.example.org", 0, 0x0100);
	CHECK_EQ_U(dns_parse_response(m, n, &r), 0);
	n = dns_response(m, "www.example.org", 1, 0x8183);
	CHECK_EQ_U(dns_parse_response(m, n, &r), 0);
	/* More answers than kept: the first DNS_MAX_ANSWERS. */
	n = dns_response(m, "many.example", DNS_MAX_ANSWERS + 4, 0x8180);
	CHECK_EQ_U(dns_parse_response(m, n, &r), DNS_MAX_ANSWERS);
	/* A pointer to itself, a pointer forward. */
	n = dns_response(m, "www.example.org", 1, 0x8180);
	put16(m + 33, 0xc000 | 33);
	CHECK(dns_parse_response(m, n, &r) == -1);
	put16(m + 33, 0xc000 | 40);
	CHECK(dns_parse_response(m, n, &r) == -1);
	/* A name with a byte the store would have to escape. */
	n = dns_response(m, "a\"b.example", 1, 0x8180);
	CHECK(dns_parse_response(m, n, &r) == -1);
	/* A CNAME, then an AAAA whose owner is the CNAME's target (a
	 * pointer into the CNAME's data): attributed to the question. */
	{
		static const uint8_t cname[] = {
		    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
		    0x00, 0x00, 0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78, 0x61,
		    0x6d, 0x70, 0x6c, 0x65, 0x03, 0x6f, 0x72, 0x67, 0x00, 0x00,
		    0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00,
		    0x00, 0x00, 0x3c, 0x00, 0x06, 0x03, 0x63, 0x64, 0x6e, 0xc0,
		    0x10, 0xc0, 0x2d, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00,
		    0x3c, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
		    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		};

		CHECK_EQ_U(dns_parse_response(cname, sizeof(cname), &r), 1);
		CHECK_STR(r.qname, "www.example.org");
		CHECK_EQ_U(r.answer[0].ipver, 6);
		CHECK_STR(evp_addr_str(r.answer[0].addr, a, sizeof(a)),
		    "2001:db8::1");
		CHECK_EQ_U(r.answer[0].ttl, 60);
	}
	/* A name over 255 bytes. */
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname));
		for (n = 60; n < sizeof(longname); n += 61)
			longname[n] = '.';
		longname[sizeof(longname) - 1] = '\0';
		n = dns_response(m, longname, 1, 0x8180);
		CHECK(dns_parse_response(m, n, &r) == -1);
	}
}

struct names_got {
	struct evp_hostname h[16];
	unsigned n;
};

static void
names_collect(void *arg, const struct evp_hostname *h)
{
	struct names_got *g = arg;

	if (g->n < 16)
		g->h[g->n++] = *h;
}

static void
test_names_cache(void)
{
	uint64_t cnt[CC_MAX] = { 0 };
	struct names_got g = { .n = 0 };
	struct names *n = names_new(4, names_collect, &g, cnt);
	uint8_t a[16];
	unsigned i;

	CHECK(n != NULL);
	if (n == NULL)
		return;
	for (i = 1; i <= 5; i++) {
		char name[32];

		evp_addr_from_v4(a, htonl(0xc0000200u + i));
		snprintf(name, sizeof(name), "h%u.example", i);
		names_learn(n, a, name, EVP_NAME_DNS, i * SEC, 60);
	}
	CHECK_EQ_U(cnt[CC_NAMES_LEARNED], 5);
	CHECK_EQ_U(cnt[CC_NAMES_EVICTED], 1);
	CHECK_EQ_U(g.n, 5);
	CHECK_STR(g.h[4].name, "h5.example");
	CHECK_EQ_U(g.h[4].ttl, 60);
	CHECK_EQ_U(g.h[4].ip_version, 4);
	evp_addr_from_v4(a, htonl(0xc0000201u));
	CHECK(names_get(n, a) == NULL);		/* the oldest went */
	evp_addr_from_v4(a, htonl(0xc0000203u));
	CHECK_STR(names_get(n, a), "h3.example");
	/* The same pair again: no record; from another source or with
	 * another name: a record; after the refresh time: a record. */
	names_learn(n, a, "h3.example", EVP_NAME_DNS, 10 * SEC, 60);
	CHECK_EQ_U(g.n, 5);
	names_learn(n, a, "h3.example", EVP_NAME_SNI, 11 * SEC, 0);
	CHECK_EQ_U(g.n, 6);
	CHECK_EQ_U(g.h[5].source, EVP_NAME_SNI);
	names_learn(n, a, "other.example", EVP_NAME_SNI, 12 * SEC, 0);
	CHECK_EQ_U(g.n, 7);
	CHECK_EQ_U(cnt[CC_NAMES_CHANGED], 2);
	names_learn(n, a, "other.example", EVP_NAME_SNI, 12 * SEC +
	    EVP_HOSTNAME_REFRESH_SEC * SEC, 0);
	CHECK_EQ_U(g.n, 8);
	CHECK_EQ_U(cnt[CC_HOSTNAME_RECORDS], 8);
	/* Being seen keeps an address: h2 is now the oldest. */
	evp_addr_from_v4(a, htonl(0xc0000209u));
	names_learn(n, a, "h9.example", EVP_NAME_DNS, 20 * SEC, 60);
	evp_addr_from_v4(a, htonl(0xc0000203u));
	CHECK(names_get(n, a) != NULL);
	evp_addr_from_v4(a, htonl(0xc0000202u));
	CHECK(names_get(n, a) == NULL);
	names_free(n);
	CHECK(names_new(0, names_collect, &g, cnt) == NULL);
}

/* Noted pairs are learned later, in order, as names_learn would: at
 * names_flush, with the NAMES_BATCH-th pair, or before a names_learn. */
static void
test_names_note(void)
{
	uint64_t cnt[CC_MAX] = { 0 };
	struct names_got g = { .n = 0 };
	struct names *n = names_new(64, names_collect, &g, cnt);
	uint8_t a[16], b[16];
	unsigned i;

	CHECK(n != NULL);
	if (n == NULL)
		return;
	evp_addr_from_v4(a, htonl(0xc0000301u));
	evp_addr_from_v4(b, htonl(0xc0000302u));
	names_note(n, a, "first.example", EVP_NAME_DNS, 1 * SEC, 60);
	names_note(n, a, "second.example", EVP_NAME_SNI, 2 * SEC, 0);
	names_note(n, b, "", EVP_NAME_DNS, 2 * SEC, 60);	/* ignored */
	CHECK_EQ_U(g.n, 0);
	CHECK(names_get(n, a) == NULL);
	names_flush(n);
	CHECK_EQ_U(g.n, 2);
	CHECK_STR(g.h[0].name, "first.example");
	CHECK_STR(g.h[1].name, "second.example");
	CHECK_EQ_U(g.h[1].source, EVP_NAME_SNI);
	CHECK_STR(names_get(n, a), "second.example");
	CHECK_EQ_U(cnt[CC_NAMES_LEARNED], 1);
	CHECK_EQ_U(cnt[CC_NAMES_CHANGED], 1);
	names_flush(n);				/* nothing noted: no record */
	CHECK_EQ_U(g.n, 2);
	/* A learn comes after what was noted before it. */
	names_note(n, b, "b1.example", EVP_NAME_DNS, 3 * SEC, 60);
	names_learn(n, b, "b2.example", EVP_NAME_HTTP, 4 * SEC, 0);
	CHECK_EQ_U(g.n, 4);
	CHECK_STR(g.h[2].name, "b1.example");
	CHECK_STR(g.h[3].name, "b2.example");
	CHECK_STR(names_get(n, b), "b2.example");
	/* The batch's last pair learns the batch. */
	g.n = 0;
	for (i = 0; i < NAMES_BATCH; i++) {
		evp_addr_from_v4(a, htonl(0xc0000400u + i));
		names_note(n, a, "many.example", EVP_NAME_DNS, 5 * SEC, 60);
		CHECK_EQ_U(g.n, i + 1 < NAMES_BATCH ? 0 : NAMES_BATCH > 16 ?
		    16 : NAMES_BATCH);
	}
	CHECK_EQ_U(cnt[CC_HOSTNAME_RECORDS], 4 + NAMES_BATCH);
	names_free(n);
}

/* A TLS ClientHello with SNI `host` into p; returns its length. */
static size_t
tls_hello(uint8_t *p, const char *host)
{
	size_t n, e, h = strlen(host);

	p[0] = 0x16;
	put16(p + 1, 0x0301);
	p[5] = 1;
	p[6] = 0;
	put16(p + 9, 0x0303);
	memset(p + 11, 0x42, 32);
	p[43] = 0;
	n = 44;
	put16(p + n, 4);
	put16(p + n + 2, 0x1301);
	put16(p + n + 4, 0xc02f);
	p[n + 6] = 1;
	p[n + 7] = 0;
	n += 8;
	e = n;
	n += 2;
	put16(p + n, 0);
	put16(p + n + 2, (unsigned)h + 5);
	put16(p + n + 4, (unsigned)h + 3);
	p[n + 6] = 0;
	put16(p + n + 7, (unsigned)h);
	memcpy(p + n + 9, host, h);
	n += 9 + h;
	put16(p + e, (unsigned)(n - e - 2));
	put16(p + 3, (unsigned)(n - 5));
	put16(p + 7, (unsigned)(n - 9));
	return n;
}

/* A TLS 1.3 ServerHello into p; returns its length. */
static size_t
tls_server_hello(uint8_t *p)
{
	size_t n;

	p[0] = 0x16;
	put16(p + 1, 0x0303);
	p[5] = 2;
	p[6] = 0;
	put16(p + 9, 0x0303);
	memset(p + 11, 0x24, 32);
	p[43] = 0;
	n = 44;
	put16(p + n, 0x1301);
	p[n + 2] = 0;
	n += 3;
	put16(p + n, 6);
	put16(p + n + 2, 0x002b);
	put16(p + n + 4, 2);
	put16(p + n + 6, 0x0304);
	n += 8;
	put16(p + 3, (unsigned)(n - 5));
	put16(p + 7, (unsigned)(n - 9));
	return n;
}

/* One TCP segment c2s (or s2c) of the flow cli:cport <-> srv:sport. */
static void
seg(FILE *fp, uint64_t ts, const char *cli, const char *srv, uint16_t cport,
    uint16_t sport, int c2s, uint8_t flags, uint32_t seq, const uint8_t *d,
    uint32_t len)
{
	struct tp t = { .src = c2s ? cli : srv, .dst = c2s ? srv : cli,
	    .proto = 6, .sport = c2s ? cport : sport, .dport = c2s ? sport :
	    cport, .flags = flags, .seq = seq, .payload = len, .data = d };
	struct pb p;

	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, ts, &p);
}

static void
udp(FILE *fp, uint64_t ts, const char *s, const char *d, uint16_t sp,
    uint16_t dp, const uint8_t *data, uint32_t len)
{
	struct tp t = { .src = s, .dst = d, .proto = 17, .sport = sp,
	    .dport = dp, .payload = len, .data = data };
	struct pb p;

	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, ts, &p);
}

/* 0: nDPI on the packet path; else the bytes of the ring feeding its
 * worker thread (a file's: the packet path waits for room). */
static size_t test_queue;

static const struct evp_flow *
find_srv(const struct run *r, uint16_t sport)
{
	const struct evp_flow *f = NULL;
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (r->rec[i].port[1] == sport)
			f = &r->rec[i];
	return f;
}

static void
test_dpi_file(void)
{
	struct flow_cfg cfg = run_cfg();
	struct dpi_cfg dc = { cfg.max_flows, 64, 8, 8192, test_queue, 1,
	    NULL };
	static const char http[] = "GET / HTTP/1.1\r\nHost: Web.Example.ORG"
	    "\r\nUser-Agent: t\r\n\r\n";
	const struct evp_flow *f;
	uint8_t buf[1024];
	struct run *r;
	size_t n;
	char a[46];
	FILE *fp = open_pcap("app");

	/* TLS to 10.9.0.2:443, with a handshake first. */
	seg(fp, SEC, "10.9.0.1", "10.9.0.2", 40001, 443, 1, TH_SYN, 1, NULL,
	    0);
	seg(fp, SEC + 10, "10.9.0.1", "10.9.0.2", 40001, 443, 0,
	    TH_SYN | TH_ACK, 1, NULL, 0);
	seg(fp, SEC + 20, "10.9.0.1", "10.9.0.2", 40001, 443, 1, TH_ACK, 2,
	    NULL, 0);
	n = tls_hello(buf, "secure.example.org");
	seg(fp, SEC + 30, "10.9.0.1", "10.9.0.2", 40001, 443, 1,
	    TH_ACK | TH_PSH, 2, buf, (uint32_t)n);
	n = tls_server_hello(buf);
	seg(fp, SEC + 35, "10.9.0.1", "10.9.0.2", 40001, 443, 0,
	    TH_ACK | TH_PSH, 2, buf, (uint32_t)n);
	/* HTTP to 10.9.0.3:8080 (not its usual port). */
	seg(fp, SEC + 40, "10.9.0.1", "10.9.0.3", 40002, 8080, 1,
	    TH_ACK | TH_PSH, 100, (const uint8_t *)http, sizeof(http) - 1);
	/* DNS: a query and its answer (two A records). */
	n = dns_response(buf, "Names.Example.org", 0, 0x0100);
	udp(fp, SEC + 50, "10.9.0.1", "10.9.0.53", 40053, 53, buf,
	    (uint32_t)n);
	n = dns_response(buf, "Names.Example.org", 2, 0x8180);
	udp(fp, SEC + 60, "10.9.0.53", "10.9.0.1", 53, 40053, buf,
	    (uint32_t)n);
	/* A bare handshake: no payload, no application block. */
	seg(fp, SEC + 70, "10.9.0.1", "10.9.0.4", 40003, 22, 1, TH_SYN, 1,
	    NULL, 0);
	fclose(fp);

	r = run_file_dpi(path, &cfg, NULL, &dc, 64);
	CHECK_EQ_U(r->read_rc, 0);
	CHECK((f = find_srv(r, 443)) != NULL);
	if (f != NULL) {
		CHECK(f->flags & EVP_F_HAS_APP);
		CHECK_STR(f->app.proto, "TLS");
		CHECK_STR(f->app.sni, "secure.example.org");
		CHECK_EQ_U(strlen(f->app.ja3), 32);
		CHECK_EQ_U(strlen(f->app.ja3s), 32);
		CHECK_STR(f->app.http_host, "");
		CHECK(f->app.category[0] != '\0');
	}
	CHECK((f = find_srv(r, 8080)) != NULL);
	if (f != NULL) {
		CHECK_STR(f->app.proto, "HTTP");
		CHECK_STR(f->app.http_host, "web.example.org");
		CHECK_STR(f->app.sni, "");
	}
	CHECK((f = find_srv(r, 53)) != NULL);
	if (f != NULL) {
		CHECK_STR(f->app.proto, "DNS");
		CHECK_STR(f->app.dns_query, "names.example.org");
	}
	CHECK((f = find_srv(r, 22)) != NULL);
	if (f != NULL)
		CHECK(!(f->flags & EVP_F_HAS_APP));
	CHECK_EQ_U(r->cnt[CC_DPI_FLOWS], 3);
	CHECK_EQ_U(r->cnt[CC_DPI_DETECTED], 3);
	CHECK_EQ_U(r->cnt[CC_DNS_RESPONSES], 1);
	/* Names: SNI and HTTP Host for their servers, two DNS answers. */
	CHECK_EQ_U(r->nnames, 4);
	CHECK_EQ_U(r->cnt[CC_HOSTNAME_RECORDS], 4);
	/* SNI and Host when the flow's first payload packet is inspected,
	 * the DNS answers when seen. */
	for (n = 0; n < r->nnames; n++) {
		evp_addr_str(r->name[n].addr, a, sizeof(a));
		switch (r->name[n].source) {
		case EVP_NAME_SNI:
			CHECK_STR(r->name[n].name, "secure.example.org");
			CHECK_STR(a, "10.9.0.2");
			CHECK_EQ_U(r->name[n].ts_usec, SEC + 35);
			break;
		case EVP_NAME_HTTP:
			CHECK_STR(r->name[n].name, "web.example.org");
			CHECK_STR(a, "10.9.0.3");
			CHECK_EQ_U(r->name[n].ttl, 0);
			break;
		default:
			CHECK_EQ_U(r->name[n].source, EVP_NAME_DNS);
			CHECK_STR(r->name[n].name, "names.example.org");
			CHECK(strcmp(a, "192.0.2.1") == 0 ||
			    strcmp(a, "192.0.2.2") == 0);
			CHECK_EQ_U(r->name[n].ttl, 300);
			CHECK_EQ_U(r->name[n].ts_usec, SEC + 60);
		}
	}
	free(r);
}

/* The bounds: packets per flow, memory per flow, states at once. */
static void
test_dpi_bounds(void)
{
	struct flow_cfg cfg = run_cfg();
	struct dpi_cfg dc = { cfg.max_flows, 64, 3, 8192, test_queue, 1,
	    NULL };
	const struct evp_flow *f;
	uint8_t buf[1200];
	struct run *r;
	unsigned i;
	FILE *fp;

	/* Five payload packets of nothing nDPI knows; it may see three. */
	fp = open_pcap("limit");
	memset(buf, 0xa7, sizeof(buf));
	for (i = 0; i < 5; i++)
		seg(fp, SEC + i, "10.8.0.1", "10.8.0.2", 40000, 31337,
		    i % 2 == 0,
		    TH_ACK | TH_PSH, 1 + i * 100, buf, 100);
	fclose(fp);
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->cnt[CC_DPI_PACKETS], 3);
	CHECK_EQ_U(r->cnt[CC_DPI_PACKET_LIMIT], 1);
	CHECK((f = find_srv(r, 31337)) != NULL);
	if (f != NULL) {
		CHECK(f->flags & EVP_F_HAS_APP);
		CHECK_STR(f->app.proto, "Unknown");
	}
	free(r);

	/* Memory: a TLS record announcing a 16 KB handshake makes nDPI
	 * keep the segments; a bound just above its flow state stops it. */
	fp = open_pcap("memory");
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x16;
	put16(buf + 1, 0x0303);
	put16(buf + 3, 16000);
	buf[5] = 1;
	for (i = 0; i < 3; i++)
		seg(fp, SEC + i, "10.8.1.1", "10.8.1.2", 40000, 443, 1,
		    TH_ACK | TH_PSH, 1 + i * 1100, buf, 1100);
	fclose(fp);
	dc.max_packets = 8;
	dc.flow_memory = dpi_state_bytes() + 64;
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->cnt[CC_DPI_MEMORY_LIMIT], 1);
	/* The worker's answer reaches the packet path later: it may have
	 * given the third packet already (the worker ignores it). */
	CHECK(r->cnt[CC_DPI_PACKETS] < (test_queue ? 4u : 3u));
	free(r);
	/* The same with room: no limit hit. */
	dc.flow_memory = 64 * 1024;
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->cnt[CC_DPI_MEMORY_LIMIT], 0);
	CHECK_EQ_U(r->cnt[CC_DPI_PACKETS], 3);
	free(r);

	/* Two states for three flows: the oldest inspection is ended with
	 * nDPI's answer so far, the third flow is inspected. */
	fp = open_pcap("reclaim");
	memset(buf, 0xa7, sizeof(buf));
	for (i = 0; i < 3; i++)
		seg(fp, SEC + i, "10.8.2.1", "10.8.2.2", (uint16_t)(40000 + i),
		    31337, 1, TH_ACK | TH_PSH, 1, buf, 50);
	fclose(fp);
	dc.slots = 2;
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->cnt[CC_DPI_FLOWS], 3);
	CHECK_EQ_U(r->cnt[CC_DPI_RECLAIMED], 1);
	CHECK_EQ_U(r->n, 3);
	for (i = 0; i < r->n; i++)
		CHECK(r->rec[i].flags & EVP_F_HAS_APP);
	free(r);

	/* Below nDPI's own flow state: refused with a reason. */
	{
		uint64_t cnt[CC_MAX];
		char err[256];

		dc.flow_memory = 16;
		CHECK(dpi_new(&dc, cnt, NULL, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "dpi_flow_memory") != NULL);
	}
}


/* capture.dpi_protocols: only the named dissectors run (the HTTP flow of
 * test_dpi_file's file has no Host then); an unknown name is refused. */
static void
test_dpi_protocols(void)
{
	struct flow_cfg cfg = run_cfg();
	struct dpi_cfg dc = { cfg.max_flows, 64, 8, 8192, 0, 1,
	    "NoSuchProto" };
	const struct evp_flow *f;
	uint64_t cnt[CC_MAX];
	char err[256];
	struct run *r;
	struct dpi *d;

	CHECK(dpi_new(&dc, cnt, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "capture.dpi_protocols") != NULL);
	CHECK(strstr(err, "NoSuchProto") != NULL);
	dc.protocols = " , ";
	CHECK(dpi_new(&dc, cnt, NULL, err, sizeof(err)) == NULL);
	dc.protocols = "";
	CHECK((d = dpi_new(&dc, cnt, NULL, err, sizeof(err))) != NULL);
	dpi_free(d);

	dc.protocols = "tls, DNS";
	snprintf(path, sizeof(path), "%s/app.pcap", dir);
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->read_rc, 0);
	CHECK((f = find_srv(r, 443)) != NULL);
	if (f != NULL) {
		CHECK_STR(f->app.proto, "TLS");
		CHECK_STR(f->app.sni, "secure.example.org");
	}
	CHECK((f = find_srv(r, 53)) != NULL);
	if (f != NULL)
		CHECK_STR(f->app.dns_query, "names.example.org");
	CHECK((f = find_srv(r, 8080)) != NULL);
	if (f != NULL) {
		CHECK(f->flags & EVP_F_HAS_APP);
		CHECK(strcmp(f->app.proto, "HTTP") != 0);
		CHECK_STR(f->app.http_host, "");
	}
	free(r);
}

/* The ring alone, one thread: order, bounds, wrap-around, waits. */
static void
test_dpi_queue(void)
{
	struct dpiq *q = dpiq_new(4096);
	const uint8_t *rp;
	uint8_t *wp;
	unsigned i, nw = 0, nr = 0;
	size_t len;

	CHECK(q != NULL);
	if (q == NULL)
		return;
	CHECK(dpiq_new(100) == NULL);
	CHECK_EQ_U(dpiq_bytes(q), 4096);
	CHECK_EQ_U(dpiq_max_record(q), 1016);
	CHECK(dpiq_reserve(q, 1017) == NULL);
	CHECK(dpiq_idle(q));
	/* 100-byte records take 112 bytes: 36 fit. */
	while ((wp = dpiq_reserve(q, 100)) != NULL) {
		memset(wp, (int)(nw & 0xff), 100);
		dpiq_commit(q);
		nw++;
	}
	CHECK_EQ_U(nw, 36);
	CHECK(!dpiq_idle(q));
	CHECK_EQ_U(dpiq_backlog(q), 36 * 112);
	/* No consumer: a bounded wait ends unsatisfied. */
	CHECK_EQ_U(dpiq_wait(q, dpiq_head(q), 2000), 0);
	dpiq_publish(q);
	for (i = 0; i < 10; i++) {
		rp = dpiq_peek(q, &len);
		CHECK(rp != NULL);
		if (rp == NULL)
			break;
		CHECK_EQ_U(len, 100);
		CHECK_EQ_U(rp[0], nr & 0xff);
		CHECK_EQ_U(rp[99], nr & 0xff);
		dpiq_release(q, len);
		nr++;
	}
	/* Room again: the next records wrap (a skip at the end). */
	for (i = 0; i < 8; i++) {
		wp = dpiq_reserve(q, 100);
		CHECK(wp != NULL);
		if (wp == NULL)
			break;
		memset(wp, (int)(nw & 0xff), 100);
		dpiq_commit(q);
		nw++;
	}
	dpiq_publish(q);
	while ((rp = dpiq_peek(q, &len)) != NULL) {
		CHECK_EQ_U(len, 100);
		CHECK_EQ_U(rp[0], nr & 0xff);
		CHECK_EQ_U(rp[99], nr & 0xff);
		dpiq_release(q, len);
		nr++;
	}
	CHECK_EQ_U(nr, nw);
	CHECK(dpiq_idle(q));
	CHECK_EQ_U(dpiq_backlog(q), 0);
	CHECK_EQ_U(dpiq_wait(q, dpiq_head(q), 0), 1);
	dpiq_free(q);
}

#define QT_RECORDS	200000

struct qt {
	struct dpiq	*q;
	unsigned	 got, bad;
};

/* Record n: its length and the byte at offset j. */
static size_t
qt_len(unsigned n)
{
	return 1 + (n * 7919u) % 1000;
}

static uint8_t
qt_byte(unsigned n, size_t j)
{
	return (uint8_t)(n * 31u + j);
}

static void *
qt_consumer(void *arg)
{
	struct qt *t = arg;
	const uint8_t *p;
	size_t len, j;

	for (;;) {
		if ((p = dpiq_peek(t->q, &len)) == NULL) {
			if (dpiq_stopped(t->q) && dpiq_peek(t->q, &len) ==
			    NULL)
				break;
			dpiq_wait_data(t->q);
			continue;
		}
		if (len != qt_len(t->got))
			t->bad++;
		else
			for (j = 0; j < len; j++)
				if (p[j] != qt_byte(t->got, j)) {
					t->bad++;
					break;
				}
		t->got++;
		dpiq_release(t->q, len);
	}
	return NULL;
}

/* Two threads through a small ring: every record arrives, in order and
 * intact, the producer waiting for room (as a file's packet path). */
static void
test_dpi_queue_threads(void)
{
	struct qt t = { dpiq_new(16384), 0, 0 };
	pthread_t th;
	unsigned n;
	uint8_t *p;
	size_t len, j;

	CHECK(t.q != NULL);
	if (t.q == NULL || pthread_create(&th, NULL, qt_consumer, &t) != 0) {
		CHECK(0);
		return;
	}
	for (n = 0; n < QT_RECORDS; n++) {
		len = qt_len(n);
		while ((p = dpiq_reserve(t.q, len)) == NULL)
			(void)dpiq_wait(t.q, dpiq_head(t.q) - 8192, UINT64_MAX);
		for (j = 0; j < len; j++)
			p[j] = qt_byte(n, j);
		dpiq_commit(t.q);
		if (n % 32 == 31)
			dpiq_publish(t.q);
	}
	dpiq_publish(t.q);
	CHECK_EQ_U(dpiq_wait(t.q, dpiq_head(t.q), UINT64_MAX), 1);
	CHECK(dpiq_idle(t.q));
	dpiq_stop(t.q);
	pthread_join(th, NULL);
	CHECK_EQ_U(t.got, QT_RECORDS);
	CHECK_EQ_U(t.bad, 0);
	dpiq_free(t.q);
}

#define LOSSY_FLOWS	120	/* < RUN_MAX: every record kept */

/*
 * A NIC's worker (lossless 0) behind the smallest ring, given a burst of
 * new TLS flows far faster than nDPI takes them: flows whose first
 * payload packet found no room are counted and say "Not inspected", the
 * others are TLS with their SNI, a flow ending while the worker is busy
 * is counted late (and carries what was known so far: TLS without its
 * name, or nothing); nothing is lost without a count.
 */
static void
test_dpi_lossy(void)
{
	struct flow_cfg cfg = run_cfg();
	struct dpi_cfg dc = { cfg.max_flows, 64, 8, 8192, 4096, 0, NULL };
	unsigned i, tls = 0, skipped = 0, none = 0, part = 0, other = 0;
	uint8_t buf[1024];
	struct run *r;
	size_t n;
	FILE *fp = open_pcap("lossy");

	cfg.max_flows = 2 * LOSSY_FLOWS;
	dc.max_flows = cfg.max_flows;
	n = tls_hello(buf, "burst.example.org");
	for (i = 0; i < LOSSY_FLOWS; i++)
		seg(fp, SEC + i, "10.7.0.1", "10.7.0.2",
		    (uint16_t)(10000 + i), 443, 1, TH_ACK | TH_PSH, 1, buf,
		    (uint32_t)n);
	fclose(fp);
	r = run_file_dpi(path, &cfg, NULL, &dc, 0);
	CHECK_EQ_U(r->read_rc, 0);
	for (i = 0; i < r->n; i++) {
		const struct evp_flow *f = &r->rec[i];

		if (!(f->flags & EVP_F_HAS_APP))
			none++;
		else if (strcmp(f->app.proto, "Not inspected") == 0)
			skipped++;
		else if (strcmp(f->app.proto, "TLS") == 0 &&
		    strcmp(f->app.sni, "burst.example.org") == 0)
			tls++;
		else if (strcmp(f->app.proto, "TLS") == 0 &&
		    f->app.sni[0] == '\0')
			part++;		/* late: what was known so far */
		else
			other++;
	}
	CHECK_EQ_U(r->n, LOSSY_FLOWS);
	CHECK_EQ_U(r->cnt[CC_DPI_FLOWS] + r->cnt[CC_DPI_NOT_INSPECTED],
	    LOSSY_FLOWS);
	CHECK(r->cnt[CC_DPI_NOT_INSPECTED] > 0);
	CHECK(r->cnt[CC_DPI_FLOWS] > 0);
	CHECK_EQ_U(skipped, r->cnt[CC_DPI_NOT_INSPECTED]);
	CHECK_EQ_U(r->cnt[CC_DPI_QUEUE_FULL], r->cnt[CC_DPI_NOT_INSPECTED]);
	CHECK_EQ_U(none + part, r->cnt[CC_DPI_LATE]);
	CHECK_EQ_U(tls + none + part, r->cnt[CC_DPI_FLOWS]);
	CHECK_EQ_U(other, 0);
	free(r);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_dns_parse();
	test_names_cache();
	test_names_note();
	test_dpi_file();
	test_dpi_bounds();
	/* The same on the worker thread: a file's results are the same. */
	test_queue = 64 * 1024;
	test_dpi_file();
	test_dpi_bounds();
	test_queue = 0;
	test_dpi_protocols();
	test_dpi_queue();
	test_dpi_queue_threads();
	test_dpi_lossy();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	return t_done("test_capture_dpi");
}
