/*
 * How one flow record changes a flow entry, and the join rules of a
 * packet interface.  See docs/design.md ("Flows") and docs/schema.md.
 *
 * Orientation: an entry keeps the client/server view of the most
 * authoritative record seen (packets > CONNECT/ACCEPT and other
 * directed records > port guesses).  A record of higher authority that
 * disagrees turns the entry around; anything else is mapped onto the
 * entry's view by comparing endpoints.
 *
 * The join (a packet interface): an event and its packet flow meet if
 * the event arrives while the flow is live (the capture reports a new
 * flow within a second of its first packet, then updates it), within
 * store.join_window after the flow ended, or if the flow's first record
 * arrives within the window after the event (the event waits as a
 * pending entry).  A flow reported many times is one entry, one row:
 * joins count events, packet flows and their attribution count entries
 * when they leave the table (flow_table.c).
 *
 * Counters: packet records carry absolute totals and, once a flow has
 * them, are the only source of packet/byte counts; NetFlow carries
 * per-export deltas (added); netstat's and CLOSE's BYTES_RCVD/ACKED are
 * absolute and are turned into deltas per flow and per side (the
 * reporting socket's): the two ends of a connection are never summed.
 */
#include <string.h>

#include "store.h"

/* Turns the entry around: client becomes server. */
static void
flow_swap(struct flow *f)
{
#define SWAP(a) do {							\
	__typeof__((a)[0]) t_ = (a)[0]; (a)[0] = (a)[1]; (a)[1] = t_;	\
} while (0)
	uint32_t t;

	SWAP(f->pkts);
	SWAP(f->bytes);
	SWAP(f->wire);
	SWAP(f->retrans);
	SWAP(f->proc);
	SWAP(f->parent);
	SWAP(f->cont);
	SWAP(f->tcp_flags);
#undef SWAP
	t = f->cli_lat_us;
	f->cli_lat_us = f->srv_lat_us;
	f->srv_lat_us = t;
	f->cli ^= 1;
}

static int
any_byte(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 1;
	return 0;
}

/* Replaces the interned id *slot with a new reference. */
static void
set_ref(struct intern *in, uint32_t *slot, uint32_t id)
{
	intern_unref(in, *slot);
	*slot = id;
}

/* The evp_app string of each enum flow_app_field. */
static const struct {
	size_t		off, len;
} app_field[FAPP_MAX] = {
	[FAPP_PROTO] = { offsetof(struct evp_app, proto), EVP_APP_PROTO_LEN },
	[FAPP_CATEGORY] = { offsetof(struct evp_app, category),
	    EVP_APP_CAT_LEN },
	[FAPP_SNI] = { offsetof(struct evp_app, sni), EVP_HOST_LEN },
	[FAPP_JA3] = { offsetof(struct evp_app, ja3), EVP_FP_LEN },
	[FAPP_JA3S] = { offsetof(struct evp_app, ja3s), EVP_FP_LEN },
	[FAPP_JA4] = { offsetof(struct evp_app, ja4), EVP_FP_LEN },
	[FAPP_HTTP_HOST] = { offsetof(struct evp_app, http_host),
	    EVP_HOST_LEN },
	[FAPP_DNS_QUERY] = { offsetof(struct evp_app, dns_query),
	    EVP_HOST_LEN },
};
_Static_assert(EVP_HOST_LEN <= 256 && EVP_APP_PROTO_LEN <= 256,
    "an app string's length fits its length byte");

const char *
flow_meta_app(const struct flow_meta *m, enum flow_app_field field,
    size_t *len)
{
	const uint8_t *p;
	unsigned i;

	*len = 0;
	if (m == NULL || m->app_len == 0)
		return NULL;
	p = (const uint8_t *)m->extra + m->extra_len;
	for (i = 0; i < (unsigned)field; i++)
		p += 1 + p[0];
	*len = p[0];
	return *len > 0 ? (const char *)p + 1 : NULL;
}

/*
 * Packs the app strings into dst (FLOW_APP_PACKED_MAX bytes): each a
 * record's non-empty field (with EVP_F_HAS_APP) or else the entry's
 * own (old, may be NULL), so what nDPI found once stays when a later
 * update does not repeat it.  Returns the bytes used, 0 if every
 * string is empty.
 */
static size_t
pack_app(char *dst, const struct evp_flow *r, const struct flow_meta *old)
{
	const char *p;
	size_t n, used = 0, any = 0;
	unsigned i;

	for (i = 0; i < FAPP_MAX; i++) {
		p = NULL;
		n = 0;
		if (r->flags & EVP_F_HAS_APP) {
			p = (const char *)&r->app + app_field[i].off;
			n = strnlen(p, app_field[i].len - 1);
		}
		if (n == 0)
			p = flow_meta_app(old, (enum flow_app_field)i, &n);
		dst[used++] = (char)(uint8_t)n;
		if (n > 0)
			memcpy(dst + used, p, n);
		used += n;
		any += n;
	}
	return any > 0 ? used : 0;
}

/* Overlays the record's ifname/exporter/producer/extra/app on the
 * entry's. */
static void
merge_meta(struct flow_table *ft, struct flow *f, const struct evp_flow *r)
{
	struct {
		uint8_t		 tag[8];
		struct flow_meta m;
	} b;
	char app[FLOW_APP_PACKED_MAX];
	const struct flow_meta *old;
	size_t len, app_len;

	if (r->ifname[0] == '\0' && r->producer == 0 && r->extra_len == 0 &&
	    !any_byte(r->exporter, 16) && !(r->flags & EVP_F_HAS_APP))
		return;
	memset(&b, 0, offsetof(__typeof__(b), m.extra));
	b.tag[0] = INTERN_META;
	if ((old = intern_get_meta(ft->in, f->meta)) != NULL) {
		b.m.producer = old->producer;
		memcpy(b.m.exporter, old->exporter, 16);
		memcpy(b.m.ifname, old->ifname, sizeof(b.m.ifname));
		b.m.extra_len = old->extra_len;
		memcpy(b.m.extra, old->extra, old->extra_len);
	}
	if (r->producer != 0)
		b.m.producer = r->producer;
	if (any_byte(r->exporter, 16))
		memcpy(b.m.exporter, r->exporter, 16);
	if (r->ifname[0] != '\0') {
		memset(b.m.ifname, 0, sizeof(b.m.ifname));
		memcpy(b.m.ifname, r->ifname, strnlen(r->ifname,
		    sizeof(r->ifname) - 1));
	}
	/* (old stays valid until set_ref() lets go of it.) */
	app_len = pack_app(app, r, old);
	if (r->extra_len > 0 && r->extra_len <= EVP_EXTRA_MAX) {
		b.m.extra_len = r->extra_len;
		memcpy(b.m.extra, r->extra, r->extra_len);
	}
	b.m.app_len = (uint16_t)app_len;
	memcpy(b.m.extra + b.m.extra_len, app, app_len);
	len = offsetof(__typeof__(b), m.extra) + b.m.extra_len + app_len;
	set_ref(ft->in, &f->meta, intern_get(ft->in, &b, len));
}

void
flow_vals_make(struct intern *in, const struct evp_flow *r,
    struct flow_vals *v)
{
	const struct evp_side *s;
	int i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < 2; i++) {
		s = &r->side[i];
		if (s->present & EVP_SIDE_PROC)
			v->proc[i] = intern_proc(in, &s->proc);
		if (s->present & EVP_SIDE_PARENT)
			v->parent[i] = intern_proc(in, &s->parent);
		if (s->present & EVP_SIDE_CONTAINER)
			v->cont[i] = intern_container(in, &s->container);
	}
}

void
flow_vals_drop(struct intern *in, struct flow_vals *v)
{
	int i;

	for (i = 0; i < 2; i++) {
		intern_unref(in, v->proc[i]);
		intern_unref(in, v->parent[i]);
		intern_unref(in, v->cont[i]);
	}
	memset(v, 0, sizeof(*v));
}

/* One more reference to an interned id, for a flow to hold. */
static uint32_t
take(struct intern *in, uint32_t id)
{
	intern_ref(in, id);
	return id;
}

/* Fills the sides the record describes; `sw` maps record to entry. */
static void
merge_sides(struct flow_table *ft, struct flow *f, const struct evp_flow *r,
    const struct flow_vals *v, int sw)
{
	const struct evp_side *s;
	int i, role;

	for (i = 0; i < 2; i++) {
		s = &r->side[i];
		role = i ^ sw;
		if (s->present & EVP_SIDE_PROC)
			set_ref(ft->in, &f->proc[role], v != NULL ?
			    take(ft->in, v->proc[i]) :
			    intern_proc(ft->in, &s->proc));
		if (s->present & EVP_SIDE_PARENT)
			set_ref(ft->in, &f->parent[role], v != NULL ?
			    take(ft->in, v->parent[i]) :
			    intern_proc(ft->in, &s->parent));
		if (s->present & EVP_SIDE_CONTAINER)
			set_ref(ft->in, &f->cont[role], v != NULL ?
			    take(ft->in, v->cont[i]) :
			    intern_container(ft->in, &s->container));
	}
}

/*
 * Absolute TCP info of the reporting socket (the record's local side;
 * its client side if none is marked): latest values, received/acked
 * bytes as deltas, kept per side by key endpoint.  A CLOSE from each end
 * of one connection fills each side once, whatever their order.
 */
static void
merge_tcpinfo(struct flow_table *ft, struct flow *f, const struct evp_flow *r,
    int sw)
{
	struct flow_tcpinfo *t;
	struct flow_tcpside *ts;
	int i;

	if ((t = flow_tcpinfo(ft, f, 1)) == NULL)
		return;
	i = (r->side[1].present & EVP_SIDE_LOCAL) &&
	    !(r->side[0].present & EVP_SIDE_LOCAL) ? 1 : 0;
	ts = &t->side[i ^ sw ^ f->cli];	/* record side -> role -> endpoint */
	ts->set = 1;
	ts->rtt_us = r->rtt_us;
	ts->rtt_var_us = r->rtt_var_us;
	ts->segs_in = r->segs_in;
	ts->segs_out = r->segs_out;
	ts->unack_segs = r->unack_segs;
	ts->lost_pkts = r->lost_pkts;
	/* A value below the last one is a new socket: count it whole. */
	ts->rcvd_sum += r->bytes_rcvd >= ts->rcvd_last ?
	    r->bytes_rcvd - ts->rcvd_last : r->bytes_rcvd;
	ts->acked_sum += r->bytes_acked >= ts->acked_last ?
	    r->bytes_acked - ts->acked_last : r->bytes_acked;
	ts->rcvd_last = r->bytes_rcvd;
	ts->acked_last = r->bytes_acked;
}

/* The row's view of the TCP info: the client's socket if it was
 * described, else the server's (after any turn of the entry). */
static void
tcpinfo_view(struct flow_table *ft, struct flow *f)
{
	struct flow_tcpinfo *t = flow_tcpinfo(ft, f, 0);
	const struct flow_tcpside *ts;

	if (t == NULL)
		return;
	ts = &t->side[f->cli];
	if (!ts->set)
		ts = &t->side[!f->cli];
	t->rtt_us = ts->rtt_us;
	t->rtt_var_us = ts->rtt_var_us;
	t->segs_in = ts->segs_in;
	t->segs_out = ts->segs_out;
	t->unack_segs = ts->unack_segs;
	t->lost_pkts = ts->lost_pkts;
	t->rcvd_sum = ts->rcvd_sum;
	t->acked_sum = ts->acked_sum;
}

/* Packet and byte counters, mapped through `sw`. */
static void
merge_counters(struct flow *f, const struct evp_flow *r, int sw, int pkt)
{
	int d, abs = (r->flags & EVP_F_ABSOLUTE) != 0;

	if (!(r->flags & EVP_F_HAS_COUNTERS))
		return;
	if (!pkt && (f->flags & FL_PACKETS))
		return;		/* packets are authoritative */
	for (d = 0; d < 2; d++) {
		if (abs) {
			f->pkts[d ^ sw] = r->pkts[d];
			f->bytes[d ^ sw] = r->bytes[d];
			f->wire[d ^ sw] = r->wire_bytes[d];
		} else {
			f->pkts[d ^ sw] += r->pkts[d];
			f->bytes[d ^ sw] += r->bytes[d];
			f->wire[d ^ sw] += r->wire_bytes[d];
		}
	}
	f->flags |= FL_COUNTERS;
	if (pkt || r->wire_bytes[0] != 0 || r->wire_bytes[1] != 0)
		f->flags |= FL_WIRE;
}

/* Retransmissions: totals from packets; otherwise added, and a
 * RETRANSMIT event without numbers counts one from the local side. */
static void
merge_retrans(struct flow *f, const struct evp_flow *r, int sw, int pkt)
{
	int d;

	if (pkt) {
		if (!(r->flags & EVP_F_HAS_COUNTERS))
			return;
		if (!(f->flags & FL_PACKETS))
			f->retrans[0] = f->retrans[1] = 0;
		for (d = 0; d < 2; d++)
			f->retrans[d ^ sw] = (r->flags & EVP_F_ABSOLUTE) ?
			    r->retrans[d] : f->retrans[d ^ sw] + r->retrans[d];
		f->flags |= FL_RETRANS;
		return;
	}
	if (f->flags & FL_PACKETS)
		return;
	if (r->retrans[0] != 0 || r->retrans[1] != 0) {
		for (d = 0; d < 2; d++)
			f->retrans[d ^ sw] += r->retrans[d];
		f->flags |= FL_RETRANS;
	} else if (r->event == EVP_EV_RETRANSMIT) {
		d = (r->side[1].present & EVP_SIDE_LOCAL) ? 1 : 0;
		f->retrans[d ^ sw]++;
		f->flags |= FL_RETRANS;
	}
}

/* Record fields that are not per side or per direction. */
static void
merge_scalars(struct flow_table *ft, struct flow *f, const struct evp_flow *r,
    int sw, int pkt)
{
	uint64_t first = r->first_usec ? r->first_usec : r->ts_usec;

	/* A flow with packets has the packets' times: an event (a moment
	 * on a host, by its clock) does not stretch them, and the rewrite
	 * of a joined row then leaves the time indexes alone. */
	if (!pkt && (f->flags & FL_PACKETS))
		first = 0;
	else if (r->ts_usec > f->last_usec) {
		f->last_usec = r->ts_usec;
		f->flags |= FL_MOVED;
	}
	if (first != 0 && (f->first_usec == 0 || first < f->first_usec))
		f->first_usec = first;
	if (r->ip_version != 0)
		f->ip_version = r->ip_version;
	if (pkt) {
		if (r->tcp_flags[0] | r->tcp_flags[1]) {
			f->tcp_flags[0 ^ sw] |= r->tcp_flags[0];
			f->tcp_flags[1 ^ sw] |= r->tcp_flags[1];
		}
		f->flags |= FL_TCPFLAGS;
		if (r->cli_latency_us || r->srv_latency_us) {
			f->cli_lat_us = sw ? r->srv_latency_us :
			    r->cli_latency_us;
			f->srv_lat_us = sw ? r->cli_latency_us :
			    r->srv_latency_us;
		}
		if (r->tcp_state != EVP_TCP_UNKNOWN)
			f->tcp_state = r->tcp_state;
		return;
	}
	if (r->event != EVP_EV_NONE)
		f->last_event = r->event;
	if (r->nw_latency_us != 0)
		f->nw_lat_us = r->nw_latency_us;
	if (!(f->flags & FL_PACKETS)) {
		if (r->tcp_state != EVP_TCP_UNKNOWN)
			f->tcp_state = r->tcp_state;
		if (r->tcp_flags[0] | r->tcp_flags[1]) {
			f->tcp_flags[0 ^ sw] |= r->tcp_flags[0];
			f->tcp_flags[1 ^ sw] |= r->tcp_flags[1];
			f->flags |= FL_TCPFLAGS;
		}
	}
	if (r->flags & EVP_F_HAS_TCPINFO)
		merge_tcpinfo(ft, f, r, sw);
}

static int
rank_of(const struct evp_flow *r)
{
	if (r->source == EVP_SRC_PACKET)
		return ORIENT_PACKET;
	return (r->flags & EVP_F_SIDES_GUESSED) ? ORIENT_GUESSED :
	    ORIENT_EVENT;
}

int
flow_merge(struct flow_table *ft, const struct evp_flow *r,
    const struct flow_vals *v, uint64_t now)
{
	struct flow_key k;
	struct flow *f;
	int rcli, rank, pkt = r->source == EVP_SRC_PACKET, sw;

	rcli = flow_key_make(&k, r);
	rank = rank_of(r);
	f = flow_table_find(ft, &k);
	/* Packets for a flow the capture already ended: a new flow. */
	if (f != NULL && pkt && (f->flags & FL_ENDED)) {
		flow_table_retire(ft, f, RETIRE_ENDED);
		f = NULL;
	}
	if (f == NULL) {
		enum flow_list l = ft->packet && !pkt ? FLIST_PENDING :
		    FLIST_IDLE;

		if ((f = flow_table_create(ft, &k, l, now)) == NULL)
			return -1;
		f->cli = (uint8_t)rcli;
		f->orient = (uint8_t)rank;
		f->source = r->source;
		if (l == FLIST_PENDING)
			f->flags |= FL_PENDING;
	} else if (rank > f->orient) {
		if (rcli != f->cli)
			flow_swap(f);
		f->orient = (uint8_t)rank;
	}
	sw = rcli != f->cli;
	flow_table_attr(ft, f, -1);

	if (pkt) {
		if (f->flags & FL_PENDING) {
			/* Packets for events that waited: the join. */
			ft->c[FTC_JOINS] += f->events;
			f->flags &= (uint16_t)~FL_PENDING;
			f->flags |= FL_JOINED;
		}
		merge_counters(f, r, sw, 1);
		merge_retrans(f, r, sw, 1);
		f->flags |= FL_PACKETS;
		if (r->event == EVP_EV_END) {
			f->flags |= FL_ENDED;
			flow_table_touch(ft, f, FLIST_ENDED, now);
		} else
			flow_table_touch(ft, f, FLIST_IDLE, now);
	} else {
		if (ft->packet && (f->flags & FL_PACKETS)) {
			ft->c[FTC_JOINS]++;
			f->flags |= FL_JOINED;
		}
		merge_counters(f, r, sw, 0);
		merge_retrans(f, r, sw, 0);
		merge_sides(ft, f, r, v, sw);
		f->events++;
		/* Each event waits its own window for packets (the entry's
		 * window runs from its latest event); an ended packet flow
		 * keeps the window that runs from its end. */
		if (f->list == FLIST_IDLE || f->list == FLIST_PENDING)
			flow_table_touch(ft, f, (enum flow_list)f->list, now);
	}
	merge_scalars(ft, f, r, sw, pkt);
	tcpinfo_view(ft, f);
	merge_meta(ft, f, r);
	flow_table_attr(ft, f, 1);
	f->updates++;
	ft->c[FTC_MERGED]++;
	flow_table_mark_dirty(ft, f, now);
	return 0;
}
