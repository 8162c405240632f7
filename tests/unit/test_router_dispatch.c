/* router/dispatch.c: the rules (origin, IF_NAME, companion, loopback in
 * every form, at most once, packet flows stay home), then the whole
 * record path over real nanomsg sockets: sender -> router -> receiver. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "t.h"

#define B(n)	(1ULL << (n))

/* 0 tcp://a:1c (companion eth0), 1 tcp://b:2c, 2 eth0 mirrored, 3 eth1 */
static void
table(struct iface_table *t)
{
	struct conf_list *ifs = calloc(3, sizeof(*ifs));
	char err[256];

	snprintf(ifs[0].item[0], CONF_STR_LEN, "tcp://a:1c");
	snprintf(ifs[0].item[1], CONF_STR_LEN, "tcp://b:2c");
	snprintf(ifs[0].item[2], CONF_STR_LEN, "eth0");
	snprintf(ifs[0].item[3], CONF_STR_LEN, "eth1");
	ifs[0].n = 4;
	snprintf(ifs[1].item[0], CONF_STR_LEN, "eth0");
	ifs[1].n = 1;
	snprintf(ifs[2].item[0], CONF_STR_LEN, "tcp://a:1c eth0");
	ifs[2].n = 1;
	CHECK(iface_table_build(t, &ifs[0], &ifs[1], &ifs[2], err,
	    sizeof(err)) == 0);
	free(ifs);
}

static void
flow(struct evp_flow *f, const char *cli, const char *srv, const char *ifname)
{
	memset(f, 0, sizeof(*f));
	f->source = EVP_SRC_EVENT;
	f->event = EVP_EV_CONNECT;
	f->proto = 6;
	f->ip_version = (uint8_t)(evp_addr_parse(cli, f->addr[0]) == 4 ? 4 : 6);
	evp_addr_parse(srv, f->addr[1]);
	snprintf(f->ifname, sizeof(f->ifname), "%s", ifname);
	f->iface = 99;
	f->iface_mask = ~0ULL;		/* whatever a sender put there */
}

static void
test_rules(struct iface_table *t, struct evp_flow *f)
{
	uint64_t rc[RC_MAX] = { 0 };
	struct iface *a = &t->ifs[0], *b = &t->ifs[1], *e0 = &t->ifs[2],
	    *e1 = &t->ifs[3];
	static const char *const lo[][2] = {
		{ "127.0.0.1", "10.0.0.1" }, { "10.0.0.1", "127.9.8.7" },
		{ "::1", "2001:db8::1" }, { "2001:db8::1", "::1" },
		{ "::ffff:127.0.0.1", "::ffff:10.0.0.1" },
		{ "10.0.0.2", "::ffff:127.255.0.1" },
	};
	static const char *const notlo[][2] = {
		{ "128.0.0.1", "10.0.0.1" }, { "126.255.255.255", "1.2.3.4" },
		{ "::2", "2001:db8::1" }, { "::127.0.0.1", "2001:db8::2" },
		{ "::ffff:128.0.0.1", "::ffff:10.0.0.1" },
	};
	char err[256];
	unsigned k;

	/* origin + companion */
	flow(f, "10.0.0.1", "10.0.0.2", "");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	CHECK_EQ_U(f->iface_mask, B(0) | B(2));
	CHECK_EQ_U(f->iface, 0);
	CHECK_EQ_U(rc[RC_COMPANION_DELIVERED], 1);
	CHECK_EQ_U(e0->ctr[IFC_COMPANION_DELIVERED], 1);
	CHECK_EQ_U(a->ctr[IFC_ORIGIN_DELIVERED], 1);

	/* IF_NAME names another interface: three destinations */
	flow(f, "10.0.0.1", "10.0.0.2", "eth1");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2) | B(3));
	CHECK_EQ_U(rc[RC_IFNAME_MATCHED], 1);
	CHECK_EQ_U(e1->ctr[IFC_IFNAME_DELIVERED], 1);

	/* IF_NAME names the companion: it lands there once */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	CHECK_EQ_U(e0->ctr[IFC_IFNAME_DELIVERED], 1);
	CHECK_EQ_U(e0->ctr[IFC_COMPANION_SKIPPED_DUPLICATE], 1);
	CHECK_EQ_U(e0->ctr[IFC_DELIVERED], 3);
	CHECK_EQ_U(rc[RC_COMPANION_SKIPPED_DUPLICATE], 1);

	/* IF_NAME is the origin itself: adds nothing */
	flow(f, "10.0.0.1", "10.0.0.2", "tcp://a:1c");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	CHECK_EQ_U(a->ctr[IFC_IFNAME_SELF], 1);
	CHECK_EQ_U(rc[RC_IFNAME_SELF], 1);

	/* unknown and near-miss IF_NAMEs: exact match only */
	flow(f, "10.0.0.1", "10.0.0.2", "eth");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	flow(f, "10.0.0.1", "10.0.0.2", "ETH1");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	CHECK_EQ_U(rc[RC_IFNAME_UNMATCHED], 2);
	CHECK_EQ_U(a->ctr[IFC_IFNAME_UNMATCHED], 2);

	/* loopback in every form stays out of the companion */
	for (k = 0; k < sizeof(lo) / sizeof(lo[0]); k++) {
		flow(f, lo[k][0], lo[k][1], "");
		CHECK(dispatch_is_loopback(f));
		CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0));
	}
	flow(f, "10.0.0.1", "10.0.0.2", "eth1");
	f->flags = EVP_F_LOOPBACK;		/* the collector's word */
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(3));
	CHECK_EQ_U(rc[RC_COMPANION_SKIPPED_LOOPBACK], 7);
	CHECK_EQ_U(e0->ctr[IFC_COMPANION_SKIPPED_LOOPBACK], 7);
	/* a loopback flow may still land where IF_NAME says */
	flow(f, "127.0.0.1", "127.0.0.1", "eth0");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	for (k = 0; k < sizeof(notlo) / sizeof(notlo[0]); k++) {
		flow(f, notlo[k][0], notlo[k][1], "");
		CHECK(!dispatch_is_loopback(f));
		CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(2));
	}

	/* a ZMQ interface without companion */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	CHECK_EQ_U(dispatch_flow(t, b, f, rc), B(1) | B(2));
	CHECK_EQ_U(f->iface, 1);

	/* packet flows stay in their interface, whatever IF_NAME says */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	f->source = EVP_SRC_PACKET;
	CHECK_EQ_U(dispatch_flow(t, e1, f, rc), B(3));
	CHECK_EQ_U(f->iface, 3);
	flow(f, "10.0.0.1", "10.0.0.2", "");
	CHECK_EQ_U(dispatch_flow(t, e0, f, rc), B(2));

	/* a runtime change applies to the next flow */
	CHECK(iface_table_set_mirrored(t, "eth1", 1, err, sizeof(err)) == 0);
	CHECK(iface_table_set_companion(t, "tcp://a:1c", "eth1", err,
	    sizeof(err)) == 0);
	flow(f, "10.0.0.1", "10.0.0.2", "");
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0) | B(3));
	CHECK(iface_table_set_companion(t, "tcp://a:1c", "none", err,
	    sizeof(err)) == 0);
	CHECK_EQ_U(dispatch_flow(t, a, f, rc), B(0));
	CHECK(iface_table_set_companion(t, "tcp://a:1c", "eth0", err,
	    sizeof(err)) == 0);
}

/* What the receiver downstream of the router saw. */
struct sink {
	unsigned flows, ifcounters, stats, ifaces, other;
	unsigned origins, resets;	/* EVP_ORIGIN: naming one, sender 0 */
	struct evp_origin org;		/* the first naming one */
	uint64_t mask[8];
	uint32_t iface[8];
	uint32_t ifc_iface;
	char stats_name[EVP_NAME_LEN];
};

static void
on_sink(void *arg, const struct link_sender *s, const struct evp_rec_hdr *rh,
    const void *body)
{
	struct sink *k = arg;
	static struct evp_flow f;
	struct evp_ifcounter c;
	static struct evp_stats st;

	(void)s;
	if (rh->type == EVP_FLOW && evp_decode_flow(body, rh->len, &f) == 0) {
		if (k->flows < 8) {
			k->mask[k->flows] = f.iface_mask;
			k->iface[k->flows] = f.iface;
		}
		k->flows++;
	} else if (rh->type == EVP_IFCOUNTER &&
	    evp_decode_ifcounter(body, rh->len, &c) == 0) {
		k->ifcounters++;
		k->ifc_iface = c.iface;
	} else if (rh->type == EVP_STATS &&
	    evp_decode_stats(body, rh->len, &st) == 0) {
		k->stats++;
		snprintf(k->stats_name, sizeof(k->stats_name), "%s", st.name);
	} else if (rh->type == EVP_IFACE)
		k->ifaces++;
	else if (rh->type == EVP_ORIGIN) {
		struct evp_origin o;

		if (evp_decode_origin(body, rh->len, &o) == -1)
			k->other++;
		else if (o.sender == 0)
			k->resets++;
		else if (k->origins++ == 0)
			k->org = o;
	} else
		k->other++;
}

/*
 * Receives on `in` for up to `rounds` polls of 10 ms, retrying the
 * senders' queues each round: sends never block, so a batch offered
 * before the ipc connection was up waits in its link's queue.
 */
static void
pump(struct link_in *in, unsigned rounds, struct link_out *a,
    struct link_out *b)
{
	unsigned i;

	for (i = 0; i < rounds; i++) {
		struct pollfd p = { .fd = nnlink_recv_fd(in->sock),
		    .events = POLLIN };

		if (a != NULL)
			(void)link_out_flush(a);
		if (b != NULL)
			(void)link_out_flush(b);
		poll(&p, 1, 10);
		link_in_poll(in, 64);
	}
}

static void
test_records(struct router *r, struct evp_flow *f)
{
	char dir[] = "/tmp/evflow-rd-XXXXXX", ep_in[128], ep_out[128];
	char err[256], cmd[64];
	struct link_out *coll, *stray;
	struct link_in *sink_in;
	struct sink sink = { 0 };
	struct evp_ifcounter c = { .if_index = 3, .iface = 77 };
	struct evp_stats st = { .role = EVP_ROLE_COLLECTOR, .count = 0,
	    .name = "collector0" };
	struct evp_iface bogus = { .id = 1, .kind = EVP_IFACE_ZMQ,
	    .name = "x" };
	static uint8_t wire[EVP_FLOW_WIRE_MAX];
	size_t len;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(ep_in, sizeof(ep_in), "ipc://%s/router.ipc", dir);
	snprintf(ep_out, sizeof(ep_out), "ipc://%s/store.ipc", dir);
	sink_in = link_in_new(ep_out, 1, on_sink, &sink, err, sizeof(err));
	r->in = link_in_new(ep_in, 1, dispatch_record, r, err, sizeof(err));
	r->out = link_out_new(ep_out, 0, EVP_ROLE_ROUTER, "router", "", 1000,
	    err, sizeof(err));
	coll = link_out_new(ep_in, 0, EVP_ROLE_COLLECTOR, "collector0",
	    "tcp://a:1c", 1000, err, sizeof(err));
	stray = link_out_new(ep_in, 0, EVP_ROLE_CAPTURE, "capture-eth9",
	    "eth9", 1000, err, sizeof(err));
	CHECK(sink_in && r->in && r->out && coll && stray);
	if (!(sink_in && r->in && r->out && coll && stray))
		return;
	r->last_iface = -1;

	flow(f, "10.0.0.1", "10.0.0.2", "eth1");
	CHECK(link_out_put(coll, EVP_FLOW, f, evp_flow_len(f)) == 0);
	flow(f, "127.0.0.1", "10.0.0.2", "");
	CHECK(link_out_put(coll, EVP_FLOW, f, evp_flow_len(f)) == 0);
	CHECK(link_out_put(coll, EVP_IFCOUNTER, &c, sizeof(c)) == 0);
	CHECK(link_out_put(coll, EVP_STATS, &st, sizeof(st)) == 0);
	CHECK(link_out_put(coll, EVP_IFACE, &bogus, sizeof(bogus)) == 0);
	/* a flow record one byte short, put in the pending batch verbatim */
	len = evp_flow_encode(f, wire);
	CHECK(evp_batch_add_raw(&coll->batch, EVP_FLOW, ++coll->seq, wire,
	    len - 1) == 0);
	CHECK(link_out_flush(coll) == 0);
	flow(f, "10.0.0.1", "10.0.0.2", "");
	CHECK(link_out_put(stray, EVP_FLOW, f, evp_flow_len(f)) == 0);
	CHECK(link_out_flush(stray) == 0);

	pump(r->in, 100, coll, stray);
	CHECK(link_out_flush(r->out) == 0);
	control_send_table(r);
	pump(sink_in, 100, r->out, NULL);

	CHECK_EQ_U(r->ctr[RC_RECEIVED], 7);
	CHECK_EQ_U(r->ctr[RC_FORWARDED], 4);
	CHECK_EQ_U(r->ctr[RC_DROP_UNKNOWN_IFACE], 1);
	CHECK_EQ_U(r->ctr[RC_DROP_BAD_RECORD], 1);
	CHECK_EQ_U(r->ctr[RC_DROP_UNEXPECTED_TYPE], 1);
	CHECK_EQ_U(r->ctr[RC_RECEIVED], r->ctr[RC_FORWARDED] +
	    r->ctr[RC_DROP_UNKNOWN_IFACE] + r->ctr[RC_DROP_BAD_RECORD] +
	    r->ctr[RC_DROP_UNEXPECTED_TYPE] + r->ctr[RC_DROP_SEND]);
	CHECK_EQ_U(sink.flows, 2);
	CHECK_EQ_U(sink.mask[0], B(0) | B(2) | B(3));
	CHECK_EQ_U(sink.iface[0], 0);
	CHECK_EQ_U(sink.mask[1], B(0));
	CHECK_EQ_U(sink.ifcounters, 1);
	CHECK_EQ_U(sink.ifc_iface, 0);
	CHECK_EQ_U(sink.stats, 1);
	CHECK_STR(sink.stats_name, "collector0");
	CHECK_EQ_U(sink.ifaces, r->tab.n);
	CHECK_EQ_U(sink.other, 0);
	/* One origin names the collector's four forwarded records (1-4,
	 * in a row: the next ones follow it); the interface table, the
	 * router's own, starts a batch of its own (flushed above): no
	 * origin of sender 0 is needed. */
	CHECK_EQ_U(sink.origins, 1);
	CHECK_EQ_U(sink.org.sender, coll->sender);
	CHECK_EQ_U(sink.org.seq, 1);
	CHECK_EQ_U(sink.org.skip_from, 1);
	CHECK_EQ_U(sink.resets, 0);
	CHECK_EQ_U(r->tab.ifs[0].ctr[IFC_RECEIVED], 4);

	/* The collector resends its first flow (a replay: at or below the
	 * highest sequence the router counted), then sends a new one:
	 * both are forwarded (the store skips what it has), the resend
	 * counted only in `replayed`, never again in received, forwarded,
	 * rx_* or the interfaces' dispatch counters. */
	{
		static uint8_t msg[EVP_BATCH_MAX_BYTES];
		struct evp_batch b;
		uint64_t fw = r->ctr[RC_FORWARDED], flows = sink.flows;
		uint64_t dl = r->tab.ifs[0].ctr[IFC_DELIVERED];

		evp_batch_init(&b, msg, coll->sender);
		CHECK(evp_batch_add(&b, EVP_HELLO, 0, &coll->hello,
		    sizeof(coll->hello)) == 0);
		flow(f, "10.0.0.1", "10.0.0.2", "eth1");
		CHECK(evp_batch_add(&b, EVP_FLOW, 1, f, evp_flow_len(f)) == 0);
		flow(f, "10.0.0.3", "10.0.0.2", "");
		CHECK(evp_batch_add(&b, EVP_FLOW, coll->seq + 1, f,
		    evp_flow_len(f)) == 0);
		link_in_dispatch(r->in, b.buf, b.len);
		CHECK(link_out_flush(r->out) == 0);
		pump(sink_in, 100, r->out, NULL);
		CHECK_EQ_U(r->ctr[RC_REPLAYED], 1);
		CHECK_EQ_U(r->ctr[RC_REPLAY_UNSENT], 0);
		CHECK_EQ_U(r->ctr[RC_RECEIVED], 8);
		CHECK_EQ_U(r->ctr[RC_RX_FLOW], 4);
		CHECK_EQ_U(r->ctr[RC_FORWARDED], fw + 1);
		CHECK_EQ_U(r->ctr[RC_RECEIVED], r->ctr[RC_FORWARDED] +
		    r->ctr[RC_DROP_UNKNOWN_IFACE] +
		    r->ctr[RC_DROP_BAD_RECORD] +
		    r->ctr[RC_DROP_UNEXPECTED_TYPE] + r->ctr[RC_DROP_SEND]);
		CHECK_EQ_U(r->tab.ifs[0].ctr[IFC_RECEIVED], 5);
		CHECK_EQ_U(r->tab.ifs[0].ctr[IFC_DELIVERED], dl + 1);
		CHECK_EQ_U(sink.flows, flows + 2);
		/* The resend keeps its destinations (eth1 by IF_NAME). */
		CHECK_EQ_U(sink.mask[flows], B(0) | B(2) | B(3));
	}

	link_out_free(coll);
	link_out_free(stray);
	link_out_free(r->out);
	link_in_free(r->in);
	link_in_free(sink_in);
	r->in = NULL;
	r->out = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

/*
 * Interfaces of several hosts (names "HOST:NAME", as evflow-relay gives
 * them): IF_NAME resolves on the origin's host only, companions stay on
 * their host, and a local event never names a remote interface.
 */
static void
test_hosts(struct evp_flow *f)
{
	static struct iface_table t;
	struct conf_list *l = calloc(3, sizeof(*l));
	uint64_t rc[RC_MAX] = { 0 };
	char err[256];
	static const char *const names[] = {
		"h1:tcp://127.0.0.1:5570c", "h1:eth0", "h2:tcp://127.0.0.1:5570c",
		"h2:eth0", "tcp://*:1c", "eth0", "h1:eth1"
	};
	unsigned k;

	CHECK_EQ_U(evp_iface_host_len("h1:eth0"), 2);
	CHECK_EQ_U(evp_iface_host_len("web-1.dc:tcp://*:1c"), 8);
	CHECK_EQ_U(evp_iface_host_len("tcp://*:1c"), 0);
	CHECK_EQ_U(evp_iface_host_len("eth0"), 0);
	CHECK_EQ_U(evp_iface_host_len("/tmp/a:b.pcap"), 0);
	CHECK_EQ_U(evp_iface_host_len(":eth0"), 0);
	CHECK_EQ_U(evp_iface_host_len("h1:"), 0);
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		snprintf(l[0].item[l[0].n++], CONF_STR_LEN, "%s", names[k]);
	snprintf(l[1].item[l[1].n++], CONF_STR_LEN, "h1:eth0");
	snprintf(l[1].item[l[1].n++], CONF_STR_LEN, "h2:eth0");
	snprintf(l[1].item[l[1].n++], CONF_STR_LEN, "eth0");
	/* a companion on another host is refused */
	snprintf(l[2].item[0], CONF_STR_LEN, "h1:tcp://127.0.0.1:5570c h2:eth0");
	l[2].n = 1;
	CHECK(iface_table_build(&t, &l[0], &l[1], &l[2], err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "different hosts") != NULL);
	l[2].n = 0;
	CHECK(iface_table_build(&t, &l[0], &l[1], &l[2], err,
	    sizeof(err)) == 0);
	CHECK(iface_table_set_companion(&t, "h2:tcp://127.0.0.1:5570c",
	    "eth0", err, sizeof(err)) == -1);
	CHECK(iface_table_set_companion(&t, "h2:tcp://127.0.0.1:5570c",
	    "h2:eth0", err, sizeof(err)) == 0);

	/* h1's event naming eth0 lands in h1:eth0 (id 1), never h2:eth0
	 * (3) nor the local eth0 (5) */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[0], f, rc), B(0) | B(1));
	/* h2's: h2:eth0, once (it is also the companion) */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[2], f, rc), B(2) | B(3));
	CHECK_EQ_U(rc[RC_COMPANION_SKIPPED_DUPLICATE], 1);
	/* the local ZMQ interface's event: the local eth0 */
	flow(f, "10.0.0.1", "10.0.0.2", "eth0");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[4], f, rc), B(4) | B(5));
	/* naming another host's interface by its full name: unmatched,
	 * from a local interface and from another host */
	flow(f, "10.0.0.1", "10.0.0.2", "h1:eth0");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[4], f, rc), B(4));
	flow(f, "10.0.0.1", "10.0.0.2", "h1:eth0");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[2], f, rc), B(2) | B(3));
	CHECK_EQ_U(rc[RC_IFNAME_UNMATCHED], 2);
	/* h1's event naming eth1: h1:eth1 (6); h2 has none */
	flow(f, "10.0.0.1", "10.0.0.2", "eth1");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[0], f, rc), B(0) | B(6));
	flow(f, "10.0.0.1", "10.0.0.2", "eth1");
	CHECK_EQ_U(dispatch_flow(&t, &t.ifs[2], f, rc), B(2) | B(3));
	CHECK_EQ_U(rc[RC_IFNAME_UNMATCHED], 3);
	free(l);
}

int
main(void)
{
	struct router *r = calloc(1, sizeof(*r));
	struct evp_flow *f = calloc(1, sizeof(*f));

	snprintf(r->conf.name, sizeof(r->conf.name), "router");
	table(&r->tab);
	test_rules(&r->tab, f);
	table(&r->tab);
	test_records(r, f);
	test_hosts(f);
	free(f);
	free(r);
	return t_done("test_router_dispatch");
}
