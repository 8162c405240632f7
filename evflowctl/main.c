/*
 * evflowctl: options, the data directory, and the start and stop
 * commands as the user runs them.  The supervisor itself is in
 * supervise.c; `start` runs it in the background (double fork, its
 * output in <datadir>/evflowctl.log) or, with -F, in the foreground.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/paths.h"
#include "evflowctl.h"

#define STOP_WAIT_MS	60000	/* stop: how long to wait for the end */

/* The keys evflowctl reads from a shared config file. */
static const struct conf_directive ctl_conf_table[] = {
	{ "datadir", CONF_STR, offsetof(struct ctl_opts, datadir),
	  sizeof(((struct ctl_opts *)0)->datadir), NULL, 0, 0,
	  "data directory" },
	{ "interface", CONF_LIST, offsetof(struct ctl_opts, iface), 0, NULL,
	  0, 0, "interfaces: one collector per ZMQ interface, one capture "
	  "per packet interface" },
	{ "evflowctl.role", CONF_STR, offsetof(struct ctl_opts, role),
	  sizeof(((struct ctl_opts *)0)->role), "all", 0, 0,
	  "all (one host), edge (no store: evflow-relay forwards to the "
	  "central) or central (store, router, webd, evflow-relay for the "
	  "edges); docs/scale-out.md" },
	{ "evflowctl.web_port", CONF_INT, offsetof(struct ctl_opts, web_port),
	  0, "-1", -1, 65535, "webd port (-p; 0: any free port; -1: webd's "
	  "own default)" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: evflowctl start  [-d DATADIR] [-f CONF] [-F] [-p WEBPORT] [-m MODE] -i IFACE ...\n"
"                        [-r FILE] [--role all|edge|central]\n"
"       evflowctl stop   [-d DATADIR]\n"
"       evflowctl status [-d DATADIR] [--json]\n"
"       evflowctl ping   [-d DATADIR]\n"
"       evflowctl iface  [-d DATADIR] [--json] list\n"
"       evflowctl iface  [-d DATADIR] set NAME mirrored yes|no\n"
"       evflowctl iface  [-d DATADIR] set NAME companion OTHER|none\n"
"       evflowctl demo   [-d DATADIR] [-p WEBPORT] [-m MODE]\n"
"  -i IFACE  tcp://*:1234c (ZMQ: a collector), eth0 (a capture), a pcap file,\n"
"            or a local probe: probe (evflow-probe feeding the ZMQ interface\n"
"            " PROBE_DEFAULT_ZMQ "), probe:tcp://127.0.0.1:PORTc (feeding that\n"
"            one; the collector binds it, the probe connects)\n"
"  -m MODE   the probes' mode: auto (eBPF, else sock_diag polling; default),\n"
"            bpf, diag\n"
"  -r FILE   a pcap file (read once by a capture, as -i FILE)\n"
"  --role R  all: the whole system on this host (default); edge: this host's\n"
"            probes, collectors and captures, forwarded by evflow-relay to a\n"
"            central (relay.upstream, relay.server_key in the config); central:\n"
"            store, router, webd and the relay the edges reach (relay.listen,\n"
"            relay.client); its HOST:IFACE interfaces are the edges' own\n"
"            (HOST:probe for an edge's probe).  See docs/scale-out.md\n"
"  -o K=V    set a key of the file (repeatable); -d, -i, -p win over it\n"
"  -n        check the configuration, print it and exit\n"
"  -F        supervise in the foreground (default: background, log in\n"
"            DATADIR/evflowctl.log)\n"
"DATADIR defaults to /var/lib/evflow as root, else $XDG_RUNTIME_DIR/evflow\n"
"or /tmp/evflow-$USER.\n"
"A probe's interface is named by its endpoint, e.g.\n"
"  evflowctl iface set '" PROBE_DEFAULT_ZMQ "' companion eth0\n"
"demo: as root, a veth pair into a network namespace with a web server,\n"
"a UDP and a TCP echo there and clients on the host, the host end\n"
"captured as the mirrored companion of a probe's interface; else the\n"
"probe's events of loopback traffic alone; without evflow-probe,\n"
"synthetic events (evflow-testpub).\n");
	exit(status);
}

int
find_bin(const struct ctl_opts *o, const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];
	const char *p, *e;

	snprintf(out, len, "%s/%s", o->self_dir, name);
	if (access(out, X_OK) == 0)
		return 0;
	for (p = path ? path : "/usr/bin:/bin"; *p != '\0'; p = e + (*e != 0)) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if (e - p == 0 || (size_t)(e - p) >= sizeof(dir))
			continue;
		memcpy(dir, p, (size_t)(e - p));
		dir[e - p] = '\0';
		snprintf(out, len, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

void
datadir_path(char *out, size_t len, const struct ctl_opts *o,
    const char *file)
{
	snprintf(out, len, "%s/%s", o->datadir, file);
}

void
ctl_endpoint_of(char *out, size_t len, const struct ctl_opts *o,
    const char *name)
{
	snprintf(out, len, "ipc://%s/%s.ctl", o->datadir, name);
}

void
child_stdio(int fd)
{
	int nul;

	if ((nul = open("/dev/null", O_RDONLY)) != -1) {
		dup2(nul, STDIN_FILENO);
		if (nul != STDIN_FILENO)
			close(nul);
	}
	if (fd == -1)
		return;
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* The default data directory of this user. */
static void
default_datadir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *user = getenv("USER");
	struct passwd *pw;

	if (geteuid() == 0)
		snprintf(out, len, "%s", PATHS_DEFAULT_DATADIR);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/evflow", xdg);
	else {
		if (user == NULL || user[0] == '\0')
			user = (pw = getpwuid(geteuid())) ? pw->pw_name :
			    "nobody";
		snprintf(out, len, "/tmp/evflow-%s", user);
	}
}

/* Creates the data directory if needed and makes its path absolute.
 * Refuses one that is not ours: the default under /tmp is guessable. */
static int
prepare_datadir(struct ctl_opts *o)
{
	char abs[PATH_MAX];
	struct stat st;

	if (paths_make_datadir(o->datadir) == -1) {
		fprintf(stderr, "evflowctl: %s: %s\n", o->datadir,
		    strerror(errno));
		return -1;
	}
	if (realpath(o->datadir, abs) == NULL) {
		fprintf(stderr, "evflowctl: %s: %s\n", o->datadir,
		    strerror(errno));
		return -1;
	}
	snprintf(o->datadir, sizeof(o->datadir), "%s", abs);
	if (stat(o->datadir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() && geteuid() != 0)) {
		fprintf(stderr, "evflowctl: %s: not a directory of this user\n",
		    o->datadir);
		return -1;
	}
	return 0;
}

void
print_places(const struct ctl_opts *o)
{
	char p[PATH_MAX + 80];
	int port;

	if (strcmp(o->role, "edge") == 0)
		printf("role:     edge: no database here, records go to the "
		    "central (relay.upstream)\n");
	else {
		datadir_path(p, sizeof(p), o, "evflow.db");
		printf("database: %s\n", p);
	}
	printf("datadir:  %s (logs: <name>.log)\n", o->datadir);
	ctl_endpoint_of(p, sizeof(p), o, "evflowctl");
	printf("control:  %s (supervisor)\n", p);
	if (strcmp(o->role, "all") != 0) {
		ctl_endpoint_of(p, sizeof(p), o, "relay");
		printf("control:  %s (relay: its key, peer, hosts)\n", p);
	}
	if (strcmp(o->role, "edge") == 0)
		return;
	ctl_endpoint_of(p, sizeof(p), o, "router");
	printf("control:  %s (router: iface list|set)\n", p);
	ctl_endpoint_of(p, sizeof(p), o, "store");
	printf("control:  %s (store)\n", p);
	if ((port = web_port_of(o)) > 0)
		printf("web:      http://127.0.0.1:%d/\n", port);
}

int
web_port_of(const struct ctl_opts *o)
{
	char p[PATH_MAX + 32];
	FILE *fp;
	int port = -1;

	datadir_path(p, sizeof(p), o, "webd.port");
	if ((fp = fopen(p, "r")) == NULL)
		return -1;
	if (fscanf(fp, "%d", &port) != 1)
		port = -1;
	fclose(fp);
	return port;
}

/* Pings every daemon the supervisor lists until all answer or the
 * timeout passes; prints each one's state.  0 if all answered. */
static int
wait_ready(const struct ctl_opts *o)
{
	char sup_ep[PATH_MAX + 80];
	uint64_t deadline = clock_mono_usec() + SUP_READY_TIMEOUT_MS * 1000ULL;
	struct timespec nap = { 0, 100 * 1000000L };
	cJSON *root = NULL, *ds, *d;
	struct buf b, pong;
	int all = 0, r;

	ctl_endpoint_of(sup_ep, sizeof(sup_ep), o, "evflowctl");
	buf_init(&b);
	while (!all && clock_mono_usec() < deadline) {
		buf_reset(&b);
		cJSON_Delete(root);
		root = NULL;
		if (ctl_request(sup_ep, "daemons", &b, CTL_TIMEOUT_MS) == -1 ||
		    (root = cJSON_ParseWithLength(b.p, b.len)) == NULL) {
			nanosleep(&nap, NULL);
			continue;
		}
		ds = cJSON_GetObjectItem(root, "daemons");
		all = 1;
		cJSON_ArrayForEach(d, ds) {
			if (json_finished(d))
				continue;
			buf_init(&pong);
			r = ctl_request(json_str(d, "ctl"), "ping", &pong, 300);
			if (r == -1 || pong.len != 4 ||
			    memcmp(pong.p, "pong", 4) != 0)
				all = 0;
			/* webd is ready for users once its port is known */
			if (strcmp(json_str(d, "name"), "webd") == 0 &&
			    web_port_of(o) <= 0)
				all = 0;
			buf_free(&pong);
		}
		if (!all)
			nanosleep(&nap, NULL);
	}
	if (root != NULL)
		cJSON_ArrayForEach(d, cJSON_GetObjectItem(root, "daemons")) {
			buf_init(&pong);
			r = json_finished(d) ? 0 : ctl_request(json_str(d,
			    "ctl"), "ping", &pong, 300);
			printf("%-16s pid %-7d %s\n", json_str(d, "name"),
			    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d,
			    "pid")), json_finish_error(d) ? "ERROR (file "
			    "read error)" : json_finished(d) ? "finished" :
			    r == 0 ?
			    "ready" : "NOT ANSWERING (see its log)");
			buf_free(&pong);
		}
	else
		printf("supervisor not answering: see %s/evflowctl.log\n",
		    o->datadir);
	cJSON_Delete(root);
	buf_free(&b);
	return all ? 0 : -1;
}

int
cmd_start_opts(struct ctl_opts *o)
{
	char logp[PATH_MAX + 32], msg[600];
	int pfd[2], fd, st;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (prepare_datadir(o) == -1)
		return 1;
	if (o->iface.n == 0)
		fprintf(stderr, "evflowctl: warning: no interface declared "
		    "(-i or 'interface =' in the config)\n");
	if (o->foreground) {
		print_places(o);
		fflush(stdout);
		return supervise(o, -1);
	}
	if (pipe(pfd) == -1) {
		perror("evflowctl: pipe");
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		perror("evflowctl: fork");
		return 1;
	}
	if (pid == 0) {
		/* The middle process: new session, then the supervisor's
		 * fork, so the supervisor is no session leader. */
		close(pfd[0]);
		if (setsid() == -1 || (pid = fork()) == -1)
			_exit(1);
		if (pid > 0)
			_exit(0);
		datadir_path(logp, sizeof(logp), o, "evflowctl.log");
		if ((fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0640)) ==
		    -1)
			_exit(1);
		child_stdio(fd);
		if (pfd[1] != 3) {
			dup2(pfd[1], 3);
			close(pfd[1]);
		}
		closefrom(4);
		umask(027);
		if (chdir("/") == -1)
			_exit(1);
		_exit(supervise(o, 3));
	}
	close(pfd[1]);
	waitpid(pid, &st, 0);
	while (got < sizeof(msg) - 1 && (n = read(pfd[0], msg + got,
	    sizeof(msg) - 1 - got)) > 0)
		got += (size_t)n;
	close(pfd[0]);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, "ok") != 0) {
		fprintf(stderr, "evflowctl: %s\n", got ? msg :
		    "the supervisor did not start (see evflowctl.log)");
		return 1;
	}
	st = wait_ready(o);
	print_places(o);
	return st == 0 ? 0 : 1;
}

int
cmd_stop_opts(const struct ctl_opts *o)
{
	char path[PATH_MAX + 32], buf[32];
	struct timespec nap = { 0, 100 * 1000000L };
	uint64_t deadline;
	ssize_t n;
	pid_t pid;
	int fd;

	datadir_path(path, sizeof(path), o, "evflowctl.pid");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		printf("no instance running in %s\n", o->datadir);
		return 0;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		if (leftovers_stop(o) > 0)
			printf("stopped daemons a killed supervisor left in "
			    "%s\n", o->datadir);
		else
			printf("no instance running in %s (stale pidfile)\n",
			    o->datadir);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	pid = (pid_t)strtol(buf, NULL, 10);
	if (pid <= 1 || kill(pid, SIGTERM) == -1) {
		fprintf(stderr, "evflowctl: cannot signal supervisor '%s': %s\n",
		    buf, strerror(errno));
		close(fd);
		return 1;
	}
	deadline = clock_mono_usec() + STOP_WAIT_MS * 1000ULL;
	while (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		if (clock_mono_usec() >= deadline) {
			fprintf(stderr, "evflowctl: supervisor %d still runs "
			    "after %d s\n", (int)pid, STOP_WAIT_MS / 1000);
			close(fd);
			return 1;
		}
		nanosleep(&nap, NULL);
	}
	close(fd);
	printf("stopped (supervisor pid %d)\n", (int)pid);
	return 0;
}

/* Fills `o` from the options after the command; leaves optind at the
 * first operand.  Exits on a usage error. */
static void
parse_opts(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "role", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	const char *datadir = NULL, *conf = NULL, *port = NULL, *role = NULL;
	char self[PATH_MAX], err[512];
	const char *ifs[CONF_LIST_MAX], *over[CONF_LIST_MAX];
	unsigned nifs = 0, nover = 0, k;
	ssize_t n;
	int ch, check = 0;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "d:f:Fi:m:no:p:r:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': datadir = optarg; break;
		case 'n': check = 1; break;
		case 'o':
			if (nover == CONF_LIST_MAX)
				fatalx("more than %d -o options",
				    CONF_LIST_MAX);
			over[nover++] = optarg;
			break;
		case 'f': conf = optarg; break;
		case 'F': o->foreground = 1; break;
		case 'p': port = optarg; break;
		case 'R': role = optarg; break;
		case 'j': o->json = 1; break;
		case 'm':
			if (strcmp(optarg, "auto") != 0 &&
			    strcmp(optarg, "bpf") != 0 &&
			    strcmp(optarg, "diag") != 0)
				fatalx("-m %s: auto, bpf or diag", optarg);
			snprintf(o->probe_mode, sizeof(o->probe_mode), "%s",
			    optarg);
			break;
		case 'v': o->verbose++; break;
		case 'h': usage(0);
		case 'r':	/* a pcap file is a packet interface too */
		case 'i':
			if (nifs == CONF_LIST_MAX)
				fatalx("more than %d interfaces", CONF_LIST_MAX);
			ifs[nifs++] = optarg;
			break;
		default:
			usage(1);
		}
	}
	/* The precedence of every program (common/daemon.h): defaults,
	 * the file, -o, then -d, -i and -p. */
	if (conf != NULL && realpath(conf, o->conf) == NULL)
		fatal("%s", conf);
	if (conf_apply(ctl_conf_table, o, conf != NULL ? o->conf : NULL,
	    over, nover, datadir, NULL, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (o->datadir[0] == '\0')
		default_datadir(o->datadir, sizeof(o->datadir));
	if (nifs > 0)
		o->iface.n = 0;
	for (k = 0; k < nifs; k++)
		if (conf_set(ctl_conf_table, o, "interface", ifs[k], err,
		    sizeof(err)) == -1)
			fatalx("-i %s", err);
	if (port != NULL && conf_set(ctl_conf_table, o, "evflowctl.web_port",
	    port, err, sizeof(err)) == -1)
		fatalx("-p %s", err);
	if (role != NULL && conf_set(ctl_conf_table, o, "evflowctl.role",
	    role, err, sizeof(err)) == -1)
		fatalx("--role %s", err);
	if (strcmp(o->role, "all") != 0 && strcmp(o->role, "edge") != 0 &&
	    strcmp(o->role, "central") != 0)
		fatalx("role '%s': all, edge or central", o->role);
	if (check) {
		conf_dump(stdout, ctl_conf_table, o);
		exit(0);
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		snprintf(o->self_dir, sizeof(o->self_dir), "%s", dirname(self));
	}
}

int
main(int argc, char **argv)
{
	struct ctl_opts *o;
	const char *cmd;
	int rc;

	log_init("evflowctl", LOG_LVL_INFO);
	if (argc < 2)
		usage(1);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0)
		usage(0);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		fatal("calloc");
	parse_opts(o, argc - 1, argv + 1);
	log_set_level(LOG_LVL_INFO + o->verbose);
	argc -= optind + 1;
	argv += optind + 1;
	if (strcmp(cmd, "iface") == 0)
		rc = cmd_iface(o, argc, argv);
	else if (argc != 0)
		usage(1);
	else if (strcmp(cmd, "start") == 0)
		rc = cmd_start_opts(o);
	else if (strcmp(cmd, "stop") == 0)
		rc = cmd_stop_opts(o);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(o);
	else if (strcmp(cmd, "ping") == 0)
		rc = cmd_ping(o);
	else if (strcmp(cmd, "demo") == 0)
		rc = cmd_demo(o);
	else {
		fprintf(stderr, "evflowctl: unknown command '%s'\n", cmd);
		usage(1);
	}
	free(o);
	return rc;
}
