/*
 * probe/proc_resolve.c's cache on a fake /proc tree (a temporary
 * directory): a process and its parent resolved, the container from its
 * cgroup, a reused pid never given the old process's details, an exec
 * (same pid and start, new comm) re-resolved, and the size bound; a
 * process gone from /proc keeps what the kernel said of it (its exe
 * path, joined from the kernel's components).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/probe.h"
#include "probe/probe_event.h"
#include "t.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char root[64];
static long ns_per_tick;

static void
put(unsigned pid, const char *name, const char *text, size_t len)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/%s", root, pid, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(text, 1, len, f);
	fclose(f);
}

/* A fake process: stat (comm, ppid, start), status, cmdline, exe. */
static void
fake(unsigned pid, const char *comm, unsigned ppid, unsigned long long start,
    unsigned uid, const char *exe, const char *cmdline, size_t cmdlen,
    const char *cgroup)
{
	char text[512], path[160];

	snprintf(text, sizeof(text), "%u (%s) S %u %u %u 0 -1 0 0 0 0 0 0 0 0 "
	    "0 20 0 1 0 %llu 1000 10\n", pid, comm, ppid, pid, pid, start);
	put(pid, "stat", text, strlen(text));
	snprintf(text, sizeof(text), "Name:\t%s\nUid:\t%u\t%u\t%u\t%u\n"
	    "Gid:\t%u\t%u\t%u\t%u\n", comm, uid, uid, uid, uid, uid, uid, uid,
	    uid);
	put(pid, "status", text, strlen(text));
	put(pid, "cmdline", cmdline, cmdlen);
	put(pid, "cgroup", cgroup, strlen(cgroup));
	snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
	unlink(path);
	if (symlink(exe, path) != 0)
		perror("symlink");
}

static void
test_resolve(uint64_t *ctr)
{
	struct proc_cache *c = proc_cache_new(64, root, ctr);
	const struct proc_entry *e;

	fake(10, "bash", 1, 500, 1000, "/usr/bin/bash", "-bash", 6,
	    "0::/user.slice\n");
	fake(20, "curl", 10, 900, 1000, "/usr/bin/curl",
	    "curl\0-s\0http://x/", 18, "0::/system.slice/docker-" ID64
	    ".scope\n");
	e = proc_cache_get(c, 20, 900ULL * (uint64_t)ns_per_tick, "curl");
	CHECK(e != NULL);
	if (e == NULL)
		return;
	CHECK_EQ_U(e->proc.pid, 20);
	CHECK_EQ_U(e->proc.uid, 1000);
	CHECK_STR(e->proc.path, "/usr/bin/curl");
	CHECK_STR(e->proc.cmdline, "curl -s http://x/");
	CHECK_EQ_U(e->has_parent, 1);
	CHECK_EQ_U(e->parent.pid, 10);
	CHECK_STR(e->parent.path, "/usr/bin/bash");
	CHECK_EQ_U(e->cont.kind, PCONT_DOCKER);
	CHECK_STR(e->cont.id, ID64);
	CHECK_EQ_U(ctr[PC_PROC_CACHE_MISSES], 1);
	e = proc_cache_get(c, 20, 900ULL * (uint64_t)ns_per_tick, "curl");
	CHECK(e != NULL);
	CHECK_EQ_U(ctr[PC_PROC_CACHE_HITS], 1);

	/* pid 20 reused by another program: an event of the old process
	 * (start 900) is not labelled with the new one (start 950)... */
	fake(20, "nc", 10, 950, 0, "/usr/bin/nc", "nc", 3, "0::/\n");
	e = proc_cache_get(c, 20, 901ULL * (uint64_t)ns_per_tick, "curl");
	CHECK(e == NULL);
	/* ...and the new process's events get the new details. */
	e = proc_cache_get(c, 20, 950ULL * (uint64_t)ns_per_tick, "nc");
	CHECK(e != NULL && strcmp(e->proc.path, "/usr/bin/nc") == 0);
	CHECK(e != NULL && e->cont.kind == PCONT_NONE);
	/* an exec keeps pid and start time: the comm tells it apart */
	fake(20, "python3", 10, 950, 0, "/usr/bin/python3", "python3", 8,
	    "0::/\n");
	e = proc_cache_get(c, 20, 950ULL * (uint64_t)ns_per_tick, "python3");
	CHECK(e != NULL && strcmp(e->proc.path, "/usr/bin/python3") == 0);
	/* gone */
	CHECK(proc_cache_get(c, 99, 0, NULL) == NULL);
	CHECK(proc_cache_get(c, 0, 0, NULL) == NULL);
	proc_cache_free(c);
}

static void
test_bound(uint64_t *ctr)
{
	struct proc_cache *c = proc_cache_new(16, root, ctr);
	unsigned pid, ok = 0;

	memset(ctr, 0, PC_MAX * sizeof(*ctr));
	for (pid = 100; pid < 300; pid++) {
		fake(pid, "w", 1, pid, 0, "/bin/w", "w", 2, "0::/\n");
		ok += proc_cache_get(c, pid, 0, "w") != NULL;
	}
	CHECK_EQ_U(ok, 200);
	CHECK(ctr[PC_PROC_CACHE_SIZE] <= 16);
	CHECK_EQ_U(ctr[PC_PROC_CACHE_SIZE] + ctr[PC_PROC_CACHE_EVICTED], 200);
	CHECK(proc_cache_bytes(16) < proc_cache_bytes(1024));
	proc_cache_free(c);
}

/* A kernel process record: `names` from the file up, "" a mount. */
static void
kproc(struct probe_proc *r, const char *const *names, int n)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < n; i++)
		snprintf(r->name[i], sizeof(r->name[i]), "%s", names[i]);
	r->depth = (uint8_t)n;
}

static void
test_kernel_path(uint64_t *ctr)
{
	static const char *const curl[] = { "curl", "bin", "usr" };
	static const char *const mnt[] = { "tool", "", "opt" };
	static const char *const slash[] = { "a/b", "usr" };
	struct proc_cache *c = proc_cache_new(64, root, ctr);
	const struct proc_entry *e;
	struct proc_kernel k;
	struct probe_proc r;
	char path[PROBE_PATH_LEN];

	kproc(&r, curl, 3);
	CHECK(probe_proc_path(&r, path, sizeof(path)) == 0);
	CHECK(strcmp(path, "/usr/bin/curl") == 0);
	/* an empty slot is a mount point crossed */
	kproc(&r, mnt, 3);
	CHECK(probe_proc_path(&r, path, sizeof(path)) == 0);
	CHECK(strcmp(path, "/opt/tool") == 0);
	/* truncated, unknown, a '/' in a name, too small a buffer: none */
	kproc(&r, curl, 3);
	r.truncated = 1;
	CHECK(probe_proc_path(&r, path, sizeof(path)) == -1);
	kproc(&r, curl, 0);
	CHECK(probe_proc_path(&r, path, sizeof(path)) == -1);
	kproc(&r, slash, 2);
	CHECK(probe_proc_path(&r, path, sizeof(path)) == -1);
	kproc(&r, curl, 3);
	CHECK(probe_proc_path(&r, path, 10) == -1);
	r.depth = PROBE_EXE_DEPTH + 1;
	CHECK(probe_proc_path(&r, path, sizeof(path)) == -1);

	memset(ctr, 0, PC_MAX * sizeof(*ctr));
	k.uid = 65534;
	k.gid = 65534;
	k.path = "/usr/bin/curl";
	/* Gone from /proc: the kernel's pid, ids and path, counted;
	 * later events of the process (proc_cache_get) find it. */
	e = proc_cache_note(c, 4242, 777ULL * (uint64_t)ns_per_tick, "curl",
	    &k);
	CHECK(e != NULL && strcmp(e->proc.path, "/usr/bin/curl") == 0 &&
	    e->proc.uid == 65534 && e->proc.pid == 4242 && !e->has_parent);
	CHECK_EQ_U(ctr[PC_PROC_KERNEL_ONLY], 1);
	e = proc_cache_get(c, 4242, 777ULL * (uint64_t)ns_per_tick, "curl");
	CHECK(e != NULL && strcmp(e->proc.path, "/usr/bin/curl") == 0);
	/* another start time (a reused pid) is not that process */
	CHECK(proc_cache_get(c, 4242, 778ULL * (uint64_t)ns_per_tick,
	    "curl") == NULL);
	/* without a path from the kernel: unresolved */
	k.path = NULL;
	CHECK(proc_cache_note(c, 4343, 9ULL * (uint64_t)ns_per_tick, "x",
	    &k) == NULL);
	/* still in /proc: /proc's details win */
	fake(30, "nc", 1, 1200, 1000, "/usr/bin/nc.openbsd", "nc\0-l", 6,
	    "0::/\n");
	k.path = "/usr/bin/somethingelse";
	e = proc_cache_note(c, 30, 1200ULL * (uint64_t)ns_per_tick, "nc", &k);
	CHECK(e != NULL && strcmp(e->proc.path, "/usr/bin/nc.openbsd") == 0 &&
	    strcmp(e->proc.cmdline, "nc -l") == 0);
	CHECK_EQ_U(ctr[PC_PROC_KERNEL_ONLY], 1);
	proc_cache_free(c);
}

int
main(void)
{
	static uint64_t ctr[PC_MAX];
	char cmd[96];
	long hz = sysconf(_SC_CLK_TCK);

	ns_per_tick = 1000000000L / (hz > 0 ? hz : 100);
	snprintf(root, sizeof(root), "%s/probe-proc.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_resolve(ctr);
	test_bound(ctr);
	test_kernel_path(ctr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return t_done("test_probe_proc");
}
