/*
 * evflow-router: options, configuration, set-up and the loop.
 *
 * One poll loop on the record input and the control socket; its timeout
 * is the nearest deadline of: the pending output batch, the stats tick
 * (every second) and the interface table resend (every iface_resend).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/sig.h"
#include "router.h"

#define ROUTER_MAX_OVERRIDES	64	/* -o and -i options */

#define STR(field) offsetof(struct router_conf, field), \
	sizeof(((struct router_conf *)0)->field)

static const struct conf_directive router_conf_table[] = {
	{ "datadir", CONF_STR, STR(datadir), PATHS_DEFAULT_DATADIR, 0, 0,
	  "data directory: sockets, database, logs" },
	{ "name", CONF_STR, STR(name), "router", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "router_endpoint", CONF_STR, STR(router_endpoint), NULL, 0, 0,
	  "record input, bound (default ipc://<datadir>/router.ipc)" },
	{ "store_endpoint", CONF_STR, STR(store_endpoint), NULL, 0, 0,
	  "record output, connected (default ipc://<datadir>/store.ipc)" },
	{ "database", CONF_STR, STR(database), NULL, 0, 0,
	  "SQLite file with saved interface settings "
	  "(default <datadir>/evflow.db)" },
	{ "log_level", CONF_INT, offsetof(struct router_conf, log_level), 0,
	  "1", 0, 2, "0 warnings, 1 info, 2 debug" },
	{ "router.iface_resend", CONF_SECONDS,
	  offsetof(struct router_conf, iface_resend), 0, "5s", 1, 3600,
	  "period of sending the interface table to the store" },
	{ "interface", CONF_LIST, offsetof(struct router_conf, interface), 0,
	  NULL, 0, 0, "an interface: a ZMQ endpoint list (tcp://*:1234c) or "
	  "a packet interface (eth0, a pcap path); repeat, ids in order" },
	{ "mirrored", CONF_LIST, offsetof(struct router_conf, mirrored), 0,
	  NULL, 0, 0, "a packet interface receiving mirrored traffic" },
	{ "companion", CONF_LIST, offsetof(struct router_conf, companion), 0,
	  NULL, 0, 0, "'ZMQIFACE PACKETIFACE': the packet interface (must be "
	  "mirrored) that also gets the ZMQ interface's events" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: evflow-router [-nvh] [-f file] [-d datadir] [-N name] "
	    "[-o key=value] [-i iface ...]\n"
	    "  -i IFACE  declare an interface (repeatable; replaces the "
	    "file's list)\n"
	    "  -n        check the configuration, print it and exit\n"
	    "configuration keys:\n");
	conf_usage(status ? stderr : stdout, router_conf_table);
	exit(status);
}

/* Builds the configuration: defaults, file, -o, then -d -N -i.
 * Exits with the reason on error. */
static void
configure(struct router *r, int argc, char **argv, int *check, int *verbose)
{
	const char *file = NULL, *datadir = NULL, *name = NULL;
	const char *over[ROUTER_MAX_OVERRIDES], *ifs[ROUTER_MAX_OVERRIDES];
	unsigned nover = 0, nifs = 0, k;
	char err[512];
	int ch;

	while ((ch = getopt(argc, argv, "f:d:o:N:i:nvh")) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 'd': datadir = optarg; break;
		case 'N': name = optarg; break;
		case 'n': *check = 1; break;
		case 'v': (*verbose)++; break;
		case 'h': usage(0);
		case 'o':
			if (nover == ROUTER_MAX_OVERRIDES)
				fatalx("too many -o options");
			over[nover++] = optarg;
			break;
		case 'i':
			if (nifs == ROUTER_MAX_OVERRIDES)
				fatalx("too many -i options");
			ifs[nifs++] = optarg;
			break;
		default: usage(1);
		}
	}
	if (optind != argc)
		usage(1);
	if (conf_apply(router_conf_table, &r->conf, file, over, nover, datadir,
	    name, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (nifs > 0)
		r->conf.interface.n = 0;
	for (k = 0; k < nifs; k++)
		if (conf_set(router_conf_table, &r->conf, "interface", ifs[k],
		    err, sizeof(err)) == -1)
			fatalx("-i %s", err);
	if (iface_table_build(&r->tab, &r->conf.interface, &r->conf.mirrored,
	    &r->conf.companion, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (r->conf.name[0] == '\0' || strchr(r->conf.name, '/') != NULL)
		fatalx("name '%s': must be non-empty, without '/'",
		    r->conf.name);
	if (paths_file(r->db_path, sizeof(r->db_path), r->conf.database,
	    r->conf.datadir, "evflow.db") == -1)
		fatalx("database path too long");
}

/* Opens the sockets and applies the saved interface settings. */
static void
setup(struct router *r)
{
	char in_ep[CONF_STR_LEN + 16], out_ep[CONF_STR_LEN + 16], file[96];
	char err[512];
	int n;

	if (paths_make_datadir(r->conf.datadir) == -1)
		fatal("%s", r->conf.datadir);
	if ((n = iface_saved_apply(&r->tab, r->db_path, err,
	    sizeof(err))) == -1)
		log_warnx("saved interface settings not read: %s", err);
	else if (n > 0)
		log_info("%d saved interface settings applied from %s", n,
		    r->db_path);
	snprintf(file, sizeof(file), "%s.ctl", r->conf.name);
	if (paths_endpoint(in_ep, sizeof(in_ep), r->conf.router_endpoint,
	    r->conf.datadir, "router.ipc") == -1 ||
	    paths_endpoint(out_ep, sizeof(out_ep), r->conf.store_endpoint,
	    r->conf.datadir, "store.ipc") == -1 ||
	    paths_endpoint(r->ctl_endpoint, sizeof(r->ctl_endpoint), NULL,
	    r->conf.datadir, file) == -1)
		fatalx("endpoint too long");
	r->last_iface = -1;
	if ((r->out = link_out_new(out_ep, 0, EVP_ROLE_ROUTER, r->conf.name,
	    "", ROUTER_SEND_TIMEOUT_MS, err, sizeof(err))) == NULL)
		fatalx("store link: %s", err);
	if ((r->in = link_in_new(in_ep, 1, dispatch_record, r, err,
	    sizeof(err))) == NULL)
		fatalx("input: %s", err);
	if ((r->ctl = ctl_new(r->ctl_endpoint, control_handle, r, err,
	    sizeof(err))) == NULL)
		fatalx("control: %s", err);
	log_info("%u interfaces; input %s, output %s, control %s",
	    r->tab.n, in_ep, out_ep, r->ctl_endpoint);
}

static uint64_t
min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

static void
loop(struct router *r)
{
	struct pollfd pfd[2];
	uint64_t now, next_stats, next_table;
	int timeout;

	if (control_send_table(r) == -1)
		log_info("store not reachable yet; table will be resent");
	now = clock_mono_usec();
	next_stats = now + ROUTER_STATS_USEC;
	next_table = now + (uint64_t)r->conf.iface_resend * 1000000u;
	pfd[0].fd = nnlink_recv_fd(r->in->sock);
	pfd[1].fd = ctl_fd(r->ctl);
	if (pfd[0].fd == -1 || pfd[1].fd == -1)
		fatalx("nanomsg: no pollable descriptor");
	pfd[0].events = pfd[1].events = POLLIN;
	while (!sig_quit) {
		timeout = clock_ms_until(min3(link_out_deadline(r->out),
		    next_stats, next_table), 1000);
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR)
			fatal("poll");
		if (link_in_poll(r->in, ROUTER_POLL_BATCH) == -1)
			LOG_RATELIMITED(log_warnx, "input socket error");
		ctl_poll(r->ctl);
		now = clock_mono_usec();
		if (now >= link_out_deadline(r->out))
			(void)link_out_flush(r->out);
		if (now >= next_stats) {
			control_send_stats(r);
			next_stats = now + ROUTER_STATS_USEC;
		}
		if (now >= next_table) {
			(void)control_send_table(r);
			next_table = now +
			    (uint64_t)r->conf.iface_resend * 1000000u;
		}
	}
	control_send_stats(r);
	(void)link_out_flush(r->out);
}

int
main(int argc, char **argv)
{
	struct router *r;
	int check = 0, verbose = 0;

	log_init("evflow-router", LOG_LVL_INFO);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	configure(r, argc, argv, &check, &verbose);
	if (check) {
		conf_dump(stdout, router_conf_table, &r->conf);
		iface_table_dump(stdout, &r->tab);
		free(r);
		return 0;
	}
	log_set_level((int)r->conf.log_level + verbose);
	if (sig_setup() == -1)
		fatal("signals");
	setup(r);
	loop(r);
	log_info("exiting: received %llu, forwarded %llu",
	    (unsigned long long)r->ctr[RC_RECEIVED],
	    (unsigned long long)r->ctr[RC_FORWARDED]);
	ctl_free(r->ctl);
	link_in_free(r->in);
	link_out_free(r->out);
	free(r);
	return 0;
}
