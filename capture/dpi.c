/*
 * Application protocols of packet flows: the first packets of each flow
 * (those with an L4 payload) go to Debian's nDPI (libndpi 4.x), whose
 * answer and extracted names go out in the flow's records (evp_app).
 *
 * Inspection of a flow ends as soon as nDPI names its protocol and, for
 * TLS/QUIC, HTTP and DNS, the host name (usually its first payload
 * packet; for TLS over TCP the server's hello too, for JA3S): nDPI's
 * further dissection (certificates, responses) is not sent on, and
 * would cost a packet each.
 *
 * Bounds, all from the configuration and counted when hit:
 *   - packets: a flow gets at most cfg.max_packets payload packets;
 *     then nDPI gives up (its guess by ports is taken) (dpi_packet_limit);
 *   - memory per flow: nDPI's flow state (sizeof(struct
 *     ndpi_flow_struct)) plus what nDPI allocates for the flow (TLS
 *     reassembly, names, URL...) may not exceed cfg.flow_memory bytes;
 *     the packet that takes a flow over ends its inspection and its
 *     memory is freed at once (dpi_memory_limit).  Allocations are
 *     charged through nDPI's malloc hooks to the flow being processed;
 *   - flows inspected at once: cfg.slots states, preallocated; a new
 *     flow finding none free takes the oldest one, whose inspection
 *     ends with nDPI's answer so far (dpi_state_reclaimed): a flow that
 *     sends nothing more does not keep its state to the end.
 * A flow's result (protocol ids, category, one host name, JA3, JA3S) is kept
 * in a compact entry per flow-table slot (struct dpi_result), so the
 * nDPI state is released as soon as detection is over.
 *
 * Where nDPI runs (cfg.queue_bytes): on the packet path, or on a worker
 * thread (the daemon's default) so that the packet path only copies a
 * payload packet into a bounded ring (dpi_queue.c) and nDPI uses the
 * other core.  The two sides share nothing but the ring and, per flow
 * table slot, a generation number:
 *   - the packet path (producer) owns struct flow (with dpi_gen, the
 *     generation of the flow's inspection, dpi_sent and dpi_pos) and the
 *     name cache;
 *   - the worker owns nDPI, the inspection states and struct dpi_result,
 *     except `done`, which it stores (release) once a result is final:
 *     the packet path reads a result only after loading done (acquire)
 *     equal to its generation, and a slot's result is rewritten only
 *     after the packet path has queued a later generation's packet.
 * When the ring is empty the worker has finished every record and waits
 * (see dpi_queue.c): then the packet path may act on the worker's state
 * itself (a flow's end, what a live record shows so far) until it
 * queues the next record.  A file waits for room in the ring and, at a
 * flow's end or record, for the worker to catch up (dpi_waits), so its
 * results are those of inline inspection; a NIC never waits for ring
 * room: a packet without it is counted (dpi_queue_full) and a flow whose
 * first payload packet had none is "Not inspected" (dpi_not_inspected);
 * a flow ending while the worker is more than DPI_END_WAIT_BYTES behind,
 * or still busy after DPI_END_WAIT_USEC, is sent with what was known so
 * far and counted (dpi_late) unless its result became final before its
 * record was made.
 *
 * Which host name: nDPI 4.2 keeps one (host_server_name, up to 79
 * bytes): the TLS/QUIC SNI, the HTTP Host, or the DNS query name, by
 * the protocol detected.  JA3 is the client's (nDPI 4.2 has no JA4).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ndpi/ndpi_api.h>

#include "../common/config.h"
#include "capture.h"

#define DPI_NAME_LEN	80	/* nDPI 4.2's host_server_name */
#define DPI_END_WAIT_BYTES 65536 /* ... only if the worker is less than this
				   far behind (a few hundred packets): an
				   overloaded worker is not waited for */
#define DPI_END_WAIT_USEC 1000	/* a NIC: a flow's end waits this long for
				   the worker to catch up */
#define DPI_NOT_INSPECTED "Not inspected"

/* Per flow-table slot, the worker's: what detection found. */
struct dpi_result {
	uint32_t	gen;		/* inspection it is about */
	uint32_t	part_gen;	/* part is of this inspection (atomic) */
	uint32_t	slot;		/* inspection state while active */
	uint64_t	part;		/* so far: master << 32 | app << 16 |
					   category (atomic) */
	uint64_t	ts_usec;	/* packet or end that made it final */
	uint16_t	master, app;	/* nDPI protocol ids */
	uint16_t	category;
	uint8_t		name_src;	/* enum evp_name_source, 0 = none */
	uint8_t		pkts;		/* payload packets fed */
	uint8_t		active;		/* holds slot */
	char		name[DPI_NAME_LEN];
	char		ja3[33], ja3s[33];
};
_Static_assert(sizeof(struct dpi_result) == 3 * 64, "a result is three "
    "cache lines (the array is aligned to a line)");

/* One flow under inspection.  `mem` is what nDPI allocated for it. */
struct dpi_slot {
	struct ndpi_flow_struct fl;
	size_t		mem;
	uint32_t	index;		/* its flow-table index, if active */
	uint32_t	prev, next;	/* active list (oldest first) or free
					   list (next) */
	int		active;		/* fl holds nDPI allocations */
};

/* What the ring carries: a payload packet of an inspection, or the end
 * of the flow (only when the worker was busy at the flow's end). */
#define DPI_MSG_PACKET	1
#define DPI_MSG_END	2
struct dpi_msg {
	uint64_t	ts_usec;
	uint32_t	index, gen;
	uint16_t	len;		/* bytes of IP packet in data */
	uint8_t		type;
	uint8_t		l4proto;
	uint32_t	pad;
	uint8_t		data[];
};

/* Names of (master, app) pairs already formatted: a record is built
 * for every update of a flow, nDPI's snprintf for each is not cheap. */
#define DPI_NAME_CACHE	256	/* entries, power of 2 */
struct dpi_pname {
	uint32_t	key;		/* master << 16 | app, + 1 (0: empty) */
	uint16_t	category;
	char		proto[EVP_APP_PROTO_LEN];
	char		cat[EVP_APP_CAT_LEN];
};

struct dpi {
	/* Set at start, read by both threads. */
	struct dpi_cfg	 cfg;
	struct ndpi_detection_module_struct *mod;
	struct dpi_result *res;		/* cfg.max_flows entries (aligned:
					   three lines each); the worker's
					   (see above) */
	uint32_t	*done;		/* per slot: res's gen once final
					   (atomic; apart, so the packet
					   path reads 4 bytes a flow) */
	void		*res_mem, *done_mem;	/* allocations */
	struct dpi_slot	*slot;		/* cfg.slots entries */
	uint64_t	*wcnt;		/* the worker's counters: cnt, or own */
	uint64_t	*cnt;		/* CC_MAX counters, borrowed */
	struct names	*names;		/* borrowed, may be NULL */
	/* Results made final on the worker, for the packet path to take up
	 * promptly (names, no more packets): slot << 32 | gen, a ring the
	 * worker fills and the packet path empties after each batch; a
	 * notice finding it full is left out (the packet path then sees the
	 * result at the flow's next packet, record or end). */
	uint64_t	*note;		/* DPI_NOTES entries */
	struct dpiq	*q;		/* the worker's ring, if any */
	pthread_t	 thread;
	int		 running;
	/* What each thread writes is on lines of its own: a line the other
	 * core wrote costs a transfer each time it is read. */
	/* The worker's (or the packet path's for an idle worker). */
	_Alignas(64) uint32_t free_head, unused;
	uint32_t	 old_head, old_tail;	/* active, by start */
	uint64_t	 note_head;	/* atomic */
	uint64_t	 note_tail_seen;	/* note_tail when last read */
	uint64_t	 own[CC_MAX];	/* its counters, with a worker */
	/* The packet path's. */
	_Alignas(64) uint32_t gen;	/* last generation given */
	uint64_t	 note_tail;	/* atomic */
	struct dpi_pname pname[DPI_NAME_CACHE];
};

#define DPI_NOTES	65536	/* power of 2 */
#define DPI_NOTE_CHUNK	16	/* notices prefetched at once */

/* Set on the worker thread: its final results are noted for the packet
 * path (which, acting for an idle worker, sees its own at once). */
static _Thread_local int dpi_on_worker;

/* A worker counter: the packet path reads them while the worker runs. */
#define WINC(d, c)	__atomic_store_n(&(d)->wcnt[c], (d)->wcnt[c] + 1, \
			    __ATOMIC_RELAXED)

/*
 * nDPI's allocations carry a header: their size and the counter of the
 * flow they were charged to (none outside of a flow's packet).  The
 * hooks are process-wide (nDPI has no per-module allocator); a capture
 * has one struct dpi.
 */
struct dpi_mhdr {
	size_t		 size;
	size_t		*charge;
};
_Static_assert(sizeof(struct dpi_mhdr) == 16, "malloc header keeps "
    "16-byte alignment");

static size_t *dpi_charge;	/* the flow being processed, or NULL */

static void *
dpi_malloc(size_t size)
{
	struct dpi_mhdr *h;

	if (size > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + size)) ==
	    NULL)
		return NULL;
	h->size = size;
	h->charge = dpi_charge;
	if (h->charge != NULL)
		*h->charge += size;
	return h + 1;
}

static void
dpi_mfree(void *p)
{
	struct dpi_mhdr *h;

	if (p == NULL)
		return;
	h = (struct dpi_mhdr *)p - 1;
	/* A slot's count is reset when it is reused: never below 0. */
	if (h->charge != NULL)
		*h->charge -= *h->charge < h->size ? *h->charge : h->size;
	free(h);
}

size_t
dpi_state_bytes(void)
{
	return sizeof(struct ndpi_flow_struct);
}

/*
 * The protocols nDPI looks for: every one, or those named in `list`
 * (nDPI's names, any case, separated by commas or spaces).  nDPI runs
 * each enabled dissector on a payload it has not recognized yet, so a
 * short list costs much less on traffic it does not know; a flow of
 * another protocol gets nDPI's guess by port when inspection ends.
 */
static int
dpi_bitmask(struct ndpi_detection_module_struct *mod, const char *list,
    NDPI_PROTOCOL_BITMASK *bm, char *err, size_t errlen)
{
	char buf[CONF_STR_LEN], *tok, *save = NULL;
	int id, n = 0;

	NDPI_BITMASK_SET_ALL(*bm);
	if (list == NULL || list[0] == '\0')
		return 0;
	NDPI_BITMASK_RESET(*bm);
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if ((id = ndpi_get_protocol_id(mod, tok)) < 0) {
			snprintf(err, errlen, "capture.dpi_protocols: nDPI "
			    "has no protocol '%s'", tok);
			return -1;
		}
		NDPI_ADD_PROTOCOL_TO_BITMASK(*bm, id);
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "capture.dpi_protocols: no protocol");
		return -1;
	}
	return 0;
}

struct dpi *
dpi_new(const struct dpi_cfg *cfg, uint64_t *cnt, struct names *names,
    char *err, size_t errlen)
{
	NDPI_PROTOCOL_BITMASK all;
	struct dpi *d;

	if (cfg->max_flows == 0 || cfg->slots == 0 || cfg->max_packets == 0) {
		snprintf(err, errlen, "dpi: zero flows, slots or packets");
		return NULL;
	}
	if (cfg->flow_memory < sizeof(struct ndpi_flow_struct)) {
		snprintf(err, errlen, "capture.dpi_flow_memory %zu is less "
		    "than nDPI's flow state (%zu bytes)", cfg->flow_memory,
		    sizeof(struct ndpi_flow_struct));
		return NULL;
	}
	/* Aligned as its lines apart ask (sizeof is a multiple of 64). */
	if ((d = aligned_alloc(_Alignof(struct dpi), sizeof(*d))) == NULL) {
		snprintf(err, errlen, "dpi: out of memory");
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->cnt = cnt;
	d->wcnt = cfg->queue_bytes != 0 ? d->own : cnt;
	d->names = names;
	d->free_head = d->old_head = d->old_tail = FLOW_NIL;
	set_ndpi_malloc(dpi_malloc);
	set_ndpi_free(dpi_mfree);
	d->res = capture_table_new((size_t)cfg->max_flows * sizeof(*d->res),
	    &d->res_mem);
	d->done = capture_table_new((size_t)cfg->max_flows *
	    sizeof(*d->done), &d->done_mem);
	d->slot = calloc(cfg->slots, sizeof(*d->slot));
	if (d->res == NULL || d->done == NULL || d->slot == NULL ||
	    (d->mod = ndpi_init_detection_module(ndpi_no_prefs)) == NULL) {
		snprintf(err, errlen, "dpi: out of memory for %u flows and "
		    "%u states", cfg->max_flows, cfg->slots);
		dpi_free(d);
		return NULL;
	}
	if (cfg->queue_bytes != 0 && ((d->q = dpiq_new(cfg->queue_bytes)) ==
	    NULL || dpiq_max_record(d->q) < sizeof(struct dpi_msg) + 64 ||
	    (d->note = calloc(DPI_NOTES, sizeof(*d->note))) == NULL)) {
		snprintf(err, errlen, "dpi: a ring of %zu bytes: %s",
		    cfg->queue_bytes, d->q == NULL ? strerror(errno) :
		    "too small");
		dpi_free(d);
		return NULL;
	}
	if (dpi_bitmask(d->mod, cfg->protocols, &all, err, errlen) == -1) {
		dpi_free(d);
		return NULL;
	}
	ndpi_set_protocol_detection_bitmask2(d->mod, &all);
	ndpi_finalize_initialization(d->mod);
	return d;
}

size_t
dpi_bytes(const struct dpi *d)
{
	return (size_t)d->cfg.max_flows * (sizeof(*d->res) +
	    sizeof(*d->done)) +
	    (size_t)d->cfg.slots * sizeof(*d->slot) + (d->q != NULL ?
	    dpiq_bytes(d->q) + DPI_NOTES * sizeof(*d->note) : 0);
}

void
dpi_sync_counters(struct dpi *d)
{
	static const enum capture_counter w[] = { CC_DPI_DETECTED,
	    CC_DPI_UNKNOWN, CC_DPI_PACKET_LIMIT, CC_DPI_MEMORY_LIMIT,
	    CC_DPI_RECLAIMED };
	size_t i;

	if (d->wcnt == d->cnt)
		return;
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		d->cnt[w[i]] = __atomic_load_n(&d->wcnt[w[i]],
		    __ATOMIC_RELAXED);
}

static int
is_tls(uint16_t p)
{
	return p == NDPI_PROTOCOL_TLS || p == NDPI_PROTOCOL_QUIC ||
	    p == NDPI_PROTOCOL_DTLS;
}

static int
is_http(uint16_t p)
{
	return p == NDPI_PROTOCOL_HTTP || p == NDPI_PROTOCOL_HTTP_CONNECT ||
	    p == NDPI_PROTOCOL_HTTP_PROXY;
}

/* Which kind of name nDPI's host_server_name is for this protocol. */
static enum evp_name_source
name_kind(uint16_t master, uint16_t app)
{
	if (is_tls(master) || is_tls(app))
		return EVP_NAME_SNI;
	if (is_http(master) || is_http(app))
		return EVP_NAME_HTTP;
	if (master == NDPI_PROTOCOL_DNS || app == NDPI_PROTOCOL_DNS)
		return EVP_NAME_DNS;
	return 0;
}

/* Copies a string nDPI gave, lower-cased if `lower`, if every byte is
 * printable ASCII without quotes or backslashes; else leaves it empty. */
static void
copy_str(char *dst, size_t cap, const char *src, size_t srccap, int lower)
{
	size_t n = strnlen(src, srccap), i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < ' ' || c >= 0x7f || c == '"' || c == '\\' ||
		    (lower && c == ' ')) {
			dst[0] = '\0';
			return;
		}
		dst[i] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	dst[n] = '\0';
}

/*
 * 1 if what is sent on is known: the host name for TLS/QUIC, HTTP and
 * DNS, and for TLS over TCP the server's JA3S too (its ServerHello, the
 * flow's second payload packet).
 */
static int
dpi_known(ndpi_protocol p, const struct ndpi_flow_struct *fl, uint8_t l4)
{
	enum evp_name_source kind = name_kind(p.master_protocol,
	    p.app_protocol);

	if (kind == 0)
		return 1;
	if (fl->host_server_name[0] == '\0')
		return 0;
	return kind != EVP_NAME_SNI || l4 != 6 ||
	    fl->protos.tls_quic.ja3_server[0] != '\0';
}

/* ---- the worker's side (or the packet path's, see above) ---- */

/*
 * Ends the inspection of flow-table slot i: takes nDPI's answer (its
 * guess when `giveup`), keeps the result, frees the state and makes the
 * result final (done).
 */
static void
w_finish(struct dpi *d, uint32_t i, int giveup, uint64_t ts_usec)
{
	struct dpi_result *r = &d->res[i];
	struct dpi_slot *s = &d->slot[r->slot];
	ndpi_protocol p;
	uint8_t guessed = 0;

	dpi_charge = &s->mem;
	if (giveup)
		p = ndpi_detection_giveup(d->mod, &s->fl, 1, &guessed);
	else {
		p.master_protocol = s->fl.detected_protocol_stack[1];
		p.app_protocol = s->fl.detected_protocol_stack[0];
		p.category = s->fl.category;
	}
	r->master = p.master_protocol;
	r->app = p.app_protocol;
	r->category = (uint16_t)p.category;
	if (r->master == NDPI_PROTOCOL_UNKNOWN &&
	    r->app == NDPI_PROTOCOL_UNKNOWN)
		WINC(d, CC_DPI_UNKNOWN);
	else
		WINC(d, CC_DPI_DETECTED);
	r->name_src = (uint8_t)name_kind(r->master, r->app);
	if (r->name_src != 0)
		copy_str(r->name, sizeof(r->name), s->fl.host_server_name,
		    sizeof(s->fl.host_server_name), 1);
	if (r->name_src == EVP_NAME_SNI) {
		copy_str(r->ja3, sizeof(r->ja3),
		    s->fl.protos.tls_quic.ja3_client,
		    sizeof(s->fl.protos.tls_quic.ja3_client), 1);
		copy_str(r->ja3s, sizeof(r->ja3s),
		    s->fl.protos.tls_quic.ja3_server,
		    sizeof(s->fl.protos.tls_quic.ja3_server), 1);
	}
	ndpi_free_flow_data(&s->fl);
	dpi_charge = NULL;
	s->mem = 0;
	s->active = 0;
	if (s->prev != FLOW_NIL)
		d->slot[s->prev].next = s->next;
	else
		d->old_head = s->next;
	if (s->next != FLOW_NIL)
		d->slot[s->next].prev = s->prev;
	else
		d->old_tail = s->prev;
	s->next = d->free_head;
	d->free_head = r->slot;
	r->active = 0;
	r->ts_usec = ts_usec;
	__atomic_store_n(&d->done[i], r->gen, __ATOMIC_RELEASE);
	/* The packet path's position is read again only when the notices
	 * look full. */
	if (dpi_on_worker && d->note_head - d->note_tail_seen >= DPI_NOTES)
		d->note_tail_seen = __atomic_load_n(&d->note_tail,
		    __ATOMIC_ACQUIRE);
	if (dpi_on_worker && d->note_head - d->note_tail_seen < DPI_NOTES) {
		d->note[d->note_head & (DPI_NOTES - 1)] = (uint64_t)i << 32 |
		    r->gen;
		__atomic_store_n(&d->note_head, d->note_head + 1,
		    __ATOMIC_RELEASE);
	}
}

/* A state for inspection `gen` of slot i (the oldest one's if none is
 * free: its inspection ends with what nDPI has so far). */
static void
w_begin(struct dpi *d, uint32_t i, uint32_t gen, uint64_t ts_usec)
{
	struct dpi_result *r = &d->res[i];
	struct dpi_slot *s;
	uint32_t n;

	if (r->active)		/* a NIC's end message found no room */
		w_finish(d, i, 1, ts_usec);
	if (d->free_head == FLOW_NIL && d->unused == d->cfg.slots) {
		WINC(d, CC_DPI_RECLAIMED);
		w_finish(d, d->slot[d->old_head].index, 1, ts_usec);
	}
	if (d->free_head != FLOW_NIL) {
		n = d->free_head;
		d->free_head = d->slot[n].next;
	} else
		n = d->unused++;
	r->gen = gen;
	r->slot = n;
	r->master = r->app = r->category = 0;
	r->name_src = 0;
	r->pkts = 0;
	r->active = 1;
	r->name[0] = r->ja3[0] = r->ja3s[0] = '\0';
	s = &d->slot[n];
	memset(&s->fl, 0, sizeof(s->fl));
	s->mem = 0;
	s->active = 1;
	s->index = i;
	s->next = FLOW_NIL;
	s->prev = d->old_tail;
	if (d->old_tail != FLOW_NIL)
		d->slot[d->old_tail].next = n;
	else
		d->old_head = n;
	d->old_tail = n;
}

/* A payload packet (its IP packet, `len` bytes) of inspection `gen` of
 * slot i. */
static void
w_packet(struct dpi *d, uint32_t i, uint32_t gen, uint8_t l4proto,
    const uint8_t *ip, uint16_t len, uint64_t ts_usec)
{
	struct dpi_result *r = &d->res[i];
	struct dpi_slot *s;
	ndpi_protocol p;

	if (r->gen != gen)
		w_begin(d, i, gen, ts_usec);
	else if (!r->active)
		return;		/* over; the packet path did not know yet */
	s = &d->slot[r->slot];
	r->pkts++;
	dpi_charge = &s->mem;
	p = ndpi_detection_process_packet(d->mod, &s->fl, ip, len,
	    ts_usec / 1000);
	dpi_charge = NULL;
	if (sizeof(s->fl) + s->mem > d->cfg.flow_memory) {
		WINC(d, CC_DPI_MEMORY_LIMIT);
		w_finish(d, i, 1, ts_usec);
	} else if (p.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
		/* Done once the protocol and its name are known: what nDPI
		 * would dissect further (server certificates, HTTP and DNS
		 * responses) is not sent on, and costs a packet each. */
		if (r->pkts >= d->cfg.max_packets ||
		    !ndpi_extra_dissection_possible(d->mod, &s->fl) ||
		    dpi_known(p, &s->fl, l4proto))
			w_finish(d, i, 0, ts_usec);
		else {
			/* What a live record may show so far. */
			__atomic_store_n(&r->part, (uint64_t)
			    s->fl.detected_protocol_stack[1] << 32 |
			    (uint64_t)s->fl.detected_protocol_stack[0] << 16 |
			    (uint16_t)s->fl.category, __ATOMIC_RELAXED);
			__atomic_store_n(&r->part_gen, gen, __ATOMIC_RELEASE);
		}
	} else if (r->pkts >= d->cfg.max_packets) {
		WINC(d, CC_DPI_PACKET_LIMIT);
		w_finish(d, i, 1, ts_usec);
	}
}

/* The flow of inspection `gen` of slot i ended at ts_usec. */
static void
w_end(struct dpi *d, uint32_t i, uint32_t gen, uint64_t ts_usec)
{
	if (d->res[i].gen == gen && d->res[i].active)
		w_finish(d, i, 1, ts_usec);
}

/* The worker thread: records until stopped with an empty ring. */
static void *
dpi_worker(void *arg)
{
	struct dpi *d = arg;
	const struct dpi_msg *m;
	size_t len;

	dpi_on_worker = 1;
	for (;;) {
		if ((m = dpiq_peek(d->q, &len)) == NULL) {
			if (dpiq_stopped(d->q) && dpiq_peek(d->q, &len) ==
			    NULL)
				break;
			dpiq_wait_data(d->q);
			continue;
		}
		if (m->type == DPI_MSG_PACKET)
			w_packet(d, m->index, m->gen, m->l4proto, m->data,
			    m->len, m->ts_usec);
		else
			w_end(d, m->index, m->gen, m->ts_usec);
		dpiq_release(d->q, len);
	}
	return NULL;
}

int
dpi_start(struct dpi *d, char *err, size_t errlen)
{
	sigset_t all, old;
	int e;

	if (d->q == NULL || d->running)
		return 0;
	/* Signals are the main loop's: the worker blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&d->thread, NULL, dpi_worker, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		snprintf(err, errlen, "dpi: worker thread: %s", strerror(e));
		return -1;
	}
	(void)pthread_setname_np(d->thread, "evflow-dpi");
	d->running = 1;
	return 0;
}

double
dpi_worker_cpu(const struct dpi *d)
{
	struct timespec ts;
	clockid_t cid;

	if (!d->running || pthread_getcpuclockid(d->thread, &cid) != 0 ||
	    clock_gettime(cid, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
dpi_free(struct dpi *d)
{
	uint32_t i;

	if (d == NULL)
		return;
	if (d->running) {
		dpiq_stop(d->q);
		pthread_join(d->thread, NULL);
	}
	/* Slots still in use hold nDPI allocations. */
	if (d->slot != NULL)
		for (i = 0; i < d->unused; i++)
			if (d->slot[i].active)
				ndpi_free_flow_data(&d->slot[i].fl);
	if (d->mod != NULL)
		ndpi_exit_detection_module(d->mod);
	dpiq_free(d->q);
	free(d->note);
	free(d->res_mem);
	free(d->done_mem);
	free(d->slot);
	free(d);
}

/* ---- the packet path's side ---- */

/* With a worker: 1 once it has finished the records before `pos`,
 * waiting up to `usec` (UINT64_MAX: as long as it takes; counted). */
static int
dpi_wait(struct dpi *d, uint64_t pos, uint64_t usec)
{
	dpiq_publish(d->q);
	if (dpiq_done(d->q, pos))
		return 1;
	if (usec == 0)
		return 0;
	d->cnt[CC_DPI_WAITS]++;
	return dpiq_wait(d->q, pos, usec);
}

/* 1 if result r has a server name for the name cache. */
static int
dpi_named(const struct dpi *d, const struct dpi_result *r)
{
	return d->names != NULL && r->name[0] != '\0' &&
	    (r->name_src == EVP_NAME_SNI || r->name_src == EVP_NAME_HTTP);
}

/* Flow i's result is final: done, its server's name learned (at the
 * time of the packet that made it final). */
static void
dpi_take(struct dpi *d, uint32_t i, struct flow *f)
{
	const struct dpi_result *r = &d->res[i];

	f->dpi = FLOW_DPI_DONE;
	if (dpi_named(d, r))
		names_learn(d->names, flow_addr(f, 1), r->name, r->name_src,
		    r->ts_usec, 0);
}

static int
dpi_final(const struct dpi *d, uint32_t i, const struct flow *f)
{
	return f->dpi == FLOW_DPI_ACTIVE && __atomic_load_n(&d->done[i],
	    __ATOMIC_ACQUIRE) == f->dpi_gen;
}

/*
 * Takes up the results the worker noted, in the order it made them
 * final (so names are noted in that order; see names_note).  `flows` is
 * the flow table's array.
 */
static void
dpi_notes(struct dpi *d, struct flow *flows)
{
	const struct dpi_result *r;
	uint64_t head, tail, end, k, n;
	uint32_t i;

	head = __atomic_load_n(&d->note_head, __ATOMIC_ACQUIRE);
	for (tail = d->note_tail; tail != head; ) {
		/* A chunk's flows and results on their way to cache first
		 * (a batch of packets brings a few notices). */
		end = head - tail > DPI_NOTE_CHUNK ? tail + DPI_NOTE_CHUNK :
		    head;
		for (k = tail; k != end; k++) {
			i = (uint32_t)(d->note[k & (DPI_NOTES - 1)] >> 32);
			if (i < d->cfg.max_flows) {
				__builtin_prefetch(&flows[i]);
				__builtin_prefetch(&flows[i].dpi_gen);
				__builtin_prefetch(&d->res[i]);
				__builtin_prefetch((const char *)&d->res[i] +
				    64);
			}
		}
		for (; tail != end; tail++) {
			n = d->note[tail & (DPI_NOTES - 1)];
			i = (uint32_t)(n >> 32);
			/* Still the inspection of the flow in that slot?  (The
			 * worker noted it after storing done.) */
			if (i >= d->cfg.max_flows ||
			    flows[i].dpi_gen != (uint32_t)n ||
			    flows[i].dpi != FLOW_DPI_ACTIVE)
				continue;
			flows[i].dpi = FLOW_DPI_DONE;
			r = &d->res[i];
			if (dpi_named(d, r))
				names_note(d->names, flow_addr(&flows[i], 1),
				    r->name, r->name_src, r->ts_usec, 0);
		}
	}
	__atomic_store_n(&d->note_tail, head, __ATOMIC_RELEASE);
}

/* An active flow whose result became final is taken up (after the ones
 * the worker made final before it). */
static void
dpi_observe(struct dpi *d, uint32_t i, struct flow *f)
{
	if (!dpi_final(d, i, f))
		return;
	if (d->note != NULL)
		dpi_notes(d, f - i);
	if (f->dpi == FLOW_DPI_ACTIVE)
		dpi_take(d, i, f);
}

/* A record of `len` bytes in the ring, or NULL if it has no room (a
 * file waits for it, counted). */
static struct dpi_msg *
dpi_reserve(struct dpi *d, size_t len)
{
	struct dpi_msg *m;
	uint64_t head = dpiq_head(d->q), half = dpiq_bytes(d->q) / 2;

	if ((m = dpiq_reserve(d->q, len)) != NULL || !d->cfg.lossless)
		return m;
	/* Room for half the ring: one wait per half ring, not per packet. */
	(void)dpi_wait(d, head > half ? head - half : 0, UINT64_MAX);
	return dpiq_reserve(d->q, len);
}

static void
dpi_committed(struct dpi *d, struct flow *f, uint32_t gen)
{
	if (f->dpi == FLOW_DPI_NONE) {
		f->dpi_gen = gen;
		f->dpi_sent = 0;
		f->dpi = FLOW_DPI_ACTIVE;
		d->cnt[CC_DPI_FLOWS]++;
	}
	f->dpi_sent++;
	d->cnt[CC_DPI_PACKETS]++;
}

void
dpi_packet(struct dpi *d, uint32_t i, struct flow *f, const struct pkt *k)
{
	struct dpi_msg *m;
	uint32_t len = k->l3_cap, gen;

	/* A result made final is taken up by dpi_poll (or, inline, right
	 * after the packet below), so f->dpi says whether to go on. */
	if (f->dpi > FLOW_DPI_ACTIVE ||
	    (f->dpi == FLOW_DPI_ACTIVE && f->dpi_sent >= d->cfg.max_packets))
		return;
	gen = f->dpi == FLOW_DPI_NONE ? (++d->gen == 0 ? ++d->gen : d->gen) :
	    f->dpi_gen;
	if (len > 65535)
		len = 65535;
	if (d->q == NULL || !d->running) {
		dpi_committed(d, f, gen);
		w_packet(d, i, gen, k->proto, k->l3, (uint16_t)len,
		    k->ts_usec);
		dpi_observe(d, i, f);
		return;
	}
	if (len > dpiq_max_record(d->q) - sizeof(*m))
		len = (uint32_t)(dpiq_max_record(d->q) - sizeof(*m));
	if ((m = dpi_reserve(d, sizeof(*m) + len)) == NULL) {
		d->cnt[CC_DPI_QUEUE_FULL]++;
		if (f->dpi == FLOW_DPI_NONE) {
			f->dpi = FLOW_DPI_SKIPPED;
			d->cnt[CC_DPI_NOT_INSPECTED]++;
		}
		return;
	}
	m->ts_usec = k->ts_usec;
	m->index = i;
	m->gen = gen;
	m->len = (uint16_t)len;
	m->type = DPI_MSG_PACKET;
	m->l4proto = k->proto;
	m->pad = 0;
	memcpy(m->data, k->l3, len);
	dpiq_commit(d->q);
	dpi_committed(d, f, gen);
	f->dpi_pos = dpiq_head(d->q);
}

void
dpi_prefetch(const struct dpi *d, uint32_t i)
{
	const char *r = (const char *)&d->res[i];

	__builtin_prefetch(&d->done[i]);
	__builtin_prefetch(r);
	__builtin_prefetch(r + 64);
	__builtin_prefetch(r + 128);
}

void
dpi_poll(struct dpi *d, struct flow *flows)
{
	if (d->q == NULL)
		return;
	dpiq_publish(d->q);
	dpi_notes(d, flows);
}

void
dpi_flow_end(struct dpi *d, uint32_t i, struct flow *f)
{
	struct dpi_msg *m;
	uint32_t gen = f->dpi_gen;

	dpi_observe(d, i, f);
	if (f->dpi != FLOW_DPI_ACTIVE)
		return;
	/* Without a worker, or with the worker idle (it touches nothing
	 * until the next record): its final answer now. */
	if (d->q == NULL || !d->running || (dpiq_publish(d->q),
	    dpiq_idle(d->q))) {
		w_end(d, i, gen, f->last_usec);
		dpi_observe(d, i, f);
		return;
	}
	if ((m = dpi_reserve(d, sizeof(*m))) != NULL) {
		memset(m, 0, sizeof(*m));
		m->ts_usec = f->last_usec;
		m->index = i;
		m->gen = gen;
		m->type = DPI_MSG_END;
		dpiq_commit(d->q);
		if (d->cfg.lossless ? dpi_wait(d, dpiq_head(d->q),
		    UINT64_MAX) : dpiq_backlog(d->q) <= DPI_END_WAIT_BYTES &&
		    dpi_wait(d, dpiq_head(d->q), DPI_END_WAIT_USEC))
			dpi_observe(d, i, f);
	}
	/* The worker may still be busy: dpi_export counts the record late
	 * if it leaves without the final result. */
}

/* The state of flow i's inspection as the packet path may read it:
 * f->dpi, or done if the worker's result for it is final. */
static int
dpi_state(const struct dpi *d, uint32_t i, const struct flow *f)
{
	if (dpi_final(d, i, f))
		return FLOW_DPI_DONE;
	return f->dpi;
}

void
dpi_export(struct dpi *d, uint32_t i, const struct flow *f,
    struct evp_flow *rec, int final)
{
	const struct dpi_result *r = &d->res[i];
	struct evp_app *a = &rec->app;
	struct dpi_pname *pn;
	ndpi_protocol p;
	const char *cat;
	uint64_t part;
	uint32_t key;
	int st;

	/* Still looking: what is known so far, if anything, when the
	 * worker's state may be read (a file waits for it). */
	if ((st = dpi_state(d, i, f)) == FLOW_DPI_ACTIVE && d->q != NULL &&
	    d->running && d->cfg.lossless) {
		/* A file: what the worker makes of the packets so far. */
		(void)dpi_wait(d, f->dpi_pos, UINT64_MAX);
		st = dpi_state(d, i, f);
	}
	/* A flow's last record without the final result (the worker was
	 * busy at its end and still is): counted here, not at the end, as
	 * the result may have become final in between. */
	if (final && st == FLOW_DPI_ACTIVE)
		d->cnt[CC_DPI_LATE]++;
	if (st == FLOW_DPI_ACTIVE) {
		/* Still looking: what is known so far, if anything. */
		if (__atomic_load_n(&r->part_gen, __ATOMIC_ACQUIRE) !=
		    f->dpi_gen)
			return;
		part = __atomic_load_n(&r->part, __ATOMIC_RELAXED);
		p.master_protocol = (uint16_t)(part >> 32);
		p.app_protocol = (uint16_t)(part >> 16);
		p.category = (ndpi_protocol_category_t)(uint16_t)part;
		if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN &&
		    p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
			return;
	} else if (st == FLOW_DPI_DONE) {
		p.master_protocol = r->master;
		p.app_protocol = r->app;
		p.category = (ndpi_protocol_category_t)r->category;
	} else if (st == FLOW_DPI_SKIPPED) {
		rec->flags |= EVP_F_HAS_APP;
		snprintf(a->proto, sizeof(a->proto), "%s", DPI_NOT_INSPECTED);
		return;
	} else
		return;
	rec->flags |= EVP_F_HAS_APP;
	key = ((uint32_t)p.master_protocol << 16 | p.app_protocol) + 1;
	pn = &d->pname[(key * 2654435761u >> 24) & (DPI_NAME_CACHE - 1)];
	if (pn->key != key || pn->category != (uint16_t)p.category) {
		/* nDPI writes "App" alone when master and app agree. */
		ndpi_protocol2name(d->mod, p, pn->proto, sizeof(pn->proto));
		pn->cat[0] = '\0';
		if ((cat = ndpi_category_get_name(d->mod, p.category)) !=
		    NULL)
			copy_str(pn->cat, sizeof(pn->cat), cat, 64, 0);
		pn->key = key;
		pn->category = (uint16_t)p.category;
	}
	memcpy(a->proto, pn->proto, sizeof(a->proto));
	memcpy(a->category, pn->cat, sizeof(a->category));
	if (st != FLOW_DPI_DONE)
		return;
	switch (r->name_src) {
	case EVP_NAME_SNI:
		memcpy(a->sni, r->name, sizeof(r->name));
		memcpy(a->ja3, r->ja3, sizeof(r->ja3));
		memcpy(a->ja3s, r->ja3s, sizeof(r->ja3s));
		break;
	case EVP_NAME_HTTP:
		memcpy(a->http_host, r->name, sizeof(r->name));
		break;
	case EVP_NAME_DNS:
		memcpy(a->dns_query, r->name, sizeof(r->name));
		break;
	}
}
