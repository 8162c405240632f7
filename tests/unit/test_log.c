/* common/log.c: the two line formats (a local ISO-8601 time with
 * milliseconds; a syslog priority for systemd's journal), the choice
 * between them from $JOURNAL_STREAM and stderr's device and inode, one
 * line per event whatever the message holds, and the rate limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "t.h"

static char tmpl[] = "/tmp/test_log.XXXXXX";

/* Everything written to the file so far. */
static char *
slurp(const char *path)
{
	static char buf[65536];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static unsigned
count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* 1 if `s` starts with YYYY-MM-DDTHH:MM:SS.mmm+hh:mm and a space. */
static int
is_stamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddd+dd:dd ";
	size_t k;

	for (k = 0; shape[k] != '\0'; k++) {
		if (shape[k] == 'd' ? !(s[k] >= '0' && s[k] <= '9') :
		    shape[k] == '+' ? !(s[k] == '+' || s[k] == '-') :
		    s[k] != shape[k])
			return 0;
	}
	return 1;
}

static void
test_format(void)
{
	struct timespec t = { 1796227387, 123456789 };	/* 2026-12-02 16:03:07 UTC */
	char out[256], small[24];
	size_t n;

	setenv("TZ", "UTC", 1);
	tzset();
	n = log_format(out, sizeof(out), LOG_STYLE_TIME, LOG_PRI_WARN, &t,
	    "evflow-store", "warning: ", "disk full");
	CHECK_STR(out, "2026-12-02T16:03:07.123+00:00 evflow-store: warning: "
	    "disk full\n");
	CHECK_EQ_U(n, strlen(out));
	setenv("TZ", "CET-1", 1);	/* an offset, with the colon */
	tzset();
	log_format(out, sizeof(out), LOG_STYLE_TIME, LOG_PRI_INFO, &t, "p", "",
	    "x");
	CHECK_STR(out, "2026-12-02T17:03:07.123+01:00 p: x\n");
	setenv("TZ", "UTC+5", 1);
	tzset();
	t.tv_nsec = 7000000;	/* milliseconds keep their zeros */
	log_format(out, sizeof(out), LOG_STYLE_TIME, LOG_PRI_INFO, &t, "p", "",
	    "x");
	CHECK_STR(out, "2026-12-02T11:03:07.007-05:00 p: x\n");

	/* the journal: no time (it stamps lines itself), the priority */
	log_format(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_PRI_WARN, &t,
	    "evflow-router", "warning: ", "peer down");
	CHECK_STR(out, "<4>evflow-router: warning: peer down\n");
	log_format(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_PRI_INFO, &t, "r",
	    "", "ready");
	CHECK_STR(out, "<6>r: ready\n");
	log_format(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_PRI_DEBUG, &t, "r",
	    "debug: ", "d");
	CHECK_STR(out, "<7>r: debug: d\n");
	log_format(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_PRI_FATAL, &t, "r",
	    "fatal: ", "f");
	CHECK_STR(out, "<2>r: fatal: f\n");

	/* one line per event: what a peer sent cannot start a line */
	log_format(out, sizeof(out), LOG_STYLE_JOURNAL, LOG_PRI_WARN, &t, "c",
	    "warning: ", "bad name 'a\nb\r\tc\x01\x7f'");
	CHECK_STR(out, "<4>c: warning: bad name 'a\\nb\\r\\tc\\x01\\x7f'\n");
	CHECK_EQ_U(count_lines(out), 1);

	/* cut to the buffer, still one terminated line */
	n = log_format(small, sizeof(small), LOG_STYLE_JOURNAL, LOG_PRI_WARN,
	    &t, "prog", "warning: ", "a long message that does not fit");
	CHECK_EQ_U(n, sizeof(small) - 1);
	CHECK_EQ_U(strlen(small), sizeof(small) - 1);
	CHECK(small[n - 1] == '\n');
	CHECK_EQ_U(count_lines(small), 1);
	n = log_format(small, 8, LOG_STYLE_TIME, LOG_PRI_WARN, &t, "p", "",
	    "m");
	CHECK_EQ_U(n, 7);
	CHECK(small[6] == '\n' && small[7] == '\0');
}

static void
test_detect(const char *path, int fd)
{
	char js[64], other[] = "/tmp/test_log_other.XXXXXX";
	struct stat st;
	int ofd;

	CHECK(fstat(fd, &st) == 0);
	unsetenv("JOURNAL_STREAM");
	CHECK(log_detect(fd) == LOG_STYLE_TIME);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	CHECK(log_detect(fd) == LOG_STYLE_JOURNAL);
	/* stderr redirected elsewhere by a child of the unit: not the journal */
	ofd = mkstemp(other);
	CHECK(ofd != -1);
	CHECK(log_detect(ofd) == LOG_STYLE_TIME);
	close(ofd);
	unlink(other);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	CHECK(log_detect(fd) == LOG_STYLE_TIME);
	setenv("JOURNAL_STREAM", "garbage", 1);
	CHECK(log_detect(fd) == LOG_STYLE_TIME);
	snprintf(js, sizeof(js), "%llu:%llux", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	CHECK(log_detect(fd) == LOG_STYLE_TIME);
	unsetenv("JOURNAL_STREAM");
	(void)path;
}

/* The real functions, writing to stderr pointed at a file. */
static void
test_stderr(const char *path, int fd)
{
	char js[64], *s, *line2;
	struct stat st;
	struct log_rl rl;
	int k, saved = dup(STDERR_FILENO);

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	unsetenv("JOURNAL_STREAM");
	log_init("test_log", LOG_LVL_INFO);
	CHECK(log_get_style() == LOG_STYLE_TIME);
	log_warnx("first %d", 1);
	log_debug("not at info level");
	s = slurp(path);
	CHECK(s != NULL && is_stamp(s));
	CHECK(s != NULL && strcmp(s + 30, "test_log: warning: first 1\n") == 0);

	/* the same file named by $JOURNAL_STREAM: the journal's format */
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(fstat(fd, &st) == 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	log_init("test_log", LOG_LVL_DEBUG);
	CHECK(log_get_style() == LOG_STYLE_JOURNAL);
	log_info("ready");
	errno = ENOENT;
	log_warn("open %s", "x.db");
	log_debug("dbg");
	s = slurp(path);
	CHECK_STR(s, "<6>test_log: ready\n<4>test_log: warning: open x.db: No "
	    "such file or directory\n<7>test_log: debug: dbg\n");
	unsetenv("JOURNAL_STREAM");

	/* rate limited: LOG_RL_BURST lines of one call site in a period */
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	log_init("test_log", LOG_LVL_INFO);
	for (k = 0; k < LOG_RL_BURST + 7; k++)
		LOG_RATELIMITED(log_warnx, "bad frame %d", k);
	s = slurp(path);
	CHECK_EQ_U(count_lines(s), LOG_RL_BURST);
	/* ... and once the period is over, the count of what was not logged */
	memset(&rl, 0, sizeof(rl));
	rl.period_start = (int64_t)(clock_mono_usec() / 1000000) -
	    LOG_RL_PERIOD;
	rl.lines = LOG_RL_BURST;
	rl.suppressed = 7;
	CHECK(log_rl_allow(&rl) == 1);
	CHECK_EQ_U(rl.suppressed, 0);
	s = slurp(path);
	CHECK_EQ_U(count_lines(s), LOG_RL_BURST + 1);
	line2 = strstr(s, "test_log: warning: 7 similar messages suppressed\n");
	CHECK(line2 != NULL && line2 - s >= 30 && is_stamp(line2 - 30));

	dup2(saved, STDERR_FILENO);
	close(saved);
}

int
main(void)
{
	int fd;

	test_format();
	if ((fd = mkstemp(tmpl)) == -1) {
		perror("mkstemp");
		return 1;
	}
	test_detect(tmpl, fd);
	test_stderr(tmpl, fd);
	close(fd);
	unlink(tmpl);
	return t_done("test_log");
}
