/* common/ctl.c: ctl_request_all() over real nanomsg ipc sockets asks
 * every endpoint at once and is bounded by one deadline in all: a peer
 * that answers, one that never does (its socket bound, its loop never
 * polled, as a daemon stopped with SIGSTOP after binding), one with no
 * socket at all, and one replying with an error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ctl.h"
#include "t.h"

static void
handler(void *arg, int argc, char **argv, struct buf *reply)
{
	(void)arg;
	(void)argc;
	if (strcmp(argv[0], "stats") == 0)
		buf_puts(reply, "{\"ok\": 1}");
	else
		buf_printf(reply, "error: unknown command '%s'", argv[0]);
}

/* A child answering endpoint `ep` until killed. */
static pid_t
answerer(const char *ep)
{
	struct timespec nap = { 0, 5 * 1000000L };
	struct ctl *c;
	char err[256];
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	if ((c = ctl_new(ep, handler, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "child: %s\n", err);
		_exit(1);
	}
	for (;;) {
		ctl_poll(c);
		nanosleep(&nap, NULL);
	}
}

int
main(void)
{
	char dir[] = "/tmp/test_ctl.XXXXXX", ep[4][256], err[256];
	const char *eps[5];
	struct buf replies[5];
	struct ctl *silent;
	uint64_t t0, ms;
	unsigned n, k;
	int rc[5];
	pid_t kid;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ep[0], sizeof(ep[0]), "ipc://%s/a.ctl", dir);
	snprintf(ep[1], sizeof(ep[1]), "ipc://%s/silent.ctl", dir);
	snprintf(ep[2], sizeof(ep[2]), "ipc://%s/missing.ctl", dir);
	snprintf(ep[3], sizeof(ep[3]), "ipc://%s/b.ctl", dir);
	kid = answerer(ep[0]);
	/* bound here, never polled: requests are taken, never answered */
	silent = ctl_new(ep[1], handler, NULL, err, sizeof(err));
	CHECK(silent != NULL);
	for (k = 0; k < 200 && access(ep[0] + 6, F_OK) == -1; k++)
		usleep(10000);

	eps[0] = ep[0];
	eps[1] = ep[1];
	eps[2] = ep[2];
	eps[3] = ep[0];
	memset(replies, 0, sizeof(replies));
	t0 = clock_mono_usec();
	n = ctl_request_all(eps, 4, "stats", replies, rc, 300);
	ms = (clock_mono_usec() - t0) / 1000;
	CHECK_EQ_U(n, 2);
	CHECK(rc[0] == 0 && rc[3] == 0);
	CHECK_STR(replies[0].p, "{\"ok\": 1}");
	CHECK_STR(replies[3].p, "{\"ok\": 1}");
	CHECK(rc[1] == -1 && replies[1].p != NULL &&
	    strstr(replies[1].p, "no reply within 300 ms") != NULL);
	CHECK(rc[2] == -1 && replies[2].p != NULL &&
	    strstr(replies[2].p, "No such file or directory") != NULL);
	/* one deadline for all: the silent peer costs 300 ms, not more */
	CHECK(ms >= 290 && ms < 1000);
	fprintf(stderr, "4 peers, one silent: %llu ms\n",
	    (unsigned long long)ms);
	for (k = 0; k < 4; k++)
		buf_free(&replies[k]);

	/* all answering: no waiting for the deadline */
	memset(replies, 0, sizeof(replies));
	eps[1] = ep[0];
	t0 = clock_mono_usec();
	n = ctl_request_all(eps, 2, "nonsense", replies, rc, 2000);
	ms = (clock_mono_usec() - t0) / 1000;
	CHECK_EQ_U(n, 2);
	CHECK(ms < 1000);
	CHECK_STR(replies[0].p, "error: unknown command 'nonsense'");
	for (k = 0; k < 2; k++)
		buf_free(&replies[k]);
	CHECK_EQ_U(ctl_request_all(eps, 0, "ping", replies, rc, 100), 0);

	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	ctl_free(silent);
	unlink(ep[0] + 6);
	unlink(ep[1] + 6);
	rmdir(dir);
	return t_done("test_ctl");
}
