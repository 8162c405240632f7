/* capture/dissect.c: every link type, VLAN/QinQ, IPv6 extension
 * headers, fragments, truncated frames and impossible lengths. */
#include <pcap/dlt.h>

#include "t.h"
#include "test_capture_pcap.h"

static enum dissect_result
dis(int dlt, const struct pb *p, struct pkt *k)
{
	return dissect(dlt, p->b, (uint32_t)p->n, (uint32_t)p->n, k);
}

static void
check_tcp4(const struct pkt *k)
{
	uint8_t a[16], b[16];

	evp_addr_parse("10.0.0.1", a);
	evp_addr_parse("10.0.0.2", b);
	CHECK_EQ_U(k->ipver, 4);
	CHECK_EQ_U(k->proto, 6);
	CHECK(memcmp(k->src, a, 16) == 0);
	CHECK(memcmp(k->dst, b, 16) == 0);
	CHECK_EQ_U(k->sport, 40000);
	CHECK_EQ_U(k->dport, 80);
	CHECK_EQ_U(k->tcp_flags, TH_SYN);
	CHECK_EQ_U(k->seq, 1000);
	CHECK_EQ_U(k->ip_len, 20 + 20 + 10);
	CHECK_EQ_U(k->payload_len, 10);
	CHECK_EQ_U(k->has_ports, 1);
}

static void
test_link_types(void)
{
	struct tp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6,
	    .sport = 40000, .dport = 80, .flags = TH_SYN, .seq = 1000,
	    .payload = 10 };
	struct pb p;
	struct pkt k;

	frame_eth(&p, &t, 0, 0, 0);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	check_tcp4(&k);
	CHECK_EQ_U(k.vlan, 0);
	CHECK_EQ_U(k.wire_len, 14 + 50);

	frame_sll(&p, &t);
	CHECK_EQ_U(dis(DLT_LINUX_SLL, &p, &k), DIS_OK);
	check_tcp4(&k);

	frame_sll2(&p, &t);
	CHECK_EQ_U(dis(276, &p, &k), DIS_OK);
	check_tcp4(&k);

	frame_raw(&p, &t);
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_OK);
	check_tcp4(&k);
	CHECK_EQ_U(dis(228, &p, &k), DIS_OK);	/* LINKTYPE_IPV4 */
	check_tcp4(&k);

	frame_null(&p, &t, 0);
	CHECK_EQ_U(dis(DLT_NULL, &p, &k), DIS_OK);
	check_tcp4(&k);
	frame_null(&p, &t, 1);
	CHECK_EQ_U(dis(DLT_LOOP, &p, &k), DIS_OK);
	check_tcp4(&k);
	/* DLT_NULL written by a big-endian host: family in network order. */
	CHECK_EQ_U(dis(DLT_NULL, &p, &k), DIS_OK);
	check_tcp4(&k);

	CHECK_EQ_U(dis(DLT_IEEE802_11, &p, &k), DIS_LINKTYPE);
	CHECK(!dissect_linktype_ok(DLT_IEEE802_11));
	CHECK(dissect_linktype_ok(DLT_LINUX_SLL));

	/* Non-IP: ARP on Ethernet, AF 7 on loopback. */
	frame_eth(&p, &t, 0, 0, 0);
	p.b[12] = 0x08;
	p.b[13] = 0x06;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_NON_IP);
	frame_null(&p, &t, 1);
	p.b[3] = 7;
	CHECK_EQ_U(dis(DLT_LOOP, &p, &k), DIS_NON_IP);
}

static void
test_vlan(void)
{
	struct tp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6,
	    .sport = 40000, .dport = 80, .flags = TH_SYN, .seq = 1000,
	    .payload = 10 };
	struct pb p;
	struct pkt k;

	frame_eth(&p, &t, 100, 0, 0x8100);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	check_tcp4(&k);
	CHECK_EQ_U(k.vlan, 100);

	/* QinQ: 802.1ad outer 200, inner 300: the outer id is kept. */
	frame_eth(&p, &t, 200 | 0x6000, 300, 0x88a8);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	check_tcp4(&k);
	CHECK_EQ_U(k.vlan, 200);
	frame_eth(&p, &t, 201, 301, 0x9100);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.vlan, 201);

	/* Five tags: refused, counted. */
	p.n = 0;
	pb_zero(&p, 12);
	for (int i = 0; i < 5; i++) {
		pb_u16(&p, 0x8100);
		pb_u16(&p, 10 + i);
	}
	pb_u16(&p, 0x0800);
	tp_ip(&p, &t);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_VLAN_DEPTH);
	CHECK_EQ_U(dissect_counter(DIS_VLAN_DEPTH), CC_ERR_VLAN_DEPTH);

	/* A tag cut by the capture length. */
	frame_eth(&p, &t, 100, 0, 0x8100);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 16, (uint32_t)p.n, &k),
	    DIS_TRUNC_L2);
}

static void
test_ipv6_ext(void)
{
	/* hop-by-hop (8), routing (24), dest opts (16), then TCP. */
	static const uint8_t ext[] = {
		43, 0, 0, 0, 0, 0, 0, 0,
		60, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	/* AH (12 bytes: len field 1 -> (1+2)*4), then UDP. */
	static const uint8_t ah[] = {
		17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
	};
	/* ESP: stop there, no ports. */
	static const uint8_t esp[] = { 0, 0, 0, 1, 0, 0, 0, 1 };
	struct tp t = { .src = "2001:db8::1", .dst = "2001:db8::2",
	    .proto = 6, .sport = 5555, .dport = 443, .flags = TH_SYN | TH_ACK,
	    .seq = 7, .payload = 3, .ext = ext, .extlen = sizeof(ext),
	    .ext_nh = 0 };
	struct pb p;
	struct pkt k;
	uint8_t a[16];

	frame_eth(&p, &t, 0, 0, 0);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.ipver, 6);
	CHECK_EQ_U(k.proto, 6);
	CHECK_EQ_U(k.sport, 5555);
	CHECK_EQ_U(k.dport, 443);
	CHECK_EQ_U(k.tcp_flags, TH_SYN | TH_ACK);
	CHECK_EQ_U(k.ip_len, 40 + sizeof(ext) + 20 + 3);
	CHECK_EQ_U(k.payload_len, 3);
	evp_addr_parse("2001:db8::2", a);
	CHECK(memcmp(k.dst, a, 16) == 0);

	t.proto = 17;
	t.ext = ah;
	t.extlen = sizeof(ah);
	t.ext_nh = 51;
	frame_raw(&p, &t);
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_OK);
	CHECK_EQ_U(k.proto, 17);
	CHECK_EQ_U(k.sport, 5555);
	CHECK_EQ_U(k.dport, 443);

	t.proto = 50;
	t.ext = NULL;
	t.extlen = 0;
	t.payload = sizeof(esp);
	frame_raw(&p, &t);
	CHECK_EQ_U(dis(229, &p, &k), DIS_OK);	/* LINKTYPE_IPV6 */
	CHECK_EQ_U(k.proto, 50);
	CHECK_EQ_U(k.has_ports, 0);
	CHECK_EQ_U(k.sport, 0);

	/* No next header (59). */
	t.proto = 59;
	t.payload = 0;
	frame_raw(&p, &t);
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_OK);
	CHECK_EQ_U(k.proto, 59);

	/* An extension header that claims more than the datagram. */
	t.proto = 6;
	t.payload = 0;
	t.ext = ext;
	t.extlen = 8;		/* only the hop-by-hop, claiming routing */
	t.ext_nh = 0;
	frame_raw(&p, &t);
	p.b[40 + 1] = 200;	/* hop-by-hop length: 1608 bytes */
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_EXT_HDR);

	/* A chain of nine hop-by-hop headers: too long. */
	p.n = 0;
	pb_u32(&p, 0x60000000);
	pb_u16(&p, 9 * 8);
	pb_u8(&p, 0);
	pb_u8(&p, 64);
	pb_zero(&p, 32);
	for (int i = 0; i < 9; i++) {
		pb_u8(&p, 0);
		pb_zero(&p, 7);
	}
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_EXT_HDR);
}

static void
test_fragments(void)
{
	/* IPv4 first fragment: ports; later fragment: no L4 parse. */
	struct tp t = { .src = "10.1.1.1", .dst = "10.1.1.2", .proto = 17,
	    .sport = 53, .dport = 3333, .payload = 100, .ipid = 77, .mf = 1 };
	static const uint8_t frag_later[] = { 17, 0, 0x00, 0x10, 0, 0, 0, 9 };
	static const uint8_t frag_first[] = { 17, 0, 0x00, 0x01, 0, 0, 0, 9 };
	struct pb p;
	struct pkt k;

	frame_eth(&p, &t, 0, 0, 0);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.frag, PKT_FRAG_FIRST);
	CHECK_EQ_U(k.frag_id, 77);
	CHECK_EQ_U(k.sport, 53);

	t.mf = 0;
	t.fragoff = 14;
	t.no_l4 = 1;
	t.payload = 50;
	frame_eth(&p, &t, 0, 0, 0);
	/* The payload begins with bytes that would look like ports. */
	p.b[34] = 0xff;
	p.b[35] = 0xff;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.frag, PKT_FRAG_LATER);
	CHECK_EQ_U(k.has_ports, 0);
	CHECK_EQ_U(k.sport, 0);
	CHECK_EQ_U(k.ip_len, 70);

	/* IPv6 fragment header: first and later. */
	t.src = "2001:db8::a";
	t.dst = "2001:db8::b";
	t.no_l4 = 0;
	t.payload = 10;
	t.ext = frag_first;
	t.extlen = 8;
	t.ext_nh = 44;
	frame_raw(&p, &t);
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_OK);
	CHECK_EQ_U(k.frag, PKT_FRAG_FIRST);
	CHECK_EQ_U(k.frag_id, 9);
	CHECK_EQ_U(k.proto, 17);
	CHECK_EQ_U(k.dport, 3333);
	t.ext = frag_later;
	t.no_l4 = 1;
	frame_raw(&p, &t);
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_OK);
	CHECK_EQ_U(k.frag, PKT_FRAG_LATER);
	CHECK_EQ_U(k.proto, 17);
	CHECK_EQ_U(k.has_ports, 0);
}

static void
test_truncated(void)
{
	struct tp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6,
	    .sport = 40000, .dport = 80, .flags = TH_SYN, .seq = 1000,
	    .payload = 1000 };
	struct pb p;
	struct pkt k;

	frame_eth(&p, &t, 0, 0, 0);
	/* Snaplen 64: whole TCP header, bytes from the IP length. */
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 64, (uint32_t)p.n, &k), DIS_OK);
	CHECK_EQ_U(k.truncated, 1);
	CHECK_EQ_U(k.ip_len, 1040);
	CHECK_EQ_U(k.wire_len, 1054);
	CHECK_EQ_U(k.tcp_flags, TH_SYN);
	/* Snaplen 38: ports but no flags. */
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 38, (uint32_t)p.n, &k), DIS_OK);
	CHECK_EQ_U(k.sport, 40000);
	CHECK_EQ_U(k.tcp_flags, 0);
	CHECK_EQ_U(k.has_seq, 0);
	/* Snaplen 36: no ports: a counted skip. */
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 36, (uint32_t)p.n, &k),
	    DIS_TRUNC_L4);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 30, (uint32_t)p.n, &k),
	    DIS_TRUNC_IP);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 10, (uint32_t)p.n, &k),
	    DIS_TRUNC_L2);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 0, (uint32_t)p.n, &k),
	    DIS_TRUNC_L2);
	/* ICMP cut after the IP header is still accounted. */
	t.proto = 1;
	frame_eth(&p, &t, 0, 0, 0);
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, 34, (uint32_t)p.n, &k), DIS_OK);
	CHECK_EQ_U(k.proto, 1);
	CHECK_EQ_U(k.ip_len, 20 + 8 + 1000);
}

static void
test_impossible(void)
{
	struct tp t = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17,
	    .sport = 1, .dport = 2, .payload = 20 };
	struct pb p;
	struct pkt k;

	frame_eth(&p, &t, 0, 0, 0);
	/* caplen beyond len: forged record. */
	CHECK_EQ_U(dissect(DLT_EN10MB, p.b, (uint32_t)p.n, 20, &k),
	    DIS_BAD_LEN);
	/* IP total length beyond the frame. */
	p.b[16] = 0x40;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_BAD_LEN);
	/* Total length below the header length. */
	p.b[16] = 0;
	p.b[17] = 10;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_BAD_IP);
	/* Header length 4 words < 5. */
	frame_eth(&p, &t, 0, 0, 0);
	p.b[14] = 0x44;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_BAD_IP);
	/* Version 5 in an IPv4 ethertype. */
	p.b[14] = 0x55;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_BAD_IP);
	/* Version 7 on raw IP. */
	frame_raw(&p, &t);
	p.b[0] = 0x75;
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_BAD_IP);
	/* IPv4 total length 0 (segmentation offload): the frame's length. */
	frame_eth(&p, &t, 0, 0, 0);
	p.b[16] = p.b[17] = 0;
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.ip_len, p.n - 14);
	/* Ethernet padding: frame longer than the datagram is fine. */
	frame_eth(&p, &t, 0, 0, 0);
	pb_zero(&p, 6);
	CHECK_EQ_U(dis(DLT_EN10MB, &p, &k), DIS_OK);
	CHECK_EQ_U(k.ip_len, 20 + 8 + 20);
	CHECK_EQ_U(k.wire_len, p.n);
	/* IPv6 payload length beyond the frame. */
	t.src = "::1";
	t.dst = "::2";
	frame_raw(&p, &t);
	p.b[4] = 0x7f;
	CHECK_EQ_U(dis(DLT_RAW, &p, &k), DIS_BAD_LEN);
}

int
main(void)
{
	test_link_types();
	test_vlan();
	test_ipv6_ext();
	test_fragments();
	test_truncated();
	test_impossible();
	return t_done("test_capture_dissect");
}
