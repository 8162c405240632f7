/*
 * The supervisor: starts the daemons of one instance (adopting those a
 * killed supervisor left, if they run as planned), reports ready only
 * when all answer (a daemon that exits meanwhile fails the start, and
 * everything is stopped), restarts one that exits unexpectedly (with a
 * doubling backoff, reset after a stable run), answers its own control
 * socket, and on SIGTERM/SIGINT stops the daemons stage by stage (probes
 * and webd -> collectors and captures -> router -> store), each stage
 * drained first, TERM then KILL after SUP_STOP_TIMEOUT_MS.  See
 * docs/design.md, "Supervisor".
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/sig.h"
#include "evflowctl.h"

static volatile sig_atomic_t sig_chld;

static void
on_chld(int sig)
{
	(void)sig;
	sig_chld = 1;
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

static struct daemon *
by_pid(struct sup *s, pid_t pid)
{
	unsigned k;

	for (k = 0; k < s->n; k++)
		if (s->d[k].pid == pid)
			return &s->d[k];
	return NULL;
}

/* webd with -p 0: the port it bound, from webd.port, for its restarts,
 * so the URL evflowctl printed stays valid. */
static void
learn_port(struct sup *s, struct daemon *d)
{
	int port;

	if (d->argv[d->port_arg] != d->port_opt || d->port_arg == 0 ||
	    (port = web_port_of(s->o)) <= 0)
		return;
	snprintf(d->port_opt, sizeof(d->port_opt), "webd.port=%d", port);
}

/* Daemon `d` (pid `pid`) exited with wait status `st` (-1: unknown, it
 * was adopted): during start, the start fails; while running, a restart
 * is scheduled with the backoff. */
static void
exited(struct sup *s, struct daemon *d, pid_t pid, int st)
{
	uint64_t now;

	if (d->pidfd != -1 && d->adopted)
		close(d->pidfd);
	d->pidfd = -1;
	d->adopted = 0;
	d->pid = 0;
	d->ready = 0;
	d->last_status = st;
	s->exits++;
	if (s->stopping)
		return;
	if (st != -1 && d->once && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		d->finished = 1;
		log_info("%s (pid %d) finished", d->name, (int)pid);
		return;
	}
	if (st != -1 && d->once && WIFEXITED(st) &&
	    WEXITSTATUS(st) == SUP_EXIT_FILE_ERROR) {
		d->finished = 1;
		log_warnx("%s (pid %d) finished with an error: its file could "
		    "not be read to its end (see its log)", d->name, (int)pid);
		return;
	}
	if (s->starting) {
		if (s->failed == NULL)
			s->failed = d;
		return;
	}
	now = clock_mono_usec();
	if (now - d->started_usec >= SUP_STABLE_USEC || d->backoff_ms == 0)
		d->backoff_ms = SUP_BACKOFF_MIN_MS;
	else if ((d->backoff_ms *= 2) > SUP_BACKOFF_MAX_MS)
		d->backoff_ms = SUP_BACKOFF_MAX_MS;
	d->restart_usec = now + (uint64_t)d->backoff_ms * 1000u;
	if (st == -1)
		log_warnx("%s (pid %d, adopted) exited; restart in %u ms",
		    d->name, (int)pid, d->backoff_ms);
	else if (WIFSIGNALED(st))
		log_warnx("%s (pid %d) killed by signal %d; restart in %u ms",
		    d->name, (int)pid, WTERMSIG(st), d->backoff_ms);
	else
		log_warnx("%s (pid %d) exited with status %d; restart in %u ms",
		    d->name, (int)pid, WEXITSTATUS(st), d->backoff_ms);
}

/* Collects exited daemons, our children and adopted ones. */
static void
reap(struct sup *s)
{
	struct daemon *d;
	unsigned k;
	pid_t pid;
	int st;

	sig_chld = 0;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if ((d = by_pid(s, pid)) != NULL && !d->adopted)
			exited(s, d, pid, st);
	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		if (d->pid != 0 && d->adopted && adopted_gone(d, s->o->datadir))
			exited(s, d, d->pid, -1);
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
			learn_port(s, d);
			spawn(s, d);
			write_pids(s);
		} else if (d->restart_usec < next)
			next = d->restart_usec;
	}
	return next;
}

/* A number that changes while daemon stats `j` say it works on records:
 * the sum of its counters but those that move by themselves (control
 * requests, our own included; its timers' stats and table records).
 * Adds its output links' queues to *queued. */
static double
stats_print(const cJSON *j, double *queued)
{
	const cJSON *c, *l;
	double sum = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "counters"))
		if (cJSON_IsNumber(c) && strstr(c->string, "ctl") == NULL &&
		    strstr(c->string, "stats") == NULL &&
		    strcmp(c->string, "iface_sent") != 0)
			sum += c->valuedouble;
	cJSON_ArrayForEach(l, cJSON_GetObjectItem(j, "links"))
		if (strcmp(json_str(l, "dir"), "out") == 0) {
			c = cJSON_GetObjectItem(l, "queued_batches");
			if (cJSON_IsNumber(c))
				*queued += c->valuedouble;
		}
	return sum;
}

static const char *const stage_name[STAGE_MAX] = {
	[STAGE_PROBE] = "probes and webd",
	[STAGE_EDGE] = "collectors and captures",
	[STAGE_ROUTER] = "router",
	[STAGE_STORE] = "store",
};

/*
 * Before `stage` is stopped, once the stages upstream of it are gone:
 * waits until its daemons have taken in what was sent to them and
 * passed it on (their counters stand still for SUP_DRAIN_STILL_MS and
 * their output queues are empty), at most SUP_DRAIN_MS.  A daemon that
 * does not answer is not waited for.
 */
static void
drain_stage(struct sup *s, enum sup_stage stage)
{
	char ep[SUP_MAX_DAEMONS][PATH_MAX + 80];
	const char *eps[SUP_MAX_DAEMONS];
	struct buf replies[SUP_MAX_DAEMONS];
	struct timespec nap = { 0, SUP_DRAIN_STILL_MS * 1000000L };
	uint64_t t0 = clock_mono_usec(), deadline;
	double sum, prev = -1, queued;
	unsigned k, n = 0, down;
	int rc[SUP_MAX_DAEMONS], answered;
	cJSON *j;

	for (k = down = 0; k < s->n; k++)
		down += s->d[k].stage > stage && s->d[k].pid != 0;
	for (k = 0; k < s->n; k++)
		if (s->d[k].stage == stage && s->d[k].pid != 0) {
			ctl_endpoint_of(ep[n], sizeof(ep[n]), s->o,
			    s->d[k].name);
			eps[n] = ep[n];
			n++;
		}
	/* nothing to wait for, or nowhere for it to go (the store died) */
	if (n == 0 || (stage < STAGE_STORE && down == 0))
		return;
	deadline = t0 + SUP_DRAIN_MS * 1000u;
	for (;;) {
		memset(replies, 0, sizeof(replies[0]) * n);
		(void)ctl_request_all(eps, n, "stats", replies, rc,
		    SUP_DRAIN_STILL_MS);
		sum = queued = 0;
		answered = 0;
		for (k = 0; k < n; k++) {
			if (rc[k] == 0 && (j = cJSON_ParseWithLength(
			    replies[k].p, replies[k].len)) != NULL) {
				sum += stats_print(j, &queued);
				answered++;
				cJSON_Delete(j);
			}
			buf_free(&replies[k]);
		}
		if (answered == 0 || (queued == 0 && sum == prev)) {
			log_info("%s drained in %llu ms", stage_name[stage],
			    (unsigned long long)(clock_mono_usec() - t0) /
			    1000);
			return;
		}
		if (clock_mono_usec() >= deadline) {
			log_warnx("%s still busy after %d ms (%.0f batches "
			    "queued): not waiting longer", stage_name[stage],
			    SUP_DRAIN_MS, queued);
			return;
		}
		prev = sum;
		nanosleep(&nap, NULL);
	}
}

/* TERMs every running daemon of `stage`, KILLs what is left after the
 * timeout, and reaps them all (adopted ones through their pidfd). */
static void
stop_stage(struct sup *s, enum sup_stage stage)
{
	struct timespec nap = { 0, 50 * 1000000L };
	uint64_t deadline;
	unsigned k, left;
	struct daemon *d;

	for (k = left = 0; k < s->n; k++)
		if (s->d[k].stage == stage && s->d[k].pid != 0) {
			log_info("stopping %s (pid %d)", s->d[k].name,
			    (int)s->d[k].pid);
			kill(s->d[k].pid, SIGTERM);
			left++;
		}
	if (left == 0)
		return;
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
	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		if (d->stage != stage || d->pid == 0)
			continue;
		log_warnx("%s (pid %d) did not stop in %d ms: killed", d->name,
		    (int)d->pid, SUP_STOP_TIMEOUT_MS);
		kill(d->pid, SIGKILL);
		if (!d->adopted)
			waitpid(d->pid, NULL, 0);
		else
			for (left = 0; left < 40 && !adopted_gone(d,
			    s->o->datadir); left++)
				nanosleep(&nap, NULL);
		exited(s, d, d->pid, -1);
	}
}

/* Stops every daemon of `s`, stage by stage, upstream first: probes
 * (and webd), collectors and captures, the router, the store; each
 * stage after the first drained before it is stopped. */
void
stop_all(struct sup *s)
{
	int k;

	s->stopping = 1;
	for (k = 0; k < STAGE_MAX; k++) {
		if (k > STAGE_PROBE)
			drain_stage(s, (enum sup_stage)k);
		stop_stage(s, (enum sup_stage)k);
	}
}

/* The last line of daemon `d`'s log (its reason to exit), into out. */
static void
last_log_line(struct sup *s, struct daemon *d, char *out, size_t len)
{
	char path[PATH_MAX + 80], tail[1024], *p, *e;
	ssize_t n;
	off_t size;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s.log", s->o->datadir, d->name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(tail) - 1)
		(void)lseek(fd, size - (off_t)sizeof(tail) + 1, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	n = read(fd, tail, sizeof(tail) - 1);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && tail[n - 1] == '\n')
		tail[--n] = '\0';
	p = (e = strrchr(tail, '\n')) != NULL ? e + 1 : tail;
	snprintf(out, len, "%.*s", (int)(len > 0 ? len - 1 : 0), p);
}

/*
 * Starts what was not adopted and waits until every daemon answers its
 * control socket (and webd has said its port), at most
 * SUP_READY_TIMEOUT_MS.  A daemon that exits meanwhile (a store refusing
 * its database, a port taken) fails the start.  Returns 0, or -1 with
 * err (the caller stops everything).
 */
static int
start_all(struct sup *s, char *err, size_t errlen)
{
	char ep[SUP_MAX_DAEMONS][PATH_MAX + 80], line[600];
	const char *eps[SUP_MAX_DAEMONS];
	struct daemon *who[SUP_MAX_DAEMONS];
	struct buf replies[SUP_MAX_DAEMONS];
	struct timespec nap = { 0, 100 * 1000000L };
	uint64_t deadline;
	unsigned k, n;
	int rc[SUP_MAX_DAEMONS], st;
	struct daemon *d;

	s->starting = 1;
	for (k = 0; k < s->n; k++) {
		d = &s->d[k];
		if (d->pid != 0)
			continue;
		if (d->port_arg != 0) {
			/* a fresh webd says its port anew */
			datadir_path(line, sizeof(line), s->o, "webd.port");
			unlink(line);
		}
		spawn(s, d);
	}
	write_pids(s);
	deadline = clock_mono_usec() + SUP_READY_TIMEOUT_MS * 1000ULL;
	for (;;) {
		reap(s);
		if ((d = s->failed) != NULL) {
			st = d->last_status;
			last_log_line(s, d, line, sizeof(line));
			if (st != -1 && WIFSIGNALED(st))
				snprintf(err, errlen, "%s was killed by signal "
				    "%d while starting: %.400s", d->name,
				    WTERMSIG(st), line);
			else if (st != -1)
				snprintf(err, errlen, "%s exited with status %d "
				    "while starting: %.400s", d->name,
				    WEXITSTATUS(st), line);
			else
				snprintf(err, errlen, "%s exited while "
				    "starting: %.400s", d->name, line);
			return -1;
		}
		if (sig_quit) {
			snprintf(err, errlen, "interrupted while starting");
			return -1;
		}
		for (k = n = 0; k < s->n; k++) {
			d = &s->d[k];
			if (d->pid == 0 || d->ready)
				continue;
			ctl_endpoint_of(ep[n], sizeof(ep[n]), s->o, d->name);
			eps[n] = ep[n];
			who[n++] = d;
		}
		if (n > 0) {
			memset(replies, 0, sizeof(replies[0]) * n);
			(void)ctl_request_all(eps, n, "ping", replies, rc, 300);
		}
		for (k = 0; k < n; k++) {
			/* webd is ready for users once its port is known */
			who[k]->ready = rc[k] == 0 && replies[k].len == 4 &&
			    memcmp(replies[k].p, "pong", 4) == 0 &&
			    (strcmp(who[k]->role, "webd") != 0 ||
			    web_port_of(s->o) > 0);
			buf_free(&replies[k]);
		}
		for (k = n = 0; k < s->n; k++)
			n += s->d[k].pid != 0 && !s->d[k].ready;
		if (n == 0) {
			s->starting = 0;
			for (k = 0; k < s->n; k++)
				learn_port(s, &s->d[k]);
			return 0;
		}
		if (clock_mono_usec() >= deadline) {
			for (k = 0; k < s->n; k++)
				if (s->d[k].pid != 0 && !s->d[k].ready)
					break;
			snprintf(err, errlen, "%s did not answer within %d s "
			    "(see %.300s/%s.log)", s->d[k].name,
			    SUP_READY_TIMEOUT_MS / 1000, s->o->datadir,
			    s->d[k].name);
			return -1;
		}
		nanosleep(&nap, NULL);
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
		    "%s, \"finished\": %s, \"adopted\": %s, \"restarts\": "
		    "%u, \"ctl\": ", d->role, (int)d->pid, d->pid ? "true" :
		    "false", d->finished ? "true" : "false", d->adopted ?
		    "true" : "false", d->restarts);
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

/* Removes the instance's files and lock at the end (nothing if the lock
 * is another supervisor's). */
static void
sup_close(struct sup *s)
{
	char path[PATH_MAX + 32];

	ctl_free(s->ctl);
	s->ctl = NULL;
	if (s->lock_fd == -1)
		return;
	datadir_path(path, sizeof(path), s->o, "evflowctl.daemons");
	unlink(path);
	datadir_path(path, sizeof(path), s->o, "evflowctl.pid");
	unlink(path);
	close(s->lock_fd);
	s->lock_fd = -1;
}

int
supervise(struct ctl_opts *o, int ready_fd)
{
	struct pollfd pfd[1 + SUP_MAX_DAEMONS];
	struct sup s;
	struct sigaction sa;
	char err[768], ep[PATH_MAX + 80];
	uint64_t next;
	unsigned k, n;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.lock_fd = -1;
	if ((s.d = calloc(SUP_MAX_DAEMONS, sizeof(*s.d))) == NULL) {
		report(&ready_fd, "out of memory");
		return 1;
	}
	if (lock_instance(&s, err, sizeof(err)) == -1 ||
	    plan(&s, err, sizeof(err)) == -1) {
		/* a refused plan leaves what a killed supervisor left */
		if (s.lock_fd != -1)
			(void)leftovers_stop(o);
		log_warnx("%s", err);
		sup_close(&s);	/* before `start` hears of it */
		report(&ready_fd, err);
		free(s.d);
		return 1;
	}
	plan_finish(&s);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	if (sig_setup() == -1 || sigaction(SIGCHLD, &sa, NULL) == -1)
		fatal("signals");
	ctl_endpoint_of(ep, sizeof(ep), o, "evflowctl");
	if ((s.ctl = ctl_new(ep, sup_handle, &s, err, sizeof(err))) == NULL) {
		log_warnx("control: %s", err);
		(void)leftovers_stop(o);
		sup_close(&s);	/* before `start` hears of it */
		report(&ready_fd, err);
		free(s.d);
		return 1;
	}
	k = adopt(&s);
	log_info("supervising %u daemons in %s (%u adopted)", s.n, o->datadir,
	    k);
	/* In order: the store binds what the router connects to, and so on
	 * upstream; nanomsg would cope with any order, the logs read better. */
	if (start_all(&s, err, sizeof(err)) == -1) {
		log_warnx("start failed: %s; stopping everything", err);
		stop_all(&s);
		sup_close(&s);	/* before `start` hears of it */
		report(&ready_fd, err);
		free(s.d);
		return 1;
	}
	report(&ready_fd, "ok");
	while (!sig_quit) {
		if (sig_chld)
			reap(&s);
		next = restart_due(&s);
		pfd[0].fd = ctl_fd(s.ctl);
		pfd[0].events = POLLIN;
		for (k = 0, n = 1; k < s.n; k++)
			if (s.d[k].pid != 0 && s.d[k].adopted &&
			    s.d[k].pidfd != -1) {
				pfd[n].fd = s.d[k].pidfd;
				pfd[n++].events = POLLIN;
			}
		if (poll(pfd, n, clock_ms_until(next, 500)) == -1 &&
		    errno != EINTR)
			fatal("poll");
		ctl_poll(s.ctl);
		reap(&s);
	}
	log_info("stopping");
	stop_all(&s);
	sup_close(&s);
	log_info("stopped: %llu starts, %llu restarts",
	    (unsigned long long)s.starts, (unsigned long long)s.restarts);
	free(s.d);
	return 0;
}
