/* proto/: batch framing, record decoding and address helpers. */
#include <errno.h>
#include <stdlib.h>

#include "proto/evflow.h"
#include "t.h"

static void
test_batch_roundtrip(void)
{
	static uint8_t buf[EVP_BATCH_MAX_BYTES];
	struct evp_batch b;
	struct evp_batch_iter it;
	struct evp_rec_hdr rh;
	struct evp_flow f, g;
	struct evp_iface i = { .id = 3, .kind = EVP_IFACE_PACKET, .name = "eth0" };
	const void *body;

	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_EVENT;
	f.ip_version = 4;
	f.proto = 6;
	f.port[0] = 54348;
	f.port[1] = 80;
	f.side[0].present = EVP_SIDE_PROC | EVP_SIDE_LOCAL;
	f.side[0].proc.pid = 30197;
	strcpy(f.side[0].proc.path, "/usr/bin/curl");
	memcpy(f.extra, "{\"X\":1}", 7);
	f.extra_len = 7;

	evp_batch_init(&b, buf, 42);
	CHECK(evp_batch_add(&b, EVP_FLOW, 1, &f, evp_flow_len(&f)) == 0);
	CHECK(evp_batch_add(&b, EVP_IFACE, 2, &i, sizeof(i)) == 0);
	CHECK(evp_batch_open(&it, buf, b.len) == 0);
	CHECK_EQ_U(it.hdr.count, 2);
	CHECK_EQ_U(it.hdr.sender, 42);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK_EQ_U(rh.type, EVP_FLOW);
	CHECK_EQ_U(rh.seq, 1);
	/* Compact: the network part, two presence bytes, curl's process
	 * (numeric head + 4 length-prefixed strings), extra_len, extra. */
	CHECK_EQ_U(rh.len, offsetof(struct evp_flow, side) + 1 +
	    offsetof(struct evp_proc, uid_name) + 4 + 13 + 1 + 2 + 7);
	CHECK(evp_decode_flow(body, rh.len, &g) == 0);
	CHECK_EQ_U(g.port[1], 80);
	CHECK_STR(g.side[0].proc.path, "/usr/bin/curl");
	CHECK_EQ_U(g.side[0].proc.pid, 30197);
	CHECK_EQ_U(g.side[0].present, EVP_SIDE_PROC | EVP_SIDE_LOCAL);
	CHECK_EQ_U(g.side[1].present, 0);
	CHECK_STR(g.extra, "{\"X\":1}");
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK_EQ_U(rh.type, EVP_IFACE);
	CHECK(evp_batch_next(&it, &rh, &body) == 0);

	/* A truncated batch is malformed, not a short read. */
	CHECK(evp_batch_open(&it, buf, b.len - 1) == 0);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(evp_batch_next(&it, &rh, &body) == -1);
	/* Trailing garbage after the last record is malformed too. */
	CHECK(evp_batch_open(&it, buf, b.len + 1) == 0);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(evp_batch_next(&it, &rh, &body) == -1);
	/* Wrong magic. */
	buf[0] ^= 0xff;
	CHECK(evp_batch_open(&it, buf, b.len) == -1);
}

/* Encodes f and decodes the result into g. */
static int
roundtrip(const struct evp_flow *f, struct evp_flow *g, size_t *len)
{
	static uint8_t wire[EVP_FLOW_WIRE_MAX];

	*len = evp_flow_encode(f, wire);
	return evp_decode_flow(wire, *len, g);
}

static void
test_flow_checks(void)
{
	static uint8_t wire[EVP_FLOW_WIRE_MAX + 1];
	struct evp_flow f, g;
	size_t len, full;

	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_PACKET;
	f.ip_version = 6;
	CHECK(roundtrip(&f, &g, &len) == 0);
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);

	/* Every part present, every string at its bound: lossless. */
	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_EVENT;
	f.ip_version = 4;
	f.side[0].present = EVP_SIDE_PROC | EVP_SIDE_PARENT |
	    EVP_SIDE_CONTAINER | EVP_SIDE_LOCAL;
	memset(f.side[0].proc.path, 'p', sizeof(f.side[0].proc.path) - 1);
	memset(f.side[0].parent.cmdline, 'c',
	    sizeof(f.side[0].parent.cmdline) - 1);
	f.side[0].container.kind = EVP_CONT_K8S;
	memset(f.side[0].container.ns, 'n', sizeof(f.side[0].container.ns) - 1);
	f.side[1].present = EVP_SIDE_PROC;
	f.side[1].proc.vm_peak = 123456;
	memset(f.extra, 'x', EVP_EXTRA_MAX);
	f.extra_len = EVP_EXTRA_MAX;
	CHECK(roundtrip(&f, &g, &len) == 0);
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	CHECK(len <= EVP_FLOW_WIRE_MAX);
	full = len;

	/* Length must match exactly: one byte more or less is malformed. */
	len = evp_flow_encode(&f, wire);
	CHECK(evp_decode_flow(wire, len - 1, &g) == -1);
	CHECK(errno == EBADMSG);
	CHECK(evp_decode_flow(wire, len + 1, &g) == -1);
	CHECK(evp_decode_flow(wire, 10, &g) == -1);
	/* Unknown presence bits. */
	f.extra_len = 0;
	len = evp_flow_encode(&f, wire);
	wire[offsetof(struct evp_flow, side)] |= 0x80;
	CHECK(evp_decode_flow(wire, len, &g) == -1);
	/* A string length beyond its field. */
	len = evp_flow_encode(&f, wire);
	wire[offsetof(struct evp_flow, side) + 1 +
	    offsetof(struct evp_proc, uid_name)] = EVP_USER_LEN;
	CHECK(evp_decode_flow(wire, len, &g) == -1);
	/* A NUL inside a string. */
	strcpy(f.side[1].proc.uid_name, "ab");
	len = evp_flow_encode(&f, wire);
	CHECK(evp_decode_flow(wire, len, &g) == 0);
	{
		uint8_t *ab = memmem(wire, len, "\002ab", 3);

		CHECK(ab != NULL);
		if (ab != NULL)
			ab[2] = '\0';	/* side 1's uid_name becomes "a\0" */
		CHECK(evp_decode_flow(wire, len, &g) == -1);
	}
	CHECK(full > len);

	/* Checks on the network part. */
	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_EVENT;
	f.ip_version = 4;
	memset(f.ifname, 'A', sizeof(f.ifname));	/* unterminated */
	CHECK(roundtrip(&f, &g, &len) == -1);
	memset(f.ifname, 0, sizeof(f.ifname));
	f.ip_version = 5;
	CHECK(roundtrip(&f, &g, &len) == -1);
	f.ip_version = 4;
	f.source = EVP_SRC_MAX;
	CHECK(roundtrip(&f, &g, &len) == -1);
	f.source = EVP_SRC_EVENT;
	f.extra_len = 3;
	memcpy(f.extra, "a\0b", 3);	/* NUL inside extra */
	CHECK(roundtrip(&f, &g, &len) == -1);
	/* A struct of the wrong length is refused by the batch encoder. */
	{
		static uint8_t buf[EVP_BATCH_MAX_BYTES];
		struct evp_batch b;

		f.extra_len = 0;
		evp_batch_init(&b, buf, 1);
		CHECK(evp_batch_add(&b, EVP_FLOW, 1, &f, 12) == -1);
		CHECK(errno == EINVAL);
		CHECK(evp_batch_add(&b, EVP_FLOW, 1, &f, evp_flow_len(&f)) == 0);
	}
}

/* The application block: present only with EVP_F_HAS_APP, lossless. */
static void
test_flow_app(void)
{
	static uint8_t wire[EVP_FLOW_WIRE_MAX];
	struct evp_flow f, g;
	size_t len, plain;

	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_PACKET;
	f.ip_version = 4;
	plain = evp_flow_encode(&f, wire);
	/* Without the flag, whatever is in app stays off the wire. */
	strcpy(f.app.proto, "TLS");
	CHECK_EQ_U(evp_flow_encode(&f, wire), plain);
	CHECK(roundtrip(&f, &g, &len) == 0);
	CHECK_STR(g.app.proto, "");

	f.flags |= EVP_F_HAS_APP;
	strcpy(f.app.proto, "TLS.YouTube");
	strcpy(f.app.category, "Media");
	memset(f.app.sni, 's', sizeof(f.app.sni) - 1);
	strcpy(f.app.ja3, "e7d705a3286e19ea42f587b344ee6865");
	strcpy(f.app.ja3s, "15af977ce25de452b96affa2addb1036");
	strcpy(f.app.dns_query, "www.example.org");
	CHECK(roundtrip(&f, &g, &len) == 0);
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	CHECK_EQ_U(len, plain + 8 + 11 + 5 + 255 + 32 + 32 + 15);
	/* The flag without its block is malformed. */
	len = evp_flow_encode(&f, wire);
	wire[offsetof(struct evp_flow, flags)] &= (uint8_t)~EVP_F_HAS_APP;
	CHECK(evp_decode_flow(wire, len, &g) == -1);
}

/*
 * evp_flow_check (the router's) accepts exactly what evp_decode_flow
 * accepts, fills the same network part, and evp_flow_set_dest on the wire
 * bytes gives what encoding the patched record would.
 */
static void
test_flow_check(void)
{
	static uint8_t wire[EVP_FLOW_WIRE_MAX + 1], again[EVP_FLOW_WIRE_MAX];
	static uint8_t bad[EVP_FLOW_WIRE_MAX + 1];
	static const uint8_t vals[] = { 0, 1, 2, 0x7f, 0x80, 0xff };
	static struct evp_flow f, g, h;
	size_t len, i, k, mismatches = 0;
	int d, c;

	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_EVENT;
	f.ip_version = 4;
	f.flags = EVP_F_HAS_APP;
	f.port[0] = 40000;
	strcpy(f.ifname, "eth0");
	f.side[0].present = EVP_SIDE_PROC | EVP_SIDE_PARENT |
	    EVP_SIDE_CONTAINER | EVP_SIDE_LOCAL;
	strcpy(f.side[0].proc.path, "/usr/bin/curl");
	strcpy(f.side[0].proc.uid_name, "root");
	strcpy(f.side[0].parent.cmdline, "bash");
	f.side[0].container.kind = EVP_CONT_DOCKER;
	strcpy(f.side[0].container.id, "abc");
	f.side[1].present = EVP_SIDE_PROC;
	strcpy(f.side[1].proc.path, "/usr/sbin/nginx");
	strcpy(f.app.sni, "example.org");
	f.extra_len = (uint16_t)sprintf(f.extra, "{\"X\":1}");
	len = evp_flow_encode(&f, wire);
	CHECK(evp_decode_flow(wire, len, &g) == 0);
	memset(&h, 0xa5, sizeof(h));
	CHECK(evp_flow_check(wire, len, &h) == 0);
	CHECK(memcmp(&h, &g, offsetof(struct evp_flow, side)) == 0);
	CHECK_EQ_U(h.extra_len, g.extra_len);

	/* The patched wire bytes are the encoding of the patched record. */
	evp_flow_set_dest(wire, 5, 0x29);
	g.iface = 5;
	g.iface_mask = 0x29;
	CHECK_EQ_U(evp_flow_encode(&g, again), len);
	CHECK(memcmp(again, wire, len) == 0);
	CHECK(evp_decode_flow(wire, len, &h) == 0);
	CHECK(memcmp(&h, &g, sizeof(g)) == 0);

	/* Every length, and every byte changed to a few values: the check
	 * and the decode agree on what is malformed. */
	for (i = 0; i <= len + 1; i++) {
		d = evp_decode_flow(wire, i, &g);
		c = evp_flow_check(wire, i, &h);
		mismatches += d != c;
	}
	for (i = 0; i < len; i++)
		for (k = 0; k < sizeof(vals); k++) {
			memcpy(bad, wire, len);
			bad[i] = vals[k];
			d = evp_decode_flow(bad, len, &g);
			c = evp_flow_check(bad, len, &h);
			mismatches += d != c;
			if (d == 0 && c == 0)
				mismatches += memcmp(&g, &h,
				    offsetof(struct evp_flow, side)) != 0;
		}
	CHECK_EQ_U(mismatches, 0);
}

static void
test_hostname(void)
{
	struct evp_hostname h, o;

	memset(&h, 0, sizeof(h));
	h.ip_version = 4;
	h.source = EVP_NAME_DNS;
	h.ttl = 300;
	CHECK(evp_addr_parse("192.0.2.7", h.addr) == 4);
	strcpy(h.name, "www.example.org");
	CHECK(evp_decode_hostname(&h, sizeof(h), &o) == 0);
	CHECK(memcmp(&h, &o, sizeof(h)) == 0);
	CHECK(evp_decode_hostname(&h, sizeof(h) - 1, &o) == -1);
	h.source = EVP_NAME_MAX;
	CHECK(evp_decode_hostname(&h, sizeof(h), &o) == -1);
	h.source = EVP_NAME_SNI;
	h.name[0] = '\0';
	CHECK(evp_decode_hostname(&h, sizeof(h), &o) == -1);
	memset(h.name, 'a', sizeof(h.name));
	CHECK(evp_decode_hostname(&h, sizeof(h), &o) == -1);
	CHECK_STR(evp_name_source_name(EVP_NAME_HTTP), "http");
	CHECK_STR(evp_type_name(EVP_HOSTNAME), "hostname");
}

static void
test_addr(void)
{
	uint8_t a[16];
	char s[64];

	CHECK(evp_addr_parse("127.3.4.5", a) == 4);
	CHECK(evp_addr_is_v4(a));
	CHECK(evp_addr_is_loopback(a));
	CHECK_STR(evp_addr_str(a, s, sizeof(s)), "127.3.4.5");
	CHECK(evp_addr_parse("::1", a) == 6);
	CHECK(evp_addr_is_loopback(a));
	CHECK(evp_addr_parse("::ffff:127.0.0.1", a) == 4);
	CHECK(evp_addr_is_loopback(a));
	CHECK(evp_addr_parse("2001:db8::1", a) == 6);
	CHECK(!evp_addr_is_loopback(a));
	CHECK_STR(evp_addr_str(a, s, sizeof(s)), "2001:db8::1");
	CHECK(evp_addr_parse("10.0.0.1", a) == 4);
	CHECK(!evp_addr_is_loopback(a));
	CHECK(evp_addr_parse("not an address", a) == -1);
}

static void
test_names(void)
{
	CHECK_STR(evp_type_name(EVP_FLOW), "flow");
	CHECK_STR(evp_type_name(999), "unknown");
	CHECK_STR(evp_event_name(EVP_EV_CONNECT_FAILED), "CONNECT_FAILED");
	CHECK_STR(evp_tcp_state_name(EVP_TCP_FIN_WAIT2), "FIN-WAIT-2");
}

int
main(void)
{
	test_batch_roundtrip();
	test_flow_checks();
	test_flow_app();
	test_flow_check();
	test_hostname();
	test_addr();
	test_names();
	return t_done("test_proto");
}
