/*
 * probe_storm: a storm of short TCP connections over loopback, as fast
 * as one client thread goes, for tests/bench/probe.sh.  A server thread
 * accepts, reads (EOF or reset) and closes; the client connects and
 * closes with a reset (SO_LINGER 0: no TIME-WAIT, so ports last).
 * Each connect() is timed.
 *
 *   probe_storm CONNECTIONS
 *   probe_storm -b MEGABYTES CHUNK
 *
 * Prints one line: "conns=N secs=S rate=R connect_median_ns=M
 * connect_p99_ns=P".  Exits 1 if any connection failed.
 * With -b: one loopback connection carries MEGABYTES MiB in send()
 * calls of CHUNK bytes, received in recv() calls of CHUNK bytes (the
 * probe's sock_send_length/sock_recv_length hooks run once per call);
 * prints "bytes=B secs=S send_calls=N recv_calls=M ns_per_send=X".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int lfd;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
server(void *arg)
{
	char b[16];
	int c;

	(void)arg;
	for (;;) {
		if ((c = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		(void)recv(c, b, sizeof(b), 0);
		close(c);
	}
}

/* -b: the receiving side; its recv() call count in *arg. */
static void *
bulk_server(void *arg)
{
	long *calls = arg, chunk = calls[0];
	char *b = malloc((size_t)chunk);
	ssize_t r;
	int c;

	calls[0] = 0;
	if (b == NULL || (c = accept(lfd, NULL, NULL)) == -1)
		return NULL;
	while ((r = recv(c, b, (size_t)chunk, 0)) > 0)
		calls[0]++;
	close(c);
	free(b);
	return NULL;
}

static int
bulk(struct sockaddr_in *sa, long mb, long chunk)
{
	long total = mb << 20, sent = 0, sends = 0, rcalls[1] = { chunk };
	char *b = calloc(1, (size_t)chunk);
	pthread_t t;
	uint64_t t0, t1;
	ssize_t w;
	int c;

	if (b == NULL)
		return 2;
	pthread_create(&t, NULL, bulk_server, rcalls);
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)sa, sizeof(*sa)) == -1) {
		perror("connect");
		return 1;
	}
	t0 = now_ns();
	while (sent < total) {
		w = send(c, b, (size_t)(total - sent < chunk ? total - sent :
		    chunk), 0);
		if (w <= 0) {
			perror("send");
			return 1;
		}
		sent += w;
		sends++;
	}
	close(c);
	pthread_join(t, NULL);
	t1 = now_ns();
	printf("bytes=%ld secs=%.3f send_calls=%ld recv_calls=%ld "
	    "ns_per_send=%.0f\n", sent, (t1 - t0) / 1e9, sends, rcalls[0],
	    (double)(t1 - t0) / (double)sends);
	free(b);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct linger lg = { 1, 0 };
	pthread_t t;
	uint64_t *lat = NULL, t0, t1, start;
	long n, i, failed = 0;
	int one = 1, c, b = argc == 4 && strcmp(argv[1], "-b") == 0;
	long chunk = 0;

	if (b) {
		n = strtol(argv[2], NULL, 10);
		chunk = strtol(argv[3], NULL, 10);
	} else if (argc == 2)
		n = strtol(argv[1], NULL, 10);
	else
		n = 0;
	if (n <= 0 || (b && (chunk <= 0 || n > 65536))) {
		fprintf(stderr, "usage: probe_storm CONNECTIONS | "
		    "-b MEGABYTES CHUNK\n");
		return 2;
	}
	if (!b && (lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) == -1) {
		perror("listen");
		return 2;
	}
	if (b)
		return bulk(&sa, n, chunk);
	pthread_create(&t, NULL, server, NULL);
	start = now_ns();
	for (i = 0; i < n; i++) {
		if ((c = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
			failed++;
			continue;
		}
		t0 = now_ns();
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == -1)
			failed++;
		t1 = now_ns();
		lat[i] = t1 - t0;
		(void)setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
	}
	t1 = now_ns();
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("conns=%ld secs=%.3f rate=%.0f connect_median_ns=%llu "
	    "connect_p99_ns=%llu failed=%ld\n", n, (t1 - start) / 1e9,
	    n / ((t1 - start) / 1e9), (unsigned long long)lat[n / 2],
	    (unsigned long long)lat[n * 99 / 100], failed);
	return failed ? 1 : 0;
}
