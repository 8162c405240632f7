/*
 * One ZMQ message from frames to records: frame count, header, topic,
 * producer accounting, payload decoding, JSON.  Every message ends in
 * exactly one of msgs_decoded, msgs_ignored or one drop_msg_* counter.
 */
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
	[C_DROP_MSG_TLV] = "drop_msg_bad_tlv",
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
	[C_MSGS_TLV] = "msgs_tlv",
	[C_JSON_TRAILING_COMMAS] = "json_trailing_commas",
	[C_TIMES_CORRECTED] = "times_corrected",
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
	[C_RECORDS_PENDING] = "records_pending",
	[C_REPLAY_BUFFERED] = "replay_buffered",
	[C_REPLAYED] = "replayed",
	[C_REPLAY_DROPPED] = "replay_dropped",
	[C_ACKED] = "acked",
	[C_STORE_RESTARTS] = "store_restarts",
	[C_PRODUCERS_STALE] = "producers_stale",
	[C_STATE_WRITE_ERRORS] = "state_write_errors",
	[C_STATE_DAMAGED] = "state_damaged",
	[C_OVER_INFLATE_RATIO] = "msgs_over_inflate_ratio",
	[C_OVER_EVENTS] = "msgs_over_events",
	[C_OVER_DEPTH] = "msgs_over_json_depth",
	[C_OVER_NODES] = "msgs_over_json_nodes",
};

/*
 * Bit masks of one 64-byte block: backslashes, quotes, and the
 * structural bytes `[{]},`.  SSE2 where the compiler has it (every
 * x86-64), else a byte loop.
 */
struct jb_masks {
	uint64_t	 bs, quote, st;
};

#if defined(__SSE2__)
static void
jb_block(const char *p, struct jb_masks *m)
{
	const __m128i bs = _mm_set1_epi8('\\'), qt = _mm_set1_epi8('"'),
	    cm = _mm_set1_epi8(','), op = _mm_set1_epi8('{'),
	    cl = _mm_set1_epi8('}'), lc = _mm_set1_epi8(0x20);
	unsigned k;

	m->bs = m->quote = m->st = 0;
	for (k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)
		    (p + 16 * k));
		/* '[' | 0x20 == '{' and ']' | 0x20 == '}' */
		__m128i f = _mm_or_si128(v, lc);
		__m128i s = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(f, op),
		    _mm_cmpeq_epi8(f, cl)), _mm_cmpeq_epi8(v, cm));

		m->bs |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, bs)) << (16 * k);
		m->quote |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, qt)) << (16 * k);
		m->st |= (uint64_t)(uint16_t)_mm_movemask_epi8(s) << (16 * k);
	}
}
#else
static void
jb_block(const char *p, struct jb_masks *m)
{
	unsigned k;

	m->bs = m->quote = m->st = 0;
	for (k = 0; k < 64; k++) {
		char c = p[k];

		if (c == '\\')
			m->bs |= 1ull << k;
		else if (c == '"')
			m->quote |= 1ull << k;
		else if (c == '[' || c == '{' || c == ']' || c == '}' ||
		    c == ',')
			m->st |= 1ull << k;
	}
}
#endif

/* Each bit set from an opening quote up to (not including) its
 * closing one: the prefix XOR of the quote bits. */
static uint64_t
jb_prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/*
 * One pass over the text: depth from brackets, values as 1 + commas +
 * non-empty containers (exact for valid JSON), events as the elements
 * of a top-level array.  Strings are skipped, and a backslash escapes
 * the next byte wherever it is (outside strings JSON has none: such
 * text fails to parse anyway).  64 bytes at a time: bit masks find the
 * escapes, the strings (prefix XOR of the unescaped quotes) and the
 * structural bytes outside them; only those are looked at, so a
 * hostile `[{},{},...]` costs a scan, not a tree, and an ordinary
 * event a few dozen steps.
 */
int
json_bounds_check(const struct json_bounds *b, const char *s, size_t n)
{
	unsigned long depth = 0, nodes = 1, events = 0;
	uint64_t esc_carry = 0, in_str = 0, esc, bits, t;
	int top_array = 0;
	char pad[64];
	const char *p;
	struct jb_masks m;
	size_t i, j;
	unsigned k;
	char c;

	for (i = 0; i < n; i += 64) {
		if (n - i >= 64)
			p = s + i;
		else {
			memset(pad, ' ', sizeof(pad));
			memcpy(pad, s + i, n - i);
			p = pad;
		}
		jb_block(p, &m);
		/* Escaped bytes: each backslash not itself escaped escapes
		 * the next byte (the block's first: from the last block). */
		esc = esc_carry;
		esc_carry = 0;
		for (bits = m.bs; bits != 0; bits &= bits - 1) {
			k = (unsigned)__builtin_ctzll(bits);
			if (esc & (1ull << k))
				continue;
			if (k == 63)
				esc_carry = 1;
			else
				esc |= 1ull << (k + 1);
		}
		t = jb_prefix_xor(m.quote & ~esc) ^ in_str;
		in_str = (uint64_t)0 - (t >> 63);
		for (bits = m.st & ~esc & ~t; bits != 0; bits &= bits - 1) {
			k = (unsigned)__builtin_ctzll(bits);
			c = p[k];
			if (c == ']' || c == '}') {
				if (depth > 0)
					depth--;
				continue;
			}
			if (c == ',') {
				nodes++;
				if (depth == 1 && top_array &&
				    ++events > b->max_events)
					return C_OVER_EVENTS;
			} else {
				if (depth == 0 && c == '[')
					top_array = 1;
				if (++depth > b->max_depth)
					return C_OVER_DEPTH;
				if (nodes > b->max_nodes)
					return C_OVER_NODES;
				/* A first element: the next byte that is
				 * not white space closes nothing. */
				for (j = i + k + 1; j < n && (s[j] == ' ' ||
				    s[j] == '\t' || s[j] == '\n' ||
				    s[j] == '\r'); j++)
					;
				if (j < n && s[j] != ']' && s[j] != '}') {
					nodes++;
					if (depth == 1 && top_array &&
					    ++events > b->max_events)
						return C_OVER_EVENTS;
					/* A bracket or comma there is
					 * checked first (its turn next). */
					if (s[j] == '[' || s[j] == '{' ||
					    s[j] == ',')
						continue;
				}
			}
			if (nodes > b->max_nodes)
				return C_OVER_NODES;
		}
	}
	return 0;
}

int
ingest_init(struct ingest *in, size_t max_payload, ej_emit_fn fn, void *arg)
{
	memset(in, 0, sizeof(*in));
	if (zf_inflater_init(&in->zi, max_payload) == -1)
		return -1;
	in->zi.max_ratio = ZF_DEFAULT_RATIO;
	in->jb.max_events = JB_DEFAULT_EVENTS;
	in->jb.max_depth = JB_DEFAULT_DEPTH;
	in->jb.max_nodes = JB_DEFAULT_NODES;
	if ((in->prods = producers_new(in->ctr)) == NULL) {
		zf_inflater_free(&in->zi);
		return -1;
	}
	ej_init(&in->ej, in->ctr, fn, arg);
	return 0;
}

void
ingest_free(struct ingest *in)
{
	zf_inflater_free(&in->zi);
	producers_free(in->prods);
	in->prods = NULL;
}

/* Topics, matched exactly (FIX: ntopng looks at the first letter only). */
enum topic { T_FLOW, T_EVENT, T_COUNTER, T_LISTENING, T_HELLO, T_EBPF,
    T_UNKNOWN };

static enum topic
topic_of(const char *t)
{
	static const struct {
		const char *name;
		enum topic t;
	} topics[] = {
		{ "flow", T_FLOW }, { "event", T_EVENT },
		{ "counter", T_COUNTER }, { "listening-ports", T_LISTENING },
		{ "hello", T_HELLO }, { "ebpf", T_EBPF },
	};
	size_t i;

	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (strcmp(t, topics[i].name) == 0)
			return topics[i].t;
	return T_UNKNOWN;
}

/* Counts a dropped message (and against its producer, if known). */
static void
msg_drop(struct ingest *in, struct producer *p, enum col_counter c,
    const char *peer, const char *topic)
{
	in->ctr[c]++;
	if (p != NULL)
		p->rec.bad_msgs++;
	LOG_RATELIMITED(log_warnx, "message from %s (topic '%s') dropped: %s",
	    peer, topic, collector_counter_names[c]);
}

/* Counts a message refused by a bound per message (`over`, a C_OVER_*
 * counter): one drop_msg_too_large, and the bound in the log line. */
static void
msg_over(struct ingest *in, struct producer *p, enum col_counter over,
    const char *peer, const char *topic)
{
	in->ctr[over]++;
	in->ctr[C_DROP_MSG_TOO_LARGE]++;
	if (p != NULL)
		p->rec.bad_msgs++;
	LOG_RATELIMITED(log_warnx, "message from %s (topic '%s') dropped: %s "
	    "(%s)", peer, topic, collector_counter_names[over],
	    collector_counter_names[C_DROP_MSG_TOO_LARGE]);
}

void
ingest_msg(struct ingest *in, const uint8_t *hdr, size_t hlen,
    const uint8_t *pay, size_t plen, unsigned nframes, const char *peer,
    int conn, uint64_t now_mono, uint64_t now_wall)
{
	static const enum ej_topic ejt[] = { [T_FLOW] = EJ_FLOW,
	    [T_EVENT] = EJ_EVENT, [T_COUNTER] = EJ_COUNTER,
	    [T_LISTENING] = EJ_LISTENING };
	struct zf_header h;
	struct producer *p;
	enum zf_result r;
	enum topic t;
	const uint8_t *text;
	size_t tlen;
	uint64_t fwd;
	int over;

	in->ctr[C_MSGS_RECEIVED]++;
	in->ctr[C_BYTES_RECEIVED] += plen;
	if (nframes < 2) {
		msg_drop(in, NULL, C_DROP_MSG_ONE_FRAME, peer, "");
		return;
	}
	r = zf_header_decode(hdr, hlen, &h);
	if (r == ZF_BAD_HEADER) {
		msg_drop(in, NULL, C_DROP_MSG_BAD_HEADER, peer, "");
		return;
	}
	if (r == ZF_UNSUPPORTED_VERSION) {
		msg_drop(in, NULL, C_DROP_MSG_UNSUPPORTED_VERSION, peer,
		    h.topic);
		return;
	}
	in->ctr[C_MSGS_V0 + h.version]++;
	p = producers_seen(in->prods, peer, conn, h.source_id, h.has_msg_id,
	    h.msg_id, now_mono);
	p->rec.ts_usec = now_wall;
	in->ctr[C_PRODUCERS_ACTIVE] = in->prods->n;
	if (nframes > 2) {
		msg_drop(in, p, C_DROP_MSG_TOO_MANY_FRAMES, peer, h.topic);
		return;
	}
	switch ((t = topic_of(h.topic))) {
	case T_HELLO:
		in->ctr[C_MSGS_IGNORED]++;
		return;
	case T_EBPF:
		msg_drop(in, p, C_DROP_MSG_EBPF_TOPIC, peer, h.topic);
		return;
	case T_UNKNOWN:
		msg_drop(in, p, C_DROP_MSG_UNKNOWN_TOPIC, peer, h.topic);
		return;
	default:
		break;
	}
	switch ((r = zf_payload_decode(&in->zi, &h, pay, plen, &text, &tlen))) {
	case ZF_OK:
	case ZF_TLV:
		break;
	case ZF_BAD_ZLIB:
		msg_drop(in, p, C_DROP_MSG_BAD_ZLIB, peer, h.topic);
		return;
	case ZF_TOO_LARGE:
		msg_drop(in, p, C_DROP_MSG_TOO_LARGE, peer, h.topic);
		return;
	case ZF_OVER_RATIO:
		msg_over(in, p, C_OVER_INFLATE_RATIO, peer, h.topic);
		return;
	default:
		msg_drop(in, p, C_DROP_MSG_BAD_HEADER, peer, h.topic);
		return;
	}
	if (text != pay)
		in->ctr[C_BYTES_INFLATED] += tlen;
	/* JSON over a bound: refused whole, before any event is made. */
	if (r == ZF_OK && (over = json_bounds_check(&in->jb,
	    (const char *)text, tlen)) != 0) {
		msg_over(in, p, (enum col_counter)over, peer, h.topic);
		return;
	}
	in->ej.producer = p->id;
	in->ej.now_usec = now_wall;
	in->ej.health.seen = 0;
	fwd = in->ctr[C_EVENTS_FORWARDED];
	if (r == ZF_TLV) {
		if (ej_parse_tlv(&in->ej, ejt[t], text, tlen) == -1) {
			msg_drop(in, p, C_DROP_MSG_TLV, peer, h.topic);
			return;
		}
	} else if (ej_parse(&in->ej, ejt[t], (const char *)text, tlen) == -1) {
		msg_drop(in, p, C_DROP_MSG_BAD_JSON, peer, h.topic);
		return;
	}
	in->ctr[C_MSGS_DECODED]++;
	p->rec.events += in->ctr[C_EVENTS_FORWARDED] - fwd;
	if (in->ej.health.seen) {
		memcpy(p->rec.info, in->ej.health.info, sizeof(p->rec.info));
		p->rec.probe_drops = in->ej.health.probe_drops;
	}
}

void
ingest_producer_records(struct ingest *in)
{
	unsigned i;

	for (i = 0; i < in->prods->n; i++) {
		if (in->ej.emit(in->ej.emit_arg, EVP_PRODUCER,
		    &in->prods->tab[i].rec, sizeof(in->prods->tab[i].rec)) == 0)
			in->ctr[C_RECORDS_PRODUCER]++;
	}
	in->ctr[C_PRODUCERS_ACTIVE] = in->prods->n;
}
