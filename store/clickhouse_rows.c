/*
 * RowBinary encoding of the ClickHouse tables' rows.  A flow row
 * carries its processes and containers inline, with exactly the
 * columns and values of SQLite's `flows` view (docs/schema.md): what a
 * query of either backend returns for a flow is the same, and
 * ClickHouse needs no join.  The process and container rows are
 * written to tables of their own as well, once per row number, as in
 * SQLite.
 *
 * RowBinary: integers and floats little-endian, a String as a LEB128
 * length and its bytes, Nullable(T) as one byte (1 = NULL) then T if
 * not NULL, FixedString(16) as 16 bytes, Date as UInt16 days.
 *
 * A row is written through a cursor (struct enc) into room reserved
 * once per row for its largest size: no bound check, call or NUL per
 * field (the encoder was ~150 buf_add() calls per flow row).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/community_id.h"
#include "../proto/evflow.h"
#include "clickhouse.h"
#include "store.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "RowBinary is little-endian: add byte swaps for this target"
#endif

#define PROC_COLS(s) \
	{ s "pid", "Nullable(UInt32)" }, { s "tid", "Nullable(UInt32)" }, \
	{ s "uid", "Nullable(UInt32)" }, { s "user", "Nullable(String)" }, \
	{ s "gid", "Nullable(UInt32)" }, { s "grp", "Nullable(String)" }, \
	{ s "process", "Nullable(String)" }, \
	{ s "cmdline", "Nullable(String)" }, \
	{ s "vm_size", "Nullable(UInt64)" }, \
	{ s "vm_peak", "Nullable(UInt64)" }, \
	{ s "parent_pid", "Nullable(UInt32)" }, \
	{ s "parent_uid", "Nullable(UInt32)" }, \
	{ s "parent_user", "Nullable(String)" }, \
	{ s "parent_process", "Nullable(String)" }, \
	{ s "parent_cmdline", "Nullable(String)" }, \
	{ s "container_kind", "Nullable(String)" }, \
	{ s "container_id", "Nullable(String)" }, \
	{ s "container_name", "Nullable(String)" }, \
	{ s "pod", "Nullable(String)" }, { s "namespace", "Nullable(String)" }

/* In the order of SQLite's `flows` view, then what only ClickHouse
 * has: the row references, binary addresses for CIDR filters, the
 * partition day (of first_seen) and the row's version. */
const struct ch_col ch_flow_cols[] = {
	{ "id", "UInt64" }, { "iface_id", "Int64" },
	{ "first_seen", "Float64" }, { "last_seen", "Float64" },
	{ "ip_version", "Nullable(UInt8)" }, { "protocol", "UInt8" },
	{ "vlan", "UInt16" }, { "cli_addr", "String" }, { "cli_port", "UInt16" },
	{ "srv_addr", "String" }, { "srv_port", "UInt16" },
	{ "source", "Nullable(String)" }, { "last_event", "Nullable(String)" },
	{ "tcp_state", "Nullable(String)" }, { "sides_guessed", "UInt8" },
	{ "events", "UInt32" }, { "updates", "UInt32" },
	{ "c2s_packets", "Nullable(UInt64)" }, { "c2s_bytes", "Nullable(UInt64)" },
	{ "s2c_packets", "Nullable(UInt64)" }, { "s2c_bytes", "Nullable(UInt64)" },
	{ "c2s_wire_bytes", "Nullable(UInt64)" },
	{ "s2c_wire_bytes", "Nullable(UInt64)" },
	{ "c2s_retrans", "Nullable(UInt32)" }, { "s2c_retrans", "Nullable(UInt32)" },
	{ "cli_tcp_flags", "Nullable(UInt8)" }, { "srv_tcp_flags", "Nullable(UInt8)" },
	{ "nw_latency_ms", "Nullable(Float64)" },
	{ "cli_latency_ms", "Nullable(Float64)" },
	{ "srv_latency_ms", "Nullable(Float64)" },
	{ "rtt_ms", "Nullable(Float64)" }, { "rtt_var_ms", "Nullable(Float64)" },
	{ "segs_in", "Nullable(UInt32)" }, { "segs_out", "Nullable(UInt32)" },
	{ "unack_segs", "Nullable(UInt32)" }, { "lost_packets", "Nullable(UInt32)" },
	{ "bytes_rcvd", "Nullable(UInt64)" }, { "bytes_acked", "Nullable(UInt64)" },
	{ "ifname", "Nullable(String)" }, { "exporter", "Nullable(String)" },
	{ "producer", "Nullable(UInt64)" },
	PROC_COLS("cli_"), PROC_COLS("srv_"),
	{ "extra", "Nullable(String)" },
	/* schema version 5's columns (the DPI ones in enum flow_app_field
	 * order: see ch_enc_flow()) */
	{ "community_id", "Nullable(String)" }, { "app_proto", "Nullable(String)" },
	{ "app_category", "Nullable(String)" }, { "tls_sni", "Nullable(String)" },
	{ "ja3", "Nullable(String)" }, { "ja3s", "Nullable(String)" },
	{ "ja4", "Nullable(String)" }, { "http_host", "Nullable(String)" },
	{ "dns_query", "Nullable(String)" },
	{ "cli_proc_id", "Nullable(Int64)" }, { "cli_parent_id", "Nullable(Int64)" },
	{ "cli_cont_id", "Nullable(Int64)" }, { "srv_proc_id", "Nullable(Int64)" },
	{ "srv_parent_id", "Nullable(Int64)" }, { "srv_cont_id", "Nullable(Int64)" },
	{ "cli_ip", "FixedString(16)" }, { "srv_ip", "FixedString(16)" },
	{ "day", "Date" }, { "ver", "UInt64" },
	{ NULL, NULL }
};

const struct ch_col ch_proc_cols[] = {
	{ "id", "Int64" }, { "pid", "UInt32" }, { "tid", "Nullable(UInt32)" },
	{ "uid", "UInt32" }, { "user", "Nullable(String)" }, { "gid", "UInt32" },
	{ "grp", "Nullable(String)" }, { "process", "Nullable(String)" },
	{ "cmdline", "Nullable(String)" }, { "vm_size", "Nullable(UInt64)" },
	{ "vm_peak", "Nullable(UInt64)" }, { "day", "Date" },
	{ NULL, NULL }
};

const struct ch_col ch_cont_cols[] = {
	{ "id", "Int64" }, { "kind", "Nullable(String)" },
	{ "container_id", "Nullable(String)" }, { "name", "Nullable(String)" },
	{ "pod", "Nullable(String)" }, { "namespace", "Nullable(String)" },
	{ "day", "Date" },
	{ NULL, NULL }
};

const struct ch_col ch_counter_cols[] = {
	{ "ts", "Float64" }, { "daemon", "String" }, { "role", "String" },
	{ "key", "String" }, { "value", "UInt64" }, { "day", "Date" },
	{ NULL, NULL }
};

static double
usec_sec(uint64_t u)
{
	return (double)(u / 1000000) + (double)(u % 1000000) / 1e6;
}

static int
nonzero16(const uint8_t *a)
{
	int i;

	for (i = 0; i < 16; i++)
		if (a[i])
			return 1;
	return 0;
}

/* A cursor into a buffer's reserved room. */
struct enc {
	unsigned char	*p;
};

/*
 * Room for `max` more bytes in b (and its NUL), the cursor at its end.
 * -1 if memory ran out (b is marked failed, as buf_add() would).
 */
static int
enc_begin(struct buf *b, size_t max, struct enc *e)
{
	size_t cap;
	char *np;

	if (b->failed)
		return -1;
	if (b->len + max + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + max + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	e->p = (unsigned char *)b->p + b->len;
	return 0;
}

static void
enc_end(struct buf *b, const struct enc *e)
{
	b->len = (size_t)((char *)e->p - b->p);
	if (b->len >= b->cap)
		abort();	/* a row past its bound: a bug here */
	b->p[b->len] = '\0';
}

static inline void
put_raw(struct enc *b, const void *p, size_t n)
{
	memcpy(b->p, p, n);
	b->p += n;
}

#define PUT(b, type, v) do { type v_ = (type)(v); memcpy((b)->p, &v_, \
	sizeof(v_)); (b)->p += sizeof(v_); } while (0)

static inline void
put_null(struct enc *b)
{
	*b->p++ = 1;
}

static inline void
put_notnull(struct enc *b)
{
	*b->p++ = 0;
}

static inline void
put_len(struct enc *b, size_t n)
{
	do {
		*b->p = (unsigned char)(n & 0x7f);
		n >>= 7;
		if (n != 0)
			*b->p |= 0x80;
		b->p++;
	} while (n != 0);
}

static inline void
put_text(struct enc *b, const char *p, size_t n)
{
	put_len(b, n);
	put_raw(b, p, n);
}

/* A bounded string as Nullable(String): NULL if empty (as bind_str). */
static void
put_nstr(struct enc *b, const char *p, size_t max)
{
	size_t n = p ? strnlen(p, max) : 0;

	if (n == 0)
		put_null(b);
	else {
		put_notnull(b);
		put_text(b, p, n);
	}
}

/* Nullable integers: NULL when !known. */
#define PUT_N(b, type, known, v) do { if (known) { put_notnull(b); \
	PUT(b, type, v); } else put_null(b); } while (0)

static void
put_ms(struct enc *b, uint32_t us)
{
	PUT_N(b, double, us != 0, us / 1000.0);
}

static uint16_t
day_of(double t)
{
	return t > 0 ? (uint16_t)((uint64_t)t / 86400) : 0;
}

/* Formats an address as flow_rows.c does (inet_ntop's text). */
static void
put_addr(struct enc *b, const uint8_t a[16])
{
	char s[64];

	evp_addr_str(a, s, sizeof(s));
	put_text(b, s, strlen(s));
}

static const char *
cont_kind(uint32_t k)
{
	switch (k) {
	case EVP_CONT_DOCKER:
		return "docker";
	case EVP_CONT_K8S:
		return "k8s";
	case EVP_CONT_OTHER:
		return "other";
	default:
		return NULL;
	}
}

/* The 20 inline columns of one side (PROC_COLS). */
static void
put_side(struct enc *b, const struct flow_row *w, int s)
{
	const struct evp_proc *p = w->ref[s][REF_PROC] ? w->proc[s] : NULL;
	const struct evp_proc *pp = w->ref[s][REF_PARENT] ? w->parent[s] :
	    NULL;
	const struct evp_container *c = w->ref[s][REF_CONT] ? w->cont[s] :
	    NULL;
	const char *k;
	int i;

	if (p != NULL) {
		PUT_N(b, uint32_t, 1, p->pid);
		PUT_N(b, uint32_t, p->tid != 0, p->tid);
		PUT_N(b, uint32_t, 1, p->uid);
		put_nstr(b, p->uid_name, sizeof(p->uid_name));
		PUT_N(b, uint32_t, 1, p->gid);
		put_nstr(b, p->gid_name, sizeof(p->gid_name));
		put_nstr(b, p->path, sizeof(p->path));
		put_nstr(b, p->cmdline, sizeof(p->cmdline));
		PUT_N(b, uint64_t, p->vm_size != 0, p->vm_size);
		PUT_N(b, uint64_t, p->vm_peak != 0, p->vm_peak);
	} else
		for (i = 0; i < 10; i++)
			put_null(b);
	if (pp != NULL) {
		PUT_N(b, uint32_t, 1, pp->pid);
		PUT_N(b, uint32_t, 1, pp->uid);
		put_nstr(b, pp->uid_name, sizeof(pp->uid_name));
		put_nstr(b, pp->path, sizeof(pp->path));
		put_nstr(b, pp->cmdline, sizeof(pp->cmdline));
	} else
		for (i = 0; i < 5; i++)
			put_null(b);
	if (c != NULL) {
		k = cont_kind(c->kind);
		put_nstr(b, k, 16);
		put_nstr(b, c->id, sizeof(c->id));
		put_nstr(b, c->name, sizeof(c->name));
		put_nstr(b, c->pod, sizeof(c->pod));
		put_nstr(b, c->ns, sizeof(c->ns));
	} else
		for (i = 0; i < 5; i++)
			put_null(b);
}

size_t
ch_flow_row_max(void)
{
	/* Fixed columns, then the strings: two sides of a process, its
	 * parent and a container, the interface name, the exporter, extra,
	 * the Community ID and the DPI fields, each with a length and a
	 * null byte; 1024 bytes of margin besides (the encoder writes
	 * without a check per field). */
	return 1024 + 512 + 2 * (2 * sizeof(struct evp_proc) +
	    sizeof(struct evp_container) + 20 * 12) +
	    EVP_IFNAME_LEN + 64 + EVP_EXTRA_MAX + 64 + FLOW_APP_PACKED_MAX +
	    FAPP_MAX * 11;
}

void
ch_enc_flow(struct buf *out, const struct flow_row *w, uint64_t ver)
{
	struct enc e, *b = &e;
	const struct flow *f = &w->f;
	const struct flow_meta *m = w->meta;
	const struct flow_tcpinfo *t = w->has_tcpi ? &w->tcpi : NULL;
	const char *src;
	char cid[COMMUNITY_ID_LEN + 1];
	double first = usec_sec(f->first_usec);
	int c = f->cli, cnt = (f->flags & FL_COUNTERS) != 0, s, j;

	if (enc_begin(out, ch_flow_row_max(), &e) == -1)
		return;
	PUT(b, uint64_t, f->id);
	PUT(b, int64_t, w->iface_id);
	PUT(b, double, first);
	PUT(b, double, usec_sec(f->last_usec));
	PUT_N(b, uint8_t, f->ip_version != 0, f->ip_version);
	PUT(b, uint8_t, f->key.proto);
	PUT(b, uint16_t, f->key.vlan);
	put_addr(b, f->key.addr[c]);
	PUT(b, uint16_t, f->key.port[c]);
	put_addr(b, f->key.addr[!c]);
	PUT(b, uint16_t, f->key.port[!c]);
	src = (f->flags & FL_JOINED) ? "joined" : evp_source_name(f->source);
	put_nstr(b, src, 32);
	put_nstr(b, evp_event_name(f->last_event), 32);
	put_nstr(b, evp_tcp_state_name(f->tcp_state), 32);
	PUT(b, uint8_t, f->orient == ORIENT_GUESSED);
	PUT(b, uint32_t, f->events);
	PUT(b, uint32_t, f->updates);
	PUT_N(b, uint64_t, cnt, f->pkts[0]);
	PUT_N(b, uint64_t, cnt, f->bytes[0]);
	PUT_N(b, uint64_t, cnt, f->pkts[1]);
	PUT_N(b, uint64_t, cnt, f->bytes[1]);
	PUT_N(b, uint64_t, f->flags & FL_WIRE, f->wire[0]);
	PUT_N(b, uint64_t, f->flags & FL_WIRE, f->wire[1]);
	PUT_N(b, uint32_t, f->flags & FL_RETRANS, f->retrans[0]);
	PUT_N(b, uint32_t, f->flags & FL_RETRANS, f->retrans[1]);
	PUT_N(b, uint8_t, f->flags & FL_TCPFLAGS, f->tcp_flags[0]);
	PUT_N(b, uint8_t, f->flags & FL_TCPFLAGS, f->tcp_flags[1]);
	put_ms(b, f->nw_lat_us);
	put_ms(b, f->cli_lat_us);
	put_ms(b, f->srv_lat_us);
	if (t != NULL) {
		put_ms(b, t->rtt_us);
		put_ms(b, t->rtt_var_us);
		PUT_N(b, uint32_t, 1, t->segs_in);
		PUT_N(b, uint32_t, 1, t->segs_out);
		PUT_N(b, uint32_t, 1, t->unack_segs);
		PUT_N(b, uint32_t, 1, t->lost_pkts);
		PUT_N(b, uint64_t, 1, t->rcvd_sum);
		PUT_N(b, uint64_t, 1, t->acked_sum);
	} else
		for (j = 0; j < 8; j++)
			put_null(b);
	if (m != NULL) {
		char a[64];

		put_nstr(b, m->ifname, sizeof(m->ifname));
		if (nonzero16(m->exporter)) {
			evp_addr_str(m->exporter, a, sizeof(a));
			put_nstr(b, a, sizeof(a));
		} else
			put_null(b);
		PUT_N(b, uint64_t, m->producer != 0, m->producer);
	} else
		for (j = 0; j < 3; j++)
			put_null(b);
	put_side(b, w, 0);
	put_side(b, w, 1);
	if (m != NULL && m->extra_len > 0) {
		put_notnull(b);
		put_text(b, m->extra, m->extra_len);
	} else
		put_null(b);
	put_nstr(b, flow_row_community_id(cid, f, m), sizeof(cid));
	/* What the capture's DPI named (the flow's meta), in the columns'
	 * order, which is enum flow_app_field's. */
	for (j = 0; j < FAPP_MAX; j++) {
		size_t n;
		const char *p = flow_meta_app(m, (enum flow_app_field)j, &n);

		put_nstr(b, p, n);
	}
	for (s = 0; s < 2; s++)
		for (j = 0; j < REF_MAX; j++)
			PUT_N(b, int64_t, w->ref[s][j] != 0, w->ref[s][j]);
	put_raw(b, f->key.addr[c], 16);
	put_raw(b, f->key.addr[!c], 16);
	PUT(b, uint16_t, day_of(first));
	PUT(b, uint64_t, ver);
	enc_end(out, &e);
}

void
ch_enc_proc(struct buf *out, int64_t id, const void *v)
{
	const struct evp_proc *p = v;
	struct enc e, *b = &e;

	/* the fixed columns, null bytes and lengths, then the strings */
	if (enc_begin(out, 128 + sizeof(*p), &e) == -1)
		return;
	PUT(b, int64_t, id);
	PUT(b, uint32_t, p->pid);
	PUT_N(b, uint32_t, p->tid != 0, p->tid);
	PUT(b, uint32_t, p->uid);
	put_nstr(b, p->uid_name, sizeof(p->uid_name));
	PUT(b, uint32_t, p->gid);
	put_nstr(b, p->gid_name, sizeof(p->gid_name));
	put_nstr(b, p->path, sizeof(p->path));
	put_nstr(b, p->cmdline, sizeof(p->cmdline));
	PUT_N(b, uint64_t, p->vm_size != 0, p->vm_size);
	PUT_N(b, uint64_t, p->vm_peak != 0, p->vm_peak);
	PUT(b, uint16_t, day_of(usec_sec(clock_wall_usec())));
	enc_end(out, &e);
}

void
ch_enc_cont(struct buf *out, int64_t id, const void *v)
{
	const struct evp_container *c = v;
	struct enc e, *b = &e;

	if (enc_begin(out, 128 + sizeof(*c), &e) == -1)
		return;
	PUT(b, int64_t, id);
	put_nstr(b, cont_kind(c->kind), 16);
	put_nstr(b, c->id, sizeof(c->id));
	put_nstr(b, c->name, sizeof(c->name));
	put_nstr(b, c->pod, sizeof(c->pod));
	put_nstr(b, c->ns, sizeof(c->ns));
	PUT(b, uint16_t, day_of(usec_sec(clock_wall_usec())));
	enc_end(out, &e);
}

void
ch_enc_counter(struct buf *out, const char *daemon, const char *role,
    const char *key, uint64_t value, double ts)
{
	size_t nd = strlen(daemon), nr = strlen(role), nk = strlen(key);
	struct enc e, *b = &e;

	if (enc_begin(out, 64 + nd + nr + nk, &e) == -1)
		return;
	PUT(b, double, ts);
	put_text(b, daemon, nd);
	put_text(b, role, nr);
	put_text(b, key, nk);
	PUT(b, uint64_t, value);
	PUT(b, uint16_t, day_of(ts));
	enc_end(out, &e);
}
