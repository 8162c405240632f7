/*
 * evflowctl demo: the whole system on a default configuration with real
 * traffic, until Ctrl-C or SIGTERM, then it stops everything with the
 * same path as `evflowctl stop` and removes what it made.
 *
 * The best of three, as far as this machine allows:
 *   network    (root, iproute2, python3, evflow-probe, evflow-capture)
 *              a veth pair into the namespace evfdemo-<pid> with real
 *              servers there and real clients on the host (demo_net.c);
 *              a probe feeding a ZMQ interface on a free loopback port;
 *              the host end captured, mirrored, that interface's
 *              companion: packet flows joined with curl and python3.
 *   loopback   no namespace (not root, no `ip`): the same servers and
 *              clients on 127.0.0.1 and ::1, the probe's events in the
 *              ZMQ interface alone (loopback stays out of companions).
 *   synthetic  no probe (or it does not start), or no python3:
 *              evflow-testpub's live stream of made-up libebpfflow
 *              events, and as root a capture of `lo` with curl
 *              requests to the web UI.
 * Interfaces given with -i run as given, with synthetic events for a
 * plain ZMQ interface first in the list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/ctl.h"
#include "common/paths.h"
#include "common/sig.h"
#include "evflowctl.h"

#define DEMO_CURL_SEC	5	/* synthetic: seconds between curl requests */

enum demo_mode { DEMO_NETWORK, DEMO_LOOPBACK, DEMO_SYNTHETIC, DEMO_GIVEN };

/* What one demo runs: the mode, its ZMQ interface, network and logs. */
struct demo {
	struct ctl_opts	*o;
	enum demo_mode	 mode;
	char		 zmq[64];	/* the ZMQ interface */
	char		 log[PATH_MAX + 16];	/* <datadir>/demo.log */
	char		 user_conf[PATH_MAX];	/* -f, "" if none */
	struct demo_net	 net;
	pid_t		 pub;		/* evflow-testpub, or -1 */
	int		 lo_curl;	/* synthetic: curl the web UI on lo */
};

/* A TCP port free on 127.0.0.1 right now, or 0. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}


/*
 * Gives the web UI a login for the demo: user "demo" with a random
 * password set through `evflow-webd --set-password` (the same path an
 * operator uses at install time), written to `pw`.  Returns 0 or -1.
 */
static int
demo_password(const struct ctl_opts *o, const char *webbin, char *pw,
    size_t pwlen)
{
	static const char abc[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char rnd[16];
	char *argv[] = { (char *)(uintptr_t)webbin, "-d",
	    (char *)(uintptr_t)o->datadir, "--set-password", "demo", NULL };
	int fds[2], status, fd;
	size_t i, n = pwlen - 1 < sizeof(rnd) ? pwlen - 1 : sizeof(rnd);
	pid_t pid;

	if ((fd = open("/dev/urandom", O_RDONLY)) == -1)
		return -1;
	if (read(fd, rnd, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < n; i++)
		pw[i] = abc[rnd[i] % (sizeof(abc) - 1)];
	pw[n] = '\0';
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	if (pid == -1 || write(fds[1], pw, n) != (ssize_t)n ||
	    write(fds[1], "\n", 1) != 1) {
		close(fds[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(fds[1]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/*
 * The configuration of a network demo: the user's file (if any), then
 * what makes the host end the companion of the probe's interface.  The
 * capture keeps only the demo's unicast TCP and UDP (the link also
 * carries IPv6 neighbour discovery and multicast that no process makes).
 */
static int
write_conf(struct demo *d)
{
	char path[PATH_MAX], line[512];
	FILE *in, *out;

	if ((size_t)snprintf(path, sizeof(path), "%s/demo.conf",
	    d->o->datadir) >= sizeof(path))
		return -1;
	if ((out = fopen(path, "w")) == NULL)
		return -1;
	fprintf(out, "# evflowctl demo: written at its start%s%s\n",
	    d->user_conf[0] ? ", after the lines of " : "", d->user_conf);
	if (d->user_conf[0] != '\0' && (in = fopen(d->user_conf, "r")) !=
	    NULL) {
		while (fgets(line, sizeof(line), in) != NULL)
			fputs(line, out);
		fclose(in);
		fputc('\n', out);
	}
	fprintf(out, "mirrored = %s\ncompanion = %s %s\n"
	    "capture.filter = (tcp or udp) and not ether multicast\n"
	    "capture.immediate = yes\n",
	    d->net.host_if, d->zmq, d->net.host_if);
	if (fclose(out) != 0)
		return -1;
	snprintf(d->o->conf, sizeof(d->o->conf), "%s", path);
	return 0;
}

/* The interface list for mode `m` (the ZMQ interface `d->zmq`). */
static void
declare(struct demo *d, enum demo_mode m)
{
	struct conf_list *l = &d->o->iface;
	char capbin[PATH_MAX];

	d->mode = m;
	l->n = 0;
	if (m == DEMO_SYNTHETIC) {
		snprintf(l->item[l->n++], CONF_STR_LEN, "%s", d->zmq);
		d->lo_curl = geteuid() == 0 && find_bin(d->o, "evflow-capture",
		    capbin, sizeof(capbin)) == 0 &&
		    access("/sys/class/net/lo", F_OK) == 0;
		if (d->lo_curl)
			snprintf(l->item[l->n++], CONF_STR_LEN, "lo");
		return;
	}
	snprintf(l->item[l->n++], CONF_STR_LEN, "probe:%s", d->zmq);
	if (m == DEMO_NETWORK)
		snprintf(l->item[l->n++], CONF_STR_LEN, "%s", d->net.host_if);
}

/* Picks the mode this machine allows and prepares its network. */
static int
choose(struct demo *d)
{
	char bin[PATH_MAX];
	const char *why;
	int port;

	if ((port = free_port()) == 0) {
		fprintf(stderr, "evflowctl: no free loopback port\n");
		return -1;
	}
	snprintf(d->zmq, sizeof(d->zmq), "tcp://127.0.0.1:%dc", port);
	why = find_bin(d->o, "evflow-probe", bin, sizeof(bin)) == -1 ?
	    "evflow-probe not built (make)" : find_bin(d->o, "python3", bin,
	    sizeof(bin)) == -1 ? "no python3 for the demo's servers and "
	    "clients" : NULL;
	if (why != NULL) {
		printf("%s: synthetic events from evflow-testpub instead "
		    "(made-up processes and addresses, they join nothing)\n",
		    why);
		declare(d, DEMO_SYNTHETIC);
		return 0;
	}
	if ((why = demo_net_unavailable(d->o)) == NULL &&
	    demo_net_up(d->o, &d->net, d->log) == -1)
		why = "could not make the namespace and veth (see demo.log)";
	if (why == NULL && write_conf(d) == -1) {
		demo_net_down(d->o, &d->net, d->log);
		why = "cannot write demo.conf";
	}
	if (why != NULL) {
		printf("no network namespace (%s): servers and clients on "
		    "loopback, the probe's events in %s alone (no packet "
		    "capture, nothing to join)\n", why, d->zmq);
		demo_net_loopback(&d->net, free_port(), free_port());
		declare(d, DEMO_LOOPBACK);
		return 0;
	}
	declare(d, DEMO_NETWORK);
	return 0;
}

/* Says whether the probe runs its eBPF program or polls sock_diag (it
 * chooses at its start: root with BTF, or not). */
static void
say_probe_mode(const struct ctl_opts *o)
{
	char ep[PATH_MAX + 80];
	const char *mode = NULL;
	struct buf b;
	cJSON *j;

	ctl_endpoint_of(ep, sizeof(ep), o, "probe0");
	buf_init(&b);
	if (ctl_request(ep, "stats", &b, CTL_TIMEOUT_MS) == 0 &&
	    (j = cJSON_ParseWithLength(b.p, b.len)) != NULL) {
		mode = json_str(j, "mode");
		if (strcmp(mode, "bpf") == 0)
			printf("probe: eBPF (every connection, as it happens)\n");
		else
			printf("probe: polling sock_diag, no eBPF (see %s/"
			    "probe0.log): connections shorter than a poll are "
			    "missed\n", o->datadir);
		cJSON_Delete(j);
	}
	buf_free(&b);
}

/* Starts the traffic of the running system and says what it is. */
static void
traffic(struct demo *d)
{
	char pubbin[PATH_MAX], logp[PATH_MAX + 32];
	char *pubargv[] = { pubbin, "-z", d->zmq, "--live", NULL };

	if (d->mode == DEMO_NETWORK || d->mode == DEMO_LOOPBACK) {
		say_probe_mode(d->o);
		if (demo_clients(d->o, &d->net, d->log) == -1)
			printf("no demo clients (python3?): see %s\n", d->log);
		else if (d->mode == DEMO_NETWORK)
			printf("demo network: namespace %s: web servers on %s "
			    "and [%s] port %d, TCP and UDP echo port %d\n"
			    "  host end %s (%s, %s) captured, mirrored, the "
			    "companion of %s\n"
			    "demo traffic: curl and python3 clients on the host, "
			    "every second (log %s)\n", d->net.ns, d->net.v4_ns,
			    d->net.v6_ns, d->net.http_port, d->net.echo_port,
			    d->net.host_if, d->net.v4_host, d->net.v6_host,
			    d->zmq, d->log);
		else
			printf("demo traffic: curl and python3 on 127.0.0.1 and "
			    "::1, web port %d, echo port %d (log %s)\n",
			    d->net.http_port, d->net.echo_port, d->log);
		return;
	}
	datadir_path(logp, sizeof(logp), d->o, "testpub.log");
	if (strstr(d->zmq, "://") == NULL)
		printf("no ZMQ interface: no demo traffic\n");
	else if (find_bin(d->o, "evflow-testpub", pubbin, sizeof(pubbin)) ==
	    -1)
		printf("evflow-testpub not built (make): no demo traffic\n");
	else if ((d->pub = demo_spawn(pubargv, logp)) == -1)
		perror("evflowctl: fork");
	else
		printf("demo traffic: evflow-testpub -z %s --live (log %s)\n",
		    d->zmq, logp);
}

/* Starts the system; a probe that does not start makes it synthetic. */
static int
start(struct demo *d)
{
	int rc;

	if (d->mode == DEMO_NETWORK || d->mode == DEMO_LOOPBACK)
		if (demo_servers(d->o, &d->net, d->log) == -1)
			printf("demo servers did not start (see %s)\n", d->log);
	if ((rc = cmd_start_opts(d->o)) == 0)
		return 0;
	cmd_stop_opts(d->o);
	if (d->mode != DEMO_NETWORK && d->mode != DEMO_LOOPBACK) {
		fprintf(stderr, "evflowctl: demo: start failed\n");
		return rc;
	}
	printf("the system did not start with evflow-probe (see %s/probe0.log):"
	    " synthetic events from evflow-testpub instead\n", d->o->datadir);
	demo_stop_helpers(&d->net);
	demo_net_down(d->o, &d->net, d->log);
	snprintf(d->o->conf, sizeof(d->o->conf), "%s", d->user_conf);
	declare(d, DEMO_SYNTHETIC);
	if ((rc = cmd_start_opts(d->o)) != 0) {
		fprintf(stderr, "evflowctl: demo: start failed; stopping\n");
		cmd_stop_opts(d->o);
	}
	return rc;
}

int
cmd_demo(struct ctl_opts *o)
{
	char webbin[PATH_MAX], curlbin[PATH_MAX], url[64], pw[17];
	char *curlargv[] = { curlbin, "-s", "-o", "/dev/null", url, NULL };
	struct timespec nap = { 1, 0 };
	struct demo d;
	unsigned tick = 0, k;
	int rc, web, n;
	pid_t curl;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.pub = -1;
	snprintf(d.user_conf, sizeof(d.user_conf), "%s", o->conf);
	if (paths_make_datadir(o->datadir) == -1 ||
	    realpath(o->datadir, webbin) == NULL) {
		fprintf(stderr, "evflowctl: %s: %s\n", o->datadir,
		    strerror(errno));
		return 1;
	}
	snprintf(o->datadir, sizeof(o->datadir), "%s", webbin);
	datadir_path(d.log, sizeof(d.log), o, "demo.log");
	if (geteuid() == 0 && (n = demo_net_stale(o, d.log)) > 0)
		printf("removed %d namespaces or veths of demos that died\n", n);
	if (o->iface.n > 0) {
		d.mode = DEMO_GIVEN;
		snprintf(d.zmq, sizeof(d.zmq), "%.60s", o->iface.item[0]);
	} else if (choose(&d) == -1)
		return 1;
	web = find_bin(o, "evflow-webd", webbin, sizeof(webbin)) == 0;
	if (web && o->web_port < 0)
		o->web_port = 0;	/* any free port, read back below */
	if (sig_setup() == -1)
		perror("evflowctl: signals");
	if ((rc = start(&d)) != 0) {
		demo_stop_helpers(&d.net);
		demo_net_down(o, &d.net, d.log);
		return rc;
	}
	traffic(&d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", web_port_of(o));
	printf("\nhave a look:\n"
	    "  evflowctl status -d %s\n"
	    "  evflowctl iface list -d %s\n", o->datadir, o->datadir);
	if (d.mode == DEMO_NETWORK)
		printf("  sqlite3 %s/evflow.db 'SELECT cli_addr, cli_port, "
		    "srv_addr, srv_port, cli_process, srv_process, c2s_bytes, "
		    "s2c_bytes FROM flows_v WHERE iface = \"%s\" ORDER BY "
		    "last_seen DESC LIMIT 10'\n"
		    "  sqlite3 %s/evflow.db 'SELECT * FROM iface_attribution'\n",
		    o->datadir, d.net.host_if, o->datadir);
	else
		printf("  sqlite3 %s/evflow.db 'SELECT iface, cli_addr, "
		    "cli_port, srv_addr, srv_port, cli_process, srv_process "
		    "FROM flows_v ORDER BY last_seen DESC LIMIT 10'\n",
		    o->datadir);
	if (web && demo_password(o, webbin, pw, sizeof(pw)) == 0)
		printf("  web UI: %s  (user demo, password %s)\n", url, pw);
	else if (web)
		printf("  web UI: %s  (set a login: evflow-webd -d %s "
		    "--set-password USER)\n", url, o->datadir);
	printf("Ctrl-C stops everything.\n");
	fflush(stdout);
	d.lo_curl = d.lo_curl && web && find_bin(o, "curl", curlbin,
	    sizeof(curlbin)) == 0;
	while (!sig_quit) {
		nanosleep(&nap, NULL);
		if (d.lo_curl && ++tick % DEMO_CURL_SEC == 0 &&
		    (curl = demo_spawn(curlargv, NULL)) > 0)
			waitpid(curl, NULL, 0);
		if (d.pub > 0 && waitpid(d.pub, NULL, WNOHANG) == d.pub) {
			printf("evflow-testpub exited (see %s/testpub.log)\n",
			    o->datadir);
			d.pub = -1;
		}
		for (k = 0; k < DEMO_HELPERS; k++)
			if (d.net.pid[k] > 0 && waitpid(d.net.pid[k], NULL,
			    WNOHANG) == d.net.pid[k]) {
				printf("a demo server or client exited (see "
				    "%s)\n", d.log);
				d.net.pid[k] = 0;
			}
	}
	printf("\nstopping the demo\n");
	fflush(stdout);
	if (d.pub > 0) {
		kill(d.pub, SIGTERM);
		waitpid(d.pub, NULL, 0);
	}
	if (d.net.pid[DEMO_HELPERS - 1] > 0) {	/* the clients first */
		kill(d.net.pid[DEMO_HELPERS - 1], SIGTERM);
		waitpid(d.net.pid[DEMO_HELPERS - 1], NULL, 0);
		d.net.pid[DEMO_HELPERS - 1] = 0;
	}
	rc = cmd_stop_opts(o);
	demo_stop_helpers(&d.net);
	demo_net_down(o, &d.net, d.log);
	if (d.mode == DEMO_NETWORK)
		printf("removed namespace %s and veth %s\n", d.net.ns,
		    d.net.host_if);
	return rc;
}
