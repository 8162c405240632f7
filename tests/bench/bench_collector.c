/*
 * bench_collector: events per second per core through the collector's
 * decoding path (header, zlib, JSON, records), in-process, no sockets.
 * One line per dialect: the median of 5 runs (CPU time), and next to it
 * the cost of cJSON parsing alone (its default malloc hooks) for the same
 * payloads, measured in the same run; the collector's path uses an
 * arena for cJSON's nodes, so "overhead" can be negative.  This program
 * links the collector's strtod() and localeconv() (collector/
 * json_number.c), which stand in for the C library's in the whole
 * process, so the cJSON column has them too; the ratio of issue 14
 * takes its baseline from bench_json, which has glibc's.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <zlib.h>

#include "common/log.h"
#include "collector/collector.h"

#define RUNS		5
#define EVENTS		40000	/* per run */

static uint8_t sink[sizeof(struct evp_flow)];
static unsigned long records;

/* Stands in for link_out_put: one copy of the record. */
static int
emit(void *arg, uint16_t type, const void *body, size_t len)
{
	(void)arg;
	(void)type;
	memcpy(sink, body, len < sizeof(sink) ? len : sizeof(sink));
	records++;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	/* CPU time of this thread: what other processes of a shared
	 * machine take is counted on neither side of the ratio. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static const char ebpf_ev[] = "{ \"timestamp\": \"1715935521.084213\", "
    "\"INTERFACE_NAME\": \"eth0\", \"IP_PROTOCOL_VERSION\": 4, "
    "\"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV4_SRC_ADDR\": \"192.168.1.23\", "
    "\"IPV4_DST_ADDR\": \"203.0.113.80\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": "
    "54348, \"L4_DST_PORT\": 80, \"NW_LATENCY_MS\": \"0.221\", "
    "\"LOCAL_PROCESS\": { \"PID\": 30197, \"UID\": 1000, \"GID\": 1000, "
    "\"GID_NAME\": \"alice\", \"TID\": 30197, \"PROCESS_PATH\": "
    "\"\\/usr\\/bin\\/curl\", \"PROCESS_CMDLINE\": "
    "\"http:\\/\\/203.0.113.80\\/\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": "
    "26219, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": "
    "0, \"PROCESS_PATH\": \"\\/usr\\/bin\\/bash\", \"PROCESS_CMDLINE\": "
    "\"\" } }";

static const char nprobe_ev[] = "{ \"timestamp\": \"1557135868.956831\", "
    "\"TID\": 0, \"LOCAL_PROCESS\": { \"PID\": 29730, \"UID\": 0, \"GID\": 0, "
    "\"GID_NAME\": \"root\", \"PROCESS_PATH\": "
    "\"\\/snap\\/microk8s\\/522\\/kubelet\" }, \"LOCAL_FATHER_PROCESS\": { "
    "\"PID\": 1, \"UID\": 0, \"UID_NAME\": \"daemon\", \"GID\": 0, "
    "\"GID_NAME\": \"root\", \"PROCESS_PATH\": \"\\/lib\\/systemd\\/systemd\" "
    "}, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IF_NAME\": \"cbr0\", "
    "\"IP_PROTOCOL_VERSION\": 4, \"PROTOCOL\": 6, \"NW_LATENCY_MS\": 0.177, "
    "\"L4_LOCAL_PORT\": 58916, \"L4_REMOTE_PORT\": 10054, "
    "\"IPV4_LOCAL_ADDR\": \"10.1.1.1\", \"IPV4_REMOTE_ADDR\": \"10.1.1.13\", "
    "\"EXPORTER_IPV4_ADDRESS\": \"192.168.2.131\" }";

static const char netstat_ev[] = "{\"IPV4_LOCAL_ADDR\":\"10.0.0.5\","
    "\"IPV4_REMOTE_ADDR\":\"10.0.0.9\",\"L4_LOCAL_PORT\":50001,"
    "\"L4_REMOTE_PORT\":443,\"PROTOCOL\":6,\"IF_NAME\":\"eth0\","
    "\"LOCAL_PROCESS\":{\"PID\":7,\"UID\":1000,\"PROCESS_PATH\":"
    "\"/usr/bin/ssh\",\"VM_SIZE\":12000,\"VM_PEAK\":13000},"
    "\"TCP\":{\"CONN_STATE\":\"ESTABLISHED\",\"SEGS_IN\":10,"
    "\"SEGS_OUT\":12,\"UNACK_SEGMENTS\":1,\"RETRAN_PKTS\":2,"
    "\"LOST_PKTS\":3,\"RTT\":0.25,\"RTT_VARIANCE\":0.125,"
    "\"BYTES_RCVD\":5000,\"BYTES_ACKED\":7000}}";

static const char netflow_ev[] = "{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\","
    "\"7\":40000,\"11\":80,\"4\":6,\"1\":1000,\"2\":10,\"23\":5000,"
    "\"24\":8,\"22\":1700000000,\"21\":1700000010,\"6\":27,\"60\":4,"
    "\"10\":1,\"14\":2}";

struct dialect {
	const char	*name;
	const char	*event;
	unsigned	 per_msg;	/* events per message (array if > 1) */
	int		 zlib;
};

static const struct dialect dialects[] = {
	{ "libebpfflow single", ebpf_ev, 1, 0 },
	{ "libebpfflow zlib", ebpf_ev, 1, 1 },
	{ "libebpfflow zlib x32", ebpf_ev, 32, 1 },
	{ "nprobe flow", nprobe_ev, 1, 0 },
	{ "nprobe netstat x10", netstat_ev, 10, 0 },
	{ "netflow array x32", netflow_ev, 32, 0 },
};

/* Builds the payload frame of a dialect into `out`; returns its size. */
static size_t
payload(const struct dialect *d, uint8_t *out, size_t cap, char *json,
    size_t *jlen)
{
	size_t n = 0, el = strlen(d->event);
	unsigned i;
	uLongf zl;

	if (d->per_msg > 1)
		json[n++] = '[';
	for (i = 0; i < d->per_msg; i++) {
		if (i > 0)
			json[n++] = ',';
		memcpy(json + n, d->event, el);
		n += el;
	}
	if (d->per_msg > 1)
		json[n++] = ']';
	*jlen = n;
	if (!d->zlib) {
		memcpy(out, json, n);
		return n;
	}
	zl = cap;
	if (compress2(out, &zl, (const Bytef *)json, n, 6) != Z_OK)
		return 0;
	return zl;
}

int
main(void)
{
	static uint8_t pay[256 * 1024];
	static char json[256 * 1024];
	struct ingest in;
	uint8_t h[36];
	double t[RUNS], tj[RUNS], t0;
	size_t i, plen, jlen, msgs;
	unsigned r, k;
	uint32_t be;

	log_init("bench_collector", LOG_LVL_WARN);
	if (ingest_init(&in, 8 << 20, emit, NULL) == -1)
		return 1;
	printf("%-22s %12s %10s %12s %9s\n", "dialect", "events/s", "us/event",
	    "cJSON us/ev", "overhead");
	for (k = 0; k < sizeof(dialects) / sizeof(dialects[0]); k++) {
		const struct dialect *d = &dialects[k];

		plen = payload(d, pay, sizeof(pay), json, &jlen);
		msgs = EVENTS / d->per_msg;
		memset(h, 0, sizeof(h));
		memcpy(h, "flow", 4);
		h[16] = 4;
		h[17] = d->zlib ? ZF_V4_ZLIB : 0;
		for (r = 0; r < RUNS; r++) {
			records = 0;
			t0 = now();
			for (i = 0; i < msgs; i++) {
				be = htonl((uint32_t)i);
				memcpy(h + 28, &be, 4);
				ingest_msg(&in, h, sizeof(h), pay, plen, 2,
				    "127.0.0.1", -1, 1, 1);
			}
			t[r] = now() - t0;
			if (records != msgs * d->per_msg) {
				fprintf(stderr, "%s: %lu records, expected "
				    "%zu\n", d->name, records,
				    msgs * d->per_msg);
				return 1;
			}
			/* cJSON alone (plain malloc) on the same text. */
			cJSON_InitHooks(NULL);
			t0 = now();
			for (i = 0; i < msgs; i++) {
				cJSON *root = cJSON_ParseWithLength(json, jlen);

				cJSON_Delete(root);
			}
			tj[r] = now() - t0;
			ej_init(&in.ej, in.ctr, emit, NULL);
		}
		qsort(t, RUNS, sizeof(t[0]), cmp);
		qsort(tj, RUNS, sizeof(tj[0]), cmp);
		printf("%-22s %12.0f %10.2f %12.2f %8.0f%%\n", d->name,
		    EVENTS / t[RUNS / 2], t[RUNS / 2] * 1e6 / EVENTS,
		    tj[RUNS / 2] * 1e6 / EVENTS,
		    100.0 * (t[RUNS / 2] - tj[RUNS / 2]) / tj[RUNS / 2]);
	}
	ingest_free(&in);
	return 0;
}
