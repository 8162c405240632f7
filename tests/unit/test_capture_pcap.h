/*
 * Helpers for the capture unit tests: build frames byte by byte, write
 * them to pcap files (a plain writer, so tests can also write broken
 * files), and run a file through the real source + flow table,
 * collecting the records the capture would send.
 */
#ifndef EVFLOW_TEST_CAPTURE_PCAP_H
#define EVFLOW_TEST_CAPTURE_PCAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10

/* A frame under construction. */
struct pb {
	uint8_t	b[4096];
	size_t	n;
};

static inline void
pb_put(struct pb *p, const void *v, size_t n)
{
	memcpy(p->b + p->n, v, n);
	p->n += n;
}

static inline void
pb_u8(struct pb *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static inline void
pb_u16(struct pb *p, unsigned v)
{
	pb_u8(p, v >> 8);
	pb_u8(p, v);
}

static inline void
pb_u32(struct pb *p, uint32_t v)
{
	pb_u16(p, v >> 16);
	pb_u16(p, v & 0xffff);
}

static inline void
pb_zero(struct pb *p, size_t n)
{
	memset(p->b + p->n, 0, n);
	p->n += n;
}

/* What an IP packet carries. */
struct tp {
	const char	*src, *dst;
	uint8_t		 proto;
	uint16_t	 sport, dport;
	uint8_t		 flags;		/* TCP */
	uint32_t	 seq;
	uint32_t	 payload;	/* L4 payload bytes (zeros) */
	uint16_t	 ipid;
	uint16_t	 fragoff;	/* 8-byte units */
	int		 mf;		/* more fragments */
	int		 no_l4;		/* later fragment: payload only */
	const uint8_t	*data;		/* payload bytes (else zeros) */
	const uint8_t	*ext;		/* IPv6 extension chain bytes */
	size_t		 extlen;
	uint8_t		 ext_nh;	/* next header of the v6 header */
	int		 icmp;		/* ICMP type + 1 (0: echo request 8) */
	uint8_t		 icmp_code;
};

/* Appends the L4 header (TCP 20 bytes, UDP 8, ICMP 8) and payload. */
static inline void
tp_l4(struct pb *p, const struct tp *t)
{
	if (!t->no_l4) {
		if (t->proto == 6) {
			pb_u16(p, t->sport);
			pb_u16(p, t->dport);
			pb_u32(p, t->seq);
			pb_u32(p, 0);
			pb_u8(p, 5 << 4);
			pb_u8(p, t->flags);
			pb_u16(p, 65535);
			pb_u32(p, 0);
		} else if (t->proto == 17) {
			pb_u16(p, t->sport);
			pb_u16(p, t->dport);
			pb_u16(p, 8 + t->payload);
			pb_u16(p, 0);
		} else if (t->proto == 1 || t->proto == 58) {
			pb_u8(p, t->icmp ? (uint8_t)(t->icmp - 1) : 8);
			pb_u8(p, t->icmp_code);
			pb_u16(p, 0);
			pb_u32(p, 1);
		}
	}
	if (t->data != NULL)
		pb_put(p, t->data, t->payload);
	else
		pb_zero(p, t->payload);
}

static inline size_t
tp_l4len(const struct tp *t)
{
	size_t h = 0;

	if (!t->no_l4)
		h = t->proto == 6 ? 20 : (t->proto == 17 || t->proto == 1 ||
		    t->proto == 58) ? 8 : 0;
	return h + t->payload;
}

/* Appends an IPv4 or IPv6 packet (by the address syntax). */
static inline void
tp_ip(struct pb *p, const struct tp *t)
{
	uint8_t a[16], b[16];
	int v = evp_addr_parse(t->src, a);

	(void)evp_addr_parse(t->dst, b);
	if (v == 4) {
		pb_u8(p, 0x45);
		pb_u8(p, 0);
		pb_u16(p, 20 + tp_l4len(t));
		pb_u16(p, t->ipid);
		pb_u16(p, (t->mf ? 0x2000 : 0) | t->fragoff);
		pb_u8(p, 64);
		pb_u8(p, t->proto);
		pb_u16(p, 0);
		pb_put(p, a + 12, 4);
		pb_put(p, b + 12, 4);
	} else {
		pb_u32(p, 0x60000000);
		pb_u16(p, t->extlen + tp_l4len(t));
		pb_u8(p, t->extlen ? t->ext_nh : t->proto);
		pb_u8(p, 64);
		pb_put(p, a, 16);
		pb_put(p, b, 16);
		if (t->extlen)
			pb_put(p, t->ext, t->extlen);
	}
	tp_l4(p, t);
}

static inline int
tp_is_v6(const struct tp *t)
{
	return strchr(t->src, ':') != NULL;
}

/* Ethernet frame with 0, 1 or 2 VLAN tags (outer first; 0 = none). */
static inline void
frame_eth(struct pb *p, const struct tp *t, uint16_t outer, uint16_t inner,
    uint16_t outer_tpid)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	p->n = 0;
	pb_put(p, mac, 12);
	if (outer) {
		pb_u16(p, outer_tpid);
		pb_u16(p, outer);
	}
	if (inner) {
		pb_u16(p, 0x8100);
		pb_u16(p, inner);
	}
	pb_u16(p, tp_is_v6(t) ? 0x86dd : 0x0800);
	tp_ip(p, t);
}

/* Linux cooked v1 (DLT_LINUX_SLL) frame. */
static inline void
frame_sll(struct pb *p, const struct tp *t)
{
	p->n = 0;
	pb_u16(p, 0);		/* packet type: to us */
	pb_u16(p, 1);		/* ARPHRD_ETHER */
	pb_u16(p, 6);
	pb_zero(p, 8);
	pb_u16(p, tp_is_v6(t) ? 0x86dd : 0x0800);
	tp_ip(p, t);
}

/* Linux cooked v2 (DLT_LINUX_SLL2) frame. */
static inline void
frame_sll2(struct pb *p, const struct tp *t)
{
	p->n = 0;
	pb_u16(p, tp_is_v6(t) ? 0x86dd : 0x0800);
	pb_u16(p, 0);
	pb_u32(p, 3);		/* if index */
	pb_u16(p, 1);
	pb_u8(p, 0);
	pb_u8(p, 6);
	pb_zero(p, 8);
	tp_ip(p, t);
}

/* Raw IP frame. */
static inline void
frame_raw(struct pb *p, const struct tp *t)
{
	p->n = 0;
	tp_ip(p, t);
}

/* BSD loopback: DLT_NULL (host order family) or DLT_LOOP (network). */
static inline void
frame_null(struct pb *p, const struct tp *t, int loop)
{
	uint32_t af = tp_is_v6(t) ? 30 : 2;

	p->n = 0;
	if (loop)
		pb_u32(p, af);
	else
		pb_put(p, &af, 4);
	tp_ip(p, t);
}

/* ---- pcap files ---- */

static inline FILE *
pw_open(const char *path, uint32_t linktype)
{
	FILE *fp = fopen(path, "wb");
	uint32_t h[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, linktype };

	if (fp != NULL)
		fwrite(h, sizeof(h), 1, fp);
	return fp;
}

static inline void
pw_rec(FILE *fp, uint64_t ts_usec, const void *frame, uint32_t caplen,
    uint32_t len)
{
	uint32_t h[4] = { (uint32_t)(ts_usec / 1000000),
	    (uint32_t)(ts_usec % 1000000), caplen, len };

	fwrite(h, sizeof(h), 1, fp);
	fwrite(frame, caplen, 1, fp);
}

static inline void
pw_pb(FILE *fp, uint64_t ts_usec, const struct pb *p)
{
	pw_rec(fp, ts_usec, p->b, (uint32_t)p->n, (uint32_t)p->n);
}

/* ---- running a file through the capture ---- */

#define RUN_MAX	128

struct run {
	struct evp_flow	 rec[RUN_MAX];
	enum flow_why	 why[RUN_MAX];
	unsigned	 n;
	struct evp_hostname name[RUN_MAX];	/* EVP_HOSTNAME records */
	unsigned	 nnames;
	struct flow_table *ft;		/* while running */
	struct dpi	*dpi;		/* ... with deep inspection */
	uint64_t	 cnt[CC_MAX];
	int		 read_rc;	/* last source_read: 0 EOF, -1 error */
	char		 err[512];
};

static inline void
run_emit(void *arg, const struct flow *f, enum flow_why why)
{
	struct run *r = arg;

	if (r->n < RUN_MAX) {
		flow_export(&r->rec[r->n], f, why);
		if (r->dpi != NULL)
			dpi_export(r->dpi, (uint32_t)(f - r->ft->flows), f,
			    &r->rec[r->n], why != FW_UPDATE);
		r->why[r->n++] = why;
	}
}

static inline void
run_name(void *arg, const struct evp_hostname *h)
{
	struct run *r = arg;

	if (r->nnames < RUN_MAX)
		r->name[r->nnames++] = *h;
}

static inline struct flow_cfg
run_cfg(void)
{
	struct flow_cfg c = { 1024, 60000000, 60000000, 2000000, 0 };

	return c;
}

/* Reads `path` to its end with the real source and flow table, then
 * flushes.  Returns the run (caller frees), or NULL if the file did not
 * open (reason in *err of a run that is still returned: check r->err). */
static inline struct run *
run_file_dpi(const char *path, const struct flow_cfg *cfg, const char *filter,
    const struct dpi_cfg *dc, uint32_t names_max)
{
	struct source_opts so = { .file = path, .filter = filter };
	struct run *r = calloc(1, sizeof(*r));
	struct names *names = NULL;
	struct source *s;
	struct flow_table *ft;
	int n;

	if (r == NULL)
		abort();
	if ((s = source_open_file(&so, r->err, sizeof(r->err))) == NULL) {
		r->read_rc = -2;
		return r;
	}
	if ((ft = flow_table_new(cfg, run_emit, r, r->cnt)) == NULL)
		abort();
	r->ft = ft;
	if (names_max != 0 && (names = names_new(names_max, run_name, r,
	    r->cnt)) == NULL)
		abort();
	if (dc != NULL && ((r->dpi = dpi_new(dc, r->cnt, names, r->err,
	    sizeof(r->err))) == NULL || dpi_start(r->dpi, r->err,
	    sizeof(r->err)) == -1))
		abort();
	ft->dpi = r->dpi;
	ft->names = names;
	if ((dc != NULL || names != NULL) && source_keep_payload(s) == -1)
		abort();
	s->ft = ft;
	s->cnt = r->cnt;
	while ((n = source_read(s, 7)) > 0)
		;
	r->read_rc = n;
	if (n == -1)
		snprintf(r->err, sizeof(r->err), "%s", s->err);
	flow_table_flush(ft);
	if (r->dpi != NULL)
		dpi_sync_counters(r->dpi);
	flow_table_free(ft);
	dpi_free(r->dpi);
	r->dpi = NULL;
	r->ft = NULL;
	names_free(names);
	source_free(s);
	return r;
}

static inline struct run *
run_file(const char *path, const struct flow_cfg *cfg, const char *filter)
{
	return run_file_dpi(path, cfg, filter, NULL, 0);
}

/* The record of the flow whose client port is `cport` and server port
 * `sport` (the last one if several), or NULL. */
static inline const struct evp_flow *
run_find(const struct run *r, uint16_t cport, uint16_t sport)
{
	const struct evp_flow *f = NULL;
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (r->rec[i].port[0] == cport && r->rec[i].port[1] == sport)
			f = &r->rec[i];
	return f;
}

#endif
