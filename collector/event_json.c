/*
 * JSON payloads -> evflow records: the three dialects of topic `flow`
 * (libebpfflow, nprobe_mini/Agent with netstat updates, NetFlow numeric
 * keys), and the entry points.  The other topics are in event_topics.c,
 * bounded text and typed values in json_text.c.  See
 * docs/wire.md and collector.h.
 *
 * One pass over each object's members: a hashed key table maps every
 * name (and its NetFlow number) to a slot; unknown members go straight
 * into the record's bounded `extra` object.  Records are scratch structs
 * in struct ej, reused for every event.  cJSON allocates from an arena
 * rewound after each payload, so parsing costs no malloc per node.
 *
 * Decisions: invalid UTF-8 in a string is replaced by '?' and counted
 * (the event is kept); a key field (address, port, protocol, event type)
 * of the wrong type or out of range drops the event; any other field of
 * the wrong type is ignored and counted.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/log.h"
#include "collector.h"
#include "event_json.h"

/* ---- cJSON arena ---- */

/*
 * cJSON's hooks are process-wide; the collector parses one payload at a
 * time, so one arena serves it.  Nodes beyond the arena fall back to
 * malloc (huge payloads); free() ignores arena pointers and the arena is
 * rewound once the tree of a payload is done with (deleted only if a
 * node of it came from malloc).
 */
#define EJ_ARENA_SIZE	(1024 * 1024)	/* bytes */

static struct {
	size_t		used;
	int		spilled;	/* a node of this payload is malloc's */
	_Alignas(16) unsigned char mem[EJ_ARENA_SIZE];
} ej_arena;

/* Under ASan, rewound arena memory is poisoned so that a node used
 * after its payload is caught as it would be with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define EJ_ARENA_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EJ_ARENA_ASAN	1
#endif
#endif
#ifdef EJ_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n)	((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

/* Forgets every node of the last payload. */
static void
arena_rewind(void)
{
	ARENA_POISON(ej_arena.mem, ej_arena.used);
	ej_arena.used = 0;
	ej_arena.spilled = 0;
}

static void *
arena_malloc(size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;

	if (need >= n && need <= EJ_ARENA_SIZE - ej_arena.used) {
		void *p = ej_arena.mem + ej_arena.used;

		ej_arena.used += need;
		ARENA_UNPOISON(p, n);
		return p;
	}
	ej_arena.spilled = 1;
	return malloc(n);
}

static void
arena_free(void *p)
{
	unsigned char *c = p;

	if (c >= ej_arena.mem && c < ej_arena.mem + EJ_ARENA_SIZE)
		return;
	free(p);
}

/* ---- keys ---- */


struct ek_def {
	const char	*name;
	unsigned char	 id;
	unsigned char	 scope;
};

/* Names and NetFlow field numbers are interchangeable. */
static const struct ek_def ek_defs[] = {
	{ "timestamp", K_TIMESTAMP, S_TOP | S_CTR },
	{ "INTERFACE_NAME", K_INTERFACE_NAME, S_TOP },
	{ "IF_NAME", K_IF_NAME, S_TOP },
	{ "IP_PROTOCOL_VERSION", K_IP_VERSION, S_TOP },
	{ "60", K_IP_VERSION, S_TOP },
	{ "TCP_EVENT_TYPE", K_TCP_EVENT, S_TOP },
	{ "UDP_EVENT_TYPE", K_UDP_EVENT, S_TOP },
	{ "IPV4_SRC_ADDR", K_V4_SRC, S_TOP }, { "8", K_V4_SRC, S_TOP },
	{ "IPV4_DST_ADDR", K_V4_DST, S_TOP }, { "12", K_V4_DST, S_TOP },
	{ "IPV6_SRC_ADDR", K_V6_SRC, S_TOP }, { "27", K_V6_SRC, S_TOP },
	{ "IPV6_DST_ADDR", K_V6_DST, S_TOP }, { "28", K_V6_DST, S_TOP },
	{ "PROTOCOL", K_PROTOCOL, S_TOP }, { "4", K_PROTOCOL, S_TOP },
	{ "L4_SRC_PORT", K_SRC_PORT, S_TOP }, { "7", K_SRC_PORT, S_TOP },
	{ "L4_DST_PORT", K_DST_PORT, S_TOP }, { "11", K_DST_PORT, S_TOP },
	{ "NW_LATENCY_MS", K_NW_LATENCY, S_TOP },
	{ "RETRAN_PKTS", K_RETRAN, S_TOP | S_TCP },
	{ "LOCAL_PROCESS", K_LOCAL_PROC, S_TOP },
	{ "LOCAL_FATHER_PROCESS", K_LOCAL_FATHER, S_TOP },
	{ "LOCAL_CONTAINER", K_LOCAL_CONTAINER, S_TOP },
	{ "REMOTE_PROCESS", K_REMOTE_PROC, S_TOP },
	{ "REMOTE_FATHER_PROCESS", K_REMOTE_FATHER, S_TOP },
	{ "REMOTE_CONTAINER", K_REMOTE_CONTAINER, S_TOP },
	{ "IPV4_LOCAL_ADDR", K_V4_LOCAL, S_TOP },
	{ "IPV4_REMOTE_ADDR", K_V4_REMOTE, S_TOP },
	{ "IPV6_LOCAL_ADDR", K_V6_LOCAL, S_TOP },
	{ "IPV6_REMOTE_ADDR", K_V6_REMOTE, S_TOP },
	{ "L4_LOCAL_PORT", K_LOCAL_PORT, S_TOP },
	{ "L4_REMOTE_PORT", K_REMOTE_PORT, S_TOP },
	{ "EXPORTER_IPV4_ADDRESS", K_EXPORTER, S_TOP },
	{ "130", K_EXPORTER, S_TOP },
	{ "TCP", K_TCP, S_TOP },
	{ "IN_BYTES", K_IN_BYTES, S_TOP }, { "1", K_IN_BYTES, S_TOP },
	{ "IN_PKTS", K_IN_PKTS, S_TOP }, { "2", K_IN_PKTS, S_TOP },
	{ "OUT_BYTES", K_OUT_BYTES, S_TOP }, { "23", K_OUT_BYTES, S_TOP },
	{ "OUT_PKTS", K_OUT_PKTS, S_TOP }, { "24", K_OUT_PKTS, S_TOP },
	{ "FIRST_SWITCHED", K_FIRST, S_TOP }, { "22", K_FIRST, S_TOP },
	{ "LAST_SWITCHED", K_LAST, S_TOP }, { "21", K_LAST, S_TOP },
	{ "TCP_FLAGS", K_TCP_FLAGS, S_TOP }, { "6", K_TCP_FLAGS, S_TOP },
	{ "SRC_VLAN", K_SRC_VLAN, S_TOP }, { "58", K_SRC_VLAN, S_TOP },
	{ "SYSTEM_INIT_TIME_MILLISECONDS", K_SYS_INIT, S_TOP },
	{ "160", K_SYS_INIT, S_TOP },
	{ "PID", K_PID, S_PROC }, { "TID", K_TID, S_PROC },
	{ "UID", K_UID, S_PROC }, { "GID", K_GID, S_PROC },
	{ "UID_NAME", K_UID_NAME, S_PROC }, { "GID_NAME", K_GID_NAME, S_PROC },
	{ "PROCESS_PATH", K_PATH, S_PROC },
	{ "PROCESS_CMDLINE", K_CMDLINE, S_PROC },
	{ "VM_SIZE", K_VM_SIZE, S_PROC }, { "VM_PEAK", K_VM_PEAK, S_PROC },
	{ "DOCKER", K_DOCKER, S_CONT }, { "K8S", K_K8S, S_CONT },
	{ "ID", K_ID, S_CONT }, { "NAME", K_NAME, S_CONT },
	{ "POD", K_POD, S_CONT }, { "NS", K_NS, S_CONT },
	{ "CONN_STATE", K_CONN_STATE, S_TCP },
	{ "SEGS_IN", K_SEGS_IN, S_TCP }, { "SEGS_OUT", K_SEGS_OUT, S_TCP },
	{ "UNACK_SEGMENTS", K_UNACK, S_TCP },
	{ "LOST_PKTS", K_LOST, S_TCP }, { "RTT", K_RTT, S_TCP },
	{ "RTT_VARIANCE", K_RTT_VAR, S_TCP },
	{ "BYTES_RCVD", K_BYTES_RCVD, S_TCP },
	{ "BYTES_ACKED", K_BYTES_ACKED, S_TCP },
	{ "deviceIP", K_DEVICE_IP, S_CTR }, { "ifIndex", K_IF_INDEX, S_CTR },
	{ "ifName", K_IFC_NAME, S_CTR }, { "ifType", K_IF_TYPE, S_CTR },
	{ "ifSpeed", K_IF_SPEED, S_CTR },
	{ "ifDirection", K_IF_DIRECTION, S_CTR },
	{ "ifAdminStatus", K_IF_ADMIN, S_CTR },
	{ "ifOperStatus", K_IF_OPER, S_CTR },
	{ "ifInOctets", K_IN_OCTETS, S_CTR },
	{ "ifInPackets", K_IN_PACKETS, S_CTR },
	{ "ifInErrors", K_IN_ERRORS, S_CTR },
	{ "ifOutOctets", K_OUT_OCTETS, S_CTR },
	{ "ifOutPackets", K_OUT_PACKETS, S_CTR },
	{ "ifOutErrors", K_OUT_ERRORS, S_CTR },
	{ "ifPromiscuousMode", K_PROMISC, S_CTR },
	{ "samplesGenerated", K_SAMPLES, S_CTR },
};

#define EK_NDEFS	(sizeof(ek_defs) / sizeof(ek_defs[0]))
#define EK_HASH_BITS	9
#define EK_HASH_SIZE	(1u << EK_HASH_BITS)	/* slots, > 2 * EK_NDEFS */

/* Open addressing; each slot keeps the name's full hash and length, so
 * a probe compares bytes only for the name it is about to return. */
static struct {
	short		 def;	/* index + 1 into ek_defs, 0 = free */
	unsigned char	 len;
	uint32_t	 h;
} ek_hash[EK_HASH_SIZE];
static int ek_ready;

/* A hash of `s` (a rotate and an XOR per byte, one multiply at the
 * end) and its length. */
static uint32_t
ek_hash_name(const char *s, size_t *lenp)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t h = 0;

	for (; *p != '\0'; p++)
		h = (h << 5 | h >> 27) ^ *p;
	*lenp = (size_t)(p - (const unsigned char *)s);
	return (h ^ (uint32_t)*lenp) * 0x9e3779b1u;
}

static void
ek_build(void)
{
	size_t i, len;
	uint32_t h, j;

	if (ek_ready)
		return;
	for (i = 0; i < EK_NDEFS; i++) {
		h = ek_hash_name(ek_defs[i].name, &len);
		for (j = h >> (32 - EK_HASH_BITS); ek_hash[j].def != 0;
		    j = (j + 1) & (EK_HASH_SIZE - 1))
			;
		ek_hash[j].def = (short)(i + 1);
		ek_hash[j].len = (unsigned char)len;
		ek_hash[j].h = h;
	}
	ek_ready = 1;
}

/* The key id of `name` in `scope`, or K_NONE. */
enum ek
ej_key(const char *name, unsigned scope)
{
	const struct ek_def *d;
	size_t len;
	uint32_t h = ek_hash_name(name, &len), j;

	for (j = h >> (32 - EK_HASH_BITS); ek_hash[j].def != 0;
	    j = (j + 1) & (EK_HASH_SIZE - 1)) {
		if (ek_hash[j].h != h || ek_hash[j].len != len)
			continue;
		d = &ek_defs[ek_hash[j].def - 1];
		if (memcmp(d->name, name, len) == 0)
			return (d->scope & scope) ? (enum ek)d->id : K_NONE;
	}
	return K_NONE;
}

/* ---- flow events ---- */

struct ev_name {
	const char	*name;
	unsigned char	 v;
};

static const struct ev_name ev_names[] = {
	{ "CONNECT", EVP_EV_CONNECT }, { "ACCEPT", EVP_EV_ACCEPT },
	{ "CLOSE", EVP_EV_CLOSE }, { "RETRANSMIT", EVP_EV_RETRANSMIT },
	{ "CONNECT_FAILED", EVP_EV_CONNECT_FAILED },
	{ "SEND", EVP_EV_SEND }, { "RECV", EVP_EV_RECV },
	{ NULL, 0 }
};

static const struct ev_name tcp_states[] = {
	{ "ESTABLISHED", EVP_TCP_ESTABLISHED }, { "SYN-SENT", EVP_TCP_SYN_SENT },
	{ "SYN-RECV", EVP_TCP_SYN_RECV }, { "FIN-WAIT-1", EVP_TCP_FIN_WAIT1 },
	{ "FIN-WAIT-2", EVP_TCP_FIN_WAIT2 }, { "TIME-WAIT", EVP_TCP_TIME_WAIT },
	{ "CLOSE", EVP_TCP_CLOSE }, { "CLOSE-WAIT", EVP_TCP_CLOSE_WAIT },
	{ "LAST-ACK", EVP_TCP_LAST_ACK }, { "LISTEN", EVP_TCP_LISTEN },
	{ "CLOSING", EVP_TCP_CLOSING },
	{ NULL, 0 }
};

/* Compares names treating '-' and '_' alike (SYN-SENT, SYN_SENT). */
static int
name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') &&
		    (*b == '-' || *b == '_')))
			return 0;
	return *a == *b;
}

/* The value of `s` in table `t`, or -1. */
static int
name_lookup(const struct ev_name *t, const char *s)
{
	for (; t->name != NULL; t++)
		if (name_eq(t->name, s))
			return t->v;
	return -1;
}

static void
note_str(struct ej *ej, int r, uint16_t *flags)
{
	if (r & JT_STR_TRUNCATED) {
		ej->ctr[C_STRINGS_TRUNCATED]++;
		if (flags != NULL)
			*flags |= EVP_F_TRUNCATED;
	}
	if (r & JT_STR_BAD_UTF8)
		ej->ctr[C_STRINGS_BAD_UTF8]++;
}

/* Copies string `v` into a bounded field; a non-string is a wrong field. */
void
ej_set_str(struct ej *ej, char *dst, size_t cap, const cJSON *v, uint16_t *flags)
{
	if (!cJSON_IsString(v)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return;
	}
	note_str(ej, jt_strlcpy(dst, v->valuestring, cap), flags);
}

void
ej_set_u32(struct ej *ej, uint32_t *dst, const cJSON *v)
{
	uint64_t u;

	if (jt_uint(v, UINT32_MAX, &u) == -1)
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
	else
		*dst = (uint32_t)u;
}

void
ej_set_u64(struct ej *ej, uint64_t *dst, const cJSON *v)
{
	uint64_t u;

	if (jt_uint(v, UINT64_MAX, &u) == -1)
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
	else
		*dst = u;
}

/* Milliseconds (double) -> microseconds, saturating. */
static void
set_ms_us(struct ej *ej, uint32_t *dst, const cJSON *v)
{
	double d;

	if (jt_double(v, &d) == -1 || d < 0) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return;
	}
	d = d * 1000.0 + 0.5;
	*dst = d >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Fills a process from LOCAL_PROCESS-like object `o`.  0 or -1. */
static int
parse_proc(struct ej *ej, struct evp_proc *p, const cJSON *o, uint16_t *flags)
{
	const cJSON *c;

	if (!cJSON_IsObject(o)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return -1;
	}
	for (c = o->child; c != NULL; c = c->next) {
		switch (ej_key(c->string, S_PROC)) {
		case K_PID: ej_set_u32(ej, &p->pid, c); break;
		case K_TID: ej_set_u32(ej, &p->tid, c); break;
		case K_UID: ej_set_u32(ej, &p->uid, c); break;
		case K_GID: ej_set_u32(ej, &p->gid, c); break;
		case K_UID_NAME:
			ej_set_str(ej, p->uid_name, sizeof(p->uid_name), c, flags);
			break;
		case K_GID_NAME:
			ej_set_str(ej, p->gid_name, sizeof(p->gid_name), c, flags);
			break;
		case K_PATH:
			ej_set_str(ej, p->path, sizeof(p->path), c, flags);
			break;
		case K_CMDLINE:
			ej_set_str(ej, p->cmdline, sizeof(p->cmdline), c, flags);
			break;
		case K_VM_SIZE: ej_set_u64(ej, &p->vm_size, c); break;
		case K_VM_PEAK: ej_set_u64(ej, &p->vm_peak, c); break;
		default:
			break;	/* other process attributes are not kept */
		}
	}
	return 0;
}

/* Reads ID/NAME/POD/NS members of one container level. */
static void
parse_cont_level(struct ej *ej, struct evp_container *k, const cJSON *o,
    uint16_t *flags)
{
	const cJSON *c;

	for (c = o->child; c != NULL; c = c->next) {
		switch (ej_key(c->string, S_CONT)) {
		case K_ID: ej_set_str(ej, k->id, sizeof(k->id), c, flags); break;
		case K_NAME:
			ej_set_str(ej, k->name, sizeof(k->name), c, flags);
			break;
		case K_POD: ej_set_str(ej, k->pod, sizeof(k->pod), c, flags); break;
		case K_NS: ej_set_str(ej, k->ns, sizeof(k->ns), c, flags); break;
		default:
			break;
		}
	}
}

/*
 * {"DOCKER":{..}}, {"K8S":{..}}, nprobe's flat {"ID":..}, or the Agent's
 * mix: {"ID":..,"K8S":{"NAME","POD","NS"}}.  The object's own level is
 * read first, then a DOCKER/K8S member (whose values win).  0 or -1.
 */
static int
parse_container(struct ej *ej, struct evp_container *k, const cJSON *o,
    uint16_t *flags)
{
	const cJSON *c;

	if (!cJSON_IsObject(o)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return -1;
	}
	parse_cont_level(ej, k, o, flags);
	for (c = o->child; c != NULL; c = c->next) {
		enum ek id = ej_key(c->string, S_CONT);

		if (id != K_DOCKER && id != K_K8S)
			continue;
		if (!cJSON_IsObject(c)) {
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
			continue;
		}
		k->kind = id == K_DOCKER ? EVP_CONT_DOCKER : EVP_CONT_K8S;
		parse_cont_level(ej, k, c, flags);
		return 0;
	}
	if (k->id[0] == '\0' && k->name[0] == '\0')
		return -1;
	k->kind = EVP_CONT_OTHER;
	return 0;
}

/*
 * The server of a pair by ports: a port below 1024 wins, else the lower
 * port; equal ports keep the given order.  Returns the client's index.
 */
static int
guess_client(uint16_t p0, uint16_t p1)
{
	int w0 = p0 < 1024, w1 = p1 < 1024;

	if (w0 != w1)
		return w0 ? 1 : 0;
	return p0 < p1 ? 1 : 0;
}

/* Drops the current event for `reason`. */
int
ej_drop(struct ej *ej, enum col_counter reason, const char *why)
{
	ej->ctr[reason]++;
	LOG_RATELIMITED(log_warnx, "event dropped (%s): %s",
	    collector_counter_names[reason], why);
	return -1;
}

/* Reads an address pair of one family (v4 keys win).  1 ok, 0 missing,
 * -1 bad.  `ipv` receives 4 or 6. */
static int
get_addr(const cJSON *v4, const cJSON *v6, uint8_t a[16], int *ipv)
{
	const cJSON *v = v4 != NULL ? v4 : v6;
	int r;

	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v) || (r = evp_addr_parse(v->valuestring, a)) < 0)
		return -1;
	*ipv = r;
	return 1;
}

/* The TCP object of a netstat update.  Returns the state, or -1. */
static int
parse_tcp(struct ej *ej, struct evp_flow *f, const cJSON *o, int ls)
{
	const cJSON *c;
	int state = EVP_TCP_UNKNOWN, s;

	if (!cJSON_IsObject(o)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return -1;
	}
	for (c = o->child; c != NULL; c = c->next) {
		switch (ej_key(c->string, S_TCP)) {
		case K_CONN_STATE:
			if (!cJSON_IsString(c) ||
			    (s = name_lookup(tcp_states, c->valuestring)) < 0)
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			else
				state = s;
			break;
		case K_SEGS_IN: ej_set_u32(ej, &f->segs_in, c); break;
		case K_SEGS_OUT: ej_set_u32(ej, &f->segs_out, c); break;
		case K_UNACK: ej_set_u32(ej, &f->unack_segs, c); break;
		case K_RETRAN:
			ej_set_u32(ej, &f->retrans[ls < 0 ? 0 : ls], c);
			break;
		case K_LOST: ej_set_u32(ej, &f->lost_pkts, c); break;
		case K_RTT: set_ms_us(ej, &f->rtt_us, c); break;
		case K_RTT_VAR: set_ms_us(ej, &f->rtt_var_us, c); break;
		case K_BYTES_RCVD: ej_set_u64(ej, &f->bytes_rcvd, c); break;
		case K_BYTES_ACKED: ej_set_u64(ej, &f->bytes_acked, c); break;
		default:
			break;
		}
	}
	f->tcp_state = (uint8_t)state;
	f->flags |= EVP_F_ABSOLUTE | EVP_F_HAS_TCPINFO;
	return state;
}

int
ej_emit(struct ej *ej, uint16_t type, const void *body, size_t len)
{
	if (ej->emit(ej->emit_arg, type, body, len) == -1)
		return ej_drop(ej, C_DROP_EV_SEND, "output link refused it");
	return 0;
}

/* A netstat LISTEN entry becomes a listening socket. */
static int
emit_listen_from_flow(struct ej *ej, const cJSON *k[], const uint8_t a[16],
    int ipv, uint16_t port, uint64_t ts)
{
	struct evp_listen *l = &ej->listen;
	const cJSON *c;

	memset(l, 0, sizeof(*l));
	l->ts_usec = ts;
	l->producer = ej->producer;
	l->ip_version = (uint8_t)ipv;
	l->proto = 6;
	l->port = port;
	memcpy(l->addr, a, 16);
	if (k[K_LOCAL_PROC] != NULL && cJSON_IsObject(k[K_LOCAL_PROC])) {
		for (c = k[K_LOCAL_PROC]->child; c != NULL; c = c->next) {
			enum ek id = ej_key(c->string, S_PROC);

			if (id == K_PID)
				ej_set_u32(ej, &l->pid, c);
			else if (id == K_PATH)
				ej_set_str(ej, l->proc, sizeof(l->proc), c, NULL);
		}
	}
	if (k[K_EXPORTER] != NULL)
		ej_set_str(ej, l->host, sizeof(l->host), k[K_EXPORTER], NULL);
	if (ej_emit(ej, EVP_LISTEN, l, sizeof(*l)) == -1)
		return -1;
	ej->ctr[C_RECORDS_LISTEN]++;
	return 0;
}

/* ---- NetFlow ICMP ---- */

enum { ICMP_NONE, ICMP_OTHER, ICMP_REQUEST, ICMP_REPLY };

/*
 * NetFlow v5 (and flows converted from it) carry ICMP type << 8 | code
 * in the destination port (a few exporters: the source port).  Request
 * and reply would then be two flows with different ports: the ports of
 * the key become 0, type and code are kept as extra attributes
 * ICMP_TYPE / ICMP_CODE, and echo-like pairs say who the client is (the
 * reply's destination).  Returns ICMP_* (ICMP_NONE: not such a flow).
 */
static int
nf_icmp(struct ej *ej, struct jt_writer *w, uint8_t proto, int netflow,
    uint16_t port[2])
{
	/* request and reply types: echo, timestamp, information, mask */
	static const uint8_t req4[] = { 8, 13, 15, 17 }, rep4[] = { 0, 14, 16, 18 };
	unsigned type, code, i;

	if (!netflow || (proto != 1 && proto != 58))
		return ICMP_NONE;
	type = (port[1] != 0 ? port[1] : port[0]) >> 8;
	code = (port[1] != 0 ? port[1] : port[0]) & 0xff;
	port[0] = port[1] = 0;
	if (jt_member_uint(w, "ICMP_TYPE", type) == -1 ||
	    jt_member_uint(w, "ICMP_CODE", code) == -1)
		ej->ctr[C_EXTRA_TRUNCATED]++;
	if (proto == 58)
		return type == 128 ? ICMP_REQUEST : type == 129 ? ICMP_REPLY :
		    ICMP_OTHER;
	for (i = 0; i < sizeof(req4); i++) {
		if (type == req4[i])
			return ICMP_REQUEST;
		if (type == rep4[i])
			return ICMP_REPLY;
	}
	return ICMP_OTHER;
}

/* ---- NetFlow times ---- */

#define NF_MIN_UNIX	946684800.0	/* 2000-01-01, seconds */
#define NF_MAX_UNIX	4102444800.0	/* 2100-01-01, seconds */
#define NF_PAST_SEC	(366.0 * 86400)	/* older than now by this: not unix */
#define NF_FUTURE_SEC	86400.0		/* newer than now by this: not unix */

/*
 * Whether `sec` can be a unix time of a flow received at `now_usec`: at
 * most a year old and a day ahead.  A clock before 2000 (tests, a host
 * without time) only bounds it to 2000-2100.
 */
static int
nf_plausible(double sec, uint64_t now_usec)
{
	double now = (double)now_usec / 1e6;

	if (now < NF_MIN_UNIX)
		return sec >= NF_MIN_UNIX && sec < NF_MAX_UNIX;
	return sec >= now - NF_PAST_SEC && sec <= now + NF_FUTURE_SEC;
}

/*
 * Uptime is a 32-bit count of milliseconds: a flow that started before
 * the exporter's reference (softflowd reading a pcap) or before a wrap
 * lands 2^32 ms (49.7 days) in the future.  `us` back by one wrap if
 * that makes it plausible.
 */
static uint64_t
nf_unwrap(double us, uint64_t now_usec)
{
	const double wrap = 4294967296.0 * 1e3;	/* 2^32 ms in usec */

	if (!nf_plausible(us / 1e6, now_usec) &&
	    nf_plausible((us - wrap) / 1e6, now_usec))
		us -= wrap;
	return us < 0 ? 0 : (uint64_t)us;
}

/*
 * FIRST_SWITCHED / LAST_SWITCHED: unix seconds (nProbe), unix
 * milliseconds, or what NetFlow defines, milliseconds of the exporter's
 * uptime (softflowd).  The unit is chosen on LAST (else FIRST) and
 * applies to both.  Uptime becomes unix time with the export's reference
 * (SYSTEM_INIT_TIME_MILLISECONDS, IPFIX field 160: the unix time of
 * uptime zero) when the object carries one, else LAST is the receive
 * time and FIRST keeps its distance to it.  Every conversion is counted
 * (C_TIMES_CORRECTED).  Results in usec, 0 when absent.
 */
static void
nf_times(struct ej *ej, const cJSON *first, const cJSON *last,
    const cJSON *init, uint64_t *first_us, uint64_t *last_us)
{
	const cJSON *unit = last != NULL ? last : first;
	double f = 0, l = 0, base, b;
	int hf, hl;

	*first_us = *last_us = 0;
	if (unit == NULL)
		return;
	hf = first != NULL && jt_double(first, &f) == 0 && f >= 0;
	hl = last != NULL && jt_double(last, &l) == 0 && l >= 0;
	if ((first != NULL && !hf) || (last != NULL && !hl))
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
	if (!hf && !hl)
		return;
	if (nf_plausible(hl ? l : f, ej->now_usec)) {
		if (hf && jt_ts(first, first_us) == -1)
			*first_us = 0;
		if (hl && jt_ts(last, last_us) == -1)
			*last_us = 0;
		return;
	}
	ej->ctr[C_TIMES_CORRECTED]++;
	if (nf_plausible((hl ? l : f) / 1e3, ej->now_usec)) {
		/* unix milliseconds */
		*first_us = hf ? (uint64_t)(f * 1e3) : 0;
		*last_us = hl ? (uint64_t)(l * 1e3) : 0;
		return;
	}
	/* uptime milliseconds (32 bits: LAST may have wrapped past FIRST) */
	if (hf && hl && l < f && f - l > 2147483648.0)
		f -= 4294967296.0;
	if (init != NULL && jt_double(init, &b) == 0 &&
	    nf_plausible(b / 1e3, ej->now_usec))
		base = b * 1e3;
	else {
		/* No reference: LAST is now. */
		base = (double)ej->now_usec - (hl ? l : f) * 1e3;
		if (base < 0)
			base = 0;
	}
	*first_us = hf ? nf_unwrap(base + f * 1e3, ej->now_usec) : 0;
	*last_us = hl ? nf_unwrap(base + l * 1e3, ej->now_usec) : 0;
	if (*first_us > *last_us && hl)
		*first_us = *last_us;
}

/*
 * One `flow` object -> one EVP_FLOW (or EVP_LISTEN for a netstat
 * LISTEN).  Returns 0 if forwarded, -1 if dropped (counted).
 */
static int
flow_event(struct ej *ej, const cJSON *o)
{
	const cJSON *k[K_TOP_MAX], *c, *v;
	struct evp_flow *f = &ej->flow;
	struct jt_writer w = { f->extra, EVP_EXTRA_MAX - 1, 0, 0, 0 };
	uint8_t a[2][16];
	uint16_t port[2] = { 0, 0 };
	uint64_t u, ts = 0;
	int agent, ipv = 0, ipv2 = 0, r, local, client, ls, rs, ev = 0;
	int state = -1, icmp;
	unsigned i;

	memset(k, 0, sizeof(k));
	memset(f, 0, EVP_FLOW_FIXED_LEN);
	for (c = o->child; c != NULL; c = c->next) {
		enum ek id = ej_key(c->string, S_TOP);

		if (id != K_NONE) {
			k[id] = c;
			continue;
		}
		if (jt_member(&w, c) == -1) {
			f->flags |= EVP_F_TRUNCATED;
			ej->ctr[C_EXTRA_TRUNCATED]++;
		}
	}

	/* Addresses: local/remote (agent) or packet order (src/dst). */
	agent = k[K_V4_LOCAL] || k[K_V6_LOCAL] || k[K_V4_REMOTE] ||
	    k[K_V6_REMOTE];
	if (agent) {
		r = get_addr(k[K_V4_LOCAL], k[K_V6_LOCAL], a[0], &ipv);
		if (r == 1)
			r = get_addr(k[K_V4_REMOTE], k[K_V6_REMOTE], a[1],
			    &ipv2);
		v = k[K_LOCAL_PORT];
		c = k[K_REMOTE_PORT];
	} else {
		r = get_addr(k[K_V4_SRC], k[K_V6_SRC], a[0], &ipv);
		if (r == 1)
			r = get_addr(k[K_V4_DST], k[K_V6_DST], a[1], &ipv2);
		v = k[K_SRC_PORT];
		c = k[K_DST_PORT];
	}
	if (r == 0)
		return ej_drop(ej, C_DROP_EV_MISSING_FIELD, "no addresses");
	if (r == -1 || ipv != ipv2)
		return ej_drop(ej, C_DROP_EV_BAD_ADDRESS, "bad address");
	if (v != NULL) {
		if (jt_uint(v, 65535, &u) == -1)
			return ej_drop(ej, C_DROP_EV_WRONG_TYPE, "bad port");
		port[0] = (uint16_t)u;
	}
	if (c != NULL) {
		if (jt_uint(c, 65535, &u) == -1)
			return ej_drop(ej, C_DROP_EV_WRONG_TYPE, "bad port");
		port[1] = (uint16_t)u;
	}

	/* Event type and protocol. */
	if ((v = k[K_TCP_EVENT]) != NULL || (v = k[K_UDP_EVENT]) != NULL) {
		if (!cJSON_IsString(v))
			return ej_drop(ej, C_DROP_EV_WRONG_TYPE,
			    "event type is not a string");
		if ((ev = name_lookup(ev_names, v->valuestring)) < 0)
			ev = EVP_EV_NONE;
		f->proto = v == k[K_TCP_EVENT] ? 6 : 17;
	}
	if (k[K_PROTOCOL] != NULL) {
		if (jt_uint(k[K_PROTOCOL], 255, &u) == -1)
			return ej_drop(ej, C_DROP_EV_WRONG_TYPE, "bad protocol");
		f->proto = (uint8_t)u;
	} else if (k[K_TCP] != NULL)
		f->proto = 6;
	else if (f->proto == 0)
		return ej_drop(ej, C_DROP_EV_MISSING_FIELD, "no protocol");
	icmp = nf_icmp(ej, &w, f->proto, !agent && ev == 0 &&
	    k[K_TCP_EVENT] == NULL && k[K_UDP_EVENT] == NULL, port);
	if (w.bad_utf8)
		ej->ctr[C_STRINGS_BAD_UTF8]++;
	jt_close(&w);
	f->extra_len = (uint16_t)w.len;

	/* Which side is local, and which is the client. */
	if (agent) {
		local = 0;
		f->source = k[K_TCP] != NULL ? EVP_SRC_NETSTAT : EVP_SRC_EVENT;
	} else if (k[K_TCP_EVENT] != NULL || k[K_UDP_EVENT] != NULL) {
		local = ev == EVP_EV_ACCEPT ? 1 : 0;
		f->source = EVP_SRC_EVENT;
	} else {
		local = (k[K_LOCAL_PROC] || k[K_LOCAL_FATHER] ||
		    k[K_LOCAL_CONTAINER]) ? 0 : -1;
		f->source = k[K_TCP] != NULL ? EVP_SRC_NETSTAT : EVP_SRC_NETFLOW;
	}
	if (k[K_TCP] != NULL) {
		state = parse_tcp(ej, f, k[K_TCP], -1);
		if (ev == EVP_EV_NONE)
			ev = EVP_EV_UPDATE;
	}
	if (ev == EVP_EV_CONNECT || ev == EVP_EV_CONNECT_FAILED ||
	    state == EVP_TCP_SYN_SENT)
		client = local < 0 ? 0 : local;
	else if (ev == EVP_EV_ACCEPT || state == EVP_TCP_SYN_RECV)
		client = local < 0 ? 0 : 1 - local;
	else if (icmp == ICMP_REQUEST || icmp == ICMP_REPLY)
		client = icmp == ICMP_REPLY ? 1 : 0;
	else {
		client = guess_client(port[0], port[1]);
		f->flags |= EVP_F_SIDES_GUESSED;
	}
	f->event = (uint8_t)ev;

	/* Timestamps. */
	nf_times(ej, k[K_FIRST], k[K_LAST], k[K_SYS_INIT], &f->first_usec, &u);
	if ((v = k[K_TIMESTAMP]) != NULL) {
		if (jt_ts(v, &ts) == -1)
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
	} else
		ts = u;
	f->ts_usec = ts != 0 ? ts : ej->now_usec;

	if (state == EVP_TCP_LISTEN)
		return emit_listen_from_flow(ej, k, a[local < 0 ? 0 : local],
		    ipv, port[local < 0 ? 0 : local], f->ts_usec);

	f->producer = ej->producer;
	f->ip_version = (uint8_t)ipv;
	memcpy(f->addr[0], a[client], 16);
	memcpy(f->addr[1], a[1 - client], 16);
	f->port[0] = port[client];
	f->port[1] = port[1 - client];
	if (evp_addr_is_loopback(f->addr[0]) || evp_addr_is_loopback(f->addr[1]))
		f->flags |= EVP_F_LOOPBACK;
	/* ls: the record side of the local endpoint (client is side 0). */
	ls = local < 0 ? -1 : (local == client ? 0 : 1);
	rs = ls < 0 ? -1 : 1 - ls;

	if (k[K_TCP] != NULL && ls >= 0 && f->retrans[0] != 0 && ls == 1) {
		f->retrans[1] = f->retrans[0];	/* local -> remote */
		f->retrans[0] = 0;
	}
	if (ls >= 0) {
		struct evp_side *s = &f->side[ls];

		s->present |= EVP_SIDE_LOCAL;
		if (k[K_LOCAL_PROC] != NULL &&
		    parse_proc(ej, &s->proc, k[K_LOCAL_PROC], &f->flags) == 0)
			s->present |= EVP_SIDE_PROC;
		if (k[K_LOCAL_FATHER] != NULL &&
		    parse_proc(ej, &s->parent, k[K_LOCAL_FATHER], &f->flags) == 0)
			s->present |= EVP_SIDE_PARENT;
		if (k[K_LOCAL_CONTAINER] != NULL &&
		    parse_container(ej, &s->container, k[K_LOCAL_CONTAINER],
		    &f->flags) == 0)
			s->present |= EVP_SIDE_CONTAINER;
	}
	if (rs >= 0) {
		struct evp_side *s = &f->side[rs];

		if (k[K_REMOTE_PROC] != NULL &&
		    parse_proc(ej, &s->proc, k[K_REMOTE_PROC], &f->flags) == 0)
			s->present |= EVP_SIDE_PROC;
		if (k[K_REMOTE_FATHER] != NULL &&
		    parse_proc(ej, &s->parent, k[K_REMOTE_FATHER], &f->flags) == 0)
			s->present |= EVP_SIDE_PARENT;
		if (k[K_REMOTE_CONTAINER] != NULL &&
		    parse_container(ej, &s->container, k[K_REMOTE_CONTAINER],
		    &f->flags) == 0)
			s->present |= EVP_SIDE_CONTAINER;
	}

	if ((v = k[K_INTERFACE_NAME]) != NULL || (v = k[K_IF_NAME]) != NULL)
		ej_set_str(ej, f->ifname, sizeof(f->ifname), v, &f->flags);
	if ((v = k[K_EXPORTER]) != NULL) {
		if (!cJSON_IsString(v) ||
		    evp_addr_parse(v->valuestring, f->exporter) < 0) {
			memset(f->exporter, 0, sizeof(f->exporter));
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
		}
	}
	if (k[K_NW_LATENCY] != NULL)
		set_ms_us(ej, &f->nw_latency_us, k[K_NW_LATENCY]);
	if (k[K_RETRAN] != NULL)
		ej_set_u32(ej, &f->retrans[ls == 1 ? 1 : 0], k[K_RETRAN]);
	if (k[K_SRC_VLAN] != NULL) {
		if (jt_uint(k[K_SRC_VLAN], 4095, &u) == -1)
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
		else
			f->vlan = (uint16_t)u;
	}
	if (k[K_TCP_FLAGS] != NULL) {
		if (jt_uint(k[K_TCP_FLAGS], 255, &u) == -1)
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
		else
			f->tcp_flags[0] = (uint8_t)u;	/* both directions */
	}
	/* NetFlow counters: IN = src -> dst, OUT = dst -> src. */
	for (i = 0; i < 4; i++) {
		static const enum ek ck[4] = { K_IN_BYTES, K_IN_PKTS,
		    K_OUT_BYTES, K_OUT_PKTS };
		unsigned dir = (i >= 2) ^ (client == 1);

		if (k[ck[i]] == NULL)
			continue;
		if (jt_uint(k[ck[i]], UINT64_MAX, &u) == -1) {
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
			continue;
		}
		if (i % 2 == 0)
			f->bytes[dir] = u;
		else
			f->pkts[dir] = u;
		f->flags |= EVP_F_HAS_COUNTERS;
	}
	if (ej_emit(ej, EVP_FLOW, f, evp_flow_len(f)) == -1)
		return -1;
	ej->ctr[C_RECORDS_FLOW]++;
	return 0;
}

/* ---- entry points ---- */

void
ej_init(struct ej *ej, uint64_t *ctr, ej_emit_fn fn, void *arg)
{
	cJSON_Hooks hooks = { arena_malloc, arena_free };

	ek_build();
	cJSON_InitHooks(&hooks);
	memset(ej, 0, sizeof(*ej));
	ej->ctr = ctr;
	ej->emit = fn;
	ej->emit_arg = arg;
}

static int
one_event(struct ej *ej, enum ej_topic topic, const cJSON *o)
{
	int r;

	ej->ctr[C_EVENTS_RECEIVED]++;
	if (!cJSON_IsObject(o))
		return ej_drop(ej, C_DROP_EV_NOT_OBJECT, "not a JSON object");
	switch (topic) {
	case EJ_FLOW:
		r = flow_event(ej, o);
		break;
	case EJ_COUNTER:
		r = ej_counter(ej, o);
		break;
	case EJ_LISTENING:
		r = ej_listening(ej, o);
		break;
	case EJ_EVENT:
		r = ej_health(ej, o);
		break;
	default:
		r = ej_drop(ej, C_DROP_EV_NOT_OBJECT, "unknown topic kind");
		break;
	}
	if (r == 0)
		ej->ctr[C_EVENTS_FORWARDED]++;
	return r;
}

int
ej_parse_tlv(struct ej *ej, enum ej_topic topic, const uint8_t *p, size_t len)
{
	cJSON *root;

	if ((root = tlv_decode(p, len)) == NULL) {
		arena_rewind();
		return -1;
	}
	ej->ctr[C_MSGS_TLV]++;
	return ej_parse_tree(ej, topic, root);
}

/*
 * Parses `text`; if it does not parse, retries once without the trailing
 * commas json-c accepts (softflowd ends its arrays with `},\n]`).  The
 * copy is made only then, so well-formed payloads cost nothing more.
 */
static cJSON *
parse_text(struct ej *ej, const char *text, size_t len)
{
	cJSON *root;
	char *fixed;
	size_t n;

	/* softflowd's shape, `},]` at the very end, skips the doomed parse. */
	if (!jt_ends_with_trailing_comma(text, len)) {
		if ((root = cJSON_ParseWithLength(text, len)) != NULL)
			return root;
		arena_rewind();
		if (!jt_has_trailing_comma(text, len))
			return NULL;
	}
	if ((fixed = malloc(len)) == NULL)
		return NULL;
	n = jt_strip_trailing_commas(text, len, fixed);
	if ((root = cJSON_ParseWithLength(fixed, n)) != NULL)
		ej->ctr[C_JSON_TRAILING_COMMAS]++;
	free(fixed);
	return root;
}

int
ej_parse(struct ej *ej, enum ej_topic topic, const char *text, size_t len)
{
	cJSON *root;

	if ((root = parse_text(ej, text, len)) == NULL) {
		arena_rewind();
		return -1;
	}
	return ej_parse_tree(ej, topic, root);
}

/* Forwards the events of a parsed payload and frees it. */
int
ej_parse_tree(struct ej *ej, enum ej_topic topic, cJSON *root)
{
	const cJSON *e;

	if (cJSON_IsArray(root)) {
		for (e = root->child; e != NULL; e = e->next)
			(void)one_event(ej, topic, e);
	} else
		(void)one_event(ej, topic, root);
	/* A tree wholly in the arena is forgotten at once, unwalked. */
	if (ej_arena.spilled)
		cJSON_Delete(root);
	arena_rewind();
	return 0;
}
