/*
 * The supervisor: starts the daemons of one instance, restarts one that
 * exits unexpectedly (with a doubling backoff, reset after a stable
 * run), answers its own control socket, and on SIGTERM/SIGINT stops the
 * daemons stage by stage (collectors, probes, captures, webd -> router
 * -> store), TERM then KILL after SUP_STOP_TIMEOUT_MS.
 *
 * It holds an exclusive flock on <datadir>/evflowctl.pid for its life:
 * that lock, not the pid in the file, says whether an instance runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/sig.h"
#include "evflowctl.h"

struct sup {
	struct ctl_opts	*o;
	struct daemon	*d;
	unsigned	 n;
	struct ctl	*ctl;
	int		 lock_fd;
	int		 stopping;
	uint64_t	 starts, restarts, exits;
};

static volatile sig_atomic_t sig_chld;

static void
on_chld(int sig)
{
	(void)sig;
	sig_chld = 1;
}

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

/* Decides which daemons run.  Returns 0, or -1 with err. */
static int
plan(struct sup *s, char *err, size_t errlen)
{
	char bin[PATH_MAX], cap[PATH_MAX], name[64], sys[PATH_MAX + 32];
	char portfile[PATH_MAX + 16], arg[PATH_MAX + 32], zname[CONF_STR_LEN];
	const char *ifn;
	struct daemon *d;
	struct stat st;
	unsigned k, zmq = 0, probes = 0;
	int have_cap, probe;

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
		if (probe_iface(s->o->iface.item[k], zname, sizeof(zname), err,
		    errlen) == -1)
			return -1;
		if (arg_add(d, "-i") == -1 || arg_add(d, zname) == -1)
			goto full;
	}
	have_cap = find_bin(s->o, "evflow-capture", cap, sizeof(cap)) == 0;
	for (k = 0; k < s->o->iface.n; k++) {
		probe = probe_iface(s->o->iface.item[k], zname, sizeof(zname),
		    err, errlen);
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
	if (find_bin(s->o, "evflow-webd", bin, sizeof(bin)) == 0) {
		/* webd writes the port it bound to webd.port: evflowctl
		 * prints the URL from it (with -p 0 any free port works). */
		datadir_path(portfile, sizeof(portfile), s->o, "webd.port");
		unlink(portfile);
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

/* Starts daemon `d` with its stderr (and stdout) in <datadir>/<name>.log. */
static void
spawn(struct sup *s, struct daemon *d)
{
	char log_path[PATH_MAX + 80];
	int fd;
	pid_t pid;

	snprintf(log_path, sizeof(log_path), "%s/%s.log", s->o->datadir,
	    d->name);
	if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) == -1) {
		log_warn("%s", log_path);
		fd = STDERR_FILENO;
	}
	d->started_usec = clock_mono_usec();
	if ((pid = fork()) == -1) {
		log_warn("fork %s", d->name);
		d->restart_usec = d->started_usec + SUP_BACKOFF_MIN_MS * 1000u;
	} else if (pid == 0) {
		sigset_t none;

		/* Own process group: a Ctrl-C meant for a foreground
		 * supervisor must not reach the daemons, which it stops in
		 * order itself. */
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		child_stdio(fd);
		closefrom(3);
		execv(d->path, d->argv);
		fprintf(stderr, "evflowctl: exec %s: %s\n", d->path,
		    strerror(errno));
		_exit(127);
	} else {
		d->pid = pid;
		d->starts++;
		s->starts++;
		log_info("started %s (pid %d): %s", d->name, (int)pid,
		    d->path);
	}
	if (fd != STDERR_FILENO)
		close(fd);
}

/*
 * <datadir>/evflowctl.daemons lists "pid name" of every running daemon,
 * rewritten on each start.  If the supervisor itself is killed, its
 * daemons live on; the next start or stop finds them there.
 */
static void
write_pids(struct sup *s)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	unsigned k;
	FILE *fp;

	datadir_path(path, sizeof(path), s->o, "evflowctl.daemons");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("%s", tmp);
		return;
	}
	for (k = 0; k < s->n; k++)
		if (s->d[k].pid != 0)
			fprintf(fp, "%d %s\n", (int)s->d[k].pid, s->d[k].name);
	if (fclose(fp) != 0 || rename(tmp, path) == -1)
		log_warn("%s", path);
}

/* 1 if process `pid` is an evflow daemon of data directory `dir`: its
 * command line holds "-d" followed by exactly `dir`. */
static int
is_our_daemon(pid_t pid, const char *dir)
{
	char path[64], cmd[8192];
	size_t n, i;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(cmd, 1, sizeof(cmd) - 1, fp);
	fclose(fp);
	cmd[n] = '\0';
	for (i = 0; i + 3 < n; i += strlen(cmd + i) + 1)
		if (strcmp(cmd + i, "-d") == 0 &&
		    strcmp(cmd + i + 3, dir) == 0)
			return 1;
	return 0;
}

int
leftovers_stop(const struct ctl_opts *o)
{
	struct timespec nap = { 0, 100 * 1000000L };
	char path[PATH_MAX + 32], name[64];
	pid_t pids[SUP_MAX_DAEMONS];
	unsigned n = 0, k, tries;
	int pid, alive;
	FILE *fp;

	datadir_path(path, sizeof(path), o, "evflowctl.daemons");
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (n < SUP_MAX_DAEMONS && fscanf(fp, "%d %63s", &pid, name) == 2)
		if (pid > 1 && is_our_daemon(pid, o->datadir)) {
			log_warnx("%s (pid %d) outlived its supervisor: "
			    "stopping it", name, pid);
			kill(pid, SIGTERM);
			pids[n++] = pid;
		}
	fclose(fp);
	for (tries = 0; n > 0 && tries < SUP_STOP_TIMEOUT_MS / 100; tries++) {
		for (k = alive = 0; k < n; k++)
			alive += kill(pids[k], 0) == 0 &&
			    is_our_daemon(pids[k], o->datadir);
		if (!alive)
			break;
		nanosleep(&nap, NULL);
	}
	for (k = 0; k < n; k++)
		if (kill(pids[k], 0) == 0 && is_our_daemon(pids[k], o->datadir))
			kill(pids[k], SIGKILL);
	unlink(path);
	return (int)n;
}

static struct daemon *
by_pid(struct sup *s, pid_t pid)
{
	unsigned k;

	for (k = 0; k < s->n; k++)
		if (s->d[k].pid == pid)
			return &s->d[k];
	return NULL;
}

/* Collects exited daemons; schedules restarts unless stopping. */
static void
reap(struct sup *s)
{
	struct daemon *d;
	uint64_t now;
	pid_t pid;
	int st;

	sig_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if ((d = by_pid(s, pid)) == NULL)
			continue;
		d->pid = 0;
		d->last_status = st;
		s->exits++;
		if (s->stopping)
			continue;
		if (d->once && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			d->finished = 1;
			log_info("%s (pid %d) finished", d->name, (int)pid);
			continue;
		}
		if (d->once && WIFEXITED(st) &&
		    WEXITSTATUS(st) == SUP_EXIT_FILE_ERROR) {
			d->finished = 1;
			log_warnx("%s (pid %d) finished with an error: its "
			    "file could not be read to its end (see its log)",
			    d->name, (int)pid);
			continue;
		}
		now = clock_mono_usec();
		if (now - d->started_usec >= SUP_STABLE_USEC ||
		    d->backoff_ms == 0)
			d->backoff_ms = SUP_BACKOFF_MIN_MS;
		else if ((d->backoff_ms *= 2) > SUP_BACKOFF_MAX_MS)
			d->backoff_ms = SUP_BACKOFF_MAX_MS;
		d->restart_usec = now + (uint64_t)d->backoff_ms * 1000u;
		if (WIFSIGNALED(st))
			log_warnx("%s (pid %d) killed by signal %d; restart in "
			    "%u ms", d->name, (int)pid, WTERMSIG(st),
			    d->backoff_ms);
		else
			log_warnx("%s (pid %d) exited with status %d; restart "
			    "in %u ms", d->name, (int)pid, WEXITSTATUS(st),
			    d->backoff_ms);
	}
}

/* Restarts daemons whose backoff is over; returns the next deadline. */
static uint64_t
restart_due(struct sup *s)
{
	uint64_t now = clock_mono_usec(), next = UINT64_MAX;
	struct daemon *d;
	unsigned k;

	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		if (d->pid != 0 || d->restart_usec == 0)
			continue;
		if (d->restart_usec <= now) {
			d->restart_usec = 0;
			d->restarts++;
			s->restarts++;
			log_info("restarting %s (restart %u)", d->name,
			    d->restarts);
			spawn(s, d);
			write_pids(s);
		} else if (d->restart_usec < next)
			next = d->restart_usec;
	}
	return next;
}

/* TERMs every running daemon of `stage`, KILLs what is left after the
 * timeout, and reaps them all. */
static void
stop_stage(struct sup *s, enum sup_stage stage)
{
	struct timespec nap = { 0, 50 * 1000000L };
	uint64_t deadline;
	unsigned k, left;

	for (k = 0; k < s->n; k++)
		if (s->d[k].stage == stage && s->d[k].pid != 0) {
			log_info("stopping %s (pid %d)", s->d[k].name,
			    (int)s->d[k].pid);
			kill(s->d[k].pid, SIGTERM);
		}
	deadline = clock_mono_usec() + SUP_STOP_TIMEOUT_MS * 1000u;
	for (;;) {
		reap(s);
		for (k = left = 0; k < s->n; k++)
			left += s->d[k].stage == stage && s->d[k].pid != 0;
		if (left == 0)
			return;
		if (clock_mono_usec() >= deadline)
			break;
		nanosleep(&nap, NULL);
	}
	for (k = 0; k < s->n; k++)
		if (s->d[k].stage == stage && s->d[k].pid != 0) {
			log_warnx("%s (pid %d) did not stop in %d ms: killed",
			    s->d[k].name, (int)s->d[k].pid,
			    SUP_STOP_TIMEOUT_MS);
			kill(s->d[k].pid, SIGKILL);
			waitpid(s->d[k].pid, NULL, 0);
			s->d[k].pid = 0;
		}
}

static void
sup_json(struct sup *s, struct buf *b)
{
	char ep[PATH_MAX + 80];
	struct daemon *d;
	unsigned k, running = 0;

	for (k = 0; k < s->n; k++)
		running += s->d[k].pid != 0;
	buf_printf(b, "{\"name\": \"evflowctl\", \"role\": \"supervisor\", "
	    "\"pid\": %d, \"datadir\": ", (int)getpid());
	buf_json_str(b, s->o->datadir);
	buf_printf(b, ", \"counters\": {\"daemons\": %u, \"running\": %u, "
	    "\"starts\": %llu, \"restarts\": %llu, \"exits\": %llu}, "
	    "\"daemons\": [", s->n, running, (unsigned long long)s->starts,
	    (unsigned long long)s->restarts, (unsigned long long)s->exits);
	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		ctl_endpoint_of(ep, sizeof(ep), s->o, d->name);
		buf_puts(b, k ? ", {\"name\": " : "{\"name\": ");
		buf_json_str(b, d->name);
		buf_printf(b, ", \"role\": \"%s\", \"pid\": %d, \"running\": "
		    "%s, \"finished\": %s, \"restarts\": %u, \"ctl\": ",
		    d->role, (int)d->pid, d->pid ? "true" : "false",
		    d->finished ? "true" : "false", d->restarts);
		buf_json_str(b, ep);
		if (d->finished && WIFEXITED(d->last_status) &&
		    WEXITSTATUS(d->last_status) == SUP_EXIT_FILE_ERROR)
			buf_puts(b, ", \"error\": \"file read error: the "
			    "file could not be read to its end\"");
		buf_puts(b, "}");
	}
	buf_puts(b, "]}");
}

static void
sup_handle(void *arg, int argc, char **argv, struct buf *reply)
{
	struct sup *s = arg;

	if (argc == 1 && (strcmp(argv[0], "stats") == 0 ||
	    strcmp(argv[0], "daemons") == 0))
		sup_json(s, reply);
	else
		buf_printf(reply, "error: unknown command '%s' (ping, stats, "
		    "daemons)", argv[0]);
}

/* Takes the instance lock and writes our pid.  -1 with err if taken. */
static int
lock_instance(struct sup *s, char *err, size_t errlen)
{
	char path[PATH_MAX + 32], pid[32];
	ssize_t n;

	datadir_path(path, sizeof(path), s->o, "evflowctl.pid");
	if ((s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) ==
	    -1) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(s->lock_fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "an instance already runs in %.300s (pid "
		    "%s)", s->o->datadir, pid);
		close(s->lock_fd);
		s->lock_fd = -1;
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(s->lock_fd, 0) == -1 ||
	    pwrite(s->lock_fd, pid, strlen(pid), 0) != (ssize_t)strlen(pid)) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		close(s->lock_fd);
		s->lock_fd = -1;
		return -1;
	}
	return 0;
}

static void
report(int *fd, const char *msg)
{
	if (*fd == -1)
		return;
	if (write(*fd, msg, strlen(msg)) == -1 || write(*fd, "\n", 1) == -1)
		log_warn("readiness pipe");
	close(*fd);
	*fd = -1;
}

int
supervise(struct ctl_opts *o, int ready_fd)
{
	struct sup s;
	struct sigaction sa;
	struct pollfd pfd;
	char err[512], ep[PATH_MAX + 80], path[PATH_MAX + 32];
	uint64_t next;
	unsigned k;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.lock_fd = -1;
	if ((s.d = calloc(SUP_MAX_DAEMONS, sizeof(*s.d))) == NULL) {
		report(&ready_fd, "out of memory");
		return 1;
	}
	if (lock_instance(&s, err, sizeof(err)) == 0)
		(void)leftovers_stop(o);
	if (s.lock_fd == -1 || plan(&s, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		report(&ready_fd, err);
		free(s.d);
		return 1;
	}
	ctl_endpoint_of(ep, sizeof(ep), o, "evflowctl");
	if ((s.ctl = ctl_new(ep, sup_handle, &s, err, sizeof(err))) == NULL) {
		log_warnx("control: %s", err);
		report(&ready_fd, err);
		free(s.d);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	if (sig_setup() == -1 || sigaction(SIGCHLD, &sa, NULL) == -1)
		fatal("signals");
	log_info("supervising %u daemons in %s", s.n, o->datadir);
	/* In order: the store binds what the router connects to, and so on
	 * upstream; nanomsg would cope with any order, the logs read better. */
	for (k = 0; k < s.n; k++)
		spawn(&s, &s.d[k]);
	write_pids(&s);
	report(&ready_fd, "ok");
	pfd.fd = ctl_fd(s.ctl);
	pfd.events = POLLIN;
	while (!sig_quit) {
		if (sig_chld)
			reap(&s);
		next = restart_due(&s);
		if (poll(&pfd, 1, clock_ms_until(next, 500)) == -1 &&
		    errno != EINTR)
			fatal("poll");
		ctl_poll(s.ctl);
		reap(&s);
	}
	log_info("stopping");
	s.stopping = 1;
	for (k = 0; k < STAGE_MAX; k++)
		stop_stage(&s, (enum sup_stage)k);
	ctl_free(s.ctl);
	datadir_path(path, sizeof(path), o, "evflowctl.daemons");
	unlink(path);
	datadir_path(path, sizeof(path), o, "evflowctl.pid");
	unlink(path);
	close(s.lock_fd);
	log_info("stopped: %llu starts, %llu restarts",
	    (unsigned long long)s.starts, (unsigned long long)s.restarts);
	free(s.d);
	return 0;
}
