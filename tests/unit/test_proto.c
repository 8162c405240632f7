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
	CHECK_EQ_U(rh.len, EVP_FLOW_FIXED_LEN + 7);
	CHECK(evp_decode_flow(body, rh.len, &g) == 0);
	CHECK_EQ_U(g.port[1], 80);
	CHECK_STR(g.side[0].proc.path, "/usr/bin/curl");
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

static void
test_flow_checks(void)
{
	struct evp_flow f, g;

	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_PACKET;
	f.ip_version = 6;
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == 0);
	/* Length must match extra_len exactly. */
	CHECK(evp_decode_flow(&f, evp_flow_len(&f) + 1, &g) == -1);
	CHECK(errno == EBADMSG);
	/* Unterminated string. */
	memset(f.ifname, 'A', sizeof(f.ifname));
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == -1);
	memset(f.ifname, 0, sizeof(f.ifname));
	memset(f.side[1].container.pod, 'p', sizeof(f.side[1].container.pod));
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == -1);
	memset(f.side[1].container.pod, 0, sizeof(f.side[1].container.pod));
	f.ip_version = 5;
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == -1);
	f.ip_version = 4;
	f.source = EVP_SRC_MAX;
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == -1);
	f.source = EVP_SRC_EVENT;
	f.extra_len = 3;
	memcpy(f.extra, "a\0b", 3);	/* NUL inside extra */
	CHECK(evp_decode_flow(&f, evp_flow_len(&f), &g) == -1);
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
	test_addr();
	test_names();
	return t_done("test_proto");
}
