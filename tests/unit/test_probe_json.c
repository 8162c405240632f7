/*
 * probe/emit.c read back by the collector's own parser (collector/
 * event_json.c): every event type, both families, the netstat and
 * counter shapes land in the right record fields with zero
 * fields_wrong_type and zero drops; the message header decodes as the
 * collector decodes it; zmq_pub.c's batches (JSON arrays), zlib payloads
 * and msg_id sequence read back through a real SUB socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "collector/collector.h"
#include "probe/probe.h"
#include "probe/probe_event.h"
#include "t.h"
#include "t_flow.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static uint64_t ctr[C_COUNTER_MAX];
static struct ej ej;
static struct evp_flow got;
static struct evp_ifcounter gotc;
static unsigned nrec;

static int
capture(void *arg, uint16_t type, const void *body, size_t len)
{
	(void)arg;
	nrec++;
	if (type == EVP_FLOW)
		CHECK(t_flow_wire(body, len, &got) == 0);
	else if (type == EVP_IFCOUNTER)
		CHECK(evp_decode_ifcounter(body, len, &gotc) == 0);
	return 0;
}

/* Parses `b` as topic `t`; checks one record, nothing wrong. */
static void
parse(struct buf *b, enum ej_topic t)
{
	CHECK(buf_ok(b));
	memset(&got, 0, sizeof(got));
	nrec = 0;
	CHECK(ej_parse(&ej, t, b->p, b->len) == 0);
	CHECK_EQ_U(nrec, 1);
	CHECK_EQ_U(ctr[C_FIELDS_WRONG_TYPE], 0);
	CHECK_EQ_U(ctr[C_DROP_EV_WRONG_TYPE] + ctr[C_DROP_EV_MISSING_FIELD] +
	    ctr[C_DROP_EV_BAD_ADDRESS] + ctr[C_DROP_EV_NOT_OBJECT], 0);
	CHECK_EQ_U(ctr[C_STRINGS_BAD_UTF8], 0);
	if (t_failed)
		fprintf(stderr, "json: %s\n", b->p);
	buf_reset(b);
}

static struct proc_entry pe;

static void
flow(struct probe_flow *f, uint8_t type, int v6)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->proto = type >= PEV_UDP_SEND ? 17 : 6;
	if (v6) {
		evp_addr_parse("2001:db8::10", f->laddr);
		evp_addr_parse("2001:db8::20", f->raddr);
	} else {
		evp_addr_parse("10.1.0.1", f->laddr);
		evp_addr_parse("10.1.0.2", f->raddr);
	}
	f->lport = 45000;
	f->rport = 80;
	f->ts_usec = 1715935521084213ULL;
	f->pid = 20;
	f->tid = 21;
	f->uid = 1000;
	f->gid = 100;
	f->uid_name = "alice";
	f->gid_name = "users";
	f->ifname = "veth0";
	f->pe = &pe;
}

static void
test_connect_accept(struct buf *b)
{
	struct probe_flow f;
	char a[64];

	flow(&f, PEV_CONNECT, 0);
	f.latency_usec = 221;
	emit_event_json(b, &f, 1);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_CONNECT);
	CHECK_EQ_U(got.proto, 6);
	CHECK_EQ_U(got.ip_version, 4);
	CHECK_STR(evp_addr_str(got.addr[0], a, sizeof(a)), "10.1.0.1");
	CHECK_EQ_U(got.port[0], 45000);
	CHECK_EQ_U(got.port[1], 80);
	CHECK_EQ_U(got.nw_latency_us, 221);
	CHECK_STR(got.ifname, "veth0");
	CHECK_EQ_U(got.ts_usec, 1715935521084213ULL);
	CHECK(got.side[0].present & EVP_SIDE_PROC);
	CHECK_EQ_U(got.side[0].proc.pid, 20);
	CHECK_EQ_U(got.side[0].proc.tid, 21);
	CHECK_EQ_U(got.side[0].proc.uid, 1000);
	CHECK_EQ_U(got.side[0].proc.gid, 100);
	CHECK_STR(got.side[0].proc.uid_name, "alice");
	CHECK_STR(got.side[0].proc.gid_name, "users");
	CHECK_STR(got.side[0].proc.path, "/usr/bin/curl");
	CHECK_STR(got.side[0].proc.cmdline, "curl -s http://x/");
	CHECK(got.side[0].present & EVP_SIDE_PARENT);
	CHECK_EQ_U(got.side[0].parent.pid, 10);
	CHECK_STR(got.side[0].parent.path, "/usr/bin/bash");
	CHECK(got.side[0].present & EVP_SIDE_CONTAINER);
	CHECK_EQ_U(got.side[0].container.kind, EVP_CONT_DOCKER);
	CHECK_STR(got.side[0].container.id, ID64);
	CHECK_EQ_U(got.side[1].present, 0);
	CHECK(got.extra_len > 0 && strstr(got.extra, "NETNS_INODE") != NULL);

	/* ACCEPT: the local process is the server (side 1) */
	flow(&f, PEV_ACCEPT, 1);
	f.lport = 443;
	f.rport = 51000;
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_ACCEPT);
	CHECK_EQ_U(got.ip_version, 6);
	CHECK_STR(evp_addr_str(got.addr[0], a, sizeof(a)), "2001:db8::20");
	CHECK_EQ_U(got.port[0], 51000);
	CHECK_EQ_U(got.port[1], 443);
	CHECK_EQ_U(got.side[0].present, 0);
	CHECK(got.side[1].present & EVP_SIDE_PROC);
	CHECK_EQ_U(got.side[1].proc.pid, 20);
	CHECK_EQ_U(got.flags & EVP_F_SIDES_GUESSED, 0);
	CHECK_EQ_U(got.extra_len, 0);
}

static void
test_close_udp(struct buf *b)
{
	struct probe_flow f;
	char a[64];

	flow(&f, PEV_CLOSE, 0);
	f.has_tcpinfo = 1;
	f.tcp_state = 7;
	f.bytes_acked = 123456;
	f.bytes_received = 654321;
	f.segs_in = 40;
	f.segs_out = 41;
	f.retrans = 3;
	f.srtt_us = 1500;
	f.rttvar_us = 250;
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_CLOSE);
	CHECK_EQ_U(got.tcp_state, EVP_TCP_CLOSE);
	CHECK(got.flags & EVP_F_HAS_TCPINFO);
	CHECK_EQ_U(got.bytes_acked, 123456);
	CHECK_EQ_U(got.bytes_rcvd, 654321);
	CHECK_EQ_U(got.segs_in, 40);
	CHECK_EQ_U(got.segs_out, 41);
	CHECK_EQ_U(got.retrans[0] + got.retrans[1], 3);
	CHECK_EQ_U(got.rtt_us, 1500);
	CHECK_EQ_U(got.rtt_var_us, 250);

	/* a process gone from /proc: the kernel's comm stands in */
	flow(&f, PEV_RETRANSMIT, 0);
	f.pe = NULL;
	f.uid_name = "";
	memcpy(f.comm, "short-lived", 12);
	f.retrans = 2;
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_RETRANSMIT);
	CHECK_EQ_U(got.retrans[0] + got.retrans[1], 2);

	flow(&f, PEV_UDP_SEND, 1);
	f.rport = 53;
	f.ifname = NULL;
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_SEND);
	CHECK_EQ_U(got.proto, 17);
	CHECK_STR(got.ifname, "");
	CHECK_STR(evp_addr_str(got.addr[1], a, sizeof(a)), "2001:db8::20");

	flow(&f, PEV_UDP_RECV, 0);
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.event, EVP_EV_RECV);
	/* no process at all (pid 0): no LOCAL_PROCESS */
	flow(&f, PEV_CLOSE, 0);
	f.pid = 0;
	emit_event_json(b, &f, 0);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.side[0].present & EVP_SIDE_PROC, 0);
	CHECK_EQ_U(got.side[1].present & EVP_SIDE_PROC, 0);
}

static void
test_netstat_counter(struct buf *b)
{
	struct probe_flow f;
	struct netdev_stats s;

	flow(&f, 0, 0);
	f.has_tcpinfo = 1;
	f.tcp_state = 1;
	f.bytes_acked = 99;
	emit_netstat_json(b, &f);
	parse(b, EJ_FLOW);
	CHECK_EQ_U(got.source, EVP_SRC_NETSTAT);
	CHECK_EQ_U(got.event, EVP_EV_UPDATE);
	CHECK_EQ_U(got.tcp_state, EVP_TCP_ESTABLISHED);
	CHECK_EQ_U(got.bytes_acked, 99);
	CHECK(got.side[0].present & EVP_SIDE_PROC ||
	    got.side[1].present & EVP_SIDE_PROC);

	memset(&s, 0, sizeof(s));
	memcpy(s.name, "eth0", 5);
	s.rx_bytes = 1000;
	s.tx_packets = 7;
	emit_counter_json(b, &s, 2, 5);
	parse(b, EJ_COUNTER);
	CHECK_EQ_U(gotc.if_index, 2);
	CHECK_EQ_U(gotc.in_octets, 1000);
	CHECK_EQ_U(gotc.out_pkts, 7);
	CHECK_EQ_U(gotc.samples, 5);
}

static void
test_header(void)
{
	uint8_t h[28];
	struct zf_header zh;

	zpub_header(h, "flow", 70000, 0x01020304, 77);
	CHECK(zf_header_decode(h, sizeof(h), &zh) == ZF_OK);
	CHECK_STR(zh.topic, "flow");
	CHECK_EQ_U(zh.version, 2);
	CHECK_EQ_U(zh.has_msg_id, 1);
	CHECK_EQ_U(zh.msg_id, 0x01020304);
	CHECK_EQ_U(zh.source_id, 77);
	zpub_header(h, "listening-ports", 10, 1, 0);
	CHECK(zf_header_decode(h, sizeof(h), &zh) == ZF_OK);
	CHECK_STR(zh.topic, "listening-ports");	/* 15 chars + NUL */
}

/* Receives one message (two frames) from `sub` within 2 s.  Returns
 * the header length, payload in pay/plen. */
static int
recv_msg(void *sub, uint8_t *hdr, size_t hcap, uint8_t *pay, size_t pcap,
    size_t *plen)
{
	zmq_pollitem_t it = { sub, 0, ZMQ_POLLIN, 0 };
	int h, n;

	if (zmq_poll(&it, 1, 2000) != 1)
		return -1;
	if ((h = zmq_recv(sub, hdr, hcap, 0)) < 0 ||
	    (n = zmq_recv(sub, pay, pcap, 0)) < 0)
		return -1;
	*plen = (size_t)n;
	return h;
}

static void
test_pub(void)
{
	static uint64_t pctr[PC_MAX];
	static uint8_t pay[65536];
	struct zpub_opts o = { 1000, 1, 9, 3, NULL };
	struct zf_inflater zi;
	struct zf_header zh;
	struct zpub *z;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char dir[] = "/tmp/probe-pub.XXXXXX", ep[128], err[256];
	const uint8_t *txt;
	uint8_t hdr[64];
	size_t plen, tlen;
	void *ctx, *sub;
	unsigned k, events = 0;
	int h, waited;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(ep, sizeof(ep), "ipc://%s/p.ipc", dir);
	z = zpub_open(ep, &o, pctr, err, sizeof(err));	/* binds */
	CHECK(z != NULL);
	if (z == NULL)
		return;
	ctx = zmq_ctx_new();
	sub = zmq_socket(ctx, ZMQ_SUB);
	CHECK(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) == 0);
	CHECK(zmq_connect(sub, ep) == 0);
	for (waited = 0; zpub_subscribers(z) == 0 && waited < 300; waited++)
		nanosleep(&ts, NULL);
	CHECK(zpub_subscribers(z) > 0);
	for (k = 0; k < 7; k++)
		CHECK(zpub_add(z, "flow", "{\"a\":1}", 7) == 0);
	CHECK_EQ_U(pctr[PC_MSGS_SENT], 2);	/* two batches of 3 */
	zpub_flush(z);				/* the 7th alone */
	CHECK(zpub_add(z, "counter", "{\"ifIndex\":1}", 13) == 0);
	CHECK_EQ_U(pctr[PC_MSGS_SENT], 4);
	CHECK_EQ_U(pctr[PC_DROPPED_SEND], 0);
	CHECK(zf_inflater_init(&zi, 1 << 20) == 0);
	for (k = 1; k <= 4; k++) {
		h = recv_msg(sub, hdr, sizeof(hdr), pay, sizeof(pay), &plen);
		CHECK_EQ_U(h, 28);
		if (h != 28)
			break;
		CHECK(zf_header_decode(hdr, 28, &zh) == ZF_OK);
		CHECK_EQ_U(zh.msg_id, k);
		CHECK_EQ_U(zh.source_id, 9);
		CHECK_STR(zh.topic, k < 4 ? "flow" : "counter");
		CHECK_EQ_U(pay[0], 0);		/* zlib marker */
		CHECK(zf_payload_decode(&zi, &zh, pay, plen, &txt, &tlen) ==
		    ZF_OK);
		if (k < 4)
			events += (unsigned)(tlen == 7 * 3 + 4 ? 3 :
			    tlen == 9 ? 1 : 0);
		if (k == 3)
			CHECK(tlen == 9 && memcmp(txt, "[{\"a\":1}]", 9) == 0);
	}
	CHECK_EQ_U(events, 7);
	zf_inflater_free(&zi);
	zmq_close(sub);
	zmq_ctx_term(ctx);
	zpub_close(z);
	snprintf(ep, sizeof(ep), "%s/p.ipc", dir);
	unlink(ep);
	rmdir(dir);
}

int
main(void)
{
	struct buf b;

	ej_init(&ej, ctr, capture, NULL);
	pe.tgid = 20;
	pe.proc.pid = 20;
	memcpy(pe.proc.path, "/usr/bin/curl", 14);
	memcpy(pe.proc.cmdline, "curl -s http://x/", 18);
	pe.has_parent = 1;
	pe.parent.pid = 10;
	pe.parent.uid = 1000;
	memcpy(pe.parent.path, "/usr/bin/bash", 14);
	memcpy(pe.parent.uid_name, "alice", 6);
	pe.cont.kind = PCONT_DOCKER;
	memcpy(pe.cont.id, ID64, 65);
	buf_init(&b);
	test_connect_accept(&b);
	test_close_udp(&b);
	test_netstat_counter(&b);
	test_header();
	test_pub();
	buf_free(&b);
	return t_done("test_probe_json");
}
