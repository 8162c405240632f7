/*
 * JSON payloads -> evflow records, for the three dialects of topic
 * `flow` (libebpfflow, nprobe_mini/Agent with netstat updates, NetFlow
 * numeric keys) and the `counter`, `listening-ports` and `event` topics.
 * See /work/shared/spec/wire.md and collector.h.
 *
 * One pass over each object's members: a hashed key table maps every
 * name (and its NetFlow number) to a slot; unknown members go straight
 * into the record's bounded `extra` object.  Records are scratch structs
 * in struct ej, reused for every event.  cJSON allocates from an arena
 * reset after each payload, so parsing costs no malloc per node.
 *
 * Decisions: invalid UTF-8 in a string is replaced by '?' and counted
 * (the event is kept); a key field (address, port, protocol, event type)
 * of the wrong type or out of range drops the event; any other field of
 * the wrong type is ignored and counted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "common/log.h"
#include "collector.h"

const char *const collector_counter_names[C_COUNTER_MAX] = {
	[C_MSGS_RECEIVED] = "msgs_received",
	[C_MSGS_DECODED] = "msgs_decoded",
	[C_MSGS_IGNORED] = "msgs_ignored",
	[C_MSGS_V0] = "msgs_v0",
	[C_MSGS_V1] = "msgs_v1",
	[C_MSGS_V2] = "msgs_v2",
	[C_MSGS_V3] = "msgs_v3",
	[C_MSGS_V4] = "msgs_v4",
	[C_BYTES_RECEIVED] = "bytes_received",
	[C_BYTES_INFLATED] = "bytes_inflated",
	[C_DROP_MSG_BAD_HEADER] = "drop_msg_bad_header",
	[C_DROP_MSG_UNSUPPORTED_VERSION] = "drop_msg_unsupported_version",
	[C_DROP_MSG_ONE_FRAME] = "drop_msg_one_frame",
	[C_DROP_MSG_TOO_MANY_FRAMES] = "drop_msg_too_many_frames",
	[C_DROP_MSG_BAD_ZLIB] = "drop_msg_bad_zlib",
	[C_DROP_MSG_TOO_LARGE] = "drop_msg_too_large",
	[C_DROP_MSG_TLV] = "drop_msg_tlv_unsupported",
	[C_DROP_MSG_BAD_JSON] = "drop_msg_bad_json",
	[C_DROP_MSG_EBPF_TOPIC] = "drop_msg_ebpf_topic",
	[C_DROP_MSG_UNKNOWN_TOPIC] = "drop_msg_unknown_topic",
	[C_EVENTS_RECEIVED] = "events_received",
	[C_EVENTS_FORWARDED] = "events_forwarded",
	[C_DROP_EV_NOT_OBJECT] = "drop_ev_not_object",
	[C_DROP_EV_WRONG_TYPE] = "drop_ev_wrong_type",
	[C_DROP_EV_MISSING_FIELD] = "drop_ev_missing_field",
	[C_DROP_EV_BAD_ADDRESS] = "drop_ev_bad_address",
	[C_DROP_EV_SEND] = "drop_ev_send",
	[C_FIELDS_WRONG_TYPE] = "fields_wrong_type",
	[C_STRINGS_BAD_UTF8] = "strings_bad_utf8",
	[C_STRINGS_TRUNCATED] = "strings_truncated",
	[C_EXTRA_TRUNCATED] = "extra_truncated",
	[C_RECORDS_FLOW] = "records_flow",
	[C_RECORDS_LISTEN] = "records_listen",
	[C_RECORDS_IFCOUNTER] = "records_ifcounter",
	[C_RECORDS_PRODUCER] = "records_producer",
	[C_PRODUCER_EVENTS] = "producer_events",
	[C_PRODUCERS_ACTIVE] = "producers_active",
	[C_PRODUCERS_EXPIRED] = "producers_expired",
	[C_PRODUCERS_EVICTED] = "producers_evicted",
	[C_LOST_MSGS] = "lost_msgs",
	[C_RESTARTS] = "producer_restarts",
	[C_DUPLICATES] = "duplicate_msgs",
	[C_RECORDS_QUEUED] = "records_queued",
	[C_RECORDS_SENT] = "records_sent",
	[C_RECORDS_SEND_DROPPED] = "records_send_dropped",
};

/* ---- cJSON arena ---- */

/*
 * cJSON's hooks are process-wide; the collector parses one payload at a
 * time, so one arena serves it.  Nodes beyond the arena fall back to
 * malloc (huge payloads); free() ignores arena pointers and the arena is
 * rewound once the tree of a payload is deleted.
 */
#define EJ_ARENA_SIZE	(1024 * 1024)	/* bytes */

static struct {
	size_t		used;
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

enum ek {
	K_NONE = 0,
	/* top level of a flow event */
	K_TIMESTAMP, K_INTERFACE_NAME, K_IF_NAME, K_IP_VERSION,
	K_TCP_EVENT, K_UDP_EVENT, K_V4_SRC, K_V4_DST, K_V6_SRC, K_V6_DST,
	K_PROTOCOL, K_SRC_PORT, K_DST_PORT, K_NW_LATENCY, K_RETRAN,
	K_LOCAL_PROC, K_LOCAL_FATHER, K_LOCAL_CONTAINER,
	K_REMOTE_PROC, K_REMOTE_FATHER, K_REMOTE_CONTAINER,
	K_V4_LOCAL, K_V4_REMOTE, K_V6_LOCAL, K_V6_REMOTE,
	K_LOCAL_PORT, K_REMOTE_PORT, K_EXPORTER, K_TCP,
	K_IN_BYTES, K_IN_PKTS, K_OUT_BYTES, K_OUT_PKTS, K_FIRST, K_LAST,
	K_TCP_FLAGS, K_SRC_VLAN,
	K_TOP_MAX,
	/* process object */
	K_PID, K_TID, K_UID, K_GID, K_UID_NAME, K_GID_NAME, K_PATH,
	K_CMDLINE, K_VM_SIZE, K_VM_PEAK,
	/* container object */
	K_DOCKER, K_K8S, K_ID, K_NAME, K_POD, K_NS,
	/* TCP object (netstat) */
	K_CONN_STATE, K_SEGS_IN, K_SEGS_OUT, K_UNACK, K_LOST, K_RTT,
	K_RTT_VAR, K_BYTES_RCVD, K_BYTES_ACKED,
	/* counter topic */
	K_DEVICE_IP, K_IF_INDEX, K_IFC_NAME, K_IF_TYPE, K_IF_SPEED,
	K_IF_DIRECTION, K_IF_ADMIN, K_IF_OPER, K_IN_OCTETS, K_IN_PACKETS,
	K_IN_ERRORS, K_OUT_OCTETS, K_OUT_PACKETS, K_OUT_ERRORS, K_PROMISC,
	K_SAMPLES,
	K_MAX
};

/* Where a key is meaningful. */
#define S_TOP	0x01
#define S_PROC	0x02
#define S_CONT	0x04
#define S_TCP	0x08
#define S_CTR	0x10

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
#define EK_HASH_SIZE	512	/* slots, a power of two > 2 * EK_NDEFS */

static short ek_hash[EK_HASH_SIZE];	/* index + 1 into ek_defs, 0 = free */
static int ek_ready;

static uint32_t
ek_fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
ek_build(void)
{
	size_t i;
	uint32_t h;

	if (ek_ready)
		return;
	for (i = 0; i < EK_NDEFS; i++) {
		h = ek_fnv(ek_defs[i].name) & (EK_HASH_SIZE - 1);
		while (ek_hash[h] != 0)
			h = (h + 1) & (EK_HASH_SIZE - 1);
		ek_hash[h] = (short)(i + 1);
	}
	ek_ready = 1;
}

/* The key id of `name` in `scope`, or K_NONE. */
static enum ek
ek_lookup(const char *name, unsigned scope)
{
	uint32_t h = ek_fnv(name) & (EK_HASH_SIZE - 1);
	const struct ek_def *d;

	while (ek_hash[h] != 0) {
		d = &ek_defs[ek_hash[h] - 1];
		if (strcmp(d->name, name) == 0)
			return (d->scope & scope) ? (enum ek)d->id : K_NONE;
		h = (h + 1) & (EK_HASH_SIZE - 1);
	}
	return K_NONE;
}

/* ---- strings ---- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

int
ej_strlcpy(char *dst, const char *src, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;
	int r = 0;

	while (*s != '\0') {
		if (*s < 0x80) {
			if (o + 1 >= cap) {
				r |= EJ_STR_TRUNCATED;
				break;
			}
			dst[o++] = (char)*s++;
			continue;
		}
		if ((n = utf8_seq(s)) == 0) {
			r |= EJ_STR_BAD_UTF8;
			if (o + 1 >= cap) {
				r |= EJ_STR_TRUNCATED;
				break;
			}
			dst[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= cap) {
			r |= EJ_STR_TRUNCATED;
			break;
		}
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
	return r;
}

/* ---- a bounded compact JSON writer (for `extra` and `info`) ---- */

#define JW_MAX_DEPTH	8	/* deeper values are left out */

struct jw {
	char	*p;
	size_t	 cap;	/* usable bytes, NUL excluded */
	size_t	 len;
	int	 over;
	int	 bad_utf8;
};

static void
jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
jw_str(struct jw *w, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	char esc[6];
	size_t n;

	jw_put(w, "\"", 1);
	while (*s != '\0' && !w->over) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s++;
			jw_put(w, esc, 2);
		} else if (*s < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*s >> 4];
			esc[5] = hex[*s & 15];
			jw_put(w, esc, 6);
			s++;
		} else if (*s < 0x80) {
			jw_put(w, (const char *)s, 1);
			s++;
		} else if ((n = utf8_seq(s)) == 0) {
			w->bad_utf8 = 1;
			jw_put(w, "?", 1);
			s++;
		} else {
			jw_put(w, (const char *)s, n);
			s += n;
		}
	}
	jw_put(w, "\"", 1);
}

static void
jw_num(struct jw *w, double d)
{
	char tmp[32], *e = tmp + sizeof(tmp), *q = e;
	unsigned long long u;
	int n;

	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		u = (unsigned long long)fabs(d);
		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (d < 0)
			*--q = '-';
		jw_put(w, q, (size_t)(e - q));
		return;
	}
	if (!isfinite(d)) {
		jw_put(w, "null", 4);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	jw_put(w, tmp, (size_t)n);
}

static void
jw_value(struct jw *w, const cJSON *v, int depth)
{
	const cJSON *c;

	if (depth > JW_MAX_DEPTH) {
		w->over = 1;
		return;
	}
	if (cJSON_IsString(v))
		jw_str(w, v->valuestring);
	else if (cJSON_IsNumber(v))
		jw_num(w, v->valuedouble);
	else if (cJSON_IsTrue(v))
		jw_put(w, "true", 4);
	else if (cJSON_IsFalse(v))
		jw_put(w, "false", 5);
	else if (cJSON_IsArray(v)) {
		jw_put(w, "[", 1);
		for (c = v->child; c != NULL && !w->over; c = c->next) {
			if (c != v->child)
				jw_put(w, ",", 1);
			jw_value(w, c, depth + 1);
		}
		jw_put(w, "]", 1);
	} else if (cJSON_IsObject(v)) {
		jw_put(w, "{", 1);
		for (c = v->child; c != NULL && !w->over; c = c->next) {
			if (c != v->child)
				jw_put(w, ",", 1);
			jw_str(w, c->string);
			jw_put(w, ":", 1);
			jw_value(w, c, depth + 1);
		}
		jw_put(w, "}", 1);
	} else
		jw_put(w, "null", 4);
}

int
ej_json_write(char *dst, size_t cap, const cJSON *v)
{
	struct jw w = { dst, cap > 0 ? cap - 1 : 0, 0, 0, 0 };

	if (cap == 0)
		return -1;
	jw_value(&w, v, 0);
	if (w.over) {
		dst[0] = '\0';
		return -1;
	}
	dst[w.len] = '\0';
	return (int)w.len;
}

/*
 * Appends member `c` to the object being built in `w` (room for the
 * closing brace is kept).  A member that does not fit is left out whole;
 * returns 0, or -1 if it was left out.
 */
static int
jw_member(struct jw *w, const cJSON *c)
{
	size_t mark = w->len;

	w->cap--;			/* keep room for '}' */
	jw_put(w, mark == 0 ? "{" : ",", 1);
	jw_str(w, c->string);
	jw_put(w, ":", 1);
	jw_value(w, c, 1);
	w->cap++;
	if (w->over) {
		w->len = mark;
		w->over = 0;
		return -1;
	}
	return 0;
}

static void
jw_close(struct jw *w)
{
	if (w->len > 0)
		w->p[w->len++] = '}';
	w->p[w->len] = '\0';
}

/* ---- typed getters: 0 ok, -1 wrong type or range ---- */

/* A number, or a string holding one (NW_LATENCY_MS is "0.221"). */
static int
get_double(const cJSON *v, double *d)
{
	char *end;

	if (cJSON_IsNumber(v)) {
		*d = v->valuedouble;
		return isfinite(*d) ? 0 : -1;
	}
	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		*d = strtod(v->valuestring, &end);
		return (*end == '\0' && isfinite(*d)) ? 0 : -1;
	}
	return -1;
}

/* An unsigned integer up to `max`; numeric strings and booleans too. */
static int
get_uint(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;
	char *end;
	const char *s;

	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? 1 : 0;
		return 0;
	}
	if (cJSON_IsString(v)) {
		s = v->valuestring;
		if (*s >= '0' && *s <= '9') {
			unsigned long long u = strtoull(s, &end, 10);

			if (*end == '\0') {
				if (u > max)
					return -1;
				*out = u;
				return 0;
			}
		}
	}
	if (get_double(v, &d) == -1 || d < 0 || d >= 18446744073709551616.0 ||
	    d > (double)max)
		return -1;
	*out = (uint64_t)d;
	if (*out > max)
		return -1;
	return 0;
}

/* Timestamps: "sec.usec" strings or numbers of seconds -> usec. */
static int
get_ts(const cJSON *v, uint64_t *usec)
{
	const char *s;
	uint64_t sec = 0, frac = 0;
	int digits = 0;
	double d;

	if (cJSON_IsString(v)) {
		s = v->valuestring;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (sec > 100000000000ull)
				return -1;
			sec = sec * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				if (digits < 6) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					digits++;
				}
		if (*s != '\0')
			return -1;
		for (; digits < 6; digits++)
			frac *= 10;
		*usec = sec * 1000000 + frac;
		return 0;
	}
	if (get_double(v, &d) == -1 || d < 0 || d > 1e11)
		return -1;
	*usec = (uint64_t)(d * 1e6 + 0.5);
	return 0;
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
	if (r & EJ_STR_TRUNCATED) {
		ej->ctr[C_STRINGS_TRUNCATED]++;
		if (flags != NULL)
			*flags |= EVP_F_TRUNCATED;
	}
	if (r & EJ_STR_BAD_UTF8)
		ej->ctr[C_STRINGS_BAD_UTF8]++;
}

/* Copies string `v` into a bounded field; a non-string is a wrong field. */
static void
set_str(struct ej *ej, char *dst, size_t cap, const cJSON *v, uint16_t *flags)
{
	if (!cJSON_IsString(v)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return;
	}
	note_str(ej, ej_strlcpy(dst, v->valuestring, cap), flags);
}

static void
set_u32(struct ej *ej, uint32_t *dst, const cJSON *v)
{
	uint64_t u;

	if (get_uint(v, UINT32_MAX, &u) == -1)
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
	else
		*dst = (uint32_t)u;
}

static void
set_u64(struct ej *ej, uint64_t *dst, const cJSON *v)
{
	uint64_t u;

	if (get_uint(v, UINT64_MAX, &u) == -1)
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
	else
		*dst = u;
}

/* Milliseconds (double) -> microseconds, saturating. */
static void
set_ms_us(struct ej *ej, uint32_t *dst, const cJSON *v)
{
	double d;

	if (get_double(v, &d) == -1 || d < 0) {
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
		switch (ek_lookup(c->string, S_PROC)) {
		case K_PID: set_u32(ej, &p->pid, c); break;
		case K_TID: set_u32(ej, &p->tid, c); break;
		case K_UID: set_u32(ej, &p->uid, c); break;
		case K_GID: set_u32(ej, &p->gid, c); break;
		case K_UID_NAME:
			set_str(ej, p->uid_name, sizeof(p->uid_name), c, flags);
			break;
		case K_GID_NAME:
			set_str(ej, p->gid_name, sizeof(p->gid_name), c, flags);
			break;
		case K_PATH:
			set_str(ej, p->path, sizeof(p->path), c, flags);
			break;
		case K_CMDLINE:
			set_str(ej, p->cmdline, sizeof(p->cmdline), c, flags);
			break;
		case K_VM_SIZE: set_u64(ej, &p->vm_size, c); break;
		case K_VM_PEAK: set_u64(ej, &p->vm_peak, c); break;
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
		switch (ek_lookup(c->string, S_CONT)) {
		case K_ID: set_str(ej, k->id, sizeof(k->id), c, flags); break;
		case K_NAME:
			set_str(ej, k->name, sizeof(k->name), c, flags);
			break;
		case K_POD: set_str(ej, k->pod, sizeof(k->pod), c, flags); break;
		case K_NS: set_str(ej, k->ns, sizeof(k->ns), c, flags); break;
		default:
			break;
		}
	}
}

/* {"DOCKER":{..}}, {"K8S":{..}} or nprobe's flat {"ID":..}.  0 or -1. */
static int
parse_container(struct ej *ej, struct evp_container *k, const cJSON *o,
    uint16_t *flags)
{
	const cJSON *c;

	if (!cJSON_IsObject(o)) {
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
		return -1;
	}
	for (c = o->child; c != NULL; c = c->next) {
		enum ek id = ek_lookup(c->string, S_CONT);

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
	parse_cont_level(ej, k, o, flags);
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
static int
ev_drop(struct ej *ej, enum col_counter reason, const char *why)
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
		switch (ek_lookup(c->string, S_TCP)) {
		case K_CONN_STATE:
			if (!cJSON_IsString(c) ||
			    (s = name_lookup(tcp_states, c->valuestring)) < 0)
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			else
				state = s;
			break;
		case K_SEGS_IN: set_u32(ej, &f->segs_in, c); break;
		case K_SEGS_OUT: set_u32(ej, &f->segs_out, c); break;
		case K_UNACK: set_u32(ej, &f->unack_segs, c); break;
		case K_RETRAN:
			set_u32(ej, &f->retrans[ls < 0 ? 0 : ls], c);
			break;
		case K_LOST: set_u32(ej, &f->lost_pkts, c); break;
		case K_RTT: set_ms_us(ej, &f->rtt_us, c); break;
		case K_RTT_VAR: set_ms_us(ej, &f->rtt_var_us, c); break;
		case K_BYTES_RCVD: set_u64(ej, &f->bytes_rcvd, c); break;
		case K_BYTES_ACKED: set_u64(ej, &f->bytes_acked, c); break;
		default:
			break;
		}
	}
	f->tcp_state = (uint8_t)state;
	f->flags |= EVP_F_ABSOLUTE | EVP_F_HAS_TCPINFO;
	return state;
}

static int
emit(struct ej *ej, uint16_t type, const void *body, size_t len)
{
	if (ej->emit(ej->emit_arg, type, body, len) == -1)
		return ev_drop(ej, C_DROP_EV_SEND, "output link refused it");
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
			enum ek id = ek_lookup(c->string, S_PROC);

			if (id == K_PID)
				set_u32(ej, &l->pid, c);
			else if (id == K_PATH)
				set_str(ej, l->proc, sizeof(l->proc), c, NULL);
		}
	}
	if (k[K_EXPORTER] != NULL)
		set_str(ej, l->host, sizeof(l->host), k[K_EXPORTER], NULL);
	if (emit(ej, EVP_LISTEN, l, sizeof(*l)) == -1)
		return -1;
	ej->ctr[C_RECORDS_LISTEN]++;
	return 0;
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
	struct jw w = { f->extra, EVP_EXTRA_MAX - 1, 0, 0, 0 };
	uint8_t a[2][16];
	uint16_t port[2] = { 0, 0 };
	uint64_t u, ts = 0;
	int agent, ipv = 0, ipv2 = 0, r, local, client, ls, rs, ev = 0;
	int state = -1;
	unsigned i;

	memset(k, 0, sizeof(k));
	memset(f, 0, EVP_FLOW_FIXED_LEN);
	for (c = o->child; c != NULL; c = c->next) {
		enum ek id = ek_lookup(c->string, S_TOP);

		if (id != K_NONE) {
			k[id] = c;
			continue;
		}
		if (jw_member(&w, c) == -1) {
			f->flags |= EVP_F_TRUNCATED;
			ej->ctr[C_EXTRA_TRUNCATED]++;
		}
	}
	if (w.bad_utf8)
		ej->ctr[C_STRINGS_BAD_UTF8]++;
	jw_close(&w);
	f->extra_len = (uint16_t)w.len;

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
		return ev_drop(ej, C_DROP_EV_MISSING_FIELD, "no addresses");
	if (r == -1 || ipv != ipv2)
		return ev_drop(ej, C_DROP_EV_BAD_ADDRESS, "bad address");
	if (v != NULL) {
		if (get_uint(v, 65535, &u) == -1)
			return ev_drop(ej, C_DROP_EV_WRONG_TYPE, "bad port");
		port[0] = (uint16_t)u;
	}
	if (c != NULL) {
		if (get_uint(c, 65535, &u) == -1)
			return ev_drop(ej, C_DROP_EV_WRONG_TYPE, "bad port");
		port[1] = (uint16_t)u;
	}

	/* Event type and protocol. */
	if ((v = k[K_TCP_EVENT]) != NULL || (v = k[K_UDP_EVENT]) != NULL) {
		if (!cJSON_IsString(v))
			return ev_drop(ej, C_DROP_EV_WRONG_TYPE,
			    "event type is not a string");
		if ((ev = name_lookup(ev_names, v->valuestring)) < 0)
			ev = EVP_EV_NONE;
		f->proto = v == k[K_TCP_EVENT] ? 6 : 17;
	}
	if (k[K_PROTOCOL] != NULL) {
		if (get_uint(k[K_PROTOCOL], 255, &u) == -1)
			return ev_drop(ej, C_DROP_EV_WRONG_TYPE, "bad protocol");
		f->proto = (uint8_t)u;
	} else if (k[K_TCP] != NULL)
		f->proto = 6;
	else if (f->proto == 0)
		return ev_drop(ej, C_DROP_EV_MISSING_FIELD, "no protocol");

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
	else {
		client = guess_client(port[0], port[1]);
		f->flags |= EVP_F_SIDES_GUESSED;
	}
	f->event = (uint8_t)ev;

	/* Timestamps. */
	if ((v = k[K_TIMESTAMP]) != NULL || (v = k[K_LAST]) != NULL) {
		if (get_ts(v, &ts) == -1)
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
	}
	if (k[K_FIRST] != NULL && get_ts(k[K_FIRST], &f->first_usec) == -1)
		ej->ctr[C_FIELDS_WRONG_TYPE]++;
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
		set_str(ej, f->ifname, sizeof(f->ifname), v, &f->flags);
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
		set_u32(ej, &f->retrans[ls == 1 ? 1 : 0], k[K_RETRAN]);
	if (k[K_SRC_VLAN] != NULL) {
		if (get_uint(k[K_SRC_VLAN], 4095, &u) == -1)
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
		else
			f->vlan = (uint16_t)u;
	}
	if (k[K_TCP_FLAGS] != NULL) {
		if (get_uint(k[K_TCP_FLAGS], 255, &u) == -1)
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
		if (get_uint(k[ck[i]], UINT64_MAX, &u) == -1) {
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
			continue;
		}
		if (i % 2 == 0)
			f->bytes[dir] = u;
		else
			f->pkts[dir] = u;
		f->flags |= EVP_F_HAS_COUNTERS;
	}
	if (emit(ej, EVP_FLOW, f, evp_flow_len(f)) == -1)
		return -1;
	ej->ctr[C_RECORDS_FLOW]++;
	return 0;
}

/* ---- counter topic ---- */

static int
counter_event(struct ej *ej, const cJSON *o)
{
	struct evp_ifcounter *ic = &ej->ifc;
	const cJSON *c;
	uint64_t ts = 0;
	int have_if = 0;

	memset(ic, 0, sizeof(*ic));
	ic->producer = ej->producer;
	for (c = o->child; c != NULL; c = c->next) {
		switch (ek_lookup(c->string, S_CTR)) {
		case K_TIMESTAMP:
			if (get_ts(c, &ts) == -1)
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			break;
		case K_DEVICE_IP:
			if (!cJSON_IsString(c) ||
			    evp_addr_parse(c->valuestring, ic->device) < 0) {
				memset(ic->device, 0, sizeof(ic->device));
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
			}
			break;
		case K_IF_INDEX:
			set_u32(ej, &ic->if_index, c);
			have_if = 1;
			break;
		case K_IFC_NAME:
			set_str(ej, ic->if_name, sizeof(ic->if_name), c, NULL);
			have_if = 1;
			break;
		case K_IF_TYPE: set_u32(ej, &ic->if_type, c); break;
		case K_IF_SPEED: set_u64(ej, &ic->if_speed, c); break;
		case K_IF_DIRECTION: set_u32(ej, &ic->if_direction, c); break;
		case K_IF_ADMIN: set_u32(ej, &ic->admin_status, c); break;
		case K_IF_OPER: set_u32(ej, &ic->oper_status, c); break;
		case K_IN_OCTETS: set_u64(ej, &ic->in_octets, c); break;
		case K_IN_PACKETS: set_u64(ej, &ic->in_pkts, c); break;
		case K_IN_ERRORS: set_u64(ej, &ic->in_errors, c); break;
		case K_OUT_OCTETS: set_u64(ej, &ic->out_octets, c); break;
		case K_OUT_PACKETS: set_u64(ej, &ic->out_pkts, c); break;
		case K_OUT_ERRORS: set_u64(ej, &ic->out_errors, c); break;
		case K_PROMISC: set_u32(ej, &ic->promisc, c); break;
		case K_SAMPLES: set_u64(ej, &ic->samples, c); break;
		default:
			break;	/* counters have no `extra` */
		}
	}
	if (!have_if)
		return ev_drop(ej, C_DROP_EV_MISSING_FIELD,
		    "counter without ifIndex or ifName");
	ic->ts_usec = ts != 0 ? ts : ej->now_usec;
	if (emit(ej, EVP_IFCOUNTER, ic, sizeof(*ic)) == -1)
		return -1;
	ej->ctr[C_RECORDS_IFCOUNTER]++;
	return 0;
}

/* ---- listening-ports topic ---- */

static int
listening_event(struct ej *ej, const cJSON *o)
{
	static const struct {
		const char *name;
		uint8_t ipv, proto;
	} fam[] = {
		{ "tcp4", 4, 6 }, { "udp4", 4, 17 },
		{ "tcp6", 6, 6 }, { "udp6", 6, 17 },
	};
	struct evp_listen *l = &ej->listen;
	const cJSON *lp, *host, *arr, *e, *c;
	uint64_t u;
	unsigned i;
	int bad = 0;

	lp = cJSON_GetObjectItemCaseSensitive(o, "listening-ports");
	if (!cJSON_IsObject(lp))
		return ev_drop(ej, lp == NULL ? C_DROP_EV_MISSING_FIELD :
		    C_DROP_EV_WRONG_TYPE, "no listening-ports object");
	host = cJSON_GetObjectItemCaseSensitive(o, "instance-name");
	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		arr = cJSON_GetObjectItemCaseSensitive(lp, fam[i].name);
		if (arr == NULL)
			continue;
		if (!cJSON_IsArray(arr)) {
			ej->ctr[C_FIELDS_WRONG_TYPE]++;
			continue;
		}
		for (e = arr->child; e != NULL; e = e->next) {
			memset(l, 0, sizeof(*l));
			c = cJSON_GetObjectItemCaseSensitive(e, "port");
			if (!cJSON_IsObject(e) || c == NULL ||
			    get_uint(c, 65535, &u) == -1) {
				ej->ctr[C_FIELDS_WRONG_TYPE]++;
				continue;
			}
			l->ts_usec = ej->now_usec;
			l->producer = ej->producer;
			l->ip_version = fam[i].ipv;
			l->proto = fam[i].proto;
			l->port = (uint16_t)u;
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "proc")) != NULL)
				set_str(ej, l->proc, sizeof(l->proc), c, NULL);
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "pkg")) != NULL)
				set_str(ej, l->pkg, sizeof(l->pkg), c, NULL);
			if ((c = cJSON_GetObjectItemCaseSensitive(e,
			    "pid")) != NULL)
				set_u32(ej, &l->pid, c);
			if (host != NULL)
				set_str(ej, l->host, sizeof(l->host), host,
				    NULL);
			if (ej->emit(ej->emit_arg, EVP_LISTEN, l,
			    sizeof(*l)) == -1)
				bad = 1;
			else
				ej->ctr[C_RECORDS_LISTEN]++;
		}
	}
	if (bad)
		return ev_drop(ej, C_DROP_EV_SEND, "output link refused it");
	return 0;
}

/* ---- event topic: the producer's health ---- */

/* Sums numeric members of `v` (a number, or an object of numbers). */
static uint64_t
sum_drops(const cJSON *v)
{
	const cJSON *c;
	uint64_t s = 0, u;

	if (cJSON_IsObject(v)) {
		for (c = v->child; c != NULL; c = c->next)
			if (cJSON_IsNumber(c) && get_uint(c, UINT64_MAX, &u) == 0)
				s += u;
		return s;
	}
	if (cJSON_IsNumber(v) && get_uint(v, UINT64_MAX, &u) == 0)
		return u;
	return 0;
}

static int
health_event(struct ej *ej, const cJSON *o)
{
	struct ej_health *h = &ej->health;
	struct jw w = { h->info, sizeof(h->info) - 1, 0, 0, 0 };
	const cJSON *c;
	int cut = 0;

	h->probe_drops = 0;
	for (c = o->child; c != NULL; c = c->next) {
		if (strcasestr(c->string, "drop") != NULL)
			h->probe_drops += sum_drops(c);
		if (jw_member(&w, c) == -1)
			cut = 1;
	}
	jw_close(&w);
	if (w.len == 0)
		memcpy(h->info, "{}", 3);
	if (cut)
		ej->ctr[C_STRINGS_TRUNCATED]++;
	h->seen = 1;
	ej->ctr[C_PRODUCER_EVENTS]++;
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
		return ev_drop(ej, C_DROP_EV_NOT_OBJECT, "not a JSON object");
	switch (topic) {
	case EJ_FLOW:
		r = flow_event(ej, o);
		break;
	case EJ_COUNTER:
		r = counter_event(ej, o);
		break;
	case EJ_LISTENING:
		r = listening_event(ej, o);
		break;
	case EJ_EVENT:
		r = health_event(ej, o);
		break;
	default:
		r = ev_drop(ej, C_DROP_EV_NOT_OBJECT, "unknown topic kind");
		break;
	}
	if (r == 0)
		ej->ctr[C_EVENTS_FORWARDED]++;
	return r;
}

int
ej_parse(struct ej *ej, enum ej_topic topic, const char *text, size_t len)
{
	cJSON *root;
	const cJSON *e;

	root = cJSON_ParseWithLength(text, len);
	if (root == NULL) {
		arena_rewind();
		return -1;
	}
	if (cJSON_IsArray(root)) {
		for (e = root->child; e != NULL; e = e->next)
			(void)one_event(ej, topic, e);
	} else
		(void)one_event(ej, topic, root);
	cJSON_Delete(root);
	arena_rewind();
	return 0;
}
