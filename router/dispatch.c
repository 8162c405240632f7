/*
 * Dispatch: which interfaces a record lands in (docs/design.md, wire.md).
 *
 * A flow from a ZMQ interface lands in that interface; in the interface
 * its IF_NAME names on the same host (ifname_find); and in the origin's
 * companion unless the flow is loopback.  A flow from a packet interface
 * lands only in its own.  iface_mask is a bit set, so a record reaches an interface
 * at most once; a rule that finds its interface already set counts a
 * duplicate skip instead of a delivery.
 *
 * The hot path checks a flow as the store's decode does but reads only
 * its network part (evp_flow_check), copies its wire bytes once into
 * the router's scratch, sets iface and iface_mask there and hands them
 * to link_out as they are (link_out_put_wire): no decode into a struct
 * and no encode again, nothing allocated.
 */
#include <assert.h>
#include <string.h>

#include "common/log.h"
#include "router.h"

int
dispatch_is_loopback(const struct evp_flow *f)
{
	return (f->flags & EVP_F_LOOPBACK) != 0 ||
	    evp_addr_is_loopback(f->addr[0]) ||
	    evp_addr_is_loopback(f->addr[1]);
}

/* Lands the flow in `to` by rule counter `rule` (counted unless `rc`
 * is NULL: a replay). */
static inline void
deliver(struct iface *to, uint64_t *mask, enum ifc_counter rule,
    const uint64_t *rc)
{
	assert(to->id < EVP_MAX_IFACES);
	*mask |= 1ULL << to->id;
	if (rc == NULL)
		return;
	to->ctr[IFC_DELIVERED]++;
	to->ctr[rule]++;
}

/* Counts a rule of dispatch_flow, unless `rc` is NULL (a replay). */
static inline void
rule(struct iface *i, enum ifc_counter ic, uint64_t *rc,
    enum router_counter c)
{
	if (rc == NULL)
		return;
	i->ctr[ic]++;
	rc[c]++;
}

/*
 * The interface an event's IF_NAME names, on the origin's own host: an
 * event of host H's interface "H:tcp://..." naming "eth0" means "H:eth0",
 * never another host's eth0 nor the central's own; an event of a local
 * interface names only local interfaces.  NULL if there is none.
 */
static struct iface *
ifname_find(struct iface_table *t, const struct iface *origin,
    const char *ifname)
{
	char full[EVP_NAME_LEN];
	struct iface *i;
	size_t h = evp_iface_host_len(origin->name), n = strlen(ifname);

	if (h == 0)
		return (i = iface_table_find(t, ifname)) != NULL &&
		    evp_iface_host_len(i->name) == 0 ? i : NULL;
	if (h + 1 + n >= sizeof(full))
		return NULL;
	memcpy(full, origin->name, h + 1);
	memcpy(full + h + 1, ifname, n + 1);
	return iface_table_find(t, full);
}

uint64_t
dispatch_flow(struct iface_table *t, struct iface *origin, struct evp_flow *f,
    uint64_t *rc)
{
	struct iface *named, *comp;
	uint64_t mask = 0;

	deliver(origin, &mask, IFC_ORIGIN_DELIVERED, rc);
	f->iface = origin->id;
	if (origin->kind != EVP_IFACE_ZMQ) {
		f->iface_mask = mask;
		return mask;
	}
	if (f->ifname[0] != '\0') {
		if ((named = ifname_find(t, origin, f->ifname)) == NULL)
			rule(origin, IFC_IFNAME_UNMATCHED, rc,
			    RC_IFNAME_UNMATCHED);
		else if (named == origin)
			rule(origin, IFC_IFNAME_SELF, rc, RC_IFNAME_SELF);
		else {
			deliver(named, &mask, IFC_IFNAME_DELIVERED, rc);
			if (rc != NULL)
				rc[RC_IFNAME_MATCHED]++;
		}
	}
	if (origin->companion >= 0) {
		assert((unsigned)origin->companion < t->n);
		comp = &t->ifs[origin->companion];
		if (dispatch_is_loopback(f))
			rule(comp, IFC_COMPANION_SKIPPED_LOOPBACK, rc,
			    RC_COMPANION_SKIPPED_LOOPBACK);
		else if (mask & (1ULL << comp->id))
			rule(comp, IFC_COMPANION_SKIPPED_DUPLICATE, rc,
			    RC_COMPANION_SKIPPED_DUPLICATE);
		else {
			deliver(comp, &mask, IFC_COMPANION_DELIVERED, rc);
			if (rc != NULL)
				rc[RC_COMPANION_DELIVERED]++;
		}
	}
	f->iface_mask = mask;
	return mask;
}

/* The interface a sender feeds, from its hello; -1 if undeclared.
 * Cached for the last sender: batches come in runs from one sender. */
static int
sender_iface(struct router *r, const struct link_sender *s)
{
	struct iface *i;

	if (s->id == r->last_sender && r->last_sender != 0)
		return r->last_iface;
	i = iface_table_find(&r->tab, s->hello.iface);
	r->last_sender = s->id;
	r->last_iface = i ? (int)i->id : -1;
	return r->last_iface;
}

/* Flushes first if a record of `len` bytes and an EVP_ORIGIN may not
 * fit the pending batch: a record must not start a batch without the
 * origin that names it.  1 if the batch is (now) a fresh one. */
static int
room(struct router *r, size_t len)
{
	const struct link_out *o = r->out;

	if (o->batch.count > 1 && (o->batch.len + len +
	    2 * sizeof(struct evp_rec_hdr) + sizeof(struct evp_origin) >
	    EVP_BATCH_MAX_BYTES || o->batch.count + 2 > EVP_BATCH_MAX_RECORDS))
		(void)link_out_flush(r->out);
	return r->out->batch.count <= 1;
}

int
router_put_own(struct router *r, uint16_t type, const void *body, size_t len)
{
	static const struct evp_origin own;

	if (!room(r, len) && r->org_sender != 0 &&
	    link_out_put_origin(r->out, &own) == -1)
		return -1;
	r->org_sender = 0;
	return link_out_put(r->out, type, body, len);
}

/* The router's record of input sender `s`, reset for a new sender. */
static struct router_track *
track(struct router *r, const struct link_sender *s)
{
	unsigned i = (unsigned)(s - r->in->senders);

	if (r->trk[i].id != s->id) {
		r->trk[i].id = s->id;
		r->trk[i].last = 0;
		r->trk[i].run_from = 0;
		r->trk[i].next = 0;
	}
	return &r->trk[i];
}

/*
 * 1 if the record is a resend of one the router already counted: of the
 * same origin (sender id: a restarted sender with a new id is a new
 * origin), at or below the highest sequence counted.  Such a record is
 * still dispatched and forwarded (the store may need it: it skips what
 * it has), but counted only in RC_REPLAYED, so replays double nothing.
 */
static int
is_replay(struct router *r, const struct link_sender *s,
    const struct evp_rec_hdr *rh)
{
	struct router_track *t;

	if (r->in == NULL || rh->type == EVP_ORIGIN)
		return 0;
	t = track(r, s);
	if (rh->seq < t->next)
		return 1;
	t->next = rh->seq + 1;
	return 0;
}

/* Counts `c` for the record being handled, unless it is a replay. */
static inline void
count(struct router *r, enum router_counter c)
{
	if (!r->replay)
		r->ctr[c]++;
}

/* A record of `s` the router dropped (and counted): the store must not
 * count it again as lost, so the next origin it forwards says where
 * the run of dropped records began. */
static void
dropped(struct router *r, const struct link_sender *s, uint64_t seq)
{
	struct router_track *t;

	if (r->in == NULL)
		return;
	t = track(r, s);
	if (t->run_from == 0 || t->last + 1 != seq)
		t->run_from = seq;
	t->last = seq;
}

/* A record link_out refused.  A first one is dropped and counted (the
 * store must not count it again); a replay is not dropped for the
 * store: it finds the gap and asks the sender for it again. */
static void
unsent(struct router *r, const struct link_sender *s, uint64_t seq)
{
	if (r->replay) {
		r->ctr[RC_REPLAY_UNSENT]++;
		return;
	}
	r->ctr[RC_DROP_SEND]++;
	dropped(r, s, seq);
}

static void
forward(struct router *r, const struct link_sender *s,
    const struct evp_rec_hdr *rh, const void *body, size_t len)
{
	struct evp_origin org;
	struct router_track *t = NULL;
	uint64_t skip;
	int fresh;

	skip = rh->seq;
	if (r->in != NULL) {
		t = track(r, s);
		if (t->run_from != 0 && t->last + 1 == rh->seq)
			skip = t->run_from;
	}
	fresh = room(r, len);
	if (fresh || r->org_sender != s->id || r->org_next != rh->seq ||
	    skip != rh->seq) {
		memset(&org, 0, sizeof(org));
		org.sender = s->id;
		org.seq = rh->seq;
		org.skip_from = skip;
		org.flags = s->hello.flags;
		org.held_from = (s->hello.flags & EVP_HELLO_F_REPLAY) &&
		    s->hello.held_from <= rh->seq ? s->hello.held_from :
		    rh->seq;
		if (link_out_put_origin(r->out, &org) == -1) {
			unsent(r, s, rh->seq);
			return;
		}
	}
	/* A flow is in its wire form; other types are copied anyway. */
	if (link_out_put_wire(r->out, rh->type, body, len) == -1) {
		LOG_RATELIMITED(log_warnx, "%s record of %zu bytes not "
		    "forwarded", evp_type_name(rh->type), len);
		/* The origin named it: the next record needs its own. */
		r->org_sender = 0;
		unsent(r, s, rh->seq);
		return;
	}
	r->org_sender = s->id;
	r->org_next = rh->seq + 1;
	if (t != NULL) {
		t->run_from = 0;
		t->last = rh->seq;
	}
	count(r, RC_FORWARDED);
}

static void
bad_record(struct router *r, const struct link_sender *s, unsigned type,
    uint64_t rh_seq)
{
	count(r, RC_DROP_BAD_RECORD);
	dropped(r, s, rh_seq);
	LOG_RATELIMITED(log_warnx, "%s: malformed %s record dropped",
	    s->hello.name, evp_type_name(type));
}

void
dispatch_record(void *arg, const struct link_sender *s,
    const struct evp_rec_hdr *rh, const void *body)
{
	struct router *r = arg;
	struct iface *origin;
	union {
		struct evp_ifcounter	c;
		struct evp_listen	l;
		struct evp_producer	p;
		struct evp_hostname	h;
	} u;
	int id;

	if ((r->replay = is_replay(r, s, rh)))
		r->ctr[RC_REPLAYED]++;
	count(r, RC_RECEIVED);
	if (rh->type == EVP_STATS) {
		/* Health of any sender, declared or not: forwarded as is. */
		count(r, RC_RX_STATS);
		if (evp_decode_stats(body, rh->len, &r->stats) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		forward(r, s, rh, body, rh->len);
		return;
	}
	if (rh->type == EVP_IFACE || rh->type == EVP_ORIGIN) {
		count(r, RC_DROP_UNEXPECTED_TYPE);
		if (rh->type != EVP_ORIGIN)
			dropped(r, s, rh->seq);
		LOG_RATELIMITED(log_warnx, "%s: unexpected %s record dropped",
		    s->hello.name, evp_type_name(rh->type));
		return;
	}
	if ((id = sender_iface(r, s)) < 0) {
		count(r, RC_DROP_UNKNOWN_IFACE);
		dropped(r, s, rh->seq);
		LOG_RATELIMITED(log_warnx, "%s: records for undeclared "
		    "interface '%s' dropped", s->hello.name, s->hello.iface);
		return;
	}
	assert((unsigned)id < r->tab.n);
	origin = &r->tab.ifs[id];
	if (!r->replay)
		origin->ctr[IFC_RECEIVED]++;
	switch (rh->type) {
	case EVP_FLOW:
		count(r, RC_RX_FLOW);
		if (evp_flow_check(body, rh->len, &r->flow) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		dispatch_flow(&r->tab, origin, &r->flow,
		    r->replay ? NULL : r->ctr);
		memcpy(r->wire, body, rh->len);
		evp_flow_set_dest(r->wire, r->flow.iface, r->flow.iface_mask);
		forward(r, s, rh, r->wire, rh->len);
		return;
	case EVP_IFCOUNTER:
		count(r, RC_RX_IFCOUNTER);
		if (evp_decode_ifcounter(body, rh->len, &u.c) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		u.c.iface = origin->id;
		forward(r, s, rh, &u.c, sizeof(u.c));
		return;
	case EVP_LISTEN:
		count(r, RC_RX_LISTEN);
		if (evp_decode_listen(body, rh->len, &u.l) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		u.l.iface = origin->id;
		forward(r, s, rh, &u.l, sizeof(u.l));
		return;
	case EVP_PRODUCER:
		count(r, RC_RX_PRODUCER);
		if (evp_decode_producer(body, rh->len, &u.p) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		u.p.iface = origin->id;
		forward(r, s, rh, &u.p, sizeof(u.p));
		return;
	case EVP_HOSTNAME:
		count(r, RC_RX_HOSTNAME);
		if (evp_decode_hostname(body, rh->len, &u.h) == -1) {
			bad_record(r, s, rh->type, rh->seq);
			return;
		}
		u.h.iface = origin->id;
		forward(r, s, rh, &u.h, sizeof(u.h));
		return;
	}
	/* link_in passes only known types; anything else is a new type
	 * this router does not know how to dispatch. */
	count(r, RC_DROP_UNEXPECTED_TYPE);
	dropped(r, s, rh->seq);
	LOG_RATELIMITED(log_warnx, "%s: %s record not dispatched",
	    s->hello.name, evp_type_name(rh->type));
}
