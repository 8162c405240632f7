/*
 * evflow-capture-sink: a test helper standing in for the router.  Binds
 * a link_in at ENDPOINT and prints one line per EVP_FLOW record
 *   flow iface=.. event=.. proto=.. cli=ADDR:PORT srv=ADDR:PORT
 *        c2s_pkts=.. c2s_bytes=.. c2s_wire=.. s2c_pkts=.. ...
 * followed, for a flow with an application block, by
 *   app app=.. cli=.. srv=.. category=.. sni=.. ja3=.. ja3s=.. ja4=.. http_host=..
 *        dns_query=.. event=..   ("-" for an empty field)
 * one line per EVP_HOSTNAME (hostname addr=.. name=.. source=.. ttl=..),
 * and one line per EVP_STATS record (stats key=value ...), until SIGTERM
 * or SIGINT, then a summary line with the link's loss counters.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/nnlink.h"
#include "common/sig.h"

static void
on_record(void *arg, const struct link_sender *s, const struct evp_rec_hdr *rh,
    const void *body)
{
	static struct evp_flow f;
	static struct evp_stats st;
	static struct evp_hostname h;
	char a[46], b[46];
	unsigned i;

	(void)arg;
	if (rh->type == EVP_FLOW && evp_decode_flow(body, rh->len, &f) == 0) {
		printf("flow iface=%s event=%s proto=%u ipv=%u vlan=%u "
		    "cli=%s:%u srv=%s:%u c2s_pkts=%llu c2s_bytes=%llu "
		    "c2s_wire=%llu s2c_pkts=%llu s2c_bytes=%llu s2c_wire=%llu "
		    "state=%s flags_c=%u flags_s=%u retrans_c=%u retrans_s=%u "
		    "cli_lat=%u srv_lat=%u src=%s fl=%u\n", s->hello.iface,
		    evp_event_name(f.event), f.proto, f.ip_version, f.vlan,
		    evp_addr_str(f.addr[0], a, sizeof(a)), f.port[0],
		    evp_addr_str(f.addr[1], b, sizeof(b)), f.port[1],
		    (unsigned long long)f.pkts[0],
		    (unsigned long long)f.bytes[0],
		    (unsigned long long)f.wire_bytes[0],
		    (unsigned long long)f.pkts[1],
		    (unsigned long long)f.bytes[1],
		    (unsigned long long)f.wire_bytes[1],
		    evp_tcp_state_name(f.tcp_state), f.tcp_flags[0],
		    f.tcp_flags[1], f.retrans[0], f.retrans[1],
		    f.cli_latency_us, f.srv_latency_us,
		    evp_source_name(f.source), f.flags);
		/* Application fields last, "-" when empty (one word each). */
		if (f.flags & EVP_F_HAS_APP)
			printf("app app=%s cli=%s:%u srv=%s:%u category=%s "
			    "sni=%s ja3=%s ja3s=%s ja4=%s http_host=%s "
			    "dns_query=%s event=%s\n",
			    f.app.proto[0] ? f.app.proto : "-",
			    a, f.port[0], b, f.port[1],
			    f.app.category[0] ? f.app.category : "-",
			    f.app.sni[0] ? f.app.sni : "-",
			    f.app.ja3[0] ? f.app.ja3 : "-",
			    f.app.ja3s[0] ? f.app.ja3s : "-",
			    f.app.ja4[0] ? f.app.ja4 : "-",
			    f.app.http_host[0] ? f.app.http_host : "-",
			    f.app.dns_query[0] ? f.app.dns_query : "-",
			    evp_event_name(f.event));
	} else if (rh->type == EVP_HOSTNAME &&
	    evp_decode_hostname(body, rh->len, &h) == 0) {
		printf("hostname addr=%s name=%s source=%s ttl=%u ts=%llu\n",
		    evp_addr_str(h.addr, a, sizeof(a)), h.name,
		    evp_name_source_name(h.source), h.ttl,
		    (unsigned long long)h.ts_usec);
	} else if (rh->type == EVP_STATS &&
	    evp_decode_stats(body, rh->len, &st) == 0) {
		printf("stats name=%s", st.name);
		for (i = 0; i < st.count; i++)
			printf(" %s=%llu", st.key[i],
			    (unsigned long long)st.value[i]);
		printf("\n");
	} else
		printf("other type=%u\n", rh->type);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct link_in *in;
	char err[256];

	log_init("evflow-capture-sink", LOG_LVL_INFO);
	if (argc != 2) {
		fprintf(stderr, "usage: evflow-capture-sink endpoint\n");
		return 1;
	}
	if (sig_setup() == -1)
		fatal("signals");
	if ((in = link_in_new(argv[1], 1, on_record, NULL, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	while (!sig_quit) {
		struct pollfd p = { .fd = nnlink_recv_fd(in->sock),
		    .events = POLLIN };

		(void)poll(&p, 1, 200);
		(void)link_in_poll(in, 64);
	}
	(void)link_in_poll(in, 1024);
	printf("sink msgs=%llu records=%llu lost=%llu bad=%llu\n",
	    (unsigned long long)in->msgs, (unsigned long long)in->records,
	    (unsigned long long)in->lost, (unsigned long long)in->bad_msgs);
	link_in_free(in);
	return 0;
}
