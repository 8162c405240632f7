/*
 * Checked encode and decode of evflow records.  See evflow.h.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evflow.h"

/* 1 if the fixed array `s` of `n` bytes holds a NUL. */
static int
bounded(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int
bad(void)
{
	errno = EBADMSG;
	return -1;
}

int
evp_decode_hello(const void *buf, size_t len, struct evp_hello *h)
{
	if (len != sizeof(*h))
		return bad();
	memcpy(h, buf, sizeof(*h));
	if (!bounded(h->name, sizeof(h->name)) ||
	    !bounded(h->iface, sizeof(h->iface)) ||
	    h->role == 0 || h->role >= EVP_ROLE_MAX)
		return bad();
	return 0;
}

size_t
evp_flow_len(const struct evp_flow *f)
{
	size_t n = f->extra_len;

	if (n > EVP_EXTRA_MAX)
		n = EVP_EXTRA_MAX;
	return EVP_FLOW_FIXED_LEN + n;
}

/*
 * The compact wire form of a flow (see evflow.h): the network part up
 * to `side` as is; for each side a presence byte, then the process, the
 * parent (a numeric head and four strings each) and the container (a
 * kind byte and four strings) when present; with EVP_F_HAS_APP the
 * application block's eight strings; then extra_len and extra.
 * A string is a length byte and that many bytes, no NUL.
 */
#define FLOW_NET_LEN	offsetof(struct evp_flow, side)
#define PROC_HEAD_LEN	offsetof(struct evp_proc, uid_name)
#define SIDE_KNOWN	(EVP_SIDE_PROC | EVP_SIDE_PARENT | \
			    EVP_SIDE_CONTAINER | EVP_SIDE_LOCAL)

_Static_assert(EVP_PATH_LEN <= 256 && EVP_CMDLINE_LEN <= 256 &&
    EVP_USER_LEN <= 256 && EVP_CID_LEN <= 256 && EVP_CNAME_LEN <= 256 &&
    EVP_HOST_LEN <= 256 && EVP_APP_PROTO_LEN <= 256 &&
    EVP_APP_CAT_LEN <= 256 && EVP_FP_LEN <= 256,
    "string lengths fit a length byte");
_Static_assert(FLOW_NET_LEN + 2 * (1 + 2 * sizeof(struct evp_proc) +
    sizeof(struct evp_container)) + 8 + sizeof(struct evp_app) + 2 +
    EVP_EXTRA_MAX <=
    EVP_FLOW_WIRE_MAX, "worst-case encoding fits EVP_FLOW_WIRE_MAX");

static uint8_t *
put_str(uint8_t *p, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap - 1);

	assert(cap >= 1 && n <= UINT8_MAX);
	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static uint8_t *
put_proc(uint8_t *p, const struct evp_proc *pr)
{
	memcpy(p, pr, PROC_HEAD_LEN);
	p += PROC_HEAD_LEN;
	p = put_str(p, pr->uid_name, sizeof(pr->uid_name));
	p = put_str(p, pr->gid_name, sizeof(pr->gid_name));
	p = put_str(p, pr->path, sizeof(pr->path));
	return put_str(p, pr->cmdline, sizeof(pr->cmdline));
}

size_t
evp_flow_encode(const struct evp_flow *f, uint8_t *out)
{
	const struct evp_container *c;
	uint8_t *p = out;
	uint16_t extra = f->extra_len > EVP_EXTRA_MAX ? EVP_EXTRA_MAX :
	    f->extra_len;
	unsigned i;

	memcpy(p, f, FLOW_NET_LEN);
	p += FLOW_NET_LEN;
	for (i = 0; i < 2; i++) {
		const struct evp_side *s = &f->side[i];

		*p++ = (uint8_t)(s->present & SIDE_KNOWN);
		if (s->present & EVP_SIDE_PROC)
			p = put_proc(p, &s->proc);
		if (s->present & EVP_SIDE_PARENT)
			p = put_proc(p, &s->parent);
		if (s->present & EVP_SIDE_CONTAINER) {
			c = &s->container;
			*p++ = (uint8_t)c->kind;
			p = put_str(p, c->id, sizeof(c->id));
			p = put_str(p, c->name, sizeof(c->name));
			p = put_str(p, c->pod, sizeof(c->pod));
			p = put_str(p, c->ns, sizeof(c->ns));
		}
	}
	if (f->flags & EVP_F_HAS_APP) {
		const struct evp_app *a = &f->app;

		p = put_str(p, a->proto, sizeof(a->proto));
		p = put_str(p, a->category, sizeof(a->category));
		p = put_str(p, a->sni, sizeof(a->sni));
		p = put_str(p, a->ja3, sizeof(a->ja3));
		p = put_str(p, a->ja3s, sizeof(a->ja3s));
		p = put_str(p, a->ja4, sizeof(a->ja4));
		p = put_str(p, a->http_host, sizeof(a->http_host));
		p = put_str(p, a->dns_query, sizeof(a->dns_query));
	}
	memcpy(p, &extra, sizeof(extra));
	p += sizeof(extra);
	memcpy(p, f->extra, extra);
	return (size_t)(p - out) + extra;
}

struct rd {
	const uint8_t	*p;
	size_t		 left;
};

/* Reads n bytes into dst, or skips them if dst is NULL (a check). */
static int
rd_bytes(struct rd *r, void *dst, size_t n)
{
	if (r->left < n)
		return -1;
	if (dst != NULL)
		memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

/* Reads a length-prefixed string into dst[cap]: shorter than cap, no NUL.
 * With dst NULL it is only checked. */
static int
rd_str(struct rd *r, char *dst, size_t cap)
{
	uint8_t n;

	if (rd_bytes(r, &n, 1) == -1 || n >= cap || r->left < n ||
	    memchr(r->p, '\0', n) != NULL)
		return -1;
	if (dst != NULL) {
		memcpy(dst, r->p, n);
		dst[n] = '\0';
	}
	r->p += n;
	r->left -= n;
	return 0;
}

#define CAP(type, m)	sizeof(((type *)0)->m)
#define DST(p, m)	((p) != NULL ? (p)->m : NULL)

/* A process; with pr NULL only checked (so for every rd_ below). */
static int
rd_proc(struct rd *r, struct evp_proc *pr)
{
	return rd_bytes(r, pr, PROC_HEAD_LEN) == -1 ||
	    rd_str(r, DST(pr, uid_name), CAP(struct evp_proc, uid_name)) ==
	    -1 ||
	    rd_str(r, DST(pr, gid_name), CAP(struct evp_proc, gid_name)) ==
	    -1 ||
	    rd_str(r, DST(pr, path), CAP(struct evp_proc, path)) == -1 ||
	    rd_str(r, DST(pr, cmdline), CAP(struct evp_proc, cmdline)) ==
	    -1 ? -1 : 0;
}

static int
rd_side(struct rd *r, struct evp_side *s)
{
	struct evp_container *c = s != NULL ? &s->container : NULL;
	uint8_t present, kind;

	if (rd_bytes(r, &present, 1) == -1 || (present & ~SIDE_KNOWN) != 0)
		return -1;
	if (s != NULL)
		s->present = present;
	if ((present & EVP_SIDE_PROC) &&
	    rd_proc(r, s != NULL ? &s->proc : NULL) == -1)
		return -1;
	if ((present & EVP_SIDE_PARENT) &&
	    rd_proc(r, s != NULL ? &s->parent : NULL) == -1)
		return -1;
	if (present & EVP_SIDE_CONTAINER) {
		if (rd_bytes(r, &kind, 1) == -1 || kind > EVP_CONT_OTHER ||
		    rd_str(r, DST(c, id), CAP(struct evp_container, id)) ==
		    -1 ||
		    rd_str(r, DST(c, name), CAP(struct evp_container, name)) ==
		    -1 ||
		    rd_str(r, DST(c, pod), CAP(struct evp_container, pod)) ==
		    -1 ||
		    rd_str(r, DST(c, ns), CAP(struct evp_container, ns)) == -1)
			return -1;
		if (c != NULL)
			c->kind = kind;
	}
	return 0;
}

static int
rd_app(struct rd *r, struct evp_app *a)
{
	return rd_str(r, DST(a, proto), CAP(struct evp_app, proto)) == -1 ||
	    rd_str(r, DST(a, category), CAP(struct evp_app, category)) ==
	    -1 ||
	    rd_str(r, DST(a, sni), CAP(struct evp_app, sni)) == -1 ||
	    rd_str(r, DST(a, ja3), CAP(struct evp_app, ja3)) == -1 ||
	    rd_str(r, DST(a, ja3s), CAP(struct evp_app, ja3s)) == -1 ||
	    rd_str(r, DST(a, ja4), CAP(struct evp_app, ja4)) == -1 ||
	    rd_str(r, DST(a, http_host), CAP(struct evp_app, http_host)) ==
	    -1 ||
	    rd_str(r, DST(a, dns_query), CAP(struct evp_app, dns_query)) ==
	    -1 ? -1 : 0;
}

/*
 * The one reader of a flow's wire form.  With `all` it decodes every
 * part into f; without, it checks every part as strictly but copies only
 * the network part (the fields before `side`) and extra_len.
 */
static int
rd_flow(const void *buf, size_t len, struct evp_flow *f, int all)
{
	struct rd r = { .p = buf, .left = len };

	if (rd_bytes(&r, f, FLOW_NET_LEN) == -1 ||
	    rd_side(&r, all ? &f->side[0] : NULL) == -1 ||
	    rd_side(&r, all ? &f->side[1] : NULL) == -1 ||
	    ((f->flags & EVP_F_HAS_APP) &&
	    rd_app(&r, all ? &f->app : NULL) == -1) ||
	    rd_bytes(&r, &f->extra_len, sizeof(f->extra_len)) == -1 ||
	    f->extra_len > EVP_EXTRA_MAX || r.left != f->extra_len ||
	    memchr(r.p, '\0', f->extra_len) != NULL ||
	    rd_bytes(&r, all ? f->extra : NULL, f->extra_len) == -1)
		return bad();
	if (f->source == 0 || f->source >= EVP_SRC_MAX ||
	    f->event >= EVP_EV_MAX || f->tcp_state >= EVP_TCP_STATE_MAX ||
	    (f->ip_version != 4 && f->ip_version != 6) ||
	    !bounded(f->ifname, sizeof(f->ifname)))
		return bad();
	/* A checked decode leaves a record its users may index freely. */
	assert(f->extra_len <= EVP_EXTRA_MAX && r.left == 0);
	assert(evp_flow_len(f) <= sizeof(*f));
	return 0;
}

int
evp_decode_flow(const void *buf, size_t len, struct evp_flow *f)
{
	memset(f, 0, sizeof(*f));
	return rd_flow(buf, len, f, 1);
}

int
evp_flow_check(const void *buf, size_t len, struct evp_flow *head)
{
	return rd_flow(buf, len, head, 0);
}

void
evp_flow_set_dest(void *wire, uint32_t iface, uint64_t iface_mask)
{
	uint8_t *w = wire;

	memcpy(w + offsetof(struct evp_flow, iface), &iface, sizeof(iface));
	memcpy(w + offsetof(struct evp_flow, iface_mask), &iface_mask,
	    sizeof(iface_mask));
}

int
evp_decode_ifcounter(const void *buf, size_t len, struct evp_ifcounter *c)
{
	if (len != sizeof(*c))
		return bad();
	memcpy(c, buf, sizeof(*c));
	if (!bounded(c->if_name, sizeof(c->if_name)))
		return bad();
	return 0;
}

int
evp_decode_listen(const void *buf, size_t len, struct evp_listen *l)
{
	if (len != sizeof(*l))
		return bad();
	memcpy(l, buf, sizeof(*l));
	if (!bounded(l->proc, sizeof(l->proc)) ||
	    !bounded(l->pkg, sizeof(l->pkg)) ||
	    !bounded(l->host, sizeof(l->host)) ||
	    (l->ip_version != 4 && l->ip_version != 6))
		return bad();
	return 0;
}

int
evp_decode_producer(const void *buf, size_t len, struct evp_producer *p)
{
	if (len != sizeof(*p))
		return bad();
	memcpy(p, buf, sizeof(*p));
	if (!bounded(p->peer, sizeof(p->peer)) ||
	    !bounded(p->info, sizeof(p->info)))
		return bad();
	return 0;
}

int
evp_decode_stats(const void *buf, size_t len, struct evp_stats *s)
{
	unsigned i;

	if (len != sizeof(*s))
		return bad();
	memcpy(s, buf, sizeof(*s));
	if (s->count > EVP_STATS_MAX || s->role == 0 ||
	    s->role >= EVP_ROLE_MAX || !bounded(s->name, sizeof(s->name)))
		return bad();
	for (i = 0; i < s->count; i++)
		if (!bounded(s->key[i], sizeof(s->key[i])))
			return bad();
	return 0;
}

int
evp_decode_iface(const void *buf, size_t len, struct evp_iface *i)
{
	if (len != sizeof(*i))
		return bad();
	memcpy(i, buf, sizeof(*i));
	if (i->id >= EVP_MAX_IFACES ||
	    (i->kind != EVP_IFACE_ZMQ && i->kind != EVP_IFACE_PACKET) ||
	    i->companion > EVP_MAX_IFACES || i->flags > EVP_IFACE_F_CHANGED ||
	    !bounded(i->name, sizeof(i->name)))
		return bad();
	return 0;
}

int
evp_decode_hostname(const void *buf, size_t len, struct evp_hostname *h)
{
	if (len != sizeof(*h))
		return bad();
	memcpy(h, buf, sizeof(*h));
	if (!bounded(h->name, sizeof(h->name)) || h->name[0] == '\0' ||
	    h->source == 0 || h->source >= EVP_NAME_MAX ||
	    (h->ip_version != 4 && h->ip_version != 6))
		return bad();
	return 0;
}

int
evp_decode_origin(const void *buf, size_t len, struct evp_origin *o)
{
	if (len != sizeof(*o))
		return bad();
	memcpy(o, buf, sizeof(*o));
	if (o->sender == 0)	/* back to the link sender's own records */
		return o->seq || o->skip_from || o->held_from || o->flags ?
		    bad() : 0;
	if (o->seq == 0 || o->skip_from == 0 || o->skip_from > o->seq ||
	    o->held_from > o->seq)
		return bad();
	return 0;
}

int
evp_ack_open(const void *buf, size_t len, struct evp_ack_hdr *h)
{
	if (len < sizeof(*h))
		return bad();
	memcpy(h, buf, sizeof(*h));
	if (h->magic != EVP_ACK_MAGIC || h->version != EVP_VERSION ||
	    h->count > EVP_ACK_MAX ||
	    len != sizeof(*h) + (size_t)h->count * sizeof(struct evp_ack))
		return bad();
	return 0;
}

void
evp_ack_entry(const void *buf, unsigned i, struct evp_ack *e)
{
	memcpy(e, (const uint8_t *)buf + sizeof(struct evp_ack_hdr) +
	    (size_t)i * sizeof(*e), sizeof(*e));
}

static const char *
name_of(const char *const *names, unsigned n, unsigned v)
{
	if (v < n && names[v] != NULL)
		return names[v];
	return "unknown";
}

const char *
evp_type_name(unsigned t)
{
	static const char *const n[] = {
		[EVP_HELLO] = "hello", [EVP_FLOW] = "flow",
		[EVP_IFCOUNTER] = "ifcounter", [EVP_LISTEN] = "listen",
		[EVP_PRODUCER] = "producer", [EVP_STATS] = "stats",
		[EVP_IFACE] = "iface", [EVP_HOSTNAME] = "hostname",
		[EVP_ORIGIN] = "origin",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), t);
}

size_t
evp_iface_host_len(const char *name)
{
	size_t n = strcspn(name, ":");

	if (n == 0 || name[n] != ':' || name[n + 1] == '/' ||
	    name[n + 1] == '\0' || name[0] == '.')
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n ? n : 0;
}

const char *
evp_role_name(unsigned r)
{
	static const char *const n[] = {
		[EVP_ROLE_COLLECTOR] = "collector", [EVP_ROLE_CAPTURE] = "capture",
		[EVP_ROLE_ROUTER] = "router", [EVP_ROLE_STORE] = "store",
		[EVP_ROLE_WEBD] = "webd", [EVP_ROLE_TOOL] = "tool",
		[EVP_ROLE_RELAY] = "relay",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), r);
}

const char *
evp_event_name(unsigned e)
{
	static const char *const n[] = {
		[EVP_EV_NONE] = "", [EVP_EV_CONNECT] = "CONNECT",
		[EVP_EV_ACCEPT] = "ACCEPT", [EVP_EV_CLOSE] = "CLOSE",
		[EVP_EV_RETRANSMIT] = "RETRANSMIT",
		[EVP_EV_CONNECT_FAILED] = "CONNECT_FAILED",
		[EVP_EV_SEND] = "SEND", [EVP_EV_RECV] = "RECV",
		[EVP_EV_UPDATE] = "UPDATE", [EVP_EV_END] = "END",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), e);
}

const char *
evp_source_name(unsigned s)
{
	static const char *const n[] = {
		[EVP_SRC_EVENT] = "event", [EVP_SRC_NETSTAT] = "netstat",
		[EVP_SRC_NETFLOW] = "netflow", [EVP_SRC_PACKET] = "packet",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), s);
}

const char *
evp_tcp_state_name(unsigned s)
{
	static const char *const n[] = {
		[EVP_TCP_UNKNOWN] = "", [EVP_TCP_ESTABLISHED] = "ESTABLISHED",
		[EVP_TCP_SYN_SENT] = "SYN-SENT", [EVP_TCP_SYN_RECV] = "SYN-RECV",
		[EVP_TCP_FIN_WAIT1] = "FIN-WAIT-1",
		[EVP_TCP_FIN_WAIT2] = "FIN-WAIT-2",
		[EVP_TCP_TIME_WAIT] = "TIME-WAIT", [EVP_TCP_CLOSE] = "CLOSE",
		[EVP_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[EVP_TCP_LAST_ACK] = "LAST-ACK", [EVP_TCP_LISTEN] = "LISTEN",
		[EVP_TCP_CLOSING] = "CLOSING", [EVP_TCP_RESET] = "RESET",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), s);
}

const char *
evp_name_source_name(unsigned s)
{
	static const char *const n[] = {
		[EVP_NAME_DNS] = "dns", [EVP_NAME_SNI] = "sni",
		[EVP_NAME_HTTP] = "http",
	};
	return name_of(n, sizeof(n) / sizeof(n[0]), s);
}

int
evp_batch_open(struct evp_batch_iter *it, const void *buf, size_t len)
{
	memset(it, 0, sizeof(*it));
	if (len < sizeof(it->hdr))
		return bad();
	memcpy(&it->hdr, buf, sizeof(it->hdr));
	if (it->hdr.magic != EVP_MAGIC || it->hdr.version != EVP_VERSION ||
	    it->hdr.count > EVP_BATCH_MAX_RECORDS)
		return bad();
	it->buf = buf;
	it->len = len;
	it->off = sizeof(it->hdr);
	it->left = it->hdr.count;
	return 0;
}

int
evp_batch_next(struct evp_batch_iter *it, struct evp_rec_hdr *rh,
    const void **body)
{
	if (it->left == 0)
		return it->off == it->len ? 0 : bad();
	if (it->len - it->off < sizeof(*rh))
		return bad();
	memcpy(rh, it->buf + it->off, sizeof(*rh));
	it->off += sizeof(*rh);
	if (rh->len > it->len - it->off)
		return bad();
	*body = it->buf + it->off;
	it->off += rh->len;
	it->left--;
	assert(it->off <= it->len);
	return 1;
}

void
evp_batch_init(struct evp_batch *b, void *buf, uint64_t sender)
{
	struct evp_batch_hdr h = {
		.magic = EVP_MAGIC, .version = EVP_VERSION, .sender = sender,
	};

	b->buf = buf;
	memcpy(b->buf, &h, sizeof(h));
	b->len = sizeof(h);
	b->count = 0;
}

void
evp_batch_reset(struct evp_batch *b)
{
	b->len = sizeof(struct evp_batch_hdr);
	b->count = 0;
}

int
evp_batch_add(struct evp_batch *b, uint16_t type, uint64_t seq,
    const void *body, size_t len)
{
	struct evp_rec_hdr rh = {
		.type = type, .version = EVP_VERSION, .seq = seq,
	};
	uint16_t count;

	if (type != EVP_FLOW)
		return evp_batch_add_raw(b, type, seq, body, len);
	if (len < EVP_FLOW_FIXED_LEN ||
	    len != evp_flow_len((const struct evp_flow *)body)) {
		errno = EINVAL;
		return -1;
	}
	if (b->count >= EVP_BATCH_MAX_RECORDS || b->len + sizeof(rh) +
	    EVP_FLOW_WIRE_MAX > EVP_BATCH_MAX_BYTES) {
		errno = ENOBUFS;
		return -1;
	}
	rh.len = (uint32_t)evp_flow_encode(body, b->buf + b->len + sizeof(rh));
	memcpy(b->buf + b->len, &rh, sizeof(rh));
	b->len += sizeof(rh) + rh.len;
	b->count++;
	count = (uint16_t)b->count;
	memcpy(b->buf + offsetof(struct evp_batch_hdr, count), &count,
	    sizeof(count));
	return 0;
}

int
evp_batch_add_raw(struct evp_batch *b, uint16_t type, uint64_t seq,
    const void *body, size_t len)
{
	struct evp_rec_hdr rh = {
		.type = type, .version = EVP_VERSION, .len = (uint32_t)len,
		.seq = seq,
	};
	uint16_t count;

	if (len + sizeof(rh) + sizeof(struct evp_batch_hdr) >
	    EVP_BATCH_MAX_BYTES) {
		errno = EMSGSIZE;
		return -1;
	}
	if (b->count >= EVP_BATCH_MAX_RECORDS ||
	    b->len + sizeof(rh) + len > EVP_BATCH_MAX_BYTES) {
		errno = ENOBUFS;
		return -1;
	}
	memcpy(b->buf + b->len, &rh, sizeof(rh));
	memcpy(b->buf + b->len + sizeof(rh), body, len);
	b->len += sizeof(rh) + len;
	b->count++;
	assert(b->len <= EVP_BATCH_MAX_BYTES &&
	    b->count <= EVP_BATCH_MAX_RECORDS);
	count = (uint16_t)b->count;
	memcpy(b->buf + offsetof(struct evp_batch_hdr, count), &count,
	    sizeof(count));
	return 0;
}

void
evp_addr_from_v4(uint8_t a[16], uint32_t v4)
{
	memset(a, 0, 10);
	a[10] = 0xff;
	a[11] = 0xff;
	memcpy(a + 12, &v4, 4);
}

int
evp_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, pfx, 12) == 0;
}

int
evp_addr_is_loopback(const uint8_t a[16])
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (evp_addr_is_v4(a))
		return a[12] == 127;
	return memcmp(a, v6lo, 16) == 0;
}

const char *
evp_addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (evp_addr_is_v4(a)) {
		if (inet_ntop(AF_INET, a + 12, buf, (socklen_t)len) == NULL)
			snprintf(buf, len, "?");
	} else if (inet_ntop(AF_INET6, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
evp_addr_parse(const char *s, uint8_t a[16])
{
	uint32_t v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		evp_addr_from_v4(a, v4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, a) == 1)
		return evp_addr_is_v4(a) ? 4 : 6;
	return -1;
}
