/*
 * capture benchmark: packets/s per core (packets per CPU second of the
 * process, median of runs; wall time printed too) through the capture's real read
 * path (libpcap file -> dissect -> flow table -> a record built for
 * every flow end/update; the live-flow reports of capture.update_interval's
 * default, 5 s, included), no sockets.  Built as $(BUILD)/bench/
 * capture-bench and driven by tests/bench/capture.sh, which compares it
 * with tshark and softflowd on the same file.
 *
 *   capture-bench -w FILE [-n PACKETS] [-a] write the generated pcap; -a:
 *                                        with application payloads (TLS
 *                                        hellos with SNI, HTTP, DNS); -S N:
 *                                        N sessions open at once (tests)
 *   capture-bench -r FILE [-k RUNS] [-D] measure (median of RUNS); -D:
 *                                        also with nDPI and the name cache
 *                                        (capture.dpi, its default), on the
 *                                        packet path and on its worker
 *                                        thread, runs interleaved, and the
 *                                        cost ratios
 *   -Q BYTES                             the worker's ring (default 4M,
 *                                        capture.dpi_queue's)
 *   -p LIST                              nDPI's protocols
 *                                        (capture.dpi_protocols)
 *   capture-bench -P FILE MODE           3 runs of one mode (0 no nDPI, 1
 *                                        nDPI inline, 2 worker), for a
 *                                        profiler
 *
 * The generated traffic: interleaved TCP sessions (handshake, request,
 * response, acks, FIN both ways) and DNS-like UDP exchanges, 20000
 * sessions open at a time, IPv4 over Ethernet, 5 us between packets;
 * frame sizes chosen so the average is ~68 bytes (as in costs.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/clock.h"

#define ACTIVE		20000	/* sessions open at once */
#define TCP_PKTS	10	/* packets in a TCP session */
#define UDP_PKTS	2

struct sess {
	uint32_t	cli, srv;
	uint16_t	cport, sport;
	uint8_t		udp;
	uint8_t		step;
};

static uint64_t bench_records, bench_names;
/* The worker thread's CPU seconds in the last run's window (the same as
 * the packet path's *thr), 0 without a worker. */
static double bench_worker;
static struct evp_flow bench_rec;
static struct flow_table *bench_ft;
static struct dpi *bench_dpi;

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* -a: sessions carry real application payloads (see bench_app). */
static int bench_app_payloads;
static unsigned bench_active = ACTIVE;	/* -S: sessions open at once */
static size_t bench_queue = 4u << 20;	/* -Q: capture.dpi_queue */
static const char *bench_protocols;	/* -p: capture.dpi_protocols */

/* A DNS name in wire form at p; returns its length. */
static size_t
dns_qname(uint8_t *p, const char *name)
{
	size_t n = 0, l;
	const char *dot;

	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

/*
 * The payload of packet `step` of a session with -a, into p; returns
 * its length: port 443 a TLS ClientHello with SNI and a ServerHello,
 * port 80 an HTTP GET with Host and its response, UDP a DNS query and
 * its answer (an A record: the server's address).  Names differ by
 * session (1000 sites).
 */
static size_t
bench_app(const struct sess *s, uint8_t *p)
{
	char host[64];
	size_t n = 0, h, e;
	int resp = s->udp ? s->step == 1 : s->step == 5;

	snprintf(host, sizeof(host), "www.site%u.example",
	    (unsigned)(s->cport % 1000));
	if (s->udp) {
		put16(p, s->cport);
		put16(p + 2, resp ? 0x8180 : 0x0100);
		put16(p + 4, 1);
		put16(p + 6, resp ? 1 : 0);
		memset(p + 8, 0, 4);
		n = 12 + dns_qname(p + 12, host);
		put16(p + n, 1);
		put16(p + n + 2, 1);
		n += 4;
		if (resp) {
			put16(p + n, 0xc00c);
			put16(p + n + 2, 1);
			put16(p + n + 4, 1);
			put32(p + n + 6, 300);
			put16(p + n + 10, 4);
			put32(p + n + 12, s->srv);
			n += 16;
		}
		return n;
	}
	if (s->sport == 80) {
		n = (size_t)snprintf((char *)p, 200, resp ? "HTTP/1.1 200 OK\r\n"
		    "Content-Length: 0\r\n\r\n" : "GET / HTTP/1.1\r\nHost: "
		    "%s\r\n\r\n", host);
		return n;
	}
	/* TLS: record header, handshake header, version, random, empty
	 * session id, ciphers, no compression, then extensions. */
	p[0] = 0x16;
	put16(p + 1, 0x0301);
	p[5] = resp ? 2 : 1;
	put16(p + 9, 0x0303);
	memset(p + 11, 0x5a, 32);
	p[43] = 0;
	n = 44;
	if (resp) {
		put16(p + n, 0x1301);
		p[n + 2] = 0;
		n += 3;
		put16(p + n, 6);
		put16(p + n + 2, 0x002b);	/* supported_versions: 1.3 */
		put16(p + n + 4, 2);
		put16(p + n + 6, 0x0304);
		n += 8;
	} else {
		put16(p + n, 6);
		put16(p + n + 2, 0x1301);
		put16(p + n + 4, 0x1302);
		put16(p + n + 6, 0xc02f);
		p[n + 8] = 1;
		p[n + 9] = 0;
		n += 10;
		e = n;
		n += 2;
		h = strlen(host);
		put16(p + n, 0x0000);		/* server_name */
		put16(p + n + 2, (unsigned)h + 5);
		put16(p + n + 4, (unsigned)h + 3);
		p[n + 6] = 0;
		put16(p + n + 7, (unsigned)h);
		memcpy(p + n + 9, host, h);
		n += 9 + h;
		put16(p + n, 0x000a);		/* supported_groups */
		put16(p + n + 2, 4);
		put16(p + n + 4, 2);
		put16(p + n + 6, 0x001d);
		n += 8;
		put16(p + n, 0x000b);		/* ec_point_formats */
		put16(p + n + 2, 2);
		p[n + 4] = 1;
		p[n + 5] = 0;
		n += 6;
		put16(p + e, (unsigned)(n - e - 2));
	}
	put16(p + 3, (unsigned)(n - 5));
	p[6] = (uint8_t)((n - 9) >> 16);
	put16(p + 7, (unsigned)(n - 9));
	return n;
}

/* Builds packet `step` of session `s` into f; returns its length. */
static size_t
sess_frame(const struct sess *s, uint8_t *f)
{
	/* TCP: SYN, SYN-ACK, ACK, request, ACK, response, ACK, FIN, FIN,
	 * ACK; direction 0 = client to server. */
	static const uint8_t tdir[TCP_PKTS] = { 0, 1, 0, 0, 1, 1, 0, 0, 1, 0 };
	static const uint8_t tflg[TCP_PKTS] = { 0x02, 0x12, 0x10, 0x18, 0x10,
	    0x18, 0x10, 0x11, 0x11, 0x10 };
	static const uint16_t tpay[TCP_PKTS] = { 0, 0, 0, 40, 0, 90, 0, 0, 0,
	    0 };
	static const uint16_t upay[UDP_PKTS] = { 10, 40 };
	int dir = s->udp ? s->step : tdir[s->step];
	unsigned pay = s->udp ? upay[s->step] : tpay[s->step];
	unsigned l4 = s->udp ? 8 : 20, iplen;
	uint8_t *ip = f + 14, *th = ip + 20, app[512];

	if (bench_app_payloads && pay != 0)
		pay = (unsigned)bench_app(s, app);
	iplen = 20 + l4 + pay;
	memset(f, 0, 14 + iplen);
	if (bench_app_payloads && pay != 0)
		memcpy(th + l4, app, pay);
	f[5] = 1;
	f[11] = 2;
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, iplen);
	ip[8] = 64;
	ip[9] = s->udp ? 17 : 6;
	put32(ip + 12, dir ? s->srv : s->cli);
	put32(ip + 16, dir ? s->cli : s->srv);
	put16(th, dir ? s->sport : s->cport);
	put16(th + 2, dir ? s->cport : s->sport);
	if (s->udp)
		put16(th + 4, 8 + pay);
	else {
		put32(th + 4, dir ? 5000 + (s->step > 5 ? 91 : 0) :
		    1000 + (s->step > 3 ? 41 : 0));
		th[12] = 5 << 4;
		th[13] = tflg[s->step];
	}
	return 14 + iplen;
}

static void
sess_new(struct sess *s, uint64_t n)
{
	s->cli = 0x0a000000u | (uint32_t)(n * 7919 % 0xfffff);
	s->srv = 0xac100000u | (uint32_t)(n % 4000);
	s->cport = (uint16_t)(1024 + n % 60000);
	s->udp = n % 4 == 3;
	s->sport = s->udp ? 53 : (n % 3 ? 443 : 80);
	s->step = 0;
}

static int
bench_write(const char *path, uint64_t npkts)
{
	static struct sess act[ACTIVE];
	uint32_t fh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1 };
	uint8_t frame[1024];
	uint64_t i, next = 0, ts = 1700000000ull * 1000000, bytes = 0;
	uint32_t rh[4];
	FILE *fp;
	size_t n;
	unsigned a;

	if ((fp = fopen(path, "wb")) == NULL) {
		perror(path);
		return 1;
	}
	fwrite(fh, sizeof(fh), 1, fp);
	for (a = 0; a < bench_active; a++)
		sess_new(&act[a], next++);
	for (i = 0; i < npkts; i++) {
		struct sess *s = &act[(i * 7) % bench_active];

		n = sess_frame(s, frame);
		ts += 5;
		rh[0] = (uint32_t)(ts / 1000000);
		rh[1] = (uint32_t)(ts % 1000000);
		rh[2] = rh[3] = (uint32_t)n;
		fwrite(rh, sizeof(rh), 1, fp);
		fwrite(frame, n, 1, fp);
		bytes += n;
		if (++s->step == (s->udp ? UDP_PKTS : TCP_PKTS))
			sess_new(s, next++);
	}
	if (fclose(fp) != 0) {
		perror(path);
		return 1;
	}
	printf("generated %llu packets, %llu sessions, average %.1f bytes\n",
	    (unsigned long long)npkts, (unsigned long long)next,
	    (double)bytes / (double)npkts);
	return 0;
}

static void
bench_emit(void *arg, const struct flow *f, enum flow_why why)
{
	(void)arg;
	flow_export(&bench_rec, f, why);
	if (bench_dpi != NULL)
		dpi_export(bench_dpi, (uint32_t)(f - bench_ft->flows), f,
		    &bench_rec, why != FW_UPDATE);
	bench_records++;
}

static void
bench_emit_name(void *arg, const struct evp_hostname *h)
{
	(void)arg;
	(void)h;
	bench_names++;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* CPU time of this process, seconds: the "per core" denominator, which
 * a busy shared machine does not inflate the way it does wall time. */
static double
cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread (the capture's packet path). */
static double
thread_cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* nDPI in a run: none, on the packet path, or on a worker thread (as
 * the daemon runs it: capture.dpi_queue's default, a file waiting for
 * ring room). */
enum bench_dpi { BD_OFF, BD_INLINE, BD_WORKER };

/* One full run; returns the process's CPU seconds (the packet path's
 * thread's from set-up to the last flow ended in *thr, wall seconds in
 * *wall), fills packets and flow counts. */
static double
bench_run(const char *path, enum bench_dpi dpi, uint64_t *pkts,
    uint64_t *flows, size_t *bpf, uint64_t *peak, double *wall, double *thr)
{
	struct dpi_cfg dc = { 262144, 8192, 32, 8192,
	    dpi == BD_WORKER ? bench_queue : 0, 1, bench_protocols };
	double tc0, wc0 = 0;
	struct names *names = NULL;
	double c0;
	static uint64_t cnt[CC_MAX];
	struct flow_cfg cfg = { 262144, 60000000, 60000000, 2000000,
	    5000000 };
	struct source_opts so = { .file = path };
	char err[512];
	struct source *s;
	struct flow_table *ft;
	uint64_t t0, t1;

	memset(cnt, 0, sizeof(cnt));
	*peak = 0;
	c0 = cpu_secs();
	t0 = clock_mono_usec();
	if ((s = source_open_file(&so, err, sizeof(err))) == NULL ||
	    (ft = flow_table_new(&cfg, bench_emit, NULL, cnt)) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	s->ft = ft;
	s->cnt = cnt;
	bench_ft = ft;
	bench_dpi = NULL;
	/* As the daemon does with capture.dpi on (its default). */
	if (dpi && ((names = names_new(16384, bench_emit_name, NULL, cnt)) ==
	    NULL || (bench_dpi = dpi_new(&dc, cnt, names, err,
	    sizeof(err))) == NULL || source_keep_payload(s) == -1 ||
	    dpi_start(bench_dpi, err, sizeof(err)) == -1)) {
		fprintf(stderr, "dpi: %s\n", err);
		exit(1);
	}
	ft->dpi = bench_dpi;
	ft->names = names;
	/* The packet path's thread from here: set-up (nDPI's module takes
	 * ~15 ms) and tear-down are a daemon's once, not per packet. */
	tc0 = thread_cpu_secs();
	if (bench_dpi != NULL)
		wc0 = dpi_worker_cpu(bench_dpi);
	while (source_read(s, 4096) > 0)
		if (cnt[CC_FLOWS_LIVE] > *peak)
			*peak = cnt[CC_FLOWS_LIVE];
	flow_table_flush(ft);
	if (bench_dpi != NULL)
		dpi_sync_counters(bench_dpi);
	*thr = thread_cpu_secs() - tc0;
	/* The worker's CPU in the same window, counted apart (it is done:
	 * a file's flow ends wait for it). */
	bench_worker = bench_dpi != NULL ? dpi_worker_cpu(bench_dpi) - wc0 :
	    0;
	*bpf = flow_table_bytes_per_flow(ft);
	flow_table_free(ft);
	dpi_free(bench_dpi);
	bench_dpi = NULL;
	names_free(names);
	source_free(s);
	if (dpi)
		printf("  nDPI run: %llu flows inspected, %llu packets, %llu "
		    "detected, %llu unknown, %llu reclaimed, %llu DNS "
		    "responses, %llu names, %llu waits for the worker, %llu "
		    "not inspected%s\n", (unsigned long long)
		    cnt[CC_DPI_FLOWS], (unsigned long long)cnt[CC_DPI_PACKETS],
		    (unsigned long long)cnt[CC_DPI_DETECTED],
		    (unsigned long long)cnt[CC_DPI_UNKNOWN],
		    (unsigned long long)cnt[CC_DPI_RECLAIMED],
		    (unsigned long long)cnt[CC_DNS_RESPONSES],
		    (unsigned long long)bench_names,
		    (unsigned long long)cnt[CC_DPI_WAITS],
		    (unsigned long long)cnt[CC_DPI_NOT_INSPECTED],
		    dpi == BD_WORKER ? " (worker)" : " (inline)");
	t1 = clock_mono_usec();
	*wall = (double)(t1 - t0) / 1e6;
	*pkts = cnt[CC_PACKETS];
	*flows = cnt[CC_FLOWS_CREATED];
	return cpu_secs() - c0;
}

/* Bare libpcap read of the same file, for reference (CPU seconds). */
static double
bench_bare(const char *path)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0, sum = 0;
	double c0 = cpu_secs();
	pcap_t *p;

	if ((p = pcap_open_offline(path, ebuf)) == NULL) {
		fprintf(stderr, "%s\n", ebuf);
		exit(1);
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		sum += d[0];
		n++;
	}
	pcap_close(p);
	if (sum == 1)
		printf(" ");
	return cpu_secs() - c0;
}

int
main(int argc, char *argv[])
{
	const char *wpath = NULL, *rpath = NULL;
	uint64_t npkts = 2000000, pkts = 0, flows = 0, peak = 0;
	double t[16], bare[16], wall[16], td[16], walld[16], thr, tt[16];
	double tw[16], twt[16], wallw[16], twk[16], tb[16];
	size_t bpf = 0;
	int ch, runs = 5, i, dpi = 0, h, below = 0;

	while ((ch = getopt(argc, argv, "aDk:n:p:P:Q:r:S:w:")) != -1) {
		switch (ch) {
		case 'p': bench_protocols = optarg; break;
		case 'Q': bench_queue = strtoull(optarg, NULL, 10); break;
		case 'P':
			/* Profiling: runs of one mode only, nothing else. */
			for (i = 0; i < 3; i++)
				(void)bench_run(optarg, (enum bench_dpi)
				    atoi(argv[optind]), &pkts, &flows, &bpf,
				    &peak, &wall[0], &thr);
			return 0;
		case 'S':
			bench_active = (unsigned)atoi(optarg);
			if (bench_active < 1 || bench_active > ACTIVE ||
			    bench_active % 7 == 0)
				return 1;
			break;
		case 'a': bench_app_payloads = 1; break;
		case 'D': dpi = 1; break;
		case 'k': runs = atoi(optarg); break;
		case 'n': npkts = strtoull(optarg, NULL, 10); break;
		case 'r': rpath = optarg; break;
		case 'w': wpath = optarg; break;
		default:
			fprintf(stderr, "usage: capture-bench -w file [-n "
			    "packets] | -r file [-k runs]\n");
			return 1;
		}
	}
	if (wpath != NULL)
		return bench_write(wpath, npkts);
	if (rpath == NULL || runs < 1 || runs > 16)
		return 1;
	/* With -D each run without nDPI is followed by one with it on the
	 * packet path and one with it on a worker thread: the ratios are
	 * of medians measured side by side. */
	for (i = 0; i < runs; i++) {
		bare[i] = bench_bare(rpath);
		bench_records = 0;
		t[i] = bench_run(rpath, BD_OFF, &pkts, &flows, &bpf, &peak,
		    &wall[i], &tt[i]);
		if (dpi) {
			td[i] = bench_run(rpath, BD_INLINE, &pkts, &flows,
			    &bpf, &peak, &walld[i], &thr);
			tw[i] = bench_run(rpath, BD_WORKER, &pkts, &flows,
			    &bpf, &peak, &wallw[i], &twt[i]);
			twk[i] = bench_worker;
			tb[i] = twt[i] + twk[i];
		}
	}
	if (dpi) {
		qsort(td, (size_t)runs, sizeof(td[0]), cmp_double);
		qsort(walld, (size_t)runs, sizeof(walld[0]), cmp_double);
		qsort(tw, (size_t)runs, sizeof(tw[0]), cmp_double);
		qsort(tt, (size_t)runs, sizeof(tt[0]), cmp_double);
		qsort(twt, (size_t)runs, sizeof(twt[0]), cmp_double);
		qsort(twk, (size_t)runs, sizeof(twk[0]), cmp_double);
		qsort(tb, (size_t)runs, sizeof(tb[0]), cmp_double);
		qsort(wallw, (size_t)runs, sizeof(wallw[0]), cmp_double);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	qsort(bare, (size_t)runs, sizeof(bare[0]), cmp_double);
	qsort(wall, (size_t)runs, sizeof(wall[0]), cmp_double);
	printf("capture: %llu packets, %llu flows, %llu records, peak %llu "
	    "live flows\n", (unsigned long long)pkts,
	    (unsigned long long)flows, (unsigned long long)bench_records,
	    (unsigned long long)peak);
	printf("capture: median of %d: %.3f CPU s, %.2f M packets/s per core "
	    "(%.0f ns/packet); wall %.3f s, %.2f M packets/s\n", runs,
	    t[runs / 2], (double)pkts / t[runs / 2] / 1e6, t[runs / 2] * 1e9 /
	    (double)pkts, wall[runs / 2], (double)pkts / wall[runs / 2] / 1e6);
	printf("bare pcap_next_ex: %.2f M packets/s per core (capture runs at "
	    "%.0f%% of it)\n", (double)pkts / bare[runs / 2] / 1e6,
	    100.0 * bare[runs / 2] / t[runs / 2]);
	printf("bytes per live flow (table entry + buckets): %zu (floor "
	    "%d)\n", bpf, FLOW_BYTES_MAX);
	printf("RESULT capture_pps=%.0f\n", (double)pkts / t[runs / 2]);
	h = runs / 2;
	if (dpi) {
		printf("capture with nDPI (on the packet path) and DNS names: "
		    "median of %d: %.3f CPU s, %.2f M packets/s per core (%.0f "
		    "ns/packet); wall %.3f s; nDPI costs %.2fx the CPU time "
		    "without it\n", runs, td[h], (double)pkts / td[h] / 1e6,
		    td[h] * 1e9 / (double)pkts, walld[h], td[h] / t[h]);
		printf("capture with nDPI on its worker thread and DNS names: "
		    "median of %d: packet path thread %.3f CPU s from set-up "
		    "to the last flow (%.3f without nDPI), %.2f M packets/s "
		    "per core (%.2fx the CPU time without nDPI); process (both "
		    "threads, set-up included) %.3f CPU s, %.2f M packets/s "
		    "per CPU second (%.2fx); wall %.3f s, %.2f M packets/s\n",
		    runs, twt[h], tt[h], (double)pkts / twt[h] / 1e6,
		    twt[h] / tt[h], tw[h], (double)pkts / tw[h] / 1e6,
		    tw[h] / t[h], wallw[h], (double)pkts / wallw[h] / 1e6);
		printf("the same, both threads in the packet path's window (set-"
		    "up excluded): worker %.3f CPU s (%.0f ns/packet), packet "
		    "path + worker %.3f CPU s, %.0f ns/packet, %.2f M packets "
		    "per CPU second (%.2fx the packet path's CPU time without "
		    "nDPI)\n", twk[h], twk[h] * 1e9 / (double)pkts, tb[h],
		    tb[h] * 1e9 / (double)pkts, (double)pkts / tb[h] / 1e6,
		    tb[h] / tt[h]);
		printf("RESULT capture_dpi_inline_pps=%.0f\n", (double)pkts /
		    td[h]);
		printf("RESULT capture_dpi_inline_cost_ratio=%.3f\n", td[h] /
		    t[h]);
		printf("RESULT capture_dpi_pps=%.0f\n", (double)pkts / twt[h]);
		printf("RESULT capture_dpi_thread_cost_ratio=%.3f\n", twt[h] /
		    tt[h]);
		printf("RESULT capture_dpi_total_cpu_ratio=%.3f\n", tw[h] /
		    t[h]);
		printf("RESULT capture_dpi_worker_ns_per_packet=%.1f\n",
		    twk[h] * 1e9 / (double)pkts);
		printf("RESULT capture_dpi_both_threads_pps=%.0f\n",
		    (double)pkts / tb[h]);
		printf("RESULT capture_dpi_both_threads_cost_ratio=%.3f\n",
		    tb[h] / tt[h]);
		printf("RESULT capture_dpi_wall_pps=%.0f\n", (double)pkts /
		    wallw[h]);
		/* The floor is the packet path's, nDPI on (on its worker,
		 * the daemon's default). */
		if ((double)pkts / twt[h] < 4e6) {
			printf("capture with nDPI: the packet path is below "
			    "the 4 M packets/s floor on this traffic\n");
			below = 1;
		}
	}
	return (double)pkts / t[h] < 4e6 || below || bpf > FLOW_BYTES_MAX ?
	    2 : 0;
}
