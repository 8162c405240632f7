/*
 * The capture's flow table: bidirectional flows keyed by (VLAN,
 * protocol, {address, port} pair in either order).
 *
 * Memory is fixed at start: cfg.max_flows entries and a power-of-two
 * bucket array of at least twice as many heads; entries are chained by
 * index, and a free list threads the ended ones.  Nothing is allocated
 * per packet.  When the table is full the oldest idle flow is ended
 * early (counted as evicted) to make room.
 *
 * Timers are four intrusive lists, each ordered by its deadline because
 * every deadline is "flow clock + a constant":
 *   idle    flows by last packet (moved to the tail on each packet);
 *   linger  flows that saw FIN both ways or RST, ended cfg.linger after;
 *   fresh   new flows, by their first record (FLOW_FIRST_REPORT_USEC);
 *   update  reported flows, by their next update (every `tick`).
 * A flow is on one of idle/linger and one of fresh/update.  Expiry pops
 * list heads: its cost is the records emitted plus one visit per live
 * flow and tick (a flow without packets since its last record is passed
 * over, see capture.h).  A packet only sets `changed`.
 *
 * Client: the sender of the first packet, except that a first packet
 * that is a SYN-ACK makes its receiver the client (the SYN was missed).
 * A pure SYN on a flow that is lingering after FIN/RST ends the old flow
 * and starts a new one (port reuse).
 *
 * Handshake latency, named as ntopng shows it and halved the same way
 * (a one-way estimate from a round trip seen at the capture point):
 *   server network latency = (SYN-ACK time - SYN time) / 2
 *     the leg between the capture point and the server;
 *   client network latency = (ACK time - SYN-ACK time) / 2
 *     the leg between the capture point and the client.
 * They go out in evp_flow.srv_latency_us and cli_latency_us.
 *
 * Retransmission: a TCP segment carrying data whose sequence number is
 * below the highest sequence end seen so far in its direction.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../common/hash.h"
#include "capture.h"

#define FL_LIST_NONE	0
#define FL_LIST_IDLE	1
#define FL_LIST_LINGER	2
#define FL_ULIST_FRESH	1
#define FL_ULIST_UPDATE	2

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_ACK	0x10

const char *const capture_counter_names[CC_MAX] = {
	[CC_PACKETS] = "packets",
	[CC_BYTES] = "bytes",
	[CC_IP_PACKETS] = "ip_packets",
	[CC_NON_IP] = "non_ip",
	[CC_KERNEL_DROPS] = "kernel_drops",
	[CC_IFACE_DROPS] = "iface_drops",
	[CC_ERR_TRUNC_L2] = "err_truncated_link",
	[CC_ERR_TRUNC_IP] = "err_truncated_ip",
	[CC_ERR_TRUNC_L4] = "err_truncated_ports",
	[CC_ERR_BAD_IP] = "err_bad_ip_header",
	[CC_ERR_BAD_LEN] = "err_impossible_length",
	[CC_ERR_EXT_HDR] = "err_bad_ipv6_ext",
	[CC_ERR_LINKTYPE] = "err_unknown_linktype",
	[CC_ERR_VLAN_DEPTH] = "err_vlan_depth",
	[CC_TRUNCATED] = "truncated_packets",
	[CC_FRAGMENTS] = "fragments",
	[CC_FRAG_UNMATCHED] = "fragments_unmatched",
	[CC_FLOWS_CREATED] = "flows_created",
	[CC_FLOWS_EXPIRED] = "flows_expired",
	[CC_FLOWS_ENDED] = "flows_ended",
	[CC_FLOWS_EVICTED] = "flows_evicted",
	[CC_FLOWS_FLUSHED] = "flows_flushed",
	[CC_FLOWS_LIVE] = "flows_live",
	[CC_UPDATES] = "flow_updates",
	[CC_FIRST_REPORTS] = "flow_first_reports",
	[CC_UPDATES_UNCHANGED] = "flow_updates_unchanged",
	[CC_RECORDS_SENT] = "records_sent",
	[CC_RECORDS_DROPPED] = "records_dropped",
	[CC_REPLAYED] = "replayed",
	[CC_READ_ERRORS] = "read_errors",
	[CC_DPI_FLOWS] = "dpi_flows",
	[CC_DPI_PACKETS] = "dpi_packets",
	[CC_DPI_DETECTED] = "dpi_detected",
	[CC_DPI_UNKNOWN] = "dpi_unknown",
	[CC_DPI_PACKET_LIMIT] = "dpi_packet_limit",
	[CC_DPI_MEMORY_LIMIT] = "dpi_memory_limit",
	[CC_DPI_RECLAIMED] = "dpi_state_reclaimed",
	[CC_DPI_CUT] = "dpi_cut_packets",
	[CC_DPI_QUEUE_FULL] = "dpi_queue_full",
	[CC_DPI_NOT_INSPECTED] = "dpi_not_inspected",
	[CC_DPI_LATE] = "dpi_late",
	[CC_DPI_WAITS] = "dpi_waits",
	[CC_DNS_RESPONSES] = "dns_responses",
	[CC_DNS_BAD] = "dns_bad",
	[CC_NAMES_LEARNED] = "names_learned",
	[CC_NAMES_CHANGED] = "names_changed",
	[CC_NAMES_EVICTED] = "names_evicted",
	[CC_HOSTNAME_RECORDS] = "hostname_records",
};

const uint8_t *
flow_addr(const struct flow *f, int side)
{
	return (side == 0) == !(f->flags & FLOW_CLI_IS_B) ? f->key.a :
	    f->key.b;
}

uint16_t
flow_port(const struct flow *f, int side)
{
	return (side == 0) == !(f->flags & FLOW_CLI_IS_B) ? f->key.aport :
	    f->key.bport;
}

void *
capture_table_new(size_t bytes, void **mem)
{
	size_t align = bytes < CAPTURE_HUGE_PAGE / 2 ? 64 : CAPTURE_HUGE_PAGE;
	uintptr_t a;

	if (bytes > SIZE_MAX - align ||
	    (*mem = calloc(1, bytes + align)) == NULL)
		return *mem = NULL;
	a = ((uintptr_t)*mem + align - 1) & ~(uintptr_t)(align - 1);
	if (align == CAPTURE_HUGE_PAGE)
		(void)madvise((void *)a, bytes, MADV_HUGEPAGE);
	return (void *)a;
}

struct flow_table *
flow_table_new(const struct flow_cfg *cfg, flow_emit_fn emit, void *arg,
    uint64_t *cnt)
{
	struct flow_table *t;
	uint32_t i;

	if (cfg->max_flows == 0 || cfg->max_flows > (1u << 30)) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *cfg;
	t->nbuckets = 1;
	while (t->nbuckets < 2 * cfg->max_flows)
		t->nbuckets <<= 1;
	t->flows = capture_table_new((size_t)cfg->max_flows *
	    sizeof(*t->flows), &t->flows_mem);
	t->bucket = capture_table_new((size_t)t->nbuckets *
	    sizeof(*t->bucket), &t->bucket_mem);
	if (t->flows == NULL || t->bucket == NULL) {
		flow_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < t->nbuckets; i++)
		t->bucket[i] = FLOW_NIL;
	/* Entries are taken in order the first time (t->unused), so the
	 * pages of a large table are only touched as flows need them. */
	t->free_head = FLOW_NIL;
	t->unused = 0;
	t->idle.head = t->idle.tail = FLOW_NIL;
	t->linger.head = t->linger.tail = FLOW_NIL;
	t->fresh.head = t->fresh.tail = FLOW_NIL;
	t->update.head = t->update.tail = FLOW_NIL;
	t->tick = cfg->update_usec != 0 && cfg->update_usec < cfg->active_usec ?
	    cfg->update_usec : cfg->active_usec;
	if (t->tick == 0)
		t->tick = 1;
	t->first_delay = t->tick < FLOW_FIRST_REPORT_USEC ? t->tick :
	    FLOW_FIRST_REPORT_USEC;
	t->seed = hash_random_seed();
	t->emit = emit;
	t->emit_arg = arg;
	t->cnt = cnt;
	t->due = UINT64_MAX;
	frag_init(&t->frag, t->seed ^ 0x5bd1e995u);
	return t;
}

void
flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	free(t->flows_mem);
	free(t->bucket_mem);
	free(t);
}

size_t
flow_table_bytes_per_flow(const struct flow_table *t)
{
	return sizeof(struct flow) + ((size_t)t->nbuckets * sizeof(uint32_t) +
	    t->cfg.max_flows - 1) / t->cfg.max_flows;
}

/* ---- intrusive lists by index ---- */

static void
list_append(struct flow_table *t, struct flow_list *l, uint32_t i)
{
	struct flow *f = &t->flows[i];

	f->prev = l->tail;
	f->next = FLOW_NIL;
	if (l->tail != FLOW_NIL)
		t->flows[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
}

static void
list_remove(struct flow_table *t, struct flow_list *l, uint32_t i)
{
	struct flow *f = &t->flows[i];

	if (f->prev != FLOW_NIL)
		t->flows[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != FLOW_NIL)
		t->flows[f->next].prev = f->prev;
	else
		l->tail = f->prev;
}

/* Puts flow i at the tail of the fresh or update list, due at `when`. */
static void
ulist_append(struct flow_table *t, uint32_t i, uint8_t which, uint64_t when)
{
	struct flow *f = &t->flows[i];
	struct flow_list *l = which == FL_ULIST_FRESH ? &t->fresh : &t->update;

	f->ulist = which;
	f->next_update = when;
	f->uprev = l->tail;
	f->unext = FLOW_NIL;
	if (l->tail != FLOW_NIL)
		t->flows[l->tail].unext = i;
	else
		l->head = i;
	l->tail = i;
}

static void
ulist_remove(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->flows[i];
	struct flow_list *l = f->ulist == FL_ULIST_FRESH ? &t->fresh :
	    &t->update;

	if (f->uprev != FLOW_NIL)
		t->flows[f->uprev].unext = f->unext;
	else
		l->head = f->unext;
	if (f->unext != FLOW_NIL)
		t->flows[f->unext].uprev = f->uprev;
	else
		l->tail = f->uprev;
}

static struct flow_list *
flow_list_of(struct flow_table *t, const struct flow *f)
{
	return f->list == FL_LIST_LINGER ? &t->linger : &t->idle;
}

static inline uint32_t
key_bucket(const struct flow_table *t, const struct flow_key *k)
{
	return (uint32_t)hash_bytes(k, sizeof(*k), t->seed) &
	    (t->nbuckets - 1);
}

/* Emits the final record of flow `i` and returns it to the free list. */
static void
flow_end(struct flow_table *t, uint32_t i, enum flow_why why)
{
	struct flow *f = &t->flows[i];
	uint32_t *pp;

	assert(i < t->unused);
	if (t->dpi != NULL)
		dpi_flow_end(t->dpi, i, f);
	t->emit(t->emit_arg, f, why);
	for (pp = &t->bucket[key_bucket(t, &f->key)]; *pp != FLOW_NIL;
	    pp = &t->flows[*pp].hnext)
		if (*pp == i) {
			*pp = f->hnext;
			break;
		}
	list_remove(t, flow_list_of(t, f), i);
	ulist_remove(t, i);
	f->list = FL_LIST_NONE;
	f->hnext = t->free_head;
	t->free_head = i;
	t->live--;
	t->cnt[CC_FLOWS_LIVE] = t->live;
}

static inline void
due_min(struct flow_table *t, uint64_t when)
{
	if (when < t->due)
		t->due = when;
}

/* A free entry, evicting the oldest idle (else lingering) flow if full. */
static uint32_t
flow_alloc(struct flow_table *t)
{
	uint32_t i;

	if (t->free_head == FLOW_NIL) {
		if (t->unused < t->cfg.max_flows)
			return t->unused++;
		i = t->idle.head != FLOW_NIL ? t->idle.head : t->linger.head;
		t->cnt[CC_FLOWS_EVICTED]++;
		flow_end(t, i, FW_EVICT);
	}
	i = t->free_head;
	assert(i < t->cfg.max_flows);
	t->free_head = t->flows[i].hnext;
	return i;
}

static void
flow_linger(struct flow_table *t, uint32_t i)
{
	struct flow *f = &t->flows[i];

	if (f->flags & FLOW_LINGER)
		return;
	f->flags |= FLOW_LINGER;
	f->linger_until = t->now + t->cfg.linger_usec;
	list_remove(t, &t->idle, i);
	f->list = FL_LIST_LINGER;
	list_append(t, &t->linger, i);
	due_min(t, f->linger_until);
}

/* TCP state, flags, handshake latency and retransmissions. */
static void
flow_tcp(struct flow_table *t, uint32_t i, int dir, const struct pkt *k)
{
	struct flow *f = &t->flows[i];
	uint8_t fl = k->tcp_flags;
	uint32_t end;
	uint8_t seqbit = dir == 0 ? FLOW_SEQ0 : FLOW_SEQ1;

	f->tcp_flags[dir] |= fl;
	if (fl & TH_SYN) {
		if (!(fl & TH_ACK)) {
			if (dir == 0 && !(f->flags & FLOW_SYN_SEEN)) {
				f->flags |= FLOW_SYN_SEEN;
				f->t_syn = k->ts_usec;
			}
			if (f->state == EVP_TCP_UNKNOWN)
				f->state = EVP_TCP_SYN_SENT;
		} else {
			if (dir == 1 && (f->flags & FLOW_SYN_SEEN) &&
			    !(f->flags & FLOW_SYNACK)) {
				f->flags |= FLOW_SYNACK;
				f->t_synack = k->ts_usec;
				if (k->ts_usec >= f->t_syn)
					f->srv_lat_us = (uint32_t)((k->ts_usec -
					    f->t_syn) / 2);
			}
			if (f->state == EVP_TCP_UNKNOWN ||
			    f->state == EVP_TCP_SYN_SENT)
				f->state = EVP_TCP_SYN_RECV;
		}
	} else if (f->state == EVP_TCP_UNKNOWN ||
	    f->state == EVP_TCP_SYN_SENT || f->state == EVP_TCP_SYN_RECV) {
		if ((fl & (TH_ACK | TH_RST | TH_FIN)) == TH_ACK && dir == 0 &&
		    (f->flags & FLOW_SYNACK) && f->cli_lat_us == 0 &&
		    k->ts_usec >= f->t_synack)
			f->cli_lat_us = (uint32_t)((k->ts_usec - f->t_synack) /
			    2);
		if (!(fl & TH_RST))
			f->state = EVP_TCP_ESTABLISHED;
	}
	if (fl & TH_RST) {
		f->state = EVP_TCP_RESET;
		flow_linger(t, i);
	} else if (fl & TH_FIN) {
		f->flags |= dir == 0 ? FLOW_FIN0 : FLOW_FIN1;
		if (f->state != EVP_TCP_RESET) {
			if ((f->flags & (FLOW_FIN0 | FLOW_FIN1)) ==
			    (FLOW_FIN0 | FLOW_FIN1)) {
				f->state = EVP_TCP_CLOSE;
				flow_linger(t, i);
			} else
				f->state = EVP_TCP_FIN_WAIT1;
		}
	}
	if (!k->has_seq || k->payload_len == 0)
		return;
	end = k->seq + k->payload_len;
	if (!(f->flags & seqbit)) {
		f->flags |= seqbit;
		f->seq_hi[dir] = end;
		return;
	}
	if ((int32_t)(k->seq - f->seq_hi[dir]) < 0)
		f->retrans[dir]++;
	if ((int32_t)(end - f->seq_hi[dir]) > 0)
		f->seq_hi[dir] = end;
}

void
flow_table_prepare(struct flow_table *t, struct pkt *k, struct flow_prep *pp)
{
	struct flow_key *key = &pp->key;
	int c;

	if (k->frag != PKT_FRAG_NONE) {
		t->cnt[CC_FRAGMENTS]++;
		if (k->frag == PKT_FRAG_FIRST && k->has_ports)
			frag_note_first(&t->frag, k);
		else if (k->frag == PKT_FRAG_LATER && !frag_lookup(&t->frag,
		    k))
			t->cnt[CC_FRAG_UNMATCHED]++;
	}

	/* Canonical key: the smaller (address, port) endpoint first. */
	c = memcmp(k->src, k->dst, 16);
	pp->from_a = c < 0 || (c == 0 && k->sport <= k->dport);
	if (pp->from_a) {
		memcpy(key->a, k->src, 16);
		memcpy(key->b, k->dst, 16);
		key->aport = k->sport;
		key->bport = k->dport;
	} else {
		memcpy(key->a, k->dst, 16);
		memcpy(key->b, k->src, 16);
		key->aport = k->dport;
		key->bport = k->sport;
	}
	key->vlan = k->vlan;
	key->proto = k->proto;
	key->ipver = k->ipver;
	pp->bucket = key_bucket(t, key);
	__builtin_prefetch(&t->bucket[pp->bucket]);
}

/* Every line of entry i: accounting touches all of it (key, counters,
 * links, flags, inspection), and an entry is not aligned to a line, so
 * it spans 4 or 5 of them.  (Inlined by force: GCC takes a function of
 * prefetches alone for one without effects and drops its calls.) */
static inline __attribute__((always_inline)) void
flow_prefetch_entry(const struct flow_table *t, uint32_t i)
{
	const char *e = (const char *)&t->flows[i];

	__builtin_prefetch(e);
	__builtin_prefetch(e + 64);
	__builtin_prefetch(e + 128);
	__builtin_prefetch(e + 192);
	__builtin_prefetch(e + sizeof(struct flow) - 1);
}

void
flow_table_prefetch(const struct flow_table *t, const struct flow_prep *pp)
{
	uint32_t i = t->bucket[pp->bucket];

	if (i != FLOW_NIL)
		flow_prefetch_entry(t, i);
}

void
flow_table_account(struct flow_table *t, const struct pkt *k,
    const struct flow_prep *pp)
{
	const struct flow_key *key = &pp->key;
	struct flow *f;
	uint32_t b = pp->bucket, i;
	int from_a = pp->from_a, dir;

	/* Timers first: a flow whose idle time ran out before this packet
	 * ends (its own included), so the packet starts a new one. */
	if (k->ts_usec > t->now)
		t->now = k->ts_usec;
	if (t->now >= t->due)
		flow_table_expire(t, t->now);
	for (i = t->bucket[b]; i != FLOW_NIL; i = t->flows[i].hnext)
		if (memcmp(&t->flows[i].key, key, sizeof(*key)) == 0)
			break;
	if (i != FLOW_NIL && !(t->flows[i].flags & FLOW_LINGER) &&
	    t->flows[i].last_usec + t->cfg.idle_usec <= k->ts_usec) {
		t->cnt[CC_FLOWS_EXPIRED]++;
		flow_end(t, i, FW_IDLE);
		i = FLOW_NIL;
	}
	if (i != FLOW_NIL && (t->flows[i].flags & FLOW_LINGER) &&
	    (k->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		t->cnt[CC_FLOWS_ENDED]++;
		flow_end(t, i, FW_END);		/* port reuse */
		i = FLOW_NIL;
	}
	if (i == FLOW_NIL) {
		i = flow_alloc(t);	/* eviction leaves bucket b valid */
		f = &t->flows[i];
		memset(f, 0, sizeof(*f));
		f->key = *key;
		/* The sender is the client, unless it answers a SYN. */
		if (from_a == ((k->tcp_flags & (TH_SYN | TH_ACK)) ==
		    (TH_SYN | TH_ACK)))
			f->flags |= FLOW_CLI_IS_B;
		f->first_usec = f->last_usec = k->ts_usec;
		f->hnext = t->bucket[b];
		t->bucket[b] = i;
		f->list = FL_LIST_IDLE;
		list_append(t, &t->idle, i);
		if (t->cfg.update_usec != 0)
			ulist_append(t, i, FL_ULIST_FRESH, t->now +
			    t->first_delay);
		else
			ulist_append(t, i, FL_ULIST_UPDATE, t->now + t->tick);
		t->live++;
		t->cnt[CC_FLOWS_LIVE] = t->live;
		t->cnt[CC_FLOWS_CREATED]++;
		due_min(t, f->next_update + FLOW_REPORT_SLACK_USEC);
		due_min(t, t->now + t->cfg.idle_usec);
	} else {
		f = &t->flows[i];
		if (!(f->flags & FLOW_LINGER) && t->idle.tail != i) {
			list_remove(t, &t->idle, i);
			list_append(t, &t->idle, i);
		}
	}

	dir = from_a == !!(f->flags & FLOW_CLI_IS_B);
	f->changed = 1;
	f->pkts[dir]++;
	f->bytes[dir] += k->ip_len;
	f->wire_bytes[dir] += k->wire_len;
	if (k->ts_usec > f->last_usec)
		f->last_usec = k->ts_usec;
	if (k->proto == 6 && k->has_ports)
		flow_tcp(t, i, dir, k);
	/* ICMP: the client's first message names the flow (Community ID). */
	if (k->has_icmp && dir == 0 && !(f->flags2 & FLOW_ICMP)) {
		f->icmp_type = k->icmp_type;
		f->icmp_code = k->icmp_code;
		f->flags2 |= FLOW_ICMP;
	}
	t->cnt[CC_IP_PACKETS]++;
	/* Deep inspection sees payload packets only (source.c keeps their
	 * bytes, and only theirs, for a batch). */
	if (k->l3 != NULL && pkt_payload(k) != 0) {
		if (t->dpi != NULL && f->dpi <= FLOW_DPI_ACTIVE)
			dpi_packet(t->dpi, i, f, k);
		if (t->names != NULL && k->sport == 53 && k->proto == 17)
			names_dns(t->names, k);
	}
}

void
flow_table_packet(struct flow_table *t, struct pkt *k)
{
	struct flow_prep pp;

	flow_table_prepare(t, k, &pp);
	flow_table_account(t, k, &pp);
}

uint64_t
flow_table_next_deadline(const struct flow_table *t)
{
	uint64_t d = UINT64_MAX;

	if (t->linger.head != FLOW_NIL)
		d = t->flows[t->linger.head].linger_until;
	if (t->idle.head != FLOW_NIL &&
	    t->flows[t->idle.head].last_usec + t->cfg.idle_usec < d)
		d = t->flows[t->idle.head].last_usec + t->cfg.idle_usec;
	if (t->fresh.head != FLOW_NIL &&
	    t->flows[t->fresh.head].next_update < d)
		d = t->flows[t->fresh.head].next_update;
	if (t->update.head != FLOW_NIL &&
	    t->flows[t->update.head].next_update < d)
		d = t->flows[t->update.head].next_update;
	return d;
}

/*
 * When a packet must run the timers (t->due): the exact end of a flow
 * (idle, linger), but reports up to FLOW_REPORT_SLACK_USEC late, so that
 * at a high packet rate the reports due go out in batches rather than a
 * few per packet (each a visit of a flow not touched for a second).
 */
static uint64_t
flow_due(const struct flow_table *t)
{
	uint64_t d = UINT64_MAX, r = UINT64_MAX;

	if (t->linger.head != FLOW_NIL)
		d = t->flows[t->linger.head].linger_until;
	if (t->idle.head != FLOW_NIL &&
	    t->flows[t->idle.head].last_usec + t->cfg.idle_usec < d)
		d = t->flows[t->idle.head].last_usec + t->cfg.idle_usec;
	if (t->fresh.head != FLOW_NIL)
		r = t->flows[t->fresh.head].next_update;
	if (t->update.head != FLOW_NIL &&
	    t->flows[t->update.head].next_update < r)
		r = t->flows[t->update.head].next_update;
	if (r != UINT64_MAX && r + FLOW_REPORT_SLACK_USEC < d)
		d = r + FLOW_REPORT_SLACK_USEC;
	return d;
}

/* Emits an update of live flow `f` at `now` and notes when. */
static void
flow_report(struct flow_table *t, struct flow *f, uint64_t now)
{
	t->cnt[CC_UPDATES]++;
	t->emit(t->emit_arg, f, FW_UPDATE);
	f->changed = 0;
	f->report_sec = now > f->first_usec ?
	    (uint32_t)((now - f->first_usec) / 1000000) : 0;
}

/*
 * While a timer list's flow is reported or ended: the next one's bucket
 * head (if it is to end: flow_end unlinks it), and the entry after it
 * and its inspection result, on their way to cache.  The next entry
 * itself was asked for at the previous flow, so its key and links are
 * at hand.  `u`: a list linked by unext (fresh, update), else by next.
 */
static inline void
expire_prefetch(const struct flow_table *t, uint32_t next, int u, int ends)
{
	const struct flow *n;
	uint32_t after;

	if (next == FLOW_NIL)
		return;
	n = &t->flows[next];
	after = u ? n->unext : n->next;
	if (after != FLOW_NIL) {
		flow_prefetch_entry(t, after);
		if (t->dpi != NULL)
			dpi_prefetch(t->dpi, after);
	}
	if (ends)
		__builtin_prefetch(&t->bucket[key_bucket(t, &n->key)]);
}

void
flow_table_expire(struct flow_table *t, uint64_t now)
{
	struct flow *f;
	uint32_t i;

	if (now > t->now)
		t->now = now;
	while ((i = t->linger.head) != FLOW_NIL &&
	    t->flows[i].linger_until <= now) {
		expire_prefetch(t, t->flows[i].next, 0, 1);
		t->cnt[CC_FLOWS_ENDED]++;
		flow_end(t, i, FW_END);
	}
	while ((i = t->idle.head) != FLOW_NIL &&
	    t->flows[i].last_usec + t->cfg.idle_usec <= now) {
		expire_prefetch(t, t->flows[i].next, 0, 1);
		t->cnt[CC_FLOWS_EXPIRED]++;
		flow_end(t, i, FW_IDLE);
	}
	/* First records; a lingering flow whose end comes before the next
	 * update would is left to its end record. */
	while ((i = t->fresh.head) != FLOW_NIL &&
	    t->flows[i].next_update <= now) {
		f = &t->flows[i];
		expire_prefetch(t, f->unext, 1, 0);
		if (!(f->flags & FLOW_LINGER) ||
		    f->linger_until > now + t->tick) {
			t->cnt[CC_FIRST_REPORTS]++;
			flow_report(t, f, now);
		}
		ulist_remove(t, i);
		ulist_append(t, i, FL_ULIST_UPDATE, t->now + t->tick);
	}
	while ((i = t->update.head) != FLOW_NIL &&
	    t->flows[i].next_update <= now) {
		f = &t->flows[i];
		expire_prefetch(t, f->unext, 1, 0);
		if (f->changed || now >= f->first_usec +
		    (uint64_t)f->report_sec * 1000000 + t->cfg.active_usec)
			flow_report(t, f, now);
		else
			t->cnt[CC_UPDATES_UNCHANGED]++;
		ulist_remove(t, i);
		ulist_append(t, i, FL_ULIST_UPDATE, t->now + t->tick);
	}
	t->due = flow_due(t);
}

void
flow_table_flush(struct flow_table *t)
{
	while (flow_table_flush_some(t, UINT32_MAX) > 0)
		;
}

int
flow_table_flush_some(struct flow_table *t, uint32_t max)
{
	uint32_t i, n = 0;

	while (n < max && ((i = t->fresh.head) != FLOW_NIL ||
	    (i = t->update.head) != FLOW_NIL)) {
		expire_prefetch(t, t->flows[i].unext, 1, 1);
		t->cnt[CC_FLOWS_FLUSHED]++;
		flow_end(t, i, FW_FLUSH);
		n++;
	}
	if (t->names != NULL)
		names_flush(t->names);
	if (t->dpi != NULL)
		dpi_sync_counters(t->dpi);
	if (t->fresh.head != FLOW_NIL || t->update.head != FLOW_NIL)
		return 1;
	t->due = UINT64_MAX;
	return 0;
}
