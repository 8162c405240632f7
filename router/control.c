/*
 * The router's control commands and what it reports:
 *
 *   stats                               counters, interfaces, senders (JSON)
 *   iface list                          the table with per-interface counters
 *   iface set NAME mirrored yes|no
 *   iface set NAME companion OTHER|none
 *
 * A change applies to the next record dispatched, is saved in the
 * router's state file (iface_state.c: so it survives a restart) and
 * goes to the store at once as EVP_IFACE with EVP_IFACE_F_CHANGED,
 * followed by the rest of the table, for the store to record.
 */
#include <stdio.h>
#include <string.h>

#include "common/counters.h"
#include "common/log.h"
#include "router.h"

const char *const router_counter_names[RC_MAX] = {
	[RC_RECEIVED] = "received",
	[RC_FORWARDED] = "forwarded",
	[RC_REPLAYED] = "replayed",
	[RC_REPLAY_UNSENT] = "replay_unsent",
	[RC_RX_FLOW] = "rx_flow",
	[RC_RX_IFCOUNTER] = "rx_ifcounter",
	[RC_RX_LISTEN] = "rx_listen",
	[RC_RX_PRODUCER] = "rx_producer",
	[RC_RX_STATS] = "rx_stats",
	[RC_RX_HOSTNAME] = "rx_hostname",
	[RC_DROP_UNKNOWN_IFACE] = "unknown_iface",
	[RC_DROP_BAD_RECORD] = "dropped_bad_record",
	[RC_DROP_UNEXPECTED_TYPE] = "dropped_unexpected_type",
	[RC_DROP_SEND] = "dropped_send",
	[RC_SEND_DROPPED] = "send_dropped",
	[RC_HOLDS] = "holds",
	[RC_HOLD_MS] = "hold_ms",
	[RC_HOLD_EXPIRED] = "hold_expired",
	[RC_HOLDING] = "holding",
	[RC_LOST] = "lost",
	[RC_BAD_MSGS] = "bad_msgs",
	[RC_IFNAME_MATCHED] = "ifname_matched",
	[RC_IFNAME_UNMATCHED] = "ifname_unmatched",
	[RC_IFNAME_SELF] = "ifname_self",
	[RC_COMPANION_DELIVERED] = "companion_delivered",
	[RC_COMPANION_SKIPPED_LOOPBACK] = "companion_skipped_loopback",
	[RC_COMPANION_SKIPPED_DUPLICATE] = "companion_skipped_duplicate",
	[RC_IFACE_CHANGES] = "iface_changes",
	[RC_IFACE_REFUSED] = "iface_refused",
	[RC_IFACE_SENT] = "iface_sent",
	[RC_STATS_SENT] = "stats_sent",
	[RC_CTL_REQUESTS] = "ctl_requests",
	[RC_STATE_DAMAGED] = "state_damaged",
	[RC_STATE_WRITE_ERRORS] = "state_write_errors",
};

void
control_sync_counters(void *arg)
{
	struct router *r = arg;

	r->ctr[RC_LOST] = r->in ? r->in->lost : 0;
	r->ctr[RC_BAD_MSGS] = r->in ? r->in->bad_msgs : 0;
	r->ctr[RC_SEND_DROPPED] = r->out ? r->out->dropped : 0;
	r->ctr[RC_HOLD_MS] = hold_ms(r);
	r->ctr[RC_HOLDING] = r->hold_since != 0;
	r->ctr[RC_CTL_REQUESTS] = r->ctl ? r->ctl->requests : 0;
	r->ctr[RC_STATE_DAMAGED] = r->state.damaged;
	r->ctr[RC_STATE_WRITE_ERRORS] = r->state.write_errors;
}

int
control_send_table(struct router *r)
{
	struct evp_iface e;
	unsigned k;
	int failed = 0;

	for (k = 0; k < r->tab.n; k++) {
		iface_to_evp(&r->tab.ifs[k], &e);
		if (router_put_own(r, EVP_IFACE, &e, sizeof(e)) == -1)
			failed = 1;
		else
			r->ctr[RC_IFACE_SENT]++;
	}
	if (link_out_flush(r->out) == -1 || failed) {
		LOG_RATELIMITED(log_warnx, "interface table not delivered to "
		    "the store; retrying");
		return -1;
	}
	for (k = 0; k < r->tab.n; k++)
		r->tab.ifs[k].changed = 0;
	return 0;
}

/*
 * Stats to the store: the global counters in one record, then the
 * per-interface counters as keys "iface<id>.<counter>" (the store's
 * interfaces.router_id names the id) under the same daemon name, packed
 * EVP_STATS_MAX keys per record.  The store upserts by (daemon, key).
 */
void
control_send_stats(struct router *r)
{
	struct counters c = { router_counter_names, r->ctr, RC_MAX };
	struct evp_stats *st = &r->stats;
	unsigned k, i;

	control_sync_counters(r);
	counters_to_stats(st, &c, EVP_ROLE_ROUTER, r->conf.name);
	if (router_put_own(r, EVP_STATS, st, sizeof(*st)) == 0)
		r->ctr[RC_STATS_SENT]++;
	st->count = 0;
	for (k = 0; k < r->tab.n; k++)
		for (i = 0; i < IFC_MAX; i++) {
			snprintf(st->key[st->count], sizeof(st->key[0]),
			    "iface%u.%s", k & 63, ifc_counter_names[i]);
			st->value[st->count++] = r->tab.ifs[k].ctr[i];
			if (st->count == EVP_STATS_MAX ||
			    (k + 1 == r->tab.n && i + 1 == IFC_MAX)) {
				if (router_put_own(r, EVP_STATS, st,
				    sizeof(*st)) == 0)
					r->ctr[RC_STATS_SENT]++;
				st->count = 0;
			}
		}
}

void
control_stats_extra(void *arg, struct buf *b)
{
	struct router *r = arg;
	const struct link_sender *s;
	unsigned k;

	buf_puts(b, ", \"interfaces\": ");
	iface_table_json(b, &r->tab);
	buf_puts(b, ", \"senders\": [");
	for (k = 0; r->in != NULL && k < r->in->nsenders; k++) {
		s = &r->in->senders[k];
		buf_puts(b, k ? ", {\"name\": " : "{\"name\": ");
		buf_json_str(b, s->hello.name);
		buf_puts(b, ", \"iface\": ");
		buf_json_str(b, s->hello.iface);
		buf_printf(b, ", \"role\": \"%s\", \"records\": %llu, "
		    "\"lost\": %llu}", evp_role_name(s->hello.role),
		    (unsigned long long)s->records,
		    (unsigned long long)s->lost);
	}
	buf_puts(b, "]");
}

/* iface set NAME mirrored yes|no | iface set NAME companion OTHER|none */
static void
iface_set(struct router *r, int argc, char **argv, struct buf *reply)
{
	char why[256];
	int on, rv;

	if (argc != 5) {
		buf_puts(reply, "error: usage: iface set NAME mirrored yes|no "
		    "| iface set NAME companion OTHER|none");
		r->ctr[RC_IFACE_REFUSED]++;
		return;
	}
	if (strcmp(argv[3], "mirrored") == 0) {
		if (conf_parse_bool(argv[4], &on) == -1) {
			buf_printf(reply, "error: mirrored: '%s' is not yes or "
			    "no", argv[4]);
			r->ctr[RC_IFACE_REFUSED]++;
			return;
		}
		rv = iface_table_set_mirrored(&r->tab, argv[2], on, why,
		    sizeof(why));
	} else if (strcmp(argv[3], "companion") == 0)
		rv = iface_table_set_companion(&r->tab, argv[2], argv[4], why,
		    sizeof(why));
	else {
		snprintf(why, sizeof(why), "unknown setting '%s' (mirrored, "
		    "companion)", argv[3]);
		rv = -1;
	}
	if (rv == -1) {
		r->ctr[RC_IFACE_REFUSED]++;
		buf_printf(reply, "error: %s", why);
		log_info("refused: iface set %s %s %s: %s", argv[2], argv[3],
		    argv[4], why);
		return;
	}
	r->ctr[RC_IFACE_CHANGES]++;
	log_info("iface set %s %s %s", argv[2], argv[3], argv[4]);
	if (state_record(&r->state, &r->tab, iface_table_find(&r->tab,
	    argv[2])) == -1) {
		snprintf(why, sizeof(why), "state full or name not storable");
		rv = -1;
	} else
		rv = state_save(&r->state, why, sizeof(why));
	if (rv == -1) {
		log_warnx("iface set %s: not saved: %s", argv[2], why);
		buf_printf(reply, "ok (applied; not saved, lost at restart: "
		    "%s)", why);
	} else
		buf_puts(reply, "ok");
	if (control_send_table(r) == -1)
		log_info("the store did not take the table; retrying");
}

void
control_handle(void *arg, int argc, char **argv, struct buf *reply)
{
	struct router *r = arg;

	if (strcmp(argv[0], "iface") == 0 && argc == 2 &&
	    strcmp(argv[1], "list") == 0)
		iface_table_json(reply, &r->tab);
	else if (strcmp(argv[0], "iface") == 0 && argc >= 2 &&
	    strcmp(argv[1], "set") == 0)
		iface_set(r, argc, argv, reply);
	else
		buf_printf(reply, "error: unknown command '%s' (ping, stats, "
		    "iface list, iface set NAME mirrored|companion VALUE)",
		    argv[0]);
}
