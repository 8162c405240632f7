/*
 * bench_router: flows per second through the real evflow-router.
 *
 * Starts evflow-router (from this program's ../bin) in a temporary data
 * directory with a ZMQ interface, an IF_NAME target and a mirrored
 * companion; a forked sender pushes N flow records of the usual size
 * (about 2.3 KB: both sides with process, parent and container) as a
 * collector would; this process is the store: it receives them and
 * checks every one arrived with the expected iface_mask.  Prints the
 * median rate of RUNS runs.  Usage: bench_router [N [RUNS]].  The
 * router's link_queue is large (1G) so that a moment when this sink is
 * slower than the router costs time, not drops (drops are the subject
 * of tests/integration/hostile_peer_down.sh, not of this bench).
 *
 * The sender is this program run again (`--send EP N`): nanomsg's state
 * must not be shared across a fork, so every child execs.  It sends as
 * a collector does, never faster than the router takes: while its link
 * holds batches nanomsg did not take, it waits for the socket to take
 * more (a sender that only queued would fill the link's queue in a
 * fraction of a second and drop, as it did since sends stopped
 * blocking).
 */
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/ctl.h"
#include "common/nnlink.h"
#include "proto/evflow.h"

#define BENCH_ZMQ	"tcp://bench:1c"
#define BENCH_MAX_RUNS	9

struct sink {
	uint64_t	flows;
	uint64_t	bad_mask;
	size_t		wlen;		/* a flow's bytes on the wire */
	struct evp_flow	f;
};

static void
on_sink(void *arg, const struct link_sender *s, const struct evp_rec_hdr *rh,
    const void *body)
{
	struct sink *k = arg;

	(void)s;
	if (rh->type != EVP_FLOW)
		return;
	/* Checked whole, as the store would; only the head is read. */
	if (evp_flow_check(body, rh->len, &k->f) == -1 ||
	    k->f.iface_mask != 0x7)	/* origin, eth0 by IF_NAME, mirror0 */
		k->bad_mask++;
	k->wlen = rh->len;
	k->flows++;
}

/* A flow as a collector sends it: both sides described. */
static void
make_flow(struct evp_flow *f)
{
	unsigned s;

	memset(f, 0, sizeof(*f));
	f->source = EVP_SRC_EVENT;
	f->event = EVP_EV_CONNECT;
	f->ip_version = 4;
	f->proto = 6;
	f->port[0] = 40000;
	f->port[1] = 443;
	evp_addr_parse("10.1.0.1", f->addr[0]);
	evp_addr_parse("10.2.0.1", f->addr[1]);
	snprintf(f->ifname, sizeof(f->ifname), "eth0");
	for (s = 0; s < 2; s++) {
		f->side[s].present = EVP_SIDE_PROC | EVP_SIDE_PARENT |
		    EVP_SIDE_CONTAINER;
		f->side[s].proc.pid = 1000 + s;
		snprintf(f->side[s].proc.path, EVP_PATH_LEN, "/usr/bin/curl");
		snprintf(f->side[s].proc.cmdline, EVP_CMDLINE_LEN,
		    "curl https://example/");
		f->side[s].container.kind = EVP_CONT_DOCKER;
	}
	f->extra_len = (uint16_t)snprintf(f->extra, sizeof(f->extra),
	    "{\"X\":\"%0100d\"}", 0);
}

/* Waits until the link's queue is sent: nanomsg takes batches again. */
static int
sender_wait(struct link_out *o)
{
	struct pollfd p = { .fd = -1, .events = POLLIN };
	size_t sz = sizeof(p.fd);
	uint64_t deadline = clock_mono_usec() + 60 * 1000000ULL;

	if (nn_getsockopt(o->sock, NN_SOL_SOCKET, NN_SNDFD, &p.fd, &sz) < 0)
		return -1;
	while (o->qsend != NULL) {
		if (clock_mono_usec() > deadline)
			return -1;
		(void)poll(&p, 1, 10);
		(void)link_out_flush(o);
	}
	return 0;
}

static void __attribute__((noreturn))
sender(const char *ep, uint64_t n)
{
	struct evp_flow *f = malloc(sizeof(*f));
	struct link_out *o;
	char err[256];
	uint64_t i;

	if (f == NULL || (o = link_out_new(ep, 0, EVP_ROLE_COLLECTOR,
	    "bench-collector", BENCH_ZMQ, 5000, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_router: sender: %s\n", err);
		_exit(1);
	}
	make_flow(f);
	for (i = 0; i < n; i++) {
		f->port[0] = (uint16_t)(i & 0xffff);
		f->ts_usec = i;
		if (link_out_put(o, EVP_FLOW, f, evp_flow_len(f)) == -1)
			_exit(2);
		if (o->qsend != NULL && sender_wait(o) == -1)
			_exit(4);
	}
	if (link_out_flush(o) == -1 || sender_wait(o) == -1 ||
	    o->dropped != 0)
		_exit(3);
	sleep(1);	/* let nanomsg hand the last message over */
	link_out_free(o);
	_exit(0);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/evflow-bench-router-XXXXXX", self[PATH_MAX];
	char self_path[PATH_MAX];
	char router[PATH_MAX + 32], in_ep[128], out_ep[128], ctl_ep[128];
	char err[256], comp[64], cmd[128];
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
	int runs = argc > 2 ? atoi(argv[2]) : 3, r, st, rc = 0, reaped;
	double rate[BENCH_MAX_RUNS];
	struct sink *k = calloc(1, sizeof(*k));
	struct link_in *in;
	struct buf b;
	uint64_t t0, deadline, want;
	pid_t rpid, spid;
	ssize_t len;

	if (argc == 4 && strcmp(argv[1], "--send") == 0)
		sender(argv[2], strtoull(argv[3], NULL, 10));
	if (runs < 1 || runs > BENCH_MAX_RUNS || n == 0 || k == NULL)
		return 2;
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 2;
	self[len] = '\0';
	memcpy(self_path, self, (size_t)len + 1);
	snprintf(router, sizeof(router), "%s/../bin/evflow-router",
	    dirname(self));
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(in_ep, sizeof(in_ep), "ipc://%s/router.ipc", dir);
	snprintf(out_ep, sizeof(out_ep), "ipc://%s/store.ipc", dir);
	snprintf(ctl_ep, sizeof(ctl_ep), "ipc://%s/router.ctl", dir);
	snprintf(comp, sizeof(comp), "companion=%s mirror0", BENCH_ZMQ);
	if ((in = link_in_new(out_ep, 1, on_sink, k, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "bench_router: %s\n", err);
		return 1;
	}
	if ((rpid = fork()) == 0) {
		execl(router, router, "-d", dir, "-i", BENCH_ZMQ, "-i", "eth0",
		    "-i", "mirror0", "-o", "mirrored=mirror0", "-o", comp,
		    "-o", "log_level=0", "-o", "link_queue=1G", (char *)NULL);
		perror(router);
		_exit(127);
	}
	for (r = 0; r < runs; r++) {
		want = k->flows + n;
		t0 = clock_mono_usec();
		if ((spid = fork()) == 0) {
			snprintf(cmd, sizeof(cmd), "%llu", (unsigned long long)n);
			execl(self_path, self_path, "--send", in_ep, cmd,
			    (char *)NULL);
			_exit(127);
		}
		deadline = t0 + 120 * 1000000ULL;
		reaped = 0;
		while (k->flows < want && clock_mono_usec() < deadline) {
			struct pollfd p = { .fd = nnlink_recv_fd(in->sock),
			    .events = POLLIN };

			poll(&p, 1, 100);
			link_in_poll(in, 256);
			/* A sender that failed sends no more: stop waiting
			 * once what it sent is in. */
			if (!reaped && waitpid(spid, &st, WNOHANG) == spid) {
				reaped = 1;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					usleep(200000);
					link_in_poll(in, 1 << 20);
					break;
				}
			}
		}
		rate[r] = (double)n / ((double)(clock_mono_usec() - t0) / 1e6);
		if (!reaped)
			waitpid(spid, &st, 0);
		if (k->flows != want || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_router: run %d: %llu of %llu "
			    "flows arrived (sender status %d)\n", r,
			    (unsigned long long)(k->flows - (want - n)),
			    (unsigned long long)n, st);
			rc = 1;
			break;
		}
	}
	buf_init(&b);
	if (ctl_request(ctl_ep, "stats", &b, 2000) == 0 && b.p != NULL &&
	    strstr(b.p, "\"dropped_send\": 0, \"send_dropped\": 0, \"lost\": 0")
	    == NULL) {
		fprintf(stderr, "bench_router: router counted losses: %s\n",
		    b.p);
		rc = 1;
	}
	buf_free(&b);
	if (k->bad_mask != 0 || in->lost != 0) {
		fprintf(stderr, "bench_router: %llu wrong masks, %llu lost\n",
		    (unsigned long long)k->bad_mask,
		    (unsigned long long)in->lost);
		rc = 1;
	}
	if (rc == 0) {
		qsort(rate, (size_t)runs, sizeof(rate[0]), cmp_dbl);
		printf("router: %llu flows per run (%zu bytes each on the "
		    "wire), median of %d runs: %.0f flows/s (%.0f MB/s on the "
		    "wire), 0 lost, masks checked\n",
		    (unsigned long long)n, k->wlen, runs, rate[runs / 2],
		    rate[runs / 2] * (double)k->wlen / 1e6);
	}
	kill(rpid, SIGTERM);
	waitpid(rpid, NULL, 0);
	link_in_free(in);
	free(k);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_router: cleanup of %s failed\n", dir);
	return rc;
}
