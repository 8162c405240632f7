/* common/daemon.c: the one precedence (defaults < file < -o < flags, in
 * command-line order), own flags (keys, lists, callbacks, long ones),
 * name checks, the stats frame, the deadline arithmetic and malloc's
 * thresholds. */
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "t.h"

struct cfg {
	char		datadir[CONF_STR_LEN];
	char		name[64];
	long long	log_level;
	long long	n;
	int		flag;
	struct conf_list list;
};

#define O(f)	offsetof(struct cfg, f)
static const struct conf_directive table[] = {
	{ "datadir", CONF_STR, O(datadir), sizeof(((struct cfg *)0)->datadir),
	  "/def", 0, 0, "d" },
	{ "name", CONF_STR, O(name), sizeof(((struct cfg *)0)->name), "t", 0,
	  0, "n" },
	{ "log_level", CONF_INT, O(log_level), 0, "1", 0, 2, "l" },
	{ "t.n", CONF_INT, O(n), 0, "5", 0, 100, "n" },
	{ "t.flag", CONF_BOOL, O(flag), 0, "yes", 0, 0, "b" },
	{ "interface", CONF_LIST, O(list), 0, NULL, 0, 0, "i" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

static const struct daemon_flag own[] = {
	{ 'x', NULL, 1, "t.n", NULL },
	{ 'p', NULL, 0, "t.flag", "no" },
	{ 'i', NULL, 1, "interface", NULL },
	{ 'c', NULL, 1, NULL, NULL },
	{ 300, "long-one", 1, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL }
};

static char seen[256];

static int
flag_fn(void *arg, int ch, const char *val, char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%d=%s;",
	    ch, val);
	return 0;
}

/* Runs daemon_configure on a NULL-ended argument list. */
static void
run(struct daemon *d, struct cfg *c, const char *const *args)
{
	static char pool[32][128];
	char *argv[32];
	int argc = 0;

	memset(d, 0, sizeof(*d));
	memset(c, 0, sizeof(*c));
	seen[0] = '\0';
	snprintf(pool[0], sizeof(pool[0]), "test");
	argv[argc] = pool[argc];
	argc++;
	for (; *args != NULL && argc < 31; argc++) {
		snprintf(pool[argc], sizeof(pool[argc]), "%s", *args++);
		argv[argc] = pool[argc];
	}
	argv[argc] = NULL;
	d->prog = "test";
	d->synopsis = "test";
	d->table = table;
	d->cfg = c;
	d->own = own;
	d->flag_fn = flag_fn;
	daemon_configure(d, argc, argv);
}

static void
test_precedence(const char *file)
{
	struct daemon d;
	struct cfg c;

	{ const char *a[] = { NULL }; run(&d, &c, a); }
	CHECK_STR(c.datadir, "/def");
	CHECK_STR(d.name, "t");
	CHECK_EQ_U(c.n, 5);
	{ const char *a[] = { "-f", file, NULL }; run(&d, &c, a); }
	CHECK_STR(c.datadir, "/file");
	CHECK_STR(c.name, "fname");
	CHECK_EQ_U(c.log_level, 2);
	CHECK_EQ_U(c.list.n, 2);
	/* -o over the file, in order */
	{ const char *a[] = { "-f", file, "-o", "datadir=/o1", "-o",
	    "datadir=/o2", "-o", "t.n=7", NULL }; run(&d, &c, a); }
	CHECK_STR(c.datadir, "/o2");
	CHECK_EQ_U(c.n, 7);
	/* flags over -o, whatever the order */
	{ const char *a[] = { "-d", "/flag", "-N", "fl", "-x", "9", "-f",
	    file, "-o", "datadir=/o", "-o", "name=on", "-o", "t.n=8", NULL };
	    run(&d, &c, a); }
	CHECK_STR(d.datadir, "/flag");
	CHECK_STR(d.name, "fl");
	CHECK_EQ_U(c.n, 9);
	/* flags among themselves: the last wins */
	{ const char *a[] = { "-d", "/a", "-d", "/b", NULL }; run(&d, &c, a); }
	CHECK_STR(c.datadir, "/b");
	/* a flag without argument sets its value; -n -v */
	{ const char *a[] = { "-p", "-n", "-v", "-v", NULL }; run(&d, &c, a); }
	CHECK_EQ_U(c.flag, 0);
	CHECK_EQ_U(d.check, 1);
	CHECK_EQ_U(d.verbose, 2);
	/* a list flag replaces the list of the file and -o, then appends */
	{ const char *a[] = { "-f", file, "-o", "interface=o0", "-i", "a",
	    "-i", "b", NULL }; run(&d, &c, a); }
	CHECK_EQ_U(c.list.n, 2);
	CHECK_STR(c.list.item[0], "a");
	CHECK_STR(c.list.item[1], "b");
	{ const char *a[] = { "-f", file, "-o", "interface=o0", NULL };
	    run(&d, &c, a); }
	CHECK_EQ_U(c.list.n, 3);
	/* callbacks, in order, long options too */
	{ const char *a[] = { "-c", "one", "--long-one", "two", "-c", "3",
	    NULL }; run(&d, &c, a); }
	CHECK_STR(seen, "99=one;300=two;99=3;");
}

static void
test_names(void)
{
	char err[256];

	CHECK(daemon_name_check("collector-1", err, sizeof(err)) == 0);
	CHECK(daemon_name_check("a.b_c", err, sizeof(err)) == 0);
	CHECK(daemon_name_check("", err, sizeof(err)) == -1);
	CHECK(daemon_name_check(".x", err, sizeof(err)) == -1);
	CHECK(daemon_name_check("a/b", err, sizeof(err)) == -1);
	CHECK(daemon_name_check("a b", err, sizeof(err)) == -1);
	CHECK(daemon_name_check("0123456789012345678901234567890123456789"
	    "012345678901234567890123", err, sizeof(err)) == -1);
	CHECK(strstr(err, "name") != NULL);
}

static void
test_stats_frame(void)
{
	static const char *const names[] = { "a", "b_c" };
	uint64_t v[] = { 1, 22 };
	struct counters c = { names, v, 2 };
	struct buf b;
	char want[256];

	buf_init(&b);
	daemon_stats_begin(&b, "r1", "router", &c);
	buf_puts(&b, ", \"x\": 1");
	daemon_stats_end(&b);
	CHECK(buf_ok(&b));
	/* The run's start: the same in every frame and stats record. */
	CHECK(counters_run_start() > 0);
	snprintf(want, sizeof(want), "{\"name\": \"r1\", \"role\": "
	    "\"router\", \"run_start_usec\": %llu, \"counters\": {\"a\": 1, "
	    "\"b_c\": 22}, \"x\": 1}",
	    (unsigned long long)counters_run_start());
	CHECK_STR(b.p, want);
	buf_free(&b);
}

static void
test_deadlines(void)
{
	uint64_t next = 5000000;

	CHECK_EQ_U(deadline_timeout(1000, 2000, 1000), 0);	/* past */
	CHECK_EQ_U(deadline_timeout(2000, 2000, 1000), 0);
	CHECK_EQ_U(deadline_timeout(2001, 2000, 1000), 1);	/* rounds up */
	CHECK_EQ_U(deadline_timeout(2000 + 999000, 2000, 1000), 999);
	CHECK_EQ_U(deadline_timeout(UINT64_MAX, 0, 1000), 1000);	/* cap */
	CHECK_EQ_U(deadline_min(3, 2), 2);
	CHECK_EQ_U(deadline_min(UINT64_MAX, 7), 7);
	CHECK(!deadline_due(&next, 4999999, 1000000));
	CHECK_EQ_U(next, 5000000);
	CHECK(deadline_due(&next, 5000300, 1000000));
	CHECK_EQ_U(next, 6000300);	/* a period from when it ran */
}

/* After daemon_start, a block of 1 MB comes from the heap, not from a
 * mmap() of its own, and 3 MB freed at the heap's top stay there (the
 * defaults: mmap above 128 KB, trim above 128 KB).  glibc's malloc
 * only: under ASan, malloc is ASan's. */
static void
test_malloc(const char *dir)
{
	struct daemon d;
	struct cfg c;
	const char *args[] = { "-d", dir, NULL };

	run(&d, &c, args);
	daemon_start(&d);
#if defined(__SANITIZE_ADDRESS__)
	printf("test_daemon: malloc thresholds not checked under ASan\n");
#else
	struct mallinfo2 a = mallinfo2(), b;
	char *p;

	CHECK((p = malloc(1 << 20)) != NULL);
	memset(p, 1, 1 << 20);
	b = mallinfo2();
	CHECK_EQ_U(b.hblks, a.hblks);
	free(p);
	CHECK((p = malloc(3 << 20)) != NULL);
	memset(p, 1, 3 << 20);
	free(p);
	b = mallinfo2();
	CHECK(b.keepcost >= (size_t)3 << 20);
#endif
}

int
main(void)
{
	char dir[] = "/tmp/evflow-td-XXXXXX", file[64];
	FILE *fp;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/t.conf", dir);
	if ((fp = fopen(file, "w")) != NULL) {
		fputs("datadir = /file\nname = fname\nlog_level = 2\n"
		    "interface = f0\ninterface = f1\nstore.retention = 1d\n", fp);
		fclose(fp);
	}
	test_precedence(file);
	test_names();
	test_stats_frame();
	test_deadlines();
	test_malloc(dir);
	unlink(file);
	rmdir(dir);
	return t_done("test_daemon");
}
