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
 * Which host name: nDPI 4.2 keeps one (host_server_name, up to 79
 * bytes): the TLS/QUIC SNI, the HTTP Host, or the DNS query name, by
 * the protocol detected.  JA3 is the client's (nDPI 4.2 has no JA4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

#include "capture.h"

#define DPI_NAME_LEN	80	/* nDPI 4.2's host_server_name */

/* Per flow-table slot: what detection found. */
struct dpi_result {
	uint32_t	slot;		/* inspection state while active */
	uint16_t	master, app;	/* nDPI protocol ids */
	uint16_t	category;
	uint8_t		name_src;	/* enum evp_name_source, 0 = none */
	uint8_t		pkts;		/* payload packets fed */
	char		name[DPI_NAME_LEN];
	char		ja3[33], ja3s[33];
};

/* One flow under inspection.  `mem` is what nDPI allocated for it. */
struct dpi_slot {
	struct ndpi_flow_struct fl;
	size_t		mem;
	struct flow	*flow;		/* the flow it inspects, if active */
	uint32_t	index;		/* ... and its flow-table index */
	uint32_t	prev, next;	/* active list (oldest first) or free
					   list (next) */
	int		active;		/* fl holds nDPI allocations */
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
	struct dpi_cfg	 cfg;
	struct dpi_pname pname[DPI_NAME_CACHE];
	struct ndpi_detection_module_struct *mod;
	struct dpi_result *res;		/* cfg.max_flows entries */
	struct dpi_slot	*slot;		/* cfg.slots entries */
	uint32_t	 free_head, unused;
	uint32_t	 old_head, old_tail;	/* active, by start */
	uint64_t	*cnt;		/* CC_MAX counters, borrowed */
	struct names	*names;		/* borrowed, may be NULL */
};

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
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "dpi: out of memory");
		return NULL;
	}
	d->cfg = *cfg;
	d->cnt = cnt;
	d->names = names;
	d->free_head = d->old_head = d->old_tail = FLOW_NIL;
	set_ndpi_malloc(dpi_malloc);
	set_ndpi_free(dpi_mfree);
	d->res = calloc(cfg->max_flows, sizeof(*d->res));
	d->slot = calloc(cfg->slots, sizeof(*d->slot));
	if (d->res == NULL || d->slot == NULL ||
	    (d->mod = ndpi_init_detection_module(ndpi_no_prefs)) == NULL) {
		snprintf(err, errlen, "dpi: out of memory for %u flows and "
		    "%u states", cfg->max_flows, cfg->slots);
		dpi_free(d);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->mod, &all);
	ndpi_finalize_initialization(d->mod);
	return d;
}

void
dpi_free(struct dpi *d)
{
	uint32_t i;

	if (d == NULL)
		return;
	/* Slots still in use hold nDPI allocations. */
	if (d->slot != NULL)
		for (i = 0; i < d->unused; i++)
			if (d->slot[i].active)
				ndpi_free_flow_data(&d->slot[i].fl);
	if (d->mod != NULL)
		ndpi_exit_detection_module(d->mod);
	free(d->res);
	free(d->slot);
	free(d);
}

size_t
dpi_bytes(const struct dpi *d)
{
	return (size_t)d->cfg.max_flows * sizeof(*d->res) +
	    (size_t)d->cfg.slots * sizeof(*d->slot);
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

/*
 * Ends the inspection of flow i: takes nDPI's answer (its guess when
 * `giveup`), keeps the result, frees the state and learns the server's
 * name.  `f` is the flow (for its server address and time).
 */
static void
dpi_finish(struct dpi *d, uint32_t i, struct flow *f, int giveup)
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
		d->cnt[CC_DPI_UNKNOWN]++;
	else
		d->cnt[CC_DPI_DETECTED]++;
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
	s->flow = NULL;
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
	f->dpi = FLOW_DPI_DONE;
	if (d->names != NULL && r->name[0] != '\0' &&
	    (r->name_src == EVP_NAME_SNI || r->name_src == EVP_NAME_HTTP))
		names_learn(d->names, flow_addr(f, 1), r->name, r->name_src,
		    f->last_usec, 0);
}

void
dpi_packet(struct dpi *d, uint32_t i, struct flow *f, const struct pkt *k)
{
	struct dpi_result *r = &d->res[i];
	struct dpi_slot *s;
	ndpi_protocol p;
	uint32_t n;

	if (f->dpi == FLOW_DPI_NONE) {
		if (d->free_head == FLOW_NIL && d->unused == d->cfg.slots) {
			d->cnt[CC_DPI_RECLAIMED]++;
			s = &d->slot[d->old_head];
			dpi_finish(d, s->index, s->flow, 1);
		}
		if (d->free_head != FLOW_NIL) {
			n = d->free_head;
			d->free_head = d->slot[n].next;
		} else
			n = d->unused++;
		memset(r, 0, sizeof(*r));
		r->slot = n;
		s = &d->slot[n];
		memset(&s->fl, 0, sizeof(s->fl));
		s->mem = 0;
		s->active = 1;
		s->flow = f;
		s->index = i;
		s->next = FLOW_NIL;
		s->prev = d->old_tail;
		if (d->old_tail != FLOW_NIL)
			d->slot[d->old_tail].next = n;
		else
			d->old_head = n;
		d->old_tail = n;
		f->dpi = FLOW_DPI_ACTIVE;
		d->cnt[CC_DPI_FLOWS]++;
	}
	s = &d->slot[r->slot];
	d->cnt[CC_DPI_PACKETS]++;
	r->pkts++;
	dpi_charge = &s->mem;
	p = ndpi_detection_process_packet(d->mod, &s->fl, k->l3,
	    (unsigned short)(k->l3_cap > 65535 ? 65535 : k->l3_cap),
	    k->ts_usec / 1000);
	dpi_charge = NULL;
	if (sizeof(s->fl) + s->mem > d->cfg.flow_memory) {
		d->cnt[CC_DPI_MEMORY_LIMIT]++;
		dpi_finish(d, i, f, 1);
	} else if (p.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
		/* Done once the protocol and its name are known: what nDPI
		 * would dissect further (server certificates, HTTP and DNS
		 * responses) is not sent on, and costs a packet each. */
		if (r->pkts >= d->cfg.max_packets ||
		    !ndpi_extra_dissection_possible(d->mod, &s->fl) ||
		    dpi_known(p, &s->fl, k->proto))
			dpi_finish(d, i, f, 0);
	} else if (r->pkts >= d->cfg.max_packets) {
		d->cnt[CC_DPI_PACKET_LIMIT]++;
		dpi_finish(d, i, f, 1);
	}
}

void
dpi_flow_end(struct dpi *d, uint32_t i, struct flow *f)
{
	if (f->dpi == FLOW_DPI_ACTIVE)
		dpi_finish(d, i, f, 1);
}

void
dpi_export(struct dpi *d, uint32_t i, const struct flow *f,
    struct evp_flow *rec)
{
	const struct dpi_result *r = &d->res[i];
	struct evp_app *a = &rec->app;
	struct dpi_pname *pn;
	ndpi_protocol p;
	const char *cat;
	uint32_t key;

	memset(a, 0, sizeof(*a));
	if (f->dpi == FLOW_DPI_ACTIVE) {
		/* Still looking: what is known so far, if anything. */
		const struct ndpi_flow_struct *fl = &d->slot[r->slot].fl;

		p.master_protocol = fl->detected_protocol_stack[1];
		p.app_protocol = fl->detected_protocol_stack[0];
		p.category = fl->category;
		if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN &&
		    p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
			return;
	} else if (f->dpi == FLOW_DPI_DONE) {
		p.master_protocol = r->master;
		p.app_protocol = r->app;
		p.category = (ndpi_protocol_category_t)r->category;
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
	if (f->dpi != FLOW_DPI_DONE)
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
