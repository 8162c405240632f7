/*
 * collector/event_json.c: every sample event of the spec parsed to the
 * exact record, the other dialects and topics, and hostile JSON.
 * Every emitted record must also pass the receiver's checked decoder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/event_json.h"
#include "t.h"
#include "t_flow.h"

#define MAX_RECS	64

struct rec {
	uint16_t	type;
	size_t		len;
	union {
		struct evp_flow f;
		struct evp_listen l;
		struct evp_ifcounter c;
	} u;
};

static struct rec recs[MAX_RECS];
static unsigned nrecs;
static uint64_t ctr[C_COUNTER_MAX];
static struct ej ej;
static int refuse;

/* Keeps a decoded copy of each record; checks it decodes. */
static int
capture(void *arg, uint16_t type, const void *body, size_t len)
{
	struct rec *r;
	int ok = -1;

	(void)arg;
	if (refuse || nrecs == MAX_RECS)
		return -1;
	r = &recs[nrecs++];
	r->type = type;
	r->len = len;
	switch (type) {
	case EVP_FLOW:
		ok = t_flow_wire(body, len, &r->u.f);
		break;
	case EVP_LISTEN:
		ok = evp_decode_listen(body, len, &r->u.l);
		break;
	case EVP_IFCOUNTER:
		ok = evp_decode_ifcounter(body, len, &r->u.c);
		break;
	}
	CHECK(ok == 0);
	return 0;
}

static int
parse(enum ej_topic t, const char *s)
{
	nrecs = 0;
	memset(recs, 0, sizeof(recs));
	return ej_parse(&ej, t, s, strlen(s));
}

static const char *
addr(const uint8_t a[16])
{
	static char b[4][48];
	static int i;

	i = (i + 1) % 4;
	return evp_addr_str(a, b[i], sizeof(b[i]));
}

/* The samples of tests/tools/samples/sample-events.jsonl, verbatim. */
static const char *const samples[] = {
	"{ \"timestamp\": \"1715935521.084213\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV"
	"4_SRC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": \"203.0.113.80\","
	" \"PROTOCOL\": 6, \"L4_SRC_PORT\": 54348, \"L4_DST_PORT\": 80, \"NW_"
	"LATENCY_MS\": \"0.221\", \"LOCAL_PROCESS\": { \"PID\": 30197, \"UID"
	"\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": 30197, \""
	"PROCESS_PATH\": \"\\/usr\\/bin\\/curl\", \"PROCESS_CMDLINE\": \"http"
	":\\/\\/203.0.113.80\\/\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": 262"
	"19, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": "
	"0, \"PROCESS_PATH\": \"\\/usr\\/bin\\/bash\", \"PROCESS_CMDLINE\": "
	"\"\" } }",
	"{ \"timestamp\": \"1715935522.517902\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"ACCEPT\", \"IPV4"
	"_SRC_ADDR\": \"198.51.100.7\", \"IPV4_DST_ADDR\": \"192.168.1.23\", "
	"\"PROTOCOL\": 6, \"L4_SRC_PORT\": 51544, \"L4_DST_PORT\": 443, \"LOC"
	"AL_PROCESS\": { \"PID\": 1826, \"UID\": 33, \"GID\": 33, \"GID_NAME"
	"\": \"www-data\", \"TID\": 1826, \"PROCESS_PATH\": \"\\/usr\\/sbin\\"
	"/nginx\", \"PROCESS_CMDLINE\": \"\" }, \"LOCAL_FATHER_PROCESS\": { "
	"\"PID\": 812, \"UID\": 0, \"GID\": 0, \"GID_NAME\": \"root\", \"TID"
	"\": 0, \"PROCESS_PATH\": \"\\/usr\\/sbin\\/nginx\", \"PROCESS_CMDLIN"
	"E\": \"\" } }",
	"{ \"timestamp\": \"1715935523.000457\", \"INTERFACE_NAME\": \"lo\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CLOSE\", \"IPV4_SR"
	"C_ADDR\": \"127.0.0.1\", \"IPV4_DST_ADDR\": \"127.0.0.1\", \"PROTOCO"
	"L\": 6, \"L4_SRC_PORT\": 41234, \"L4_DST_PORT\": 6379, \"LOCAL_PROCE"
	"SS\": { \"PID\": 40211, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": "
	"\"alice\", \"TID\": 40211, \"PROCESS_PATH\": \"\\/usr\\/bin\\/redis-"
	"cli\", \"PROCESS_CMDLINE\": \"ping\" }, \"LOCAL_FATHER_PROCESS\": { "
	"\"PID\": 26219, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice"
	"\", \"TID\": 0, \"PROCESS_PATH\": \"\\/usr\\/bin\\/bash\", \"PROCESS"
	"_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"1715935524.310066\", \"INTERFACE_NAME\": \"lo\", "
	"\"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT_FAILED\", "
	"\"IPV4_SRC_ADDR\": \"127.0.0.1\", \"IPV4_DST_ADDR\": \"127.0.0.1\", "
	"\"PROTOCOL\": 6, \"L4_SRC_PORT\": 38512, \"L4_DST_PORT\": 9, \"LOCAL"
	"_PROCESS\": { \"PID\": 40377, \"UID\": 1000, \"GID\": 1000, \"GID_NA"
	"ME\": \"alice\", \"TID\": 40377, \"PROCESS_PATH\": \"\\/usr\\/bin\\/"
	"nc.openbsd\", \"PROCESS_CMDLINE\": \"-z\" }, \"LOCAL_FATHER_PROCESS"
	"\": { \"PID\": 26219, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \""
	"alice\", \"TID\": 0, \"PROCESS_PATH\": \"\\/usr\\/bin\\/bash\", \"PR"
	"OCESS_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"1715935525.771930\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"RETRANSMIT\", \""
	"IPV4_SRC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": \"203.0.113.80"
	"\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": 54350, \"L4_DST_PORT\": 80, \""
	"RETRAN_PKTS\": 1 }",
	"{ \"timestamp\": \"1715935526.402311\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 6, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV"
	"6_SRC_ADDR\": \"2001:db8:1::23\", \"IPV6_DST_ADDR\": \"2001:db8:cafe"
	"::80\", \"PROTOCOL\": 6, \"L4_SRC_PORT\": 39012, \"L4_DST_PORT\": 44"
	"3, \"NW_LATENCY_MS\": \"0.057\", \"LOCAL_PROCESS\": { \"PID\": 5123,"
	" \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": 507"
	"1, \"PROCESS_PATH\": \"\\/usr\\/lib\\/firefox-esr\\/firefox-esr\", "
	"\"PROCESS_CMDLINE\": \"\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": 12"
	"90, \"UID\": 1000, \"GID\": 1000, \"GID_NAME\": \"alice\", \"TID\": "
	"0, \"PROCESS_PATH\": \"\\/usr\\/lib\\/systemd\\/systemd\", \"PROCESS"
	"_CMDLINE\": \"--user\" } }",
	"{ \"timestamp\": \"1715935527.125577\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV"
	"4_SRC_ADDR\": \"172.17.0.2\", \"IPV4_DST_ADDR\": \"203.0.113.80\", "
	"\"PROTOCOL\": 6, \"L4_SRC_PORT\": 54872, \"L4_DST_PORT\": 80, \"NW_L"
	"ATENCY_MS\": \"0.183\", \"LOCAL_PROCESS\": { \"PID\": 31877, \"UID\""
	": 0, \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 31877, \"PROCESS_P"
	"ATH\": \"\\/usr\\/bin\\/curl\", \"PROCESS_CMDLINE\": \"http:\\/\\/20"
	"3.0.113.80\\/\" }, \"LOCAL_FATHER_PROCESS\": { \"PID\": 31702, \"UID"
	"\": 0, \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 0, \"PROCESS_PAT"
	"H\": \"\\/usr\\/bin\\/bash\", \"PROCESS_CMDLINE\": \"\" }, \"LOCAL_C"
	"ONTAINER\": { \"DOCKER\": { \"ID\": \"cbd2540ec5be7f1e9a0d4b6c3e8f2a"
	"1b5d7c9e0f4a6b8c2d1e3f5a7b\", \"NAME\": \"sleepy_haibt\" } } }",
	"{ \"timestamp\": \"1715935528.661048\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IPV"
	"4_SRC_ADDR\": \"10.244.0.5\", \"IPV4_DST_ADDR\": \"10.96.0.1\", \"PR"
	"OTOCOL\": 6, \"L4_SRC_PORT\": 48220, \"L4_DST_PORT\": 443, \"NW_LATE"
	"NCY_MS\": \"0.041\", \"LOCAL_PROCESS\": { \"PID\": 2554, \"UID\": 0,"
	" \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 2554, \"PROCESS_PATH\""
	": \"\\/coredns\", \"PROCESS_CMDLINE\": \"-conf\" }, \"LOCAL_FATHER_P"
	"ROCESS\": { \"PID\": 2295, \"UID\": 0, \"GID\": 0, \"GID_NAME\": \"r"
	"oot\", \"TID\": 0, \"PROCESS_PATH\": \"\\/usr\\/bin\\/containerd-shi"
	"m-runc-v2\", \"PROCESS_CMDLINE\": \"-namespace\" }, \"LOCAL_CONTAINE"
	"R\": { \"K8S\": { \"ID\": \"275d71585e03a4c9b1f0e2d3c4b5a69788776655"
	"4433221100ffeeddccbbaa9\", \"NAME\": \"coredns\", \"POD\": \"coredns"
	"-5d78c9869d-6x2qz\", \"NS\": \"kube-system\" } } }",
	"{ \"timestamp\": \"1715935529.003118\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"UDP_EVENT_TYPE\": \"SEND\", \"IPV4_S"
	"RC_ADDR\": \"192.168.1.23\", \"IPV4_DST_ADDR\": \"192.168.1.1\", \"P"
	"ROTOCOL\": 17, \"L4_SRC_PORT\": 40432, \"L4_DST_PORT\": 53, \"LOCAL_"
	"PROCESS\": { \"PID\": 612, \"UID\": 991, \"GID\": 991, \"GID_NAME\":"
	" \"systemd-resolve\", \"TID\": 612, \"PROCESS_PATH\": \"\\/usr\\/lib"
	"\\/systemd\\/systemd-resolved\", \"PROCESS_CMDLINE\": \"\" }, \"LOCA"
	"L_FATHER_PROCESS\": { \"PID\": 1, \"UID\": 0, \"UID_NAME\": \"daemon"
	"\", \"GID\": 0, \"GID_NAME\": \"root\", \"TID\": 0, \"PROCESS_PATH\""
	": \"\\/usr\\/lib\\/systemd\\/systemd\", \"PROCESS_CMDLINE\": \"\" } "
	"}",
	"{ \"timestamp\": \"1715935529.004950\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 4, \"UDP_EVENT_TYPE\": \"SEND\", \"IPV4_S"
	"RC_ADDR\": \"192.168.1.1\", \"IPV4_DST_ADDR\": \"192.168.1.23\", \"P"
	"ROTOCOL\": 17, \"L4_SRC_PORT\": 53, \"L4_DST_PORT\": 40432 }",
	"{ \"timestamp\": \"1715935530.250031\", \"INTERFACE_NAME\": \"eth0\""
	", \"IP_PROTOCOL_VERSION\": 6, \"UDP_EVENT_TYPE\": \"SEND\", \"IPV6_S"
	"RC_ADDR\": \"2001:db8:1::23\", \"IPV6_DST_ADDR\": \"2001:db8::123\","
	" \"PROTOCOL\": 17, \"L4_SRC_PORT\": 47873, \"L4_DST_PORT\": 123, \"L"
	"OCAL_PROCESS\": { \"PID\": 701, \"UID\": 100, \"GID\": 104, \"GID_NA"
	"ME\": \"_chrony\", \"TID\": 701, \"PROCESS_PATH\": \"\\/usr\\/sbin\\"
	"/chronyd\", \"PROCESS_CMDLINE\": \"-F\" }, \"LOCAL_FATHER_PROCESS\":"
	" { \"PID\": 1, \"UID\": 0, \"UID_NAME\": \"daemon\", \"GID\": 0, \"G"
	"ID_NAME\": \"root\", \"TID\": 0, \"PROCESS_PATH\": \"\\/usr\\/lib\\/"
	"systemd\\/systemd\", \"PROCESS_CMDLINE\": \"\" } }",
	"{ \"timestamp\": \"1557135868.956831\", \"TID\": 0, \"LOCAL_PROCESS"
	"\": { \"PID\": 29730, \"UID\": 0, \"GID\": 0, \"GID_NAME\": \"root\""
	", \"PROCESS_PATH\": \"\\/snap\\/microk8s\\/522\\/kubelet\" }, \"LOCA"
	"L_FATHER_PROCESS\": { \"PID\": 1, \"UID\": 0, \"UID_NAME\": \"daemon"
	"\", \"GID\": 0, \"GID_NAME\": \"root\", \"PROCESS_PATH\": \"\\/lib\\"
	"/systemd\\/systemd\" }, \"TCP_EVENT_TYPE\": \"CONNECT\", \"IF_NAME\""
	": \"cbr0\", \"IP_PROTOCOL_VERSION\": 4, \"PROTOCOL\": 6, \"NW_LATENC"
	"Y_MS\": 0.177, \"L4_LOCAL_PORT\": 58916, \"L4_REMOTE_PORT\": 10054, "
	"\"IPV4_LOCAL_ADDR\": \"10.1.1.1\", \"IPV4_REMOTE_ADDR\": \"10.1.1.13"
	"\", \"EXPORTER_IPV4_ADDRESS\": \"192.168.2.131\" }",
};

struct expect {
	const char	*cli;
	uint16_t	 cport;
	const char	*srv;
	uint16_t	 sport;
	uint8_t		 proto, ipv, event;
	uint16_t	 flags;		/* GUESSED | LOOPBACK, exactly */
	int		 local;		/* record side of the local host */
	uint32_t	 pid, tid, uid;
	const char	*gid_name, *path, *cmdline;
	uint32_t	 ppid;
	const char	*puid_name, *ppath, *pcmdline;
	const char	*ifname;
	uint32_t	 lat_us;
	uint64_t	 ts;
};

#define G	EVP_F_SIDES_GUESSED
#define L	EVP_F_LOOPBACK
static const struct expect expects[] = {
	{ "192.168.1.23", 54348, "203.0.113.80", 80, 6, 4, EVP_EV_CONNECT, 0,
	  0, 30197, 30197, 1000, "alice", "/usr/bin/curl",
	  "http://203.0.113.80/", 26219, "", "/usr/bin/bash", "", "eth0", 221,
	  1715935521084213ull },
	{ "198.51.100.7", 51544, "192.168.1.23", 443, 6, 4, EVP_EV_ACCEPT, 0,
	  1, 1826, 1826, 33, "www-data", "/usr/sbin/nginx", "", 812, "",
	  "/usr/sbin/nginx", "", "eth0", 0, 1715935522517902ull },
	{ "127.0.0.1", 41234, "127.0.0.1", 6379, 6, 4, EVP_EV_CLOSE, G | L,
	  0, 40211, 40211, 1000, "alice", "/usr/bin/redis-cli", "ping", 26219,
	  "", "/usr/bin/bash", "", "lo", 0, 1715935523000457ull },
	{ "127.0.0.1", 38512, "127.0.0.1", 9, 6, 4, EVP_EV_CONNECT_FAILED, L,
	  0, 40377, 40377, 1000, "alice", "/usr/bin/nc.openbsd", "-z", 26219,
	  "", "/usr/bin/bash", "", "lo", 0, 1715935524310066ull },
	{ "192.168.1.23", 54350, "203.0.113.80", 80, 6, 4, EVP_EV_RETRANSMIT,
	  G, 0, 0, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL, "eth0", 0,
	  1715935525771930ull },
	{ "2001:db8:1::23", 39012, "2001:db8:cafe::80", 443, 6, 6,
	  EVP_EV_CONNECT, 0, 0, 5123, 5071, 1000, "alice",
	  "/usr/lib/firefox-esr/firefox-esr", "", 1290, "",
	  "/usr/lib/systemd/systemd", "--user", "eth0", 57,
	  1715935526402311ull },
	{ "172.17.0.2", 54872, "203.0.113.80", 80, 6, 4, EVP_EV_CONNECT, 0, 0,
	  31877, 31877, 0, "root", "/usr/bin/curl", "http://203.0.113.80/",
	  31702, "", "/usr/bin/bash", "", "eth0", 183, 1715935527125577ull },
	{ "10.244.0.5", 48220, "10.96.0.1", 443, 6, 4, EVP_EV_CONNECT, 0, 0,
	  2554, 2554, 0, "root", "/coredns", "-conf", 2295, "",
	  "/usr/bin/containerd-shim-runc-v2", "-namespace", "eth0", 41,
	  1715935528661048ull },
	{ "192.168.1.23", 40432, "192.168.1.1", 53, 17, 4, EVP_EV_SEND, G, 0,
	  612, 612, 991, "systemd-resolve",
	  "/usr/lib/systemd/systemd-resolved", "", 1, "daemon",
	  "/usr/lib/systemd/systemd", "", "eth0", 0, 1715935529003118ull },
	/* SRC is local: the local host is the DNS server here. */
	{ "192.168.1.23", 40432, "192.168.1.1", 53, 17, 4, EVP_EV_SEND, G, 1,
	  0, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL, "eth0", 0,
	  1715935529004950ull },
	{ "2001:db8:1::23", 47873, "2001:db8::123", 123, 17, 6, EVP_EV_SEND,
	  G, 0, 701, 701, 100, "_chrony", "/usr/sbin/chronyd", "-F", 1,
	  "daemon", "/usr/lib/systemd/systemd", "", "eth0", 0,
	  1715935530250031ull },
	/* nprobe_mini: LOCAL/REMOTE, numeric latency, IF_NAME. */
	{ "10.1.1.1", 58916, "10.1.1.13", 10054, 6, 4, EVP_EV_CONNECT, 0, 0,
	  29730, 0, 0, "root", "/snap/microk8s/522/kubelet", "", 1, "daemon",
	  "/lib/systemd/systemd", "", "cbr0", 177, 1557135868956831ull },
};
#undef G
#undef L

static void
check_sample(unsigned i)
{
	const struct expect *e = &expects[i];
	const struct evp_flow *f = &recs[0].u.f;
	const struct evp_side *ls = &f->side[e->local];
	const struct evp_side *rs = &f->side[1 - e->local];

	CHECK(parse(EJ_FLOW, samples[i]) == 0);
	CHECK_EQ_U(nrecs, 1);
	CHECK_EQ_U(recs[0].type, EVP_FLOW);
	if (nrecs != 1) {
		fprintf(stderr, "sample %u: no record\n", i);
		return;
	}
	fprintf(stderr, "sample %u\n", i);
	CHECK_STR(addr(f->addr[0]), e->cli);
	CHECK_STR(addr(f->addr[1]), e->srv);
	CHECK_EQ_U(f->port[0], e->cport);
	CHECK_EQ_U(f->port[1], e->sport);
	CHECK_EQ_U(f->proto, e->proto);
	CHECK_EQ_U(f->ip_version, e->ipv);
	CHECK_EQ_U(f->event, e->event);
	CHECK_EQ_U(f->source, EVP_SRC_EVENT);
	CHECK_EQ_U(f->flags & (EVP_F_SIDES_GUESSED | EVP_F_LOOPBACK), e->flags);
	CHECK_EQ_U(f->flags & EVP_F_TRUNCATED, 0);
	CHECK_STR(f->ifname, e->ifname);
	CHECK_EQ_U(f->nw_latency_us, e->lat_us);
	CHECK_EQ_U(f->ts_usec, e->ts);
	CHECK(ls->present & EVP_SIDE_LOCAL);
	CHECK_EQ_U(rs->present, 0);
	if (e->path == NULL) {
		CHECK_EQ_U(ls->present, EVP_SIDE_LOCAL);
		return;
	}
	CHECK_EQ_U(ls->present & (EVP_SIDE_PROC | EVP_SIDE_PARENT),
	    EVP_SIDE_PROC | EVP_SIDE_PARENT);
	CHECK_EQ_U(ls->proc.pid, e->pid);
	CHECK_EQ_U(ls->proc.tid, e->tid);
	CHECK_EQ_U(ls->proc.uid, e->uid);
	CHECK_STR(ls->proc.gid_name, e->gid_name);
	CHECK_STR(ls->proc.path, e->path);
	CHECK_STR(ls->proc.cmdline, e->cmdline);
	CHECK_EQ_U(ls->parent.pid, e->ppid);
	CHECK_STR(ls->parent.uid_name, e->puid_name);
	CHECK_STR(ls->parent.path, e->ppath);
	CHECK_STR(ls->parent.cmdline, e->pcmdline);
}

static void
test_samples(void)
{
	const struct evp_flow *f = &recs[0].u.f;
	unsigned i;

	CHECK_EQ_U(sizeof(samples) / sizeof(samples[0]), 12);
	for (i = 0; i < sizeof(expects) / sizeof(expects[0]); i++)
		check_sample(i);

	/* Docker and Kubernetes containers, on the local (client) side. */
	CHECK(parse(EJ_FLOW, samples[6]) == 0 && nrecs == 1);
	CHECK_EQ_U(f->side[0].present, EVP_SIDE_LOCAL | EVP_SIDE_PROC |
	    EVP_SIDE_PARENT | EVP_SIDE_CONTAINER);
	CHECK_EQ_U(f->side[0].container.kind, EVP_CONT_DOCKER);
	CHECK_STR(f->side[0].container.id,
	    "cbd2540ec5be7f1e9a0d4b6c3e8f2a1b5d7c9e0f4a6b8c2d1e3f5a7b");
	CHECK_STR(f->side[0].container.name, "sleepy_haibt");
	CHECK(parse(EJ_FLOW, samples[7]) == 0 && nrecs == 1);
	CHECK_EQ_U(f->side[0].container.kind, EVP_CONT_K8S);
	CHECK_STR(f->side[0].container.id, "275d71585e03a4c9b1f0e2d3c4b5a697"
	    "887766554433221100ffeeddccbbaa9");
	CHECK_STR(f->side[0].container.name, "coredns");
	CHECK_STR(f->side[0].container.pod, "coredns-5d78c9869d-6x2qz");
	CHECK_STR(f->side[0].container.ns, "kube-system");
	/* No container elsewhere. */
	CHECK(parse(EJ_FLOW, samples[0]) == 0 && nrecs == 1);
	CHECK_EQ_U(f->side[0].container.kind, EVP_CONT_NONE);
	/* A retransmission is counted in the local -> remote direction. */
	CHECK(parse(EJ_FLOW, samples[4]) == 0 && nrecs == 1);
	CHECK_EQ_U(f->retrans[0], 1);
	CHECK_EQ_U(f->retrans[1], 0);
	/* nprobe: exporter, and the unknown top-level TID kept in extra. */
	CHECK(parse(EJ_FLOW, samples[11]) == 0 && nrecs == 1);
	CHECK_STR(addr(f->exporter), "192.168.2.131");
	CHECK_STR(f->extra, "{\"TID\":0}");
	CHECK_EQ_U(f->extra_len, 9);
	CHECK_EQ_U(f->producer, 7);
	/* The libebpfflow samples have no unknown keys. */
	CHECK(parse(EJ_FLOW, samples[0]) == 0 && nrecs == 1);
	CHECK_EQ_U(f->extra_len, 0);
}

static void
test_agent(void)
{
	const struct evp_flow *f = &recs[0].u.f;

	/* ACCEPT with LOCAL/REMOTE: local is the server; REMOTE_PROCESS
	 * goes on the remote (client) side; flat container; VM sizes. */
	CHECK(parse(EJ_FLOW, "{\"TCP_EVENT_TYPE\":\"ACCEPT\","
	    "\"IPV4_LOCAL_ADDR\":\"10.0.0.5\",\"IPV4_REMOTE_ADDR\":\"10.0.0.9\","
	    "\"L4_LOCAL_PORT\":8080,\"L4_REMOTE_PORT\":40000,\"PROTOCOL\":6,"
	    "\"INTERFACE_NAME\":\"veth1\",\"NW_LATENCY_MS\":1.5,"
	    "\"LOCAL_PROCESS\":{\"PID\":10,\"PROCESS_PATH\":\"/srv\","
	    "\"VM_SIZE\":1000,\"VM_PEAK\":2000},"
	    "\"LOCAL_CONTAINER\":{\"ID\":\"abc123\",\"NAME\":\"web\"},"
	    "\"REMOTE_PROCESS\":{\"PID\":20,\"PROCESS_PATH\":\"/cli\"}}") == 0);
	CHECK_EQ_U(nrecs, 1);
	CHECK_STR(addr(f->addr[0]), "10.0.0.9");
	CHECK_EQ_U(f->port[0], 40000);
	CHECK_STR(addr(f->addr[1]), "10.0.0.5");
	CHECK_EQ_U(f->port[1], 8080);
	CHECK_EQ_U(f->flags & EVP_F_SIDES_GUESSED, 0);
	CHECK_EQ_U(f->side[1].present, EVP_SIDE_LOCAL | EVP_SIDE_PROC |
	    EVP_SIDE_CONTAINER);
	CHECK_EQ_U(f->side[1].proc.pid, 10);
	CHECK_EQ_U(f->side[1].proc.vm_size, 1000);
	CHECK_EQ_U(f->side[1].proc.vm_peak, 2000);
	CHECK_EQ_U(f->side[1].container.kind, EVP_CONT_OTHER);
	CHECK_STR(f->side[1].container.id, "abc123");
	CHECK_EQ_U(f->side[0].present, EVP_SIDE_PROC);
	CHECK_EQ_U(f->side[0].proc.pid, 20);
	CHECK_STR(f->side[0].proc.path, "/cli");
	CHECK_STR(f->ifname, "veth1");
	CHECK_EQ_U(f->nw_latency_us, 1500);

	/* netstat array: SYN-RECV (local server), ESTABLISHED (guessed),
	 * LISTEN (a listening socket record). */
	CHECK(parse(EJ_FLOW, "[{\"IPV4_LOCAL_ADDR\":\"10.0.0.5\","
	    "\"IPV4_REMOTE_ADDR\":\"10.0.0.9\",\"L4_LOCAL_PORT\":22,"
	    "\"L4_REMOTE_PORT\":50000,\"IF_NAME\":\"eth0\","
	    "\"TCP\":{\"CONN_STATE\":\"SYN-RECV\"}},"
	    "{\"IPV6_LOCAL_ADDR\":\"2001:db8::5\",\"IPV6_REMOTE_ADDR\":"
	    "\"2001:db8::9\",\"L4_LOCAL_PORT\":50001,\"L4_REMOTE_PORT\":443,"
	    "\"PROTOCOL\":6,\"LOCAL_PROCESS\":{\"PID\":7},"
	    "\"TCP\":{\"CONN_STATE\":\"ESTABLISHED\",\"SEGS_IN\":10,"
	    "\"SEGS_OUT\":12,\"UNACK_SEGMENTS\":1,\"RETRAN_PKTS\":2,"
	    "\"LOST_PKTS\":3,\"RTT\":0.25,\"RTT_VARIANCE\":0.125,"
	    "\"BYTES_RCVD\":5000,\"BYTES_ACKED\":7000}},"
	    "{\"IPV4_LOCAL_ADDR\":\"0.0.0.0\",\"IPV4_REMOTE_ADDR\":\"0.0.0.0\","
	    "\"L4_LOCAL_PORT\":22,\"L4_REMOTE_PORT\":0,"
	    "\"EXPORTER_IPV4_ADDRESS\":\"192.168.2.1\","
	    "\"LOCAL_PROCESS\":{\"PID\":99,\"PROCESS_PATH\":\"/usr/sbin/sshd\"},"
	    "\"TCP\":{\"CONN_STATE\":\"LISTEN\"}}]") == 0);
	CHECK_EQ_U(nrecs, 3);
	CHECK_EQ_U(recs[0].type, EVP_FLOW);
	CHECK_EQ_U(recs[0].u.f.source, EVP_SRC_NETSTAT);
	CHECK_EQ_U(recs[0].u.f.event, EVP_EV_UPDATE);
	CHECK_EQ_U(recs[0].u.f.tcp_state, EVP_TCP_SYN_RECV);
	CHECK_EQ_U(recs[0].u.f.proto, 6);
	CHECK_EQ_U(recs[0].u.f.port[1], 22);
	CHECK_EQ_U(recs[0].u.f.side[1].present, EVP_SIDE_LOCAL);
	CHECK_EQ_U(recs[0].u.f.flags & EVP_F_SIDES_GUESSED, 0);
	CHECK_EQ_U(recs[0].u.f.flags & (EVP_F_ABSOLUTE | EVP_F_HAS_TCPINFO),
	    EVP_F_ABSOLUTE | EVP_F_HAS_TCPINFO);
	f = &recs[1].u.f;
	CHECK_EQ_U(f->ip_version, 6);
	CHECK_EQ_U(f->tcp_state, EVP_TCP_ESTABLISHED);
	CHECK_EQ_U(f->flags & EVP_F_SIDES_GUESSED, EVP_F_SIDES_GUESSED);
	CHECK_STR(addr(f->addr[0]), "2001:db8::5");
	CHECK_EQ_U(f->port[1], 443);
	CHECK_EQ_U(f->side[0].present, EVP_SIDE_LOCAL | EVP_SIDE_PROC);
	CHECK_EQ_U(f->segs_in, 10);
	CHECK_EQ_U(f->segs_out, 12);
	CHECK_EQ_U(f->unack_segs, 1);
	CHECK_EQ_U(f->retrans[0], 2);
	CHECK_EQ_U(f->lost_pkts, 3);
	CHECK_EQ_U(f->rtt_us, 250);
	CHECK_EQ_U(f->rtt_var_us, 125);
	CHECK_EQ_U(f->bytes_rcvd, 5000);
	CHECK_EQ_U(f->bytes_acked, 7000);
	CHECK_EQ_U(recs[2].type, EVP_LISTEN);
	CHECK_EQ_U(recs[2].u.l.port, 22);
	CHECK_EQ_U(recs[2].u.l.proto, 6);
	CHECK_EQ_U(recs[2].u.l.pid, 99);
	CHECK_STR(recs[2].u.l.proc, "/usr/sbin/sshd");
	CHECK_STR(recs[2].u.l.host, "192.168.2.1");

	/* A netstat SYN-SENT with a server-looking local port: local is
	 * still the client. */
	CHECK(parse(EJ_FLOW, "{\"IPV4_LOCAL_ADDR\":\"10.0.0.5\","
	    "\"IPV4_REMOTE_ADDR\":\"10.0.0.9\",\"L4_LOCAL_PORT\":80,"
	    "\"L4_REMOTE_PORT\":50000,\"TCP\":{\"CONN_STATE\":\"SYN_SENT\","
	    "\"RETRAN_PKTS\":4}}") == 0 && nrecs == 1);
	f = &recs[0].u.f;
	CHECK_STR(addr(f->addr[0]), "10.0.0.5");
	CHECK_EQ_U(f->port[0], 80);
	CHECK_EQ_U(f->side[0].present, EVP_SIDE_LOCAL);
	CHECK_EQ_U(f->retrans[0], 4);
	CHECK_EQ_U(f->flags & EVP_F_SIDES_GUESSED, 0);
}

static void
test_netflow(void)
{
	const struct evp_flow *f;

	/* softflowd-style array; names and numbers mixed; flow 2 has the
	 * server as source, so its counters swap; an enterprise field. */
	CHECK(parse(EJ_FLOW, "[{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\","
	    "\"7\":40000,\"11\":80,\"4\":6,\"1\":1000,\"2\":10,\"23\":5000,"
	    "\"24\":8,\"22\":1700000000,\"21\":1700000010,\"6\":27,\"60\":4,"
	    "\"58\":12,\"35632.118\":\"x\"},"
	    "{\"IPV4_SRC_ADDR\":\"10.0.0.2\",\"12\":\"10.0.0.1\","
	    "\"L4_SRC_PORT\":\"53\",\"11\":\"40001\",\"PROTOCOL\":\"17\","
	    "\"IN_BYTES\":100,\"IN_PKTS\":1,\"OUT_BYTES\":60,\"OUT_PKTS\":1},"
	    "{\"27\":\"2001:db8::1\",\"28\":\"2001:db8::2\",\"4\":58}]") == 0);
	CHECK_EQ_U(nrecs, 3);
	f = &recs[0].u.f;
	CHECK_EQ_U(f->source, EVP_SRC_NETFLOW);
	CHECK_EQ_U(f->event, EVP_EV_NONE);
	CHECK_STR(addr(f->addr[0]), "10.0.0.1");
	CHECK_EQ_U(f->port[1], 80);
	CHECK_EQ_U(f->bytes[0], 1000);
	CHECK_EQ_U(f->pkts[0], 10);
	CHECK_EQ_U(f->bytes[1], 5000);
	CHECK_EQ_U(f->pkts[1], 8);
	CHECK_EQ_U(f->first_usec, 1700000000000000ull);
	CHECK_EQ_U(f->ts_usec, 1700000010000000ull);
	CHECK_EQ_U(f->tcp_flags[0], 27);
	CHECK_EQ_U(f->vlan, 12);
	CHECK_EQ_U(f->flags & EVP_F_HAS_COUNTERS, EVP_F_HAS_COUNTERS);
	CHECK_EQ_U(f->side[0].present | f->side[1].present, 0);
	CHECK_STR(f->extra, "{\"35632.118\":\"x\"}");
	f = &recs[1].u.f;
	CHECK_EQ_U(f->proto, 17);
	CHECK_STR(addr(f->addr[0]), "10.0.0.1");
	CHECK_EQ_U(f->port[0], 40001);
	CHECK_EQ_U(f->port[1], 53);
	CHECK_EQ_U(f->bytes[0], 60);	/* OUT: dst (client) -> src */
	CHECK_EQ_U(f->bytes[1], 100);
	f = &recs[2].u.f;
	CHECK_EQ_U(f->ip_version, 6);
	CHECK_EQ_U(f->proto, 58);
	CHECK_EQ_U(f->port[0] | f->port[1], 0);
	CHECK_EQ_U(f->ts_usec, 42);	/* ej.now_usec fallback */
}

static void
test_topics(void)
{
	/* counter */
	CHECK(parse(EJ_COUNTER, "{\"deviceIP\":\"192.168.1.1\",\"ifIndex\":3,"
	    "\"ifName\":\"eth0\",\"ifType\":6,\"ifSpeed\":1000000000,"
	    "\"ifDirection\":1,\"ifAdminStatus\":1,\"ifOperStatus\":1,"
	    "\"ifInOctets\":123456789012,\"ifInPackets\":1000,\"ifInErrors\":1,"
	    "\"ifOutOctets\":555,\"ifOutPackets\":5,\"ifOutErrors\":2,"
	    "\"ifPromiscuousMode\":true,\"samplesGenerated\":9}") == 0);
	CHECK_EQ_U(nrecs, 1);
	CHECK_EQ_U(recs[0].type, EVP_IFCOUNTER);
	CHECK_STR(addr(recs[0].u.c.device), "192.168.1.1");
	CHECK_EQ_U(recs[0].u.c.if_index, 3);
	CHECK_STR(recs[0].u.c.if_name, "eth0");
	CHECK_EQ_U(recs[0].u.c.if_speed, 1000000000);
	CHECK_EQ_U(recs[0].u.c.in_octets, 123456789012ull);
	CHECK_EQ_U(recs[0].u.c.out_errors, 2);
	CHECK_EQ_U(recs[0].u.c.promisc, 1);
	CHECK_EQ_U(recs[0].u.c.samples, 9);
	CHECK_EQ_U(recs[0].u.c.oper_status, 1);
	CHECK_EQ_U(recs[0].u.c.producer, 7);
	/* A counter without an interface is dropped and counted. */
	uint64_t miss = ctr[C_DROP_EV_MISSING_FIELD];
	CHECK(parse(EJ_COUNTER, "{\"ifInOctets\":1}") == 0 && nrecs == 0);
	CHECK_EQ_U(ctr[C_DROP_EV_MISSING_FIELD], miss + 1);

	/* listening-ports */
	CHECK(parse(EJ_LISTENING, "{\"listening-ports\":{\"tcp4\":[{\"port\":"
	    "22,\"proc\":\"sshd\",\"pkg\":\"openssh-server\"}],\"udp4\":[{\"port\""
	    ":53,\"proc\":\"dnsmasq\",\"pkg\":\"\"}],\"tcp6\":[{\"port\":80}],"
	    "\"udp6\":[]},\"ip-addresses\":[\"10.0.0.5\"],"
	    "\"instance-name\":\"host1\"}") == 0);
	CHECK_EQ_U(nrecs, 3);
	CHECK_EQ_U(recs[0].u.l.port, 22);
	CHECK_EQ_U(recs[0].u.l.proto, 6);
	CHECK_EQ_U(recs[0].u.l.ip_version, 4);
	CHECK_STR(recs[0].u.l.proc, "sshd");
	CHECK_STR(recs[0].u.l.pkg, "openssh-server");
	CHECK_STR(recs[0].u.l.host, "host1");
	CHECK_EQ_U(recs[1].u.l.proto, 17);
	CHECK_EQ_U(recs[2].u.l.ip_version, 6);
	CHECK_EQ_U(recs[2].u.l.port, 80);

	/* event: the producer's health, bounded, drops summed. */
	CHECK(parse(EJ_EVENT, "{\"probe.ip\":\"10.0.0.5\",\"bytes\":100,"
	    "\"drops\":{\"export_queue_full\":3,\"too_many_flows\":4},"
	    "\"zmq_drops\":5}") == 0);
	CHECK_EQ_U(nrecs, 0);
	CHECK_EQ_U(ej.health.seen, 1);
	CHECK_EQ_U(ej.health.probe_drops, 12);
	CHECK_STR(ej.health.info, "{\"probe.ip\":\"10.0.0.5\",\"bytes\":100,"
	    "\"drops\":{\"export_queue_full\":3,\"too_many_flows\":4},"
	    "\"zmq_drops\":5}");
}

static void
test_hostile(void)
{
	char *big, *p;
	size_t i;
	uint64_t before[C_COUNTER_MAX];
	const struct evp_flow *f = &recs[0].u.f;
	const char *base = "\"IPV4_SRC_ADDR\":\"10.0.0.1\","
	    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6";

	memcpy(before, ctr, sizeof(before));
	/* Not JSON, truncated JSON, empty input. */
	CHECK(parse(EJ_FLOW, "{\"a\":") == -1);
	CHECK(parse(EJ_FLOW, "nope") == -1);
	CHECK(parse(EJ_FLOW, "") == -1);
	/* Deep nesting: beyond cJSON's limit -> not parsed, no crash. */
	big = malloc(200001);
	for (i = 0; i < 100000; i++)
		big[i] = '[';
	for (; i < 200000; i++)
		big[i] = ']';
	big[i] = '\0';
	CHECK(parse(EJ_FLOW, big) == -1);
	/* Nesting inside the limit, in an unknown key: left out of extra. */
	p = big;
	p += sprintf(p, "{%s,\"deep\":", base);
	for (i = 0; i < 500; i++)
		*p++ = '[';
	for (i = 0; i < 500; i++)
		*p++ = ']';
	p += sprintf(p, ",\"shallow\":[1,2]}");
	CHECK(parse(EJ_FLOW, big) == 0 && nrecs == 1);
	CHECK_STR(f->extra, "{\"shallow\":[1,2]}");
	CHECK(f->flags & EVP_F_TRUNCATED);
	/* Array elements that are not objects; the rest still processed. */
	CHECK(parse(EJ_FLOW, "[1,\"x\",[],{\"IPV4_SRC_ADDR\":\"10.0.0.1\","
	    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6}]") == 0);
	CHECK_EQ_U(nrecs, 1);
	CHECK_EQ_U(ctr[C_DROP_EV_NOT_OBJECT], before[C_DROP_EV_NOT_OBJECT] + 3);
	/* Wrong types in key fields drop the event. */
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":\"tcp\"}") == 0 && nrecs == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":6,\"L4_SRC_PORT\":70000}") == 0 &&
	    nrecs == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":6,\"L4_SRC_PORT\":[1]}") == 0 &&
	    nrecs == 0);
	CHECK(parse(EJ_FLOW, "{\"TCP_EVENT_TYPE\":5,\"IPV4_SRC_ADDR\":\"10.0.0"
	    ".1\",\"IPV4_DST_ADDR\":\"10.0.0.2\"}") == 0 && nrecs == 0);
	CHECK_EQ_U(ctr[C_DROP_EV_WRONG_TYPE], before[C_DROP_EV_WRONG_TYPE] + 4);
	/* Missing and bad addresses, missing protocol. */
	CHECK(parse(EJ_FLOW, "{\"PROTOCOL\":6,\"L4_SRC_PORT\":1}") == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\","
	    "\"IPV4_DST_ADDR\":\"10.0.0.2\"}") == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.300\","
	    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6}") == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":1,"
	    "\"IPV4_DST_ADDR\":\"10.0.0.2\",\"PROTOCOL\":6}") == 0);
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\","
	    "\"IPV6_DST_ADDR\":\"::2\",\"PROTOCOL\":6}") == 0);
	CHECK_EQ_U(ctr[C_DROP_EV_MISSING_FIELD],
	    before[C_DROP_EV_MISSING_FIELD] + 2);
	CHECK_EQ_U(ctr[C_DROP_EV_BAD_ADDRESS], before[C_DROP_EV_BAD_ADDRESS] +
	    3);
	/* Wrong types in other fields: ignored, counted, event kept. */
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":6,\"NW_LATENCY_MS\":\"fast\","
	    "\"LOCAL_PROCESS\":{\"PID\":\"x\",\"PROCESS_PATH\":7},"
	    "\"INTERFACE_NAME\":{},\"timestamp\":\"soon\","
	    "\"LOCAL_CONTAINER\":[]}") == 0 && nrecs == 1);
	CHECK_EQ_U(ctr[C_FIELDS_WRONG_TYPE], before[C_FIELDS_WRONG_TYPE] + 6);
	CHECK_EQ_U(f->ts_usec, 42);
	/* Invalid UTF-8 is replaced, long strings cut at a boundary. */
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":6,\"INTERFACE_NAME\":\"e\xff\xc3(\","
	    "\"odd\":\"\xe2\x82\"}") == 0 && nrecs == 1);
	CHECK_STR(f->ifname, "e?" "?(");
	CHECK_STR(f->extra, "{\"odd\":\"??\"}");
	CHECK_EQ_U(ctr[C_STRINGS_BAD_UTF8], before[C_STRINGS_BAD_UTF8] + 2);
	p = big;
	p += sprintf(p, "{%s,\"INTERFACE_NAME\":\"", base);
	for (i = 0; i < 30; i++)
		p += sprintf(p, "a");
	p += sprintf(p, "\xc3\xa9\xc3\xa9\"}");	/* 30 + 2 x 2 bytes */
	CHECK(parse(EJ_FLOW, big) == 0 && nrecs == 1);
	CHECK_EQ_U(strlen(f->ifname), 30);	/* not 31: no half é */
	CHECK(f->flags & EVP_F_TRUNCATED);
	/* More unknown keys than `extra` holds: whole members kept. */
	p = big;
	p += sprintf(p, "{%s", base);
	for (i = 0; i < 100; i++)
		p += sprintf(p, ",\"key%03zu\":\"%s\"", i, "0123456789");
	p += sprintf(p, "}");
	CHECK(parse(EJ_FLOW, big) == 0 && nrecs == 1);
	CHECK(f->extra_len > 900 && f->extra_len < EVP_EXTRA_MAX);
	CHECK(f->extra[f->extra_len - 1] == '}');
	CHECK(f->flags & EVP_F_TRUNCATED);
	CHECK(ctr[C_EXTRA_TRUNCATED] > before[C_EXTRA_TRUNCATED]);
	/* Control characters and quotes are escaped in extra. */
	CHECK(parse(EJ_FLOW, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\""
	    ":\"10.0.0.2\",\"PROTOCOL\":6,\"q\\\"\":\"a\\n\\\"\\u0001\","
	    "\"n\":null,\"b\":false,\"d\":-1.5}") == 0 && nrecs == 1);
	CHECK_STR(f->extra, "{\"q\\\"\":\"a\\u000a\\\"\\u0001\",\"n\":null,"
	    "\"b\":false,\"d\":-1.5}");
	/* A refused record is counted as a send drop. */
	refuse = 1;
	CHECK(parse(EJ_FLOW, samples[0]) == 0 && nrecs == 0);
	refuse = 0;
	CHECK_EQ_U(ctr[C_DROP_EV_SEND], before[C_DROP_EV_SEND] + 1);
	free(big);
}

/* ---- issue 13: real producers whose data was lost or wrong ---- */

#define NOW_USEC	1764680000000000ull	/* 2025-12-02, a real clock */

/* softflowd ends arrays with `},\n]`: json-c accepts one trailing comma
 * before `]` or `}`, so evflow does too, and nothing looser. */
static void
test_softflowd_trailing_comma(void)
{
	uint64_t tc = ctr[C_JSON_TRAILING_COMMAS];
	char buf[64];
	size_t n;

	CHECK(parse(EJ_FLOW, "[{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\",\"4\":6,"
	    "\"7\":40000,\"11\":80},\n{\"8\":\"10.0.0.3\",\"12\":\"10.0.0.2\","
	    "\"4\":17,\"7\":5353,\"11\":53, \"s\":\",]\"},\n]") == 0);
	CHECK_EQ_U(nrecs, 2);
	CHECK_EQ_U(recs[1].u.f.proto, 17);
	CHECK_STR(recs[1].u.f.extra, "{\"s\":\",]\"}");	/* strings kept */
	CHECK(parse(EJ_FLOW, "{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\",\"4\":6,"
	    "\"x\":[1,2, ] ,}") == 0 && nrecs == 1);
	CHECK_STR(recs[0].u.f.extra, "{\"x\":[1,2]}");
	CHECK_EQ_U(ctr[C_JSON_TRAILING_COMMAS], tc + 2);
	/* What json-c refuses stays refused. */
	CHECK(parse(EJ_FLOW, "[,]") == -1);
	CHECK(parse(EJ_FLOW, "[{},,]") == -1);
	CHECK(parse(EJ_FLOW, "{\"a\":,}") == -1);
	CHECK(parse(EJ_FLOW, "{,}") == -1);
	CHECK_EQ_U(ctr[C_JSON_TRAILING_COMMAS], tc + 2);
	/* The stripping itself: escaped quotes inside strings. */
	CHECK(jt_has_trailing_comma("[1,2]", 5) == 0);
	CHECK(jt_ends_with_trailing_comma("[{},\n] \n", 8) == 1);
	CHECK(jt_ends_with_trailing_comma("[\"},]\"]", 7) == 0);
	CHECK(jt_ends_with_trailing_comma(",]", 2) == 0);
	n = jt_strip_trailing_commas("[\"a\\\",]\",{\"b\":1,},]", 19, buf);
	buf[n] = '\0';
	CHECK_STR(buf, "[\"a\\\",]\",{\"b\":1}]");
}

/* softflowd sends FIRST/LAST_SWITCHED as uptime milliseconds: they
 * become unix times (with the export's reference, else the receive
 * time), the duration kept; unix seconds and milliseconds pass. */
static void
test_netflow_uptime_times(void)
{
	uint64_t tc = ctr[C_TIMES_CORRECTED], save = ej.now_usec;
	const struct evp_flow *f = &recs[0].u.f;
	const char *flow = "\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\",\"4\":17,"
	    "\"7\":5000,\"11\":53";
	char b[512];

	ej.now_usec = NOW_USEC;
	/* Uptime ms, no reference: LAST is the receive time. */
	snprintf(b, sizeof(b), "{%s,\"22\":3600000,\"21\":3602500}", flow);
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->ts_usec, NOW_USEC);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 2500000);
	/* With IPFIX 160 (unix ms of uptime zero). */
	snprintf(b, sizeof(b), "{%s,\"FIRST_SWITCHED\":1000,\"LAST_SWITCHED\":"
	    "4000,\"160\":%llu}", flow,
	    (unsigned long long)(NOW_USEC / 1000 - 60000));
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 60000000 + 1000000);
	CHECK_EQ_U(f->ts_usec, NOW_USEC - 60000000 + 4000000);
	/* softflowd reading a pcap: the flow began before the reference,
	 * its uptime wrapped to 2^32 - 20000 ms; LAST wrapped past FIRST. */
	snprintf(b, sizeof(b), "{%s,\"22\":%llu,\"21\":%llu,\"160\":%llu}",
	    flow, 4294967296ull - 20000, 4294967296ull - 17500,
	    (unsigned long long)(NOW_USEC / 1000));
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 20000000);
	CHECK_EQ_U(f->ts_usec, NOW_USEC - 17500000);
	snprintf(b, sizeof(b), "{%s,\"22\":%llu,\"21\":500}", flow,
	    4294967296ull - 1500);
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->ts_usec, NOW_USEC);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 2000000);
	/* Unix milliseconds. */
	snprintf(b, sizeof(b), "{%s,\"22\":%llu,\"21\":%llu}", flow,
	    (unsigned long long)(NOW_USEC / 1000 - 5000),
	    (unsigned long long)(NOW_USEC / 1000 - 1000));
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 5000000);
	CHECK_EQ_U(f->ts_usec, NOW_USEC - 1000000);
	CHECK_EQ_U(ctr[C_TIMES_CORRECTED], tc + 5);
	/* Unix seconds are plausible: untouched, not counted. */
	snprintf(b, sizeof(b), "{%s,\"22\":%llu,\"21\":\"%llu.5\"}", flow,
	    (unsigned long long)(NOW_USEC / 1000000 - 10),
	    (unsigned long long)(NOW_USEC / 1000000 - 2));
	CHECK(parse(EJ_FLOW, b) == 0 && nrecs == 1);
	CHECK_EQ_U(f->first_usec, NOW_USEC - 10000000);
	CHECK_EQ_U(f->ts_usec, NOW_USEC - 1500000);
	CHECK_EQ_U(ctr[C_TIMES_CORRECTED], tc + 5);
	ej.now_usec = save;
}

/* nprobe_mini / Agent: LOCAL_CONTAINER has ID at its own level and the
 * rest in K8S (783 of 783 events lost their id). */
static void
test_agent_container_id(void)
{
	const struct evp_flow *f = &recs[0].u.f;

	CHECK(parse(EJ_FLOW, "{\"TCP_EVENT_TYPE\":\"CONNECT\","
	    "\"IPV4_LOCAL_ADDR\":\"10.1.1.1\",\"IPV4_REMOTE_ADDR\":\"10.1.1.13\","
	    "\"L4_LOCAL_PORT\":58916,\"L4_REMOTE_PORT\":10054,\"PROTOCOL\":6,"
	    "\"LOCAL_CONTAINER\":{\"ID\":\"275d71585e03\",\"K8S\":{\"NAME\":"
	    "\"coredns\",\"POD\":\"coredns-5d78\",\"NS\":\"kube-system\"}}}") ==
	    0 && nrecs == 1);
	CHECK_EQ_U(f->side[0].present & EVP_SIDE_CONTAINER, EVP_SIDE_CONTAINER);
	CHECK_EQ_U(f->side[0].container.kind, EVP_CONT_K8S);
	CHECK_STR(f->side[0].container.id, "275d71585e03");
	CHECK_STR(f->side[0].container.name, "coredns");
	CHECK_STR(f->side[0].container.pod, "coredns-5d78");
	CHECK_STR(f->side[0].container.ns, "kube-system");
	/* DOCKER with its own ID: the inner one wins. */
	CHECK(parse(EJ_FLOW, "{\"TCP_EVENT_TYPE\":\"CONNECT\","
	    "\"IPV4_LOCAL_ADDR\":\"10.1.1.1\",\"IPV4_REMOTE_ADDR\":\"10.1.1.13\","
	    "\"L4_LOCAL_PORT\":58916,\"L4_REMOTE_PORT\":80,\"PROTOCOL\":6,"
	    "\"LOCAL_CONTAINER\":{\"ID\":\"outer\",\"DOCKER\":{\"ID\":\"inner\","
	    "\"NAME\":\"web\"}}}") == 0 && nrecs == 1);
	CHECK_STR(f->side[0].container.id, "inner");
	CHECK_EQ_U(f->side[0].container.kind, EVP_CONT_DOCKER);
}

/* NetFlow v5 ICMP: type << 8 | code in the destination port split one
 * echo exchange in two flows; now one key, type/code kept in extra. */
static void
test_netflow_icmp_one_flow(void)
{
	struct evp_flow req;
	const struct evp_flow *f = &recs[0].u.f;

	CHECK(parse(EJ_FLOW, "[{\"8\":\"10.0.0.1\",\"12\":\"10.0.0.2\",\"4\":1,"
	    "\"7\":0,\"11\":2048,\"1\":84,\"2\":1},{\"8\":\"10.0.0.2\",\"12\":"
	    "\"10.0.0.1\",\"4\":1,\"7\":0,\"11\":0,\"1\":84,\"2\":1},"
	    "{\"27\":\"2001:db8::2\",\"28\":\"2001:db8::1\",\"4\":58,\"7\":0,"
	    "\"11\":33024}]") == 0);
	CHECK_EQ_U(nrecs, 3);
	req = recs[0].u.f;
	CHECK_STR(addr(req.addr[0]), "10.0.0.1");
	CHECK_STR(addr(req.addr[1]), "10.0.0.2");
	CHECK_EQ_U(req.port[0] | req.port[1], 0);
	CHECK_STR(req.extra, "{\"ICMP_TYPE\":8,\"ICMP_CODE\":0}");
	CHECK_EQ_U(req.bytes[0], 84);
	CHECK_EQ_U(req.flags & EVP_F_SIDES_GUESSED, 0);
	f = &recs[1].u.f;		/* the reply: same key, other direction */
	CHECK(memcmp(f->addr, req.addr, sizeof(req.addr)) == 0);
	CHECK_EQ_U(f->port[0] | f->port[1], 0);
	CHECK_EQ_U(f->bytes[1], 84);
	CHECK_EQ_U(f->bytes[0], 0);
	CHECK_STR(f->extra, "{\"ICMP_TYPE\":0,\"ICMP_CODE\":0}");
	f = &recs[2].u.f;		/* ICMPv6 echo reply (129) */
	CHECK_STR(addr(f->addr[0]), "2001:db8::1");
	CHECK_STR(f->extra, "{\"ICMP_TYPE\":129,\"ICMP_CODE\":0}");
}

/* counter "Up" was stored as 0; tcp4 listening sockets got `::`; the
 * producer's info was cut at 215 of 390 bytes. */
static void
test_topic_status_addr_info(void)
{
	char info[512], *p = info;
	unsigned i;

	CHECK(parse(EJ_COUNTER, "{\"ifIndex\":1,\"ifAdminStatus\":\"Up\","
	    "\"ifOperStatus\":\"down\"}") == 0 && nrecs == 1);
	CHECK_EQ_U(recs[0].u.c.admin_status, 1);
	CHECK_EQ_U(recs[0].u.c.oper_status, 2);
	CHECK(parse(EJ_COUNTER, "{\"ifIndex\":1,\"ifOperStatus\":\"lowerLayerDown\""
	    ",\"ifAdminStatus\":\"1\"}") == 0 && nrecs == 1);
	CHECK_EQ_U(recs[0].u.c.oper_status, 7);
	CHECK_EQ_U(recs[0].u.c.admin_status, 1);

	CHECK(parse(EJ_LISTENING, "{\"listening-ports\":{\"tcp4\":[{\"port\":22}"
	    ",{\"port\":25,\"addr\":\"127.0.0.1\"}],\"tcp6\":[{\"port\":80}]}}") ==
	    0 && nrecs == 3);
	CHECK_STR(addr(recs[0].u.l.addr), "0.0.0.0");
	CHECK_STR(addr(recs[1].u.l.addr), "127.0.0.1");
	CHECK_STR(addr(recs[2].u.l.addr), "::");

	p += sprintf(p, "{");
	for (i = 0; i < 18; i++)
		p += sprintf(p, "%s\"counter_%02u\":%u", i ? "," : "", i,
		    1000000 + i);
	p += sprintf(p, ",\"probe\":\"nprobe-agent v9.6.230523 host1\"}");
	CHECK(strlen(info) > 390);
	CHECK(parse(EJ_EVENT, info) == 0);
	CHECK_STR(ej.health.info, info);
}

/* A producer restarting with the same source_id while the collector is
 * busy: its old connection's queued messages interleave with the new
 * one's, and the new connection may get the old one's fd number. */
static void
test_producer_restart_busy(void)
{
	uint64_t pc[C_COUNTER_MAX];
	struct producers *ps;
	struct producer *p = NULL;
	uint32_t old = 1, neu = 1;
	unsigned i;

	memset(pc, 0, sizeof(pc));
	ps = producers_new(pc);
	for (i = 0; i < 1000; i++)
		p = producers_seen(ps, "10.0.0.9", 7, 3, 1, old++, i);
	/* Restart: the new process counts from 1 on the same fd (7),
	 * interleaved with 2000 more of the old one still queued. */
	for (i = 0; i < 2000; i++) {
		p = producers_seen(ps, "10.0.0.9", 7, 3, 1, old++, i);
		p = producers_seen(ps, "10.0.0.9", 7, 3, 1, neu++, i);
	}
	CHECK_EQ_U(p->rec.lost_msgs, 0);
	CHECK_EQ_U(p->rec.restarts, 1);
	/* A real gap is still a loss, on the right sequence. */
	p = producers_seen(ps, "10.0.0.9", 7, 3, 1, neu + 5, i);
	CHECK_EQ_U(p->rec.lost_msgs, 5);
	CHECK_EQ_U(pc[C_LOST_MSGS], 5);
	CHECK_EQ_U(pc[C_RESTARTS], 1);
	producers_free(ps);
}

/* TLV payloads that do not decode are refused whole (the well-formed
 * ones are checked against libndpi's serializer in test_collector_tlv). */
static void
test_tlv_hostile(void)
{
	static const uint8_t ok[] = { 1, 1, 0x24, 8, 10, 0, 0, 1, 0x24, 12,
	    10, 0, 0, 2, 0x22, 4, 6, 1 };
	static const uint8_t bad[][8] = {
		{ 1, 2 },			/* not the TLV format */
		{ 1, 1, 0x2b, 1, 0, 9, 'a' },	/* string past the end */
		{ 1, 1, 0x0c, 0, 1, 'b', 1 },	/* record ends in a block */
		{ 1, 1, 0x0d },			/* end of no block */
		{ 1, 1, 0x2f, 1 },		/* unknown value type */
		{ 1, 1, 0x12, 1, 1 },		/* unknown key type */
	};
	uint8_t deep[64];
	unsigned i;

	nrecs = 0;
	CHECK(ej_parse_tlv(&ej, EJ_FLOW, ok, sizeof(ok)) == 0);
	CHECK_EQ_U(nrecs, 1);
	CHECK_STR(addr(recs[0].u.f.addr[1]), "10.0.0.2");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(ej_parse_tlv(&ej, EJ_FLOW, bad[i], 7) == -1);
	deep[0] = deep[1] = 1;
	for (i = 2; i + 4 <= sizeof(deep); i += 4) {
		deep[i] = 0x0c;
		deep[i + 1] = 0;
		deep[i + 2] = 1;
		deep[i + 3] = 'k';
	}
	CHECK(ej_parse_tlv(&ej, EJ_FLOW, deep, sizeof(deep)) == -1);
}

static void
test_strlcpy(void)
{
	char b[4];

	CHECK_EQ_U(jt_strlcpy(b, "abc", sizeof(b)), 0);
	CHECK_STR(b, "abc");
	CHECK_EQ_U(jt_strlcpy(b, "abcd", sizeof(b)), JT_STR_TRUNCATED);
	CHECK_STR(b, "abc");
	CHECK_EQ_U(jt_strlcpy(b, "a\xe2\x82\xac", sizeof(b)), JT_STR_TRUNCATED);
	CHECK_STR(b, "a");
	CHECK_EQ_U(jt_strlcpy(b, "\xed\xa0\x80", sizeof(b)), JT_STR_BAD_UTF8);
	CHECK_STR(b, "???");
}

/* jt_strlcpy() as it was, byte by byte: the reference for its ASCII
 * fast path. */
static int
ref_strlcpy(char *dst, const char *src, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;
	int r = 0;

	while (*s != '\0') {
		if (*s < 0x80) {
			if (o + 1 >= cap) {
				r |= JT_STR_TRUNCATED;
				break;
			}
			dst[o++] = (char)*s++;
			continue;
		}
		n = 0;
		if (*s >= 0xc2 && *s <= 0xdf && (s[1] & 0xc0) == 0x80)
			n = 2;
		else if (*s >= 0xe0 && *s <= 0xef && (s[1] & 0xc0) == 0x80 &&
		    (s[2] & 0xc0) == 0x80 && !(*s == 0xe0 && s[1] < 0xa0) &&
		    !(*s == 0xed && s[1] > 0x9f))
			n = 3;
		else if (*s >= 0xf0 && *s <= 0xf4 && (s[1] & 0xc0) == 0x80 &&
		    (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 &&
		    !(*s == 0xf0 && s[1] < 0x90) && !(*s == 0xf4 && s[1] > 0x8f))
			n = 4;
		if (n == 0) {
			r |= JT_STR_BAD_UTF8;
			if (o + 1 >= cap) {
				r |= JT_STR_TRUNCATED;
				break;
			}
			dst[o++] = '?';
			s++;
			continue;
		}
		if (o + n >= cap) {
			r |= JT_STR_TRUNCATED;
			break;
		}
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
	return r;
}

/* Random strings of ASCII, valid and broken UTF-8, every length to 40,
 * into every capacity to 41: the same bytes and flags as the byte loop
 * (the ASCII run is copied 8 bytes at a time). */
static void
test_strlcpy_fast(void)
{
	static const char *const pieces[] = { "a", "Z", "/", "0", " ",
	    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff",
	    "\xc3", "\xed\xa0\x80", "\xe0\x80\x80", "abcdefgh" };
	char src[128], a[64], b[64];
	unsigned long x = 7;
	unsigned i, k, bad = 0;
	size_t cap, n;

	for (i = 0; i < 20000; i++) {
		n = 0;
		src[0] = '\0';
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		for (k = 0; k < (x >> 59); k++) {
			const char *pc;

			x = x * 6364136223846793005UL + 1442695040888963407UL;
			pc = pieces[(x >> 33) % (sizeof(pieces) /
			    sizeof(pieces[0]))];
			if (n + strlen(pc) >= 41)
				break;
			memcpy(src + n, pc, strlen(pc) + 1);
			n += strlen(pc);
		}
		for (cap = 1; cap <= 41; cap++) {
			memset(a, 'x', sizeof(a));
			memset(b, 'x', sizeof(b));
			if (jt_strlcpy(a, src, cap) != ref_strlcpy(b, src, cap) ||
			    memcmp(a, b, sizeof(a)) != 0)
				bad++;
		}
	}
	CHECK_EQ_U(bad, 0);
}

/*
 * Decimal strings read without strtod give strtod's value to the bit:
 * random digits (up to 17, so both the fast path and its limit are
 * crossed), the point anywhere, signs; and the spellings left to strtod.
 */
static void
test_decimal_strings(void)
{
	static const char *const odd[] = { "1e3", ".5", "5.", "0x10", "-",
	    "1.2.3", " 1", "1 ", "00012.500", "-0", "9007199254740993",
	    "0.0000000000000000000001", "inf", "nan" };
	unsigned long seed = 99;
	char txt[40], *end;
	unsigned i, k, nd, pt, bad = 0;
	double a, b;
	int ra, rb;
	cJSON *v;

	for (i = 0; i < 200000; i++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		nd = 1 + (unsigned)(seed >> 33) % 17;
		pt = (unsigned)(seed >> 40) % (nd + 2);
		k = 0;
		if ((seed >> 50) & 1)
			txt[k++] = '-';
		for (unsigned j = 0; j < nd; j++) {
			if (j == pt && j > 0)
				txt[k++] = '.';
			seed = seed * 6364136223846793005ul + 1;
			txt[k++] = (char)('0' + (seed >> 45) % 10);
		}
		txt[k] = '\0';
		v = cJSON_CreateString(txt);
		ra = jt_double(v, &a);
		b = strtod(txt, &end);
		rb = *end == '\0' ? 0 : -1;
		if ((ra != rb || (ra == 0 && memcmp(&a, &b, sizeof(a)) != 0)) &&
		    bad++ < 5)
			fprintf(stderr, "'%s': %.17g (%d) vs strtod %.17g (%d)\n",
			    txt, a, ra, b, rb);
		cJSON_Delete(v);
	}
	CHECK_EQ_U(bad, 0);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		v = cJSON_CreateString(odd[i]);
		ra = jt_double(v, &a);
		b = strtod(odd[i], &end);
		rb = *end == '\0' && isfinite(b) ? 0 : -1;
		CHECK_EQ_U((unsigned)(ra + 1), (unsigned)(rb + 1));
		if (ra == 0)
			CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		cJSON_Delete(v);
	}
}

int
main(void)
{
	uint64_t sum;
	unsigned i;

	ej_init(&ej, ctr, capture, NULL);
	ej.producer = 7;
	ej.now_usec = 42;
	test_samples();
	test_agent();
	test_netflow();
	test_topics();
	test_hostile();
	test_softflowd_trailing_comma();
	test_netflow_uptime_times();
	test_agent_container_id();
	test_netflow_icmp_one_flow();
	test_topic_status_addr_info();
	test_producer_restart_busy();
	test_tlv_hostile();
	test_strlcpy();
	test_strlcpy_fast();
	test_decimal_strings();
	/* The event identity holds over everything above. */
	sum = ctr[C_EVENTS_FORWARDED];
	for (i = C_DROP_EV_NOT_OBJECT; i <= C_DROP_EV_SEND; i++)
		sum += ctr[i];
	CHECK_EQ_U(ctr[C_EVENTS_RECEIVED], sum);
	return t_done("test_collector_json");
}
