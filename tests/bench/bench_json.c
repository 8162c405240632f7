/*
 * bench_json: the machine's own cJSON baseline.  A bare cJSON parse
 * (its default malloc hooks) of each flow event of
 * tests/tools/samples/sample-events.jsonl, ~20 field lookups copied
 * into a struct, and the tree freed: what any cJSON-based collector
 * pays per event at the least.  The ratios of issue 14 are taken
 * against it, measured in the same run (tests/bench/e2e.sh: the
 * collector's CPU per event in the pipeline must stay within 1.3x).
 *
 * The time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), as the
 * pipeline's stages are measured in CPU seconds: time taken from us by
 * other processes on a shared machine counts on neither side.  Median
 * of BJ_RUNS runs.
 *
 *   bench_json [-q] [FILE]   -q: only the median, in us per event
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#define BJ_RUNS		7
#define BJ_EVENTS	60000	/* per run */
#define BJ_MAX_EVENTS	256	/* lines read from the file */
#define BJ_LINE_MAX	65536	/* bytes */

#ifndef BJ_SAMPLES
#define BJ_SAMPLES	"tests/tools/samples/sample-events.jsonl"
#endif

/* What a minimal collector keeps of an event. */
struct bj_proc {
	double	 pid, uid, gid;
	char	 gid_name[32], path[256], cmdline[256];
};

struct bj_event {
	char	 ts[32], ifname[32], ev[24], src[48], dst[48];
	double	 ipv, proto, sport, dport, latency;
	struct bj_proc proc, father;
};

static struct bj_event out;

static void
get_str(char *dst, size_t cap, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsString(v))
		snprintf(dst, cap, "%s", v->valuestring);
}

static double
get_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void
get_proc(struct bj_proc *p, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return;
	p->pid = get_num(o, "PID");
	p->uid = get_num(o, "UID");
	p->gid = get_num(o, "GID");
	get_str(p->gid_name, sizeof(p->gid_name), o, "GID_NAME");
	get_str(p->path, sizeof(p->path), o, "PROCESS_PATH");
	get_str(p->cmdline, sizeof(p->cmdline), o, "PROCESS_CMDLINE");
}

/* One event: parse, 23 lookups (ebpf dialect; others find fewer), free.
 * Returns 0, or -1 if it does not parse. */
static int
one(const char *text, size_t len)
{
	cJSON *root;

	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return -1;
	memset(&out, 0, sizeof(out));
	get_str(out.ts, sizeof(out.ts), root, "timestamp");
	get_str(out.ifname, sizeof(out.ifname), root, "INTERFACE_NAME");
	out.ipv = get_num(root, "IP_PROTOCOL_VERSION");
	get_str(out.ev, sizeof(out.ev), root, "TCP_EVENT_TYPE");
	if (out.ev[0] == '\0')
		get_str(out.ev, sizeof(out.ev), root, "UDP_EVENT_TYPE");
	get_str(out.src, sizeof(out.src), root, "IPV4_SRC_ADDR");
	get_str(out.dst, sizeof(out.dst), root, "IPV4_DST_ADDR");
	out.proto = get_num(root, "PROTOCOL");
	out.sport = get_num(root, "L4_SRC_PORT");
	out.dport = get_num(root, "L4_DST_PORT");
	out.latency = get_num(root, "NW_LATENCY_MS");
	get_proc(&out.proc, cJSON_GetObjectItemCaseSensitive(root,
	    "LOCAL_PROCESS"));
	get_proc(&out.father, cJSON_GetObjectItemCaseSensitive(root,
	    "LOCAL_FATHER_PROCESS"));
	cJSON_Delete(root);
	return 0;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static char *ev[BJ_MAX_EVENTS];
	static size_t evlen[BJ_MAX_EVENTS];
	static char line[BJ_LINE_MAX];
	const char *path = BJ_SAMPLES;
	double t[BJ_RUNS], t0, bytes = 0;
	size_t n = 0, i, len;
	int quiet = 0, r;
	FILE *fp;

	for (r = 1; r < argc; r++) {
		if (strcmp(argv[r], "-q") == 0)
			quiet = 1;
		else
			path = argv[r];
	}
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "bench_json: %s: cannot open (give the sample "
		    "file as an argument)\n", path);
		return 1;
	}
	while (n < BJ_MAX_EVENTS && fgets(line, sizeof(line), fp) != NULL) {
		len = strcspn(line, "\n");
		if (len == 0)
			continue;
		if ((ev[n] = malloc(len)) == NULL)
			return 1;
		memcpy(ev[n], line, len);
		evlen[n] = len;
		bytes += (double)len;
		if (one(ev[n], len) == -1) {
			fprintf(stderr, "bench_json: %s: line %zu is not "
			    "JSON\n", path, n + 1);
			return 1;
		}
		n++;
	}
	fclose(fp);
	if (n == 0) {
		fprintf(stderr, "bench_json: %s: no events\n", path);
		return 1;
	}
	for (r = 0; r < BJ_RUNS; r++) {
		t0 = cpu_now();
		for (i = 0; i < BJ_EVENTS; i++)
			(void)one(ev[i % n], evlen[i % n]);
		t[r] = cpu_now() - t0;
	}
	qsort(t, BJ_RUNS, sizeof(t[0]), cmp);
	if (quiet)
		printf("%.3f\n", t[BJ_RUNS / 2] * 1e6 / BJ_EVENTS);
	else
		printf("cJSON baseline (parse, ~20 lookups, free; %zu sample "
		    "events of %.0f bytes on average): median %.3f us/event "
		    "of CPU, %.0f events/s per core (%d runs of %d; min %.3f, "
		    "max %.3f)\n", n, bytes / (double)n,
		    t[BJ_RUNS / 2] * 1e6 / BJ_EVENTS,
		    BJ_EVENTS / t[BJ_RUNS / 2], BJ_RUNS, BJ_EVENTS,
		    t[0] * 1e6 / BJ_EVENTS, t[BJ_RUNS - 1] * 1e6 / BJ_EVENTS);
	for (i = 0; i < n; i++)
		free(ev[i]);
	return 0;
}
