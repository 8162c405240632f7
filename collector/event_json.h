/*
 * Internals shared by event_json.c, event_topics.c and json_text.c
 * (not used outside the JSON decoder).
 */
#ifndef EVFLOW_COLLECTOR_EVENT_JSON_H
#define EVFLOW_COLLECTOR_EVENT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "collector.h"

/* Every key the decoder knows, by scope; names in event_json.c. */
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
	K_TCP_FLAGS, K_SRC_VLAN, K_SYS_INIT,
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

/* The key id of `name` if it is known in `scope`, else K_NONE. */
enum ek	ej_key(const char *, unsigned);

/* Field setters: a value of the wrong type is ignored and counted
 * (C_FIELDS_WRONG_TYPE); strings are cut and cleaned by jt_strlcpy,
 * setting EVP_F_TRUNCATED in *flags when not NULL. */
void	ej_set_str(struct ej *, char *, size_t, const cJSON *, uint16_t *);
void	ej_set_u32(struct ej *, uint32_t *, const cJSON *);
void	ej_set_u64(struct ej *, uint64_t *, const cJSON *);
/* Counts and logs (rate-limited) a dropped event; returns -1. */
int	ej_drop(struct ej *, enum col_counter, const char *);
/* Hands a record to the emitter; a refusal is a dropped event (-1). */
int	ej_emit(struct ej *, uint16_t, const void *, size_t);

/* event_topics.c: one object of each topic.  0 forwarded, -1 dropped. */
int	ej_counter(struct ej *, const cJSON *);
int	ej_listening(struct ej *, const cJSON *);
int	ej_health(struct ej *, const cJSON *);

/* ---- json_text.c ---- */

#define JW_MAX_DEPTH	8	/* deeper values are left out */

struct jt_writer {
	char	*p;
	size_t	 cap;	/* usable bytes, NUL excluded */
	size_t	 len;
	int	 over;
	int	 bad_utf8;
};

/* Appends member `c` (key and value) to the object built in `w`, room
 * for the closing brace kept; a member that does not fit is left out
 * whole.  0, or -1 if it was left out. */
int	jt_member(struct jt_writer *, const cJSON *);
/* Appends member "key": n (a number) the same way. */
int	jt_member_uint(struct jt_writer *, const char *, uint64_t);
/* Closes the object (if any member was written) and NUL-terminates. */
void	jt_close(struct jt_writer *);

/* The trailing commas json-c accepts (`[1,]`, `{"a":1,}`, nothing
 * looser): whether `s` has one, and a copy of `s` without them into
 * `out` (at least `len` bytes), returning its length. */
int	jt_has_trailing_comma(const char *, size_t);
int	jt_ends_with_trailing_comma(const char *, size_t);
size_t	jt_strip_trailing_commas(const char *, size_t, char *);

/* Typed getters: 0, or -1 for a wrong type or range. */
/* A number, or a string holding one (NW_LATENCY_MS is "0.221"). */
int	jt_double(const cJSON *, double *);
/* An unsigned integer up to `max`; numeric strings and booleans too. */
int	jt_uint(const cJSON *, uint64_t, uint64_t *);
/* "sec.usec" strings or numbers of seconds -> microseconds. */
int	jt_ts(const cJSON *, uint64_t *);

#endif
