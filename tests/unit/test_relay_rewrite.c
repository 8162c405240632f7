/* relay/rewrite.c: what the central relay does to a batch from an edge.
 * Names become host:name (hello interface and name, stats name), the
 * sender id is mixed, other records pass byte for byte; a malformed
 * batch or a name that does not fit with its prefix is refused. */
#include <stdlib.h>
#include <string.h>

#include "relay/relay.h"
#include "t.h"

static uint8_t buf[EVP_BATCH_MAX_BYTES];

/* A batch: hello (name, iface), one flow, one stats record. */
static size_t
batch(const char *name, const char *iface, uint64_t sender)
{
	struct evp_batch b;
	struct evp_hello h;
	struct evp_flow f;
	struct evp_stats s;

	memset(&h, 0, sizeof(h));
	h.proto_version = EVP_VERSION;
	h.role = EVP_ROLE_CAPTURE;
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.iface, sizeof(h.iface), "%s", iface);
	memset(&f, 0, sizeof(f));
	f.source = EVP_SRC_EVENT;
	f.ip_version = 4;
	f.proto = 6;
	snprintf(f.ifname, sizeof(f.ifname), "eth0");
	memset(&s, 0, sizeof(s));
	s.role = EVP_ROLE_CAPTURE;
	s.count = 1;
	snprintf(s.name, sizeof(s.name), "%s", name);
	snprintf(s.key[0], sizeof(s.key[0]), "received");
	s.value[0] = 7;
	evp_batch_init(&b, buf, sender);
	CHECK(evp_batch_add(&b, EVP_HELLO, 0, &h, sizeof(h)) == 0);
	CHECK(evp_batch_add(&b, EVP_FLOW, 1, &f, evp_flow_len(&f)) == 0);
	CHECK(evp_batch_add(&b, EVP_STATS, 2, &s, sizeof(s)) == 0);
	return b.len;
}

int
main(void)
{
	struct evp_batch_iter it;
	struct evp_rec_hdr rh;
	struct evp_hello h;
	struct evp_stats s;
	enum rewrite_err why;
	const void *body;
	uint8_t copy[EVP_BATCH_MAX_BYTES];
	char longname[EVP_NAME_LEN];
	size_t len, flow_off = 0, flow_len = 0, k;

	CHECK(relay_host_check("host1") == 0);
	CHECK(relay_host_check("web-01.dc2") == 0);
	CHECK(relay_host_check("") == -1);
	CHECK(relay_host_check(".x") == -1);
	CHECK(relay_host_check("a:b") == -1);
	CHECK(relay_host_check("a/b") == -1);
	CHECK(relay_host_check("abcdefghijklmnopqrstuvwx") == -1);	/* 24 */

	len = batch("capture-eth0", "eth0", 0x1111);
	memcpy(copy, buf, len);
	CHECK(relay_batch_records(buf, len) == 2);
	CHECK(relay_rewrite(buf, len, "host1", 0xff00, &why) == 2);
	CHECK(why == RW_OK);
	CHECK(evp_batch_open(&it, buf, len) == 0);
	CHECK_EQ_U(it.hdr.sender, 0x1111 ^ 0xff00);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(evp_decode_hello(body, rh.len, &h) == 0);
	CHECK_STR(h.name, "host1:capture-eth0");
	CHECK_STR(h.iface, "host1:eth0");
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(rh.type == EVP_FLOW);
	flow_off = (size_t)((const uint8_t *)body - buf);
	flow_len = rh.len;
	/* the flow (and its IF_NAME) is untouched: the router resolves it
	 * within the host */
	CHECK(memcmp(buf + flow_off, copy + flow_off, flow_len) == 0);
	CHECK(evp_batch_next(&it, &rh, &body) == 1);
	CHECK(evp_decode_stats(body, rh.len, &s) == 0);
	CHECK_STR(s.name, "host1:capture-eth0");
	CHECK_EQ_U(s.value[0], 7);
	CHECK(evp_batch_next(&it, &rh, &body) == 0);

	/* A sender without an interface (a relay, a router) keeps none. */
	len = batch("relay", "", 1);
	CHECK(relay_rewrite(buf, len, "h2", 0, &why) == 2);
	CHECK(evp_batch_open(&it, buf, len) == 0 &&
	    evp_batch_next(&it, &rh, &body) == 1 &&
	    evp_decode_hello(body, rh.len, &h) == 0);
	CHECK_STR(h.name, "h2:relay");
	CHECK_STR(h.iface, "");

	/* A name that does not fit with the prefix: refused, not cut. */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "capture-", 8);
	longname[60] = '\0';
	len = batch(longname, "eth0", 1);
	CHECK(relay_rewrite(buf, len, "host1", 0, &why) == -1);
	CHECK(why == RW_TOO_LONG);

	/* Malformed: every truncation of a good batch, a bad magic, a
	 * bad hello. */
	len = batch("c", "eth0", 1);
	memcpy(copy, buf, len);
	for (k = 0; k < len; k++) {
		memcpy(buf, copy, len);
		CHECK(relay_rewrite(buf, k, "h", 0, &why) == -1);
		CHECK(why == RW_MALFORMED);
	}
	memcpy(buf, copy, len);
	buf[0] ^= 1;
	CHECK(relay_rewrite(buf, len, "h", 0, &why) == -1);
	memcpy(buf, copy, len);
	/* hello role 0 */
	memset(buf + sizeof(struct evp_batch_hdr) + sizeof(struct evp_rec_hdr)
	    + offsetof(struct evp_hello, role), 0, 4);
	CHECK(relay_rewrite(buf, len, "h", 0, &why) == -1);
	CHECK(why == RW_MALFORMED);
	return t_done("test_relay_rewrite");
}
