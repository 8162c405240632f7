/*
 * evflow-router: owns the interface table and dispatches every record
 * from collectors and captures to the interfaces it must land in
 * (evp_flow.iface_mask), then forwards it to the store.
 *
 *   iface_table.c   the table: declaration, lookups, runtime changes
 *   iface_state.c   runtime settings in the router's own state file
 *   dispatch.c      the rules: origin, IF_NAME match, companion
 *   control.c       the control socket commands (stats, iface ...)
 *   hold.c          backpressure: no input read while the store's link
 *                   is full
 *   main.c          options, configuration, the loop
 */
#ifndef EVFLOW_ROUTER_H
#define EVFLOW_ROUTER_H

#include <stdint.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/ctl.h"
#include "common/nnlink.h"
#include "proto/evflow.h"

#define ROUTER_STATS_USEC	1000000	/* stats to the store, period */
#define ROUTER_SEND_TIMEOUT_MS	1000	/* link_out backpressure bound */
#define ROUTER_POLL_BATCH	64	/* messages per link_in_poll */
/* Bytes of the store link's queue one input message may need: a legal
 * batch (at most EVP_BATCH_MAX_BYTES), an origin before each of its
 * records at worst, over at most two output batches, each with a hello. */
#define ROUTER_HOLD_ROOM	(2 * EVP_BATCH_MAX_BYTES)
_Static_assert(EVP_BATCH_MAX_BYTES + EVP_BATCH_MAX_RECORDS *
    (sizeof(struct evp_rec_hdr) + sizeof(struct evp_origin)) +
    2 * (sizeof(struct evp_rec_hdr) + sizeof(struct evp_hello)) <=
    ROUTER_HOLD_ROOM, "ROUTER_HOLD_ROOM holds one input batch forwarded");

/* Per-interface counters: what each rule delivered or skipped there. */
enum ifc_counter {
	IFC_RECEIVED,			/* records with this origin */
	IFC_DELIVERED,			/* flows landing here, any rule */
	IFC_ORIGIN_DELIVERED,		/* ... because they came from here */
	IFC_IFNAME_DELIVERED,		/* ... because IF_NAME named it */
	IFC_COMPANION_DELIVERED,	/* ... as the origin's companion */
	IFC_IFNAME_UNMATCHED,		/* origin: IF_NAME named no iface */
	IFC_IFNAME_SELF,		/* origin: IF_NAME named the origin */
	IFC_COMPANION_SKIPPED_LOOPBACK,	/* companion: loopback flow kept out */
	IFC_COMPANION_SKIPPED_DUPLICATE,/* companion: IF_NAME already did it */
	IFC_MAX
};

struct iface {
	unsigned	 id;		/* 0..63, bit in iface_mask */
	unsigned	 kind;		/* enum evp_iface_kind */
	int		 mirrored;	/* packet iface: mirrored traffic */
	int		 companion;	/* zmq iface: companion id, -1 = none */
	int		 changed;	/* runtime change not yet sent */
	char		 name[EVP_NAME_LEN];
	uint64_t	 ctr[IFC_MAX];
};

struct iface_table {
	unsigned	 n;
	struct iface	 ifs[EVP_MAX_IFACES];
};

extern const char *const ifc_counter_names[IFC_MAX];

/* iface_table.c */
/* Builds the table from the declared interfaces, `mirrored` names and
 * `companion` lines ("ZMQIFACE PACKETIFACE" or "ZMQIFACE none").
 * Returns 0, or -1 with the reason in err (nothing is half-built that
 * the caller must free: the table is plain memory). */
int	iface_table_build(struct iface_table *, const struct conf_list *,
	    const struct conf_list *, const struct conf_list *, char *,
	    size_t);
/* 1 if `name` names a ZMQ interface (contains "://"). */
int	iface_name_is_zmq(const char *);
/* The entry named exactly `name`, or NULL.  Borrowed from the table. */
struct iface *iface_table_find(struct iface_table *, const char *);
/* Runtime changes; same rules as the configuration.  Return 0 and mark
 * the entry changed, or -1 with a refusal reason in err. */
int	iface_table_set_mirrored(struct iface_table *, const char *, int,
	    char *, size_t);
int	iface_table_set_companion(struct iface_table *, const char *,
	    const char *, char *, size_t);
/* Fills the wire form of entry `i`. */
void	iface_to_evp(const struct iface *, struct evp_iface *);
/* JSON array of the table with each entry's counters (`iface list`). */
void	iface_table_json(struct buf *, const struct iface_table *);
/* Prints the table for `-n`, one line per interface. */
void	iface_table_dump(FILE *, const struct iface_table *);

/* iface_state.c: runtime settings kept in <datadir>/<name>.state. */
#define ROUTER_STATE_VERSION	1	/* first line: evflow-router-state 1 */
#define ROUTER_STATE_MAX	128	/* interfaces in the file */
#define STATE_FILE_MAX		65536	/* bytes of the file */

struct state_entry {
	char		name[EVP_NAME_LEN];
	int		mirrored;
	char		companion[EVP_NAME_LEN];	/* "" = none */
};

struct router_state {
	char		 path[CONF_STR_LEN + EVP_NAME_LEN + 16];
	unsigned	 n;
	struct state_entry e[ROUTER_STATE_MAX];
	uint64_t	 damaged;	/* files that did not parse */
	uint64_t	 write_errors;	/* saves that failed */
};

/* Empty state to be kept in `path`. */
void	state_init(struct router_state *, const char *);
/* Parses a whole file image.  0, or -1 with the reason (then empty). */
int	state_parse(struct router_state *, const char *, size_t, char *,
	    size_t);
/* Reads the file.  A missing file is empty state (0).  A damaged one
 * is counted, renamed to <path>.bad and leaves the state empty: -1 with
 * the reason, for the caller to log; never fatal. */
int	state_load(struct router_state *, char *, size_t);
/* Applies the entries to the table by its rules (entries for interfaces
 * not declared are kept, not applied).  Returns how many applied. */
int	state_apply(const struct router_state *, struct iface_table *);
/* Records the current settings of `i` (an entry of the table).  0, or
 * -1 if the state is full or the name cannot be written. */
int	state_record(struct router_state *, const struct iface_table *,
	    const struct iface *);
/* Writes the file atomically (temporary file, fsync, rename, fsync of
 * the directory).  0, or -1 with the reason (counted). */
int	state_save(struct router_state *, char *, size_t);

/* Global counters of the router. */
enum router_counter {
	RC_RECEIVED,		/* records from link_in */
	RC_FORWARDED,		/* records handed to link_out */
	RC_REPLAYED,		/* resent records, counted once already */
	RC_REPLAY_UNSENT,	/* ... link_out refused (the store asks again) */
	RC_RX_FLOW,
	RC_RX_IFCOUNTER,
	RC_RX_LISTEN,
	RC_RX_PRODUCER,
	RC_RX_STATS,
	RC_RX_HOSTNAME,
	RC_DROP_UNKNOWN_IFACE,	/* sender's hello.iface not declared */
	RC_DROP_BAD_RECORD,	/* failed evp_decode_* */
	RC_DROP_UNEXPECTED_TYPE,/* a type senders must not send */
	RC_DROP_SEND,		/* link_out_put refused the record */
	RC_SEND_DROPPED,	/* link_out lost records on send */
	RC_HOLDS,		/* times input stopped: store link full */
	RC_HOLD_MS,		/* milliseconds spent so, in all */
	RC_HOLD_EXPIRED,	/* router.hold_max reached: read on */
	RC_HOLDING,		/* 1 while it holds (a gauge): evflowctl
				   status then names the store, not it */
	RC_LOST,		/* link_in sequence gaps */
	RC_BAD_MSGS,		/* link_in malformed batches */
	RC_IFNAME_MATCHED,
	RC_IFNAME_UNMATCHED,
	RC_IFNAME_SELF,
	RC_COMPANION_DELIVERED,
	RC_COMPANION_SKIPPED_LOOPBACK,
	RC_COMPANION_SKIPPED_DUPLICATE,
	RC_IFACE_CHANGES,	/* accepted runtime changes */
	RC_IFACE_REFUSED,	/* refused runtime changes */
	RC_IFACE_SENT,		/* EVP_IFACE records sent */
	RC_STATS_SENT,		/* EVP_STATS records sent */
	RC_CTL_REQUESTS,
	RC_STATE_DAMAGED,	/* state files that did not parse */
	RC_STATE_WRITE_ERRORS,	/* state saves that failed */
	RC_MAX
};

extern const char *const router_counter_names[RC_MAX];

struct router_conf {
	char		 datadir[CONF_STR_LEN];
	char		 name[EVP_NAME_LEN];
	char		 router_endpoint[CONF_STR_LEN];
	char		 store_endpoint[CONF_STR_LEN];
	long long	 log_level;
	long long	 iface_resend;	/* seconds */
	long long	 hold_max;	/* seconds */
	struct conf_list interface;
	struct conf_list mirrored;
	struct conf_list companion;
	struct link_conf link;		/* common/nnlink.h */
};

/* An input sender as its origins go out: the last record seen and the
 * first of the run of dropped records ending there (0: none); and the
 * sequence after the highest it counted (0: none): a record below it
 * is a resend (a replay), counted only in RC_REPLAYED. */
struct router_track {
	uint64_t	 id, last, run_from, next;
};

struct router {
	struct router_conf conf;
	struct iface_table tab;
	struct link_in	*in;
	struct link_out	*out;
	struct ctl	*ctl;		/* borrowed from the daemon skeleton */
	uint64_t	 ctr[RC_MAX];
	/* last sender seen and its interface: most batches come from one */
	uint64_t	 last_sender;
	int		 last_iface;
	struct router_state state;
	struct evp_flow	 flow;		/* scratch: the network part of the
					   flow being dispatched */
	uint8_t		 wire[EVP_FLOW_WIRE_MAX]; /* its wire form, patched */
	struct evp_stats stats;		/* scratch: the stats being sent */
	/* Origins (proto EVP_ORIGIN): the origin the store takes the
	 * next record of the output batch to have (sender 0: the
	 * router's own), and per input sender (by its slot in r->in)
	 * the last record seen and the run of dropped ones before it. */
	uint64_t	 org_sender, org_next;
	struct router_track trk[LINK_MAX_SENDERS];
	int		 replay;	/* the record being handled is one */
	/* hold.c: monotonic usec the hold in progress began (0: reading),
	 * the last router.hold_max expiry (0: none since the store last
	 * took a batch), and the time of the holds that ended */
	uint64_t	 hold_since, hold_expired_usec, hold_usec;
	int		 out_stuck;	/* the send fd said writable and
					   nothing went: wait for the retry */
};

/* dispatch.c */
/* Sets f->iface and f->iface_mask for a flow from interface `origin`
 * and counts every rule in the table's and the global counters (`rc`;
 * NULL: a replay, counts nothing).  Returns the mask. */
uint64_t dispatch_flow(struct iface_table *, struct iface *,
	    struct evp_flow *, uint64_t *);
/* 1 if the flow is loopback by its flag or either address. */
int	dispatch_is_loopback(const struct evp_flow *);
/* Puts one of the router's own records (stats, interface table) on
 * the output; 0 or -1 as link_out_put. */
int	router_put_own(struct router *, uint16_t, const void *, size_t);
/* link_in callback: decodes, dispatches and forwards one record. */
void	dispatch_record(void *, const struct link_sender *,
	    const struct evp_rec_hdr *, const void *);

/* hold.c */
/* Messages the loop may read from its input now (at most
 * ROUTER_POLL_BATCH): 0 while the store's link is full and the router
 * holds; starts, ends and counts holds and their router.hold_max. */
int	hold_budget(struct router *, uint64_t);
/* Monotonic usec the hold in progress reaches router.hold_max, or
 * UINT64_MAX when not holding. */
uint64_t hold_deadline(const struct router *);
/* Milliseconds held in all, the hold in progress included. */
uint64_t hold_ms(const struct router *);

/* control.c */
void	control_handle(void *, int, char **, struct buf *);
/* Sends the whole table as EVP_IFACE records (changed entries flagged)
 * and flushes.  Returns 0, or -1 if the send failed (entries stay
 * marked changed and go again next time). */
int	control_send_table(struct router *);
void	control_send_stats(struct router *);
/* Stats frame hooks (common/daemon.h): copies the counters the links
 * and the control socket keep; appends interfaces and senders. */
void	control_sync_counters(void *);
void	control_stats_extra(void *, struct buf *);

#endif
