/*
 * testpub generator: distinct flows in a producer's dialect, cheap
 * enough that the publisher is never the bottleneck of a benchmark.
 * Each dialect has GEN_VARIANTS templates (different processes and
 * containers) rendered once; an event is a memcpy plus its client
 * address, client port and time written in place.  Event i gets the
 * client 10.(100+a%100).(100+a/100%100).(100+a/10000%100), port
 * 10000+i%50000 with a = i/50000: distinct 5-tuples for i < 5e10.
 *
 * The live stream (live_run) is the demo's slow, endless, realistic
 * traffic: a handful of hosts and processes, every event type, and the
 * other topics now and then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testpub.h"

#define PH_ADDR	"@ADDR@@@@@@"	/* 11 bytes */
#define PH_PORT	"@PORT"		/* 5 bytes */
#define PH_TS	"@TSEC@@@@@"	/* 10 bytes */

struct proc_def {
	const char	*path, *cmdline, *gid_name;
	unsigned	 pid, uid, ppid;
	const char	*ppath;
	const char	*container;	/* JSON of LOCAL_CONTAINER or NULL */
	unsigned	 dport;
	const char	*dst;
};

static const struct proc_def procs[GEN_VARIANTS] = {
	{ "\\/usr\\/bin\\/curl", "https:\\/\\/203.0.113.80\\/", "alice",
	  30197, 1000, 26219, "\\/usr\\/bin\\/bash", NULL, 443,
	  "203.0.113.80" },
	{ "\\/usr\\/lib\\/firefox-esr\\/firefox-esr", "", "alice",
	  5123, 1000, 1290, "\\/usr\\/lib\\/systemd\\/systemd", NULL, 443,
	  "198.51.100.20" },
	{ "\\/usr\\/bin\\/python3", "worker.py", "root", 31877, 0, 31702,
	  "\\/usr\\/bin\\/bash",
	  "{ \"DOCKER\": { \"ID\": \"cbd2540ec5be7f1e9a0d4b6c3e8f2a1b5d7c9e0f"
	  "4a6b8c2d1e3f5a7b\", \"NAME\": \"sleepy_haibt\" } }", 5432,
	  "10.0.0.40" },
	{ "\\/coredns", "-conf", "root", 2554, 0, 2295,
	  "\\/usr\\/bin\\/containerd-shim-runc-v2",
	  "{ \"K8S\": { \"ID\": \"275d71585e03a4c9b1f0e2d3c4b5a6978877665544"
	  "33221100ffeeddccbbaa9\", \"NAME\": \"coredns\", \"POD\": "
	  "\"coredns-5d78c9869d-6x2qz\", \"NS\": \"kube-system\" } }", 53,
	  "10.96.0.10" },
};

int
gen_dialect_parse(const char *s)
{
	if (strcmp(s, "ebpf") == 0)
		return GEN_EBPF;
	if (strcmp(s, "nprobe") == 0)
		return GEN_NPROBE;
	if (strcmp(s, "netstat") == 0)
		return GEN_NETSTAT;
	if (strcmp(s, "netflow") == 0)
		return GEN_NETFLOW;
	return -1;
}

/* Renders one template of `dialect` for process v into a new string. */
static char *
render(int dialect, const struct proc_def *pd, const char *ifname)
{
	char ifk[96] = "", cont[512] = "", *s = NULL;
	int n = -1;

	if (pd->container != NULL && dialect == GEN_EBPF)
		snprintf(cont, sizeof(cont), ", \"LOCAL_CONTAINER\": %s",
		    pd->container);
	switch (dialect) {
	case GEN_EBPF:
		if (*ifname)
			snprintf(ifk, sizeof(ifk), "\"INTERFACE_NAME\": \"%s\", ",
			    ifname);
		n = asprintf(&s, "{ \"timestamp\": \"" PH_TS ".084213\", %s"
		    "\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", "
		    "\"IPV4_SRC_ADDR\": \"10." PH_ADDR "\", \"IPV4_DST_ADDR\": "
		    "\"%s\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": " PH_PORT ", "
		    "\"L4_DST_PORT\": %u, \"NW_LATENCY_MS\": \"0.221\", "
		    "\"LOCAL_PROCESS\": { \"PID\": %u, \"UID\": %u, \"GID\": %u, "
		    "\"GID_NAME\": \"%s\", \"TID\": %u, \"PROCESS_PATH\": \"%s\", "
		    "\"PROCESS_CMDLINE\": \"%s\" }, \"LOCAL_FATHER_PROCESS\": { "
		    "\"PID\": %u, \"UID\": %u, \"GID\": %u, \"GID_NAME\": \"%s\", "
		    "\"TID\": 0, \"PROCESS_PATH\": \"%s\", \"PROCESS_CMDLINE\": "
		    "\"\" }%s }", ifk, pd->dst, pd->dport,
		    pd->pid, pd->uid, pd->uid, pd->gid_name, pd->pid, pd->path,
		    pd->cmdline, pd->ppid, pd->uid, pd->uid, pd->gid_name,
		    pd->ppath, cont);
		break;
	case GEN_NPROBE:
	case GEN_NETSTAT:
		if (*ifname)
			snprintf(ifk, sizeof(ifk), "\"IF_NAME\": \"%s\", ",
			    ifname);
		n = asprintf(&s, "{\"timestamp\":\"" PH_TS ".956831\",%s"
		    "\"IP_PROTOCOL_VERSION\":4,\"PROTOCOL\":6,%s"
		    "\"IPV4_LOCAL_ADDR\":\"10." PH_ADDR "\",\"IPV4_REMOTE_ADDR\":"
		    "\"%s\",\"L4_LOCAL_PORT\":" PH_PORT ",\"L4_REMOTE_PORT\":%u,"
		    "\"EXPORTER_IPV4_ADDRESS\":\"192.168.2.131\","
		    "\"LOCAL_PROCESS\":{\"PID\":%u,\"UID\":%u,\"GID\":%u,"
		    "\"GID_NAME\":\"%s\",\"VM_SIZE\":22528,\"VM_PEAK\":24576,"
		    "\"PROCESS_PATH\":\"%s\"},\"LOCAL_FATHER_PROCESS\":{\"PID\":%u,"
		    "\"UID\":%u,\"GID\":%u,\"GID_NAME\":\"%s\",\"PROCESS_PATH\":"
		    "\"%s\"}%s}", ifk,
		    dialect == GEN_NPROBE ? "\"TCP_EVENT_TYPE\":\"CONNECT\","
		    "\"NW_LATENCY_MS\":0.177," : "",
		    pd->dst, pd->dport, pd->pid, pd->uid, pd->uid, pd->gid_name,
		    pd->path, pd->ppid, pd->uid, pd->uid, pd->gid_name,
		    pd->ppath, dialect == GEN_NETSTAT ? ",\"TCP\":{\"CONN_STATE\":"
		    "\"ESTABLISHED\",\"SEGS_IN\":12,\"SEGS_OUT\":14,"
		    "\"UNACK_SEGMENTS\":0,\"RETRAN_PKTS\":0,\"LOST_PKTS\":0,"
		    "\"RTT\":0.25,\"RTT_VARIANCE\":0.125,\"BYTES_RCVD\":4312,"
		    "\"BYTES_ACKED\":1250}" : "");
		break;
	case GEN_NETFLOW:
		n = asprintf(&s, "{\"8\":\"10." PH_ADDR "\",\"12\":\"%s\","
		    "\"7\":" PH_PORT ",\"11\":%u,\"4\":%u,\"60\":4,\"1\":%u,"
		    "\"2\":%u,\"23\":%u,\"24\":%u,\"6\":27,\"22\":" PH_TS ","
		    "\"21\":" PH_TS ",\"10\":1,\"14\":2}", pd->dst, pd->dport,
		    pd->dport == 53 ? 17u : 6u, 1200 + pd->pid % 1000,
		    10 + pd->pid % 7, 54000 + pd->pid % 5000, 40 + pd->pid % 9);
		break;
	}
	return n < 0 ? NULL : s;
}

int
gen_init(struct gen *g, int dialect, const char *ifname)
{
	unsigned v;
	char *p;

	memset(g, 0, sizeof(*g));
	g->dialect = dialect;
	for (v = 0; v < GEN_VARIANTS; v++) {
		struct gen_tpl *t = &g->tpl[v];

		if ((t->text = render(dialect, &procs[v], ifname)) == NULL)
			return -1;
		t->len = strlen(t->text);
		if ((p = strstr(t->text, PH_ADDR)) == NULL)
			return -1;
		t->off_addr = (size_t)(p - t->text);
		if ((p = strstr(t->text, PH_PORT)) == NULL)
			return -1;
		t->off_port = (size_t)(p - t->text);
		if ((p = strstr(t->text, PH_TS)) != NULL) {
			t->off_ts[0] = (size_t)(p - t->text);
			if ((p = strstr(p + 1, PH_TS)) != NULL)
				t->off_ts[1] = (size_t)(p - t->text);
		}
	}
	return 0;
}

void
gen_free(struct gen *g)
{
	unsigned v;

	for (v = 0; v < GEN_VARIANTS; v++)
		free(g->tpl[v].text);
}

size_t
gen_max_len(const struct gen *g)
{
	size_t m = 0;
	unsigned v;

	for (v = 0; v < GEN_VARIANTS; v++)
		if (g->tpl[v].len > m)
			m = g->tpl[v].len;
	return m;
}

/* Writes v as exactly `w` decimal digits ending at p + w. */
static void
digits(char *p, uint64_t v, unsigned w)
{
	while (w-- > 0) {
		p[w] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t
gen_event(const struct gen *g, uint64_t i, uint32_t sec, char *out)
{
	const struct gen_tpl *t = &g->tpl[i % GEN_VARIANTS];
	uint64_t a = i / 50000;
	char *ad;

	memcpy(out, t->text, t->len);
	ad = out + t->off_addr;
	digits(ad, 100 + a % 100, 3);
	ad[3] = '.';
	digits(ad + 4, 100 + a / 100 % 100, 3);
	ad[7] = '.';
	digits(ad + 8, 100 + a / 10000 % 100, 3);
	digits(out + t->off_port, 10000 + i % 50000, 5);
	if (t->off_ts[0])
		digits(out + t->off_ts[0], sec, 10);
	if (t->off_ts[1])
		digits(out + t->off_ts[1], sec, 10);
	return t->len;
}

/*
 * The live stream.  A small cast of hosts and processes so the UI shows
 * something recognisable: each tick picks one scenario.
 */
static const char *const live_flow[] = {
	"{ \"timestamp\": \"%lu.%06lu\", \"INTERFACE_NAME\": \"%s\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", "
	"\"IPV4_SRC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": "
	"\"203.0.113.80\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": %u, "
	"\"L4_DST_PORT\": 443, \"NW_LATENCY_MS\": \"0.221\", \"LOCAL_PROCESS\": "
	"{ \"PID\": 30197, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": "
	"\"alice\", \"TID\": 30197, \"PROCESS_PATH\": \"\\/usr\\/bin\\/curl\", "
	"\"PROCESS_CMDLINE\": \"https:\\/\\/203.0.113.80\\/\" }, "
	"\"LOCAL_FATHER_PROCESS\": { \"PID\": 26219, \"UID\": 1000, \"GID\": "
	"1000, \"GID_NAME\": \"alice\", \"TID\": 0, \"PROCESS_PATH\": "
	"\"\\/usr\\/bin\\/bash\", \"PROCESS_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"%lu.%06lu\", \"INTERFACE_NAME\": \"%s\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"ACCEPT\", "
	"\"IPV4_SRC_ADDR\": \"198.51.100.7\", \"IPV4_DST_ADDR\": "
	"\"192.168.1.23\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": %u, "
	"\"L4_DST_PORT\": 443, \"LOCAL_PROCESS\": { \"PID\": 1826, \"UID\": 33, "
	"\"GID\": 33, \"GID_NAME\": \"www-data\", \"TID\": 1826, "
	"\"PROCESS_PATH\": \"\\/usr\\/sbin\\/nginx\", \"PROCESS_CMDLINE\": \"\" "
	"}, \"LOCAL_FATHER_PROCESS\": { \"PID\": 812, \"UID\": 0, \"GID\": 0, "
	"\"GID_NAME\": \"root\", \"TID\": 0, \"PROCESS_PATH\": "
	"\"\\/usr\\/sbin\\/nginx\", \"PROCESS_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"%lu.%06lu\", \"INTERFACE_NAME\": \"%s\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"UDP_EVENT_TYPE\": \"SEND\", "
	"\"IPV4_SRC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": \"192.168.1.1\", "
	"\"PROTOCOL\": 17, \"L4_SRC_PORT\": %u, \"L4_DST_PORT\": 53, "
	"\"LOCAL_PROCESS\": { \"PID\": 612, \"UID\": 991, \"GID\": 991, "
	"\"GID_NAME\": \"systemd-resolve\", \"TID\": 612, \"PROCESS_PATH\": "
	"\"\\/usr\\/lib\\/systemd\\/systemd-resolved\", \"PROCESS_CMDLINE\": "
	"\"\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": 1, \"UID\": 0, "
	"\"UID_NAME\": \"daemon\", \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": "
	"0, \"PROCESS_PATH\": \"\\/usr\\/lib\\/systemd\\/systemd\", "
	"\"PROCESS_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"%lu.%06lu\", \"INTERFACE_NAME\": \"%s\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", "
	"\"IPV4_SRC_ADDR\": \"172.17.0.2\", \"IPV4_DST_ADDR\": \"10.0.0.40\", "
	"\"PROTOCOL\": 6, \"L4_SRC_PORT\": %u, \"L4_DST_PORT\": 5432, "
	"\"NW_LATENCY_MS\": \"0.183\", \"LOCAL_PROCESS\": { \"PID\": 31877, "
	"\"UID\": 0, \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 31877, "
	"\"PROCESS_PATH\": \"\\/usr\\/bin\\/python3\", \"PROCESS_CMDLINE\": "
	"\"worker.py\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": 31702, \"UID\": "
	"0, \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 0, \"PROCESS_PATH\": "
	"\"\\/usr\\/bin\\/bash\", \"PROCESS_CMDLINE\": \"\" }, "
	"\"LOCAL_CONTAINER\": { \"DOCKER\": { \"ID\": "
	"\"cbd2540ec5be7f1e9a0d4b6c3e8f2a1b5d7c9e0f4a6b8c2d1e3f5a7b\", "
	"\"NAME\": \"sleepy_haibt\" } } }",
	"{ \"timestamp\": \"%lu.%06lu\", \"INTERFACE_NAME\": \"%s\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CLOSE\", "
	"\"IPV4_SRC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": "
	"\"203.0.113.80\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": %u, "
	"\"L4_DST_PORT\": 443, \"LOCAL_PROCESS\": { \"PID\": 30197, \"UID\": "
	"1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": 30197, "
	"\"PROCESS_PATH\": \"\\/usr\\/bin\\/curl\", \"PROCESS_CMDLINE\": \"\" "
	"} }",
};

static const char live_counter[] =
	"{\"deviceIP\":\"192.168.1.23\",\"ifIndex\":2,\"ifName\":\"%s\","
	"\"ifType\":6,\"ifSpeed\":1000000000,\"ifDirection\":1,"
	"\"ifAdminStatus\":1,\"ifOperStatus\":1,\"ifInOctets\":%lu,"
	"\"ifInPackets\":%lu,\"ifInErrors\":0,\"ifOutOctets\":%lu,"
	"\"ifOutPackets\":%lu,\"ifOutErrors\":0,\"ifPromiscuousMode\":0,"
	"\"samplesGenerated\":%lu}";

static const char live_listen[] =
	"{\"listening-ports\":{\"tcp4\":[{\"port\":22,\"proc\":\"sshd\","
	"\"pkg\":\"openssh-server\"},{\"port\":443,\"proc\":\"nginx\","
	"\"pkg\":\"nginx\"}],\"udp4\":[{\"port\":53,\"proc\":"
	"\"systemd-resolved\",\"pkg\":\"systemd\"}],\"tcp6\":[{\"port\":22,"
	"\"proc\":\"sshd\",\"pkg\":\"openssh-server\"}],\"udp6\":[]},"
	"\"ip-addresses\":[\"192.168.1.23\"],\"instance-name\":\"demo-host\"}";

static const char live_stats[] =
	"{\"probe\":{\"name\":\"evflow-testpub\",\"version\":\"1.0\"},"
	"\"time\":%lu,\"events\":%lu,\"drops\":0,\"bytes\":%lu}";

static void
sleep_usec(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
live_run(struct pub *p, double rate, const char *ifname,
    volatile const int *stop)
{
	char buf[4096];
	struct timespec now;
	unsigned long tick = 0;
	unsigned port = 40000;
	size_t nflows = sizeof(live_flow) / sizeof(live_flow[0]);
	int n;

	if (rate <= 0)
		rate = 2;
	while (!*stop) {
		clock_gettime(CLOCK_REALTIME, &now);
		port = port >= 60999 ? 40000 : port + 1;
		n = snprintf(buf, sizeof(buf), live_flow[tick % nflows],
		    (unsigned long)now.tv_sec,
		    (unsigned long)(now.tv_nsec / 1000), ifname, port);
		if (n > 0 && (size_t)n < sizeof(buf) &&
		    pub_send(p, "flow", buf, (size_t)n, 1) == -1)
			return -1;
		/* Every ~10 seconds: counters, listening ports, health. */
		if (tick % (unsigned long)(rate * 10 + 1) == 0) {
			unsigned long k = tick + 1;

			n = snprintf(buf, sizeof(buf), live_counter, ifname,
			    k * 15000, k * 20, k * 9000, k * 18, k);
			if (n > 0 && (size_t)n < sizeof(buf))
				(void)pub_send(p, "counter", buf, (size_t)n, 1);
			(void)pub_send(p, "listening-ports", live_listen,
			    sizeof(live_listen) - 1, 1);
			n = snprintf(buf, sizeof(buf), live_stats,
			    (unsigned long)now.tv_sec, (unsigned long)p->events,
			    (unsigned long)p->bytes);
			if (n > 0 && (size_t)n < sizeof(buf))
				(void)pub_send(p, "event", buf, (size_t)n, 1);
		}
		tick++;
		sleep_usec((long)(1e6 / rate));
	}
	return 0;
}
