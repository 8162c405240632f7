/*
 * store/flow_table.c, flow_merge.c, intern.c: merge rules, orientation,
 * the join and its windows, caps and expiry.  No SQLite here: the
 * retire callback records what would be written.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "t.h"
#include "test_store_rec.h"

#define SEC	1000000ULL

struct retired {
	unsigned	n, dirty, why[RETIRE_FLUSH + 1];
	uint64_t	last_id;
	int		last_had_proc;
};

static void
on_retire(void *arg, struct flow_table *ft, struct flow *f,
    enum flow_retire why)
{
	struct retired *r = arg;

	(void)ft;
	r->n++;
	if (f->flags & FL_DIRTY)
		r->dirty++;
	r->why[why]++;
	r->last_id = f->id;
	r->last_had_proc = flow_has_process(f);
}

static struct flow_table *
table(struct intern *in, uint64_t *ids, int packet, uint32_t max_flows,
    uint32_t max_pending, struct retired *r)
{
	struct flow_table *ft = flow_table_new(in, ids, packet, max_flows,
	    max_pending, 120 * SEC, 30 * SEC);

	memset(r, 0, sizeof(*r));
	flow_table_set_retire(ft, on_retire, r);
	return ft;
}

static struct flow *
find(struct flow_table *ft, const struct evp_flow *r)
{
	struct flow_key k;

	(void)flow_key_make(&k, r);
	return flow_table_find(ft, &k);
}

static const char *
proc_path(struct flow_table *ft, struct flow *f, int role)
{
	const struct evp_proc *p = intern_get_proc(ft->in, f->proc[role]);

	return p ? p->path : "(none)";
}

/* Client side is the key endpoint holding 10.0.0.1 (the initiator). */
static int
client_is(struct flow *f, const char *addr)
{
	uint8_t a[16];

	(void)evp_addr_parse(addr, a);
	return memcmp(f->key.addr[f->cli], a, 16) == 0;
}

static void
test_both_directions(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;

	ft = table(in, &ids, 0, 1024, 1024, &rt);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.0.0.1", 40000,
	    "10.0.0.2", 80, 1);
	rec_proc(r, 0, 100, "/usr/bin/curl", "alice");
	CHECK(flow_merge(ft, r, NULL, 1) == 0);
	/* The same flow seen from the server host: its local side is the
	 * server; the record names the same client. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_ACCEPT, "10.0.0.1", 40000,
	    "10.0.0.2", 80, 1);
	rec_proc(r, 1, 200, "/usr/sbin/nginx", "www-data");
	rec_parent(r, 1, 1, "/sbin/init");
	rec_container(r, 1, "3f2a", "web-1");
	CHECK(flow_merge(ft, r, NULL, 2) == 0);
	CHECK_EQ_U(ft->live, 1);
	f = find(ft, r);
	CHECK(f != NULL);
	CHECK(client_is(f, "10.0.0.1"));
	CHECK_STR(proc_path(ft, f, 0), "/usr/bin/curl");
	CHECK_STR(proc_path(ft, f, 1), "/usr/sbin/nginx");
	CHECK(f->parent[1] != 0 && f->parent[0] == 0);
	CHECK(f->cont[1] != 0);
	CHECK_EQ_U(f->events, 2);
	CHECK_EQ_U(f->last_event, EVP_EV_ACCEPT);

	/* A record written the other way round (addresses swapped) finds
	 * the same entry. */
	rec_flow(r, EVP_SRC_NETFLOW, EVP_EV_NONE, "10.0.0.2", 80, "10.0.0.1",
	    40000, 1);
	r->flags |= EVP_F_SIDES_GUESSED;
	rec_counts(r, 3, 5);
	CHECK(flow_merge(ft, r, NULL, 3) == 0);
	CHECK_EQ_U(ft->live, 1);
	/* Guessed: mapped onto the entry, so its c2s is our s2c. */
	CHECK_EQ_U(f->pkts[0], 5);
	CHECK_EQ_U(f->pkts[1], 3);
	CHECK(client_is(f, "10.0.0.1"));
	flow_table_free(ft);
	CHECK_EQ_U(rt.why[RETIRE_FLUSH], 1);
	free(r);
}

static void
test_reorientation(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;

	ft = table(in, &ids, 0, 1024, 1024, &rt);
	/* A guess first: 10.0.0.9:8080 thought to be the client. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, "10.0.0.9", 8080,
	    "10.0.0.5", 55000, 1);
	r->flags |= EVP_F_SIDES_GUESSED;
	rec_proc(r, 0, 300, "/usr/bin/java", "app");
	CHECK(flow_merge(ft, r, NULL, 1) == 0);
	f = find(ft, r);
	CHECK(f->orient == ORIENT_GUESSED);
	CHECK(client_is(f, "10.0.0.9"));
	/* A CONNECT from 10.0.0.5 knows better: the entry turns around
	 * and the java process moves to the server side. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.0.0.5", 55000,
	    "10.0.0.9", 8080, 1);
	rec_proc(r, 0, 301, "/usr/bin/python3", "bob");
	CHECK(flow_merge(ft, r, NULL, 2) == 0);
	CHECK_EQ_U(ft->live, 1);
	CHECK(client_is(f, "10.0.0.5"));
	CHECK(f->orient == ORIENT_EVENT);
	CHECK_STR(proc_path(ft, f, 0), "/usr/bin/python3");
	CHECK_STR(proc_path(ft, f, 1), "/usr/bin/java");
	/* Another guess the wrong way round does not turn it back. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, "10.0.0.9", 8080,
	    "10.0.0.5", 55000, 1);
	r->flags |= EVP_F_SIDES_GUESSED;
	rec_proc(r, 0, 302, "/usr/bin/java2", "app");
	CHECK(flow_merge(ft, r, NULL, 3) == 0);
	CHECK(client_is(f, "10.0.0.5"));
	CHECK_STR(proc_path(ft, f, 1), "/usr/bin/java2");
	CHECK_STR(proc_path(ft, f, 0), "/usr/bin/python3");
	/* Packets are authoritative over events. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.0.0.9", 8080,
	    "10.0.0.5", 55000, 1);
	rec_counts(r, 7, 1);
	CHECK(flow_merge(ft, r, NULL, 4) == 0);
	CHECK(client_is(f, "10.0.0.9"));
	CHECK_STR(proc_path(ft, f, 0), "/usr/bin/java2");
	CHECK_EQ_U(f->pkts[0], 7);
	flow_table_free(ft);
	free(r);
}

static void
test_netstat_netflow(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct flow_tcpinfo *t;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;

	ft = table(in, &ids, 0, 1024, 1024, &rt);
	rec_flow(r, EVP_SRC_NETSTAT, EVP_EV_UPDATE, "10.0.0.1", 40001,
	    "10.0.0.2", 22, 1);
	r->flags |= EVP_F_HAS_TCPINFO;
	r->bytes_rcvd = 100;
	r->bytes_acked = 10;
	r->rtt_us = 1500;
	CHECK(flow_merge(ft, r, NULL, 1) == 0);
	r->bytes_rcvd = 250;
	r->bytes_acked = 40;
	r->rtt_us = 2500;
	CHECK(flow_merge(ft, r, NULL, 2) == 0);
	f = find(ft, r);
	t = flow_tcpinfo(ft, f, 0);
	CHECK(t != NULL);
	CHECK_EQ_U(t->rcvd_sum, 250);
	CHECK_EQ_U(t->acked_sum, 40);
	CHECK_EQ_U(t->rtt_us, 2500);
	/* Going backwards is a new socket: counted whole. */
	r->bytes_rcvd = 50;
	CHECK(flow_merge(ft, r, NULL, 3) == 0);
	CHECK_EQ_U(t->rcvd_sum, 300);

	/* NetFlow records carry deltas: they add up. */
	rec_flow(r, EVP_SRC_NETFLOW, EVP_EV_NONE, "10.0.0.3", 5000,
	    "10.0.0.4", 53, 1);
	rec_counts(r, 1, 2);
	CHECK(flow_merge(ft, r, NULL, 4) == 0);
	rec_counts(r, 10, 20);
	CHECK(flow_merge(ft, r, NULL, 5) == 0);
	f = find(ft, r);
	CHECK_EQ_U(f->pkts[0], 11);
	CHECK_EQ_U(f->pkts[1], 22);
	CHECK_EQ_U(f->bytes[1], 2200);
	CHECK(f->flags & FL_COUNTERS);
	CHECK(!(f->flags & FL_PACKETS));
	/* Retransmit events count one from the local side. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_RETRANSMIT, "10.0.0.3", 5000,
	    "10.0.0.4", 53, 1);
	r->side[0].present = EVP_SIDE_LOCAL;
	CHECK(flow_merge(ft, r, NULL, 6) == 0);
	CHECK(flow_merge(ft, r, NULL, 7) == 0);
	CHECK_EQ_U(f->retrans[0], 2);
	CHECK_EQ_U(f->retrans[1], 0);
	flow_table_free(ft);
	free(r);
}

/*
 * A CLOSE from each end of one connection (both hosts export, or both
 * ends are on the probe's host): each side's TCP info stays its own,
 * never summed, and the row shows the client's socket whichever CLOSE
 * came first; the server's alone until the client's arrives.
 */
static void
test_close_both_sides(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	const struct flow_tcpinfo *t;
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;
	int order, k, side;

	for (order = 0; order < 2; order++) {
		ft = table(in, &ids, 1, 1024, 1024, &rt);
		rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.9.0.1", 41000,
		    "10.9.0.2", 80, 1);
		rec_counts(r, 8, 9);
		CHECK(flow_merge(ft, r, NULL, 1 * SEC) == 0);
		f = find(ft, r);
		for (k = 0; k < 2; k++) {
			/* order 0: client first; order 1: server first */
			side = k ^ order;
			rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, "10.9.0.1",
			    41000, "10.9.0.2", 80, 1);
			r->flags |= EVP_F_HAS_TCPINFO | EVP_F_ABSOLUTE;
			rec_proc(r, side, side ? 300 : 200, side ?
			    "/usr/sbin/httpd" : "/usr/bin/curl", "u");
			/* the client received 5000 and sent 120 bytes; the
			 * server the other way round */
			r->bytes_rcvd = side ? 120 : 5000;
			r->bytes_acked = side ? 5000 : 120;
			r->segs_in = side ? 7 : 9;
			r->segs_out = side ? 9 : 7;
			r->rtt_us = side ? 111 : 222;
			CHECK(flow_merge(ft, r, NULL, (2 + k) * SEC) == 0);
			t = flow_tcpinfo(ft, f, 0);
			CHECK(t != NULL);
			if (t == NULL)
				continue;
			if (k == 0 && side == 1) {
				/* the server's alone: its socket's view */
				CHECK_EQ_U(t->rcvd_sum, 120);
				CHECK_EQ_U(t->acked_sum, 5000);
				CHECK_EQ_U(t->segs_in, 7);
				CHECK_EQ_U(t->rtt_us, 111);
				continue;
			}
			/* the client's socket, not a sum of both */
			CHECK_EQ_U(t->rcvd_sum, 5000);
			CHECK_EQ_U(t->acked_sum, 120);
			CHECK_EQ_U(t->segs_in, 9);
			CHECK_EQ_U(t->segs_out, 7);
			CHECK_EQ_U(t->rtt_us, 222);
		}
		t = flow_tcpinfo(ft, f, 0);
		CHECK(t != NULL && t->side[f->cli].set && t->side[!f->cli].set);
		if (t != NULL) {
			CHECK_EQ_U(t->side[f->cli].rcvd_sum, 5000);
			CHECK_EQ_U(t->side[!f->cli].rcvd_sum, 120);
			CHECK_EQ_U(t->side[!f->cli].acked_sum, 5000);
		}
		/* Both processes are on their sides; packets still count. */
		CHECK(strcmp(proc_path(ft, f, 0), "/usr/bin/curl") == 0);
		CHECK(strcmp(proc_path(ft, f, 1), "/usr/sbin/httpd") == 0);
		CHECK_EQ_U(f->pkts[0], 8);
		/* A repeated CLOSE of the client's socket changes nothing. */
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, "10.9.0.1", 41000,
		    "10.9.0.2", 80, 1);
		r->flags |= EVP_F_HAS_TCPINFO | EVP_F_ABSOLUTE;
		r->side[0].present = EVP_SIDE_LOCAL;
		r->bytes_rcvd = 5000;
		r->bytes_acked = 120;
		CHECK(flow_merge(ft, r, NULL, 5 * SEC) == 0);
		t = flow_tcpinfo(ft, f, 0);
		CHECK(t != NULL && t->rcvd_sum == 5000 && t->acked_sum == 120);
		flow_table_free(ft);
	}
	free(r);
}

static void
test_join(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;

	ft = table(in, &ids, 1, 1024, 1024, &rt);
	/* Before the first packet: the event waits as a pending entry. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_ACCEPT, "192.168.1.7", 51544,
	    "192.168.1.23", 443, 1);
	rec_proc(r, 1, 1826, "/usr/sbin/nginx", "www-data");
	CHECK(flow_merge(ft, r, NULL, 1 * SEC) == 0);
	f = find(ft, r);
	CHECK(f->flags & FL_PENDING);
	CHECK_EQ_U(ft->pending, 1);
	/* Packets arrive inside the window, written server-first. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "192.168.1.7", 51544,
	    "192.168.1.23", 443, 1);
	rec_counts(r, 10, 12);
	CHECK(flow_merge(ft, r, NULL, 5 * SEC) == 0);
	CHECK_EQ_U(ft->live, 1);
	CHECK_EQ_U(ft->pending, 0);
	CHECK(f->flags & FL_JOINED);
	CHECK(!(f->flags & FL_PENDING));
	CHECK_EQ_U(ft->c[FTC_JOINS], 1);
	CHECK_STR(proc_path(ft, f, 1), "/usr/sbin/nginx");
	CHECK(f->proc[0] == 0);
	CHECK_EQ_U(f->pkts[0], 10);
	CHECK_EQ_U(f->wire[1], 12 * 114);
	/* Later packet totals replace, never add. */
	rec_counts(r, 20, 22);
	CHECK(flow_merge(ft, r, NULL, 6 * SEC) == 0);
	CHECK_EQ_U(f->pkts[0], 20);
	/* Events carrying counters do not touch packet totals. */
	rec_flow(r, EVP_SRC_NETFLOW, EVP_EV_NONE, "192.168.1.7", 51544,
	    "192.168.1.23", 443, 1);
	rec_counts(r, 1000, 1000);
	CHECK(flow_merge(ft, r, NULL, 6 * SEC) == 0);
	CHECK_EQ_U(f->pkts[0], 20);
	CHECK_EQ_U(ft->c[FTC_JOINS], 2);

	/* After the first packet: a packet flow, then the event. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "192.168.1.23", 54348,
	    "203.0.113.80", 80, 1);
	rec_counts(r, 3, 4);
	r->first_usec = r->ts_usec - 1000;
	CHECK(flow_merge(ft, r, NULL, 7 * SEC) == 0);
	f = find(ft, r);
	f->flags &= (uint16_t)~FL_MOVED;	/* as once written */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "192.168.1.23", 54348,
	    "203.0.113.80", 80, 1);
	rec_proc(r, 0, 30197, "/usr/bin/curl", "alice");
	r->ts_usec += 2 * SEC;
	r->first_usec = r->ts_usec - 3 * SEC;
	CHECK(flow_merge(ft, r, NULL, 8 * SEC) == 0);
	CHECK(f->flags & FL_JOINED);
	CHECK_STR(proc_path(ft, f, 0), "/usr/bin/curl");
	CHECK_EQ_U(ft->c[FTC_JOINS], 3);
	/* The packets' times stay: the event moved nothing. */
	CHECK_EQ_U(f->last_usec, 1700000000000000ULL);
	CHECK_EQ_U(f->first_usec, 1700000000000000ULL - 1000);
	CHECK(!(f->flags & FL_MOVED));

	/* A packet flow that ended stays joinable for the window. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_END, "192.168.1.23", 54400,
	    "203.0.113.80", 80, 1);
	rec_counts(r, 5, 5);
	CHECK(flow_merge(ft, r, NULL, 10 * SEC) == 0);
	f = find(ft, r);
	CHECK(f->flags & FL_ENDED);
	CHECK_EQ_U(f->list, FLIST_ENDED);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CLOSE, "192.168.1.23", 54400,
	    "203.0.113.80", 80, 1);
	rec_proc(r, 0, 30198, "/usr/bin/wget", "alice");
	CHECK(flow_merge(ft, r, NULL, 30 * SEC) == 0);
	CHECK_EQ_U(ft->c[FTC_JOINS], 4);
	CHECK(flow_has_process(f));
	CHECK_EQ_U(f->list, FLIST_ENDED);
	/* Its window runs from the end: gone at 10 + 30 s. */
	CHECK_EQ_U(flow_table_expire(ft, 39 * SEC, 100), 0);
	CHECK_EQ_U(flow_table_expire(ft, 41 * SEC, 100), 1);
	CHECK_EQ_U(rt.why[RETIRE_ENDED], 1);
	CHECK_EQ_U(rt.dirty, 1);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS], 1);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS_WITH_PROCESS], 1);

	/* A packet flow nobody explained: counted without a process. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_END, "192.168.1.23", 60000,
	    "198.51.100.1", 53, 1);
	r->proto = 17;
	rec_counts(r, 1, 1);
	CHECK(flow_merge(ft, r, NULL, 50 * SEC) == 0);
	CHECK_EQ_U(flow_table_expire(ft, 81 * SEC, 100), 1);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS_NO_PROCESS], 1);
	CHECK_EQ_U(ft->c[FTC_MISSES], 0);
	flow_table_free(ft);
	free(r);
}

/*
 * Live packet flows (issue 11): the capture reports a flow 1 s after its
 * first packet, then updates it, then ends it.  An event that arrives
 * while the flow is live joins it however long ago the flow began; one
 * that comes before the first record waits and joins it.  Every record
 * of a flow lands in one entry (one row id); totals replace; joins count
 * events, packet flows and their attribution count the flow once.
 */
static void
test_live_join(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0, id;
	unsigned t;

	ft = table(in, &ids, 1, 1024, 1024, &rt);
	/* A long TCP connection: first record at 1 s, updates every 5 s. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.7.0.1", 41000,
	    "10.7.0.2", 8080, 1);
	rec_counts(r, 3, 2);
	CHECK(flow_merge(ft, r, NULL, 1 * SEC) == 0);
	f = find(ft, r);
	id = f->id;
	/* Attribution counts live flows from their first record. */
	CHECK_EQ_U(ft->live_packet, 1);
	CHECK_EQ_U(ft->live_packet_proc, 0);
	CHECK(flow_table_attribution(ft) == 0);
	for (t = 6; t <= 41; t += 5) {
		rec_counts(r, t, t - 1);
		CHECK(flow_merge(ft, r, NULL, t * SEC) == 0);
	}
	/* The server's ACCEPT 42 s after the flow began (past the 30 s
	 * window): the flow is live, it joins. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_ACCEPT, "10.7.0.1", 41000,
	    "10.7.0.2", 8080, 1);
	rec_proc(r, 1, 4242, "/usr/bin/python3", "root");
	CHECK(flow_merge(ft, r, NULL, 42 * SEC) == 0);
	CHECK_EQ_U(ft->c[FTC_JOINS], 1);
	CHECK(f->flags & FL_JOINED);
	CHECK_EQ_U(ft->live, 1);
	CHECK_EQ_U(ft->live_packet, 1);
	CHECK_EQ_U(ft->live_packet_proc, 1);
	CHECK(flow_table_attribution(ft) == 1);
	/* More updates and the end: totals replace, still one entry. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.7.0.1", 41000,
	    "10.7.0.2", 8080, 1);
	rec_counts(r, 50, 48);
	CHECK(flow_merge(ft, r, NULL, 46 * SEC) == 0);
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_END, "10.7.0.1", 41000,
	    "10.7.0.2", 8080, 1);
	rec_counts(r, 52, 50);
	CHECK(flow_merge(ft, r, NULL, 50 * SEC) == 0);
	CHECK(find(ft, r) == f);
	CHECK_EQ_U(f->id, id);
	CHECK_EQ_U(f->pkts[0], 52);
	CHECK_EQ_U(f->pkts[1], 50);
	CHECK_EQ_U(f->bytes[0], 5200);
	CHECK_EQ_U(f->updates, 12);
	CHECK_STR(proc_path(ft, f, 1), "/usr/bin/python3");

	/* A one-shot UDP exchange: its event comes before the capture's
	 * first record (it waits), the first record joins it, the end
	 * record changes nothing in the counts. */
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_SEND, "10.7.0.1", 40053, "10.7.0.2",
	    53, 1);
	r->proto = 17;
	rec_proc(r, 0, 4343, "/usr/bin/dig", "root");
	CHECK(flow_merge(ft, r, NULL, 60 * SEC) == 0);
	CHECK_EQ_U(ft->pending, 1);
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.7.0.1", 40053,
	    "10.7.0.2", 53, 1);
	r->proto = 17;
	rec_counts(r, 1, 1);
	CHECK(flow_merge(ft, r, NULL, 60 * SEC + 500000) == 0);
	CHECK_EQ_U(ft->pending, 0);
	CHECK_EQ_U(ft->c[FTC_JOINS], 2);
	r->event = EVP_EV_END;
	CHECK(flow_merge(ft, r, NULL, 120 * SEC) == 0);
	CHECK_EQ_U(ft->c[FTC_JOINS], 2);
	CHECK_EQ_U(ft->live, 2);
	CHECK_EQ_U(ft->live_packet, 2);
	CHECK_EQ_U(ft->live_packet_proc, 2);
	/* A packet flow nobody explains: half of the live ones. */
	rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, "10.7.0.1", 41001,
	    "10.7.0.2", 8080, 1);
	rec_counts(r, 1, 0);
	CHECK(flow_merge(ft, r, NULL, 121 * SEC) == 0);
	CHECK_EQ_U(ft->live_packet, 3);
	CHECK(flow_table_attribution(ft) > 0.66 &&
	    flow_table_attribution(ft) < 0.67);
	flow_table_retire(ft, find(ft, r), RETIRE_FLUSH);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS_NO_PROCESS], 1);
	ft->c[FTC_PACKET_FLOWS_NO_PROCESS] = 0;
	ft->c[FTC_PACKET_FLOWS] = 0;
	CHECK_EQ_U(ft->live_packet, 2);

	/* Both leave the table once: two packet flows, both explained. */
	CHECK_EQ_U(flow_table_expire(ft, 200 * SEC, 100), 2);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS], 2);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS_WITH_PROCESS], 2);
	CHECK_EQ_U(ft->c[FTC_PACKET_FLOWS_NO_PROCESS], 0);
	CHECK_EQ_U(ft->c[FTC_MISSES], 0);
	CHECK_EQ_U(ft->c[FTC_CREATED], 3);
	CHECK_EQ_U(rt.n, 3);
	CHECK_EQ_U(ft->live_packet, 0);
	CHECK_EQ_U(ft->live_packet_proc, 0);
	CHECK(flow_table_attribution(ft) == 1);
	flow_table_free(ft);
	free(r);
}

static void
test_window_and_caps(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	uint64_t ids = 0;
	unsigned i;

	/* Events that never meet packets: misses when the window of the
	 * latest ends (each event waits its own window), and the entry is
	 * written (dirty) before it goes. */
	ft = table(in, &ids, 1, 1024, 2, &rt);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.1.0.1", 1000,
	    "10.1.0.2", 80, 1);
	rec_proc(r, 0, 1, "/bin/a", "root");
	CHECK(flow_merge(ft, r, NULL, 1 * SEC) == 0);
	CHECK(flow_merge(ft, r, NULL, 2 * SEC) == 0);
	CHECK_EQ_U(flow_table_expire(ft, 31 * SEC + 1, 100), 0);
	CHECK_EQ_U(flow_table_expire(ft, 32 * SEC, 100), 1);
	CHECK_EQ_U(rt.why[RETIRE_WINDOW], 1);
	CHECK_EQ_U(rt.dirty, 1);
	CHECK_EQ_U(ft->c[FTC_MISSES], 2);
	CHECK_EQ_U(ft->c[FTC_JOINS], 0);
	CHECK_EQ_U(ft->live, 0);

	/* max_pending = 2: a third pending entry evicts the oldest. */
	for (i = 0; i < 3; i++) {
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.1.0.1",
		    2000 + i, "10.1.0.2", 80, 1);
		CHECK(flow_merge(ft, r, NULL, 40 * SEC) == 0);
	}
	CHECK_EQ_U(ft->pending, 2);
	CHECK_EQ_U(ft->c[FTC_PENDING_EVICTED], 1);
	CHECK_EQ_U(rt.why[RETIRE_PENDING_CAP], 1);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.1.0.1", 2000,
	    "10.1.0.2", 80, 1);
	CHECK(find(ft, r) == NULL);
	flow_table_free(ft);

	/* Idle expiry in a ZMQ interface. */
	ft = table(in, &ids, 0, 1024, 1024, &rt);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.2.0.1", 1000,
	    "10.2.0.2", 80, 1);
	CHECK(flow_merge(ft, r, NULL, 1 * SEC) == 0);
	CHECK(flow_merge(ft, r, NULL, 100 * SEC) == 0);
	CHECK_EQ_U(flow_table_expire(ft, 200 * SEC, 100), 0);
	CHECK_EQ_U(flow_table_deadline(ft), 220 * SEC);
	CHECK_EQ_U(flow_table_expire(ft, 221 * SEC, 100), 1);
	CHECK_EQ_U(rt.why[RETIRE_IDLE], 1);
	CHECK_EQ_U(ft->c[FTC_EXPIRED], 1);
	/* A later record with the same key is a new flow (new id). */
	{
		uint64_t first = rt.last_id;
		struct flow *f;

		CHECK(flow_merge(ft, r, NULL, 300 * SEC) == 0);
		f = find(ft, r);
		CHECK(f != NULL && f->id > first);
	}
	flow_table_free(ft);

	/* max_flows: the least recently updated flow is evicted. */
	ft = table(in, &ids, 0, 1024, 1024, &rt);
	for (i = 0; i < 1025; i++) {
		rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.3.0.1",
		    1000 + i, "10.3.0.2", 80, 1);
		CHECK(flow_merge(ft, r, NULL, (1 + i) * SEC / 1000) == 0);
	}
	CHECK_EQ_U(ft->live, 1024);
	CHECK_EQ_U(ft->c[FTC_EVICTED], 1);
	CHECK_EQ_U(rt.why[RETIRE_EVICT], 1);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.3.0.1", 1000,
	    "10.3.0.2", 80, 1);
	CHECK(find(ft, r) == NULL);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.3.0.1", 2024,
	    "10.3.0.2", 80, 1);
	CHECK(find(ft, r) != NULL);
	flow_table_free(ft);
	free(r);
}

/* The pool grows by doubling; every flow stays findable, and the
 * dirty queue hands each one out exactly once. */
static void
test_growth(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	uint64_t ids = 0;
	unsigned i, found = 0, popped = 0;

	ft = table(in, &ids, 0, 100000, 1024, &rt);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.4.0.1", 1,
	    "10.4.0.2", 80, 1);
	rec_proc(r, 0, 42, "/usr/bin/same", "u");
	for (i = 0; i < 20000; i++) {
		r->port[0] = (uint16_t)(1 + i % 60000);
		r->addr[1][15] = (uint8_t)(i / 60000);
		CHECK(flow_merge(ft, r, NULL, 1) == 0);
	}
	for (i = 0; i < 20000; i++) {
		r->port[0] = (uint16_t)(1 + i % 60000);
		r->addr[1][15] = (uint8_t)(i / 60000);
		found += find(ft, r) != NULL;
	}
	CHECK_EQ_U(found, 20000);
	CHECK_EQ_U(ft->ndirty, 20000);
	while (flow_table_pop_dirty(ft, UINT64_MAX) != NULL)
		popped++;
	CHECK_EQ_U(popped, 20000);
	/* One process shared by all: interned once. */
	CHECK_EQ_U(in->live, 1);
	CHECK(sizeof(struct flow) <= 256);
	flow_table_free(ft);
	CHECK_EQ_U(rt.why[RETIRE_FLUSH], 20000);
	CHECK_EQ_U(rt.dirty, 0);
	free(r);
}

/* The buckets double a little at a time (rehash_step): flows created,
 * found and retired while a doubling is in progress stay consistent. */
static void
test_incremental_rehash(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	struct flow *f;
	uint64_t ids = 0;
	unsigned i, found = 0, gone = 0, resizing = 0, lost = 0;

	ft = table(in, &ids, 0, 100000, 1024, &rt);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, "10.5.0.1", 1,
	    "10.5.0.2", 80, 1);
	for (i = 0; i < 30000; i++) {
		r->port[0] = (uint16_t)(1 + i % 60000);
		r->addr[1][15] = (uint8_t)(i / 60000);
		CHECK(flow_merge(ft, r, NULL, 1) == 0);
		resizing += ft->obucket != NULL;
		/* Every third flow leaves again, mid-resize or not. */
		if (i % 3 == 2 && (f = find(ft, r)) != NULL)
			flow_table_retire(ft, f, RETIRE_IDLE);
		/* An earlier flow is still found while buckets move. */
		if (i >= 1000 && i % 3 != 2) {
			r->port[0] = (uint16_t)(1 + (i - 999) % 60000);
			lost += (i - 999) % 3 != 2 && find(ft, r) == NULL;
		}
	}
	CHECK(resizing > 0);
	CHECK_EQ_U(lost, 0);
	for (i = 0; i < 30000; i++) {
		r->port[0] = (uint16_t)(1 + i % 60000);
		f = find(ft, r);
		if (i % 3 == 2)
			gone += f == NULL;
		else
			found += f != NULL;
	}
	CHECK_EQ_U(found, 20000);
	CHECK_EQ_U(gone, 10000);
	CHECK_EQ_U(ft->live, 20000);
	flow_table_free(ft);
	free(r);
}

/* Random records over a small key space, with caps and expiry: the
 * table's invariants hold and nothing leaks (run under make asan). */
static void
test_random(struct intern *in)
{
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct flow_table *ft;
	struct retired rt;
	uint64_t ids = 0, now = SEC;
	unsigned i, bad = 0, x = 12345;
	int packet;

	for (packet = 0; packet < 2; packet++) {
		ft = table(in, &ids, packet, 1024, 64, &rt);
		for (i = 0; i < 100000; i++) {
			x = x * 1103515245 + 12345;
			rec_flow(r, 1 + (x >> 8) % 4, (x >> 12) % EVP_EV_MAX,
			    (x >> 16) & 1 ? "10.9.0.1" : "10.9.0.2",
			    1000 + (x >> 17) % 700, (x >> 16) & 1 ?
			    "10.9.0.2" : "10.9.0.1", 80 + (x >> 27) % 3, 1);
			r->flags = (uint16_t)((x >> 3) & 0x3f);
			if ((x >> 9) & 1)
				rec_proc(r, (x >> 10) & 1, (x >> 20) % 7,
				    (x >> 11) & 1 ? "/bin/a" : "/bin/b", "u");
			if ((x >> 13) & 1)
				rec_container(r, (x >> 14) & 1, "c1", "p1");
			if ((x >> 21) & 1)
				rec_counts(r, x % 100, x % 77);
			r->bytes_rcvd = x % 5000;
			r->extra_len = (x >> 5) % 3;
			memcpy(r->extra, "{}", 2);
			if (flow_merge(ft, r, NULL, now) != 0)
				bad++;
			now += (x % 1000) * 1000;
			if (i % 97 == 0)
				(void)flow_table_expire(ft, now, 1000);
			if (i % 1009 == 0)
				while (flow_table_pop_dirty(ft,
				    UINT64_MAX) != NULL)
					;
			if (ft->live > 1024 || ft->pending > 64 ||
			    ft->live_packet > ft->live ||
			    ft->live_packet_proc > ft->live_packet)
				bad++;
		}
		CHECK_EQ_U(bad, 0);
		CHECK(ft->c[FTC_MERGED] == 100000);
		CHECK(rt.n > 0);
		/* The attribution gauges follow the flows out. */
		flow_table_flush(ft);
		CHECK_EQ_U(ft->live_packet, 0);
		CHECK_EQ_U(ft->live_packet_proc, 0);
		flow_table_free(ft);
	}
	free(r);
}

int
main(void)
{
	struct intern *in = intern_new();

	test_both_directions(in);
	test_reorientation(in);
	test_netstat_netflow(in);
	test_close_both_sides(in);
	test_join(in);
	test_live_join(in);
	test_window_and_caps(in);
	test_growth(in);
	test_incremental_rehash(in);
	test_random(in);
	/* Every reference was released with its flow. */
	CHECK_EQ_U(in->live, 0);
	intern_free(in);
	return t_done("test_store_flows");
}
