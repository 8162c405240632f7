/*
 * What outlives a killed supervisor: the list of its daemons
 * (<datadir>/evflowctl.daemons), and the next start's adoption of those
 * that run as planned (watched through a pidfd: they are not its
 * children) or stop of the others, stage by stage.  See docs/design.md,
 * "Supervisor".
 */
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "evflowctl.h"

/*
 * <datadir>/evflowctl.daemons lists "pid name stage" of every running
 * daemon, rewritten on each start.  If the supervisor itself is killed,
 * its daemons live on (the data keeps flowing); the next start adopts
 * them, the next stop stops them (see adopt() and leftovers_stop()).
 */
void
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
			fprintf(fp, "%d %s %d\n", (int)s->d[k].pid,
			    s->d[k].name, (int)s->d[k].stage);
	if (fclose(fp) != 0 || rename(tmp, path) == -1)
		log_warn("%s", path);
}

/* The command line of process `pid` (NUL-separated) into buf; its
 * length, or 0. */
static size_t
proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, len - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return n;
}

/* 1 if process `pid` is an evflow daemon of data directory `dir`: its
 * command line holds "-d" followed by exactly `dir`. */
static int
is_our_daemon(pid_t pid, const char *dir)
{
	char cmd[8192];
	size_t n, i;

	n = proc_cmdline(pid, cmd, sizeof(cmd));
	for (i = 0; i + 3 < n; i += strlen(cmd + i) + 1)
		if (strcmp(cmd + i, "-d") == 0 &&
		    strcmp(cmd + i + 3, dir) == 0)
			return 1;
	return 0;
}

/*
 * 1 if process `pid` runs exactly what daemon `d` would run: the same
 * arguments, and its binary not replaced since (a rebuilt or upgraded
 * binary shows as "(deleted)").  webd's "webd.port=0" (-p 0) matches
 * any port: the one it bound is kept (d->port_opt).
 */
static int
runs_as_planned(pid_t pid, struct daemon *d)
{
	char exe[PATH_MAX + 16], path[64];
	char *cmd, *a;
	size_t n, off = 0;
	unsigned k;
	ssize_t m;
	int same = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((m = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return 0;
	exe[m] = '\0';
	if (strstr(exe, " (deleted)") != NULL)
		return 0;
	if ((cmd = malloc(SUP_ARGBUF + 1)) == NULL)
		return 0;
	n = proc_cmdline(pid, cmd, SUP_ARGBUF + 1);
	for (k = 0; k < d->argc && off < n; k++) {
		a = cmd + off;
		if (d->argv[k] == d->port_opt && strncmp(a, "webd.port=", 10) == 0)
			;	/* any port: webd keeps the one it has */
		else if (strcmp(a, d->argv[k]) != 0)
			break;
		off += strlen(a) + 1;
	}
	same = k == d->argc && off == n;
	free(cmd);
	return same;
}

/* A pidfd for `pid` (readable once it exits), or -1. */
static int
pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* 1 once daemon `d`, not our child, has exited. */
int
adopted_gone(struct daemon *d, const char *dir)
{
	struct pollfd p;

	if (d->pidfd != -1) {
		p.fd = d->pidfd;
		p.events = POLLIN;
		return poll(&p, 1, 0) == 1;
	}
	return kill(d->pid, 0) == -1 || !is_our_daemon(d->pid, dir);
}

/* The stage of a daemon in a pid file without one (older evflowctl). */
static enum sup_stage
stage_of_name(const char *name)
{
	if (strncmp(name, "probe", 5) == 0 || strcmp(name, "webd") == 0)
		return STAGE_PROBE;
	if (strcmp(name, "router") == 0)
		return STAGE_ROUTER;
	if (strcmp(name, "store") == 0)
		return STAGE_STORE;
	return STAGE_EDGE;
}

/* Reads <datadir>/evflowctl.daemons into d[] (at most SUP_MAX_DAEMONS):
 * the daemons it lists that still run, not our children.  Returns how
 * many. */
static unsigned
read_leftovers(const struct ctl_opts *o, struct daemon *d)
{
	char path[PATH_MAX + 32], line[256], name[64];
	unsigned n = 0;
	int pid, stage, f;
	FILE *fp;

	datadir_path(path, sizeof(path), o, "evflowctl.daemons");
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (n < SUP_MAX_DAEMONS && fgets(line, sizeof(line), fp) != NULL) {
		if ((f = sscanf(line, "%d %63s %d", &pid, name, &stage)) < 2 ||
		    pid <= 1 || !is_our_daemon(pid, o->datadir))
			continue;
		memset(&d[n], 0, sizeof(d[n]));
		d[n].pid = pid;
		snprintf(d[n].name, sizeof(d[n].name), "%s", name);
		d[n].role = "?";
		d[n].stage = f == 3 && stage >= 0 && stage < STAGE_MAX ?
		    (enum sup_stage)stage : stage_of_name(name);
		d[n].adopted = 1;
		d[n].pidfd = pidfd_of(pid);
		n++;
	}
	fclose(fp);
	return n;
}

int
leftovers_stop(const struct ctl_opts *o)
{
	char path[PATH_MAX + 32];
	struct sup s;
	unsigned k;

	memset(&s, 0, sizeof(s));
	s.o = (struct ctl_opts *)(uintptr_t)o;
	if ((s.d = calloc(SUP_MAX_DAEMONS, sizeof(*s.d))) == NULL)
		return 0;
	s.n = read_leftovers(o, s.d);
	for (k = 0; k < s.n; k++)
		log_warnx("%s (pid %d) outlived its supervisor: stopping it",
		    s.d[k].name, (int)s.d[k].pid);
	stop_all(&s);
	datadir_path(path, sizeof(path), o, "evflowctl.daemons");
	unlink(path);
	free(s.d);
	return (int)s.n;
}

/*
 * A new supervisor over daemons a killed one left: each that runs
 * exactly what this one would run under its name is adopted (it keeps
 * running, nothing it holds is lost; its exit is seen through a pidfd,
 * since it is not our child); the others are stopped stage by stage,
 * upstream first, each stage drained.  Returns how many were adopted.
 */
unsigned
adopt(struct sup *s)
{
	struct sup old;
	struct daemon *d;
	unsigned k, j, adopted = 0, left = 0;

	memset(&old, 0, sizeof(old));
	old.o = s->o;
	if ((old.d = calloc(SUP_MAX_DAEMONS, sizeof(*old.d))) == NULL)
		return 0;
	old.n = read_leftovers(s->o, old.d);
	for (k = 0; k < old.n; k++) {
		for (j = 0, d = NULL; j < s->n && d == NULL; j++)
			if (strcmp(s->d[j].name, old.d[k].name) == 0 &&
			    s->d[j].pid == 0)
				d = &s->d[j];
		if (d == NULL || !runs_as_planned(old.d[k].pid, d)) {
			log_warnx("%s (pid %d) outlived its supervisor and is "
			    "not what this start runs: stopping it",
			    old.d[k].name, (int)old.d[k].pid);
			old.d[left++] = old.d[k];
			continue;
		}
		d->pid = old.d[k].pid;
		d->pidfd = old.d[k].pidfd;
		d->adopted = 1;
		d->started_usec = clock_mono_usec();
		adopted++;
		log_info("adopted %s (pid %d): it outlived its supervisor and "
		    "runs as planned", d->name, (int)d->pid);
	}
	old.n = left;
	stop_all(&old);
	free(old.d);
	return adopted;
}
