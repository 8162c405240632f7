/*
 * The plan: which daemons an instance runs, with which arguments, in
 * which stop stage.  See evflowctl.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/evflow.h"
#include "evflowctl.h"

/* Appends one argument.  -1 if the daemon's argument space is full. */
static int
arg_add(struct daemon *d, const char *s)
{
	size_t len = strlen(s) + 1;

	if (d->argc + 1 >= SUP_MAX_ARGS || d->arglen + len > SUP_ARGBUF)
		return -1;
	memcpy(d->argbuf + d->arglen, s, len);
	d->argv[d->argc++] = d->argbuf + d->arglen;
	d->argv[d->argc] = NULL;
	d->arglen += len;
	return 0;
}

/* Adds daemon `name` running binary `bin` with the common options. */
static struct daemon *
plan_add(struct sup *s, const char *name, const char *role,
    enum sup_stage stage, const char *bin)
{
	struct daemon *d;

	if (s->n >= SUP_MAX_DAEMONS)
		return NULL;
	d = &s->d[s->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->role = role;
	d->stage = stage;
	snprintf(d->path, sizeof(d->path), "%s", bin);
	if (arg_add(d, bin) == -1 || arg_add(d, "-d") == -1 ||
	    arg_add(d, s->o->datadir) == -1 || arg_add(d, "-N") == -1 ||
	    arg_add(d, name) == -1 || (s->o->conf[0] != '\0' &&
	    (arg_add(d, "-f") == -1 || arg_add(d, s->o->conf) == -1)))
		return NULL;
	s->n++;
	return d;
}

/* A name for a capture of `iface`: its base name, safe for a file. */
static void
capture_name(char *out, size_t len, const char *iface)
{
	const char *base = strrchr(iface, '/');
	size_t i;

	snprintf(out, len, "capture-%.48s", base ? base + 1 : iface);
	for (i = strlen("capture-"); out[i] != '\0'; i++)
		if (!(out[i] == '-' || out[i] == '_' || out[i] == '.' ||
		    (out[i] >= '0' && out[i] <= '9') ||
		    (out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= 'A' && out[i] <= 'Z')))
			out[i] = '_';
}

int
probe_iface(const char *decl, char *zmq, size_t len, char *err,
    size_t errlen)
{
	size_t n;

	if (strcmp(decl, "probe") == 0) {
		snprintf(zmq, len, "%s", PROBE_DEFAULT_ZMQ);
		return 1;
	}
	if (strncmp(decl, "probe:", 6) != 0) {
		snprintf(zmq, len, "%s", decl);
		return 0;
	}
	decl += 6;
	n = strlen(decl);
	if (strstr(decl, "://") == NULL || n < 2 || decl[n - 1] != 'c' ||
	    strchr(decl, ',') != NULL) {
		snprintf(err, errlen, "probe:%.200s: a probe needs one endpoint "
		    "its collector binds (e.g. probe:tcp://127.0.0.1:5570c)",
		    decl);
		return -1;
	}
	snprintf(zmq, len, "%s", decl);
	return 1;
}

/* The endpoint a local probe connects to for ZMQ interface `zmq`: the
 * same, with a wildcard address made loopback (the collector binds it
 * on every address, the probe connects to one). */
static void
probe_endpoint(char *out, size_t len, const char *zmq)
{
	static const struct { const char *any, *local; } subst[] = {
		{ "tcp://*:", "tcp://127.0.0.1:" },
		{ "tcp://0.0.0.0:", "tcp://127.0.0.1:" },
		{ "tcp://[::]:", "tcp://[::1]:" },
	};
	size_t k, n;

	for (k = 0; k < sizeof(subst) / sizeof(subst[0]); k++) {
		n = strlen(subst[k].any);
		if (strncmp(zmq, subst[k].any, n) == 0) {
			snprintf(out, len, "%s%s", subst[k].local, zmq + n);
			return;
		}
	}
	snprintf(out, len, "%s", zmq);
}

/* Adds a probe publishing to ZMQ interface `zmq`: probe0, probe1 ... */
static int
plan_probe(struct sup *s, const char *zmq, unsigned nth, char *err,
    size_t errlen)
{
	char bin[PATH_MAX], name[64], ep[CONF_STR_LEN + 32];
	struct daemon *d;

	if (find_bin(s->o, "evflow-probe", bin, sizeof(bin)) == -1) {
		snprintf(err, errlen, "evflow-probe not found (needed for the "
		    "probe feeding %.200s)", zmq);
		return -1;
	}
	snprintf(name, sizeof(name), "probe%u", nth);
	probe_endpoint(ep, sizeof(ep), zmq);
	if ((d = plan_add(s, name, "probe", STAGE_EDGE, bin)) == NULL ||
	    arg_add(d, "-z") == -1 || arg_add(d, ep) == -1 ||
	    (s->o->probe_mode[0] != '\0' && (arg_add(d, "-m") == -1 ||
	    arg_add(d, s->o->probe_mode) == -1))) {
		snprintf(err, errlen, "too many daemons or arguments");
		return -1;
	}
	return 0;
}

/*
 * The router's name for interface declaration `decl`: a probe's ZMQ
 * interface (probe_iface), and for another host's "HOST:IFACE" (role
 * central) the same with HOST: kept, so "host1:probe" is
 * "host1:tcp://127.0.0.1:5570c".  Returns 1 for a local probe, 0 for
 * anything else, 2 for another host's interface, -1 with err.
 */
static int
iface_decl(const struct ctl_opts *o, const char *decl, char *out, size_t len,
    char *err, size_t errlen)
{
	size_t h = evp_iface_host_len(decl);
	char z[CONF_STR_LEN];

	/* "probe:ENDPOINT" is a local probe, never a host named probe */
	if (h == 0 || strncmp(decl, "probe:", 6) == 0)
		return probe_iface(decl, out, len, err, errlen);
	if (strcmp(o->role, "central") != 0) {
		snprintf(err, errlen, "%.200s: HOST:IFACE names another host's "
		    "interface, fed by its edge: only with --role central",
		    decl);
		return -1;
	}
	if (probe_iface(decl + h + 1, z, sizeof(z), err, errlen) == -1)
		return -1;
	if ((size_t)snprintf(out, len, "%.*s:%.*s", (int)h, decl,
	    (int)(sizeof(z) - 1), z) >= len) {
		snprintf(err, errlen, "%.200s: name too long", decl);
		return -1;
	}
	return 2;
}

/* Adds evflow-relay in `role` (edge, central). */
static struct daemon *
plan_relay(struct sup *s, const char *role, enum sup_stage stage, char *err,
    size_t errlen)
{
	char bin[PATH_MAX];
	struct daemon *d;

	if (find_bin(s->o, "evflow-relay", bin, sizeof(bin)) == -1) {
		snprintf(err, errlen, "evflow-relay not found (needed for the "
		    "%s role)", role);
		return NULL;
	}
	if ((d = plan_add(s, "relay", "relay", stage, bin)) == NULL ||
	    arg_add(d, "-m") == -1 || arg_add(d, role) == -1) {
		snprintf(err, errlen, "too many daemons or arguments");
		return NULL;
	}
	return d;
}

/* Decides which daemons run, by role: all (store, router, collectors,
 * captures, probes, webd), edge (the relay in the router's place, no
 * store, no webd) or central (all, plus the relay the edges reach;
 * HOST:IFACE interfaces are declared to the router only).  Returns 0,
 * or -1 with err. */
int
plan(struct sup *s, char *err, size_t errlen)
{
	char bin[PATH_MAX], cap[PATH_MAX], name[64], sys[PATH_MAX + 32];
	char portfile[PATH_MAX + 16], arg[PATH_MAX + 32], zname[CONF_STR_LEN];
	const char *ifn;
	struct daemon *d;
	struct stat st;
	unsigned k, zmq = 0, probes = 0;
	int have_cap, probe;
	int edge = strcmp(s->o->role, "edge") == 0;
	int central = strcmp(s->o->role, "central") == 0;

	if (edge) {
		/* the relay binds router.ipc: the senders find it there */
		if (plan_relay(s, "edge", STAGE_ROUTER, err, errlen) == NULL)
			return -1;
		for (k = 0; k < s->o->iface.n; k++)
			if (iface_decl(s->o, s->o->iface.item[k], zname,
			    sizeof(zname), err, errlen) == -1)
				return -1;
		goto local;
	}
	if (find_bin(s->o, "evflow-store", bin, sizeof(bin)) == -1) {
		snprintf(err, errlen, "evflow-store not found next to "
		    "evflowctl (%.300s) nor in PATH", s->o->self_dir);
		return -1;
	}
	if (plan_add(s, "store", "store", STAGE_STORE, bin) == NULL)
		goto full;
	if (find_bin(s->o, "evflow-router", bin, sizeof(bin)) == -1) {
		snprintf(err, errlen, "evflow-router not found");
		return -1;
	}
	if ((d = plan_add(s, "router", "router", STAGE_ROUTER, bin)) == NULL)
		goto full;
	for (k = 0; k < s->o->iface.n; k++) {
		if (iface_decl(s->o, s->o->iface.item[k], zname, sizeof(zname),
		    err, errlen) == -1)
			return -1;
		if (arg_add(d, "-i") == -1 || arg_add(d, zname) == -1)
			goto full;
	}
	/* the edges' relay feeds the router: stopped with the edge stage */
	if (central && plan_relay(s, "central", STAGE_EDGE, err,
	    errlen) == NULL)
		return -1;
local:
	have_cap = find_bin(s->o, "evflow-capture", cap, sizeof(cap)) == 0;
	for (k = 0; k < s->o->iface.n; k++) {
		probe = iface_decl(s->o, s->o->iface.item[k], zname,
		    sizeof(zname), err, errlen);
		if (probe == 2)
			continue;	/* another host's: its edge runs it */
		ifn = zname;
		if (strstr(ifn, "://") != NULL) {
			if (find_bin(s->o, "evflow-collector", bin,
			    sizeof(bin)) == -1) {
				snprintf(err, errlen, "evflow-collector not "
				    "found (needed for %s)", ifn);
				return -1;
			}
			snprintf(name, sizeof(name), "collector%u", zmq++);
			if ((d = plan_add(s, name, "collector", STAGE_EDGE,
			    bin)) == NULL || arg_add(d, "-i") == -1 ||
			    arg_add(d, ifn) == -1)
				goto full;
			if (probe == 1 && plan_probe(s, ifn, probes++, err,
			    errlen) == -1)
				return -1;
			continue;
		}
		if (!have_cap) {
			log_info("%s: evflow-capture not built, no packet "
			    "capture for it", ifn);
			continue;
		}
		snprintf(sys, sizeof(sys), "/sys/class/net/%s", ifn);
		capture_name(name, sizeof(name), ifn);
		if (stat(ifn, &st) == 0 && S_ISREG(st.st_mode)) {
			if ((d = plan_add(s, name, "capture", STAGE_EDGE,
			    cap)) == NULL || arg_add(d, "-r") == -1 ||
			    arg_add(d, ifn) == -1 || arg_add(d, "-I") == -1 ||
			    arg_add(d, ifn) == -1)
				goto full;
			d->once = 1;	/* reading it again would duplicate */
		} else if (strchr(ifn, '/') == NULL && stat(sys, &st) == 0) {
			if ((d = plan_add(s, name, "capture", STAGE_EDGE,
			    cap)) == NULL || arg_add(d, "-i") == -1 ||
			    arg_add(d, ifn) == -1)
				goto full;
		} else
			log_info("%s: no such network interface or pcap file, "
			    "no capture for it", ifn);
	}
	if (edge)
		return 0;	/* no database here: webd runs on the central */
	if (find_bin(s->o, "evflow-webd", bin, sizeof(bin)) == 0) {
		/* webd writes the port it bound to webd.port: evflowctl
		 * prints the URL from it (with -p 0 any free port works). */
		datadir_path(portfile, sizeof(portfile), s->o, "webd.port");
		snprintf(arg, sizeof(arg), "webd.port_file=%s", portfile);
		if ((d = plan_add(s, "webd", "webd", STAGE_EDGE, bin)) == NULL ||
		    arg_add(d, "-o") == -1 || arg_add(d, arg) == -1)
			goto full;
		if (s->o->web_port >= 0) {
			snprintf(name, sizeof(name), "webd.port=%lld",
			    s->o->web_port);
			if (arg_add(d, "-o") == -1 || arg_add(d, name) == -1)
				goto full;
		}
	} else
		log_info("evflow-webd not built: no web interface");
	return 0;
full:
	snprintf(err, errlen, "too many daemons or arguments");
	return -1;
}

/* After plan(): probes and webd are stopped first (a probe feeds a
 * collector; webd only reads), and webd asked for any port (-p 0) keeps
 * the one it bound across restarts: its argument points at port_opt. */
void
plan_finish(struct sup *s)
{
	struct daemon *d;
	unsigned k, a;

	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		d->pidfd = -1;
		if (strcmp(d->role, "probe") == 0 ||
		    strcmp(d->role, "webd") == 0)
			d->stage = STAGE_PROBE;
		for (a = 1; a < d->argc && strcmp(d->role, "webd") == 0; a++)
			if (strcmp(d->argv[a], "webd.port=0") == 0) {
				snprintf(d->port_opt, sizeof(d->port_opt),
				    "%s", d->argv[a]);
				d->argv[a] = d->port_opt;
				d->port_arg = a;
			}
	}
}
