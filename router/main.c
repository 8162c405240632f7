/*
 * evflow-router: options, configuration, set-up and the loop.
 *
 * One poll loop on the record input, the control socket and, while
 * batches wait for the store, the output's send descriptor; its timeout
 * is the nearest deadline of: the pending output batch or the retry of
 * the queue, the stats tick (every second), the interface table resend
 * (every iface_resend) and the end of a hold (router.hold_max).  The
 * input is not read while the output is full (hold.c).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/paths.h"
#include "router.h"

#define STR(field) offsetof(struct router_conf, field), \
	sizeof(((struct router_conf *)0)->field)

static const struct conf_directive router_conf_table[] = {
	{ "datadir", CONF_STR, STR(datadir), PATHS_DEFAULT_DATADIR, 0, 0,
	  "data directory: sockets, state file (<name>.state)" },
	{ "name", CONF_STR, STR(name), "router", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "router_endpoint", CONF_STR, STR(router_endpoint), NULL, 0, 0,
	  "record input, bound (default ipc://<datadir>/router.ipc)" },
	{ "store_endpoint", CONF_STR, STR(store_endpoint), NULL, 0, 0,
	  "record output, connected (default ipc://<datadir>/store.ipc)" },
	{ "log_level", CONF_INT, offsetof(struct router_conf, log_level), 0,
	  "1", 0, 2, "0 warnings, 1 info, 2 debug" },
	{ "router.iface_resend", CONF_SECONDS,
	  offsetof(struct router_conf, iface_resend), 0, "5s", 1, 3600,
	  "period of sending the interface table to the store" },
	{ "router.hold_max", CONF_SECONDS,
	  offsetof(struct router_conf, hold_max), 0, "60s", 1, 86400,
	  "while the link to the store is full the router stops reading "
	  "its input (the senders wait); a store that takes nothing for "
	  "this long is gone: read on, dropping what does not fit "
	  "(counted: hold_expired, send_dropped)" },
	{ "interface", CONF_LIST, offsetof(struct router_conf, interface), 0,
	  NULL, 0, 0, "an interface: a ZMQ endpoint list (tcp://*:1234c) or "
	  "a packet interface (eth0, a pcap path); repeat, ids in order" },
	{ "mirrored", CONF_LIST, offsetof(struct router_conf, mirrored), 0,
	  NULL, 0, 0, "a packet interface receiving mirrored traffic" },
	{ "companion", CONF_LIST, offsetof(struct router_conf, companion), 0,
	  NULL, 0, 0, "'ZMQIFACE PACKETIFACE': the packet interface (must be "
	  "mirrored) that also gets the ZMQ interface's events" },
	/* A store that stalls (a long commit, a busy machine) for less
	 * than ~1.5 s of input at 100,000 records/s costs no resends. */
	LINK_CONF_DIRECTIVES_Q(struct router_conf, link, "64M"),
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

/* -i IFACE: repeatable; the flags replace the file's list. */
static const struct daemon_flag router_flags[] = {
	{ 'i', NULL, 1, "interface", NULL },
	{ 0, NULL, 0, NULL, NULL }
};

/* The configuration (common/daemon.h) and the interface table built
 * from it.  Exits with the reason on error. */
static void
configure(struct router *r, struct daemon *d, int argc, char **argv)
{
	char err[512];

	d->prog = "evflow-router";
	d->synopsis = "evflow-router [-nvh] [-f file] [-d datadir] [-N name] "
	    "[-o key=value] [-i iface ...]";
	d->flags_help = "  -i IFACE  declare an interface (repeatable; replaces "
	    "the file's list)\n";
	d->table = router_conf_table;
	d->cfg = &r->conf;
	d->own = router_flags;
	daemon_configure(d, argc, argv);
	if (iface_table_build(&r->tab, &r->conf.interface, &r->conf.mirrored,
	    &r->conf.companion, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/* Applies the saved interface settings and opens the sockets. */
static void
setup(struct router *r, struct daemon *d)
{
	char in_ep[CONF_STR_LEN + 16], out_ep[CONF_STR_LEN + 16];
	char err[512], path[sizeof(r->state.path)], file[EVP_NAME_LEN + 8];
	unsigned k;
	int n;

	/* Runtime settings of the last run, from the router's own file. */
	snprintf(file, sizeof(file), "%s.state", r->conf.name);
	if (paths_file(path, sizeof(path), NULL, r->conf.datadir, file) == -1)
		fatalx("state file path too long");
	state_init(&r->state, path);
	if (state_load(&r->state, err, sizeof(err)) == -1)
		log_warnx("%s ignored (damaged; kept as %s.bad): %s", path,
		    path, err);
	if ((n = state_apply(&r->state, &r->tab)) > 0)
		log_info("%d saved interface settings applied from %s", n,
		    path);
	for (k = 0; k < r->tab.n; k++)
		r->tab.ifs[k].changed = 0;	/* not new: the store has them */
	if (paths_endpoint(in_ep, sizeof(in_ep), r->conf.router_endpoint,
	    r->conf.datadir, "router.ipc") == -1 ||
	    paths_endpoint(out_ep, sizeof(out_ep), r->conf.store_endpoint,
	    r->conf.datadir, "store.ipc") == -1)
		fatalx("endpoint too long");
	r->last_iface = -1;
	if (nnlink_configure(&r->conf.link, r->conf.datadir) == -1)
		fatalx("ack endpoint too long");
	if ((r->out = link_out_new(out_ep, 0, EVP_ROLE_ROUTER, r->conf.name,
	    "", ROUTER_SEND_TIMEOUT_MS, err, sizeof(err))) == NULL)
		fatalx("store link: %s", err);
	if ((r->in = link_in_new(in_ep, 1, dispatch_record, r, err,
	    sizeof(err))) == NULL)
		fatalx("input: %s", err);
	daemon_counters(d, router_counter_names, r->ctr, RC_MAX);
	d->stats_sync = control_sync_counters;
	d->stats_extra = control_stats_extra;
	daemon_ctl_open(d, "router", control_handle, r);
	r->ctl = d->ctl;
	log_info("%u interfaces; input %s, output %s, control %s",
	    r->tab.n, in_ep, out_ep, d->ctl_endpoint);
}

/* Polls the input only while the router may read it (hold.c), and
 * the output's send descriptor while batches wait for the store (they
 * go as soon as it takes them, not at the next retry). */
static void
loop(struct router *r)
{
	struct pollfd pfd[3];
	uint64_t now, next_stats, next_table, msgs;
	int timeout, in_fd, out_fd, budget;

	if (control_send_table(r) == -1)
		log_info("store not reachable yet; table will be resent");
	now = clock_mono_usec();
	next_stats = now + ROUTER_STATS_USEC;
	next_table = now + (uint64_t)r->conf.iface_resend * 1000000u;
	in_fd = nnlink_recv_fd(r->in->sock);
	out_fd = nnlink_send_fd(r->out->sock);
	pfd[1].fd = ctl_fd(r->ctl);
	if (in_fd == -1 || out_fd == -1 || pfd[1].fd == -1)
		fatalx("nanomsg: no pollable descriptor");
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	while (!sig_quit) {
		now = clock_mono_usec();
		pfd[0].fd = hold_budget(r, now) > 0 ? in_fd : -1;
		pfd[2].fd = r->out->qsend != NULL && !r->out_stuck ? out_fd :
		    -1;
		timeout = deadline_timeout(deadline_min(deadline_min(
		    deadline_min(link_out_deadline(r->out), next_stats),
		    next_table), hold_deadline(r)), now, 1000);
		if (poll(pfd, 3, timeout) == -1 && errno != EINTR)
			fatal("poll");
		now = clock_mono_usec();
		if (now >= link_out_deadline(r->out)) {
			r->out_stuck = 0;
			(void)link_out_flush(r->out);
		} else if (pfd[2].fd != -1 && (pfd[2].revents & POLLIN)) {
			msgs = r->out->msgs;
			(void)link_out_flush(r->out);
			r->out_stuck = r->out->msgs == msgs;
		}
		if ((budget = hold_budget(r, now)) > 0 &&
		    link_in_poll(r->in, budget) == -1)
			LOG_RATELIMITED(log_warnx, "input socket error");
		ctl_poll(r->ctl);
		now = clock_mono_usec();
		if (deadline_due(&next_stats, now, ROUTER_STATS_USEC))
			control_send_stats(r);
		if (deadline_due(&next_table, now,
		    (uint64_t)r->conf.iface_resend * 1000000u))
			(void)control_send_table(r);
	}
	control_send_stats(r);
	(void)link_out_flush(r->out);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct router *r;

	log_init("evflow-router", LOG_LVL_INFO);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	configure(r, &d, argc, argv);
	if (d.check) {
		daemon_print_config(&d);
		iface_table_dump(stdout, &r->tab);
		free(r);
		return 0;
	}
	daemon_start(&d);
	setup(r, &d);
	loop(r);
	log_info("exiting: received %llu, forwarded %llu",
	    (unsigned long long)r->ctr[RC_RECEIVED],
	    (unsigned long long)r->ctr[RC_FORWARDED]);
	daemon_ctl_close(&d);
	r->ctl = NULL;
	link_in_free(r->in);
	link_out_free(r->out);
	free(r);
	return 0;
}
