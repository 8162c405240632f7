/* capture: pcap files written here, read by the real source + flow
 * table; exact flows, counters, timers, broken files. */
#include <pcap/dlt.h>
#include <unistd.h>

#include "t.h"
#include "test_capture_pcap.h"

static char dir[] = "/tmp/evflow-capt-XXXXXX";
static char path[256];

#define SEC	1000000ull

static FILE *
open_pcap(const char *name, uint32_t lt)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	fp = pw_open(path, lt);
	if (fp == NULL)
		abort();
	return fp;
}

/* Writes one TCP segment on Ethernet. */
static void
tcp(FILE *fp, uint64_t ts, int c2s, uint8_t flags, uint32_t seq,
    uint32_t payload)
{
	struct tp t = { .src = c2s ? "10.0.0.1" : "10.0.0.2",
	    .dst = c2s ? "10.0.0.2" : "10.0.0.1", .proto = 6,
	    .sport = c2s ? 40000 : 80, .dport = c2s ? 80 : 40000,
	    .flags = flags, .seq = seq, .payload = payload };
	struct pb p;

	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, ts, &p);
}

static void
udp(FILE *fp, uint64_t ts, const char *s, const char *d, uint16_t sp,
    uint16_t dp, uint32_t payload, uint16_t vlan)
{
	struct tp t = { .src = s, .dst = d, .proto = 17, .sport = sp,
	    .dport = dp, .payload = payload };
	struct pb p;

	frame_eth(&p, &t, vlan, 0, 0x8100);
	pw_pb(fp, ts, &p);
}

static void
test_tcp_full(void)
{
	struct flow_cfg cfg = run_cfg();
	const struct evp_flow *f;
	struct run *r;
	char a[46];
	FILE *fp = open_pcap("tcp", DLT_EN10MB);

	tcp(fp, 1000000, 1, TH_SYN, 100, 0);
	tcp(fp, 1010000, 0, TH_SYN | TH_ACK, 500, 0);
	tcp(fp, 1012000, 1, TH_ACK, 101, 0);
	tcp(fp, 1013000, 1, TH_PSH | TH_ACK, 101, 100);
	tcp(fp, 1020000, 0, TH_ACK, 501, 1000);
	tcp(fp, 1021000, 0, TH_ACK, 1501, 1000);
	tcp(fp, 1022000, 0, TH_ACK, 501, 1000);	/* retransmission */
	tcp(fp, 1030000, 1, TH_FIN | TH_ACK, 201, 0);
	tcp(fp, 1031000, 0, TH_FIN | TH_ACK, 2501, 0);
	tcp(fp, 1032000, 1, TH_ACK, 202, 0);
	/* Later traffic advances the clock past the 2 s linger. */
	udp(fp, 5 * SEC, "10.9.9.9", "10.9.9.8", 1, 2, 0, 0);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, 0);
	CHECK_EQ_U(r->n, 2);
	f = &r->rec[0];
	CHECK_EQ_U(r->why[0], FW_END);
	CHECK_EQ_U(f->event, EVP_EV_END);
	CHECK_EQ_U(f->source, EVP_SRC_PACKET);
	CHECK_EQ_U(f->flags, EVP_F_ABSOLUTE | EVP_F_HAS_COUNTERS);
	CHECK_EQ_U(f->proto, 6);
	CHECK_EQ_U(f->ip_version, 4);
	CHECK_STR(evp_addr_str(f->addr[0], a, sizeof(a)), "10.0.0.1");
	CHECK_STR(evp_addr_str(f->addr[1], a, sizeof(a)), "10.0.0.2");
	CHECK_EQ_U(f->port[0], 40000);
	CHECK_EQ_U(f->port[1], 80);
	CHECK_EQ_U(f->pkts[0], 5);
	CHECK_EQ_U(f->pkts[1], 5);
	CHECK_EQ_U(f->bytes[0], 4 * 40 + 140);
	CHECK_EQ_U(f->bytes[1], 40 + 3 * 1040 + 40);
	CHECK_EQ_U(f->wire_bytes[0], 4 * 40 + 140 + 5 * 14);
	CHECK_EQ_U(f->wire_bytes[1], 40 + 3 * 1040 + 40 + 5 * 14);
	CHECK_EQ_U(f->retrans[0], 0);
	CHECK_EQ_U(f->retrans[1], 1);
	CHECK_EQ_U(f->srv_latency_us, 5000);
	CHECK_EQ_U(f->cli_latency_us, 1000);
	CHECK_EQ_U(f->tcp_state, EVP_TCP_CLOSE);
	CHECK_EQ_U(f->tcp_flags[0], TH_SYN | TH_ACK | TH_PSH | TH_FIN);
	CHECK_EQ_U(f->tcp_flags[1], TH_SYN | TH_ACK | TH_FIN);
	CHECK_EQ_U(f->first_usec, 1000000);
	CHECK_EQ_U(f->ts_usec, 1032000);
	CHECK_EQ_U(r->cnt[CC_PACKETS], 11);
	CHECK_EQ_U(r->cnt[CC_IP_PACKETS], 11);
	CHECK_EQ_U(r->cnt[CC_FLOWS_CREATED], 2);
	CHECK_EQ_U(r->cnt[CC_FLOWS_ENDED], 1);
	CHECK_EQ_U(r->cnt[CC_FLOWS_FLUSHED], 1);
	CHECK_EQ_U(r->cnt[CC_FLOWS_LIVE], 0);
	CHECK_EQ_U(r->why[1], FW_FLUSH);
	free(r);
}

static void
test_tcp_odd(void)
{
	struct flow_cfg cfg = run_cfg();
	const struct evp_flow *f;
	struct run *r;
	FILE *fp = open_pcap("tcp_odd", DLT_EN10MB);
	struct tp t = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6,
	    .sport = 81, .dport = 40001, .flags = TH_SYN | TH_ACK };
	struct pb p;

	/* Refused: SYN, RST-ACK. */
	tcp(fp, 1 * SEC, 1, TH_SYN, 1, 0);
	tcp(fp, 1 * SEC + 100, 0, TH_RST | TH_ACK, 0, 0);
	/* Port reuse inside the linger: a new SYN is a new flow. */
	tcp(fp, 1 * SEC + 500, 1, TH_SYN, 9000, 0);
	tcp(fp, 1 * SEC + 600, 0, TH_SYN | TH_ACK, 7000, 0);
	/* First packet seen is a SYN-ACK: its receiver is the client. */
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 2 * SEC, &p);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->n, 3);
	f = &r->rec[0];
	CHECK_EQ_U(r->why[0], FW_END);
	CHECK_EQ_U(f->port[0], 40000);
	CHECK_EQ_U(f->tcp_state, EVP_TCP_RESET);
	CHECK_EQ_U(f->pkts[0], 1);
	CHECK_EQ_U(f->pkts[1], 1);
	CHECK_EQ_U(f->tcp_flags[1], TH_RST | TH_ACK);
	CHECK_EQ_U(f->srv_latency_us, 0);
	f = &r->rec[1];
	CHECK_EQ_U(f->port[0], 40000);
	CHECK_EQ_U(f->tcp_state, EVP_TCP_SYN_RECV);
	CHECK_EQ_U(f->first_usec, 1 * SEC + 500);
	CHECK_EQ_U(f->srv_latency_us, 50);
	f = run_find(r, 40001, 81);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ_U(f->pkts[0], 0);
		CHECK_EQ_U(f->pkts[1], 1);
		CHECK_EQ_U(f->tcp_state, EVP_TCP_SYN_RECV);
	}
	CHECK_EQ_U(r->cnt[CC_FLOWS_ENDED], 1);
	free(r);
}

static void
test_udp_icmp_vlan(void)
{
	struct flow_cfg cfg = run_cfg();
	const struct evp_flow *f;
	struct run *r;
	FILE *fp = open_pcap("udp", DLT_EN10MB);
	struct tp t = { .src = "2001:db8::1", .dst = "2001:db8::2",
	    .proto = 58, .payload = 56 };
	struct pb p;
	unsigned i, v10 = 0, v20 = 0;

	udp(fp, 1 * SEC, "192.168.1.10", "192.168.1.1", 5353, 53, 30, 0);
	udp(fp, 1 * SEC + 1, "192.168.1.1", "192.168.1.10", 53, 5353, 100, 0);
	udp(fp, 1 * SEC + 2, "192.168.1.10", "192.168.1.1", 5353, 53, 30, 0);
	/* The same tuple on two VLANs: two flows. */
	udp(fp, 1 * SEC + 3, "10.5.5.1", "10.5.5.2", 7, 7, 1, 10);
	udp(fp, 1 * SEC + 4, "10.5.5.2", "10.5.5.1", 7, 7, 1, 20);
	/* ICMPv6 echo request and reply: one flow, ports 0. */
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 5, &p);
	t.src = "2001:db8::2";
	t.dst = "2001:db8::1";
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 6, &p);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->n, 4);
	f = run_find(r, 5353, 53);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ_U(f->pkts[0], 2);
		CHECK_EQ_U(f->pkts[1], 1);
		CHECK_EQ_U(f->bytes[0], 2 * 58);
		CHECK_EQ_U(f->bytes[1], 128);
		CHECK_EQ_U(f->wire_bytes[0], 2 * 72);
		CHECK_EQ_U(f->tcp_state, EVP_TCP_UNKNOWN);
		CHECK_EQ_U(f->vlan, 0);
	}
	for (i = 0; i < r->n; i++) {
		if (r->rec[i].port[0] != 7)
			continue;
		CHECK_EQ_U(r->rec[i].pkts[0], 1);
		CHECK_EQ_U(r->rec[i].pkts[1], 0);
		CHECK_EQ_U(r->rec[i].wire_bytes[0], 14 + 4 + 29);
		if (r->rec[i].vlan == 10)
			v10++;
		if (r->rec[i].vlan == 20)
			v20++;
	}
	CHECK_EQ_U(v10, 1);
	CHECK_EQ_U(v20, 1);
	f = run_find(r, 0, 0);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ_U(f->proto, 58);
		CHECK_EQ_U(f->ip_version, 6);
		CHECK_EQ_U(f->pkts[0], 1);
		CHECK_EQ_U(f->pkts[1], 1);
		CHECK_EQ_U(f->bytes[1], 40 + 8 + 56);
	}
	free(r);
}

/*
 * ICMP's type and code: the client's first message goes out in every
 * record as NetFlow's ICMP_TYPE / ICMP_CODE (the store hashes them into
 * the Community ID): an echo exchange (request first), a one-way time
 * exceeded, an ICMPv6 echo whose reply is seen first (the replier is
 * then the client), and none for a flow without an ICMP header.
 */
static void
test_icmp_type(void)
{
	struct flow_cfg cfg = run_cfg();
	FILE *fp = open_pcap("icmp", DLT_EN10MB);
	struct tp t = { .src = "192.168.0.89", .dst = "192.168.0.1",
	    .proto = 1, .payload = 8, .icmp = 8 + 1 };
	const char *w;
	struct run *r;
	struct pb p;
	unsigned i, n = 0;

	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC, &p);
	t.src = "192.168.0.1";
	t.dst = "192.168.0.89";
	t.icmp = 0 + 1;				/* echo reply */
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 1, &p);
	t.src = "10.0.0.1";
	t.dst = "10.0.0.2";
	t.icmp = 11 + 1;			/* time exceeded */
	t.icmp_code = 1;
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 2, &p);
	t.src = "2001:db8::2";
	t.dst = "2001:db8::1";
	t.proto = 58;
	t.icmp = 129 + 1;			/* echo reply */
	t.icmp_code = 0;
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 3, &p);
	t.src = "2001:db8::1";
	t.dst = "2001:db8::2";
	t.icmp = 128 + 1;
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 4, &p);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->n, 3);
	for (i = 0; i < r->n; i++) {
		const struct evp_flow *f = &r->rec[i];
		char a[46];

		evp_addr_str(f->addr[0], a, sizeof(a));
		if (strcmp(a, "192.168.0.89") == 0)
			w = "{\"ICMP_TYPE\":8,\"ICMP_CODE\":0}";
		else if (strcmp(a, "10.0.0.1") == 0)
			w = "{\"ICMP_TYPE\":11,\"ICMP_CODE\":1}";
		else if (strcmp(a, "2001:db8::2") == 0)
			w = "{\"ICMP_TYPE\":129,\"ICMP_CODE\":0}";
		else
			w = NULL;
		CHECK(w != NULL);
		if (w == NULL)
			continue;
		n++;
		CHECK_EQ_U(f->extra_len, strlen(w));
		CHECK(f->extra_len == strlen(w) &&
		    memcmp(f->extra, w, f->extra_len) == 0);
	}
	CHECK_EQ_U(n, 3);
	free(r);
}

static void
test_fragments(void)
{
	struct flow_cfg cfg = run_cfg();
	const struct evp_flow *f;
	struct run *r;
	FILE *fp = open_pcap("frag", DLT_EN10MB);
	struct tp t = { .src = "10.1.1.1", .dst = "10.1.1.2", .proto = 17,
	    .sport = 4000, .dport = 53, .payload = 1472, .ipid = 99,
	    .mf = 1 };
	struct pb p;

	frame_eth(&p, &t, 0, 0, 0);		/* 20 + 8 + 1472 */
	pw_pb(fp, 1 * SEC, &p);
	t.mf = 0;
	t.fragoff = 185;
	t.no_l4 = 1;
	t.payload = 520;
	frame_eth(&p, &t, 0, 0, 0);		/* 20 + 520 */
	p.b[34] = 0x12;				/* not ports */
	pw_pb(fp, 1 * SEC + 1, &p);
	/* A later fragment whose first was never seen. */
	t.ipid = 100;
	frame_eth(&p, &t, 0, 0, 0);
	pw_pb(fp, 1 * SEC + 2, &p);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->n, 2);
	f = run_find(r, 4000, 53);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ_U(f->pkts[0], 2);
		CHECK_EQ_U(f->bytes[0], 1500 + 540);
		CHECK_EQ_U(f->pkts[1], 0);
	}
	f = run_find(r, 0, 0);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ_U(f->proto, 17);
		CHECK_EQ_U(f->pkts[0], 1);
		CHECK_EQ_U(f->bytes[0], 540);
	}
	CHECK_EQ_U(r->cnt[CC_FRAGMENTS], 3);
	CHECK_EQ_U(r->cnt[CC_FRAG_UNMATCHED], 1);
	free(r);
}

static void
test_timers(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r;
	FILE *fp = open_pcap("timers", DLT_EN10MB);
	unsigned i, updates = 0;
	uint64_t last = 0;
	int order_ok = 1;

	cfg.active_usec = 10 * SEC;
	/* A flow idle for longer than 60 s. */
	udp(fp, 10 * SEC, "10.2.0.1", "10.2.0.2", 1000, 2000, 10, 0);
	/* A long flow: a packet every 3 s for 25 s. */
	for (i = 0; i <= 25; i += 3)
		udp(fp, (100 + i) * SEC, "10.2.0.3", "10.2.0.4", 3000, 4000,
		    10, 0);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK(r->n >= 4);
	CHECK_EQ_U(r->why[0], FW_IDLE);
	CHECK_EQ_U(r->rec[0].port[0], 1000);
	CHECK_EQ_U(r->cnt[CC_FLOWS_EXPIRED], 1);
	for (i = 1; i < r->n; i++) {
		if (r->rec[i].port[0] != 3000)
			continue;
		if (r->rec[i].pkts[0] < last)
			order_ok = 0;
		last = r->rec[i].pkts[0];
		if (r->why[i] == FW_UPDATE) {
			updates++;
			CHECK_EQ_U(r->rec[i].event, EVP_EV_UPDATE);
		}
	}
	/* Packets at 100..124; updates due at 110 and 120. */
	CHECK_EQ_U(updates, 2);
	CHECK_EQ_U(r->cnt[CC_UPDATES], 2);
	CHECK(order_ok);
	CHECK_EQ_U(last, 9);
	CHECK_EQ_U(r->rec[r->n - 1].event, EVP_EV_END);
	free(r);
}

/*
 * Issue 12 item 9: in a file the returning packet of a flow silent for
 * longer than idle_timeout ends it first, even when no other packet
 * moved the clock: a connection silent for 12 s with idle 5 is two
 * flows (the first ended idle at its last packet's time + nothing).
 */
static void
test_idle_split(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r;
	FILE *fp = open_pcap("idle_split", DLT_EN10MB);

	cfg.idle_usec = 5 * SEC;
	tcp(fp, 1 * SEC, 1, TH_ACK | TH_PSH, 100, 10);
	tcp(fp, 1 * SEC + 1000, 0, TH_ACK | TH_PSH, 500, 20);
	/* 12 s of silence on the only flow of the file. */
	tcp(fp, 13 * SEC, 1, TH_ACK | TH_PSH, 110, 10);
	tcp(fp, 13 * SEC + 1000, 0, TH_ACK | TH_PSH, 520, 20);
	tcp(fp, 14 * SEC, 1, TH_ACK | TH_PSH, 120, 10);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, 0);
	CHECK_EQ_U(r->cnt[CC_FLOWS_CREATED], 2);
	CHECK_EQ_U(r->cnt[CC_FLOWS_EXPIRED], 1);
	CHECK_EQ_U(r->cnt[CC_FLOWS_FLUSHED], 1);
	CHECK_EQ_U(r->n, 2);
	CHECK_EQ_U(r->why[0], FW_IDLE);
	CHECK_EQ_U(r->rec[0].pkts[0] + r->rec[0].pkts[1], 2);
	CHECK_EQ_U(r->rec[0].first_usec, 1 * SEC);
	CHECK_EQ_U(r->rec[0].ts_usec, 1 * SEC + 1000);
	CHECK_EQ_U(r->why[1], FW_FLUSH);
	CHECK_EQ_U(r->rec[1].pkts[0] + r->rec[1].pkts[1], 3);
	CHECK_EQ_U(r->rec[1].first_usec, 13 * SEC);
	free(r);

	/* Silent for exactly less than idle: one flow. */
	fp = open_pcap("idle_keep", DLT_EN10MB);
	tcp(fp, 1 * SEC, 1, TH_ACK, 100, 0);
	tcp(fp, 6 * SEC - 1, 1, TH_ACK, 100, 0);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->cnt[CC_FLOWS_CREATED], 1);
	CHECK_EQ_U(r->cnt[CC_FLOWS_EXPIRED], 0);
	free(r);
}

static void
test_eviction(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r;
	FILE *fp = open_pcap("evict", DLT_EN10MB);
	unsigned i;

	cfg.max_flows = 16;
	for (i = 1; i <= 20; i++)
		udp(fp, SEC + i, "10.3.0.1", "10.3.0.2", (uint16_t)i, 99, 0, 0);
	/* 17..20 evicted 1..4; flow 5 is touched again, so 21 evicts 6. */
	udp(fp, SEC + 30, "10.3.0.1", "10.3.0.2", 5, 99, 0, 0);
	udp(fp, SEC + 31, "10.3.0.1", "10.3.0.2", 21, 99, 0, 0);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->cnt[CC_FLOWS_EVICTED], 5);
	CHECK_EQ_U(r->cnt[CC_FLOWS_CREATED], 21);
	CHECK_EQ_U(r->cnt[CC_FLOWS_FLUSHED], 16);
	for (i = 0; i < 5; i++)
		CHECK_EQ_U(r->why[i], FW_EVICT);
	CHECK_EQ_U(r->why[5], FW_FLUSH);
	CHECK_EQ_U(r->rec[0].port[0], 1);
	CHECK_EQ_U(r->rec[3].port[0], 4);
	CHECK_EQ_U(r->rec[4].port[0], 6);
	for (i = 5; i < r->n; i++)
		if (r->rec[i].port[0] == 5)
			CHECK_EQ_U(r->rec[i].pkts[0], 2);
	free(r);
}

/* Every link type from a file gives the same flow. */
static void
test_link_files(void)
{
	static const struct { const char *name; uint32_t lt; int kind; } lt[] = {
		{ "sll", DLT_LINUX_SLL, 1 }, { "sll2", 276, 2 },
		{ "raw", 101, 3 }, { "ipv4", 228, 3 }, { "null", DLT_NULL, 4 },
		{ "loop", DLT_LOOP, 5 }, { "ipv6", 229, 6 },
	};
	struct flow_cfg cfg = run_cfg();
	struct tp t = { .src = "10.7.0.1", .dst = "10.7.0.2", .proto = 6,
	    .sport = 1234, .dport = 22, .flags = TH_SYN };
	struct pb p;
	struct run *r;
	unsigned i;
	FILE *fp;

	for (i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		fp = open_pcap(lt[i].name, lt[i].lt);
		t.src = lt[i].kind == 6 ? "fe80::1" : "10.7.0.1";
		t.dst = lt[i].kind == 6 ? "fe80::2" : "10.7.0.2";
		switch (lt[i].kind) {
		case 1: frame_sll(&p, &t); break;
		case 2: frame_sll2(&p, &t); break;
		case 3: case 6: frame_raw(&p, &t); break;
		case 4: frame_null(&p, &t, 0); break;
		case 5: frame_null(&p, &t, 1); break;
		}
		pw_pb(fp, SEC, &p);
		pw_pb(fp, SEC + 1, &p);
		fclose(fp);
		r = run_file(path, &cfg, NULL);
		CHECK_EQ_U(r->read_rc, 0);
		CHECK_EQ_U(r->n, 1);
		CHECK_EQ_U(r->rec[0].port[0], 1234);
		CHECK_EQ_U(r->rec[0].port[1], 22);
		CHECK_EQ_U(r->rec[0].pkts[0], 2);
		CHECK_EQ_U(r->rec[0].bytes[0], lt[i].kind == 6 ? 120 : 80);
		CHECK_EQ_U(r->rec[0].wire_bytes[0], 2 * p.n);
		CHECK_EQ_U(r->rec[0].ip_version, lt[i].kind == 6 ? 6 : 4);
		free(r);
	}
	/* A link type the dissector does not read: refused at open. */
	fp = open_pcap("wifi", DLT_IEEE802_11);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -2);
	CHECK(strstr(r->err, "not supported") != NULL);
	free(r);
}

static void
test_broken_files(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r;
	FILE *fp;
	uint32_t h[4];

	/* Not a pcap file. */
	snprintf(path, sizeof(path), "%s/garbage.pcap", dir);
	fp = fopen(path, "wb");
	fputs("this is not a capture file at all, sorry\n", fp);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -2);
	CHECK(r->err[0] != '\0');
	free(r);

	/* A file header cut short. */
	fp = fopen(path, "wb");
	fwrite("\xd4\xc3\xb2\xa1\x02\x00", 6, 1, fp);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -2);
	free(r);

	/* Missing file. */
	r = run_file("/nonexistent/x.pcap", &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -2);
	free(r);

	/* Cut mid-packet: the good packets before are kept. */
	fp = open_pcap("cut", DLT_EN10MB);
	tcp(fp, SEC, 1, TH_SYN, 1, 0);
	tcp(fp, SEC + 1, 0, TH_SYN | TH_ACK, 1, 0);
	h[0] = 1; h[1] = 2; h[2] = 100; h[3] = 100;
	fwrite(h, sizeof(h), 1, fp);
	fwrite("abcdefghij", 10, 1, fp);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -1);
	CHECK(r->err[0] != '\0');
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->rec[0].pkts[0], 1);
	CHECK_EQ_U(r->rec[0].pkts[1], 1);
	CHECK_EQ_U(r->cnt[CC_READ_ERRORS], 1);
	free(r);

	/* Impossible lengths: caplen > len, a record larger than any
	 * snaplen; the first is a counted skip, the second ends the read. */
	fp = open_pcap("lens", DLT_EN10MB);
	tcp(fp, SEC, 1, TH_SYN, 1, 0);
	{
		struct tp t = { .src = "1.1.1.1", .dst = "2.2.2.2",
		    .proto = 17, .sport = 1, .dport = 2, .payload = 4 };
		struct pb p;

		frame_eth(&p, &t, 0, 0, 0);
		pw_rec(fp, SEC + 1, p.b, (uint32_t)p.n, 20);
		/* IP total length larger than the frame. */
		p.b[16] = 0x05;
		pw_pb(fp, SEC + 2, &p);
	}
	h[0] = 1; h[1] = 3; h[2] = 0x7fffffff; h[3] = 0x7fffffff;
	fwrite(h, sizeof(h), 1, fp);
	fclose(fp);
	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->read_rc, -1);
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->cnt[CC_ERR_BAD_LEN], 2);
	CHECK_EQ_U(r->cnt[CC_PACKETS], 3);
	free(r);
}

static void
test_snaplen_filter(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r;
	FILE *fp = open_pcap("snap", DLT_EN10MB);
	struct tp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6,
	    .sport = 40000, .dport = 80, .flags = TH_ACK, .seq = 1,
	    .payload = 1400 };
	struct pb p;

	frame_eth(&p, &t, 0, 0, 0);
	pw_rec(fp, SEC, p.b, 64, (uint32_t)p.n);
	pw_rec(fp, SEC + 1, p.b, 36, (uint32_t)p.n);	/* no ports */
	udp(fp, SEC + 2, "10.0.0.1", "10.0.0.3", 9, 9, 0, 0);
	fclose(fp);

	r = run_file(path, &cfg, NULL);
	CHECK_EQ_U(r->n, 2);
	CHECK_EQ_U(r->cnt[CC_TRUNCATED], 2);
	CHECK_EQ_U(r->cnt[CC_ERR_TRUNC_L4], 1);
	CHECK_EQ_U(r->rec[0].bytes[0], 1440);
	CHECK_EQ_U(r->rec[0].wire_bytes[0], 1454);
	free(r);

	r = run_file(path, &cfg, "udp");
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->rec[0].proto, 17);
	CHECK_EQ_U(r->cnt[CC_PACKETS], 1);
	free(r);

	r = run_file(path, &cfg, "no such ( filter");
	CHECK_EQ_U(r->read_rc, -2);
	CHECK(strstr(r->err, "filter") != NULL);
	free(r);
}

/* The table driven directly, as the live loop does: the wall clock
 * expires flows between packets; a packet older than the clock does not
 * move it back. */
static void
test_clock(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r = calloc(1, sizeof(*r));
	struct tp t = { .src = "10.4.0.1", .dst = "10.4.0.2", .proto = 17,
	    .sport = 1, .dport = 2, .payload = 10 };
	struct flow_table *ft;
	struct pb p;
	struct pkt k;

	cfg.active_usec = 10 * SEC;
	ft = flow_table_new(&cfg, run_emit, r, r->cnt);
	CHECK(ft != NULL && r != NULL);
	if (ft == NULL || r == NULL)
		return;
	CHECK_EQ_U(flow_table_next_deadline(ft), UINT64_MAX);
	frame_eth(&p, &t, 0, 0, 0);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, (uint32_t)p.n, (uint32_t)p.n, &k),
	    DIS_OK);
	k.ts_usec = 1 * SEC;
	flow_table_packet(ft, &k);
	CHECK_EQ_U(flow_table_next_deadline(ft), 11 * SEC);
	flow_table_expire(ft, 11 * SEC);
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->why[0], FW_UPDATE);
	CHECK_EQ_U(flow_table_next_deadline(ft), 21 * SEC);
	/* A late packet, timestamped before the clock. */
	k.ts_usec = SEC / 2;
	flow_table_packet(ft, &k);
	CHECK_EQ_U(ft->now, 11 * SEC);
	flow_table_expire(ft, 20 * SEC);
	CHECK_EQ_U(r->n, 1);
	flow_table_expire(ft, 62 * SEC);
	CHECK_EQ_U(r->n, 2);
	CHECK_EQ_U(r->why[1], FW_IDLE);
	CHECK_EQ_U(r->rec[1].pkts[0], 2);
	CHECK_EQ_U(r->rec[1].first_usec, 1 * SEC);
	CHECK_EQ_U(r->rec[1].ts_usec, 1 * SEC);
	CHECK_EQ_U(r->cnt[CC_FLOWS_LIVE], 0);
	CHECK_EQ_U(flow_table_next_deadline(ft), UINT64_MAX);
	flow_table_free(ft);
	free(r);
}

/* One packet of `t` at `ts` into the table, as the live loop does. */
static void
feed(struct flow_table *ft, const struct tp *t, uint64_t ts)
{
	struct pb p;
	struct pkt k;

	frame_eth(&p, t, 0, 0, 0);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, (uint32_t)p.n, (uint32_t)p.n, &k),
	    DIS_OK);
	k.ts_usec = ts;
	flow_table_packet(ft, &k);
}

/*
 * Live flows with an update interval (issue 11): a new flow's first
 * record 1 s after its first packet whatever the timeouts, then one
 * record per interval only if it had packets, a heartbeat each
 * active_usec without; absolute counters each time; a short TCP
 * connection that lingers before its first record is left to its end
 * record; a flush ends flows that were never reported.
 */
static void
test_live_updates(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r = calloc(1, sizeof(*r));
	struct tp u = { .src = "10.5.0.1", .dst = "10.5.0.2", .proto = 17,
	    .sport = 5353, .dport = 53, .payload = 20 };
	struct tp a = u, c2s = { .src = "10.5.0.3", .dst = "10.5.0.4",
	    .proto = 6, .sport = 40000, .dport = 80 }, s2c = { .src =
	    "10.5.0.4", .dst = "10.5.0.3", .proto = 6, .sport = 80,
	    .dport = 40000 };
	struct flow_table *ft;

	a.src = u.dst;
	a.dst = u.src;
	a.sport = u.dport;
	a.dport = u.sport;
	a.payload = 60;
	cfg.idle_usec = 200 * SEC;
	cfg.active_usec = 30 * SEC;
	cfg.update_usec = 5 * SEC;
	ft = flow_table_new(&cfg, run_emit, r, r->cnt);
	CHECK(ft != NULL && r != NULL);
	if (ft == NULL || r == NULL)
		return;
	/* A request and its answer at 10 s: first record at 11 s. */
	feed(ft, &u, 10 * SEC);
	feed(ft, &a, 10 * SEC + 300);
	CHECK_EQ_U(flow_table_next_deadline(ft), 11 * SEC);
	flow_table_expire(ft, 11 * SEC - 1);
	CHECK_EQ_U(r->n, 0);
	flow_table_expire(ft, 11 * SEC);
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->why[0], FW_UPDATE);
	CHECK_EQ_U(r->rec[0].event, EVP_EV_UPDATE);
	CHECK_EQ_U(r->rec[0].flags, EVP_F_ABSOLUTE | EVP_F_HAS_COUNTERS);
	CHECK_EQ_U(r->rec[0].pkts[0], 1);
	CHECK_EQ_U(r->rec[0].pkts[1], 1);
	CHECK_EQ_U(r->rec[0].bytes[0], 48);
	CHECK_EQ_U(r->rec[0].bytes[1], 88);
	CHECK_EQ_U(r->rec[0].first_usec, 10 * SEC);
	CHECK_EQ_U(r->rec[0].port[0], 5353);
	CHECK_EQ_U(r->cnt[CC_FIRST_REPORTS], 1);
	CHECK_EQ_U(flow_table_next_deadline(ft), 16 * SEC);
	/* No packets since: nothing at 16 s and 21 s. */
	flow_table_expire(ft, 16 * SEC);
	flow_table_expire(ft, 21 * SEC);
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->cnt[CC_UPDATES_UNCHANGED], 2);
	/* One more packet: reported at the next tick, totals not deltas. */
	feed(ft, &u, 22 * SEC);
	flow_table_expire(ft, 26 * SEC);
	CHECK_EQ_U(r->n, 2);
	CHECK_EQ_U(r->why[1], FW_UPDATE);
	CHECK_EQ_U(r->rec[1].pkts[0], 2);
	CHECK_EQ_U(r->rec[1].pkts[1], 1);
	CHECK_EQ_U(r->rec[1].bytes[0], 96);
	CHECK_EQ_U(r->rec[1].ts_usec, 22 * SEC);
	/* Quiet: the heartbeat 30 s (active) after the last record. */
	flow_table_expire(ft, 31 * SEC);
	flow_table_expire(ft, 51 * SEC);
	CHECK_EQ_U(r->n, 2);
	flow_table_expire(ft, 56 * SEC);
	CHECK_EQ_U(r->n, 3);
	CHECK_EQ_U(r->rec[2].pkts[0], 2);
	CHECK_EQ_U(r->cnt[CC_UPDATES], 3);

	/* A short TCP connection, closed within its first second: one
	 * record, its end, after the 2 s linger. */
	c2s.flags = TH_SYN;
	feed(ft, &c2s, 60 * SEC);
	s2c.flags = TH_SYN | TH_ACK;
	feed(ft, &s2c, 60 * SEC + 100);
	c2s.flags = TH_FIN | TH_ACK;
	feed(ft, &c2s, 60 * SEC + 200);
	s2c.flags = TH_FIN | TH_ACK;
	feed(ft, &s2c, 60 * SEC + 300);
	flow_table_expire(ft, 61 * SEC);
	CHECK_EQ_U(r->n, 3);
	CHECK_EQ_U(r->cnt[CC_FIRST_REPORTS], 1);
	flow_table_expire(ft, 62 * SEC + 300);
	CHECK_EQ_U(r->n, 4);
	CHECK_EQ_U(r->why[3], FW_END);
	CHECK_EQ_U(r->rec[3].port[0], 40000);
	CHECK_EQ_U(r->rec[3].pkts[0], 2);
	CHECK_EQ_U(r->rec[3].pkts[1], 2);

	/* A flow never reported yet is flushed at shutdown with the rest. */
	c2s.flags = TH_SYN;
	c2s.sport = 40001;
	feed(ft, &c2s, 63 * SEC);
	CHECK_EQ_U(r->cnt[CC_FLOWS_LIVE], 2);
	flow_table_flush(ft);
	CHECK_EQ_U(r->n, 6);
	CHECK_EQ_U(r->why[4], FW_FLUSH);
	CHECK_EQ_U(r->why[5], FW_FLUSH);
	CHECK_EQ_U(r->cnt[CC_FLOWS_LIVE], 0);
	CHECK_EQ_U(r->cnt[CC_FLOWS_FLUSHED], 2);
	CHECK_EQ_U(flow_table_next_deadline(ft), UINT64_MAX);
	flow_table_free(ft);
	free(r);
}

/* Reading a file, packets run the timers: reports due go out in 10 ms
 * batches (FLOW_REPORT_SLACK_USEC), a flow's end exactly on time. */
static void
test_report_batches(void)
{
	struct flow_cfg cfg = run_cfg();
	struct run *r = calloc(1, sizeof(*r));
	struct tp a = { .src = "10.6.0.1", .dst = "10.6.0.2", .proto = 17,
	    .sport = 1000, .dport = 53, .payload = 10 }, b = a, c = a;
	struct flow_table *ft;

	b.sport = 1001;
	c.sport = 1002;
	cfg.idle_usec = 3 * SEC;
	cfg.update_usec = 5 * SEC;
	ft = flow_table_new(&cfg, run_emit, r, r->cnt);
	CHECK(ft != NULL && r != NULL);
	if (ft == NULL || r == NULL)
		return;
	feed(ft, &a, 100 * SEC);
	feed(ft, &b, 101 * SEC + 5000);		/* a due, within the slack */
	CHECK_EQ_U(r->n, 0);
	feed(ft, &b, 101 * SEC + 10000);	/* slack over: a reported */
	CHECK_EQ_U(r->n, 1);
	CHECK_EQ_U(r->rec[0].port[0], 1000);
	CHECK_EQ_U(r->why[0], FW_UPDATE);
	/* a idle since 100 s: ends at 103 s exactly, not 10 ms later
	 * (b's first report is due at 102.005 s, so it goes first). */
	feed(ft, &c, 103 * SEC - 1);
	CHECK_EQ_U(r->n, 2);
	CHECK_EQ_U(r->rec[1].port[0], 1001);
	feed(ft, &c, 103 * SEC);
	CHECK_EQ_U(r->n, 3);
	CHECK_EQ_U(r->why[2], FW_IDLE);
	CHECK_EQ_U(r->rec[2].port[0], 1000);
	flow_table_free(ft);
	free(r);
}

static void
test_table_bytes(void)
{
	struct flow_cfg cfg = run_cfg();
	uint64_t cnt[CC_MAX];
	struct flow_table *ft;

	cfg.max_flows = 100000;
	ft = flow_table_new(&cfg, run_emit, NULL, cnt);
	CHECK(ft != NULL);
	if (ft != NULL) {
		CHECK(flow_table_bytes_per_flow(ft) <= FLOW_BYTES_MAX);
		printf("bytes per flow slot: %zu\n",
		    flow_table_bytes_per_flow(ft));
	}
	flow_table_free(ft);
	cfg.max_flows = 0;
	CHECK(flow_table_new(&cfg, run_emit, NULL, cnt) == NULL);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_tcp_full();
	test_tcp_odd();
	test_udp_icmp_vlan();
	test_icmp_type();
	test_fragments();
	test_timers();
	test_idle_split();
	test_eviction();
	test_link_files();
	test_broken_files();
	test_snaplen_filter();
	test_clock();
	test_live_updates();
	test_report_batches();
	test_table_bytes();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
	return t_done("test_capture_flows");
}
