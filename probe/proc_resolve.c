/*
 * Who made an event: /proc/<pid> (exe, command line, parent, cgroup),
 * user and group names, behind a bounded cache.
 *
 * The cache key is (tgid, process start time, kernel comm).  The start
 * time comes from the kernel with the event, so a pid reused by another
 * process never finds the old entry, and /proc is checked against it: if
 * /proc/<pid> is a different process (the event's one is gone), the
 * event is unresolved rather than mislabelled.  The comm makes an exec
 * (same pid and start time, new program) a new entry.  Eviction: the
 * least recently used of the PROC_PROBE slots a key may occupy.
 *
 * The parsers (stat, status, cmdline) take text and a length, never
 * trust a terminator, and are fuzzed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "probe.h"
#include "probe_event.h"

#define PROC_PROBE	8	/* slots a key may occupy */
#define PROC_READ_MAX	4096	/* bytes read of stat, status, cgroup */
#define NAME_SLOTS	256	/* user/group name cache, direct mapped */

struct name_slot {
	int		 used;
	uint32_t	 id;
	char		 name[PROBE_NAME_LEN];
};

struct proc_cache {
	unsigned	 mask;
	uint64_t	 clock;
	uint64_t	*ctr;
	long		 ns_per_tick;
	char		 root[128];
	struct proc_entry *e;		/* mask + 1 slots, tgid 0 = free */
	struct name_slot users[NAME_SLOTS];
	struct name_slot groups[NAME_SLOTS];
};

/* ---- parsers ---- */

int
proc_parse_stat(const char *t, size_t len, struct proc_stat *s)
{
	const char *open, *close = NULL, *p, *end = t + len;
	unsigned long long v;
	size_t n;
	int field;

	memset(s, 0, sizeof(*s));
	if ((open = memchr(t, '(', len)) == NULL)
		return -1;
	/* comm may contain ')': the last one closes it. */
	for (p = open + 1; p < end; p++)
		if (*p == ')')
			close = p;
	if (close == NULL)
		return -1;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(s->comm))
		n = sizeof(s->comm) - 1;
	memcpy(s->comm, open + 1, n);
	s->comm[n] = '\0';
	/* Fields after comm: 3 state, 4 ppid, ... 22 starttime. */
	p = close + 1;
	for (field = 3; field <= 22; field++) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -1;
		if (field == 3) {
			s->state = *p++;
			continue;
		}
		v = 0;
		if (*p == '-')
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (v > (~0ULL - 9) / 10)
				return -1;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (field == 4)
			s->ppid = v > 0x7fffffff ? -1 : (pid_t)v;
		else if (field == 22)
			s->start_ticks = v;
	}
	return s->ppid < 0 ? -1 : 0;
}

/* The first number after `key` at the start of a line, in [0, 2^32). */
static int
status_num(const char *t, size_t len, const char *key, uint32_t *out)
{
	const char *l = t, *end = t + len, *nl, *p;
	size_t kl = strlen(key);
	unsigned long long v;

	for (; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			nl = end;
		if ((size_t)(nl - l) <= kl || memcmp(l, key, kl) != 0)
			continue;
		for (p = l + kl; p < nl && (*p == '\t' || *p == ' '); p++)
			;
		if (p == nl || *p < '0' || *p > '9')
			return -1;
		for (v = 0; p < nl && *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (unsigned)(*p - '0');
			if (v > 0xffffffffULL)
				return -1;
		}
		*out = (uint32_t)v;
		return 0;
	}
	return -1;
}

int
proc_parse_status(const char *t, size_t len, uint32_t *uid, uint32_t *gid)
{
	if (status_num(t, len, "Uid:", uid) == -1 ||
	    status_num(t, len, "Gid:", gid) == -1)
		return -1;
	return 0;
}

size_t
proc_join_cmdline(const char *a, size_t len, char *dst, size_t cap)
{
	size_t i, n = 0;

	if (cap == 0)
		return 0;
	while (len > 0 && a[len - 1] == '\0')
		len--;
	for (i = 0; i < len && n + 1 < cap; i++)
		dst[n++] = a[i] == '\0' ? ' ' : a[i];
	dst[n] = '\0';
	return n;
}

/*
 * The path the kernel's components make ("/" + the last component ...
 * "/" + the file's name; empty slots are mount points) into dst.  0, or -1 if they do not make a
 * whole path (unknown, truncated, too long, a name with a '/').
 */
int
probe_proc_path(const struct probe_proc *r, char *dst, size_t cap)
{
	size_t n = 0, l;
	int i;

	if (r->truncated || r->depth == 0 || r->depth > PROBE_EXE_DEPTH)
		return -1;
	for (i = r->depth - 1; i >= 0; i--) {
		if ((l = strnlen(r->name[i], PROBE_EXE_NAME)) == 0)
			continue;	/* a mount point */
		if (l == PROBE_EXE_NAME ||
		    memchr(r->name[i], '/', l) != NULL || n + 1 + l >= cap)
			return -1;
		dst[n++] = '/';
		memcpy(dst + n, r->name[i], l);
		n += l;
	}
	if (n == 0)
		return -1;
	dst[n] = '\0';
	return 0;
}

/* ---- reading /proc ---- */

/* Reads /proc/<pid>/<name> into buf (NUL-terminated).  Length or -1. */
static ssize_t
read_proc(const struct proc_cache *c, uint32_t pid, const char *name,
    char *buf, size_t cap)
{
	char path[192];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/%s", c->root, pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < cap - 1 &&
	    (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static void
names_of(struct proc_cache *c, struct proc_info *pi)
{
	snprintf(pi->uid_name, sizeof(pi->uid_name), "%s",
	    proc_user_name(c, pi->uid));
	snprintf(pi->gid_name, sizeof(pi->gid_name), "%s",
	    proc_group_name(c, pi->gid));
}

/* exe, cmdline, uid/gid and names of `pid`.  0 or -1 (gone). */
static int
read_info(struct proc_cache *c, uint32_t pid, struct proc_info *pi)
{
	char buf[PROC_READ_MAX], path[192];
	ssize_t n;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	if ((n = read_proc(c, pid, "status", buf, sizeof(buf))) <= 0 ||
	    proc_parse_status(buf, (size_t)n, &pi->uid, &pi->gid) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%u/exe", c->root, pid);
	if ((n = readlink(path, pi->path, sizeof(pi->path) - 1)) > 0)
		pi->path[n] = '\0';
	if ((n = read_proc(c, pid, "cmdline", buf, sizeof(buf))) > 0)
		proc_join_cmdline(buf, (size_t)n, pi->cmdline,
		    sizeof(pi->cmdline));
	names_of(c, pi);
	return 0;
}

/* Fills entry `e` from /proc (`kpath`, the kernel's exe path or NULL,
 * where the exe link cannot be read).  0, or -1 if the process is not
 * there or is another one (start time differs). */
static int
resolve(struct proc_cache *c, struct proc_entry *e, uint32_t tgid,
    unsigned long long ticks, const char *kpath)
{
	char buf[PROC_READ_MAX], path[CONF_STR_LEN];
	struct proc_stat st, pst;
	ssize_t n;

	if ((n = read_proc(c, tgid, "stat", buf, sizeof(buf))) <= 0 ||
	    proc_parse_stat(buf, (size_t)n, &st) == -1)
		return -1;
	if (ticks != 0 && st.start_ticks != ticks)
		return -1;	/* pid reused since the event */
	e->start_ticks = st.start_ticks;
	if (read_info(c, tgid, &e->proc) == -1)
		return -1;
	e->has_parent = 0;
	if (st.ppid > 0 && (n = read_proc(c, (uint32_t)st.ppid, "stat", buf,
	    sizeof(buf))) > 0 && proc_parse_stat(buf, (size_t)n, &pst) == 0 &&
	    read_info(c, (uint32_t)st.ppid, &e->parent) == 0) {
		e->has_parent = 1;
		if (e->parent.path[0] == '\0')
			snprintf(e->parent.path, sizeof(e->parent.path), "%s",
			    pst.comm);
	}
	if (e->proc.path[0] == '\0')	/* kernel thread or no access */
		snprintf(e->proc.path, sizeof(e->proc.path), "%s",
		    kpath != NULL ? kpath : st.comm);
	memset(&e->cont, 0, sizeof(e->cont));
	if ((n = read_proc(c, tgid, "cgroup", buf, sizeof(buf))) > 0 &&
	    cgroup_proc_path(buf, (size_t)n, path, sizeof(path)) == 0)
		(void)cgroup_container(path, &e->cont);
	return 0;
}

/* ---- the cache ---- */

struct proc_cache *
proc_cache_new(unsigned entries, const char *root, uint64_t *ctr)
{
	struct proc_cache *c;
	unsigned n = PROC_PROBE;
	long hz = sysconf(_SC_CLK_TCK);

	while (n < entries && n < (1u << 24))
		n <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->e = calloc(n, sizeof(*c->e))) == NULL) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
	c->ctr = ctr;
	c->ns_per_tick = 1000000000L / (hz > 0 ? hz : 100);
	snprintf(c->root, sizeof(c->root), "%s", root);
	return c;
}

void
proc_cache_free(struct proc_cache *c)
{
	if (c == NULL)
		return;
	free(c->e);
	free(c);
}

size_t
proc_cache_bytes(unsigned entries)
{
	unsigned n = PROC_PROBE;

	while (n < entries && n < (1u << 24))
		n <<= 1;
	return sizeof(struct proc_cache) + (size_t)n *
	    sizeof(struct proc_entry);
}

/*
 * The lookup behind proc_cache_get() and proc_cache_note(): on a miss,
 * /proc; if the process is gone and the kernel described it (`k`), an
 * entry from the kernel's values alone (no parent, no command line).
 */
static const struct proc_entry *
cache_lookup(struct proc_cache *c, uint32_t tgid, uint64_t start_ns,
    const char *comm, const struct proc_kernel *k)
{
	unsigned long long ticks = start_ns / (uint64_t)c->ns_per_tick;
	uint64_t key[2] = { tgid, ticks };
	struct proc_entry *e, *victim = NULL;
	unsigned h, i;

	if (tgid == 0)
		return NULL;
	h = (unsigned)hash_bytes(key, sizeof(key), 0x70726f6265ULL);
	for (i = 0; i < PROC_PROBE; i++) {
		e = &c->e[(h + i) & c->mask];
		if (e->tgid == tgid && (ticks == 0 || e->start_ticks == ticks) &&
		    (comm == NULL || strncmp(e->comm, comm,
		    sizeof(e->comm)) == 0)) {
			e->used = ++c->clock;
			c->ctr[PC_PROC_CACHE_HITS]++;
			return e;
		}
		/* The victim: a free slot, else the least recently used. */
		if (e->tgid == 0) {
			if (victim == NULL || victim->tgid != 0)
				victim = e;
		} else if (victim == NULL || (victim->tgid != 0 &&
		    e->used < victim->used))
			victim = e;
	}
	c->ctr[PC_PROC_CACHE_MISSES]++;
	if (victim->tgid != 0) {
		c->ctr[PC_PROC_CACHE_EVICTED]++;
		c->ctr[PC_PROC_CACHE_SIZE]--;
	}
	memset(victim, 0, sizeof(*victim));
	if (resolve(c, victim, tgid, ticks, k ? k->path : NULL) == -1) {
		if (k == NULL || k->path == NULL || ticks == 0) {
			victim->tgid = 0;
			return NULL;
		}
		/* Gone from /proc: what the kernel said stands. */
		memset(victim, 0, sizeof(*victim));
		victim->start_ticks = ticks;
		victim->proc.pid = tgid;
		victim->proc.uid = k->uid;
		victim->proc.gid = k->gid;
		snprintf(victim->proc.path, sizeof(victim->proc.path), "%s",
		    k->path);
		names_of(c, &victim->proc);
		c->ctr[PC_PROC_KERNEL_ONLY]++;
	}
	victim->tgid = tgid;
	if (comm != NULL)
		snprintf(victim->comm, sizeof(victim->comm), "%s", comm);
	victim->used = ++c->clock;
	c->ctr[PC_PROC_CACHE_SIZE]++;
	return victim;
}

const struct proc_entry *
proc_cache_get(struct proc_cache *c, uint32_t tgid, uint64_t start_ns,
    const char *comm)
{
	return cache_lookup(c, tgid, start_ns, comm, NULL);
}

const struct proc_entry *
proc_cache_note(struct proc_cache *c, uint32_t tgid, uint64_t start_ns,
    const char *comm, const struct proc_kernel *k)
{
	return cache_lookup(c, tgid, start_ns, comm, k);
}

/* A name from the direct-mapped cache `t`, looked up with fn. */
static const char *
name_cached(struct name_slot *t, uint32_t id, int user)
{
	struct name_slot *s = &t[id % NAME_SLOTS];
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;

	if (s->used && s->id == id)
		return s->name;
	s->used = 1;
	s->id = id;
	s->name[0] = '\0';
	if (user) {
		if (getpwuid_r(id, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
			snprintf(s->name, sizeof(s->name), "%s", pw.pw_name);
	} else if (getgrgid_r(id, &gr, buf, sizeof(buf), &grp) == 0 && grp)
		snprintf(s->name, sizeof(s->name), "%s", gr.gr_name);
	return s->name;
}

const char *
proc_user_name(struct proc_cache *c, uint32_t uid)
{
	return name_cached(c->users, uid, 1);
}

const char *
proc_group_name(struct proc_cache *c, uint32_t gid)
{
	return name_cached(c->groups, gid, 0);
}
